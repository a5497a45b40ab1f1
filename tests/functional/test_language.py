"""Issue 10, part 4: POST /v1/language (py3langid) and the language guard of the English-only tasks, through the
Lambda handler, the S3 batch path (moto) and the CLI, on the real models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nlpserve.lambda_context import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
GERMAN = "Wo ist mein Paket? Es sollte am Montag ankommen."
ENGLISH = "Where is my parcel? It was due on Monday."


def _event(path: str, body: dict[str, Any]) -> dict[str, Any]:
    event = json.loads((EVENTS / "http_v2_language.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["body"] = json.dumps(body)
    return event


def _call(handler: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler(event, LocalContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture(scope="module")
def language_handler(models_dir):
    from nlpserve.handlers import language

    return language.handler


@pytest.fixture(scope="module")
def sentiment_handler(models_dir):
    from nlpserve.handlers import sentiment

    return sentiment.handler


def test_the_language_function_names_the_dominant_language_with_top_k_candidates(language_handler):
    status, body = _call(language_handler, json.loads((EVENTS / "http_v2_language.json").read_text()))
    assert status == 200 and body["task"] == "language" and body["model"]["name"] == "py3langid"
    german, english = body["results"]
    assert german["language"] == "de" and german["score"] > 0.9 and len(german["languages"]) == 2
    assert german["languages"][0] == {"language": "de", "score": german["score"]}
    assert german["languages"][0]["score"] >= german["languages"][1]["score"]
    assert english["language"] == "en"


@pytest.mark.parametrize("text,code", [("Je voudrais résilier mon abonnement.", "fr"), ("我想取消订阅并申请退款。", "zh"),
                                       ("Я хочу отменить подписку.", "ru"), ("サブスクリプションを解約したいです。", "ja")])
def test_the_language_function_reads_other_scripts(language_handler, text, code):
    status, body = _call(language_handler, _event("/v1/language", {"inputs": text}))
    assert status == 200 and body["results"][0]["language"] == code


@pytest.mark.parametrize("params", [{"top_k": 0}, {"top_k": 11}, {"top_k": "2"}, {"threshold": 0.5}])
def test_bad_language_parameters_are_a_422_naming_the_field(language_handler, params):
    status, body = _call(language_handler, _event("/v1/language", {"inputs": GERMAN, "parameters": params}))
    assert status == 422 and body["error_type"] == "validation_error" and "parameters" in body["error"]


def test_an_english_only_task_flags_a_text_in_another_language(sentiment_handler):
    status, body = _call(sentiment_handler, _event("/v1/sentiment", {"inputs": [GERMAN, ENGLISH]}))
    assert status == 200
    german, english = body["results"]
    assert german["language"] == "de" and "label" in german  # scored, and flagged
    assert "language" not in english


def test_reject_other_languages_is_a_422_naming_the_item_and_the_language(sentiment_handler):
    body_in = {"inputs": [ENGLISH, GERMAN], "parameters": {"reject_other_languages": True}}
    status, body = _call(sentiment_handler, _event("/v1/sentiment", body_in))
    assert status == 422 and body["error_type"] == "unsupported_language"
    assert "item 1" in body["error"] and "'de'" in body["error"]
    assert body["details"][0]["index"] == 1 and body["details"][0]["supported"] == ["en"]
    status, body = _call(sentiment_handler, _event("/v1/sentiment", {**body_in, "inputs": [ENGLISH]}))
    assert status == 200 and "language" not in body["results"][0]


def test_the_guard_does_not_flag_short_or_informal_english(models_dir):
    from nlpserve.tasks import get_task

    texts = ["ok thanks", "I love it", "lol same", "where is my order", "Great service, thank you!", "meh.",
             "refund pls", "10/10 would buy again", "Jane Doe", "asap!!"]
    results = get_task("sentiment").run(texts, get_task("sentiment").Params(reject_other_languages=True))
    assert [r.language for r in results] == [None] * len(texts)


@pytest.mark.parametrize("task", ["ner", "redact", "language"])
def test_tasks_that_take_any_language_have_no_guard(models_dir, task):
    from nlpserve.tasks import get_task

    t = get_task(task)
    assert t.languages is None and "reject_other_languages" not in t.Params.model_fields
    assert t.run([GERMAN])[0].model_dump(exclude_none=True).get("language") in (None, "de")  # language's own answer


def test_batch_scores_language_files_and_reports_rejected_records_without_losing_the_rest(batch_env, models_dir,
                                                                                           capsys):
    from functional.test_batch_pipeline import make_handler, summary_of

    lines = [{"id": "de", "text": GERMAN}, {"id": "en", "text": ENGLISH}, {"id": "fr", "text": "Merci beaucoup, le colis est arrivé hier soir."}]
    body = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
    batch_env.put("incoming/language/mixed.jsonl", body)
    batch_env.put("incoming/sentiment/mixed.jsonl", body, Metadata={"params": json.dumps({"reject_other_languages": True})})
    batch_env.drain(make_handler(batch_env))
    rows = {r["id"]: r for r in batch_env.jsonl("results/language/mixed.jsonl")}
    assert rows["de"]["language"] == "de" and rows["en"]["language"] == "en" and rows["fr"]["language"] == "fr"
    scored = {r["id"]: r for r in batch_env.jsonl("results/sentiment/mixed.jsonl")}
    errors = {r["id"]: r for r in batch_env.jsonl("errors/sentiment/mixed.jsonl.errors.jsonl")}
    assert set(scored) == {"en"} and set(errors) == {"de", "fr"}
    assert errors["de"]["reason"] == "unsupported_language"
    # the message speaks of the record, not of its position inside an internal batch ("item 3")
    assert errors["de"]["message"].startswith("this text looks like language 'de'")
    assert errors["fr"]["message"].startswith("this text looks like language 'fr'")
    s = summary_of(batch_env, "results/sentiment/mixed.jsonl.summary.json")
    assert s["counts"]["scored"] == 1 and s["counts"]["failed"] == 2
    # a refused record leaves its batch together: no one-by-one rescoring of the rest
    assert "scoring its records one by one" not in capsys.readouterr().out


def test_the_cli_predicts_languages(models_dir):
    from nlpserve.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["predict", "language", GERMAN, "-p", "top_k=1"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out[0]["language"] == "de" and len(out[0]["languages"]) == 1


@pytest.mark.parametrize("text", ["Pakken kom i tide og sjåføren var høflig.", "Bungkusan itu tiba tepat pada waktunya.",
                                  "包裹準時到達，司機很有禮貌。", "Спасибо большое", "Paket je stigao na vrijeme."])
def test_close_languages_that_split_the_probability_are_still_refused(sentiment_handler, text):
    """Break test: Norwegian (no 0.43 / nn 0.40), Malay / Indonesian, Croatian / Bosnian, Chinese / Cantonese and
    short Russian passed reject mode because no single language reached the threshold; the guard now sums the
    probability of every language the model does not know."""
    status, body = _call(sentiment_handler, _event("/v1/sentiment", {"inputs": text,
                                                                     "parameters": {"reject_other_languages": True}}))
    assert status == 422 and body["error_type"] == "unsupported_language", body


@pytest.mark.parametrize("text", ["😀😀😀", "12345", "!!!", "👍 10/10"])
def test_a_text_without_letters_has_no_language(language_handler, sentiment_handler, text):
    status, body = _call(language_handler, _event("/v1/language", {"inputs": text}))
    assert status == 200 and body["results"][0]["language"] == "und" and body["results"][0]["languages"] == []
    status, body = _call(sentiment_handler, _event("/v1/sentiment", {"inputs": text,
                                                                     "parameters": {"reject_other_languages": True}}))
    assert status == 200 and "language" not in body["results"][0]


def test_a_refused_document_fails_once_with_a_summary_not_in_the_dead_letter_queue(batch_env, models_dir):
    """Break test: a German document under incoming/summarize/docs/ with reject_other_languages went to the DLQ
    after every retry; a refused document is a permanent failure with its reason in the summary."""
    from functional.test_batch_pipeline import make_handler, summary_of

    text = ("Der Stadtrat hat am Dienstag den neuen Haushalt genehmigt. Die Schulen bekommen mehr Geld. "
            "Die Opposition kritisierte die Entscheidung scharf. ") * 5
    batch_env.put("incoming/summarize/docs/bericht.txt", text.encode(),
                  Metadata={"params": json.dumps({"reject_other_languages": True})})
    batch_env.drain(make_handler(batch_env))
    assert all(r == {"batchItemFailures": []} for r in batch_env.responses)
    s = summary_of(batch_env, "results/summarize/docs/bericht.txt.summary.json")
    assert s["status"] == "failed" and s["file_errors"][0]["reason"] == "unsupported_language"
    assert "the document looks like language 'de'" in s["file_errors"][0]["message"]
    assert batch_env.dlq_messages() == []


def test_a_422_lists_every_refused_item_so_a_client_can_drop_them_at_once(sentiment_handler):
    """Break test: only the first refused text was named, so a client had to retry once per bad text."""
    texts = [ENGLISH, GERMAN, "Merci beaucoup, le colis est arrivé hier soir.", ENGLISH]
    status, body = _call(sentiment_handler, _event("/v1/sentiment", {
        "inputs": texts, "parameters": {"reject_other_languages": True}}))
    assert status == 422 and "(and 1 more item(s), listed in details)" in body["error"]
    assert [(d["index"], d["language"]) for d in body["details"]] == [(1, "de"), (2, "fr")]
