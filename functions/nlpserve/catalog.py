"""The one record of what the service serves: task -> pipeline -> model bundle -> Lambda function -> routes -> batch.

Standard library only, so the runtime (``nlpserve.tasks``, the handlers, the batch key rules), the model and
layer builder (``nlpbuild.layers``) and the CDK app (``nlpinfra.catalog``) all read this table instead of keeping
their own copy; ``tests/unit/test_catalog.py`` checks that the API, the batch path, the layer builder and the CDK
app agree with it. Adding a task is one ``TaskEntry`` here plus its pipeline module under ``nlpserve/tasks/``.

Batch keys: a task with ``batch=True`` scores ``incoming/<task>/<name>.(jsonl|csv|txt)[.gz]`` files line by line;
one with ``documents=True`` also takes whole ``.txt``/``.md`` documents under ``incoming/<task>/docs/``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str  # "GET" | "POST"
    path: str


@dataclass(frozen=True)
class TaskEntry:
    """One API task (``POST /v1/<name>``).

    ``pipeline``: ``"<module>:<class>"`` under ``nlpserve.tasks`` (None: the route is served by another task's
    pipeline, as ``similarity`` is by ``embed``'s); ``bundle``: the model bundle it loads (the model layer
    ``model-<bundle>.zip``); ``function``: the API Lambda function that serves it; ``batch``: scored from
    files under ``incoming/<name>/``; ``documents``: also whole documents under ``incoming/<name>/docs/``.
    """

    name: str
    pipeline: str | None
    bundle: str
    function: str
    batch: bool = True
    documents: bool = False

    @property
    def route(self) -> Route:
        return Route("POST", f"/v1/{self.name}")


#: Model bundles, in build order (``python -m nlpbuild models``; ``model-<bundle>.zip`` layers).
BUNDLES: tuple[str, ...] = ("embed", "classify", "sentiment", "ner")

TASKS: tuple[TaskEntry, ...] = (
    TaskEntry("sentiment", "sentiment:SentimentTask", "sentiment", "sentiment"),
    TaskEntry("classify", "classify:ClassifyTask", "classify", "classify"),
    TaskEntry("ner", "ner:NerTask", "ner", "ner"),
    TaskEntry("redact", "ner:RedactTask", "ner", "ner", documents=True),
    TaskEntry("embed", "embed:EmbedTask", "embed", "embed"),
    TaskEntry("similarity", None, "embed", "embed", batch=False),  # pairs of texts: no batch-file form
    TaskEntry("summarize", "summarize:SummarizeTask", "embed", "summarize", documents=True),
)

#: The metadata function (health, model catalogue, API docs): always deployed, no model layer.
META_FUNCTION = "meta"
META_ROUTES: tuple[Route, ...] = tuple(Route("GET", p) for p in ("/health", "/v1/models", "/docs", "/openapi.json"))
#: The S3 -> SQS batch function: every enabled batch task, routed by key prefix ``incoming/<task>/``.
BATCH_FUNCTION = "batch"


def entry(name: str) -> TaskEntry:
    """The catalogue entry of task ``name``; KeyError names the known tasks."""
    for task in TASKS:
        if task.name == name:
            return task
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


def function_bundle(function: str) -> str:
    """The one model bundle an API function loads."""
    (bundle,) = {entry(t).bundle for t in function_tasks(function)}
    return bundle


def bundle_of(task: str) -> str:
    return entry(task).bundle


def batch_tasks() -> frozenset[str]:
    """Tasks scored from files under ``incoming/<task>/``."""
    return frozenset(t.name for t in TASKS if t.batch)


def document_tasks() -> frozenset[str]:
    """Tasks that also take whole documents under ``incoming/<task>/docs/``."""
    return frozenset(t.name for t in TASKS if t.documents)
