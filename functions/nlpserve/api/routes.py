"""Routers: one POST route per task (typed request/response models), similarity, health and models.

No `from __future__ import annotations` here: FastAPI reads the endpoint annotations, which are built per task.

Task endpoints are `async def` and return their JSON already serialised. A Lambda container serves one request
at a time, so running the model on the event loop blocks nobody, while a sync endpoint costs several thread-pool
hand-offs per request; and a returned `Response` skips FastAPI's second validation of the response model (the
model is built once, by us, and `response_model` still documents it). Measured 2026-11-30 with
benchmarks/speed.py on 320 texts: 64-text embed requests through the Lambda handler went from 89 % to 97 %
of the raw model rate on the same texts.
"""

import json
import os
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from nlpserve import __version__, catalog, config
from nlpserve.api.body import JsonBodyRoute
from nlpserve.api.schemas import (
    ErrorResponse,
    HealthResponse,
    ModelRef,
    SimilarityRequest,
    SimilarityResponse,
    TaskResponse,
    request_model,
)
from nlpserve.errors import NlpError, TooManyItems, UnknownTask
from nlpserve.runtime import registry
from nlpserve.tasks import TASKS, family_members, get_task, load_pipeline

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Empty input, or a body that is empty, not UTF-8, not JSON or nested too deeply",
        404: "Unknown task or route",
        413: "Body over the byte limit, too many items, a text over the byte limit, or more model work than one request may do (request_too_expensive)",
        415: "Content-Type is not JSON (application/json, text/json, +json, or omitted)",
        422: "A field has the wrong JSON type (parameters are strict: no coercion) or an invalid value, or a text "
        "is in a language the model does not know and reject_other_languages was set (unsupported_language)",
        503: "The task's model is not deployed with this function",
    }.items()
}


def _inputs_list(inputs: str | list[str]) -> list[str]:
    texts = [inputs] if isinstance(inputs, str) else list(inputs)
    limit = config.settings.max_items
    if len(texts) > limit:
        raise TooManyItems(
            f"{len(texts)} inputs given; at most {limit} per request (use the S3 batch path for more)",
            details=[{"items": len(texts), "limit": limit}],
        )
    return texts


def _json(model: BaseModel, started: float) -> Response:
    """The response body serialised once by pydantic (None fields left out), with the compute-time header."""
    return Response(
        content=model.model_dump_json(exclude_none=True),
        media_type="application/json",
        headers={"x-compute-time": f"{(time.perf_counter() - started) * 1000:.1f}"},
    )


def _respond(name: str, body: Any, Response_: type, started: float) -> Response:
    """Run task ``name`` on a request body; the task's response with its model and timing."""
    task = get_task(name)
    results = task.run(_inputs_list(body.inputs), body.parameters)
    model_name, model_version = task.model_ref()
    return _json(Response_(task=name, model=ModelRef(name=model_name, version=model_version), results=results),
                 started)


def _register(router: APIRouter, path: str, endpoint: Callable, Response_: type, task_cls: type, name: str,
              operation_id: str) -> None:
    router.add_api_route(path, endpoint, methods=["POST"], response_model=Response_,
                         response_model_exclude_none=True, responses=ERROR_RESPONSES, summary=task_cls.description,
                         name=name, operation_id=operation_id)


def _add_task_route(router: APIRouter, name: str) -> None:
    task_cls = TASKS[name]
    Request_ = request_model(task_cls)
    Response_ = TaskResponse[task_cls.Result]  # type: ignore[name-defined]

    async def endpoint(body: Request_) -> Response:  # type: ignore[valid-type]
        return _respond(name, body, Response_, time.perf_counter())

    _register(router, f"/{name}", endpoint, Response_, task_cls, name, f"run_{name}")


def _add_family_route(router: APIRouter, family: catalog.TaskFamily) -> None:
    """One route for every member of a task family: ``POST /v1/classify/{model}`` -> task ``classify-<model>``."""
    task_cls = load_pipeline(family.pipeline)
    Request_ = request_model(task_cls)
    Response_ = TaskResponse[task_cls.Result]  # type: ignore[name-defined]

    async def endpoint(model: str, body: Request_) -> Response:  # type: ignore[valid-type]
        started = time.perf_counter()
        name = family.prefix + model
        if not family.is_member(name):
            raise UnknownTask(f"'{model}' is not a model name (1-40 lower-case letters, digits and '-')",
                              details=[{"model": model}])
        return _respond(name, body, Response_, started)

    _register(router, family.route.path.removeprefix("/v1"), endpoint, Response_, task_cls, family.prefix + "model",
              f"run_{family.prefix.strip('-')}_custom")


def task_router(names: list[str]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["tasks"], route_class=JsonBodyRoute)
    for name in names:
        _add_task_route(router, name)
    functions = {catalog.entry(n).function for n in names if n in catalog.task_names()}
    for family in catalog.FAMILIES:
        if family.function in functions:
            _add_family_route(router, family)
    if "embed" in names:

        @router.post(
            "/similarity",
            response_model=SimilarityResponse,
            responses=ERROR_RESPONSES,
            summary="Cosine similarity of one source text to each target text.",
            operation_id="run_similarity",
        )
        async def similarity(body: SimilarityRequest) -> Response:
            started = time.perf_counter()
            _inputs_list(body.targets)
            task = get_task("embed")
            scores = task.similarity(body.source, body.targets)  # type: ignore[attr-defined]
            model_name, model_version = task.model_ref()
            model = ModelRef(name=model_name, version=model_version)
            return _json(SimilarityResponse(model=model, scores=scores), started)

    @router.post("/{task}", include_in_schema=False)
    def unknown_task(task: str) -> None:
        if task in TASKS or task == "similarity":
            raise UnknownTask(
                f"task '{task}' is not served here; served: {', '.join(names) or 'none'}",
                details=[{"task": task, "served": names}],
            )
        raise UnknownTask(f"unknown task '{task}'; available tasks: {', '.join(TASKS)}", details=[{"task": task}])

    return router


def _deployed_cards() -> list[dict[str, Any]]:
    """Model cards for functions that do not carry the model layers (the meta function), set by CDK."""
    raw = os.environ.get("NLP_MODEL_CATALOG", "")
    try:
        return json.loads(raw) if raw else []
    except json.JSONDecodeError:
        return []


def meta_router(names: list[str]) -> APIRouter:
    router = APIRouter(tags=["service"])

    @router.get("/health", response_model=HealthResponse)
    def health() -> HealthResponse:
        return HealthResponse(
            status="ok", tasks=names, models_loaded=registry.loaded_bundles(), version=__version__
        )

    @router.get("/v1/models", summary="The models behind each task, with source, licence and measured quality.")
    def models() -> dict[str, Any]:
        deployed = {entry.get("task"): entry for entry in _deployed_cards()}
        cards = []
        for name in names:
            try:
                cards.append(get_task(name).model_info())
            except NlpError:
                if name in deployed:
                    cards.append(deployed[name])
        served = {catalog.entry(n).function for n in names if n in catalog.task_names()}
        for family in catalog.FAMILIES:  # custom classifiers present in the models directory
            if family.function in served:
                cards += [get_task(member).model_info() for member in family_members(family)]
        return {"models": cards}

    return router

