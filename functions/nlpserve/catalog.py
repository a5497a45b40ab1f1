"""The one record of what the service serves: task -> pipeline -> model bundle -> Lambda function -> routes -> batch.

Standard library only, so the runtime (``nlpserve.tasks``, the handlers, the batch key rules), the model and
layer builder (``nlpbuild.layers``) and the CDK app (``nlpinfra.catalog``) all read this table instead of keeping
their own copy; ``tests/unit/test_catalog.py`` checks that the API, the batch path, the layer builder and the CDK
app agree with it. Adding a task is one ``TaskEntry`` here plus its pipeline module under ``nlpserve/tasks/``.

Batch keys: a task with ``batch=True`` scores ``incoming/<task>/<name>.(jsonl|csv|txt)[.gz]`` files line by line;
one with ``documents`` set also takes whole ``.txt``/``.md`` documents under ``incoming/<task>/docs/`` and writes
the outputs its ``Documents`` entry names (the pipeline's ``Task.document`` produces them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str  # "GET" | "POST"
    path: str


@dataclass(frozen=True)
class Documents:
    """What a whole-document job of a task writes under ``results/<task>/docs/``.

    ``rewrites``: the task returns a rewritten document (redact), written at ``<rel>`` (plain text; a ``.gz``
    input gets its inner suffix appended) with the JSON report at ``<rel><report_suffix>`` next to it; otherwise
    only the JSON report is written, at ``<rel><report_suffix>``.
    """

    rewrites: bool
    report_suffix: str


@dataclass(frozen=True)
class TaskEntry:
    """One API task (``POST /v1/<name>``).

    ``pipeline``: ``"<module>:<class>"`` under ``nlpserve.tasks`` (None: the route is served by another task's
    pipeline, as ``similarity`` is by ``embed``'s); ``bundle``: the model bundle it loads (the model layer
    ``model-<bundle>.zip``; None: the model ships inside a library of the runtime layer, as ``language``'s
    does); ``function``: the API Lambda function that serves it; ``batch``: scored from files under
    ``incoming/<name>/``; ``documents``: also whole documents under ``incoming/<name>/docs/`` (None: no
    document mode); ``languages``: the ISO 639-1 codes its model was trained on (None: any language). A text
    detected as another language is flagged in its result (``language``) or, on request, rejected (422).
    ``brought``: see the field. ``uses``: other tasks whose pipelines this one calls on request (``entities`` merges ``ner``'s personal data
    with ``include_personal_data``); their bundles load in the same function.
    """

    name: str
    pipeline: str | None
    bundle: str | None
    function: str
    batch: bool = True
    documents: Documents | None = None
    languages: tuple[str, ...] | None = None
    path: str | None = None  # the API path, when it is not /v1/<name>
    uses: tuple[str, ...] = ()
    #: the name prefix of the seq2seq bundles users build from a checkpoint they bring (``python -m nlpbuild
    #: seq2seq``) and the task loads when present (``translate-en-de``); None: the task needs none
    brought: str | None = None

    @property
    def route(self) -> Route:
        return Route("POST", self.path or f"/v1/{self.name}")


@dataclass(frozen=True)
class TaskFamily:
    """Tasks made from model bundles the user builds, named ``<prefix><model>``: custom classifiers
    (``nlpserve train classifier FILE --name tickets`` writes the bundle ``classify-tickets``).

    Each member is a task like any other: ``POST /v1/classify/<model>`` (``route``, served by ``function``),
    batch files under ``incoming/classify-<model>/``, and the model layer ``model-classify-<model>.zip`` that the
    CDK config's ``custom_classifiers`` list attaches to ``function`` and the batch function.
    """

    prefix: str
    pipeline: str
    function: str
    route: Route
    languages: tuple[str, ...] | None = None

    def member(self, name: str) -> TaskEntry:
        model = name[len(self.prefix):]
        return TaskEntry(name, self.pipeline, name, self.function, languages=self.languages,
                         path=self.route.path.replace("{model}", model))

    def is_member(self, name: str) -> bool:
        return name.startswith(self.prefix) and MODEL_NAME.fullmatch(name[len(self.prefix):]) is not None


#: Model bundles, in build order (``python -m nlpbuild models``; ``model-<bundle>.zip`` layers).
BUNDLES: tuple[str, ...] = ("embed", "classify", "sentiment", "ner", "entities")

_EN = ("en",)

TASKS: tuple[TaskEntry, ...] = (
    TaskEntry("sentiment", "sentiment:SentimentTask", "sentiment", "sentiment", languages=_EN),
    TaskEntry("classify", "classify:ClassifyTask", "classify", "classify", languages=_EN),
    # The personal-data model and rules are measured on 21 locales (README model card): no language flag.
    TaskEntry("ner", "ner:NerTask", "ner", "ner"),
    TaskEntry("redact", "ner:RedactTask", "ner", "ner", documents=Documents(True, ".entities.json")),
    TaskEntry("embed", "embed:EmbedTask", "embed", "embed", languages=_EN),
    # Pairs of texts: no batch-file form, and no per-text results to flag (the embed model card says English).
    TaskEntry("similarity", None, "embed", "embed", batch=False),
    TaskEntry("summarize", "summarize:SummarizeTask", "embed", "summarize",
              documents=Documents(False, ".result.json"), languages=_EN, brought="summarize-"),
    TaskEntry("language", "language:LanguageTask", None, "language"),
    # General entities: a token classifier distilled from spaCy's en_core_web_sm (English).
    TaskEntry("entities", "entities:EntitiesTask", "entities", "entities", documents=Documents(False, ".entities.json"),
              languages=_EN, uses=("ner",)),
    # Translation with a seq2seq bundle the user brings (one per language pair: translate-<source>-<target>).
    TaskEntry("translate", "translate:TranslateTask", None, "translate", documents=Documents(True, ".result.json"),
              brought="translate-"),
)

#: A custom model's name: 1-40 characters, lower-case letters and digits, words joined by single '-' (it is part
#: of a route, a key prefix and a directory name).
MODEL_NAME = re.compile(r"(?=.{1,40}$)[a-z0-9]+(?:-[a-z0-9]+)*")

#: Custom classifiers trained from a labelled file; English, like the encoder they sit on.
CUSTOM_CLASSIFIERS = TaskFamily("classify-", "custom:CustomClassifyTask", "classify",
                                Route("POST", "/v1/classify/{model}"), languages=_EN)
FAMILIES: tuple[TaskFamily, ...] = (CUSTOM_CLASSIFIERS,)

#: The metadata function (health, model catalogue, API docs): always deployed, no model layer.
META_FUNCTION = "meta"
META_ROUTES: tuple[Route, ...] = tuple(Route("GET", p) for p in ("/health", "/v1/models", "/docs", "/openapi.json"))
#: The S3 -> SQS batch function: every enabled batch task, routed by key prefix ``incoming/<task>/``.
BATCH_FUNCTION = "batch"


def entry(name: str) -> TaskEntry:
    """The catalogue entry of task ``name`` (or of a family member, such as ``classify-tickets``); KeyError
    names the known tasks."""
    for task in TASKS:
        if task.name == name:
            return task
    for family in FAMILIES:
        if family.is_member(name):
            return family.member(name)
    raise KeyError(f"unknown task {name!r}; known: {', '.join(t.name for t in TASKS)}")


def task_names() -> tuple[str, ...]:
    return tuple(t.name for t in TASKS)


def pipelines() -> dict[str, str]:
    """Task -> ``"<module>:<class>"`` under ``nlpserve.tasks``, for the tasks that have their own pipeline."""
    return {t.name: t.pipeline for t in TASKS if t.pipeline}


def functions() -> dict[str, tuple[str, ...]]:
    """API Lambda function -> the tasks it serves, in catalogue order."""
    out: dict[str, tuple[str, ...]] = {}
    for t in TASKS:
        out[t.function] = (*out.get(t.function, ()), t.name)
    return out


def function_tasks(function: str) -> tuple[str, ...]:
    """The tasks an API function serves (its handler module ``nlpserve.handlers.<function>``)."""
    tasks = functions().get(function)
    if tasks is None:
        raise KeyError(f"unknown function {function!r}; known: {', '.join(functions())}")
    return tasks


def function_pipelines(function: str) -> tuple[str, ...]:
    """The pipelines an API function builds its app from (routes served by another pipeline, such as
    ``similarity`` by ``embed``'s, come with it)."""
    return tuple(t for t in function_tasks(function) if entry(t).pipeline)


def task_bundles(task: str) -> tuple[str, ...]:
    """The model bundles a task loads: its own and those of the tasks it ``uses``, in ``BUNDLES`` order."""
    t = entry(task)
    return _in_bundle_order({b for name in (task, *t.uses) if (b := entry(name).bundle)})


def function_bundles(function: str) -> tuple[str, ...]:
    """The model bundles (layers) an API function loads, in ``BUNDLES`` order (empty: its model is in the runtime
    layer, as ``language``'s is)."""
    return _in_bundle_order({b for t in function_tasks(function) for b in task_bundles(t)})


def bundle_of(task: str) -> str | None:
    return entry(task).bundle


def brought_prefixes(function: str) -> tuple[str, ...]:
    """The seq2seq bundle prefixes an API function's tasks load when present (``translate-``, ``summarize-``)."""
    return tuple(p for t in function_tasks(function) if (p := entry(t).brought))


def batch_tasks() -> frozenset[str]:
    """Tasks scored from files under ``incoming/<task>/``."""
    return frozenset(t.name for t in TASKS if t.batch)


def document_tasks() -> frozenset[str]:
    """Tasks that also take whole documents under ``incoming/<task>/docs/``."""
    return frozenset(t.name for t in TASKS if t.documents)


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: the tasks it serves, its API routes and the model bundles (layers) it loads.

    API functions load their tasks' bundles (``function_bundles``); the batch function loads every batch task's
    bundle; the metadata function none. Read by the layer builder (size check) and the CDK app (functions, routes,
    layers).
    """

    name: str
    tasks: tuple[str, ...]
    routes: tuple[Route, ...]
    bundles: tuple[str, ...]

    @property
    def handler(self) -> str:
        return f"nlpserve.handlers.{self.name}.handler"


def _in_bundle_order(bundles: set[str]) -> tuple[str, ...]:
    return tuple(b for b in BUNDLES if b in bundles)


def function_specs() -> tuple[FunctionSpec, ...]:
    """Every Lambda function the service deploys: the API functions (catalogue order), then the metadata
    function, then the batch function."""
    api = tuple(
        FunctionSpec(name, tasks, (*(entry(t).route for t in tasks), *(f.route for f in FAMILIES if f.function == name)),
                     function_bundles(name))
        for name, tasks in functions().items()
    )
    batch = tuple(t.name for t in TASKS if t.batch)
    return (*api, FunctionSpec(META_FUNCTION, (), META_ROUTES, ()),
            FunctionSpec(BATCH_FUNCTION, batch, (), _in_bundle_order({b for t in batch for b in task_bundles(t)})))


def function_spec(name: str) -> FunctionSpec:
    """The spec of one function (an API function, ``meta`` or ``batch``); KeyError names the known ones."""
    for spec in function_specs():
        if spec.name == name:
            return spec
    raise KeyError(f"unknown function {name!r}; known: {', '.join(s.name for s in function_specs())}")
