"""The HTTP API as a client sees it: real models behind FastAPI, and the same app through Mangum events."""

import base64
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nlpserve.api import create_app
from nlpserve.lambda_context import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture(scope="module")
def client(models_dir):
    return TestClient(create_app())


def post(client, task, body, **kw):
    return client.post(f"/v1/{task}", json=body, **kw)


# -- every task answers what a user would expect ---------------------------------------------------------


def test_sentiment_gives_opposite_labels_to_praise_and_complaint(client):
    r = post(client, "sentiment", {"inputs": ["I love this movie", "This was a terrible waste of time"]})
    assert r.status_code == 200, r.text
    labels = [x["label"] for x in r.json()["results"]]
    assert labels == ["positive", "negative"]
    assert float(r.headers["x-compute-time"]) > 0


def test_sentiment_all_scores_are_a_distribution(client):
    r = post(client, "sentiment", {"inputs": "The parcel arrived on Tuesday.", "parameters": {"return_all_scores": True}})
    scores = r.json()["results"][0]["scores"]
    assert set(scores) == {"negative", "neutral", "positive"}
    assert abs(sum(scores.values()) - 1) < 1e-3


def test_classify_routes_a_request_for_a_human(client):
    r = post(client, "classify", {"inputs": "connect me to a person", "parameters": {"top_k": 3}})
    result = r.json()["results"][0]
    assert result["label"] == "connect_to_human"
    assert len(result["top_k"]) == 3 and result["top_k"][0]["score"] >= result["top_k"][1]["score"]


def test_classify_can_restrict_to_the_labels_an_app_handles(client):
    allowed = ["escalate_issue", "urgent_attention_required", "general_customer_support"]
    r = post(client, "classify", {"inputs": "my card was stolen, block it right now!", "parameters": {"labels": allowed}})
    assert r.json()["results"][0]["label"] in allowed
    bad = post(client, "classify", {"inputs": "hi", "parameters": {"labels": ["no_such_intent"]}})
    assert bad.status_code == 422 and "no_such_intent" in bad.json()["error"]


def test_ner_finds_personal_data_with_exact_offsets(client):
    text = "Hi, I'm Jane Doe. Email jane.doe@example.com or call 415-555-0100. I live at 42 Main Street, Springfield, IL 62704."
    r = post(client, "ner", {"inputs": text})
    entities = r.json()["results"][0]["entities"]
    for e in entities:
        assert text[e["start"]:e["end"]] == e["text"]
    by_type = {e["type"]: e["text"] for e in entities}
    assert by_type["EMAIL"] == "jane.doe@example.com"
    assert by_type["PHONE"] == "415-555-0100"
    assert by_type["GIVEN_NAME"] == "Jane"
    assert by_type["CITY"] == "Springfield" and by_type["ZIP_CODE"] == "62704"


def test_ner_filters_entity_types_and_rejects_unknown_ones(client):
    text = "Mail jane.doe@example.com, phone 415-555-0100."
    r = post(client, "ner", {"inputs": text, "parameters": {"entity_types": ["email"]}})
    assert [e["type"] for e in r.json()["results"][0]["entities"]] == ["EMAIL"]
    bad = post(client, "ner", {"inputs": text, "parameters": {"entity_types": ["SHOE_SIZE"]}})
    assert bad.status_code == 422 and bad.json()["error_type"] == "validation_error"


def test_redact_masks_every_entity_and_keeps_offsets_consistent(client):
    text = "Contact Maria Garcia at maria.garcia@example.org or (212) 555-7890."
    r = post(client, "redact", {"inputs": text, "parameters": {"mask": "type"}})
    result = r.json()["results"][0]
    assert "maria.garcia@example.org" not in result["text"] and "555-7890" not in result["text"]
    assert "[EMAIL]" in result["text"] and "[PHONE]" in result["text"]
    for e in result["entities"]:
        assert text[e["start"]:e["end"]] == e["text"]
        assert result["text"][e["redacted_start"]:e["redacted_end"]] == f"[{e['type']}]"
    chars = post(client, "redact", {"inputs": text, "parameters": {"mask": "char"}}).json()["results"][0]["text"]
    assert len(chars) == len(text)


def test_embeddings_rank_paraphrases_above_unrelated_sentences(client):
    r = post(client, "embed", {"inputs": ["A man is eating food.", "Someone is having a meal.", "The stock market fell sharply."]})
    vectors = [x["embedding"] for x in r.json()["results"]]
    assert all(len(v) == 384 for v in vectors)
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))
    assert abs(dot(vectors[0], vectors[0]) - 1) < 1e-3
    assert dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2]) + 0.3


def test_similarity_scores_each_target(client):
    r = client.post("/v1/similarity", json={"source": "How do I reset my password?",
                                            "targets": ["I forgot my password", "Nice weather today"]})
    assert r.status_code == 200, r.text
    paraphrase, unrelated = r.json()["scores"]
    assert paraphrase > 0.5 > unrelated


ARTICLE = [
    "The city of Riverton opened its first public library in 1911.",
    "For decades it was housed in a small brick building near the river.",
    "In 2019 the council voted to build a new central library.",
    "Construction began in the spring of 2021 after two years of planning.",
    "The new library cost 42 million dollars, paid by a bond measure.",
    "It has three floors, a rooftop garden and a makerspace.",
    "The children's wing includes a reading room shaped like a ship.",
    "Local artists painted murals on the walls of the main stairway.",
    "The library opened to the public last Saturday.",
    "More than eight thousand visitors came on the first day.",
    "Many waited in line for over an hour before the doors opened.",
    "The mayor cut the ribbon and thanked the voters who approved the bond.",
    "Librarians issued two thousand new library cards that weekend.",
    "The old building will become a museum of local history.",
    "Some residents worried about parking near the new site.",
    "The city added a bus line that stops at the library entrance.",
    "Opening hours were extended to nine in the evening on weekdays.",
    "The library also lends laptops and wifi hotspots to students.",
    "Officials expect half a million visits in the first year.",
    "The architects said the design was inspired by the river nearby.",
]


def test_summary_of_a_20_sentence_article_is_3_sentences_in_document_order(client):
    r = post(client, "summarize", {"inputs": " ".join(ARTICLE), "parameters": {"sentences": 3}})
    result = r.json()["results"][0]
    assert result["total_sentences"] == 20
    picked = result["sentences"]
    assert len(picked) == 3
    assert [s["index"] for s in picked] == sorted(s["index"] for s in picked)
    assert all(s["text"] == ARTICLE[s["index"]] for s in picked)
    ratio = post(client, "summarize", {"inputs": " ".join(ARTICLE), "parameters": {"ratio": 0.25}}).json()
    assert len(ratio["results"][0]["sentences"]) == 5


def test_models_endpoint_lists_source_licence_and_quality(client):
    models = client.get("/v1/models").json()["models"]
    by_task = {m["task"]: m for m in models}
    assert {"sentiment", "classify", "ner", "redact", "embed", "summarize"} <= set(by_task)
    assert by_task["ner"]["source"]["license"].upper().startswith("CC-BY-4.0")
    assert by_task["sentiment"]["quality"]


def test_openapi_and_docs_are_served(client):
    spec = client.get("/openapi.json").json()
    assert "/v1/sentiment" in spec["paths"] and "/v1/similarity" in spec["paths"]
    assert client.get("/docs").status_code == 200


# -- bad input: a 4xx with one JSON shape, never a 5xx ----------------------------------------------------


@pytest.mark.parametrize(
    "body, status, error_type",
    [
        ({"inputs": ""}, 400, "empty_input"),
        ({"inputs": ["fine", "   \n"]}, 400, "empty_input"),
        ({"inputs": []}, 400, "empty_input"),
        ({"inputs": ["fine", 42]}, 422, "validation_error"),
        ({"inputs": None}, 422, "validation_error"),
        ({"text": "wrong field"}, 422, "validation_error"),
        ({"inputs": "ok", "parameters": {"no_such_option": 1}}, 422, "validation_error"),
        ({"inputs": ["x"] * 65}, 413, "too_many_items"),
        ({"inputs": "é" * 10_001}, 413, "text_too_long"),
    ],
)
def test_bad_input_gets_a_clear_4xx(client, body, status, error_type):
    r = post(client, "sentiment", body)
    assert r.status_code == status, r.text
    assert r.json()["error_type"] == error_type and r.json()["error"]


def test_invalid_json_and_wrong_content_type_are_rejected(client):
    r = client.post("/v1/sentiment", content=b'{"inputs": ["I love', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error_type"] == "bad_request"
    r = client.post("/v1/sentiment", content=b"inputs=hello", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.json()["error_type"] == "unsupported_media_type"


def test_unknown_task_route_and_method_are_json_errors(client):
    r = post(client, "transcribe", {"inputs": "hola"})
    assert r.status_code == 404 and r.json()["error_type"] == "unknown_task" and "sentiment" in r.json()["error"]
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error_type"] == "not_found"
    r = client.get("/v1/sentiment")
    assert r.status_code == 405 and r.json()["error_type"] == "method_not_allowed"


def test_a_function_rejects_tasks_it_does_not_serve(models_dir):
    only = TestClient(create_app(["sentiment"]))
    r = only.post("/v1/ner", json={"inputs": "Jane"})
    assert r.status_code == 404 and "not served here" in r.json()["error"]


# -- the Lambda path: API Gateway events through Mangum into the same app ----------------------------------


def load_event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def local_handler(models_dir):
    from nlpserve.handlers.local import handler

    return handler


@pytest.mark.parametrize("task", ["sentiment", "classify", "ner", "redact", "embed", "similarity", "summarize"])
def test_http_api_v2_event_for_every_task(local_handler, task):
    response = local_handler(load_event(f"http_v2_{task}"), LocalContext())
    assert response["statusCode"] == 200, response["body"]
    body = json.loads(response["body"])
    assert body.get("results") or body.get("scores")


def test_rest_api_v1_event(local_handler):
    response = local_handler(load_event("rest_v1_sentiment"), LocalContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["results"][0]["label"] == "negative"


def test_base64_encoded_body_is_decoded(local_handler):
    event = load_event("http_v2_sentiment_base64")
    assert base64.b64decode(event["body"])  # really base64 on the wire
    response = local_handler(event, LocalContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["results"][0]["label"] == "positive"


def test_invalid_json_event_is_a_400_not_a_crash(local_handler):
    response = local_handler(load_event("http_v2_invalid_json"), LocalContext())
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error_type"] == "bad_request"


def test_per_task_handlers_serve_only_their_tasks(models_dir):
    from nlpserve.handlers import ner

    event = load_event("http_v2_redact")
    assert ner.handler(event, LocalContext())["statusCode"] == 200
    wrong = load_event("http_v2_sentiment")
    assert ner.handler(wrong, LocalContext())["statusCode"] == 404


def test_health_event(local_handler):
    response = local_handler(load_event("http_v2_health"), LocalContext())
    body = json.loads(response["body"])
    assert response["statusCode"] == 200 and body["status"] == "ok" and "sentiment" in body["tasks"]


def test_a_text_gets_the_same_scores_alone_and_in_a_batch(client):
    """int8 activations are quantised per token, so batch mates (and their padding) never change a result."""
    text = "The delivery was late but the support agent sorted it out quickly."
    others = [f"Filler sentence number {i} about {'a long and winding topic ' * (i % 5)}." for i in range(30)]
    alone = post(client, "sentiment", {"inputs": text, "parameters": {"return_all_scores": True}}).json()
    mixed = post(client, "sentiment", {"inputs": others[:15] + [text] + others[15:], "parameters": {"return_all_scores": True}}).json()
    a, b = alone["results"][0]["scores"], mixed["results"][15]["scores"]
    assert all(abs(a[k] - b[k]) < 1e-5 for k in a), (a, b)
    emb_alone = post(client, "embed", {"inputs": text}).json()["results"][0]["embedding"]
    emb_mixed = post(client, "embed", {"inputs": others + [text]}).json()["results"][-1]["embedding"]
    assert max(abs(x - y) for x, y in zip(emb_alone, emb_mixed)) < 1e-5


def test_committed_openapi_document_matches_the_app():
    """docs/openapi.json is what `nlpserve openapi` generates; regenerate it when the API changes."""
    from nlpserve.tasks import TASKS

    committed = json.loads((EVENTS.parent / "docs" / "openapi.json").read_text())
    assert create_app(list(TASKS), warm=False).openapi() == committed


def test_body_over_the_byte_limit_is_413_before_it_is_parsed(client, monkeypatch):
    from nlpserve import config

    monkeypatch.setattr(config, "settings", config.Settings(max_body_bytes=200))
    r = post(client, "sentiment", {"inputs": "x" * 300})
    assert r.status_code == 413 and r.json()["error_type"] == "payload_too_large"
    assert "200 bytes" in r.json()["error"]


def test_missing_content_type_is_read_as_json(client):
    r = client.post("/v1/sentiment", content=b'{"inputs": "I love this movie"}')
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["label"] == "positive"


def test_summary_length_is_sentences_or_ratio_not_both(client):
    r = post(client, "summarize", {"inputs": " ".join(ARTICLE), "parameters": {"sentences": 2, "ratio": 0.5}})
    assert r.status_code == 422 and "either sentences or ratio" in r.json()["error"]


def test_similarity_rejects_non_string_targets(client):
    r = client.post("/v1/similarity", json={"source": "hello", "targets": ["hi", 3]})
    assert r.status_code == 422 and "item 1 is int" in r.json()["error"]
    r = client.post("/v1/similarity", json={"source": "hello", "targets": ["hi", "  "]})
    assert r.status_code == 400 and r.json()["error_type"] == "empty_input"


def test_task_whose_model_is_not_deployed_is_503(tmp_path, monkeypatch):
    from nlpserve import config, tasks
    from nlpserve.runtime import registry

    monkeypatch.setattr(config, "settings", config.Settings(models_dir=tmp_path))
    monkeypatch.setattr(registry, "_cache", {})
    monkeypatch.setattr(tasks, "_instances", {})
    r = TestClient(create_app(["sentiment"], warm=False)).post("/v1/sentiment", json={"inputs": "hello"})
    assert r.status_code == 503 and r.json()["error_type"] == "model_unavailable"
    assert "build it with" in json.dumps(r.json()["details"])
