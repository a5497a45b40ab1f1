"""TaskFunction: one Lambda function with its layers, its own log group and a least-privilege role.

Default settings (override any ``aws_lambda.Function`` prop through ``function_props``):

* its own IAM role with NO managed policies; it may write only to its own log group;
* a dedicated CloudWatch log group with a retention (no LogRetention custom resource); log lines are
  JSON from Powertools' Logger, so the Lambda log format stays Text and POWERTOOLS_LOG_LEVEL is not
  overridden by Lambda's advanced logging controls;
* X-Ray active tracing (configurable);
* ``reserved_concurrency`` when configured; ``provisioned_concurrency`` publishes a version and a
  ``live`` alias carrying it (``target`` is then the alias, which API routes should invoke).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..config import FunctionSettings


class TaskFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        code: lambda_.Code,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        layers: Sequence[lambda_.ILayerVersion],
        settings: FunctionSettings,
        environment: Mapping[str, str],
        description: str,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        tracing: bool = True,
        function_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {construct_id} function (no managed policies)",
        )
        self.log_group.grant_write(self.role)

        props: dict[str, Any] = dict(  # noqa: C408 - keyword form mirrors lambda_.Function's signature
            runtime=runtime,
            architecture=architecture,
            handler=handler,
            code=code,
            layers=list(layers),
            memory_size=settings.memory_mb,
            timeout=Duration.seconds(settings.timeout_s),
            # NLP_THREADS from the memory size unless the caller sets it (FunctionSettings.threads).
            environment={"NLP_THREADS": str(settings.threads), **environment},
            description=description,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
            reserved_concurrent_executions=settings.reserved_concurrency,
        )
        props.update(function_props or {})
        self.function = lambda_.Function(self, "Function", **props)
        self.settings = settings

        self.alias: lambda_.Alias | None = None
        if settings.provisioned_concurrency:
            self.alias = lambda_.Alias(
                self,
                "LiveAlias",
                alias_name="live",
                version=self.function.current_version,
                provisioned_concurrent_executions=settings.provisioned_concurrency,
            )

    @property
    def target(self) -> lambda_.IFunction:
        """What callers should invoke: the provisioned ``live`` alias if any, else the function."""
        return self.alias or self.function
