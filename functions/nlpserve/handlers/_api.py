"""Build a Lambda handler around the FastAPI app for a set of tasks.

Models load at import (Lambda init, where SnapStart and the init phase pay for it), never per request:
Mangum runs with lifespan="off" so nothing re-runs on each invocation.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from mangum import Mangum

from nlpserve.api import create_app

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "nlpserve")
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "nlpserve"), service=SERVICE)


def make_handler(tasks: Sequence[str] | None, warm: bool = True) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    app = create_app(tasks, warm=warm)
    asgi = Mangum(app, lifespan="off", api_gateway_base_path=os.environ.get("NLP_API_BASE_PATH", "/"))

    @metrics.log_metrics(capture_cold_start_metric=True)
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        path = event.get("rawPath") or event.get("path")
        logger.append_keys(path=path, tasks=app.state.tasks)
        response = asgi(event, context)
        status = int(response.get("statusCode", 500))
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        if status >= 400:
            metrics.add_metric(name="ClientErrors" if status < 500 else "ServerErrors", unit=MetricUnit.Count, value=1)
            logger.info("request rejected", extra={"status": status})
        return response

    handler.app = app  # type: ignore[attr-defined]
    return handler
