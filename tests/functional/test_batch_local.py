"""The local loop (moto server on 127.0.0.1 + Lambda-like poller) and the ``score`` CLI, with real models."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest


@pytest.fixture(scope="module")
def sentiment(models_dir: Any) -> Any:
    from nlpserve.tasks import get_task

    return get_task("sentiment").warm()


def test_local_loop_scores_an_uploaded_file_end_to_end(sentiment, aws_credentials):
    from nlpserve.batch.local import LocalLoop

    with LocalLoop(bucket="nlp-local-test", batch_size=10, retry_delay_s=1) as loop:
        worker = threading.Thread(target=loop.run, daemon=True)
        worker.start()
        body = "".join(json.dumps({"id": i, "text": t}) + "\n"
                       for i, t in enumerate(["great product", "awful support", "it arrived"]))
        # the same call `aws s3 cp --endpoint-url ...` makes
        loop.s3.put_object(Bucket=loop.bucket, Key="incoming/sentiment/local.jsonl", Body=body.encode())
        deadline = time.monotonic() + 60
        summary = None
        while time.monotonic() < deadline and summary is None:
            try:
                summary = json.loads(loop.s3.get_object(
                    Bucket=loop.bucket, Key="results/sentiment/local.jsonl.summary.json")["Body"].read())
            except loop.s3.exceptions.NoSuchKey:
                time.sleep(0.2)
        loop._stop.set()
        worker.join(timeout=10)
        assert loop.endpoint_url.startswith("http://127.0.0.1:")
        assert summary is not None and summary["counts"]["scored"] == 3
        rows = [json.loads(x) for x in loop.s3.get_object(
            Bucket=loop.bucket, Key="results/sentiment/local.jsonl")["Body"].read().splitlines()]
        assert [r["id"] for r in rows] == [0, 1, 2]


def test_score_cli_scores_a_local_csv_with_errors_and_summary(sentiment, tmp_path):
    from nlpserve.batch.cli import batch_app
    from typer.testing import CliRunner

    src = tmp_path / "reviews.csv"
    src.write_text('id,review\n1,"I love it"\n2,\n3,"Terrible, broken on arrival"\n', encoding="utf-8")
    out = tmp_path / "out" / "reviews.jsonl"
    result = CliRunner().invoke(batch_app, ["score", "sentiment", str(src), "--out", str(out),
                                            "--text-field", "review", "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "3"]
    assert rows[0]["label"] == "positive" and rows[1]["label"] == "negative"
    errors = [json.loads(x) for x in (tmp_path / "out" / "reviews.jsonl.errors.jsonl").read_text().splitlines()]
    assert errors[0]["reason"] == "empty_text" and errors[0]["line"] == 3
    summary = json.loads((tmp_path / "out" / "reviews.jsonl.summary.json").read_text())
    assert summary["counts"] == {"records": 3, "scored": 2, "failed": 1, "blank": 0}


def test_score_cli_exits_3_on_a_cut_off_gzip_with_every_readable_record_scored(sentiment, tmp_path):
    import gzip

    from nlpserve.batch.cli import batch_app
    from typer.testing import CliRunner

    body = "".join(json.dumps({"id": i, "text": f"great product number {i}"}) + "\n" for i in range(3000)).encode()
    whole = gzip.compress(body)
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "cut.jsonl"
    result = CliRunner().invoke(batch_app, ["score", "sentiment", str(src), "--out", str(out), "--no-progress"])
    assert result.exit_code == 3, result.output
    summary = json.loads((tmp_path / "cut.jsonl.summary.json").read_text())
    assert summary["status"] == "partial" and summary["file_errors"][0]["reason"] == "truncated_input"
    assert summary["counts"]["scored"] > 100


@pytest.mark.parametrize("task", ["redact", "summarize", "entities"])
def test_score_cli_scores_a_whole_document_through_the_tasks_document_mode(models_dir, tmp_path, monkeypatch, task):
    """Issue 10: ``--document`` runs the task's own document mode (``Task.document``), as the S3 ``docs/`` path does,
    segmenting a document longer than one request and keeping offsets into the whole file."""
    import dataclasses

    from nlpserve import config
    from nlpserve.batch.cli import batch_app
    from typer.testing import CliRunner

    monkeypatch.setattr(config, "settings", dataclasses.replace(config.settings, max_document_bytes=40_000))
    paragraph = ("Maria Keller signed the renewal on Monday. Her number is 415-555-0100. The price rose by a tenth. "
                 "The council approved the budget for parks. ") * 40
    text = "\n\n".join([paragraph] * 12)  # ~72 kB: more than one request's 40 kB, so two or more segments
    src = tmp_path / "contract.md"
    src.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(batch_app, ["score", task, str(src), "--document", "--no-progress"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["segments"] >= 2
    # the S3 path's layout (docs/BATCH.md): the redacted text and its report next to it, or the report alone
    if task == "redact":
        assert line["outputs"] == {"text": "results/redact/docs/contract.md",
                                   "report": "results/redact/docs/contract.md.entities.json"}
        redacted = (tmp_path / line["outputs"]["text"]).read_text()
        report = json.loads((tmp_path / line["outputs"]["report"]).read_text())
        assert redacted and "415-555-0100" not in redacted and "Maria Keller" not in redacted
        assert report["entity_count"] == len(report["entities"]) >= 12 * 40 * 2
        for ent in report["entities"]:
            assert text[ent["start"]:ent["end"]] == ent["text"]  # offsets into the whole document
            assert redacted[ent["redacted_start"]:ent["redacted_end"]] == f"[{ent['type']}]"
    elif task == "entities":
        assert line["outputs"] == {"report": "results/entities/docs/contract.md.entities.json"}
        report = json.loads((tmp_path / line["outputs"]["report"]).read_text())
        people = [e for e in report["entities"] if e["text"] == "Maria Keller"]
        assert len(people) >= 12 * 40 * 0.9 and report["by_type"]["PERSON"] >= len(people)
        assert people[-1]["start"] > 60_000  # offsets into the whole document, past the first segment
        for ent in report["entities"]:
            assert text[ent["start"]:ent["end"]] == ent["text"]
    else:
        assert line["outputs"] == {"report": "results/summarize/docs/contract.md.result.json"}
        report = json.loads((tmp_path / line["outputs"]["report"]).read_text())
        assert report["sentences"] and report["total_sentences"] == 12 * 40 * 4
        for sent in report["sentences"]:
            assert text[sent["start"]:sent["end"]] == sent["text"]
    out = tmp_path / "elsewhere" / "mine.txt"  # --out names the first output
    result = CliRunner().invoke(batch_app, ["score", task, str(src), "--document", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0 and out.is_file(), result.output


@pytest.mark.parametrize("args,message", [
    (["score", "similarity", "x.jsonl"], "has no batch-file form"),
    (["score", "classify-nope", "x.jsonl"], "no model 'nope' here"),
    (["score", "sentiment", "x.txt", "--document"], "--document takes a .txt or .md file"),
    (["score", "redact", "x.jsonl", "--document"], "--document takes a .txt or .md file"),
    # break test (issue 10, part 3): tracebacks, or every record failing one by one on a bad parameter
    (["score", "entities", "x.csv"], "no 'text' column"),
    (["score", "entities", "x.jsonl", "--params", "notjson"], "bad --params"),
    (["score", "entities", "x.jsonl", "--params", '{"types": "GPE"}'], "types: Input should be a valid list"),
    (["score", "entities", "x.jsonl", "--params", '{"types": ["CITY"]}'], "unknown entity types: CITY"),
    (["score", "entities", "x.jsonl", "--params", "[1]"], "must be a JSON object"),
])
def test_the_score_cli_refuses_what_it_cannot_score_with_a_json_error(models_dir, tmp_path, args, message):
    """Break test: these were tracebacks (exit 1), or --document was silently ignored."""
    from nlpserve.batch.cli import batch_app
    from typer.testing import CliRunner

    for name in ("x.jsonl", "x.txt"):
        (tmp_path / name).write_text('{"text": "hello there"}\n' if name.endswith("jsonl") else "Hello there.")
    (tmp_path / "x.csv").write_text("id,body\n1,hello Berlin\n")
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    result = CliRunner().invoke(batch_app, [*args, "--no-progress"])
    assert result.exit_code == 2, result.output
    assert message in json.loads(result.output.strip().splitlines()[-1])["error"]
