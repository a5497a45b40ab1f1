"""DataBucket: the S3 bucket batch inputs are uploaded to and results are written to.

Default settings:

* Block Public Access (all four), ACLs disabled (bucket owner enforced);
* SSE-S3 encryption; a bucket policy denying any request without TLS (``aws:SecureTransport``) and
  TLS below 1.2;
* versioning; lifecycle: results and errors expire after ``results_retention_days``, inputs after
  ``input_retention_days`` (if set), leftover work objects after
  ``work_retention_days``, non-current versions after ``noncurrent_version_retention_days``,
  incomplete multipart uploads after 7 days;
* server access logs to a separate, equally locked-down log bucket (expires logs after
  ``access_log_retention_days``);
* ``RemovalPolicy.RETAIN`` on both buckets: ``cdk destroy`` never deletes data.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct


class DataBucket(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str | None = None,
        output_prefixes: Sequence[str] = ("results/", "errors/"),
        input_prefix: str = "incoming/",
        work_prefix: str | None = "_work/",
        work_retention_days: int = 7,
        results_retention_days: int = 30,
        input_retention_days: int | None = None,
        noncurrent_version_retention_days: int = 30,
        access_log_retention_days: int = 90,
    ) -> None:
        super().__init__(scope, construct_id)

        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,  # server access logs cannot target SSE-KMS buckets
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(access_log_retention_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

        rules = [
            s3.LifecycleRule(
                id=f"expire-{prefix.rstrip('/').replace('/', '-')}",
                prefix=prefix,
                expiration=Duration.days(results_retention_days),
            )
            for prefix in output_prefixes
        ]
        if work_prefix:
            rules.append(
                s3.LifecycleRule(
                    id="expire-work", prefix=work_prefix, expiration=Duration.days(work_retention_days)
                )
            )
        if input_retention_days:
            rules.append(
                s3.LifecycleRule(
                    id="expire-inputs", prefix=input_prefix, expiration=Duration.days(input_retention_days)
                )
            )
        rules.append(
            s3.LifecycleRule(
                id="noncurrent-and-incomplete",
                noncurrent_version_expiration=Duration.days(noncurrent_version_retention_days),
                abort_incomplete_multipart_upload_after=Duration.days(7),
                expired_object_delete_marker=True,
            )
        )

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=rules,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="data-bucket/",
            removal_policy=RemovalPolicy.RETAIN,
        )
