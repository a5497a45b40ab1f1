"""Property tests of the Lambda adapter: mangled API Gateway events never raise and never give a 5xx.

Starting from valid HTTP API 2.0 and REST events, hypothesis nulls, deletes or retypes fields (headers,
query parameters, request context, method, path, base64 flag, cookies...), puts odd values in headers (host,
port, scheme, content type and length), and swaps the body for bytes that are not UTF-8, invalid base64,
deep or huge JSON. It also invokes the handlers with arbitrary JSON values as events. For every event:

* the handler returns (no exception escapes);
* the answer is a proxy response with a status below 500, and every error has the one JSON shape with a
  (status, error_type) pair from the README's table;
* where the mutation is malformed by construction (a non-string header value, invalid base64, a body over
  the limit, deep JSON, a non-UTF-8 body), the status is the documented 4xx.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from api_contract import response_parts, stats, v1_event, v2_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nlpserve import config
from nlpserve.lambda_context import LocalContext

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

LIMIT = 30_000  # NLP_MAX_BODY_BYTES during these tests, so "over the limit" stays cheap to generate
EXAMPLES = 300

PROPS = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def handlers(models_dir):
    from nlpserve.handlers import embed, meta, sentiment

    return {"sentiment": sentiment.handler, "embed": embed.handler, "meta": meta.handler}


@pytest.fixture(autouse=True)
def small_body_limit(monkeypatch):
    monkeypatch.setattr(config, "settings", config.Settings(max_body_bytes=LIMIT))


URL = "https://abc123.execute-api.eu-west-1.amazonaws.com"
JSON_HEADERS = {"Content-Type": "application/json", "User-Agent": "fuzz"}
BASES = {
    "v2 sentiment": ("sentiment", v2_event("POST", f"{URL}/v1/sentiment", JSON_HEADERS, b'{"inputs": "I love it"}')),
    "v2 similarity": ("embed", v2_event("POST", f"{URL}/v1/similarity?x=1", JSON_HEADERS,
                                        b'{"source": "a cat", "targets": ["a dog"]}', base64_encode=True)),
    "v2 health": ("meta", v2_event("GET", f"{URL}/health?verbose=1&a=b", {"Cookie": "a=b; c=d"}, b"")),
    "v2 stage": ("sentiment", v2_event("POST", f"{URL}/v1/sentiment", JSON_HEADERS, b'{"inputs": "meh"}',
                                       stage="prod")),
    "v1 sentiment": ("sentiment", v1_event("POST", f"{URL}/v1/sentiment?a=1&a=2", JSON_HEADERS,
                                           b'{"inputs": ["fine", "bad"]}')),
    "v1 health": ("meta", v1_event("GET", f"{URL}/health", {}, b"")),
}

# -- values that do not belong where they are put ----------------------------------------------------------

odd_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
    st.just(""), st.just("\ud83d"), st.text(st.characters(codec="latin-1"), max_size=8),
)
odd_values = st.one_of(
    odd_scalars,
    st.lists(odd_scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), odd_scalars, max_size=3),
)
HEADER_NAMES = ["host", "x-forwarded-port", "x-forwarded-proto", "content-type", "content-length", "cookie",
                "accept", "x-custom", "Content-Type", ""]
header_text = st.one_of(
    st.sampled_from(["", "abc", "443, 80", "-1", "99999999999", "http", "ftp", "a:b:c", "[::1]:443",
                     "host:port", "text/json", "application/json; charset=latin-1", "text/plain",
                     "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "0", "1e3"]),
    st.text(max_size=30),
)
TOP_FIELDS = ["headers", "multiValueHeaders", "body", "isBase64Encoded", "rawQueryString", "rawPath",
              "queryStringParameters", "multiValueQueryStringParameters", "cookies", "requestContext", "version",
              "httpMethod", "path", "routeKey", "resource", "pathParameters", "stageVariables"]
CONTEXT_PATHS = [("http",), ("http", "method"), ("http", "path"), ("http", "sourceIp"), ("stage",),
                 ("identity",), ("identity", "sourceIp"), ("httpMethod",), ("path",), ("routeKey",)]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def mutation(draw: Any) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["set", "delete", "context", "header", "query", "body"]))
    if kind in ("set", "delete"):
        return kind, (draw(st.sampled_from(TOP_FIELDS)), draw(odd_values) if kind == "set" else None)
    if kind == "context":
        return kind, (draw(st.sampled_from(CONTEXT_PATHS)), draw(st.one_of(odd_values, st.just(KeyError))))
    if kind == "header":
        return kind, (draw(st.sampled_from(HEADER_NAMES)), draw(st.one_of(header_text, odd_scalars)))
    if kind == "query":
        return kind, (draw(st.text(max_size=6)), draw(odd_values))
    return kind, draw(bodies())


@st.composite
def bodies(draw: Any) -> tuple[str, Any]:
    """(flavour, body string or bytes); the flavour says which 4xx, if any, it must give."""
    flavour = draw(st.sampled_from(["binary", "bad_base64", "base64_any", "deep", "huge", "json", "text",
                                    "surrogate"]))
    if flavour == "binary":  # bytes that are not UTF-8, sent base64-encoded
        raw = draw(st.binary(min_size=1, max_size=200)) + b"\xff\xfe"
        return flavour, raw
    if flavour == "bad_base64":
        return flavour, draw(st.sampled_from(["@@@", "abc", "eyJpbnB1dHMiOiAiaGkifQ=!", "a===", "\u00e9\u00e9"]))
    if flavour == "base64_any":
        return flavour, draw(st.binary(max_size=200))
    if flavour == "deep":
        depth = draw(st.integers(min_value=33, max_value=LIMIT // 12))  # past the recursion limit, under the size limit
        opener, leaf, closer = draw(st.sampled_from([("[", "", "]"), ('{"a":', "1", "}")]))
        return flavour, opener * depth + leaf + closer * depth
    if flavour == "huge":
        return flavour, json.dumps({"inputs": "x" * (LIMIT + draw(st.integers(0, 5000)))})
    if flavour == "json":
        return flavour, json.dumps(draw(json_values))
    if flavour == "surrogate":  # a raw lone surrogate in the event's body string
        return flavour, draw(st.text(max_size=20)) + "\ud83d" + draw(st.text(max_size=5))
    return flavour, draw(st.text(max_size=200))


def _set_path(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = doc
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    if value is KeyError:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def apply(event: dict[str, Any], change: tuple[str, Any]) -> str | None:
    """Mutate `event`; returns the 4xx a malformed-by-construction change must give, as 'status:type'."""
    kind, arg = change
    if kind == "set":
        event[arg[0]] = arg[1]
    elif kind == "delete":
        event.pop(arg[0], None)
    elif kind == "context":
        context = event.get("requestContext")
        if not isinstance(context, dict):
            context = event["requestContext"] = {}
        _set_path(context, arg[0], arg[1])
    elif kind == "header":
        name, value = arg
        headers = event.get("headers")
        if not isinstance(headers, dict):
            headers = event["headers"] = {}
        headers[name] = value
        if "multiValueHeaders" in event and isinstance(event["multiValueHeaders"], dict):
            event["multiValueHeaders"].pop(name, None)  # v1: the multi-value twin would win otherwise
        if not isinstance(value, str) or _has_surrogate(value):
            return "400:bad_request"
    elif kind == "query":
        name, value = arg
        if event.get("version") == "2.0":
            event["rawQueryString"] = value
            if value is not None and (not isinstance(value, str) or _has_surrogate(value)):
                return "400:bad_request"
        else:
            event["queryStringParameters"] = {name: value}
            event["multiValueQueryStringParameters"] = None
            if not isinstance(value, str) or _has_surrogate(value) or _has_surrogate(name):
                return "400:bad_request"
    elif kind == "body":
        flavour, body = arg
        if flavour in ("binary", "base64_any"):
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        elif flavour == "bad_base64":
            event["body"], event["isBase64Encoded"] = body, True
            return "400:bad_request"
        else:
            event["body"], event["isBase64Encoded"] = body, False
        if flavour == "huge":
            return "413:payload_too_large"
    return None


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def invoke(handler: Any, event: Any, counter_name: str) -> tuple[int, dict[str, Any]]:
    counter = stats(counter_name)
    try:
        response = handler(event, LocalContext(function_name="nlpserve-props"))
    except Exception as exc:  # the property: this never happens
        counter.exceptions.append(f"{type(exc).__name__}: {exc}"[:300])
        raise
    assert isinstance(response, dict), response
    if "statusCode" not in response:  # a warm-up answer
        counter.requests += 1
        assert response["status"] == "warm", response
        return 200, response
    status, _, raw = response_parts(response)
    problem = counter.record(status, raw)
    assert status < 500, (status, raw[:300])
    assert problem is None, problem
    return status, json.loads(raw) if raw else {}


def _check_expected(status: int, body: dict[str, Any], expected: str | None, changes: list[Any]) -> None:
    if expected is None:
        return
    want_status, want_type = expected.split(":")
    assert (status, body.get("error_type")) == (int(want_status), want_type), (status, body, changes)


@pytest.mark.parametrize("base", sorted(BASES))
@PROPS
@given(changes=st.lists(mutation(), min_size=1, max_size=3))
def test_mangled_events_get_a_4xx_or_an_answer_never_an_exception(handlers, base, changes):
    name, template = BASES[base]
    event = copy.deepcopy(template)
    expected = [apply(event, change) for change in changes]
    status, body = invoke(handlers[name], event, f"mangled events ({base.split()[0]})")
    if len(changes) == 1:  # with several changes a later one may undo or pre-empt an earlier one
        _check_expected(status, body, expected[0], changes)


INTERESTING_HEADER_VALUES = [
    "", " ", "abc", "443", "443, 80", "-1", "99999999999", "\u00b2", "\u0663", "1e3", "0x1bb", "http", "HTTPS",
    "ftp", "a:b:c", "a:", ":443", "[::1]", "[::1]:443", "host:port", "example.com:443", "ex ample.com",
    "text/json", "application/json; charset=latin-1", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/", ";", "a=b; c", "\x00", "\r\n", "\u00e9",
]
header_values = st.one_of(st.sampled_from(INTERESTING_HEADER_VALUES),
                          st.text(st.sampled_from(":[]%@/ ,;=.-0123456789abcxyz\u00e9\u00b2"), max_size=12),
                          odd_scalars)


@pytest.mark.parametrize("base", ["v2 sentiment", "v1 sentiment", "v2 health"])
@settings(PROPS, max_examples=EXAMPLES // 2)
@given(name=st.sampled_from(["host", "x-forwarded-port", "x-forwarded-proto", "content-type", "content-length",
                             "cookie", "Host", "X-Forwarded-Port"]),
       value=header_values)
def test_every_header_value_is_served_or_a_4xx(handlers, base, name, value):
    """Focused on the headers that build the request URL and choose the body handling."""
    handler_name, template = BASES[base]
    event = copy.deepcopy(template)
    expected = apply(event, ("header", (name, value)))
    status, body = invoke(handlers[handler_name], event, "header values")
    _check_expected(status, body, expected, [name])


@pytest.mark.parametrize("fmt", ["v2", "v1"])
@settings(PROPS, max_examples=EXAMPLES // 2)
@given(body=bodies())
def test_every_body_kind_gets_its_documented_status(handlers, fmt, body):
    template = BASES["v2 sentiment" if fmt == "v2" else "v1 sentiment"][1]
    event = copy.deepcopy(template)
    expected = apply(event, ("body", body))
    status, doc = invoke(handlers["sentiment"], event, f"body kinds ({fmt})")
    flavour = body[0]
    if flavour in ("binary", "surrogate"):
        expected = "400:bad_request"  # not UTF-8
    elif flavour == "deep":
        expected = "400:bad_request"
    _check_expected(status, doc, expected, [body])
    if flavour in ("binary", "surrogate"):
        assert "UTF-8" in doc["error"], doc
    if flavour == "deep":
        assert "deeper than" in doc["error"], doc


@settings(PROPS, max_examples=EXAMPLES)
@given(event=st.one_of(json_values, st.dictionaries(st.sampled_from(TOP_FIELDS + ["source", "detail-type",
                                                                                  "Records", "warmup"]),
                                                    odd_values, max_size=5)))
def test_any_json_value_as_an_event_is_answered(handlers, event):
    status, body = invoke(handlers["sentiment"], event, "arbitrary events")
    if status >= 400 and not (isinstance(event, dict) and ({"version", "httpMethod", "resource", "rawPath",
                                                             "routeKey"} & set(event))):
        assert body["error_type"] == "unsupported_event", (event, body)
