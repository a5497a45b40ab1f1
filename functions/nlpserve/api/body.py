"""Read and check a JSON request body before FastAPI validates it, so every way a body can be unreadable has
its own error type instead of FastAPI's generic 400 / 422.

Order, for routes that take a body (unknown routes and wrong methods are 404 / 405 first):

1. Content-Type: `application/json`, `text/json`, any `+json`, empty or missing are JSON (a `charset`
   parameter is ignored: the bytes must be UTF-8 either way); anything else is 415 `unsupported_media_type`.
2. Size of the actual bytes read (not only the Content-Length header): over NLP_MAX_BODY_BYTES is 413
   `payload_too_large`; reading stops at the limit.
3. UTF-8 (a leading BOM is ignored), then strict JSON (RFC 8259: no NaN / Infinity, nesting at most
   MAX_JSON_DEPTH levels); each failure is a 400 `bad_request` that names the problem and its position.

The parsed document is handed to FastAPI (no second parse) with the Content-Type set to application/json.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from nlpserve import config
from nlpserve.api.errors import error_response
from nlpserve.errors import BadRequest, NlpError, PayloadTooLarge, UnsupportedMediaType

MAX_JSON_DEPTH = 32  # a valid request nests 3 levels ({"parameters": {"labels": [...]}})
JSON_MEDIA_TYPES = ("", "application/json", "text/json")


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json_media_type(content_type: str | None) -> bool:
    kind = media_type(content_type or "")
    return kind in JSON_MEDIA_TYPES or (kind.startswith("application/") and kind.endswith("+json"))


def _too_large(size: int, limit: int, declared: bool) -> PayloadTooLarge:
    """`size` is the declared Content-Length, or the bytes read when reading stopped past the limit."""
    said = f"request body is {size} bytes (Content-Length)" if declared else "request body is larger than the limit"
    return PayloadTooLarge(
        f"{said}; the limit is {limit} bytes (use the S3 batch path for more)",
        details=[{"bytes" if declared else "bytes_read": size, "limit": limit}],
    )


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as more than `limit` bytes arrived."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limit:  # "²".isdigit() is True
        raise _too_large(int(declared), limit, declared=True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit, declared=False)
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (RFC 8259 has no NaN or Infinity)")


def _depth_over(doc: Any, limit: int) -> bool:
    """True when containers nest deeper than `limit` (iterative: no recursion on hostile input)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def parse_json(raw: bytes) -> Any:
    """Strict JSON from UTF-8 bytes, or a BadRequest naming the problem."""
    if not raw.strip():
        raise BadRequest('request body is empty; send a JSON object such as {"inputs": "text"}')
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        raise BadRequest(
            f"request body is not valid UTF-8 (byte 0x{bad} at offset {exc.start}); send JSON encoded as UTF-8",
            details=[{"offset": exc.start, "byte": f"0x{bad}"}],
        ) from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            # json's own message for a raw control character ends in " at"
            f"request body is not valid JSON: {exc.msg.removesuffix(' at')} at line {exc.lineno} column {exc.colno}",
            details=[{"line": exc.lineno, "column": exc.colno, "offset": exc.pos}],
        ) from None
    except ValueError as exc:  # NaN / Infinity
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _too_deep() from None
    if _depth_over(doc, MAX_JSON_DEPTH):
        raise _too_deep()
    return doc


def _too_deep() -> BadRequest:
    return BadRequest(
        f"request body nests JSON deeper than {MAX_JSON_DEPTH} levels",
        details=[{"max_depth": MAX_JSON_DEPTH}],
    )


async def checked_json(request: Request) -> Any:
    """Apply rules 1-3 to `request` and return the parsed document."""
    content_type = request.headers.get("content-type")
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json (or text/json, or omitted), got '{content_type}'"
        )
    raw = await read_limited(request, config.settings.max_body_bytes)
    request._body = raw  # Starlette's cache: the stream is consumed
    return parse_json(raw)


def _as_json_request(request: Request, doc: Any) -> None:
    """Let FastAPI's own body handling see a JSON request whose document is already parsed."""
    request.scope["headers"] = [
        (k, v) for k, v in request.scope["headers"] if k.lower() != b"content-type"
    ] + [(b"content-type", b"application/json")]
    request.__dict__.pop("_headers", None)
    request._json = doc  # Starlette's cache: request.json() returns it without parsing again


class JsonBodyRoute(APIRoute):
    """An APIRoute that checks its JSON body with `checked_json` before FastAPI validates it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            try:
                doc = await checked_json(request)
            except NlpError as err:
                return error_response(err)
            _as_json_request(request, doc)
            return await handler(request)

        return checked
