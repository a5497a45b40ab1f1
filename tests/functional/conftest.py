"""Fixtures for the batch (S3 -> SQS -> Lambda) functional tests: moto in-process, real wiring.

``batch_env`` creates the bucket, the queue with its DLQ (redrive maxReceiveCount) and the bucket -> queue
notification (prefix ``incoming/``, one suffix filter per accepted extension) exactly as the CDK stack does;
moto then delivers real S3 event messages to the queue. ``BatchEnv.drain()`` plays the Lambda event source
mapping: it receives up to ``batch_size`` messages, builds the SQS event Lambda would send, calls the real
handler, deletes the messages not listed in ``batchItemFailures`` and makes the failed ones visible again.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from nlpserve.batch.local import sqs_event, wire_bucket_to_queue

REGION = "us-east-1"
BUCKET = "nlp-batch-test"


@dataclass
class FakeContext:
    """The bits of the Lambda context the handler uses; ``budget_ms`` per invocation."""

    budget_ms: int = 900_000
    function_name: str = "nlpserve-batch"
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:nlpserve-batch"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class BatchEnv:
    s3: Any
    sqs: Any
    bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    responses: list[dict[str, Any]] = field(default_factory=list)

    def put(self, key: str, body: bytes | str, **kw: Any) -> dict[str, Any]:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, **kw)

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except Exception:  # noqa: BLE001
            return False

    def keys(self, prefix: str = "") -> list[str]:
        resp = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in resp.get("Contents", []))

    def jsonl(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.get(key).decode("utf-8").splitlines() if line]

    def receive(self, n: int = 10) -> list[dict[str, Any]]:
        return self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=n, WaitTimeSeconds=0,
                                        AttributeNames=["All"]).get("Messages", [])

    def invoke(self, handler: Any, messages: list[dict[str, Any]], budget_ms: int = 900_000) -> dict[str, Any]:
        """One Lambda invocation over ``messages`` with Lambda's delete / keep semantics."""
        response = handler(sqs_event(messages, self.queue_arn), FakeContext(budget_ms))
        self.responses.append(response)
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return response

    def drain(self, handler: Any, batch_size: int = 10, budget_ms: int = 900_000, max_invocations: int = 200) -> int:
        """Invoke the handler until the queue is empty; returns the number of invocations."""
        count = 0
        while count < max_invocations:
            messages = self.receive(batch_size)
            if not messages:
                return count
            self.invoke(handler, messages, budget_ms)
            count += 1
        raise AssertionError("queue did not drain")

    def dlq_messages(self) -> list[dict[str, Any]]:
        return self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10).get("Messages", [])


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def batch_env(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    import moto.s3.models as s3_models
    from moto import mock_aws

    # Lets tests exercise multi-part uploads with small parts (S3 itself requires 5 MiB but the last part).
    monkeypatch.setattr(s3_models, "S3_UPLOAD_PART_MIN_SIZE", 256)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        w = wire_bucket_to_queue(s3, sqs, BUCKET, "nlp-batch", max_receives=3, visibility=30)
        env = BatchEnv(s3, sqs, BUCKET, w["queue_url"], w["queue_arn"], w["dlq_url"])
        yield env


os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "nlpserve-tests")
