"""Fault-injection matrix for the S3 batch path: every record exactly once, whatever breaks and whenever.

The real handler, the real commit protocol and moto's S3 + SQS; a deterministic stand-in task (no model) so
hundreds of scenarios run in seconds. A Lambda-like runner delivers messages as the SQS event source does:
a message reported in ``batchItemFailures`` comes back; a *killed* invocation (the process dies: every later
AWS call of that invocation fails, nothing is cleaned up) gives all its messages back and the clock jumps
past the queue's visibility timeout, so a dead holder's lease has expired when they return.

The invariant checked after every scenario (issue 7, A):
- records in == scored + failed + blank, and each input record appears exactly once in results or errors;
- a summary exists iff the results are complete, it says ``complete`` and its counts are right;
- nothing partial is ever visible: after every invocation, a results object, if present, is the complete one;
- nothing is left in the DLQ, and the object version's ledger says ``done``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from nlpserve.batch.config import BatchSettings
from nlpserve.batch.local import sqs_event, wire_bucket_to_queue
from nlpserve.handlers.batch import BatchHandler
from pydantic import BaseModel

pytestmark = pytest.mark.reliability

REGION = "us-east-1"
BUCKET = "nlp-faults"
MUTATING_S3 = ("put_object", "create_multipart_upload", "upload_part", "complete_multipart_upload",
               "abort_multipart_upload", "delete_object", "delete_objects")
STATS: dict[str, int] = {"scenarios": 0, "records_lost": 0, "records_duplicated": 0, "summaries_wrong": 0}


# -- a deterministic task ---------------------------------------------------------------------------------

class EchoParams(BaseModel):
    model_config = {"extra": "forbid"}


class EchoResult(BaseModel):
    truncated: bool = False
    label: str
    length: int


class EchoTask:
    """Labels each text by its first word; ``hook`` runs before every batch (to interleave other work)."""

    name = "sentiment"
    bundle_name = "sentiment"
    max_text_bytes = 20_000
    Params = EchoParams

    def __init__(self) -> None:
        self.hook: Callable[[int], None] | None = None
        self.batches = 0
        self.texts_scored = 0

    def run(self, texts: list[str], params: Any = None) -> list[EchoResult]:
        self.batches += 1
        if self.hook:
            self.hook(self.batches)
        self.texts_scored += len(texts)
        return [EchoResult(label=t.split()[0], length=len(t)) for t in texts]

    def model_info(self) -> dict[str, Any]:
        return {"bundle": "echo", "name": "echo", "version": "0"}


# -- fault injection ----------------------------------------------------------------------------------------

class Killed(BaseException):
    """The Lambda process died (timeout, OOM, crash): not an Exception, nothing handles it."""


@dataclass
class Fault:
    """Break the ``at``-th mutating call (1-based): ``kill_before``/``kill_after`` it, or ``error`` (a 500)."""

    at: int
    mode: str  # "kill_before" | "kill_after" | "error"
    seen: int = 0
    fired: bool = False
    dead: bool = False


class FaultyClient:
    """A real boto3 client whose mutating calls are counted and, per ``fault``, broken."""

    def __init__(self, real: Any, methods: tuple[str, ...], fault: Fault | None, log: list[str]) -> None:
        self._real, self._methods, self.fault, self._log = real, methods, fault, log

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if not callable(attr) or name.startswith("_") or name in ("get_paginator", "exceptions", "meta"):
            return attr

        def call(**kw: Any) -> Any:
            f = self.fault
            if f is not None and f.dead:
                raise Killed(f"{name} after the process died")
            if f is None or name not in self._methods or f.fired:
                if name in self._methods:
                    self._log.append(name)
                return attr(**kw)
            f.seen += 1
            self._log.append(name)
            if f.seen != f.at:
                return attr(**kw)
            f.fired = True
            if f.mode == "error":
                raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, name)
            if f.mode == "kill_before":
                f.dead = True
                raise Killed(f"killed before {name}")
            attr(**kw)  # the call takes effect; its answer never reaches the dead process
            f.dead = True
            raise Killed(f"killed after {name}")

        return call


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class StepContext:
    """Each look at the remaining time costs ``step_ms`` of a ``budget_ms`` invocation (forces checkpoints)."""

    def __init__(self, budget_ms: int, step_ms: int = 1000) -> None:
        self.left, self.step = budget_ms, step_ms
        self.aws_request_id = str(uuid.uuid4())
        self.function_name, self.memory_limit_in_mb = "nlpserve-batch", 3008
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:nlpserve-batch"

    def get_remaining_time_in_millis(self) -> int:
        self.left -= self.step
        return max(0, self.left)


# -- the world ------------------------------------------------------------------------------------------------

@dataclass
class World:
    s3: Any
    sqs: Any
    queue_url: str
    queue_arn: str
    dlq_url: str
    clock: Clock
    task: EchoTask
    calls: list[str] = field(default_factory=list)
    fault: Fault | None = None
    snapshots_bad: list[str] = field(default_factory=list)
    expected: dict[str, list[str]] = field(default_factory=dict)  # results key -> ids in order

    def handler(self, budget_ms: int = 30_000, **settings: Any) -> BatchHandler:
        base: dict[str, Any] = {"batch_size": 25, "part_size": 1024, "time_safety_ms": 20_000,
                                "checkpoint_interval_s": 0.0, "max_receives": 50, "s3_max_attempts": 1}
        base.update(settings)
        s3 = FaultyClient(self.s3, MUTATING_S3, self.fault, self.calls)
        sqs = FaultyClient(self.sqs, ("send_message",), self.fault, self.calls)
        return BatchHandler(BatchSettings(**base), s3=s3, sqs=sqs, task_resolver=lambda _n: self.task,
                            clock=self.clock)

    def put(self, key: str, body: bytes, **kw: Any) -> dict[str, Any]:
        return self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, **kw)

    def get(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except ClientError:
            return None

    def receive(self) -> list[dict[str, Any]]:
        return [m for m in self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                     WaitTimeSeconds=0, AttributeNames=["All"]).get("Messages", [])
                if "s3:TestEvent" not in m["Body"]]

    def invoke(self, handler: BatchHandler, messages: list[dict[str, Any]], budget_ms: int = 30_000) -> str:
        """One invocation with Lambda's semantics; returns "ok", "partial" or "killed"."""
        try:
            response = handler(sqs_event(messages, self.queue_arn), StepContext(budget_ms))
        except Killed:
            for m in messages:  # nothing was deleted; the messages come back after the visibility timeout
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            self.clock.now += 6 * 900 + 1
            self.check_visible()
            return "killed"
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.check_visible()
        return "partial" if failed else "ok"

    def drain(self, make_handler: Callable[[], BatchHandler], budget_ms: int = 30_000, limit: int = 400) -> int:
        for n in range(limit):
            messages = self.receive()
            if not messages:
                return n
            self.invoke(make_handler(), messages, budget_ms)
        raise AssertionError("the queue did not drain")

    def check_visible(self) -> None:
        """Nothing partial is visible: a results object is either absent or exactly the complete one."""
        for key, ids in self.expected.items():
            body = self.get(key)
            if body is None:
                continue
            got = [json.loads(line)["id"] for line in body.decode().splitlines()]
            if got != ids:
                self.snapshots_bad.append(f"{key}: {len(got)} ids visible, expected {len(ids)}")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    import moto.s3.models as s3_models
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(s3_models, "S3_UPLOAD_PART_MIN_SIZE", 256)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        w = wire_bucket_to_queue(s3, sqs, BUCKET, "nlp-batch", max_receives=50, visibility=5400)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield World(s3, sqs, w["queue_url"], w["queue_arn"], w["dlq_url"], Clock(), EchoTask())


def jsonl(n: int, prefix: str = "r", bad_every: int = 0) -> tuple[bytes, list[str], list[str]]:
    """n records (every ``bad_every``-th one invalid JSON): body, ids expected in results, ids in errors."""
    lines, good, bad = [], [], []
    for i in range(n):
        rid = f"{prefix}{i}"
        if bad_every and i % bad_every == bad_every - 1:
            lines.append(f'{{"id": "{rid}", "text": broken}}')
            bad.append(rid)
        else:
            lines.append(json.dumps({"id": rid, "text": f"w{i % 7} review number {i}"}))
            good.append(rid)
    return ("\n".join(lines) + "\n").encode(), good, bad


def check_exactly_once(w: World, name: str, good: list[str], bad: list[str], lines: int) -> dict[str, Any]:
    """The accounting invariant for incoming/sentiment/<name>; returns the summary."""
    STATS["scenarios"] += 1
    results = w.get(f"results/sentiment/{name}")
    summary_raw = w.get(f"results/sentiment/{name}.summary.json")
    errors_raw = w.get(f"errors/sentiment/{name}.errors.jsonl") or b""
    assert results is not None and summary_raw is not None, "a finished file has results and a summary"
    got = [json.loads(line)["id"] for line in results.decode().splitlines()]
    err_lines = [json.loads(line) for line in errors_raw.decode().splitlines()]
    bad_ids = [e["line"] for e in err_lines]
    lost = len(set(good) - set(got)) + len(bad) - len(set(bad_ids))
    dup = len(got) - len(set(got)) + len(bad_ids) - len(set(bad_ids))
    STATS["records_lost"] += max(0, lost)
    STATS["records_duplicated"] += max(0, dup)
    assert got == good, f"results: {len(got)} ids, {len(set(got))} distinct, expected {len(good)}"
    assert len(bad_ids) == len(bad) == len(set(bad_ids)), f"errors: {bad_ids[:10]}"
    s = json.loads(summary_raw)
    ok = (s["status"] == "complete" and s["counts"]["records"] == lines
          and s["counts"]["scored"] + s["counts"]["failed"] == s["counts"]["records"]
          and s["counts"]["scored"] == len(good) and s["counts"]["failed"] == len(bad))
    if not ok:
        STATS["summaries_wrong"] += 1
    assert ok, s["counts"]
    assert not w.snapshots_bad, w.snapshots_bad
    assert w.receive() == [] and w.sqs.receive_message(QueueUrl=w.dlq_url).get("Messages", []) == []
    ledgers = [o["Key"] for o in w.s3.list_objects_v2(Bucket=BUCKET, Prefix="_work/").get("Contents", [])
               if o["Key"].endswith(".ledger.json")]
    assert ledgers and all(json.loads(w.get(k))["phase"] == "done" for k in ledgers)
    return s


# -- A1: overlapping chains -----------------------------------------------------------------------------------

def test_duplicate_s3_event_while_the_first_chain_is_mid_file_is_a_no_op(world: World) -> None:
    body, good, bad = jsonl(3000, bad_every=97)
    world.put("incoming/sentiment/big.jsonl", body)
    world.expected["results/sentiment/big.jsonl"] = good
    event = world.receive()
    assert len(event) == 1
    dup_outcomes: list[str] = []

    def deliver_duplicate_mid_file(batch: int) -> None:  # the same event, delivered again, runs concurrently
        if batch in (5, 40):
            h = world.handler()
            world.task.hook = None
            h(sqs_event([event[0]], world.queue_arn), StepContext(30_000))
            dup_outcomes.extend(o["status"] for o in h.outcomes)
            world.task.hook = deliver_duplicate_mid_file

    world.task.hook = deliver_duplicate_mid_file
    world.invoke(world.handler(), event)
    world.drain(world.handler)
    world.task.hook = None
    # and the duplicate delivered once more after the chain finished
    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=event[0]["Body"])
    world.drain(world.handler)
    assert dup_outcomes and set(dup_outcomes) == {"skipped_in_progress"}
    check_exactly_once(world, "big.jsonl", good, bad, 3000)
    assert world.task.texts_scored == len(good)  # no record was scored twice


def test_same_bytes_reuploaded_while_the_first_chain_runs_is_a_no_op(world: World) -> None:
    body, good, bad = jsonl(3000, bad_every=101)
    world.put("incoming/sentiment/re.jsonl", body)
    world.expected["results/sentiment/re.jsonl"] = good

    def reupload(batch: int) -> None:
        if batch == 10:
            world.put("incoming/sentiment/re.jsonl", body)  # same ETag, new version, a second S3 event

    world.task.hook = reupload
    world.drain(world.handler)
    check_exactly_once(world, "re.jsonl", good, bad, 3000)
    assert world.task.texts_scored == len(good)


def test_new_bytes_uploaded_mid_chain_supersede_the_old_chain(world: World) -> None:
    old, _, _ = jsonl(3000, prefix="old")
    new, good, bad = jsonl(1200, prefix="new", bad_every=50)
    world.put("incoming/sentiment/v.jsonl", old)
    world.expected["results/sentiment/v.jsonl"] = good

    def overwrite(batch: int) -> None:
        if batch == 10:
            world.put("incoming/sentiment/v.jsonl", new)

    world.task.hook = overwrite
    world.drain(world.handler)
    check_exactly_once(world, "v.jsonl", good, bad, 1200)


def test_checkpoint_message_delivered_twice_sequentially_and_concurrently_is_a_no_op(world: World) -> None:
    body, good, bad = jsonl(3000, bad_every=89)
    world.put("incoming/sentiment/ck.jsonl", body)
    world.expected["results/sentiment/ck.jsonl"] = good
    copies = 0
    while messages := world.receive():
        for m in messages:  # every continuation message is delivered twice: now, and again later
            if "nlpserve_checkpoint" in m["Body"] and copies < 20:
                world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=m["Body"])
                copies += 1
        original = list(messages)

        def concurrent_copy(batch: int, original: list[dict[str, Any]] = original) -> None:
            if batch % 7 == 3:  # a copy of this invocation's messages runs while it holds the lease
                world.task.hook = None
                world.handler()(sqs_event(original, world.queue_arn), StepContext(30_000))
                world.task.hook = concurrent_copy

        world.task.hook = concurrent_copy
        world.invoke(world.handler(), messages)
        world.task.hook = None
    assert copies > 3
    check_exactly_once(world, "ck.jsonl", good, bad, 3000)
    assert world.task.texts_scored == len(good)


# -- A2 + crash anywhere: the matrix ---------------------------------------------------------------------------

def _clean_run_calls(tmp_world: World, body: bytes) -> int:
    tmp_world.put("incoming/sentiment/probe.jsonl", body)
    tmp_world.drain(tmp_world.handler)
    return len(tmp_world.calls)


@pytest.fixture(scope="module")
def matrix_size() -> int:
    """How many mutating S3/SQS calls a clean run of the matrix file makes (the crash points)."""
    import moto.s3.models as s3_models
    from moto import mock_aws

    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    old_min = s3_models.S3_UPLOAD_PART_MIN_SIZE
    s3_models.S3_UPLOAD_PART_MIN_SIZE = 256
    try:
        with mock_aws():
            s3 = boto3.client("s3", region_name=REGION)
            sqs = boto3.client("sqs", region_name=REGION)
            w = wire_bucket_to_queue(s3, sqs, BUCKET, "nlp-batch", max_receives=50, visibility=5400)
            world = World(s3, sqs, w["queue_url"], w["queue_arn"], w["dlq_url"], Clock(), EchoTask())
            return _clean_run_calls(world, MATRIX_BODY[0])
    finally:
        s3_models.S3_UPLOAD_PART_MIN_SIZE = old_min
        os.environ.clear()
        os.environ.update(saved)


MATRIX_BODY = jsonl(300, bad_every=31)
MATRIX_POINTS = range(1, 81)


@pytest.mark.parametrize("mode", ["kill_before", "kill_after", "error"])
@pytest.mark.parametrize("at", MATRIX_POINTS)
def test_a_failure_at_any_step_converges_to_exactly_one_complete_result(world: World, matrix_size: int,
                                                                        mode: str, at: int) -> None:
    """GIVEN a file that needs several checkpoints, WHEN the at-th mutating S3/SQS call fails (the process
    killed before or after it, or a 500), THEN the retries converge to one complete result + summary."""
    if at > matrix_size:
        pytest.skip(f"a clean run makes only {matrix_size} mutating calls")
    body, good, bad = MATRIX_BODY
    world.put("incoming/sentiment/probe.jsonl", body)
    world.expected["results/sentiment/probe.jsonl"] = good
    world.fault = Fault(at=at, mode=mode)
    outcomes = []
    for _ in range(100):
        messages = world.receive()
        if not messages:
            break
        outcomes.append(world.invoke(world.handler(), messages))
        world.fault.dead = False  # the next invocation is a fresh process
    assert world.fault.fired
    check_exactly_once(world, "probe.jsonl", good, bad, 300)


def test_the_matrix_covers_every_mutating_call_of_a_clean_run(matrix_size: int) -> None:
    assert 10 < matrix_size <= max(MATRIX_POINTS), f"widen MATRIX_POINTS to {matrix_size}"


# -- A6: throttling and outages ------------------------------------------------------------------------------

def test_three_throttles_in_a_row_are_ridden_out_by_the_retry_mode(world: World) -> None:
    """SlowDown (503) three times in a row on the same PUT, at several points of a file: the batch path's
    botocore retry mode (adaptive, bounded attempts) absorbs them; no message fails, nothing is lost."""
    from botocore.awsrequest import AWSResponse
    from botocore.retries import standard

    body, good, bad = jsonl(400, bad_every=40)
    world.put("incoming/sentiment/thr.jsonl", body)
    world.expected["results/sentiment/thr.jsonl"] = good
    settings = BatchSettings(batch_size=25, part_size=1024, checkpoint_interval_s=0.0, time_safety_ms=20_000)
    puts = {"n": 0, "throttled": 0}

    class _Raw:
        def stream(self, **_kw: Any) -> Iterator[bytes]:
            yield b""

    def throttle(request: Any, **_kw: Any) -> Any:
        if request.method != "PUT":
            return None
        puts["n"] += 1
        if puts["n"] % 6 in (1, 2, 3):  # three attempts in a row answered SlowDown, then three answered
            puts["throttled"] += 1
            resp = AWSResponse(request.url, 503, {}, _Raw())
            resp._content = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                             b"<Message>Please reduce your request rate.</Message></Error>")
            return resp
        return None

    from botocore.retries import adaptive

    original_delay = standard.ExponentialBackoff.delay_amount
    original_limit = adaptive.ClientRateLimiter.on_sending_request
    standard.ExponentialBackoff.delay_amount = lambda self, ctx: 0.0  # same retry decisions, no sleeping
    adaptive.ClientRateLimiter.on_sending_request = lambda self, request, **kw: None  # no client-side waits
    s3 = boto3.client("s3", region_name=REGION, config=settings.client_config())
    s3.meta.events.register_first("before-send.s3", throttle)
    try:
        handler = BatchHandler(settings, s3=s3, sqs=world.sqs, task_resolver=lambda _n: world.task,
                               clock=world.clock)
        statuses = []
        while messages := world.receive():
            statuses.append(world.invoke(handler, messages))
    finally:
        standard.ExponentialBackoff.delay_amount = original_delay
        adaptive.ClientRateLimiter.on_sending_request = original_limit
    assert puts["throttled"] >= 9 and statuses and set(statuses) == {"ok"}, (puts, statuses)
    check_exactly_once(world, "thr.jsonl", good, bad, 400)


def test_an_outage_mid_file_resumes_from_the_last_checkpoint_not_from_line_zero(world: World) -> None:
    body, good, bad = jsonl(1000, bad_every=50)
    world.put("incoming/sentiment/out.jsonl", body)
    world.expected["results/sentiment/out.jsonl"] = good
    world.fault = Fault(at=25, mode="error")  # an S3 call fails for good (retries exhausted) mid-file
    statuses = []
    for _ in range(50):
        messages = world.receive()
        if not messages:
            break
        statuses.append(world.invoke(world.handler(budget_ms=10_000_000), messages, budget_ms=10_000_000))
    assert "partial" in statuses
    check_exactly_once(world, "out.jsonl", good, bad, 1000)
    rescored = world.task.texts_scored - len(good)
    assert 0 <= rescored <= 25, f"{rescored} records scored twice: the retry did not resume from the checkpoint"


def test_zz_report_the_fault_matrix_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the counts for the closing note (run with -s): scenarios, lost, duplicated, wrong summaries."""
    with capsys.disabled():
        print(f"\n[batch fault matrix] {json.dumps(STATS)}")
    assert STATS["records_lost"] == STATS["records_duplicated"] == STATS["summaries_wrong"] == 0
