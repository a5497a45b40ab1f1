"""What the service deploys: Lambda functions, the tasks and routes each serves, the model bundle it needs.

Derived from ``nlpserve.catalog`` (the one record of tasks -> bundle -> function -> routes -> batch, standard
library only); nothing here is written twice. It is data, not CDK: config validation, the stack and the tests
all read it.
"""

from __future__ import annotations

from nlpserve import catalog
from nlpserve.catalog import FunctionSpec

#: Model bundles that ``python -m nlpbuild layers`` packs as ``model-<bundle>.zip``.
BUNDLES: tuple[str, ...] = catalog.BUNDLES


#: Task functions, one per enabled task (the config's ``tasks`` list names these).
TASK_FUNCTIONS: dict[str, FunctionSpec] = {name: catalog.function_spec(name) for name in catalog.functions()}

#: The metadata function: health, model catalogue and API docs. Always deployed, no model layer.
META_FUNCTION: FunctionSpec = catalog.function_spec(catalog.META_FUNCTION)

#: Handler of the single S3 -> SQS batch function (routes by key prefix ``incoming/<task>/``).
BATCH_HANDLER = catalog.function_spec(catalog.BATCH_FUNCTION).handler

#: API tasks with no batch-file form (similarity scores pairs of texts), left out of the batch function's tasks.
NON_BATCH_TASKS: frozenset[str] = frozenset(catalog.task_names()) - catalog.batch_tasks()

ALL_TASK_FUNCTIONS: tuple[str, ...] = tuple(TASK_FUNCTIONS)

#: Functions whose every task needs a seq2seq bundle the user brings (``translate``): deployed only when the config's
#: ``seq2seq_models`` names one of their bundles.
BROUGHT_ONLY_FUNCTIONS: tuple[str, ...] = tuple(
    name for name, spec in TASK_FUNCTIONS.items()
    if all(catalog.entry(t).brought and catalog.entry(t).bundle is None for t in spec.tasks))
#: The task functions deployed when the config names none.
DEFAULT_TASK_FUNCTIONS: tuple[str, ...] = tuple(f for f in ALL_TASK_FUNCTIONS if f not in BROUGHT_ONLY_FUNCTIONS)


def brought_function(bundle: str) -> str | None:
    """The API function that serves seq2seq bundle ``bundle`` (by its name prefix: ``translate-en-de`` ->
    ``translate``), or None when no task brings bundles of that name."""
    for task in catalog.TASKS:
        if task.brought and bundle.startswith(task.brought) and catalog.MODEL_NAME.fullmatch(bundle[len(task.brought):]):
            return task.function
    return None


def served_tasks(functions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """API task names (``/v1/<task>``) served by the given task functions, in catalogue order."""
    return tuple(t for name in functions for t in TASK_FUNCTIONS[name].tasks)


def bundles_for(functions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Distinct model bundles needed by the given task functions, in ``BUNDLES`` order."""
    needed = {b for name in functions for b in TASK_FUNCTIONS[name].bundles}
    return tuple(b for b in BUNDLES if b in needed)
