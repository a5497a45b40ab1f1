"""Build a Lambda handler around the FastAPI app for a set of tasks.

Models load at import (Lambda init, where SnapStart and the init phase pay for it), never per request:
Mangum runs with lifespan="off" so nothing re-runs on each invocation.

The handler never raises, whatever it is invoked with (a raised exception is a Lambda error and feeds the
Errors alarm):

* an API Gateway event (HTTP API 2.0, REST / 1.0) is checked and cleaned first (`_events`): a malformed one
  gets a 400 `bad_request`, a body over NLP_MAX_BODY_BYTES a 413, both in the one JSON error shape;
* a warm-up ping (an EventBridge `Scheduled Event`, `{}` or `{"warmup": true}`) gets a cheap no-op answer,
  `{"status": "warm", ...}`: the models were loaded at init, so the ping only keeps the container alive;
* any other event gets a logged 400 `unsupported_event`;
* a bug in the adapter itself is logged and answered with a 500 `internal_error`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from mangum import Mangum

from nlpserve import __version__, config
from nlpserve.api import create_app
from nlpserve.api.paths import is_routed
from nlpserve.errors import NlpError, UnsupportedEvent
from nlpserve.handlers import _events
from nlpserve.runtime import registry

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "nlpserve")
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "nlpserve"), service=SERVICE)


def _route_matcher(app: Any) -> Callable[[str], bool]:
    """Whether a path is one of the app's routes, for stage stripping (asks the router: see `api.paths`)."""

    def is_route(path: str) -> bool:
        return is_routed(app, path)

    return is_route


def _count(status: int) -> None:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if status >= 400:
        metrics.add_metric(name="ClientErrors" if status < 500 else "ServerErrors", unit=MetricUnit.Count, value=1)


def _describe(event: Any) -> dict[str, Any]:
    """Enough to recognise an unexpected event in the logs, without logging its contents."""
    if isinstance(event, dict):
        return {"event_type": "object", "event_keys": sorted(str(k) for k in event)[:20]}
    return {"event_type": type(event).__name__}


def make_handler(tasks: Sequence[str] | None, warm: bool = True) -> Callable[[Any, Any], dict[str, Any]]:
    app = create_app(tasks, warm=warm)
    # Base path and stage are stripped by `_events.prepare`, on path-segment boundaries.
    asgi = Mangum(app, lifespan="off", api_gateway_base_path="/")
    base_path = _events.normalise_base_path(os.environ.get("NLP_API_BASE_PATH"))
    is_route = _route_matcher(app)

    def warm_answer() -> dict[str, Any]:
        return {
            "status": "warm",
            "tasks": list(app.state.tasks),
            "models_loaded": registry.loaded_bundles(),
            "version": __version__,
        }

    def serve(event: Any, context: Any) -> dict[str, Any]:
        kind = _events.classify(event)
        if kind == _events.WARMUP:
            metrics.add_metric(name="WarmUps", unit=MetricUnit.Count, value=1)
            logger.debug("warm-up ping")
            return warm_answer()
        if kind == _events.UNKNOWN:
            metrics.add_metric(name="UnsupportedEvents", unit=MetricUnit.Count, value=1)
            logger.error("unsupported event: not an API Gateway request or a warm-up ping", extra=_describe(event))
            err = UnsupportedEvent(
                "this function serves API Gateway HTTP events (payload 1.0 or 2.0) and warm-up pings "
                '(an EventBridge "Scheduled Event", {} or {"warmup": true}); the event was neither',
                details=[_describe(event)],
            )
            return _events.error_response(err)
        try:
            prepared = _events.prepare(
                event, kind, max_body_bytes=config.settings.max_body_bytes, base_path=base_path, is_route=is_route
            )
        except NlpError as err:
            _count(err.status_code)
            logger.info("event rejected", extra={"status": err.status_code, "reason": err.message})
            return _events.error_response(err, kind)
        logger.append_keys(path=prepared.path, tasks=app.state.tasks)
        response = asgi(prepared.event, context)
        status = int(response.get("statusCode", 500))
        _count(status)
        if status >= 400:
            logger.info("request rejected", extra={"status": status})
        return response

    @metrics.log_metrics(capture_cold_start_metric=True)
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        try:
            return serve(event, context)
        except Exception:  # the last line: an adapter bug is a logged 500, never a raised Lambda error
            logger.exception("unhandled error in the Lambda adapter", extra=_describe(event))
            _count(500)
            kind = _events.classify(event)
            return _events.error_response(NlpError("internal error"), kind)

    handler.app = app  # type: ignore[attr-defined]
    return handler
