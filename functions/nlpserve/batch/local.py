"""Local loop without AWS or Docker: moto's server as S3 + SQS, the real wiring, a Lambda-like poller.

``LocalLoop`` starts ``moto.server.ThreadedMotoServer`` on 127.0.0.1, creates the bucket, the queue with a
DLQ (redrive ``maxReceiveCount``) and the same S3 -> SQS ObjectCreated notification the stack deploys
(prefix ``incoming/`` + one suffix filter per accepted extension), then polls the queue like Lambda's SQS
event source mapping: up to ``batch_size`` messages -> one SQS event -> the real ``BatchHandler`` ->
delete every message not listed in ``batchItemFailures``. Failed messages become visible again after
``retry_delay`` seconds (Lambda waits for the queue's visibility timeout; the local loop shortens it).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import boto3

from nlpserve.batch.config import BatchSettings
from nlpserve.handlers.batch import BatchHandler

REGION = "us-east-1"
SUFFIXES = (".jsonl", ".ndjson", ".csv", ".txt", ".md", ".gz")


def wire_bucket_to_queue(s3: Any, sqs: Any, bucket: str, queue: str, *, prefix: str = "incoming/",
                         max_receives: int = 3, visibility: int = 960) -> dict[str, str]:
    """Bucket + queue + DLQ + ObjectCreated notification (prefix filter + one suffix filter per extension)."""
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    dlq_url = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=queue, Attributes={
        "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"Id": f"nlpserve{sfx}", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}, {"Name": "suffix", "Value": sfx}]}}}
        for sfx in SUFFIXES
    ]})
    return {"queue_url": url, "queue_arn": arn, "dlq_url": dlq_url, "dlq_arn": dlq_arn}


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping sends for these received messages."""
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": {
            "ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
            "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0"),
            "SenderId": "AIDALOCAL",
            "ApproximateFirstReceiveTimestamp": m.get("Attributes", {}).get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {},
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


class LocalContext:
    """Enough of the Lambda context: a deadline ``timeout_s`` after creation."""

    def __init__(self, timeout_s: float, function_name: str = "nlpserve-batch-local") -> None:
        self._deadline = time.monotonic() + timeout_s
        self.function_name = function_name
        self.memory_limit_in_mb = 3008
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.aws_request_id = f"local-{time.time_ns()}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clients(endpoint_url: str | None, region: str = REGION) -> tuple[Any, Any]:
    kw: dict[str, Any] = {"region_name": region, "config": BatchSettings.from_env().client_config()}
    if endpoint_url:
        kw.update(endpoint_url=endpoint_url, aws_access_key_id="local", aws_secret_access_key="local")
    return boto3.client("s3", **kw), boto3.client("sqs", **kw)


class LocalLoop:
    def __init__(
        self,
        *,
        port: int | None = None,
        bucket: str = "nlp-local",
        queue: str = "nlp-batch",
        batch_size: int = 10,
        timeout_s: float = 900.0,
        retry_delay_s: int = 5,
        max_receives: int = 3,
        settings: BatchSettings | None = None,
        task_resolver: Any = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.bucket = bucket
        self.queue = queue
        self.batch_size = min(10, max(1, batch_size))
        self.timeout_s = timeout_s
        self.retry_delay_s = retry_delay_s
        self.max_receives = max_receives
        self.settings = (settings or BatchSettings.from_env()).with_overrides(max_receives=max_receives,
                                                                              bucket=bucket)
        self.task_resolver = task_resolver
        self._external_endpoint = endpoint_url
        self.server: Any = None
        self.endpoint_url = endpoint_url or f"http://127.0.0.1:{self.port}"
        self.wiring: dict[str, str] = {}
        self._stop = threading.Event()
        self.invocations = 0
        self.handler: BatchHandler | None = None

    def start(self) -> LocalLoop:
        if self._external_endpoint is None:
            import logging

            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
            self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            self.server.start()
        self.s3, self.sqs = clients(self.endpoint_url)
        self.wiring = wire_bucket_to_queue(self.s3, self.sqs, self.bucket, self.queue,
                                           prefix=self.settings.incoming_prefix, max_receives=self.max_receives,
                                           visibility=int(self.timeout_s) + 60)
        kw = {"task_resolver": self.task_resolver} if self.task_resolver else {}
        self.handler = BatchHandler(self.settings, s3=self.s3, sqs=self.sqs, **kw)
        return self

    def poll_once(self, wait_s: int = 1) -> dict[str, Any] | None:
        """One Lambda-like invocation over up to ``batch_size`` messages; None when the queue was empty."""
        assert self.handler is not None, "start() first"
        messages = self.sqs.receive_message(
            QueueUrl=self.wiring["queue_url"], MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return None
        response = self.handler(sqs_event(messages, self.wiring["queue_arn"]), LocalContext(self.timeout_s))
        self.invocations += 1
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.wiring["queue_url"], ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=self.retry_delay_s)
            else:
                self.sqs.delete_message(QueueUrl=self.wiring["queue_url"], ReceiptHandle=m["ReceiptHandle"])
        return response

    def run(self, until_idle: bool = False, idle_polls: int = 2) -> None:
        """Poll until ``stop()`` (or, with ``until_idle``, until the queue stayed empty ``idle_polls`` times)."""
        idle = 0
        while not self._stop.is_set():
            if self.poll_once() is None:
                idle += 1
                if until_idle and idle >= idle_polls:
                    return
            else:
                idle = 0

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> LocalLoop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
