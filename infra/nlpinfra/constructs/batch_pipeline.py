"""BatchPipeline: S3 ObjectCreated (input prefix only) -> SQS (with DLQ) -> one batch Lambda function.

Why ONE queue and ONE batch function routing by key prefix (``incoming/<task>/``) instead of one per task:
one queue, one DLQ and one set of alarms to watch and redrive; one notification rule; and S3 forbids
overlapping notification filters anyway. The cost is that the batch function carries the model layers of
every enabled task; the stack checks that this stays within Lambda's 250 MB / 5-layer quotas at synth time.

Default settings:

* queue and DLQ: SSE (SQS-managed keys), TLS-only queue policies; DLQ keeps messages 14 days;
* ``maxReceiveCount`` from config (default 3); visibility timeout = factor (>= 6) x function timeout;
* the S3 notification filters on ``input_prefix`` only, so writes to the results/errors prefixes can
  never re-trigger the pipeline (config validation rejects overlapping prefixes);
* event source: small batches, ``ReportBatchItemFailures``, bounded ``maximumConcurrency``;
* IAM on the bucket (``batch_bucket_statements``), matching what ``nlpserve.batch`` does:

  - read objects (GetObject/GetObjectVersion) only under ``<input_prefix>``;
  - read/write/delete its own outputs only under ``<results_prefix>`` and ``<errors_prefix>`` (the summary is
    the idempotency check; a HEAD recognises an output an earlier attempt already committed; ListParts checks
    a resumed upload; Delete removes a stale output of an older version of the same key);
  - read/write/delete only under ``<work_prefix>`` (the ledgers and the spilled tails of the commit protocol);
  - ``s3:ListBucket`` on the bucket: S3 answers 404 instead of 403 for a missing key only with it, and
    the idempotency check and the work-prefix cleanup rely on that (it lists key names, never content);
  - nothing under the trigger prefix but reads, no bucket configuration.

  Plus consume the queue and send to it (continuation checkpoints).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..config import BatchSettings


def batch_bucket_statements(bucket: s3.IBucket, settings: BatchSettings) -> list[iam.PolicyStatement]:
    """The batch function's S3 permissions, prefix by prefix (see the module docstring)."""
    return [
        iam.PolicyStatement(
            sid="ReadInputPrefix",
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[bucket.arn_for_objects(f"{settings.input_prefix}*")],
        ),
        iam.PolicyStatement(
            sid="OwnOutputPrefixes",
            # Get: the commit markers (idempotency) and HEAD of an output to recognise a completed commit;
            # ListMultipartUploadParts: a resume checks the upload's parts against the ledger;
            # Delete: a stale errors/results object of an older version of the same key.
            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                     "s3:DeleteObject"],
            resources=[
                bucket.arn_for_objects(f"{settings.results_prefix}*"),
                bucket.arn_for_objects(f"{settings.errors_prefix}*"),
            ],
        ),
        iam.PolicyStatement(
            sid="WorkPrefix",
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            resources=[bucket.arn_for_objects(f"{settings.work_prefix}*")],
        ),
        iam.PolicyStatement(
            sid="ListForNotFound",
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
        ),
    ]


class BatchPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        function: lambda_.Function,
        settings: BatchSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or BatchSettings()
        self.settings = settings

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(settings.timeout_s * settings.visibility_timeout_factor),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=settings.max_receive_count
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )

        # Only objects created under the input prefix notify the queue.
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=settings.input_prefix),
        )

        function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=settings.batch_size,
                report_batch_item_failures=True,
                max_concurrency=settings.max_concurrency,
            )
        )
        self.queue.grant_send_messages(function)  # continuation checkpoints go back to the same queue

        for statement in batch_bucket_statements(bucket, settings):
            function.add_to_role_policy(statement)
        self.function = function
