"""What the service deploys: Lambda functions, the tasks and routes each serves, the model bundle it needs.

Derived from ``nlpserve.catalog`` (the one record of tasks -> bundle -> function -> routes -> batch, standard
library only); nothing here is written twice. It is data, not CDK: config validation, the stack and the tests
all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpserve import catalog
from nlpserve.catalog import Route

#: Model bundles that ``python -m nlpbuild layers`` packs as ``model-<bundle>.zip``.
BUNDLES: tuple[str, ...] = catalog.BUNDLES


@dataclass(frozen=True)
class FunctionSpec:
    """One API Lambda function: the tasks it serves, its routes and the model bundle it loads."""

    name: str
    tasks: tuple[str, ...]
    routes: tuple[Route, ...]
    bundle: str | None

    @property
    def handler(self) -> str:
        return f"nlpserve.handlers.{self.name}.handler"


#: Task functions, one per enabled task (the config's ``tasks`` list names these).
TASK_FUNCTIONS: dict[str, FunctionSpec] = {
    name: FunctionSpec(name, tasks, tuple(catalog.entry(t).route for t in tasks), catalog.function_bundle(name))
    for name, tasks in catalog.functions().items()
}

#: The metadata function: health, model catalogue and API docs. Always deployed, no model layer.
META_FUNCTION = FunctionSpec(catalog.META_FUNCTION, (), catalog.META_ROUTES, None)

#: Handler of the single S3 -> SQS batch function (routes by key prefix ``incoming/<task>/``).
BATCH_HANDLER = f"nlpserve.handlers.{catalog.BATCH_FUNCTION}.handler"

#: API tasks with no batch-file form (similarity scores pairs of texts), left out of the batch function's tasks.
NON_BATCH_TASKS: frozenset[str] = frozenset(catalog.task_names()) - catalog.batch_tasks()

ALL_TASK_FUNCTIONS: tuple[str, ...] = tuple(TASK_FUNCTIONS)


def served_tasks(functions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """API task names (``/v1/<task>``) served by the given task functions, in catalogue order."""
    return tuple(t for name in functions for t in TASK_FUNCTIONS[name].tasks)


def bundles_for(functions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Distinct model bundles needed by the given task functions, in ``BUNDLES`` order."""
    needed = {TASK_FUNCTIONS[name].bundle for name in functions}
    return tuple(b for b in BUNDLES if b in needed)
