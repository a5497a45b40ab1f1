"""cdk-nag (3.x): the rule packs, and EVERY acknowledged finding in one place, each with its reason.

Fixed in the constructs rather than acknowledged: own execution roles without managed policies
(AwsSolutions-IAM4), log groups with retention, TLS-only bucket/queue/topic policies, bucket access
logs, public access blocks, queue encryption and DLQ, API access logs, throttling and authorizers on
every route, KMS key rotation for the alarm topic.

What is left is by design, listed below. Acknowledgments are attached to the narrowest construct
(one function, one queue) and to the exact finding id (e.g. ``AwsSolutions-IAM5[Resource::...]``), so a
new finding elsewhere still fails ``cdk synth`` and the tests.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

from .stack import NlpServiceStack

#: The singleton Lambda that ``bucket.add_event_notification`` creates (fixed id inside aws-cdk-lib).
NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"

REASONS = {
    "xray": (
        "X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions; "
        "'*' is the only valid resource (added by CDK for active tracing)."
    ),
    "runtime": (
        "The runtime is pinned to the Python version the runtime layer's compiled wheels (numpy, "
        "onnxruntime) were built for (python_version in config, default 3.12, a supported Lambda runtime); "
        "moving to a newer runtime means rebuilding the layer, so it is a deliberate config change."
    ),
    "dlq_sync": (
        "API functions are only invoked synchronously by API Gateway: errors return to the client, "
        "there are no asynchronous events to dead-letter."
    ),
    "dlq_batch": (
        "The batch function is invoked only by its SQS event source mapping; failed messages go to the "
        "source queue's dead-letter queue through its redrive policy (maxReceiveCount), not to a "
        "function-level DLQ, which Lambda uses only for asynchronous invocations."
    ),
    "esm_destination": (
        "Lambda event source mappings support OnFailure destinations only for stream and Kafka sources, "
        "not SQS; failures of this SQS source go to the queue's dead-letter queue via its redrive policy."
    ),
    "dlq_redrive": "This queue IS the dead-letter queue of the batch queue; a DLQ of a DLQ adds nothing.",
    "notification_dlq": (
        "This queue IS the dead-letter queue of the alarm e-mail subscription (SNS RedrivePolicy); "
        "cdk-nag only recognises queues referenced by another queue's redrive policy as DLQs."
    ),
    "input_prefix": (
        "Read access is scoped to the input prefix; the wildcard only stands for the object key under "
        "that prefix, which is not known in advance (uploads by users)."
    ),
    "output_prefix": (
        "Access is scoped to a result/error prefix; the wildcard only stands for the deterministic output keys "
        "the batch function derives from each input object. It reads them back to commit exactly once (the "
        "summary is the commit marker; a HEAD recognises an output an earlier attempt already completed)."
    ),
    "work_prefix": (
        "The work prefix holds only the function's own commit-protocol ledgers and spilled tails; their keys "
        "derive from the input key and ETag, so only a prefix wildcard can name them."
    ),
    "notifications_handler": (
        "CDK-internal custom resource that configures the bucket's S3 -> SQS notification during "
        "deployment only; its role and managed policy are defined by aws-cdk-lib, not by this app."
    ),
}


def add_nag_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True),
        ServerlessChecks(app, verbose=True),
    )


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def acknowledge_findings(stack: NlpServiceStack) -> None:
    """Acknowledge the by-design findings of ``stack`` (see ``REASONS``)."""
    functions = {**stack.task_functions, "meta": stack.meta_function, "batch": stack.batch_function}
    for name, task_fn in functions.items():
        if stack.config.tracing:
            acknowledge(task_fn.role, "AwsSolutions-IAM5[Resource::*]", REASONS["xray"])
        acknowledge(task_fn.function, "AwsSolutions-L1", REASONS["runtime"])
        acknowledge(task_fn.function, "Serverless::Serverless-LambdaLatestVersion", REASONS["runtime"])
        acknowledge(
            task_fn.function,
            "Serverless::Serverless-LambdaDLQ",
            REASONS["dlq_batch" if name == "batch" else "dlq_sync"],
        )

    batch_fn = stack.batch_function.function
    acknowledge(
        batch_fn, "Serverless::Serverless-LambdaEventSourceMappingDestination", REASONS["esm_destination"]
    )
    acknowledge(
        stack.batch.dead_letter_queue, "Serverless::Serverless-SQSRedrivePolicy", REASONS["dlq_redrive"]
    )

    notification_dlq = stack.monitoring.notification_dlq
    if notification_dlq is not None:
        acknowledge(notification_dlq, "AwsSolutions-SQS3", REASONS["notification_dlq"])
        acknowledge(notification_dlq, "Serverless::Serverless-SQSRedrivePolicy", REASONS["notification_dlq"])

    bucket_id = stack.get_logical_id(stack.data.bucket.node.default_child)
    settings = stack.config.batch
    acknowledge(
        stack.batch_function.role,
        f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{settings.input_prefix}*]",
        REASONS["input_prefix"],
    )
    for prefix in (settings.results_prefix, settings.errors_prefix):
        acknowledge(
            stack.batch_function.role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}*]",
            REASONS["output_prefix"],
        )
    acknowledge(
        stack.batch_function.role,
        f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{settings.work_prefix}*]",
        REASONS["work_prefix"],
    )

    handler = stack.node.try_find_child(NOTIFICATIONS_HANDLER_ID)
    if handler is not None:
        acknowledge(
            handler,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            REASONS["notifications_handler"],
        )
