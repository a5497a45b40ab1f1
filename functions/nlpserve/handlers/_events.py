"""What a function was invoked with, checked before Mangum sees it.

Lambda hands a function whatever its caller sent: API Gateway proxy events (HTTP API payload 2.0, REST API or
HTTP API payload 1.0), an EventBridge schedule, a console test, a hand-written ``aws lambda invoke``. Mangum
assumes a well-formed proxy event and raises on anything else (no handler inferred, ``headers: null``, a bad
base64 body, a non-numeric port...), which Lambda counts as a function error. This module

* classifies the event: an HTTP request (v1 or v2), a warm-up ping, or something else;
* rebuilds an HTTP event as a clean, minimal event of the same format that Mangum cannot trip on, or rejects
  it with a 4xx naming the field that is wrong (``bad_request``) or the body that is too large
  (``payload_too_large``, counted on the decoded bytes);
* removes the stage name from the path when API Gateway left it there (a named HTTP API stage), and the
  configured base path (``NLP_API_BASE_PATH``, for a custom domain mapping).

Rules: a field API Gateway itself sends as ``null`` (headers, query parameters, body, cookies...) means
"none"; a field of the wrong type, a header or query value that is not a string, a body flagged base64 that is
not base64, or a malformed host / port / scheme header is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nlpserve.api.errors import error_body
from nlpserve.errors import BadRequest, NlpError, PayloadTooLarge

HTTP_V1 = "http_v1"  # REST API proxy event, or HTTP API payload format 1.0
HTTP_V2 = "http_v2"  # HTTP API payload format 2.0
WARMUP = "warmup"
UNKNOWN = "unknown"

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 method token
# A registered name with an optional port: what API Gateway sends. No IP-literal ("[::1]"): API Gateway never
# sends one and Mangum splits the host on ":".
_HOST = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=%-]*(?::[0-9]{1,5})?")
_PORT = re.compile(r"[0-9]{1,5}")
_SCHEMES = ("http", "https")
_WARMUP_SOURCES = ("serverless-plugin-warmup", "nlpserve.warmup")


def classify(event: Any) -> str:
    """HTTP_V2, HTTP_V1, WARMUP or UNKNOWN. Only the shape decides; `prepare` checks the contents."""
    if not isinstance(event, dict):
        return UNKNOWN
    version = event.get("version")
    if version == "2.0" or (version is None and ("rawPath" in event or "routeKey" in event)):
        return HTTP_V2
    if version == "1.0" or "httpMethod" in event or "resource" in event:
        return HTTP_V1
    if is_warmup(event):
        return WARMUP
    return UNKNOWN


def is_warmup(event: dict[str, Any]) -> bool:
    """An EventBridge schedule, `{}`, `{"warmup": true}` or a warm-up plugin's ping."""
    if not event:
        return True
    if event.get("warmup") is True:
        return True
    source = event.get("source")
    if source == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return True
    return source in _WARMUP_SOURCES


@dataclass(frozen=True)
class Prepared:
    """A clean event for Mangum, and what was decided on the way."""

    event: dict[str, Any]
    kind: str
    method: str
    path: str
    body_bytes: int


def _bad(field: str, problem: str) -> BadRequest:
    return BadRequest(
        f"malformed API Gateway event: {field} {problem}", details=[{"field": field, "problem": problem}]
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", bool: "a boolean", str: "a string"}.get(type(value), type(value).__name__)


def _text(value: Any, field: str) -> str:
    """A string that can be sent on as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str):
        raise _bad(field, f"is {_kind(value)}, expected a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(field, "holds a lone surrogate and cannot be encoded as UTF-8") from None
    return value


def _object(value: Any, field: str) -> dict[str, Any]:
    """`null` (or absent) means empty; anything but an object is malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(field, f"is {_kind(value)}, expected an object or null")
    return value


def _headers(single: Any, multi: Any = None) -> dict[str, str]:
    """Lower-cased header names; multi-value headers (v1) win and are joined with ', ' as API Gateway does."""
    out: dict[str, str] = {}
    for name, value in _object(single, "headers").items():
        key = _text(name, "a header name").lower()
        out[key] = _text(value, f"header '{key}'")
    for name, values in _object(multi, "multiValueHeaders").items():
        key = _text(name, "a multiValueHeaders name").lower()
        if not isinstance(values, list):
            raise _bad(f"multiValueHeaders '{key}'", f"is {_kind(values)}, expected a list of strings")
        out[key] = ", ".join(_text(v, f"multiValueHeaders '{key}'") for v in values)
    _check_connection_headers(out)
    return out


def _first(value: str) -> str:
    return value.split(",")[0].strip()


def _check_connection_headers(headers: dict[str, str]) -> None:
    """host, x-forwarded-port and -proto build the request URL: malformed ones are rejected, lists trimmed."""
    if "host" in headers:
        host = _first(headers["host"])
        if not _HOST.fullmatch(host):
            raise _bad("header 'host'", f"is {host[:64]!r}, expected host[:port]")
        headers["host"] = host
    if "x-forwarded-port" in headers:
        port = _first(headers["x-forwarded-port"])
        if not _PORT.fullmatch(port):
            raise _bad("header 'x-forwarded-port'", f"is {port[:64]!r}, expected a port number")
        headers["x-forwarded-port"] = port
    if "x-forwarded-proto" in headers:
        proto = _first(headers["x-forwarded-proto"]).lower()
        if proto not in _SCHEMES:
            raise _bad("header 'x-forwarded-proto'", f"is {proto[:64]!r}, expected http or https")
        headers["x-forwarded-proto"] = proto


def _method(value: Any, field: str) -> str:
    method = _text(value, field)
    if not _TOKEN.fullmatch(method):
        raise _bad(field, f"is {method[:32]!r}, not an HTTP method")
    return method.upper()


def _path(value: Any, field: str) -> str:
    path = _text(value, field)
    if not path.startswith("/"):
        raise _bad(field, f"is {path[:64]!r}, expected a path starting with '/'")
    return path


def _body(event: dict[str, Any], max_bytes: int) -> bytes:
    """The body as bytes: base64 decoded when flagged, size checked on the decoded bytes."""
    body = event.get("body")
    flag = event.get("isBase64Encoded")
    if flag is None:
        flag = False
    if not isinstance(flag, bool):
        raise _bad("isBase64Encoded", f"is {_kind(flag)}, expected true or false")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise _bad("body", f"is {_kind(body)}, expected a string or null")
    if flag:
        compact = "".join(body.split())
        if len(compact) > 4 * (max_bytes // 3 + 1):  # decoding would already exceed the limit
            raise _too_large(len(compact) * 3 // 4, max_bytes)
        try:
            raw = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise _bad("body", "is flagged isBase64Encoded but is not valid base64") from None
    else:
        # API Gateway sends text bodies as UTF-8 strings. A lone surrogate (possible only in a hand-written
        # event) passes through as bytes that are not UTF-8, and the app rejects them like any such body.
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise _too_large(len(raw), max_bytes)
    return raw


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body is {size} bytes; the limit is {limit} bytes (use the S3 batch path for more)",
        details=[{"bytes": size, "limit": limit}],
    )


def _query_v1(single: Any, multi: Any) -> dict[str, list[str]]:
    """REST query parameters as name -> values (multi-value wins, as API Gateway fills both)."""
    out: dict[str, list[str]] = {}
    for name, value in _object(single, "queryStringParameters").items():
        key = _text(name, "a queryStringParameters name")
        out[key] = [_text(value, f"queryStringParameters '{key}'")]
    for name, values in _object(multi, "multiValueQueryStringParameters").items():
        key = _text(name, "a multiValueQueryStringParameters name")
        if not isinstance(values, list):
            raise _bad(f"multiValueQueryStringParameters '{key}'", f"is {_kind(values)}, expected a list")
        out[key] = [_text(v, f"multiValueQueryStringParameters '{key}'") for v in values]
    return out


def _remove_base(path: str, base_path: str) -> str:
    if base_path and (path == base_path or path.startswith(base_path + "/")):
        return path[len(base_path):] or "/"
    return path


def strip_prefixes(path: str, stage: Any, base_path: str, is_route: Callable[[str], bool] | None = None) -> str:
    """Remove `/<stage>` (HTTP API named stages leave it in the path) and then `base_path`.

    `$default` has no path segment. `is_route` says whether a path (after the base path) is one of the app's
    routes; a stage is only stripped when the result is a route or the path is not, so a stage named like a
    route (`v1`, `health`) does not eat the route itself. Without `is_route` the stage is always stripped.
    """
    if isinstance(stage, str) and stage and stage != "$default":
        prefix = f"/{stage}"
        if path == prefix or path.startswith(prefix + "/"):
            rest = path[len(prefix):] or "/"
            if (
                is_route is None
                or not is_route(_remove_base(path, base_path))
                or is_route(_remove_base(rest, base_path))
            ):
                path = rest
    return _remove_base(path, base_path)


def normalise_base_path(value: str | None) -> str:
    """`NLP_API_BASE_PATH`: '' or '/' means none; otherwise '/segment[/...]' without a trailing slash."""
    value = (value or "").strip().strip("/")
    return f"/{value}" if value else ""


def prepare(
    event: dict[str, Any],
    kind: str,
    *,
    max_body_bytes: int,
    base_path: str = "",
    is_route: Callable[[str], bool] | None = None,
) -> Prepared:
    """A clean event of the same format, or a BadRequest / PayloadTooLarge naming what is wrong."""
    if kind == HTTP_V2:
        return _prepare_v2(event, max_body_bytes, base_path, is_route)
    if kind == HTTP_V1:
        return _prepare_v1(event, max_body_bytes, base_path, is_route)
    raise ValueError(f"not an HTTP event: {kind}")


def _prepare_v2(event: dict[str, Any], max_body: int, base_path: str, is_route: Callable[[str], bool] | None) -> Prepared:
    context = _object(event.get("requestContext"), "requestContext")
    http = _object(context.get("http"), "requestContext.http")
    if http.get("method") is not None:
        method = _method(http["method"], "requestContext.http.method")
    else:  # a hand-written event may carry only the route key ("POST /v1/sentiment")
        route_key = event.get("routeKey", context.get("routeKey"))
        if not isinstance(route_key, str) or " " not in route_key:
            raise _bad("requestContext.http.method", "is missing (and routeKey names no method)")
        method = _method(route_key.split(" ", 1)[0], "routeKey")
    if http.get("path") is not None:
        raw_path = _path(http["path"], "requestContext.http.path")
    elif event.get("rawPath") is not None:
        raw_path = _path(event["rawPath"], "rawPath")
    else:
        raise _bad("rawPath", "is missing (and so is requestContext.http.path)")
    query = event.get("rawQueryString")
    query = "" if query is None else _text(query, "rawQueryString")
    cookies = event.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list):
            raise _bad("cookies", f"is {_kind(cookies)}, expected a list of strings")
        cookies = [_text(c, "cookies") for c in cookies]
    source_ip = http.get("sourceIp")
    stage = context.get("stage")
    path = strip_prefixes(raw_path, stage, base_path, is_route)
    headers = _headers(event.get("headers"))
    body = _body(event, max_body)
    clean: dict[str, Any] = {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": source_ip if isinstance(source_ip, str) else None},
            "stage": stage if isinstance(stage, str) else "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }
    if cookies:
        clean["cookies"] = cookies
    return Prepared(clean, HTTP_V2, method, path, len(body))


def _prepare_v1(event: dict[str, Any], max_body: int, base_path: str, is_route: Callable[[str], bool] | None) -> Prepared:
    context = _object(event.get("requestContext"), "requestContext")
    identity = _object(context.get("identity"), "requestContext.identity")
    if event.get("httpMethod") is not None:
        method = _method(event["httpMethod"], "httpMethod")
    elif context.get("httpMethod") is not None:
        method = _method(context["httpMethod"], "requestContext.httpMethod")
    else:
        raise _bad("httpMethod", "is missing")
    if event.get("path") is not None:
        raw_path = _path(event["path"], "path")
    elif context.get("path") is not None:
        raw_path = _path(context["path"], "requestContext.path")
    else:
        raise _bad("path", "is missing")
    query = _query_v1(event.get("queryStringParameters"), event.get("multiValueQueryStringParameters"))
    source_ip = identity.get("sourceIp")
    stage = context.get("stage")
    path = strip_prefixes(raw_path, stage, base_path, is_route)
    headers = _headers(event.get("headers"), event.get("multiValueHeaders"))
    body = _body(event, max_body)
    resource = event.get("resource")
    clean = {
        "resource": resource if isinstance(resource, str) else path,
        "httpMethod": method,
        "path": path,
        "headers": headers,
        "multiValueHeaders": None,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": query or None,
        "requestContext": {
            "identity": {"sourceIp": source_ip if isinstance(source_ip, str) else None},
            "stage": stage if isinstance(stage, str) else "",
        },
        "body": body,
        "isBase64Encoded": False,
    }
    return Prepared(clean, HTTP_V1, method, path, len(body))


def error_response(err: NlpError, kind: str = HTTP_V2) -> dict[str, Any]:
    """A proxy response in the event's format with the one JSON error shape (bounded: `api.errors.error_body`)."""
    response: dict[str, Any] = {
        "statusCode": err.status_code,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(error_body(err.message, err.error_type, err.details), ensure_ascii=False),
        "isBase64Encoded": False,
    }
    if kind == HTTP_V1:
        response["multiValueHeaders"] = {}
    return response
