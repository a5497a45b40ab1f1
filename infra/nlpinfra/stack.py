"""NlpServiceStack: wires config -> layers -> task functions -> HTTP API, batch pipeline, monitoring.

Environment-agnostic (no account/region, no lookups): ``cdk synth`` needs no credentials or network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Size, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from nlpserve import catalog as nlp_catalog
from nlpserve.catalog import CUSTOM_CLASSIFIERS, bundle_of

from . import artifacts
from .catalog import (
    BATCH_HANDLER,
    BROUGHT_ONLY_FUNCTIONS,
    META_FUNCTION,
    NON_BATCH_TASKS,
    TASK_FUNCTIONS,
    brought_function,
    bundles_for,
    served_tasks,
)
from .config import FunctionSettings, ServiceConfig
from .constructs.batch_pipeline import BatchPipeline
from .constructs.data_bucket import DataBucket
from .constructs.monitoring import MonitoredFunction, Monitoring
from .constructs.task_api import ApiAuth, ApiRoute, TaskApi
from .constructs.task_function import TaskFunction

RUNTIMES = {"3.12": lambda_.Runtime.PYTHON_3_12, "3.13": lambda_.Runtime.PYTHON_3_13}
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}

_RETENTION_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def retention(days: int) -> logs.RetentionDays:
    """The CloudWatch retention value closest to ``days`` from above."""
    for limit in sorted(_RETENTION_BY_DAYS):
        if days <= limit:
            return _RETENTION_BY_DAYS[limit]
    return logs.RetentionDays.TWO_YEARS


def model_catalog(config: ServiceConfig) -> list[dict[str, Any]]:
    """``NLP_MODEL_CATALOG`` entries for the served tasks, from ``<models_dir>/<bundle>/manifest.json``. A task
    without a model bundle (language) has none: its model is in the runtime layer, so the meta function reads
    its card directly. A seq2seq bundle the user brought (``seq2seq_models``) is the entry of a task that has no
    bundle of its own (translate), or is listed under ``brought`` in the entry of the task it serves (summarize's
    abstractive mode)."""
    brought: dict[str, list[dict[str, Any]]] = {}
    for name in config.seq2seq_models:
        function = brought_function(name)
        task = next(t for t in TASK_FUNCTIONS[function].tasks if nlp_catalog.entry(t).brought
                    and name.startswith(nlp_catalog.entry(t).brought))
        brought.setdefault(task, []).append(_catalog_entry(config, task, name))
    entries = []
    for task in served_tasks(config.tasks):
        bundle = bundle_of(task)
        if bundle is None:
            entries += brought.get(task, [])[:1]
            continue
        entry = _catalog_entry(config, task, bundle)
        if task in brought:
            entry["brought"] = brought[task]
        entries.append(entry)
    return entries


def _catalog_entry(config: ServiceConfig, task: str, bundle: str) -> dict[str, Any]:
    manifest: dict[str, Any] = {}
    path = Path(config.models_dir) / bundle / "manifest.json"
    if path.is_file():
        try:
            manifest = json.loads(path.read_text())
        except ValueError:
            manifest = {}
    source = manifest.get("source") or {}
    return {"task": task, "bundle": bundle, "version": manifest.get("version"),
            "license": source.get("license") if isinstance(source, dict) else None}


class NlpServiceStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: ServiceConfig, **kwargs: Any) -> None:
        kwargs.setdefault(
            "description", "nlpserve: serverless NLP model-as-a-service (HTTP API + S3/SQS batch scoring)"
        )
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        Tags.of(self).add("service", config.service_name)

        runtime = RUNTIMES[config.python_version]
        architecture = ARCHITECTURES[config.architecture]
        log_retention = retention(config.log_retention_days)

        # ---- artifacts: fail early and clearly if a zip is missing or a function would be too big
        runtime_artifact = artifacts.load_layer(
            config.layers_dir, artifacts.runtime_layer_name(config.python_version, config.architecture)
        )
        model_artifacts = {
            bundle: artifacts.load_layer(config.layers_dir, artifacts.model_layer_name(bundle))
            for bundle in bundles_for(config.tasks)
        }
        if not Path(config.code_dir).is_dir():
            raise artifacts.ArtifactError(f"Function code directory not found: {config.code_dir}")
        code_bytes = artifacts.directory_size(config.code_dir)
        self.function_sizes: dict[str, int] = {}

        def layer_artifacts(bundles: list[str]) -> list[artifacts.LayerArtifact]:
            return [runtime_artifact, *(model_artifacts[b] for b in bundles)]

        # ---- layers (one LayerVersion per zip, shared by the functions that need it)
        self.runtime_layer = lambda_.LayerVersion(
            self,
            "RuntimeLayer",
            code=lambda_.Code.from_asset(str(runtime_artifact.zip_path)),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description=f"nlpserve runtime (python {config.python_version}, {config.architecture}) "
            f"sha256 {runtime_artifact.sha256[:12]}",
        )
        self.model_layers: dict[str, lambda_.LayerVersion] = {
            bundle: lambda_.LayerVersion(
                self,
                f"ModelLayer{bundle.capitalize()}",
                code=lambda_.Code.from_asset(str(art.zip_path)),
                compatible_runtimes=[runtime],
                compatible_architectures=list(ARCHITECTURES.values()),
                description=f"nlpserve model bundle '{bundle}' at /opt/models/{bundle} sha256 {art.sha256[:12]}",
            )
            for bundle, art in model_artifacts.items()
        }

        code = lambda_.Code.from_asset(str(config.code_dir), exclude=artifacts.CODE_EXCLUDES)
        all_tasks = served_tasks(config.tasks)
        batch_tasks = [t for t in all_tasks if t not in NON_BATCH_TASKS]
        # Bundles ride in layers while a function has layer slots (runtime + 4 models: Lambda allows 5); the
        # rest, and the custom classifiers (served by the classify and batch functions), ride in the function's
        # own code asset under models/, found through NLP_EXTRA_MODELS_DIRS=/var/task/models.
        family = CUSTOM_CLASSIFIERS
        custom_bundles = [family.prefix + name for name in config.custom_classifiers]
        batch_tasks += custom_bundles
        # Seq2seq bundles the user brought (translate-*, summarize-*) ride in the code of the function that serves
        # them and of the batch function, from models_dir, as custom classifiers do.
        brought = {name: brought_function(name) for name in config.seq2seq_models}
        from_models_dir = [*custom_bundles, *brought]
        if not config.seq2seq_batch:  # the functions that only serve brought bundles leave batch
            brought_only = {t for f in brought.values() if f in BROUGHT_ONLY_FUNCTIONS for t in TASK_FUNCTIONS[f].tasks}
            batch_tasks = [t for t in batch_tasks if t not in brought_only]
        staging_root = Path(config.layers_dir).parent / "function-code"
        staged_code: dict[tuple[str, ...], tuple[Any, int]] = {}

        def code_for(code_bundles: list[str], extra_bytes: int) -> tuple[Any, int]:
            """(Code asset, unzipped bytes) of the function code plus ``code_bundles``; shared by functions
            that carry the same bundles."""
            key = tuple(code_bundles)
            if not key:
                return code, code_bytes
            if key not in staged_code:
                staged = artifacts.stage_code_with_bundles(
                    config.code_dir, staging_root / "+".join(key),
                    dirs={b: Path(config.models_dir) / b for b in key if b in from_models_dir},
                    zips={b: model_artifacts[b].zip_path for b in key if b not in from_models_dir})
                staged_code[key] = (lambda_.Code.from_asset(str(staged)), code_bytes + extra_bytes +
                                    sum(artifacts.directory_size(Path(config.models_dir) / b)
                                        for b in key if b in from_models_dir))
            return staged_code[key]

        base_env = {
            "NLP_MODELS_DIR": "/opt/models",
            "POWERTOOLS_SERVICE_NAME": config.service_name,
            "POWERTOOLS_METRICS_NAMESPACE": config.metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            "NLP_MAX_ITEMS": str(config.max_items),
            "NLP_MAX_TEXT_BYTES": str(config.max_text_bytes),
            "NLP_MAX_DOCUMENT_BYTES": str(config.max_document_bytes),
        }

        def make_function(
            construct_id: str,
            name: str,
            handler: str,
            bundles: list[str],
            settings: FunctionSettings,
            env: dict[str, str],
            description: str,
            **function_props: Any,
        ) -> TaskFunction:
            in_layers = bundles[: artifacts.LAMBDA_MAX_LAYERS - 1]
            in_code = bundles[artifacts.LAMBDA_MAX_LAYERS - 1 :]
            if name in (family.function, "batch"):
                in_code = in_code + custom_bundles
            in_code = in_code + [b for b, f in brought.items() if name == f or (name == "batch" and config.seq2seq_batch)]
            fn_code, fn_code_bytes = code_for(in_code, sum(model_artifacts[b].unzipped_bytes for b in in_code
                                                           if b in model_artifacts))
            self.function_sizes[name] = artifacts.check_function_size(name, fn_code_bytes,
                                                                      layer_artifacts(in_layers))
            if in_code:
                env = {**env, "NLP_EXTRA_MODELS_DIRS": f"/var/task/{artifacts.CODE_MODELS_DIR}"}
            return TaskFunction(
                self,
                construct_id,
                handler=handler,
                code=fn_code,
                runtime=runtime,
                architecture=architecture,
                layers=[self.runtime_layer, *(self.model_layers[b] for b in in_layers)],
                settings=settings,
                environment={**base_env, **env},
                description=description,
                log_retention=log_retention,
                tracing=config.tracing,
                function_props=function_props or None,
            )

        # ---- API functions: one per enabled task + the meta function
        self.task_functions: dict[str, TaskFunction] = {}
        for name in config.tasks:
            spec = TASK_FUNCTIONS[name]
            self.task_functions[name] = make_function(
                f"{name.capitalize()}Function",
                name,
                spec.handler,
                list(spec.bundles),
                config.function_settings(name),
                {"NLP_TASKS": ",".join(spec.tasks)},
                f"nlpserve API: {', '.join('/v1/' + t for t in spec.tasks)}",
            )
        self.meta_function = make_function(
            "MetaFunction",
            "meta",
            META_FUNCTION.handler,
            [],
            config.function_settings("meta"),
            {"NLP_TASKS": ",".join(all_tasks), "NLP_MODEL_CATALOG": json.dumps(model_catalog(config))},
            "nlpserve API: /health, /v1/models, /docs, /openapi.json",
        )

        # ---- HTTP API
        routes = [
            ApiRoute(route, self.task_functions[name].target, name)
            for name in config.tasks
            for route in TASK_FUNCTIONS[name].routes
        ] + [ApiRoute(route, self.meta_function.target, "meta") for route in META_FUNCTION.routes]
        self.api = TaskApi(
            self,
            "Api",
            routes=routes,
            auth=ApiAuth(
                mode=config.auth,
                issuer=config.jwt_issuer,
                audience=config.jwt_audience,
                scopes=config.jwt_scopes,
            ),
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            access_log_retention=log_retention,
        )

        # ---- data bucket + batch pipeline
        batch = config.batch
        self.data = DataBucket(
            self,
            "Data",
            bucket_name=config.bucket_name,
            input_prefix=batch.input_prefix,
            work_prefix=batch.work_prefix,
            work_retention_days=batch.work_retention_days,
            output_prefixes=(batch.results_prefix, batch.errors_prefix),
            results_retention_days=config.results_retention_days,
            input_retention_days=config.input_retention_days,
            noncurrent_version_retention_days=config.noncurrent_version_retention_days,
            access_log_retention_days=config.access_log_retention_days,
        )
        batch_settings = _batch_function_settings(config)
        self.batch_function = make_function(
            "BatchFunction",
            "batch",
            BATCH_HANDLER,
            list(model_artifacts),
            batch_settings,
            {
                "NLP_TASKS": ",".join(batch_tasks),
                "NLP_BATCH_TASKS": ",".join(batch_tasks),
                "NLP_BUCKET": self.data.bucket.bucket_name,
                "NLP_INPUT_PREFIX": batch.input_prefix,
                "NLP_INCOMING_PREFIX": batch.input_prefix,  # the name nlpserve.batch reads
                "NLP_RESULTS_PREFIX": batch.results_prefix,
                "NLP_ERRORS_PREFIX": batch.errors_prefix,
                "NLP_WORK_PREFIX": batch.work_prefix,
                # nlpserve.batch's poison-message rule must agree with the queue's redrive policy
                "NLP_MAX_RECEIVES": str(batch.max_receive_count),
            },
            "nlpserve batch: S3 incoming/<task>/ -> SQS -> results/",
            ephemeral_storage_size=Size.mebibytes(batch.ephemeral_storage_mb),
        )
        self.batch = BatchPipeline(
            self, "Batch", bucket=self.data.bucket, function=self.batch_function.function, settings=batch
        )
        self.batch_function.function.add_environment("NLP_QUEUE_URL", self.batch.queue.queue_url)

        # ---- monitoring
        monitored = [
            MonitoredFunction(name, fn.function, fn.settings.timeout_s)
            for name, fn in {
                **self.task_functions,
                "meta": self.meta_function,
                "batch": self.batch_function,
            }.items()
        ]
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            functions=monitored,
            api=self.api.api,
            queue=self.batch.queue,
            dead_letter_queue=self.batch.dead_letter_queue,
            alarm_email=config.alarm_email,
            duration_ratio=config.duration_alarm_ratio,
        )

        # ---- outputs
        CfnOutput(self, "ApiUrl", value=self.api.url, description="HTTP API base URL (append /v1/<task>)")
        CfnOutput(self, "AuthMode", value=config.auth, description="API authorizer: iam (SigV4) or jwt")
        CfnOutput(
            self,
            "BucketName",
            value=self.data.bucket.bucket_name,
            description=f"Upload batch files to s3://<bucket>/{batch.input_prefix}<task>/",
        )
        CfnOutput(self, "QueueUrl", value=self.batch.queue.queue_url, description="Batch work queue")
        CfnOutput(
            self,
            "DeadLetterQueueUrl",
            value=self.batch.dead_letter_queue.queue_url,
            description="Batch dead-letter queue (redrive after fixing the cause)",
        )
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
        if self.monitoring.topic is not None:
            CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)


def _batch_function_settings(config: ServiceConfig) -> FunctionSettings:
    b = config.batch
    return FunctionSettings(
        memory_mb=b.memory_mb, timeout_s=b.timeout_s, reserved_concurrency=b.reserved_concurrency
    )
