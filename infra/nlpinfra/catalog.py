"""What the service deploys: Lambda functions, the tasks and routes each serves, the model bundle it needs.

This mirrors the table in docs/ARCHITECTURE.md. It is data, not CDK: config validation, the stack and the
tests all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Model bundles that ``python -m nlpbuild layers`` packs as ``model-<bundle>.zip``.
BUNDLES: tuple[str, ...] = ("embed", "classify", "sentiment", "ner")


@dataclass(frozen=True)
class Route:
    method: str  # "GET" | "POST"
    path: str


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


def _post(*paths: str) -> tuple[Route, ...]:
    return tuple(Route("POST", p) for p in paths)


#: Task functions, one per enabled task (the config's ``tasks`` list names these).
TASK_FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec("sentiment", ("sentiment",), _post("/v1/sentiment"), "sentiment"),
        FunctionSpec("classify", ("classify",), _post("/v1/classify"), "classify"),
        FunctionSpec("ner", ("ner", "redact"), _post("/v1/ner", "/v1/redact"), "ner"),
        FunctionSpec("embed", ("embed", "similarity"), _post("/v1/embed", "/v1/similarity"), "embed"),
        FunctionSpec("summarize", ("summarize",), _post("/v1/summarize"), "embed"),
    )
}

#: The metadata function: health, model catalogue and API docs. Always deployed, no model layer.
META_FUNCTION = FunctionSpec(
    "meta",
    (),
    tuple(Route("GET", p) for p in ("/health", "/v1/models", "/docs", "/openapi.json")),
    None,
)

#: Handler of the single S3 -> SQS batch function (routes by key prefix ``incoming/<task>/``).
BATCH_HANDLER = "nlpserve.handlers.batch.handler"

#: API tasks with no batch-file form (similarity scores pairs of texts), left out of the batch function's tasks.
NON_BATCH_TASKS: frozenset[str] = frozenset({"similarity"})

ALL_TASK_FUNCTIONS: tuple[str, ...] = tuple(TASK_FUNCTIONS)


def served_tasks(functions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """API task names (``/v1/<task>``) served by the given task functions, in catalogue order."""
    return tuple(t for name in functions for t in TASK_FUNCTIONS[name].tasks)


def bundles_for(functions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Distinct model bundles needed by the given task functions, in ``BUNDLES`` order."""
    needed = {TASK_FUNCTIONS[name].bundle for name in functions}
    return tuple(b for b in BUNDLES if b in needed)
