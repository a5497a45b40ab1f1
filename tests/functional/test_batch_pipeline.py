"""S3 -> SQS -> batch handler, end to end on moto with the real models.

Every test uploads objects into a moto bucket wired to a queue exactly as deployed; moto delivers the S3
event messages; ``batch_env.drain()`` feeds them to the real handler as Lambda's SQS event source would.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from nlpserve.batch.config import BatchSettings
from nlpserve.handlers.batch import BatchHandler
from nlpserve.batch.local import sqs_event

REVIEWS = [
    "I love this phone, the battery lasts forever.",
    "Terrible service, I want a refund.",
    "The package arrived on Tuesday.",
    "Absolutely fantastic support team, thank you!",
    "This is the worst purchase I have ever made.",
    "It works as described.",
    "Great value for the price.",
    "The app crashes every time I open it.",
] * 5  # 40 records


@pytest.fixture(scope="module")
def real_models(models_dir: Any) -> Any:
    from nlpserve.tasks import get_task

    for name in ("sentiment", "redact", "summarize"):
        get_task(name).warm()
    return models_dir


def settings(**kw: Any) -> BatchSettings:
    base = dict(batch_size=8, max_line_bytes=4096, max_text_bytes=2000, part_size=1024, time_safety_ms=20_000)
    base.update(kw)
    return BatchSettings(**base)


def make_handler(env: Any, **kw: Any) -> BatchHandler:
    resolver = kw.pop("task_resolver", None)
    extra = {"task_resolver": resolver} if resolver else {}
    return BatchHandler(settings(**kw), s3=env.s3, sqs=env.sqs, **extra)


def jsonl_body(texts: list[str], prefix: str = "r") -> str:
    return "".join(json.dumps({"id": f"{prefix}{i}", "text": t, "lang": "en"}) + "\n" for i, t in enumerate(texts))


def summary_of(env: Any, key: str) -> dict[str, Any]:
    return json.loads(env.get(key))


def direct_scores(texts: list[str], batch: int | None = None) -> list[dict[str, Any]]:
    """The pipeline called directly, optionally in the same batches the handler uses."""
    from nlpserve.tasks import get_task

    task = get_task("sentiment")
    step = batch or len(texts)
    return [r.model_dump(mode="json") for i in range(0, len(texts), step) for r in task.run(texts[i:i + step], task.Params())]


# -- formats ---------------------------------------------------------------------------------------------

def test_jsonl_upload_is_scored_in_order_with_ids_and_summary(batch_env, real_models):
    # GIVEN a JSONL file under incoming/sentiment/
    batch_env.put("incoming/sentiment/reviews.jsonl", jsonl_body(REVIEWS))
    # WHEN the queue is drained through the handler
    batch_env.drain(make_handler(batch_env))
    # THEN results keep input order, carry id + other fields, and match the task pipeline
    rows = batch_env.jsonl("results/sentiment/reviews.jsonl")
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(len(REVIEWS))]
    assert [r["line"] for r in rows] == list(range(1, len(REVIEWS) + 1))
    assert all(r["lang"] == "en" and "text" not in r for r in rows)
    expected = direct_scores(REVIEWS)
    assert [r["label"] for r in rows] == [e["label"] for e in expected]
    s = summary_of(batch_env, "results/sentiment/reviews.jsonl.summary.json")
    assert s["status"] == "complete"
    assert s["counts"] == {"records": 40, "scored": 40, "failed": 0, "blank": 0}
    assert s["model"]["version"] and s["model"]["bundle"] == "sentiment"
    assert s["outputs"] == {"results": "results/sentiment/reviews.jsonl", "errors": None}
    assert {"wall_s", "score_s", "read_s", "write_s"} <= set(s["timings"])
    assert not batch_env.exists("errors/sentiment/reviews.jsonl.errors.jsonl")


@pytest.mark.parametrize(
    ("name", "make", "result_key"),
    [
        ("reviews.csv", lambda: ("id,text,stars\n" + "".join(f'c{i},"{t}",5\n' for i, t in enumerate(REVIEWS))).encode(),
         "results/sentiment/reviews.csv.jsonl"),
        ("notes.txt", lambda: "\n".join(REVIEWS).encode() + b"\n\n", "results/sentiment/notes.txt.jsonl"),
        ("reviews.jsonl.gz", lambda: gzip.compress(jsonl_body(REVIEWS).encode()), "results/sentiment/reviews.jsonl.gz.jsonl"),
        ("reviews.csv.gz", lambda: gzip.compress(("id,text\n" + "".join(f'c{i},"{t}"\n' for i, t in enumerate(REVIEWS))).encode()),
         "results/sentiment/reviews.csv.gz.jsonl"),
        ("notes.txt.gz", lambda: gzip.compress("\n".join(REVIEWS).encode()), "results/sentiment/notes.txt.gz.jsonl"),
    ],
)
def test_csv_txt_and_gzip_inputs_produce_jsonl_results(batch_env, real_models, name, make, result_key):
    batch_env.put(f"incoming/sentiment/{name}", make())
    batch_env.drain(make_handler(batch_env))
    rows = batch_env.jsonl(result_key)
    assert len(rows) == len(REVIEWS)
    assert [r["label"] for r in rows] == [e["label"] for e in direct_scores(REVIEWS)]
    if ".csv" in name:
        assert rows[0]["id"] == "c0"
    if ".txt" in name:
        assert [r["id"] for r in rows] == list(range(1, len(REVIEWS) + 1))  # line numbers
    s = summary_of(batch_env, f"results/sentiment/{name}.summary.json")
    assert s["counts"]["scored"] == len(REVIEWS) and s["counts"]["failed"] == 0
    assert s["source"]["gzip"] == name.endswith(".gz")


def test_text_field_and_id_field_come_from_object_metadata(batch_env, real_models):
    body = "".join(json.dumps({"review_id": i, "body": t}) + "\n" for i, t in enumerate(REVIEWS[:4]))
    batch_env.put("incoming/sentiment/custom.jsonl", body, Metadata={"text-field": "body", "id-field": "review_id"})
    batch_env.drain(make_handler(batch_env))
    rows = batch_env.jsonl("results/sentiment/custom.jsonl")
    assert [r["review_id"] for r in rows] == [0, 1, 2, 3]


def test_url_encoded_keys_with_spaces_and_unicode_are_decoded(batch_env, real_models):
    batch_env.put("incoming/sentiment/team a/été 2024.jsonl", jsonl_body(REVIEWS[:3]))
    batch_env.drain(make_handler(batch_env))
    assert len(batch_env.jsonl("results/sentiment/team a/été 2024.jsonl")) == 3


# -- bad input -------------------------------------------------------------------------------------------

def test_poison_lines_are_reported_per_record_and_the_rest_is_scored(batch_env, real_models):
    lines = [json.dumps({"id": f"ok{i}", "text": t}).encode() for i, t in enumerate(REVIEWS[:10])]
    lines.insert(2, b'{"id": "bad-json", "text": ')  # line 3
    lines.insert(4, json.dumps({"id": "no-text", "body": "x"}).encode())  # line 5
    lines.insert(6, json.dumps({"id": "empty", "text": "   "}).encode())  # line 7
    lines.insert(8, b'{"id": "latin1", "text": "caf\xe9"}')  # line 9: not UTF-8
    lines.insert(10, b'{"id": "nul", "text": "a\x00b"}')  # line 11: binary
    lines.insert(12, json.dumps({"id": "huge", "text": "x" * 10_000}).encode())  # line 13: > max_line_bytes
    lines.insert(14, json.dumps({"id": "long", "text": "word " * 500}).encode())  # line 15: > max_text_bytes
    lines.insert(16, b"[1, 2, 3]")  # line 17
    lines.insert(18, json.dumps({"id": "num", "text": 42}).encode())  # line 19
    batch_env.put("incoming/sentiment/mixed.jsonl", b"\n".join(lines) + b"\n")
    batch_env.drain(make_handler(batch_env))

    errors = batch_env.jsonl("errors/sentiment/mixed.jsonl.errors.jsonl")
    assert [(e["line"], e["reason"]) for e in errors] == [
        (3, "malformed_json"), (5, "missing_text_field"), (7, "empty_text"), (9, "undecodable_bytes"),
        (11, "binary_content"), (13, "line_too_long"), (15, "text_too_long"), (17, "not_an_object"),
        (19, "text_not_string"),
    ]
    assert errors[1]["id"] == "no-text"
    rows = batch_env.jsonl("results/sentiment/mixed.jsonl")
    assert [r["id"] for r in rows] == [f"ok{i}" for i in range(10)]
    s = summary_of(batch_env, "results/sentiment/mixed.jsonl.summary.json")
    assert s["counts"] == {"records": 19, "scored": 10, "failed": 9, "blank": 0}
    assert s["outputs"]["errors"] == "errors/sentiment/mixed.jsonl.errors.jsonl"
    assert s["failures_by_reason"]["malformed_json"] == 1
    assert batch_env.dlq_messages() == []


def test_a_record_that_breaks_the_model_is_isolated_from_its_batch(batch_env, real_models):
    from nlpserve.tasks import get_task

    real = get_task("sentiment")

    class PoisonAware:  # the real task, except one text makes it raise (as a tokenizer edge case might)
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def run(self, texts: list[str], params: Any) -> list[Any]:
            if any("POISON" in t for t in texts):
                raise RuntimeError("onnxruntime failure")
            return real.run(texts, params)

    texts = REVIEWS[:10]
    texts[4] = "POISON pill"
    batch_env.put("incoming/sentiment/poison.jsonl", jsonl_body(texts))
    batch_env.drain(make_handler(batch_env, task_resolver=lambda name: PoisonAware()))
    rows = batch_env.jsonl("results/sentiment/poison.jsonl")
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(10) if i != 4]
    errors = batch_env.jsonl("errors/sentiment/poison.jsonl.errors.jsonl")
    assert errors == [{"line": 5, "id": "r4", "reason": "scoring_failed", "message": "RuntimeError: onnxruntime failure"}]


def test_binary_and_empty_files_are_reported_not_retried(batch_env, real_models):
    import random

    rng = random.Random(1)
    blob = bytes(rng.getrandbits(8) for _ in range(200_000)).replace(b"\n", b"\x00\n", 300)
    batch_env.put("incoming/sentiment/image.jsonl", blob)
    batch_env.put("incoming/sentiment/empty.jsonl", b"")
    batch_env.put("incoming/sentiment/blank.txt", b"\n\n  \n")
    handler = make_handler(batch_env)
    batch_env.drain(handler)
    assert all(r == {"batchItemFailures": []} for r in batch_env.responses)
    errors = batch_env.jsonl("errors/sentiment/image.jsonl.errors.jsonl")
    assert errors[-1]["reason"] == "binary_file"
    s = summary_of(batch_env, "results/sentiment/image.jsonl.summary.json")
    assert s["counts"]["scored"] == 0 and s["file_errors"][0]["reason"] == "binary_file"
    for name in ("empty.jsonl", "blank.txt"):
        s = summary_of(batch_env, f"results/sentiment/{name}.summary.json")
        assert s["status"] == "complete" and s["counts"]["records"] == 0
        assert s["file_errors"][0]["reason"] == "empty_file"
        assert batch_env.jsonl(f"errors/sentiment/{name}.errors.jsonl")[0]["reason"] == "empty_file"


def test_a_task_with_no_batch_form_fails_permanently_and_says_where_its_work_goes(batch_env, real_models):
    """similarity is an API task (pairs of texts) with no batch-file form in the catalogue: a file under
    incoming/similarity/ fails once with a summary pointing to incoming/embed/, not as an unknown task."""
    batch_env.put("incoming/similarity/pairs.jsonl", jsonl_body(REVIEWS[:2]))
    batch_env.drain(make_handler(batch_env))
    assert all(r == {"batchItemFailures": []} for r in batch_env.responses)
    s = summary_of(batch_env, "results/similarity/pairs.jsonl.summary.json")
    assert s["status"] == "failed" and s["file_errors"][0]["reason"] == "unknown_task"
    assert "no batch-file form" in s["file_errors"][0]["message"] and "incoming/embed/" in s["file_errors"][0]["message"]


def test_unknown_task_and_corrupt_gzip_fail_permanently_with_a_summary(batch_env, real_models):
    batch_env.put("incoming/transcribe/a.jsonl", jsonl_body(REVIEWS[:2]))
    batch_env.put("incoming/sentiment/broken.jsonl.gz", b"\x1f\x8b\x08\x00garbage-not-deflate")
    batch_env.drain(make_handler(batch_env))
    assert all(r == {"batchItemFailures": []} for r in batch_env.responses)
    s = summary_of(batch_env, "results/transcribe/a.jsonl.summary.json")
    assert s["status"] == "failed" and s["file_errors"][0]["reason"] == "unknown_task"
    s = summary_of(batch_env, "results/sentiment/broken.jsonl.gz.summary.json")
    assert s["file_errors"][0]["reason"] == "bad_gzip"


def test_unparseable_message_goes_to_the_dlq_after_max_receives_with_a_clear_log(batch_env, real_models, caplog):
    handler = make_handler(batch_env, max_receives=3)
    batch_env.drain(handler)  # the s3:TestEvent
    batch_env.sqs.send_message(QueueUrl=batch_env.queue_url, MessageBody="not json at all")
    for _ in range(3):
        messages = batch_env.receive()
        assert len(messages) == 1
        response = batch_env.invoke(handler, messages)
        assert response["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    assert batch_env.receive() == []  # moto applied the redrive policy
    assert len(batch_env.dlq_messages()) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("giving up on message" in m and "goes to the DLQ" in m for m in errors)


# -- at-least-once delivery ------------------------------------------------------------------------------

def test_duplicate_event_is_skipped_and_output_stays_identical(batch_env, real_models):
    batch_env.put("incoming/sentiment/dup.jsonl", jsonl_body(REVIEWS))
    first_messages = []
    handler = make_handler(batch_env)
    while messages := batch_env.receive():
        first_messages += [m for m in messages if "s3:TestEvent" not in m["Body"]]
        batch_env.invoke(handler, messages)
    results = batch_env.get("results/sentiment/dup.jsonl")
    # WHEN the same S3 event is delivered again
    batch_env.invoke(handler, [{**first_messages[0], "ReceiptHandle": first_messages[0]["ReceiptHandle"]}])
    assert handler.outcomes[0]["status"] == "skipped_duplicate"
    assert batch_env.get("results/sentiment/dup.jsonl") == results
    # AND with the summary (the commit marker) deleted by hand, the event rebuilds byte-identical outputs
    batch_env.s3.delete_object(Bucket=batch_env.bucket, Key="results/sentiment/dup.jsonl.summary.json")
    handler(sqs_event(first_messages[:1], batch_env.queue_arn), None)
    assert handler.outcomes[0]["status"] == "completed"
    assert batch_env.get("results/sentiment/dup.jsonl") == results
    assert len(batch_env.jsonl("results/sentiment/dup.jsonl")) == len(REVIEWS)


def test_superseded_event_for_an_overwritten_object_is_skipped(batch_env, real_models):
    batch_env.put("incoming/sentiment/v.jsonl", jsonl_body(REVIEWS[:2]))
    old = [m for m in batch_env.receive() if "s3:TestEvent" not in m["Body"]]
    batch_env.put("incoming/sentiment/v.jsonl", jsonl_body(REVIEWS[:5]))  # new version, new event
    handler = make_handler(batch_env)
    batch_env.invoke(handler, old)
    assert handler.outcomes[0]["status"] == "skipped_superseded"
    batch_env.drain(handler)
    assert len(batch_env.jsonl("results/sentiment/v.jsonl")) == 5


class FlakyS3:
    """The real moto client, except the n-th UploadPart of one key raises a 500 (a mid-file S3 failure)."""

    def __init__(self, real: Any, fail_on_part_call: int, key_contains: str = "flaky") -> None:
        self.real, self.fail_on, self.calls, self.key_contains = real, fail_on_part_call, 0, key_contains

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def upload_part(self, **kw: Any) -> Any:
        if self.key_contains not in kw.get("Key", ""):
            return self.real.upload_part(**kw)
        self.calls += 1
        if self.calls == self.fail_on:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, "UploadPart")
        return self.real.upload_part(**kw)


def test_mid_file_failure_is_a_partial_batch_failure_retried_without_duplicate_output(batch_env, real_models):
    # GIVEN two files in one SQS batch, and S3 failing once in the middle of the second file's upload
    batch_env.put("incoming/sentiment/ok.jsonl", jsonl_body(REVIEWS, "a"))
    batch_env.put("incoming/sentiment/flaky.jsonl", jsonl_body(REVIEWS * 3, "b"))
    flaky = FlakyS3(batch_env.s3, fail_on_part_call=4)
    handler = BatchHandler(settings(part_size=1024), s3=flaky, sqs=batch_env.sqs)
    messages = [m for m in batch_env.receive() if "s3:TestEvent" not in m["Body"]]
    assert len(messages) == 2
    # WHEN one invocation handles both
    response = batch_env.invoke(handler, messages)
    # THEN only the failed message is reported, nothing half-written is visible, the other file is done
    flaky_id = next(m["MessageId"] for m in messages if "flaky" in m["Body"])
    assert response["batchItemFailures"] == [{"itemIdentifier": flaky_id}]
    assert batch_env.exists("results/sentiment/ok.jsonl.summary.json")
    assert not batch_env.exists("results/sentiment/flaky.jsonl")
    assert not batch_env.exists("results/sentiment/flaky.jsonl.summary.json")
    assert batch_env.s3.list_multipart_uploads(Bucket=batch_env.bucket).get("Uploads", []) == []
    # AND the retry completes it with every record exactly once, in order
    batch_env.drain(handler)
    rows = batch_env.jsonl("results/sentiment/flaky.jsonl")
    assert [r["id"] for r in rows] == [f"b{i}" for i in range(len(REVIEWS) * 3)]
    assert summary_of(batch_env, "results/sentiment/flaky.jsonl.summary.json")["counts"]["scored"] == 120


def test_broken_model_fails_the_message_instead_of_failing_every_record(batch_env, real_models):
    from nlpserve.tasks import get_task

    real = get_task("sentiment")

    class Broken:  # the model session itself fails on every call
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def run(self, texts: list[str], params: Any) -> list[Any]:
            raise RuntimeError("session crashed")

    batch_env.put("incoming/sentiment/b.jsonl", jsonl_body(REVIEWS[:16]))
    handler = make_handler(batch_env, task_resolver=lambda n: Broken())
    messages = [m for m in batch_env.receive() if "s3:TestEvent" not in m["Body"]]
    response = batch_env.invoke(handler, messages)
    assert response["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    assert not batch_env.exists("results/sentiment/b.jsonl.summary.json")


# -- large files: continuation ---------------------------------------------------------------------------

class StepContext:
    """Each look at the clock costs 1 s of a ``budget_ms`` invocation: forces several continuations."""

    def __init__(self, budget_ms: int) -> None:
        self.left = budget_ms

    def get_remaining_time_in_millis(self) -> int:
        self.left -= 1000
        return self.left


@pytest.mark.parametrize("name", ["big.jsonl", "big.jsonl.gz", "big.csv"])
def test_file_too_big_for_one_invocation_continues_via_checkpoints(batch_env, real_models, name):
    texts = [f"{t} ({i})" for i, t in enumerate(REVIEWS * 10)]  # 400 records
    if name.endswith(".csv"):
        body = ("id,text\n" + "".join(f'r{i},"{t}"\n' for i, t in enumerate(texts))).encode()
    else:
        body = jsonl_body(texts).encode()
    batch_env.put(f"incoming/sentiment/{name}", gzip.compress(body) if name.endswith(".gz") else body)
    handler = make_handler(batch_env, batch_size=16, part_size=2048, time_safety_ms=20_000)
    invocations = 0
    statuses = []
    while messages := batch_env.receive():
        response = handler(sqs_event(messages, batch_env.queue_arn), StepContext(30_000))
        assert response == {"batchItemFailures": []}
        statuses += [o["status"] for o in handler.outcomes]
        for m in messages:
            batch_env.sqs.delete_message(QueueUrl=batch_env.queue_url, ReceiptHandle=m["ReceiptHandle"])
        invocations += 1
    assert statuses.count("checkpointed") >= 3 and statuses[-1] == "completed"
    result_key = f"results/sentiment/{name if name.endswith('.jsonl') else name + '.jsonl'}"
    rows = batch_env.jsonl(result_key)
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(400)]
    assert [r["label"] for r in rows] == [e["label"] for e in direct_scores(texts, batch=16)]
    s = summary_of(batch_env, f"results/sentiment/{name}.summary.json")
    assert s["invocations"] == statuses.count("checkpointed") + 1
    assert s["counts"]["scored"] == 400
    # only the object version's ledger stays (phase done: later duplicates are no-ops); spill objects are gone
    work = batch_env.keys("_work/")
    assert len(work) == 1 and work[0].endswith(".ledger.json")
    assert json.loads(batch_env.get(work[0]))["phase"] == "done"
    assert batch_env.s3.list_multipart_uploads(Bucket=batch_env.bucket).get("Uploads", []) == []


# -- no recursion ----------------------------------------------------------------------------------------

def test_outputs_are_written_where_the_trigger_does_not_fire(batch_env, real_models):
    batch_env.put("incoming/sentiment/r.jsonl", jsonl_body(REVIEWS[:3] + [""]))
    handler = make_handler(batch_env)
    assert batch_env.drain(handler) >= 1
    written = batch_env.keys("results/") + batch_env.keys("errors/")
    assert "results/sentiment/r.jsonl" in written and "errors/sentiment/r.jsonl.errors.jsonl" in written
    # THEN writing the outputs produced no new messages (outputs are outside incoming/)
    assert batch_env.receive() == []
    # AND even an output-like object under results/ with a .jsonl suffix does not trigger
    batch_env.put("results/sentiment/copy.jsonl", jsonl_body(REVIEWS[:1]))
    batch_env.put("_work/sentiment/x.jsonl", b"{}")
    assert batch_env.receive() == []


def test_s3_test_event_is_ignored(batch_env, real_models):
    messages = batch_env.receive()
    assert any("s3:TestEvent" in m["Body"] for m in messages)  # moto sends it when the notification is set
    handler = make_handler(batch_env)
    assert batch_env.invoke(handler, messages) == {"batchItemFailures": []}
    assert handler.outcomes == []


# -- whole documents -------------------------------------------------------------------------------------

DOC = (
    "Meeting notes\n\nJane Doe (jane.doe@example.com, +1 415 555 0100) met John Smith at the office.\n\n"
    "They agreed the invoice will be paid by Friday. Send questions to billing@acme-corp.com.\n"
)


def test_redact_document_writes_redacted_text_and_entity_report(batch_env, real_models):
    batch_env.put("incoming/redact/docs/notes.md", DOC)
    batch_env.drain(make_handler(batch_env, report_entity_text=True))
    redacted = batch_env.get("results/redact/docs/notes.md").decode()
    assert "jane.doe@example.com" not in redacted and "[EMAIL]" in redacted
    report = json.loads(batch_env.get("results/redact/docs/notes.md.entities.json"))
    assert report["by_type"].get("EMAIL") == 2
    for ent in report["entities"]:
        assert DOC[ent["start"]:ent["end"]] == ent["text"]
        assert redacted[ent["redacted_start"]:ent["redacted_end"]].startswith("[")
    s = summary_of(batch_env, "results/redact/docs/notes.md.summary.json")
    assert s["status"] == "complete" and s["document"]["segments"] == 1


def test_long_document_is_segmented_and_stitched_with_original_offsets(batch_env, real_models):
    from nlpserve.tasks import get_task

    real = get_task("redact")

    class SmallLimit:  # the real task with a small per-call limit, to force segmentation
        max_text_bytes = 300

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    doc = DOC * 6
    batch_env.put("incoming/redact/docs/long.txt", doc)
    batch_env.drain(make_handler(batch_env, task_resolver=lambda n: SmallLimit(), report_entity_text=True))
    s = summary_of(batch_env, "results/redact/docs/long.txt.summary.json")
    assert s["document"]["segments"] > 1
    redacted = batch_env.get("results/redact/docs/long.txt").decode()
    report = json.loads(batch_env.get("results/redact/docs/long.txt.entities.json"))
    assert report["by_type"].get("EMAIL") == 12
    for ent in report["entities"]:
        assert doc[ent["start"]:ent["end"]] == ent["text"]
        assert redacted[ent["redacted_start"]:ent["redacted_end"]] == f"[{ent['type']}]"
    assert "@" not in redacted


def test_summarize_document_writes_the_summary_with_offsets(batch_env, real_models):
    doc = " ".join(
        f"{s}." for s in [
            "The city council approved the new budget on Monday",
            "The budget increases spending on public transport by ten percent",
            "Several residents complained about the noise from construction",
            "The mayor said the transport investment will reduce traffic",
            "Opposition members argued that taxes will rise",
            "A final vote on the tax changes is expected next month",
        ]
    )
    batch_env.put("incoming/summarize/docs/council.txt", doc)
    batch_env.drain(make_handler(batch_env))
    out = json.loads(batch_env.get("results/summarize/docs/council.txt.result.json"))
    assert out["total_sentences"] == 6 and len(out["sentences"]) == 3
    for sent in out["sentences"]:
        assert doc[sent["start"]:sent["end"]] == sent["text"]
    assert summary_of(batch_env, "results/summarize/docs/council.txt.summary.json")["status"] == "complete"


# -- issue 7: real-world files end to end (the record-level cases are in test_batch_records.py) ---------------

def test_truncated_gzip_scores_every_readable_record_and_the_summary_says_partial(batch_env, real_models):
    texts = [f"{t} ({i})" for i, t in enumerate(REVIEWS * 50)]  # 2,000 records
    whole = gzip.compress(jsonl_body(texts).encode())
    batch_env.put("incoming/sentiment/cut.jsonl.gz", whole[: len(whole) * 2 // 3])
    batch_env.drain(make_handler(batch_env, batch_size=64, part_size=4096))
    s = summary_of(batch_env, "results/sentiment/cut.jsonl.gz.summary.json")
    assert s["status"] == "partial" and s["file_errors"][0]["reason"] == "truncated_input"
    rows = batch_env.jsonl("results/sentiment/cut.jsonl.gz.jsonl")
    errors = batch_env.jsonl("errors/sentiment/cut.jsonl.gz.errors.jsonl")
    torn = [e for e in errors if e["reason"] == "truncated_record"]
    assert s["counts"]["scored"] == len(rows) and s["counts"]["records"] == len(rows) + len(torn)
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(len(rows))]  # every line before the cut, in order
    assert len(rows) > 1000


def test_unencodable_fields_and_non_json_numbers_are_record_errors_and_the_file_completes(batch_env, real_models):
    lines = [json.dumps({"id": f"ok{i}", "text": t}) for i, t in enumerate(REVIEWS[:8])]
    lines.append('{"id":"r1","text":"Fine","note":"cut emoji \\ud83d"}')
    lines += [f'{{"id":"s{i}","text":"loved it \\ud83d"}}' for i in range(10)]
    lines.append('{"id":"n1","text":"Fine","score":NaN}')
    batch_env.put("incoming/sentiment/odd.jsonl", "\n".join(lines) + "\n")
    batch_env.drain(make_handler(batch_env))
    assert all(r == {"batchItemFailures": []} for r in batch_env.responses)
    assert batch_env.dlq_messages() == []
    s = summary_of(batch_env, "results/sentiment/odd.jsonl.summary.json")
    assert s["status"] == "complete" and s["counts"] == {"records": 20, "scored": 8, "failed": 12, "blank": 0}
    errors = {e["id"]: e["reason"] for e in batch_env.jsonl("errors/sentiment/odd.jsonl.errors.jsonl")}
    assert errors["r1"] == "invalid_unicode" and errors["n1"] == "malformed_json"
    assert all(errors[f"s{i}"] == "invalid_unicode" for i in range(10))
    for raw in batch_env.get("results/sentiment/odd.jsonl").splitlines():  # strict JSON: no NaN tokens
        json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_cr_only_csv_from_excel_for_mac_scores_every_row(batch_env, real_models):
    body = "id,text\r" + "".join(f"{i},\"{t}\"\r" for i, t in enumerate(REVIEWS[:12]))
    batch_env.put("incoming/sentiment/mac.csv", body.encode())
    batch_env.put("incoming/sentiment/latin1.csv", "id,text\n7,Caf\u00e9 was great\n8,fine\n".encode("latin-1"))
    batch_env.drain(make_handler(batch_env))
    rows = batch_env.jsonl("results/sentiment/mac.csv.jsonl")
    assert [r["id"] for r in rows] == [str(i) for i in range(12)]
    assert summary_of(batch_env, "results/sentiment/mac.csv.summary.json")["counts"]["scored"] == 12
    errors = batch_env.jsonl("errors/sentiment/latin1.csv.errors.jsonl")
    assert errors == [{"line": 2, "id": "7", "reason": "undecodable_bytes", "message": errors[0]["message"]}]


def test_batch_result_lines_have_the_same_fields_as_the_api(batch_env, real_models):
    """A field the API omits (None, e.g. sentiment ``scores`` without return_all_scores) is omitted in batch too."""
    from fastapi.testclient import TestClient
    from nlpserve.api import create_app

    batch_env.put("incoming/sentiment/fields.jsonl", jsonl_body(REVIEWS[:3]))
    batch_env.drain(make_handler(batch_env))
    rows = batch_env.jsonl("results/sentiment/fields.jsonl")
    api = TestClient(create_app(["sentiment"])).post("/v1/sentiment", json={"inputs": REVIEWS[:3]}).json()
    for row, result in zip(rows, api["results"]):
        assert {k: v for k, v in row.items() if k not in ("line", "id", "lang")} == result


def test_reverting_a_key_to_earlier_bytes_scores_them_again(batch_env, real_models):
    """A, then B, then A's bytes again: the results must be A's (the current object), not B's."""
    a, b = jsonl_body(REVIEWS[:4], "a"), jsonl_body(REVIEWS[:6], "b")
    handler = make_handler(batch_env)
    for body in (a, b, a):
        batch_env.put("incoming/sentiment/rev.jsonl", body)
        batch_env.drain(handler)
    assert [r["id"] for r in batch_env.jsonl("results/sentiment/rev.jsonl")] == [f"a{i}" for i in range(4)]
    head = batch_env.s3.head_object(Bucket=batch_env.bucket, Key="incoming/sentiment/rev.jsonl")
    assert summary_of(batch_env, "results/sentiment/rev.jsonl.summary.json")["source"]["etag"] == head["ETag"].strip('"')


def test_two_inputs_never_share_a_results_object(batch_env, real_models):
    batch_env.put("incoming/sentiment/both.jsonl", jsonl_body(REVIEWS[:3], "p"))
    batch_env.put("incoming/sentiment/both.jsonl.gz", gzip.compress(jsonl_body(REVIEWS[:5], "z").encode()))
    batch_env.put("incoming/sentiment/t.csv", "id,text\nc1,fine\n")
    batch_env.drain(make_handler(batch_env))
    batch_env.put("incoming/sentiment/t.csv.jsonl", jsonl_body(REVIEWS[:2], "j"))  # maps onto t.csv's results
    batch_env.drain(make_handler(batch_env))
    assert [r["id"] for r in batch_env.jsonl("results/sentiment/both.jsonl")] == ["p0", "p1", "p2"]
    assert [r["id"] for r in batch_env.jsonl("results/sentiment/both.jsonl.gz.jsonl")] == [f"z{i}" for i in range(5)]
    assert [r["id"] for r in batch_env.jsonl("results/sentiment/t.csv.jsonl")] == ["c1"]  # not overwritten
    s = summary_of(batch_env, "results/sentiment/t.csv.jsonl.summary.json")
    assert s["status"] == "failed" and s["file_errors"][0]["reason"] == "output_collision"


def test_a_document_that_cannot_finish_in_one_invocation_fails_clearly_instead_of_timing_out(batch_env, real_models):
    """A document has no checkpoint inside: if scoring it would outlast a whole invocation, the file gets a
    failed summary (document_too_large, with the projected time) instead of a timeout on every retry."""
    import time as _time

    from nlpserve.tasks import get_task

    real = get_task("redact")

    class SlowRedact:  # 0.3 s a segment of 2 kB
        max_text_bytes = 2000
        Params = real.Params
        name, bundle_name = "redact", "ner"

        def run(self, texts: list[str], params: Any) -> list[Any]:
            _time.sleep(0.3)
            return real.run(texts, params)

        def document(self, *args: Any, **kwargs: Any) -> Any:  # stitches the slow segments like the real task
            return real.document(*args, **kwargs)

        def model_info(self) -> dict[str, Any]:
            return real.model_info()

    text = ("Call Jane Doe at 415-555-0100 about the invoice. " * 40 + "\n\n") * 20  # ~40 kB, ~20 segments
    batch_env.put("incoming/redact/docs/long.txt", text.encode())
    # A 30 s invocation with 25 s kept in reserve leaves about 5 s for a ~6 s document. The 30 s budget keeps the
    # invocation "fresh" (>= 90 % left when the document starts) even when the S3 calls before it are slow: with a
    # 3 s budget a busy machine spent the 10 % first and the job was deferred instead (a flaky CI run).
    handler = make_handler(batch_env, task_resolver=lambda _n: SlowRedact(), time_safety_ms=25_000)
    messages = batch_env.receive()
    batch_env.invoke(handler, [m for m in messages if "s3:TestEvent" not in m["Body"]], budget_ms=30_000)
    s = summary_of(batch_env, "results/redact/docs/long.txt.summary.json")
    assert s["status"] == "failed" and s["file_errors"][0]["reason"] == "document_too_large"
    assert "would take about" in s["file_errors"][0]["message"]
    assert batch_env.dlq_messages() == [] and not batch_env.exists("results/redact/docs/long.txt")


def test_batch_takes_every_text_the_api_takes_for_the_same_task(batch_env, real_models):
    """Issue 10: a 50 kB text that POST /v1/ner accepts was rejected in batch (text_too_long at 20,000 bytes).
    With no NLP_BATCH_MAX_TEXT_BYTES the per-record limit is the task's own API limit."""
    from nlpserve.tasks import get_task

    long_text = ("Please contact Jane Doe at jane.doe@example.com about the renewal. " * 760)[:50_000]
    short_text = "Great service, thank you!"
    assert get_task("ner").max_text_bytes >= 50_000 > get_task("sentiment").max_text_bytes
    batch_env.put("incoming/ner/long.jsonl", jsonl_body([long_text]))
    batch_env.put("incoming/sentiment/long.jsonl", jsonl_body([long_text, short_text]))
    batch_env.drain(make_handler(batch_env, max_text_bytes=None, max_line_bytes=1024 * 1024))
    ner = summary_of(batch_env, "results/ner/long.jsonl.summary.json")
    assert ner["counts"]["scored"] == 1 and ner["counts"]["failed"] == 0
    assert any(e["type"] == "EMAIL" for e in batch_env.jsonl("results/ner/long.jsonl")[0]["entities"])
    sentiment = summary_of(batch_env, "results/sentiment/long.jsonl.summary.json")  # over sentiment's own limit
    assert sentiment["counts"]["scored"] == 1 and sentiment["counts"]["failed"] == 1
    errors = batch_env.jsonl("errors/sentiment/long.jsonl.errors.jsonl")
    assert errors[0]["reason"] == "text_too_long"
