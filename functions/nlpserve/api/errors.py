"""Map every failure to the one JSON error shape and its HTTP status; nothing escapes as a bare 500.

Every error body is small whatever the request was (`error_body`): at most MAX_DETAILS entries in `details`
(the message says how many more there were), strings echoed from the request cut to MAX_VALUE_CHARS (the
message to MAX_MESSAGE_CHARS), and the whole body under MAX_ERROR_BYTES. A 1 MB body of 90,000 unknown fields
would otherwise be answered with megabytes of 422, over Lambda's 6 MB response limit.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nlpserve.api.paths import is_routed
from nlpserve.errors import BadRequest, InvalidInput, NlpError

log = logging.getLogger(__name__)

# Every status Starlette / FastAPI can raise on their own, mapped to a documented error_type.
_HTTP_TYPES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}


MAX_DETAILS = 20
MAX_MESSAGE_CHARS = 1000
MAX_VALUE_CHARS = 200
MAX_ITEMS = 40  # per list / object inside a details entry
MAX_ERROR_BYTES = 16 * 1024  # the body, as UTF-8 JSON; the property tests assert < 64 kB


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _clip_value(value: Any, depth: int = 0) -> Any:
    """A JSON value with long strings cut and long / deep containers shortened."""
    if isinstance(value, str):
        return _clip(value, MAX_VALUE_CHARS)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= 4:
        return _clip(str(value), MAX_VALUE_CHARS)
    if isinstance(value, dict):
        return {
            _clip(str(k), MAX_VALUE_CHARS): _clip_value(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]
        }
    if isinstance(value, (list, tuple)):
        items = [_clip_value(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
        return items + ([f"... {len(value) - MAX_ITEMS} more"] if len(value) > MAX_ITEMS else [])
    return _clip(str(value), MAX_VALUE_CHARS)


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def error_body(message: str, error_type: str, details: list[Any] | None = None) -> dict[str, Any]:
    """`{"error", "error_type", "details"?}`, bounded (see the module docstring)."""
    details = list(details or [])
    message = _clip(str(message), MAX_MESSAGE_CHARS)
    budget = MAX_ERROR_BYTES - _size(message) - _size(error_type) - 200  # keys, brackets and the count below
    shown: list[Any] = []
    for entry in details[:MAX_DETAILS]:
        clipped = _clip_value(entry)
        budget -= _size(clipped) + 1
        if budget < 0:
            break
        shown.append(clipped)
    if len(shown) < len(details):
        message += f" (and {len(details) - len(shown)} more; details lists the first {len(shown)})"
    body: dict[str, Any] = {"error": message, "error_type": error_type}
    if shown:
        body["details"] = shown
    return body


def error_response(err: NlpError) -> JSONResponse:
    return JSONResponse(status_code=err.status_code, content=error_body(err.message, err.error_type, err.details))


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {})
        return error_response(BadRequest(f"request body is not valid JSON: {ctx.get('error', 'parse error')}"))
    details = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")} for e in errors
    ]
    first = details[0]
    where = ".".join(p for p in first["loc"] if p != "body") or "body"
    return error_response(InvalidInput(f"{where}: {first['msg']}", details=details))


def install(app: FastAPI) -> None:
    @app.exception_handler(NlpError)
    async def _nlp_error(request: Request, exc: NlpError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("request failed: %s", exc.message)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        if status not in _HTTP_TYPES:  # keep to the documented table: any other 4xx is a 400, 5xx a 500
            log.warning("unexpected HTTP status %s from the framework: %s", status, exc.detail)
            status = 400 if status < 500 else 500
        error_type = _HTTP_TYPES.get(status, "internal_error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            path = str(request.scope.get("path", ""))
            message = f"no route for {request.method} {path}; see /docs"
            if len(path) > 1 and path.endswith("/") and is_routed(request.app, path.rstrip("/")):
                message = f"no route for {request.method} {path}: remove the trailing slash ({path.rstrip('/')})"
        elif exc.status_code == 405:
            allowed = exc.headers.get("allow", "") if exc.headers else ""
            message = f"method {request.method} is not allowed on {request.scope.get('path', '')}" + (f"; use {allowed}" if allowed else "")
        return JSONResponse(status_code=status, content=error_body(message, error_type), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.scope.get('path', ''))
        return JSONResponse(status_code=500, content={"error": "internal error", "error_type": "internal_error"})
