"""Service configuration: one frozen dataclass, loaded from CDK context and an optional JSON file.

Precedence (later wins):

1. defaults in this module;
2. the ``nlpserve`` object in ``cdk.json`` context;
3. a JSON file named by the ``config`` context key (``-c config=deploy/prod.json``), same shape;
4. flat context keys for the common switches (``-c tasks=sentiment,embed -c architecture=x86_64`` ...),
   see ``FLAT_KEYS``.

Relative paths (``layers_dir``, ``models_dir``, ``code_dir``, the config file) are resolved against the
repository root, so ``cdk synth`` from ``infra/`` and the tests from the repo root agree.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlpserve import catalog

from .catalog import (
    ALL_TASK_FUNCTIONS,
    BROUGHT_ONLY_FUNCTIONS,
    DEFAULT_TASK_FUNCTIONS,
    TASK_FUNCTIONS,
    brought_function,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

CONTEXT_KEY = "nlpserve"
CONFIG_FILE_KEY = "config"

#: Context keys accepted at the top level (``cdk synth -c key=value``), mapped to config fields.
FLAT_KEYS = (
    "tasks",
    "custom_classifiers",
    "seq2seq_models",
    "seq2seq_batch",
    "architecture",
    "auth",
    "jwt_issuer",
    "jwt_audience",
    "bucket_name",
    "alarm_email",
    "layers_dir",
    "models_dir",
    "stack_name",
    "log_level",
    "nag",
)

ARCHITECTURES = ("arm64", "x86_64")
PYTHON_VERSIONS = ("3.12", "3.13")
AUTH_MODES = ("iam", "jwt")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

#: HTTP API integrations time out after 30 s, so an API function cannot usefully run longer.
API_MAX_TIMEOUT_S = 30


class ConfigError(ValueError):
    """The deployment configuration is invalid; the message says which key and why."""


#: Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB, up to 6 at 10,240 MB.
MB_PER_VCPU = 1769


@dataclass(frozen=True)
class FunctionSettings:
    """Per-function sizing. ``provisioned_concurrency`` publishes a version + ``live`` alias.

    The default 1,769 MB is one full vCPU: CPU-bound inference costs the same per record at any smaller size
    and more per record at larger ones (README "Which memory size", measured by benchmarks/speed.py).
    """

    memory_mb: int = MB_PER_VCPU
    timeout_s: int = 29
    reserved_concurrency: int | None = None
    provisioned_concurrency: int | None = None

    @property
    def threads(self) -> int:
        """onnxruntime intra-op threads for this size (``NLP_THREADS``): the vCPUs Lambda allocates, rounded.

        os.cpu_count() inside Lambda shows more CPUs than the memory size pays for (2 even below 1,769 MB),
        and a second spinning thread on a small fraction of a vCPU only burns the CPU quota. 1,769 and
        2,048 MB get 1 thread, the batch function's 3,008 MB (1.7 vCPUs) 2, 3,538 MB 2, 10,240 MB 6.
        """
        return max(1, min(6, round(self.memory_mb / MB_PER_VCPU)))

    def validate(self, name: str, max_timeout_s: int) -> None:
        if not 128 <= self.memory_mb <= 10240:
            raise ConfigError(f"functions.{name}.memory_mb must be 128..10240, got {self.memory_mb}")
        if not 1 <= self.timeout_s <= max_timeout_s:
            raise ConfigError(f"functions.{name}.timeout_s must be 1..{max_timeout_s}, got {self.timeout_s}")
        for key in ("reserved_concurrency", "provisioned_concurrency"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ConfigError(f"functions.{name}.{key} must be a non-negative integer, got {value!r}")
        if (
            self.provisioned_concurrency
            and self.reserved_concurrency is not None
            and self.provisioned_concurrency > self.reserved_concurrency
        ):
            raise ConfigError(f"functions.{name}: provisioned_concurrency exceeds reserved_concurrency")


@dataclass(frozen=True)
class BatchSettings:
    """The S3 -> SQS -> Lambda batch pipeline."""

    memory_mb: int = 3008
    timeout_s: int = 900
    reserved_concurrency: int | None = None
    ephemeral_storage_mb: int = 2048
    #: SQS messages per invocation; one message is one uploaded file.
    batch_size: int = 1
    #: Upper bound on concurrent batch invocations (SQS event source ``maximumConcurrency``, >= 2).
    max_concurrency: int = 10
    #: Receives before a message goes to the dead-letter queue.
    max_receive_count: int = 3
    #: Queue visibility timeout = this factor x the function timeout (AWS recommends >= 6).
    visibility_timeout_factor: int = 6
    input_prefix: str = "incoming/"
    results_prefix: str = "results/"
    errors_prefix: str = "errors/"
    #: Continuation spill objects / large checkpoints (deleted by the function, expired by lifecycle).
    work_prefix: str = "_work/"
    #: Days before leftover work objects expire.
    work_retention_days: int = 7

    def validate(self) -> None:
        if not 128 <= self.memory_mb <= 10240:
            raise ConfigError(f"batch.memory_mb must be 128..10240, got {self.memory_mb}")
        if not 1 <= self.timeout_s <= 900:
            raise ConfigError(f"batch.timeout_s must be 1..900, got {self.timeout_s}")
        if not 512 <= self.ephemeral_storage_mb <= 10240:
            raise ConfigError(
                f"batch.ephemeral_storage_mb must be 512..10240, got {self.ephemeral_storage_mb}"
            )
        if not 1 <= self.batch_size <= 10:
            raise ConfigError(f"batch.batch_size must be 1..10, got {self.batch_size}")
        if not 2 <= self.max_concurrency <= 1000:
            raise ConfigError(f"batch.max_concurrency must be 2..1000, got {self.max_concurrency}")
        if not 1 <= self.max_receive_count <= 1000:
            raise ConfigError(f"batch.max_receive_count must be 1..1000, got {self.max_receive_count}")
        if self.visibility_timeout_factor < 6:
            raise ConfigError("batch.visibility_timeout_factor must be >= 6 (AWS guidance for SQS sources)")
        if self.timeout_s * self.visibility_timeout_factor > 43200:
            raise ConfigError(
                "batch.timeout_s x visibility_timeout_factor exceeds the SQS maximum of 43200 s"
            )
        prefixes = {
            "input_prefix": self.input_prefix,
            "results_prefix": self.results_prefix,
            "errors_prefix": self.errors_prefix,
            "work_prefix": self.work_prefix,
        }
        for key, value in prefixes.items():
            if not re.fullmatch(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*/", value):
                raise ConfigError(f"batch.{key} must look like 'name/' (ends with '/'), got {value!r}")
        if self.work_retention_days < 1:
            raise ConfigError("batch.work_retention_days must be >= 1")
        for key in ("results_prefix", "errors_prefix", "work_prefix"):
            out = prefixes[key]
            if out.startswith(self.input_prefix) or self.input_prefix.startswith(out):
                raise ConfigError(
                    f"batch.{key} {out!r} overlaps input_prefix {self.input_prefix!r}: outputs would "
                    "re-trigger the S3 notification (an infinite loop)"
                )


DEFAULT_FUNCTION_SETTINGS: dict[str, FunctionSettings] = {
    **{name: FunctionSettings() for name in ALL_TASK_FUNCTIONS},
    "language": FunctionSettings(memory_mb=512),  # no model layer: a naive Bayes over bytes in numpy
    "meta": FunctionSettings(memory_mb=512, timeout_s=10),
}


@dataclass(frozen=True)
class ServiceConfig:
    stack_name: str = "NlpServe"
    #: Task functions to deploy (``sentiment, classify, ner, embed, summarize, language``). ``meta`` always deploys.
    tasks: tuple[str, ...] = DEFAULT_TASK_FUNCTIONS
    #: Custom classifiers to deploy (``nlpserve train classifier FILE --name <name>`` wrote
    #: ``<models_dir>/classify-<name>/``): served at ``POST /v1/classify/<name>`` by the classify function and
    #: scored in batch under ``incoming/classify-<name>/``. Their bundles ship in those two functions' code.
    custom_classifiers: tuple[str, ...] = ()
    #: Seq2seq bundles built from checkpoints the user brings (``python -m nlpbuild seq2seq`` wrote
    #: ``<models_dir>/<name>/``): ``translate-<source>-<target>`` bundles turn on the translate function (added to
    #: the default ``tasks``), ``summarize-<name>`` ones ``mode=abstractive`` of the summarize function. They ship
    #: in the code of their function and of the batch function.
    seq2seq_models: tuple[str, ...] = ()
    #: Also score the seq2seq tasks in batch (``incoming/translate/``, documents too). An opus-mt pair (135 MB int8)
    #: does not fit the batch function beside every shipped bundle (226 MB of Lambda's 262 MB): deploy fewer
    #: ``tasks``, or set this to false (those files then get an error file naming the API route).
    seq2seq_batch: bool = True
    architecture: str = "arm64"
    python_version: str = "3.12"
    #: ``iam`` (SigV4, default) or ``jwt`` (needs ``jwt_issuer`` and ``jwt_audience``).
    auth: str = "iam"
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    jwt_scopes: tuple[str, ...] = ()
    throttle_rate_limit: int = 50
    throttle_burst_limit: int = 100
    #: Physical bucket name; ``None`` lets CloudFormation name it (recommended).
    bucket_name: str | None = None
    results_retention_days: int = 30
    #: Days to keep uploaded inputs; ``None`` keeps them until deleted.
    input_retention_days: int | None = None
    noncurrent_version_retention_days: int = 30
    access_log_retention_days: int = 90
    log_retention_days: int = 30
    #: E-mail address subscribed to an (encrypted) SNS alarm topic; ``None`` = alarms without actions.
    alarm_email: str | None = None
    #: p99 duration alarm fires above this fraction of the function timeout.
    duration_alarm_ratio: float = 0.8
    tracing: bool = True
    log_level: str = "INFO"
    service_name: str = "nlpserve"
    metrics_namespace: str = "NlpServe"
    max_items: int = 64
    max_text_bytes: int = 20_000
    max_document_bytes: int = 200_000
    layers_dir: Path = REPO_ROOT / "build" / "layers"
    models_dir: Path = REPO_ROOT / "build" / "models"
    code_dir: Path = REPO_ROOT / "functions"
    functions: dict[str, FunctionSettings] = field(default_factory=lambda: dict(DEFAULT_FUNCTION_SETTINGS))
    batch: BatchSettings = field(default_factory=BatchSettings)
    #: Run cdk-nag (AwsSolutions + Serverless) during synth.
    nag: bool = True

    def function_settings(self, name: str) -> FunctionSettings:
        return self.functions[name]

    def validate(self) -> ServiceConfig:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", self.stack_name):
            raise ConfigError(
                f"stack_name must be a valid CloudFormation stack name, got {self.stack_name!r}"
            )
        if not self.tasks:
            raise ConfigError("tasks must name at least one task function")
        unknown = [t for t in self.tasks if t not in TASK_FUNCTIONS]
        if unknown:
            raise ConfigError(f"unknown task(s) {unknown}; choose from {list(ALL_TASK_FUNCTIONS)}")
        if len(set(self.tasks)) != len(self.tasks):
            raise ConfigError(f"tasks lists a task twice: {list(self.tasks)}")
        family = catalog.CUSTOM_CLASSIFIERS
        for name in self.custom_classifiers:
            if not family.is_member(family.prefix + name):
                raise ConfigError(f"custom_classifiers: {name!r} is not a model name (1-40 lower-case letters, "
                                  f"digits and '-')")
        if len(set(self.custom_classifiers)) != len(self.custom_classifiers):
            raise ConfigError(f"custom_classifiers lists a model twice: {list(self.custom_classifiers)}")
        if self.custom_classifiers and family.function not in self.tasks:
            raise ConfigError(f"custom_classifiers are served by the {family.function!r} function: add it to tasks")
        if len(set(self.seq2seq_models)) != len(self.seq2seq_models):
            raise ConfigError(f"seq2seq_models lists a bundle twice: {list(self.seq2seq_models)}")
        for name in self.seq2seq_models:
            function = brought_function(name)
            if function is None:
                raise ConfigError(f"seq2seq_models: {name!r} is not a translate-<source>-<target> or "
                                  "summarize-<name> bundle name (as `python -m nlpbuild seq2seq` names them)")
            if function not in self.tasks:
                raise ConfigError(f"seq2seq_models: {name!r} is served by the {function!r} function: add it to tasks")
        for function in BROUGHT_ONLY_FUNCTIONS:
            if function in self.tasks and not any(brought_function(n) == function for n in self.seq2seq_models):
                raise ConfigError(f"the {function!r} function needs a model you bring: build one with `python -m "
                                  f"nlpbuild seq2seq` and name it in seq2seq_models (e.g. -c "
                                  f"seq2seq_models={function}-en-de)")
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.python_version not in PYTHON_VERSIONS:
            raise ConfigError(f"python_version must be one of {PYTHON_VERSIONS}, got {self.python_version!r}")
        if self.auth not in AUTH_MODES:
            raise ConfigError(f"auth must be one of {AUTH_MODES}, got {self.auth!r}")
        if self.auth == "jwt":
            if not self.jwt_issuer or not self.jwt_issuer.startswith("https://"):
                raise ConfigError(
                    "auth=jwt needs jwt_issuer, an https:// issuer URL (e.g. a Cognito user pool)"
                )
            if not self.jwt_audience:
                raise ConfigError("auth=jwt needs jwt_audience (one or more client ids / audiences)")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {LOG_LEVELS}, got {self.log_level!r}")
        if self.throttle_rate_limit < 1 or self.throttle_burst_limit < 1:
            raise ConfigError("throttle_rate_limit and throttle_burst_limit must be >= 1")
        if self.bucket_name is not None and not re.fullmatch(
            r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", self.bucket_name
        ):
            raise ConfigError(f"bucket_name is not a valid S3 bucket name: {self.bucket_name!r}")
        if self.alarm_email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.alarm_email):
            raise ConfigError(f"alarm_email is not an e-mail address: {self.alarm_email!r}")
        if not 0 < self.duration_alarm_ratio <= 1:
            raise ConfigError("duration_alarm_ratio must be in (0, 1]")
        for key in (
            "results_retention_days",
            "noncurrent_version_retention_days",
            "access_log_retention_days",
        ):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1")
        if self.input_retention_days is not None and self.input_retention_days < 1:
            raise ConfigError("input_retention_days must be >= 1 or null")
        for name in (*self.tasks, "meta"):
            if name not in self.functions:
                raise ConfigError(f"functions.{name} settings missing")
            self.functions[name].validate(name, API_MAX_TIMEOUT_S)
        unknown_fn = [k for k in self.functions if k not in (*ALL_TASK_FUNCTIONS, "meta")]
        if unknown_fn:
            raise ConfigError(f"functions has unknown key(s) {unknown_fn}; batch settings go under 'batch'")
        self.batch.validate()
        return self


# ---------------------------------------------------------------------------------------------- loading


def _as_tuple(value: Any, key: str = "value") -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key} must be a comma-separated string or a list of strings, got {value!r}")
    return tuple(str(v).strip() for v in value)


def _as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ConfigError(f"{key} must be true or false, got {value!r}")


def _resolve_path(value: Any) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def _build_dataclass(cls: type, data: Mapping[str, Any], where: str, base: Any = None) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {where}; allowed: {sorted(names)}")
    try:
        return dataclasses.replace(base, **data) if base is not None else cls(**data)
    except TypeError as exc:  # pragma: no cover - defensive
        raise ConfigError(f"invalid {where}: {exc}") from exc


def _coerce_int(value: Any, key: str, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key} must be an integer, got {value!r}") from exc


def _function_settings(raw: Mapping[str, Any], base: FunctionSettings, name: str) -> FunctionSettings:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"functions.{name} must be an object")
    data = dict(raw)
    for key in ("memory_mb", "timeout_s"):
        if key in data:
            data[key] = _coerce_int(data[key], f"functions.{name}.{key}")
    for key in ("reserved_concurrency", "provisioned_concurrency"):
        if key in data:
            data[key] = _coerce_int(data[key], f"functions.{name}.{key}", optional=True)
    return _build_dataclass(FunctionSettings, data, f"functions.{name}", base)


def merge_config(raw: Mapping[str, Any], base: ServiceConfig | None = None) -> ServiceConfig:
    """Apply one layer of raw settings (``cdk.json`` object, file or flat keys) over ``base``."""
    cfg = base or ServiceConfig()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"configuration must be a JSON object, got {type(raw).__name__}")
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith("_") or key == "$schema":
            continue  # comments
        if key in ("tasks", "jwt_audience", "jwt_scopes", "custom_classifiers", "seq2seq_models"):
            data[key] = _as_tuple(value, key)
        elif key in ("layers_dir", "models_dir", "code_dir"):
            data[key] = _resolve_path(value)
        elif key in ("tracing", "nag", "seq2seq_batch"):
            data[key] = _as_bool(value, key)
        elif key in (
            "throttle_rate_limit",
            "throttle_burst_limit",
            "results_retention_days",
            "noncurrent_version_retention_days",
            "access_log_retention_days",
            "log_retention_days",
            "max_items",
            "max_text_bytes",
            "max_document_bytes",
        ):
            data[key] = _coerce_int(value, key)
        elif key == "input_retention_days":
            data[key] = _coerce_int(value, key, optional=True)
        elif key == "duration_alarm_ratio":
            data[key] = float(value)
        elif key in ("bucket_name", "alarm_email", "jwt_issuer"):
            data[key] = value or None
        elif key == "functions":
            if not isinstance(value, Mapping):
                raise ConfigError("functions must be an object keyed by function name")
            merged = dict(cfg.functions)
            for name, fn_raw in value.items():
                if name not in merged:
                    raise ConfigError(
                        f"functions has unknown key {name!r}; choose from {[*ALL_TASK_FUNCTIONS, 'meta']}"
                    )
                merged[name] = _function_settings(fn_raw, merged[name], name)
            data[key] = merged
        elif key == "batch":
            if not isinstance(value, Mapping):
                raise ConfigError("batch must be an object")
            batch_data = dict(value)
            for bkey, bval in batch_data.items():
                if bkey in ("reserved_concurrency",):
                    batch_data[bkey] = _coerce_int(bval, f"batch.{bkey}", optional=True)
                elif not bkey.endswith("_prefix"):
                    batch_data[bkey] = _coerce_int(bval, f"batch.{bkey}")
            data[key] = _build_dataclass(BatchSettings, batch_data, "batch", cfg.batch)
        else:
            data[key] = value
    if "jwt_issuer" in data and data["jwt_issuer"] and "auth" not in data and cfg.auth == "iam":
        data["auth"] = "jwt"  # configuring an issuer switches to JWT unless auth is set explicitly
    return _build_dataclass(ServiceConfig, data, "configuration", cfg)


def load_config(context: Mapping[str, Any] | Any) -> ServiceConfig:
    """Build the validated config from CDK context.

    ``context`` is a mapping of context values, or a construct node (``app.node``) whose
    ``try_get_context`` is used.
    """
    get = context.try_get_context if hasattr(context, "try_get_context") else context.get
    cfg = ServiceConfig()
    base = get(CONTEXT_KEY)
    if base:
        if isinstance(base, str):
            base = json.loads(base)
        cfg = merge_config(base, cfg)
    config_file = get(CONFIG_FILE_KEY)
    if config_file:
        path = _resolve_path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (from context '{CONFIG_FILE_KEY}')")
        try:
            cfg = merge_config(json.loads(path.read_text()), cfg)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid JSON: {exc}") from exc
    flat = {key: get(key) for key in FLAT_KEYS if get(key) is not None}
    if flat:
        cfg = merge_config(flat, cfg)
    if cfg.tasks == DEFAULT_TASK_FUNCTIONS:  # the default tasks grow by the functions the brought bundles turn on
        extra = [f for f in BROUGHT_ONLY_FUNCTIONS if any(brought_function(n) == f for n in cfg.seq2seq_models)]
        cfg = dataclasses.replace(cfg, tasks=(*cfg.tasks, *extra))
    return cfg.validate()
