"""Lambda entry point of the S3 -> SQS batch scoring function: Powertools' BatchProcessor with
ReportBatchItemFailures around ``nlpserve.batch.processor.ObjectProcessor``.

Each SQS record is one message (an S3 event, a continuation checkpoint or the S3 test event). A record that
raises is reported in ``batchItemFailures`` so only it is retried; SQS moves it to the DLQ after the queue's
``maxReceiveCount`` receives. The handler logs a clear "giving up" line on the last allowed receive
(``NLP_MAX_RECEIVES`` must equal the redrive policy's ``maxReceiveCount``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from nlpserve.batch.config import BatchSettings
from nlpserve.batch.events import jobs_from_body
from nlpserve.batch.processor import ObjectProcessor, Outcome, default_task_resolver

logger = Logger(service="nlpserve-batch")
metrics = Metrics(namespace="nlpserve", service="batch")


def queue_url_from_arn(sqs: Any, arn: str | None) -> str | None:
    """arn:aws:sqs:<region>:<account>:<name> -> the queue URL (continuations go back to the source queue)."""
    if not arn or not arn.startswith("arn:aws:sqs:"):
        return None
    parts = arn.split(":")
    try:
        return sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
    except Exception:
        logger.exception("cannot resolve the source queue URL; continuation disabled", extra={"arn": arn})
        return None


class BatchHandler:
    """Callable Lambda handler; clients and settings are injectable for tests and the local loop."""

    def __init__(
        self,
        settings: BatchSettings | None = None,
        *,
        s3: Any = None,
        sqs: Any = None,
        task_resolver: Any = default_task_resolver,
        clock: Any = time.time,
    ) -> None:
        self.settings = settings or BatchSettings.from_env()
        self.clock = clock  # wall clock for leases (tests move it forward to expire a dead holder's lease)
        self._s3 = s3
        self._sqs = sqs
        self.task_resolver = task_resolver
        self._queue_urls: dict[str, str | None] = {}
        self.outcomes: list[Outcome] = []  # last invocation's outcomes (tests, local loop)
        self._budget_at_start: int | None = None

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = boto3.client("s3", config=self.settings.client_config())
        return self._s3

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = boto3.client("sqs", config=self.settings.client_config())
        return self._sqs

    def _queue_url(self, arn: str | None) -> str | None:
        if self.settings.queue_url:
            return self.settings.queue_url
        if arn not in self._queue_urls:
            self._queue_urls[arn or ""] = queue_url_from_arn(self.sqs, arn)
        return self._queue_urls.get(arn or "")

    def record_handler(self, record: SQSRecord, context: Any) -> list[Outcome]:
        receives = int(record.attributes.approximate_receive_count or 1)
        logger.append_keys(message_id=record.message_id, receive_count=receives)
        try:
            jobs = jobs_from_body(record.body)
            if not jobs:
                logger.info("message ignored (s3:TestEvent or not an ObjectCreated event)")
                return []
            remaining = getattr(context, "get_remaining_time_in_millis", None)
            processor = ObjectProcessor(self.s3, self.settings, sqs=self.sqs, task_resolver=self.task_resolver,
                                        logger=logger, invocation_budget_ms=self._budget_at_start,
                                        clock=self.clock)
            queue_url = self._queue_url(record.event_source_arn)
            outcomes = []
            for job in jobs:
                logger.append_keys(s3_key=job.key)
                outcome = processor.process(job, remaining, queue_url)
                outcomes.append(outcome)
                self.outcomes.append(outcome)
                _emit_metrics(outcome)
            return outcomes
        except Exception as exc:
            if receives >= self.settings.max_receives:
                logger.error(
                    f"giving up on message {record.message_id} after {receives} receives: it goes to the DLQ "
                    f"(maxReceiveCount={self.settings.max_receives})",
                    extra={"error": repr(exc)[:500], "body": record.body[:1000]},
                )
                metrics.add_metric(name="MessagesToDLQ", unit=MetricUnit.Count, value=1)
            else:
                logger.warning(
                    f"message failed (receive {receives} of {self.settings.max_receives}); SQS will retry it",
                    extra={"error": repr(exc)[:500]},
                )
            raise
        finally:
            logger.remove_keys(["message_id", "receive_count", "s3_key"])

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.outcomes = []
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        self._budget_at_start = remaining() if remaining else None
        # Report every failure in batchItemFailures (also when all failed) instead of raising: same retry
        # semantics for SQS, and the invocation itself does not count as a Lambda error.
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(
            event=event,
            record_handler=lambda record: self.record_handler(record, context),
            processor=processor,
            context=context,
        )


def _emit_metrics(outcome: Outcome) -> None:
    status = outcome.get("status")
    if status == "completed":
        metrics.add_metric(name="FilesCompleted", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RecordsScored", unit=MetricUnit.Count, value=outcome.get("scored", 0))
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=outcome.get("failed", 0))
    elif status in ("checkpointed", "deferred"):
        metrics.add_metric(name="Checkpoints", unit=MetricUnit.Count, value=1)
    elif status == "failed_permanent":
        metrics.add_metric(name="FilesFailed", unit=MetricUnit.Count, value=1)
    elif status and status.startswith("skipped"):
        metrics.add_metric(name="FilesSkipped", unit=MetricUnit.Count, value=1)


_default: BatchHandler | None = None


def get_default_handler() -> BatchHandler:
    global _default
    if _default is None:
        _default = BatchHandler()
    return _default


def reset_default_handler() -> None:
    """Forget the cached clients/settings (tests that change the environment)."""
    global _default
    _default = None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return get_default_handler()(event, context)


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # load the models at init, not on the first message
    from nlpserve.tasks import get_task

    for _name in get_default_handler().settings.tasks:
        get_task(_name).warm()

handler = lambda_handler
