"""The FastAPI app factory shared by every Lambda function and by `nlpserve serve`."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from nlpserve import __version__, config
from nlpserve.api import errors
from nlpserve.api.routes import meta_router, task_router
from nlpserve.runtime import available_bundles
from nlpserve.tasks import TASKS, get_task

DESCRIPTION = """Real NLP models (ONNX, int8) served from AWS Lambda.

Every task takes `{"inputs": "text" | ["text", ...], "parameters": {...}}` and returns one result per input,
in order. Errors always have the shape `{"error": "...", "error_type": "...", "details": [...]}`.

Bodies are UTF-8 JSON (Content-Type `application/json`, `text/json`, `+json` or omitted). Parameters are
strict: a value of the wrong JSON type (`"3"` for an integer, `0` for a boolean) is a 422 naming the field.
`details` lists at most 20 problems (the message counts the rest). Paths are exact: `/v1/sentiment/` (trailing
slash) is a 404, never a redirect.
"""


def resolve_tasks(tasks: Sequence[str] | None) -> list[str]:
    """Explicit list, else NLP_TASKS, else every task whose model bundle is present."""
    if tasks is None:
        tasks = config.settings.tasks or None
    if tasks is None:
        present = set(available_bundles())
        return [name for name, cls in TASKS.items() if cls.bundle_name is None or cls.bundle_name in present]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; known: {list(TASKS)}")
    return list(tasks)


def create_app(tasks: Sequence[str] | None = None, warm: bool = True) -> FastAPI:
    """Build the app for `tasks`; with warm=True their models load now (Lambda init), not on first request."""
    names = resolve_tasks(tasks)
    # redirect_slashes=False: no 307 to "/v1/sentiment" for "/v1/sentiment/" (its Location would drop the
    # stage and base path, and a redirect is not in the error contract); a trailing slash is a JSON 404.
    app = FastAPI(title="nlpserve", version=__version__, description=DESCRIPTION, redirect_slashes=False)
    errors.install(app)

    app.include_router(task_router(names))
    app.include_router(meta_router(names))
    if warm:
        for name in names:
            get_task(name).warm()
    app.state.tasks = names
    return app
