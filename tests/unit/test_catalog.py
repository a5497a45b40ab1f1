"""Issue 10: one catalogue (nlpserve.catalog) is the record of tasks -> bundle -> function -> routes -> batch; the API,
the batch path, the layer builder, the model builder and the CDK app all agree with it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from nlpserve import catalog
from nlpserve.api import create_app
from nlpserve.batch.config import BatchSettings
from nlpserve.batch.keys import DOCUMENT_TASKS, LINE_TASKS, parse_input_key
from nlpserve.tasks import TASKS


def _routes(app, method: str) -> set[str]:
    """Paths the app serves for ``method``, read from its OpenAPI document (routers may be nested)."""
    return {path for path, ops in app.openapi()["paths"].items() if method.lower() in ops}


def _post_routes(app) -> set[str]:
    return _routes(app, "POST")


def _get_routes(app) -> set[str]:
    return _routes(app, "GET") | {r.path for r in app.routes if getattr(r, "path", None)}  # + FastAPI's own pages


def test_the_catalogue_is_consistent():
    names = catalog.task_names()
    assert len(set(names)) == len(names)
    assert {t.bundle for t in catalog.TASKS} - {None} <= set(catalog.BUNDLES)
    for function in catalog.functions():
        assert catalog.function_pipelines(function), f"{function} has no pipeline of its own"
        # a function loads its tasks' bundles and those of the tasks they use, nothing else
        assert set(catalog.function_bundles(function)) == {
            b for t in catalog.function_tasks(function) for u in (t, *catalog.entry(t).uses)
            if (b := catalog.bundle_of(u))}
    for task in catalog.TASKS:
        assert set(task.uses) <= set(names) and task.name not in task.uses


def test_every_pipeline_is_the_catalogues_and_loads_its_bundle():
    assert set(TASKS) == set(catalog.pipelines())
    for name, cls in TASKS.items():
        assert cls.name == name
        assert cls.bundle_name == catalog.bundle_of(name)


def test_the_api_serves_exactly_the_catalogues_routes(models_dir):
    app = create_app(catalog.pipelines(), warm=False)
    assert _post_routes(app) == {t.route.path for t in catalog.TASKS} | {f.route.path for f in catalog.FAMILIES}
    assert {r.path for r in catalog.META_ROUTES} <= _get_routes(app)


@pytest.mark.parametrize("function", list(catalog.functions()))
def test_each_function_handler_serves_its_catalogue_routes(models_dir, function):
    assert (Path(importlib.import_module("nlpserve.handlers").__file__).parent / f"{function}.py").is_file()
    app = create_app(catalog.function_pipelines(function), warm=False)
    assert _post_routes(app) == {r.path for r in catalog.function_spec(function).routes}
    assert {catalog.entry(t).route.path for t in catalog.function_tasks(function)} <= _post_routes(app)


def test_the_batch_path_takes_the_catalogues_batch_and_document_tasks():
    settings = BatchSettings()
    assert LINE_TASKS == catalog.batch_tasks() and DOCUMENT_TASKS == catalog.document_tasks()
    for task in catalog.batch_tasks():
        assert parse_input_key(f"{settings.incoming_prefix}{task}/a.jsonl", settings).task == task
    for task in catalog.document_tasks():
        key = parse_input_key(f"{settings.incoming_prefix}{task}/{settings.docs_dir}a.txt", settings)
        assert key.format.name == "DOCUMENT"


def test_the_layer_and_model_builders_agree():
    from nlpbuild import layers
    from nlpbuild.recipes import RECIPES

    assert tuple(RECIPES) == catalog.BUNDLES
    assert layers.TASK_BUNDLES == {t.name: t.bundle for t in catalog.TASKS}
    specs = {s.name: s.bundles for s in layers.function_specs()}
    assert set(specs) == {*catalog.functions(), catalog.META_FUNCTION, catalog.BATCH_FUNCTION}
    for function in catalog.functions():
        assert specs[function] == catalog.function_bundles(function)
    assert specs[catalog.META_FUNCTION] == ()
    assert set(specs[catalog.BATCH_FUNCTION]) == set(catalog.BUNDLES)


def test_the_cdk_app_agrees():
    from nlpinfra import catalog as infra

    assert infra.BUNDLES == catalog.BUNDLES
    assert set(infra.TASK_FUNCTIONS) == set(catalog.functions())
    for name, spec in infra.TASK_FUNCTIONS.items():
        assert spec.tasks == catalog.function_tasks(name)
        assert spec.bundles == catalog.function_bundles(name)
        assert {r.path for r in spec.routes} == {catalog.entry(t).route.path for t in spec.tasks} | {
            f.route.path for f in catalog.FAMILIES if f.function == name}
        assert spec.handler == f"nlpserve.handlers.{name}.handler"
    assert infra.META_FUNCTION.routes == catalog.META_ROUTES
    assert infra.NON_BATCH_TASKS == frozenset(catalog.task_names()) - catalog.batch_tasks()


def test_document_modes_are_the_catalogues():
    """A task with ``documents`` in the catalogue implements ``Task.document`` and writes the outputs its entry
    names; every other task leaves the base (which says it has no document mode)."""
    from nlpserve.batch.keys import output_keys
    from nlpserve.tasks.base import Task

    settings = BatchSettings()
    for name, cls in TASKS.items():
        documents = catalog.entry(name).documents
        assert (cls.document is not Task.document) == (documents is not None), name
        if documents is None:
            continue
        keys = output_keys(parse_input_key(f"{settings.incoming_prefix}{name}/{settings.docs_dir}a.txt", settings),
                           settings, "etag")
        report = keys.entities if documents.rewrites else keys.results
        assert report.endswith(f"/{settings.docs_dir}a.txt{documents.report_suffix}")
        assert (keys.results.endswith("/a.txt")) == documents.rewrites


def test_function_specs_are_one_class_read_by_the_builder_and_the_cdk_app():
    from nlpbuild import layers
    from nlpinfra import catalog as infra

    assert all(type(s) is catalog.FunctionSpec for s in layers.function_specs())
    assert all(type(s) is catalog.FunctionSpec for s in (*infra.TASK_FUNCTIONS.values(), infra.META_FUNCTION))
    batch = catalog.function_spec(catalog.BATCH_FUNCTION)
    assert batch.tasks == tuple(sorted(catalog.batch_tasks(), key=catalog.task_names().index))
    assert infra.BATCH_HANDLER == batch.handler


def test_language_guards_are_the_catalogues():
    """A task whose catalogue entry lists ``languages`` takes ``reject_other_languages`` (and flags other
    languages); a task that takes any language has neither. ``translate`` learns its languages from the bundles
    users bring (their source languages), so it guards with no catalogue list."""
    from nlpserve.tasks.base import LanguageGuardParams

    for name, cls in TASKS.items():
        entry = catalog.entry(name)
        assert cls.languages == entry.languages, name
        from_bundles = entry.brought is not None and entry.bundle is None
        assert issubclass(cls.Params, LanguageGuardParams) == (entry.languages is not None or from_bundles), name


def test_a_custom_classifier_is_a_family_member_on_every_rail():
    """``classify-<model>`` is a task of the catalogue's custom-classifier family: its route, bundle, function and
    batch prefix come from there; a name that is not a model name is no member."""
    entry = catalog.entry("classify-tickets")
    assert entry.route.path == "/v1/classify/tickets" and entry.bundle == "classify-tickets"
    assert entry.function == catalog.CUSTOM_CLASSIFIERS.function and entry.batch and entry.languages == ("en",)
    assert catalog.CUSTOM_CLASSIFIERS.route in catalog.function_spec(entry.function).routes
    settings = BatchSettings()
    assert parse_input_key(f"{settings.incoming_prefix}classify-tickets/a.jsonl", settings).task == "classify-tickets"
    for bad in ("classify-", "classify-Tickets", "classify-a b", "classify-" + "x" * 41):
        assert not catalog.CUSTOM_CLASSIFIERS.is_member(bad)
        with pytest.raises(KeyError):
            catalog.entry(bad)
