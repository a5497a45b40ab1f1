"""Map every failure to the one JSON error shape and its HTTP status; nothing escapes as a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def error_response(err: NlpError) -> JSONResponse:
    return JSONResponse(status_code=err.status_code, content=err.to_dict())


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
            message = f"no route for {request.method} {request.scope.get('path', '')}; see /docs"
        elif exc.status_code == 405:
            allowed = exc.headers.get("allow", "") if exc.headers else ""
            message = f"method {request.method} is not allowed on {request.scope.get('path', '')}" + (f"; use {allowed}" if allowed else "")
        return JSONResponse(
            status_code=status, content={"error": message, "error_type": error_type}, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.scope.get('path', ''))
        return JSONResponse(status_code=500, content={"error": "internal error", "error_type": "internal_error"})
