"""The HTTP contract as tests check it, and the plumbing to reach the real Lambda handlers.

* `ERROR_TABLE`: the (status, error_type) pairs of the README's "Errors and limits" table, read from the
  README itself, so code and documentation cannot drift apart silently;
* `error_shape_problem`: what is wrong with an error response, or None;
* `v2_event` / `v1_event`: an API Gateway event (HTTP API 2.0, REST) for a request, as API Gateway builds it;
* `LambdaAdapter`: a `requests` transport adapter that turns each request into such an event, calls the real
  per-task handler the CDK stack routes the path to, and turns its answer back into a response, so
  schemathesis can drive the Lambda path exactly as it drives the app;
* `FuzzStats`: counts of requests, statuses, 5xx and exceptions, printed at the end of the run.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import urllib3
from nlpserve.lambda_context import LocalContext
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parents[2]


def _error_table() -> frozenset[tuple[int, str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Errors and limits", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    return frozenset((int(status), kind) for status, kind in rows)


ERROR_TABLE = _error_table()


def error_shape_problem(status: int, body: bytes | str | dict[str, Any]) -> str | None:
    """None when `body` is `{"error": str, "error_type": str, "details"?: list}` with a documented status."""
    if isinstance(body, dict):
        doc: Any = body
    else:
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return f"{status}: body is not JSON: {body[:200]!r}"
    if not isinstance(doc, dict):
        return f"{status}: body is not a JSON object: {doc!r:.200}"
    extra = set(doc) - {"error", "error_type", "details"}
    if extra:
        return f"{status}: unexpected keys {sorted(extra)}"
    if not isinstance(doc.get("error"), str) or not doc["error"]:
        return f"{status}: 'error' is not a non-empty string: {doc!r:.200}"
    if not isinstance(doc.get("error_type"), str):
        return f"{status}: 'error_type' is not a string: {doc!r:.200}"
    if "details" in doc and not isinstance(doc["details"], list):
        return f"{status}: 'details' is not a list"
    if (status, doc["error_type"]) not in ERROR_TABLE:
        return f"({status}, {doc['error_type']!r}) is not in the README's error table"
    return None


# -- API Gateway events ------------------------------------------------------------------------------------

#: Path -> handler module, as infra/nlpinfra/catalog.py routes them (GET routes go to the meta function).
ROUTES = {
    "/v1/sentiment": "sentiment",
    "/v1/classify": "classify",
    "/v1/ner": "ner",
    "/v1/redact": "ner",
    "/v1/embed": "embed",
    "/v1/similarity": "embed",
    "/v1/summarize": "summarize",
}


def handler_for(path: str) -> Any:
    module = ROUTES.get(path, "meta")
    return importlib.import_module(f"nlpserve.handlers.{module}").handler


def _body_fields(body: bytes, base64_encode: bool) -> dict[str, Any]:
    if not body:
        return {"body": None, "isBase64Encoded": False}
    if not base64_encode:
        try:
            return {"body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass  # API Gateway base64-encodes what is not text
    return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


def v2_event(method: str, url: str, headers: dict[str, str], body: bytes, *, base64_encode: bool = False,
             stage: str = "$default") -> dict[str, Any]:
    """HTTP API payload 2.0. With a named stage, API Gateway keeps `/<stage>` in the path."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if stage != "$default":
        path = f"/{stage}{path}"
    lower = {k.lower(): v for k, v in headers.items()}
    cookies = [c.strip() for c in lower.pop("cookie", "").split(";") if c.strip()]
    lower.setdefault("host", "abc123.execute-api.eu-west-1.amazonaws.com")
    lower.setdefault("x-forwarded-port", "443")
    lower.setdefault("x-forwarded-proto", "https")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {parts.path}",
        "rawPath": path,
        "rawQueryString": parts.query,
        "headers": lower,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": lower["host"],
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10",
                     "userAgent": lower.get("user-agent", "")},
            "requestId": "fuzz",
            "routeKey": f"{method} {parts.path}",
            "stage": stage,
            "timeEpoch": 1795636800000,
        },
        **_body_fields(body, base64_encode),
    }
    if cookies:
        event["cookies"] = cookies
    return event


def v1_event(method: str, url: str, headers: dict[str, str], body: bytes, *, base64_encode: bool = False,
             stage: str = "prod") -> dict[str, Any]:
    """REST API proxy event: `path` without the stage, `requestContext.path` with it; multi-value twins."""
    parts = urlsplit(url)
    path = parts.path or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in pairs:
        multi_query.setdefault(key, []).append(value)
    all_headers = {"Host": "abc123.execute-api.eu-west-1.amazonaws.com", "X-Forwarded-Port": "443",
                   "X-Forwarded-Proto": "https", **headers}
    return {
        "resource": "/v1/{task}" if path.startswith("/v1/") else path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": "fuzz",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": headers.get("User-Agent", "")},
        },
        **_body_fields(body, base64_encode),
    }


def response_parts(response: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes of a Lambda proxy response (either format)."""
    status = int(response["statusCode"])
    headers = list((response.get("headers") or {}).items())
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.extend((name, v) for v in values)
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
    return status, headers, raw


# -- counting ------------------------------------------------------------------------------------------------


@dataclass
class FuzzStats:
    name: str
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    exceptions: list[str] = field(default_factory=list)
    shape_problems: list[str] = field(default_factory=list)

    def record(self, status: int, body: bytes | str | dict[str, Any]) -> str | None:
        self.requests += 1
        self.statuses[status] += 1
        problem = error_shape_problem(status, body) if status >= 400 else None
        if problem:
            self.shape_problems.append(problem)
        return problem

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    def line(self) -> str:
        top = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (f"{self.name}: {self.requests} requests, 5xx {self.server_errors}, "
                f"handler exceptions {len(self.exceptions)}, error-shape problems {len(self.shape_problems)} "
                f"[{top}]")

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "server_errors": self.server_errors,
                "handler_exceptions": len(self.exceptions), "shape_problems": len(self.shape_problems),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}


#: Every suite's counts, printed by tests/reliability/conftest.py at the end of the run.
STATS: dict[str, FuzzStats] = {}


def stats(name: str) -> FuzzStats:
    return STATS.setdefault(name, FuzzStats(name))


# -- requests -> Lambda event -> real handler -> requests response --------------------------------------------


class LambdaAdapter(HTTPAdapter):
    """Send each `requests` request through API Gateway's event format and the real Lambda handler.

    `fmt` is "v2" (HTTP API, `$default` stage or `stage`) or "v1" (REST API). Every other request of a given
    content is sent base64-encoded (as API Gateway does for binary media types), chosen by a hash of the
    request so a run is reproducible. An exception from the handler is recorded and re-raised.
    """

    def __init__(self, fmt: str, counter: FuzzStats, stage: str | None = None) -> None:
        super().__init__()
        self.fmt = fmt
        self.counter = counter
        self.stage = stage

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = dict(request.headers)
        digest = hashlib.sha256(f"{request.method} {request.url}".encode() + body).digest()
        encode = digest[0] % 2 == 1
        method = str(request.method)
        url = str(request.url)
        if self.fmt == "v2":
            event = v2_event(method, url, headers, body, base64_encode=encode, stage=self.stage or "$default")
        else:
            event = v1_event(method, url, headers, body, base64_encode=encode, stage=self.stage or "prod")
        handler = handler_for(urlsplit(url).path)
        try:
            result = handler(event, LocalContext(function_name=f"nlpserve-fuzz-{self.fmt}"))
        except Exception as exc:
            self.counter.exceptions.append(f"{type(exc).__name__}: {exc}"[:300])
            raise
        status, out_headers, raw = response_parts(result)
        self.counter.record(status, raw)
        response = urllib3.HTTPResponse(
            body=io.BytesIO(raw), headers=out_headers, status=status, version=11,
            reason=requests.status_codes._codes.get(status, ("",))[0].upper(), preload_content=False,
        )
        return self.build_response(request, response)


def lambda_session(fmt: str, counter: FuzzStats, stage: str | None = None) -> requests.Session:
    session = requests.Session()
    adapter = LambdaAdapter(fmt, counter, stage)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
