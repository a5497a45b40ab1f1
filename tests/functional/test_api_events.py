"""Issue 7, part D: every event a function can be invoked with, and the HTTP contract, by example.

Each example from the issue is a test here, with neighbours of the same kind; the reliability suite
(tests/reliability) generates thousands more.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from nlpserve import config
from nlpserve.api import create_app
from nlpserve.handlers import _api, _events
from nlpserve.lambda_context import LocalContext
from reliability.api_contract import ERROR_TABLE, error_shape_problem

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def sentiment(models_dir):
    from nlpserve.handlers import sentiment

    return sentiment.handler


@pytest.fixture(scope="module")
def client(models_dir):
    return TestClient(create_app())


def call(handler, event):
    response = handler(event, LocalContext())
    body = json.loads(response["body"]) if response.get("body") else {}
    if response["statusCode"] >= 400:
        assert error_shape_problem(response["statusCode"], body) is None, body
    return response["statusCode"], body


# -- D1: warm-up pings and other non-HTTP events -------------------------------------------------------------


@pytest.mark.parametrize("module", ["sentiment", "classify", "ner", "embed", "summarize", "language", "entities", "meta"])
@pytest.mark.parametrize("ping", ["eventbridge_scheduled", "warmup", "empty"])
def test_a_warm_up_ping_gets_a_cheap_answer_from_every_function(models_dir, module, ping, capsys):
    import importlib

    handler = importlib.import_module(f"nlpserve.handlers.{module}").handler
    event = {} if ping == "empty" else load_event(ping)
    answer = handler(event, LocalContext())
    assert answer["status"] == "warm" and "statusCode" not in answer
    assert answer["tasks"] == handler.app.state.tasks
    if module != "meta":
        assert answer["models_loaded"], "task functions load their models at init"
    assert '"WarmUps"' in capsys.readouterr().out  # an EMF metric, not a request


def test_the_meta_function_answers_a_ping_without_loading_a_model(models_dir):
    from nlpserve.handlers import meta
    from nlpserve.runtime import registry

    before = set(registry.loaded_bundles())
    assert meta.handler(load_event("eventbridge_scheduled"), LocalContext())["status"] == "warm"
    assert set(registry.loaded_bundles()) == before


@pytest.mark.parametrize(
    "event",
    [
        load_event("s3_put"),
        load_event("sqs_s3_put"),
        {"version": "0", "source": "aws.s3", "detail-type": "Object Created", "detail": {}},
        {"source": "aws.events", "detail-type": "Something Else"},
        {"warmup": "yes please"},
        [1, 2, 3],
        "ping",
        None,
        42,
    ],
    ids=["s3", "sqs", "eventbridge-s3", "eventbridge-other", "warmup-not-true", "list", "string", "null", "number"],
)
def test_any_other_event_is_a_logged_400_not_an_exception(sentiment, event, caplog):
    status, body = call(sentiment, event)
    assert (status, body["error_type"]) == (400, "unsupported_event")
    assert "warm-up" in body["error"]
    assert any(r.levelname == "ERROR" and "unsupported event" in r.getMessage() for r in caplog.records)


# -- D2: malformed API Gateway events ------------------------------------------------------------------------


def v2(**changes):
    event = load_event("http_v2_sentiment")
    for key, value in changes.items():
        event[key] = value
    return event


def v1(**changes):
    event = load_event("rest_v1_sentiment")
    for key, value in changes.items():
        event[key] = value
    return event


def with_header(event, name, value):
    event = copy.deepcopy(event)
    event["headers"][name] = value
    return event


def without_context(event, *path):
    event = copy.deepcopy(event)
    node = event
    for key in path[:-1]:
        node = node[key]
    if path:
        node.pop(path[-1])
    else:
        event.pop("requestContext")
    return event


MALFORMED = {
    # the examples, v2 and v1
    "v2 invalid base64": (load_event("http_v2_bad_base64"), "body"),
    "v1 invalid base64": (v1(body="not base64 at all!", isBase64Encoded=True), "body"),
    "v2 null header value": (with_header(v2(), "accept", None), "header 'accept'"),
    "v1 null header value": (with_header(v1(), "Accept", None), "header 'accept'"),
    "v2 non-numeric x-forwarded-port": (with_header(v2(), "x-forwarded-port", "abc"), "x-forwarded-port"),
    "v1 non-numeric X-Forwarded-Port": (v1(multiValueHeaders={"X-Forwarded-Port": ["https"]}),
                                        "x-forwarded-port"),
    # the same kinds
    "v2 numeric header value": (with_header(v2(), "x-count", 3), "header 'x-count'"),
    "v2 list header value": (with_header(v2(), "accept", ["a", "b"]), "header 'accept'"),
    "v2 headers a list": (v2(headers=[["accept", "x"]]), "headers"),
    "v2 host with two colons": (with_header(v2(), "host", "a:b:c"), "header 'host'"),
    "v2 host with a word for a port": (with_header(v2(), "host", "example.com:https"), "header 'host'"),
    "v2 unknown scheme": (with_header(v2(), "x-forwarded-proto", "gopher"), "x-forwarded-proto"),
    "v2 rawQueryString a number": (v2(rawQueryString=5), "rawQueryString"),
    "v2 cookies a string": (v2(cookies="a=b"), "cookies"),
    "v2 body an object": (v2(body={"inputs": "hi"}), "body"),
    "v2 isBase64Encoded a string": (v2(isBase64Encoded="true"), "isBase64Encoded"),
    "v2 base64 with non-ASCII": (v2(body="ZXlK\u00e9", isBase64Encoded=True), "body"),
    "v2 no method anywhere": (without_context(v2(routeKey="$default"), "requestContext", "http", "method"),
                              "method"),
    "v2 no path anywhere": (without_context({k: v for k, v in v2().items() if k != "rawPath"},
                                            "requestContext", "http", "path"), "rawPath"),
    "v2 path without a slash": (without_context(v2(rawPath="v1/sentiment"), "requestContext", "http", "path"),
                                "rawPath"),
    "v2 requestContext a string": (v2(requestContext="prod"), "requestContext"),
    "v2 lone surrogate in a header": (with_header(v2(), "x-note", "cut \ud83d"), "header 'x-note'"),
    "v2 IPv6 literal host": (with_header(v2(), "host", "[::1]:443"), "header 'host'"),
    "v1 queryStringParameters a string": (v1(queryStringParameters="a=b"), "queryStringParameters"),
    "v1 null query value": (v1(queryStringParameters={"a": None}), "queryStringParameters 'a'"),
    "v1 numeric query value": (v1(queryStringParameters={"a": 1}), "queryStringParameters 'a'"),
    "v1 nested query value": (v1(queryStringParameters={"a": {"b": "c"}}), "queryStringParameters 'a'"),
    "v1 multi-value query not a list": (v1(multiValueQueryStringParameters={"a": "b"}),
                                        "multiValueQueryStringParameters 'a'"),
    "v1 multi-value header not a list": (v1(multiValueHeaders={"Accept": "x"}), "multiValueHeaders 'accept'"),
    "v1 identity a list": (v1(requestContext={"stage": "prod", "identity": ["203.0.113.10"]}),
                           "requestContext.identity"),
    "v1 no method": ({k: v for k, v in without_context(v1(), "requestContext", "httpMethod").items()
                      if k != "httpMethod"}, "httpMethod"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_api_event_is_a_400_naming_the_field(sentiment, name):
    event, field = MALFORMED[name]
    response = sentiment(event, LocalContext())
    status, body = call(sentiment, event)
    assert (status, body["error_type"]) == (400, "bad_request"), body
    assert body["error"].startswith("malformed API Gateway event") and field in body["error"], body
    if name.startswith("v1"):
        assert "multiValueHeaders" in response  # answered in the REST format


@pytest.mark.parametrize(
    "event",
    [
        v2(headers=None),  # the body is then read as JSON (no Content-Type)
        v2(rawQueryString=None),
        v2(cookies=None),
        v2(body=None, isBase64Encoded=None) | {"rawPath": "/health",
                                               "requestContext": {"http": {"method": "GET", "path": "/health"}}},
        without_context(v2(), "requestContext", "http", "sourceIp"),
        without_context(v2(), "requestContext", "stage"),
        without_context(v2(), "requestContext", "http"),  # method from routeKey "POST /v1/{task}", path rawPath
        without_context(v2()),
        load_event("rest_v1_console_test"),  # what the REST console's Test button sends: nulls everywhere
        v1(requestContext=None),
        without_context(v1(), "requestContext", "identity"),
        v1(multiValueHeaders={"X-Forwarded-Port": ["443", "443"]}),  # two proxies: "443, 443"
        v1(multiValueHeaders=None, multiValueQueryStringParameters=None, queryStringParameters={"a": "1"}),
        {k: v for k, v in v1().items() if k != "path"},  # requestContext.path "/prod/v1/sentiment" is used
    ],
    ids=["v2 headers null", "v2 rawQueryString null", "v2 cookies null", "v2 GET null body", "v2 no sourceIp",
         "v2 no stage", "v2 no requestContext.http", "v2 no requestContext", "v1 console test", "v1 context null",
         "v1 no identity", "v1 repeated port", "v1 plain query", "v1 only requestContext.path"],
)
def test_nulls_where_api_gateway_sends_nulls_are_none_not_errors(models_dir, event):
    from nlpserve.handlers import local

    status, body = call(local.handler, event)
    assert status == 200, body


def test_a_v2_event_with_only_a_route_key_and_raw_path_is_served(sentiment):
    event = {k: v for k, v in v2().items() if k != "requestContext"}
    event["routeKey"] = "POST /v1/sentiment"
    assert call(sentiment, event)[0] == 200


@pytest.mark.parametrize("fmt", ["v2", "v1"])
def test_the_body_limit_counts_the_decoded_bytes_in_the_adapter(sentiment, fmt):
    """The issue's example: a 1.28 MB body without Content-Length was processed."""
    body = json.dumps({"inputs": ["x" * 19_000] * 67}).encode()
    assert len(body) > config.settings.max_body_bytes
    for encoded in (False, True):
        event = v2() if fmt == "v2" else v1()
        event["body"] = base64.b64encode(body).decode() if encoded else body.decode()
        event["isBase64Encoded"] = encoded
        status, doc = call(sentiment, event)
        assert (status, doc["error_type"]) == (413, "payload_too_large")
        assert f"{config.settings.max_body_bytes} bytes" in doc["error"]


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "-1", "1e3", " 12 ", "abc", "99999999999999999999", ""])
def test_an_odd_content_length_never_breaks_the_body_check(sentiment, value):
    """The header is only a hint: the bytes received are what is counted."""
    status, body = call(sentiment, with_header(v2(), "content-length", value))
    expected = 413 if value.strip().isascii() and value.strip().isdigit() and int(value) > 10**6 else 200
    assert status == expected, body


def test_a_body_string_with_a_lone_surrogate_is_a_400_not_utf8(sentiment):
    status, body = call(sentiment, v2(body='{"inputs": "cut \ud83d"}'))
    assert (status, body["error_type"]) == (400, "bad_request") and "UTF-8" in body["error"]


def test_the_adapter_never_raises_even_on_its_own_bug(sentiment, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(_events, "prepare", broken)
    status, body = call(sentiment, v2())
    assert (status, body["error_type"]) == (500, "internal_error")
    assert any(r.levelname == "ERROR" and "unhandled error in the Lambda adapter" in r.getMessage()
               for r in caplog.records)


# -- D3: stage and base path ---------------------------------------------------------------------------------


def test_a_named_stage_in_the_path_is_stripped(sentiment):
    """The issue's example: /prod/v1/sentiment with requestContext.stage = "prod" was a 404."""
    status, body = call(sentiment, load_event("http_v2_named_stage"))
    assert status == 200 and body["results"][0]["label"]


def test_rest_v1_path_without_the_stage_is_kept(sentiment):
    event = v1()
    assert event["requestContext"]["stage"] == "prod" and event["path"] == "/v1/sentiment"
    assert call(sentiment, event)[0] == 200


@pytest.fixture(scope="module")
def is_route(sentiment):
    """The predicate the real handler strips stages with, asked of the real app's router."""
    return _api._route_matcher(sentiment.app)


def test_the_route_matcher_knows_every_route_of_the_real_app(is_route):
    """FastAPI 0.16x keeps included routers as path-less `_IncludedRouter`s: reading `route.path` found only
    docs/redoc/openapi.json, so `/v1/...` and `/health` were unknown and a stage named `v1` ate the route."""
    for path in ["/v1/sentiment", "/v1/similarity", "/v1/no-such-task", "/health", "/v1/models", "/docs", "/openapi.json"]:
        assert is_route(path), path
    for path in ["/", "/sentiment", "/prod/v1/sentiment", "/v1/v1/sentiment", "/v1/sentiment/", "/healthz"]:
        assert not is_route(path), path


def test_the_route_matcher_sees_routes_however_they_were_added():
    from fastapi import APIRouter, FastAPI
    from nlpserve.api.paths import is_routed
    from starlette.routing import Mount

    def endpoint() -> dict:
        return {}

    inner = APIRouter(prefix="/inner")
    inner.add_api_route("/leaf", endpoint, methods=["POST"])
    outer = APIRouter(prefix="/outer")
    outer.include_router(inner)
    app = FastAPI()
    app.include_router(outer)
    app.add_api_route("/plain", endpoint, methods=["GET"])
    app.router.routes.append(Mount("/static", app=lambda scope, receive, send: None))
    for path in ["/outer/inner/leaf", "/plain", "/static/x.css"]:
        assert is_routed(app, path), path
    for path in ["/outer", "/inner/leaf", "/leaf", "/plain/x"]:
        assert not is_routed(app, path), path


@pytest.mark.parametrize(
    "stage, path, routed",
    [
        ("prod", "/prod/v1/sentiment", "/v1/sentiment"),
        ("prod", "/prod", "/"),
        ("prod", "/production/v1/sentiment", "/production/v1/sentiment"),  # segment boundary
        ("$default", "/$default/v1/sentiment", "/$default/v1/sentiment"),
        ("v1", "/v1/v1/sentiment", "/v1/sentiment"),  # a stage named like a route
        ("v1", "/v1/sentiment", "/v1/sentiment"),  # ...is not stripped from the route itself
        ("v1", "/v1/health", "/health"),
        ("health", "/health", "/health"),
        ("health", "/health/health", "/health"),
        ("docs", "/docs", "/docs"),
        (None, "/prod/v1/sentiment", "/prod/v1/sentiment"),
        (7, "/7/v1/sentiment", "/7/v1/sentiment"),
    ],
)
def test_stage_stripping_rules(is_route, stage, path, routed):
    assert _events.strip_prefixes(path, stage, "", is_route) == routed


def _v2_at(path, stage, method="POST"):
    event = v2(rawPath=path)
    event["requestContext"].update(stage=stage, http={**event["requestContext"]["http"], "path": path, "method": method})
    if method == "GET":
        event["body"] = None
    return event


def _v1_at(path, stage, method="POST"):
    event = v1(path=path, httpMethod=method)
    event["requestContext"]["stage"] = stage
    if method == "GET":
        event["body"] = None
    return event


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_v1_at("/v1/sentiment", "v1"), id="REST stage v1"),
        pytest.param(_v1_at("/health", "health", "GET"), id="REST stage health GET /health"),
        pytest.param(_v1_at("/v1/sentiment", "health"), id="REST stage health POST /v1/sentiment"),
        pytest.param(_v2_at("/v1/sentiment", "v1"), id="HTTP API custom domain -> stage v1"),
        pytest.param(_v2_at("/health", "health", "GET"), id="HTTP API custom domain -> stage health"),
        pytest.param(_v2_at("/v1/v1/sentiment", "v1"), id="HTTP API named stage v1"),
        pytest.param(_v2_at("/health/health", "health", "GET"), id="HTTP API named stage health"),
    ],
)
def test_a_stage_named_like_a_route_is_served_through_the_real_handler(sentiment, event):
    """The break test: REST stage `v1` was a 404 "no route for POST /sentiment" on every request."""
    status, body = call(sentiment, event)
    assert status == 200, body
    assert body.get("results") or body.get("status") == "ok"


# -- D3b: exact paths, no redirects --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event, method, path",
    [
        pytest.param(_v2_at("/v1/sentiment/", "$default"), "POST", "/v1/sentiment", id="v2"),
        pytest.param(_v2_at("/prod/v1/sentiment/", "prod"), "POST", "/v1/sentiment", id="v2 named stage"),
        pytest.param(_v2_at("/health/", "$default", "GET"), "GET", "/health", id="v2 health"),
        pytest.param(_v1_at("/v1/sentiment/", "prod"), "POST", "/v1/sentiment", id="v1"),
        pytest.param(_v1_at("/health/", "prod", "GET"), "GET", "/health", id="v1 health"),
    ],
)
def test_a_trailing_slash_is_a_json_404_never_a_redirect(sentiment, event, method, path):
    """It was a 307 with an empty body and a Location without the stage (https://mangum:80/health)."""
    response = sentiment(event, LocalContext())
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    assert response["statusCode"] == 404 and "location" not in headers
    body = json.loads(response["body"])
    assert error_shape_problem(404, body) is None and body["error_type"] == "not_found"
    assert f"no route for {method} {path}/" in body["error"] and "trailing slash" in body["error"]


def test_a_trailing_slash_is_a_404_from_the_app_too(client):
    for method, path in [("POST", "/v1/sentiment/"), ("GET", "/health/"), ("GET", "/docs/"), ("GET", "/nope/")]:
        r = client.request(method, path, json={"inputs": "hi"}, follow_redirects=False)
        assert r.status_code == 404 and r.json()["error_type"] == "not_found", (path, r.text)
    assert client.post("/v1/sentiment", json={"inputs": "hi"}).status_code == 200


def test_nlp_api_base_path_is_removed_on_a_segment_boundary(models_dir, monkeypatch):
    from nlpserve.handlers._api import make_handler

    monkeypatch.setenv("NLP_API_BASE_PATH", "nlp/")
    handler = make_handler(["sentiment"])
    for path, expected in [("/nlp/v1/sentiment", 200), ("/nlpx/v1/sentiment", 404), ("/v1/sentiment", 200)]:
        event = v2(rawPath=path)
        event["requestContext"]["http"]["path"] = path
        assert call(handler, event)[0] == expected, path
    staged = v2(rawPath="/prod/nlp/v1/sentiment")
    staged["requestContext"].update(stage="prod", http={**staged["requestContext"]["http"],
                                                        "path": "/prod/nlp/v1/sentiment"})
    assert call(handler, staged)[0] == 200


@pytest.mark.parametrize("raw, normalised", [(None, ""), ("", ""), ("/", ""), ("nlp", "/nlp"), ("/a/b/", "/a/b")])
def test_base_path_setting_is_normalised(raw, normalised):
    assert _events.normalise_base_path(raw) == normalised


# -- D4: the HTTP contract -----------------------------------------------------------------------------------


def raw_post(client, body: bytes, content_type: str | None = "application/json", path="/v1/sentiment"):
    headers = {} if content_type is None else {"content-type": content_type}
    return client.post(path, content=body, headers=headers)


@pytest.mark.parametrize(
    "body, needle",
    [
        (b'{"inputs": "caf\xe9"}', "not valid UTF-8"),  # Latin-1
        ('{"inputs": "hi"}'.encode("utf-16"), "not valid UTF-8"),
        (b'{"inputs": "ok \xed\xa0\xbd"}', "not valid UTF-8"),  # an encoded surrogate (CESU-8)
        (b"[" * 5000 + b"]" * 5000, "deeper than 32 levels"),  # past Python's recursion limit
        (b'{"inputs": ' * 40 + b'"x"' + b"}" * 40, "deeper than 32 levels"),
        (b'{"inputs": "x", "parameters": {"min_score": NaN}}', "NaN"),
        (b'{"inputs": Infinity}', "Infinity"),
        (b'{"inputs": ["I love', "not valid JSON"),
        (b"", "empty"),
        (b"   \n", "empty"),
    ],
    ids=["latin-1", "utf-16", "cesu-8", "deep-array", "deep-object", "nan", "infinity", "truncated", "empty",
         "blank"],
)
def test_unreadable_bodies_are_400_bad_request_naming_the_problem(client, sentiment, body, needle):
    r = raw_post(client, body)
    assert (r.status_code, r.json()["error_type"]) == (400, "bad_request"), r.text
    assert needle in r.json()["error"]
    event = v2(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    status, doc = call(sentiment, event)
    assert (status, doc["error_type"], needle in doc["error"]) == (400, "bad_request", True)


def test_a_utf8_bom_is_skipped(client):
    assert raw_post(client, b'\xef\xbb\xbf{"inputs": "I love it"}').status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/json", "text/json", "application/json; charset=utf-8", "TEXT/JSON; charset=UTF-8",
     "application/vnd.api+json", "application/json; charset=latin-1"],
)
def test_every_json_content_type_is_read_as_json(client, sentiment, content_type):
    """The issue's examples: text/json and an empty Content-Type gave 422."""
    r = raw_post(client, b'{"inputs": "I love this movie"}', content_type)
    assert r.status_code == 200, r.text
    event = v2()
    if content_type is None:
        del event["headers"]["content-type"]
    else:
        event["headers"]["content-type"] = content_type
    assert call(sentiment, event)[0] == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml", "json"])
def test_other_content_types_are_415(client, content_type):
    r = raw_post(client, b'{"inputs": "hi"}', content_type)
    assert (r.status_code, r.json()["error_type"]) == (415, "unsupported_media_type")


def test_unknown_routes_are_404_whatever_the_body(client):
    r = raw_post(client, b"\xff not json", "text/plain", path="/v1/transcribe")
    assert (r.status_code, r.json()["error_type"]) == (404, "unknown_task")
    r = client.get("/v1/sentiment")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_the_body_limit_counts_bytes_read_without_a_content_length(client):
    """The issue's example: a 1.28 MB body without Content-Length was processed."""
    body = json.dumps({"inputs": ["x" * 19_000] * 67}).encode()

    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    r = client.post("/v1/sentiment", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert (r.status_code, r.json()["error_type"]) == (413, "payload_too_large")
    assert "1000000 bytes" in r.json()["error"]


STRICT = [
    ("classify", {"top_k": "3"}, "parameters.top_k"),  # the example
    ("classify", {"top_k": 3.0}, "parameters.top_k"),
    ("classify", {"top_k": True}, "parameters.top_k"),
    ("classify", {"labels": "greeting"}, "parameters.labels"),
    ("sentiment", {"return_all_scores": 0.0}, "parameters.return_all_scores"),  # the example
    ("sentiment", {"return_all_scores": 1}, "parameters.return_all_scores"),
    ("sentiment", {"return_all_scores": "true"}, "parameters.return_all_scores"),
    ("ner", {"min_score": "0.9"}, "parameters.min_score"),
    ("ner", {"entity_types": "EMAIL"}, "parameters.entity_types"),
    ("redact", {"mask_char": 7}, "parameters.mask_char"),
    ("redact", {"min_score": False}, "parameters.min_score"),
    ("summarize", {"sentences": "2"}, "parameters.sentences"),
    ("summarize", {"sentences": 2.0}, "parameters.sentences"),
    ("summarize", {"ratio": "0.5"}, "parameters.ratio"),
    ("embed", {"anything": 1}, "parameters.anything"),
]


@pytest.mark.parametrize("task, params, field", STRICT, ids=[f"{t}-{json.dumps(p)}" for t, p, _ in STRICT])
def test_parameters_are_strict_wrong_json_types_are_422_naming_the_field(client, task, params, field):
    text = "Contact Jane Doe at jane@example.com. She wrote twice. Nobody answered."
    r = client.post(f"/v1/{task}", json={"inputs": text, "parameters": params})
    assert (r.status_code, r.json()["error_type"]) == (422, "validation_error"), r.text
    assert r.json()["error"].startswith(field), r.json()


@pytest.mark.parametrize("task, params", [("ner", {"min_score": 1}), ("summarize", {"ratio": 1}),
                                          ("classify", {"top_k": 2}), ("sentiment", {"return_all_scores": False})])
def test_an_integer_where_a_number_is_expected_is_fine(client, task, params):
    text = "Contact Jane Doe at jane@example.com. She wrote twice. Nobody answered."
    assert client.post(f"/v1/{task}", json={"inputs": text, "parameters": params}).status_code == 200


@pytest.mark.parametrize("body, field", [({"source": 3, "targets": ["a"]}, "source"),
                                         ({"source": "a", "targets": "b"}, "targets"),
                                         ({"source": "a", "targets": ["b"], "top_k": 1}, "top_k")])
def test_the_similarity_body_is_strict_too(client, body, field):
    r = client.post("/v1/similarity", json=body)
    assert (r.status_code, r.json()["error_type"]) == (422, "validation_error")
    assert r.json()["error"].startswith(field)


def test_task_params_are_strict_from_every_entry_point():
    from nlpserve.tasks import TASKS

    for task in TASKS.values():
        assert task.Params.model_config.get("strict") is True, task.name


def test_every_error_type_in_the_code_is_in_the_readme_table():
    import nlpserve.errors as errors_module

    types = {(cls.status_code, cls.error_type) for cls in vars(errors_module).values()
             if isinstance(cls, type) and issubclass(cls, errors_module.NlpError)}
    missing = types - ERROR_TABLE
    assert not missing, f"error types missing from the README's table: {sorted(missing)}"


# -- D4b: every error body is small, whatever the request --------------------------------------------------

MAX_ERROR_BODY = 64_000  # far under Lambda's 6 MB response limit


def _unknown_keys(n, width=1):
    return ",".join(f'"k{i:0{width}d}":0' for i in range(n))


def _small_error(response):
    """The answer is an error in the one shape, under MAX_ERROR_BODY bytes, with at most 20 details."""
    status, raw = response["statusCode"], response["body"]
    assert 400 <= status < 500, raw[:300]
    assert len(raw.encode("utf-8")) < MAX_ERROR_BODY, (status, len(raw), raw[:300])
    body = json.loads(raw)
    assert error_shape_problem(status, body) is None, raw[:300]
    assert len(body.get("details", [])) <= 20
    return status, body


# The break test's bodies (978,907 bytes of 90,000 unknown fields gave an 8.1 MB 422; 9.3 MB under parameters).
BIG_BODIES = {
    "90k unknown top-level keys": ("/v1/sentiment", '{"inputs": "hi", ' + _unknown_keys(90_000) + "}"),
    "90k unknown parameters": ("/v1/sentiment", '{"inputs": "hi", "parameters": {' + _unknown_keys(90_000) + "}}"),
    "similarity 90k unknown keys": (
        "/v1/similarity", '{"source": "a", "targets": [' + ",".join(['"b"'] * 64) + "], " + _unknown_keys(90_000) + "}"
    ),
    "one 990 kB key": ("/v1/sentiment", '{"inputs": "hi", "' + "k" * 990_000 + '": 0}'),
    "a 990 kB wrong-typed value": ("/v1/sentiment", '{"inputs": "hi", "parameters": {"return_all_scores": "' + "x" * 990_000 + '"}}'),
    "64 ints": ("/v1/sentiment", '{"inputs": [' + ",".join(["1"] * 64) + "]}"),
}


@pytest.mark.parametrize("name", list(BIG_BODIES))
def test_a_validation_error_answer_is_bounded(sentiment, name):
    path, raw = BIG_BODIES[name]
    assert len(raw.encode()) <= config.settings.max_body_bytes
    handler = sentiment if path == "/v1/sentiment" else _api.make_handler(["embed"], warm=False)
    status, body = _small_error(handler(_v2_at(path, "$default") | {"body": raw}, LocalContext()))
    assert (status, body["error_type"]) == (422, "validation_error")
    if "90k" in name:
        assert len(body["details"]) == 20 and "(and 89980 more; details lists the first 20)" in body["error"]
        assert body["details"][0]["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_v2_at("/v1/" + "x" * 900_000, "$default"), id="long unknown task"),
        pytest.param(_v2_at("/" + "x" * 900_000, "$default", "GET"), id="long unknown route"),
        pytest.param(_v2_at("/v1/sentiment", "$default", "P" * 900_000), id="long method"),
        pytest.param(v2(headers={"x-" + "h" * 900_000: None}), id="long header name"),
        pytest.param({"x" * 1000 + str(i): i for i in range(50)}, id="unknown event, long keys"),
    ],
)
def test_an_error_echoing_the_event_is_bounded(sentiment, event):
    _small_error(sentiment(event, LocalContext()))


def test_error_body_caps_details_and_echoed_values():
    from nlpserve.api.errors import error_body

    body = error_body("m" * 5000, "validation_error", [{"loc": ["body", "k" * 10_000], "msg": "x"}] * 30)
    assert len(body["details"]) == 20 and body["error"].endswith("(and 10 more; details lists the first 20)")
    assert len(body["error"]) < 1200 and len(body["details"][0]["loc"][1]) < 250
    assert error_body("m", "not_found") == {"error": "m", "error_type": "not_found"}
    # nested and long containers are shortened; the body always fits the byte budget
    deep = {"a": [[[[["z" * 500] * 100] * 100]]]}
    huge = error_body("m", "bad_request", [deep] * 20)
    assert len(json.dumps(huge).encode()) < MAX_ERROR_BODY


@st.composite
def _oversized_error_body(draw):
    """A body up to the byte limit built to make the validation answer as large as it can."""
    limit = config.settings.max_body_bytes
    where = draw(st.sampled_from(["top", "parameters", "inputs", "labels"]))
    width = draw(st.integers(1, 2000))  # key / value length: many short ones or few long ones
    room = limit - 200
    count = max(1, min(room // (width + 8), 120_000))
    if where == "inputs":
        items = ",".join([str(10 ** min(width, 300))] * min(count, 64))
        return '{"inputs": [' + items + "]}"
    keys = ",".join(f'"{i:0{width}d}":0' for i in range(count))
    if where == "top":
        return '{"inputs": "hi", ' + keys + "}"
    if where == "parameters":
        return '{"inputs": "hi", "parameters": {' + keys + "}}"
    each = ",".join(f'"{i:0{width}d}":0' for i in range(max(1, count // 64)))
    return '{"inputs": "hi", "parameters": {"labels": [' + ",".join(["{" + each + "}"] * 64) + "]}}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=_oversized_error_body())
def test_property_any_error_body_is_small_for_bodies_up_to_the_limit(sentiment, raw):
    assume(len(raw.encode()) <= config.settings.max_body_bytes)
    _small_error(sentiment(_v2_at("/v1/sentiment", "$default") | {"body": raw}, LocalContext()))
