"""Issue 10, part 3: general named entities (POST /v1/entities), a token classifier distilled from spaCy's
en_core_web_sm, through the Lambda handler, the S3 batch path (moto) and the CLI, on the real bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nlpserve.lambda_context import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
NEWS = "Northwind Bank opened an office in Lagos on Monday, hiring 40 engineers for $2 million."
CONTACT = "Jane Doe from Northwind Bank wrote to jane.doe@example.com from Lagos on Monday."


def _event(body: dict[str, Any]) -> dict[str, Any]:
    event = json.loads((EVENTS / "http_v2_entities.json").read_text())
    event["body"] = json.dumps(body)
    return event


@pytest.fixture(scope="module")
def handler(models_dir):
    from nlpserve.handlers import entities

    return entities.handler


def _call(handler, body):
    response = handler(_event(body), LocalContext())
    return response["statusCode"], json.loads(response["body"])


def test_the_entities_function_finds_general_entities_with_exact_offsets(handler):
    status, body = _call(handler, {"inputs": [NEWS, "thanks, see you soon"]})
    assert status == 200 and body["task"] == "entities" and body["model"]["name"] == "entities"
    found = {(e["type"], e["text"]) for e in body["results"][0]["entities"]}
    assert {("GPE", "Lagos"), ("DATE", "Monday"), ("MONEY", "$2 million")} <= found
    assert any(t == "ORG" and "Northwind" in x for t, x in found)
    for e in body["results"][0]["entities"]:
        assert NEWS[e["start"] : e["end"]] == e["text"] and 0 < e["score"] <= 1
    assert body["results"][1]["entities"] == []


def test_a_long_document_is_read_in_windows_and_keeps_offsets(handler):
    filler = "The committee discussed the agenda at length and agreed to meet again. " * 60
    text = filler + NEWS
    status, body = _call(handler, {"inputs": text})
    result = body["results"][0]
    assert status == 200 and result["windows"] > 1
    lagos = [e for e in result["entities"] if e["text"] == "Lagos"]
    assert lagos and text[lagos[0]["start"] : lagos[0]["end"]] == "Lagos" and lagos[0]["start"] > len(filler)


def test_types_filter_and_unknown_types(handler):
    status, body = _call(handler, {"inputs": NEWS, "parameters": {"types": ["GPE"]}})
    assert status == 200 and {e["type"] for e in body["results"][0]["entities"]} == {"GPE"}
    status, body = _call(handler, {"inputs": NEWS, "parameters": {"types": ["CITY"]}})
    assert status == 422 and "CITY" in body["error"] and "GPE" in body["error"]


def test_batch_scores_entities_files(batch_env, models_dir):
    from functional.test_batch_pipeline import make_handler

    lines = [{"id": "a", "text": NEWS}, {"id": "b", "text": "Maria Keller flew to Toronto on Friday."}]
    batch_env.put("incoming/entities/news.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    batch_env.drain(make_handler(batch_env))
    rows = {r["id"]: r for r in batch_env.jsonl("results/entities/news.jsonl")}
    assert {"PERSON", "GPE"} <= {e["type"] for e in rows["b"]["entities"]}
    # personal data merged on request, through the file's params
    batch_env.put("incoming/entities/contact.jsonl", json.dumps({"id": "c", "text": CONTACT}) + "\n",
                  Metadata={"params": json.dumps({"include_personal_data": True})})
    batch_env.drain(make_handler(batch_env))
    (row,) = batch_env.jsonl("results/entities/contact.jsonl")
    assert {"personal_data", "general"} == {e["category"] for e in row["entities"]}
    # a whole document (break test: docs/ was scored line by line, offsets per line)
    doc = "\n".join([NEWS] * 3)
    batch_env.put("incoming/entities/docs/d.txt", doc)
    batch_env.drain(make_handler(batch_env))
    report = json.loads(batch_env.get("results/entities/docs/d.txt.entities.json"))
    lagos = [e for e in report["entities"] if doc[e["start"] : e["end"]] == "Lagos"]  # text left out by default
    assert [e["start"] for e in lagos] == [k * (len(NEWS) + 1) + NEWS.index("Lagos") for k in range(3)]
    # an unknown type fails the file once as bad_params (break test: every record failed one by one)
    batch_env.put("incoming/entities/city.jsonl", json.dumps({"id": "c", "text": NEWS}) + "\n",
                  Metadata={"params": json.dumps({"types": ["CITY"]})})
    batch_env.drain(make_handler(batch_env))
    summary = json.loads(batch_env.get("results/entities/city.jsonl.summary.json"))
    assert summary["status"] == "failed" and summary["file_errors"][0]["reason"] == "bad_params"
    assert "CITY" in summary["file_errors"][0]["message"]


def test_the_cli_predicts_entities(models_dir):
    from nlpserve.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["predict", "entities", NEWS, "-p", 'types=["GPE","DATE"]'])
    assert result.exit_code == 0, result.output
    assert {e["type"] for e in json.loads(result.output)[0]["entities"]} == {"GPE", "DATE"}



def test_the_sample_event_is_served(handler):
    response = handler(json.loads((EVENTS / "http_v2_entities.json").read_text()), LocalContext())
    body = json.loads(response["body"])
    found = {(e["category"], e["type"]) for e in body["results"][0]["entities"]}
    assert response["statusCode"] == 200 and {("personal_data", "EMAIL"), ("general", "GPE")} <= found


def test_personal_data_is_merged_on_request(handler):
    status, body = _call(handler, {"inputs": CONTACT})
    assert status == 200 and {e["category"] for e in body["results"][0]["entities"]} == {"general"}
    status, body = _call(handler, {"inputs": CONTACT, "parameters": {"include_personal_data": True}})
    entities = body["results"][0]["entities"]
    assert status == 200
    found = {(e["category"], e["type"], e["text"]) for e in entities}
    assert {("personal_data", "EMAIL", "jane.doe@example.com"), ("general", "GPE", "Lagos")} <= found
    assert any(c == "personal_data" and t in ("GIVEN_NAME", "SURNAME") for c, t, _ in found)
    # in text order, exact offsets, and nothing general left inside the e-mail address
    assert [e["start"] for e in entities] == sorted(e["start"] for e in entities)
    for e in entities:
        assert CONTACT[e["start"] : e["end"]] == e["text"]
    email = CONTACT.index("jane.doe@")
    assert not [e for e in entities if e["category"] == "general" and email <= e["start"] < email + 20]


def test_the_cli_merges_personal_data(models_dir):
    from nlpserve.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["predict", "entities", CONTACT, "-p", "include_personal_data=true"])
    assert result.exit_code == 0, result.output
    assert "EMAIL" in {e["type"] for e in json.loads(result.output)[0]["entities"]}


@pytest.mark.parametrize("variant", [
    "Ｔｏｙｏｔａ sold ５００ cars in Ｊａｐａｎ in ２０２３.",  # fullwidth
    "Toyota sold ٥٠٠ cars in Japan in २०२३.",  # Arabic-Indic and Devanagari digits
])
def test_text_that_reads_the_same_gets_the_same_entities(handler, variant):
    """Break test: the README's guarantee (width, digit script) did not hold for entities."""
    plain = "Toyota sold 500 cars in Japan in 2023."
    _, a = _call(handler, {"inputs": [plain, variant]})
    ours, theirs = a["results"]
    assert [e["type"] for e in theirs["entities"]] == [e["type"] for e in ours["entities"]]
    assert [(e["start"], e["end"]) for e in theirs["entities"]] == [(e["start"], e["end"]) for e in ours["entities"]]
    for e in theirs["entities"]:
        assert variant[e["start"] : e["end"]] == e["text"]


BREAK_TEXTS = [
    "Olaf Scholz flew from Paris to Rome on Monday with $25 million and 10 aides.",
    "It was sold for HK$10 million. Prices: $1, $2 and $3. We paid C$20 and NZ$30.",
    "Order #12345 shipped 3,000 units (about 4.5 kg each) at 9:30 a.m. EST on 12 March 2024.",
    "My Dell XPS 13 stopped charging after the Windows 11 update last Tuesday.",
    "The meeting with Deloitte is scheduled for 10:30 a.m. on Monday, January 8th.",
    "Write to angela.merkel@bundestag.de or see https://www.bbc.co.uk/news for details.",
]


def test_spans_never_overlap_cut_a_number_or_end_in_punctuation(handler):
    """Break test: overlapping MONEY spans, 'about 4.' + '5 kg', spans that were only 'the', 'Monday,'."""
    _, body = _call(handler, {"inputs": BREAK_TEXTS})
    for text, result in zip(BREAK_TEXTS, body["results"]):
        spans = sorted((e["start"], e["end"]) for e in result["entities"])
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), (text, result["entities"])
        for e in result["entities"]:
            t = e["text"]
            assert t.lower() not in ("the", "a", "and", "$") and t[-1] not in ",;:" and t == t.strip(), e
            assert not (e["end"] < len(text) and text[e["end"] - 1].isdigit() and text[e["end"]] in ".,:"
                        and text[e["end"] + 1 : e["end"] + 2].isdigit()), ("cuts a number", e)
            assert not (e["start"] > 1 and text[e["start"]].isdigit() and text[e["start"] - 1] in ".,:"
                        and text[e["start"] - 2].isdigit()), ("cuts a number", e)
    email_text = BREAK_TEXTS[-1]
    address = (email_text.index("angela"), email_text.index(" or"))
    assert not [e for e in body["results"][-1]["entities"] if address[0] <= e["start"] < address[1]]


def test_personal_data_on_request_keeps_the_personal_data_budget(handler):
    """/v1/ner's piece budget (NLP_MAX_NER_PIECES, 10,240) also holds when entities runs its model."""
    long = "Maria Keller signed the lease in Berlin on Monday for 2,400 euros. " * 700  # ~13k pieces
    status, _ = _call(handler, {"inputs": long})
    assert status == 200
    status, body = _call(handler, {"inputs": long, "parameters": {"include_personal_data": True}})
    assert status == 413 and body["error_type"] == "request_too_expensive" and "NLP_MAX_NER_PIECES" in body["error"]
