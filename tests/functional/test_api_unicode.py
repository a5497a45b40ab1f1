"""Unicode that cannot be scored is rejected clearly, on every route and through the real Lambda handlers.

- A lone surrogate (JSON ``"\\ud83d"``: half an emoji, not valid Unicode) is a 422 ``validation_error``
  naming the item and the character position, in texts, similarity source/targets and string parameters.
- A text of invisible characters only (zero-width spaces, BOM, bidi marks, NBSP, Hangul filler...) is a
  400 ``empty_input``, never scored.
"""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from nlpserve.api import create_app
from nlpserve.errors import EmptyInput, InvalidInput
from nlpserve.lambda_context import LocalContext
from nlpserve.tasks import get_task
from pydantic import ValidationError

EVENTS = Path(__file__).resolve().parents[2] / "events"
TASKS = ["sentiment", "classify", "ner", "redact", "embed", "summarize"]
HANDLERS = {  # route -> the Lambda entry point that serves it in the deployed stack
    "sentiment": "sentiment", "classify": "classify", "ner": "ner", "redact": "ner",
    "embed": "embed", "similarity": "embed", "summarize": "summarize",
}
INVISIBLE = [
    "\u200b\u200b\u200b",  # zero-width spaces
    "\ufeff",  # BOM
    "\u200e\u200f\u202a\u202c",  # bidi marks and embeddings
    "\u00a0\u2009\u202f\u3000",  # no-break, thin, narrow no-break and ideographic spaces
    "\u3164\u115f",  # Hangul fillers
    " \u200d\t\u2060\u00ad ",  # joiner, word joiner, soft hyphen between spaces
]


@pytest.fixture(scope="module")
def client(models_dir):
    return TestClient(create_app(), raise_server_exceptions=False)


def post(client, path, body):
    # json.dumps escapes a lone surrogate as \ud83d, exactly what a JavaScript or Java client sends
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def assert_surrogate_422(response, position=9, code="U+D83D"):
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_type"] == "validation_error"
    assert code in body["error"] and f"character {position}" in body["error"] and "surrogate" in body["error"]
    return body


# -- lone surrogates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_lone_surrogate_in_a_text_is_422_naming_item_and_position(client, task):
    body = assert_surrogate_422(post(client, f"/v1/{task}", {"inputs": "loved it \ud83d"}))
    assert body["error"].startswith("item 0 has an unpaired surrogate U+D83D at character 9")
    assert body["details"] == [{"index": 0, "position": 9}]


@pytest.mark.parametrize("task", TASKS)
def test_lone_surrogate_later_in_a_list_names_that_item(client, task):
    r = post(client, f"/v1/{task}", {"inputs": ["fine text", "also fine", "\udc00 low half first"]})
    body = assert_surrogate_422(r, position=0, code="U+DC00")
    assert body["details"] == [{"index": 2, "position": 0}] and "item 2" in body["error"]


def test_paired_surrogates_are_one_emoji_and_score_normally(client):
    r = post(client, "/v1/sentiment", {"inputs": "loved it \ud83d\ude00"})  # JSON pair -> one emoji
    assert r.status_code == 200, r.text


def test_lone_surrogate_in_similarity_source_or_targets(client):
    body = assert_surrogate_422(post(client, "/v1/similarity", {"source": "loved it \ud83d", "targets": ["ok"]}))
    assert body["error"].startswith("source has an unpaired surrogate") and body["details"][0]["field"] == "source"
    r = post(client, "/v1/similarity", {"source": "ok", "targets": ["fine", "loved it \ud83d"]})
    body = assert_surrogate_422(r)
    assert body["error"].startswith("targets item 1 has")
    assert body["details"] == [{"field": "targets", "index": 1, "position": 9}]


@pytest.mark.parametrize(
    "task, parameters, where, code, position",
    [
        ("ner", {"entity_types": ["EMAIL", "PHONE\ud83d"]}, "item 1", "U+D83D", 5),
        ("redact", {"entity_types": ["\udfff"]}, "item 0", "U+DFFF", 0),
        ("classify", {"labels": ["connect_to_human", "x\ud83d"]}, "item 1", "U+D83D", 1),
        ("redact", {"mask": "char", "mask_char": "\ud83d"}, "value", "U+D83D", 0),
        ("redact", {"mask": "fixed", "fixed_text": "[\ud83d]"}, "value", "U+D83D", 1),
    ],
)
def test_lone_surrogate_in_string_parameters_is_422(client, task, parameters, where, code, position):
    r = post(client, f"/v1/{task}", {"inputs": "Mail jane@example.com", "parameters": parameters})
    body = assert_surrogate_422(r, position=position, code=code)
    assert f"{where} has an unpaired surrogate {code} at character {position}" in body["error"]


def test_batch_and_cli_get_the_same_checks_from_task_validate(models_dir):
    task = get_task("sentiment")
    with pytest.raises(InvalidInput) as err:
        task.run(["ok", "loved it \ud83d"])
    assert err.value.details == [{"index": 1, "position": 9}]
    with pytest.raises(EmptyInput):
        task.run(["ok", "\u200b\ufeff"])
    with pytest.raises(ValidationError, match="item 0 has an unpaired surrogate U\\+D83D at character 5"):
        get_task("ner").Params(entity_types=["EMAIL\ud83d"])


# -- invisible-only texts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("text", INVISIBLE)
def test_text_of_invisible_characters_only_is_empty_input(client, task, text):
    r = post(client, f"/v1/{task}", {"inputs": ["fine", text]})
    assert r.status_code == 400, r.text
    assert r.json()["error_type"] == "empty_input" and r.json()["details"] == [{"index": 1}]


def test_invisible_similarity_source_or_target_is_empty_input(client):
    r = post(client, "/v1/similarity", {"source": "\u200b", "targets": ["fine"]})
    assert r.status_code == 400 and r.json()["error_type"] == "empty_input"
    r = post(client, "/v1/similarity", {"source": "fine", "targets": ["ok", "\ufeff\u200e"]})
    assert r.status_code == 400 and r.json()["details"] == [{"field": "targets", "index": 1}]


def test_visible_text_wrapped_in_invisible_characters_is_still_scored(client):
    r = post(client, "/v1/sentiment", {"inputs": "\ufeff\u200bI love this movie\u200b"})
    assert r.status_code == 200 and r.json()["results"][0]["label"] == "positive"


# -- the same through the real Lambda handlers (API Gateway HTTP API v2 events) -----------------------------


def event_for(route, body):
    template = "similarity" if route == "similarity" else route
    event = json.loads((EVENTS / f"http_v2_{template}.json").read_text())
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    return event


@pytest.fixture(scope="module")
def handlers(models_dir):
    import importlib

    return {name: importlib.import_module(f"nlpserve.handlers.{name}").handler for name in set(HANDLERS.values())}


def invoke(handlers, route, body):
    response = handlers[HANDLERS[route]](event_for(route, body), LocalContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("route", TASKS + ["similarity"])
def test_lambda_handlers_reject_a_lone_surrogate_with_422(handlers, route):
    body = {"source": "ok", "targets": ["loved it \ud83d"]} if route == "similarity" else {"inputs": "loved it \ud83d"}
    status, payload = invoke(handlers, route, body)
    assert status == 422, payload
    assert payload["error_type"] == "validation_error" and "U+D83D at character 9" in payload["error"]
    assert payload["details"][0]["index"] == 0 and payload["details"][0]["position"] == 9


@pytest.mark.parametrize("route", TASKS + ["similarity"])
def test_lambda_handlers_reject_invisible_only_text_as_empty(handlers, route):
    body = {"source": "ok", "targets": ["\u200b\u3164"]} if route == "similarity" else {"inputs": "\u200b\u3164"}
    status, payload = invoke(handlers, route, body)
    assert status == 400 and payload["error_type"] == "empty_input", payload


@pytest.mark.parametrize(
    "route, parameters",
    [("ner", {"entity_types": ["EMAIL\ud83d"]}), ("classify", {"labels": ["\ud83d"]}), ("redact", {"mask_char": "\udc00"})],
)
def test_lambda_handlers_reject_a_lone_surrogate_in_parameters(handlers, route, parameters):
    status, payload = invoke(handlers, route, {"inputs": "Mail jane@example.com", "parameters": parameters})
    assert status == 422 and payload["error_type"] == "validation_error" and "surrogate" in payload["error"], payload
