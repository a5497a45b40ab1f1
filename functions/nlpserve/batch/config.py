"""Batch settings, read from environment variables (every option is an env var).

| env var                    | default      | meaning                                                           |
|----------------------------|--------------|-------------------------------------------------------------------|
| NLP_BUCKET                 | (none)       | bucket used by the CLI / local loop (events carry their own)      |
| NLP_INCOMING_PREFIX        | incoming/    | trigger prefix: ``incoming/<task>/<rel>``                         |
| NLP_RESULTS_PREFIX         | results/     | results + summary objects                                         |
| NLP_ERRORS_PREFIX          | errors/      | per-record error reports                                          |
| NLP_WORK_PREFIX            | _work/       | continuation spill objects (deleted on completion)                |
| NLP_DOCS_DIR               | docs/        | ``incoming/<task>/docs/...`` = whole documents (redact, summarize, entities)|
| NLP_BATCH_SIZE             | 64           | texts per model call                                              |
| NLP_TEXT_FIELD             | text         | JSONL field holding the text                                      |
| NLP_CSV_TEXT_COLUMN        | text         | CSV column holding the text                                       |
| NLP_ID_FIELD               | id           | field carried as the record id (line number when absent)          |
| NLP_KEEP_TEXT              | false        | also copy the input text into each result line                    |
| NLP_BATCH_MAX_TEXT_BYTES   | (task's own) | per-record text limit (UTF-8 bytes); unset: each task's own API   |
|                            |              | limit (NLP_MAX_TEXT_BYTES, or NLP_MAX_DOCUMENT_BYTES for ner,     |
|                            |              | redact and summarize), so a text the API takes is taken here      |
| NLP_MAX_LINE_BYTES         | 1048576      | physical line limit; longer lines are skipped while streaming     |
| NLP_CSV_MAX_RECORD_LINES   | 20           | a quoted CSV field still open after this many lines is a stray    |
|                            |              | quote: its row is one malformed_csv error, reading goes on        |
| NLP_BATCH_MAX_DOCUMENT_BYTES | 4194304    | whole-document limit (documents are read into memory); longer     |
|                            |              | than the task's NLP_MAX_DOCUMENT_BYTES are segmented and stitched |
| NLP_PART_SIZE_BYTES        | 8388608      | multipart part size (S3 minimum 5 MiB except the last part)       |
| NLP_MAX_RECEIVES           | 5            | must equal the queue's redrive maxReceiveCount (poison rule)      |
| NLP_TIME_SAFETY_MS         | 30000        | stop and checkpoint when less than this remains in the invocation |
| NLP_CHECKPOINT_INTERVAL_S  | 60           | save progress (ledger) this often: a crash resumes from there     |
| NLP_LEASE_S                | 900          | lease length when the invocation's remaining time is unknown      |
| NLP_S3_MAX_ATTEMPTS        | 10           | S3 calls: botocore "adaptive" retry mode, attempts per call       |
| NLP_QUEUE_URL              | (derived)    | queue for continuation messages (default: the event's source queue)|
| NLP_BATCH_TASKS            | (all)        | comma list of tasks this function scores                          |
| NLP_REPORT_ENTITY_TEXT     | false        | redact documents: include the entity text in the entity report    |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_MAX_TEXT_BYTES = 20_000
MIN_PART_SIZE = 5 * 1024 * 1024


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _env_str(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return raw if raw not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _prefix(value: str) -> str:
    return value if value.endswith("/") else value + "/"


def text_limit(settings: BatchSettings, task: object) -> int:
    """Per-record text limit (UTF-8 bytes) for ``task``: the operator's ``NLP_BATCH_MAX_TEXT_BYTES``, else the
    task's own API limit (``Task.max_text_bytes``), so batch takes every text the API takes."""
    if settings.max_text_bytes is not None:
        return settings.max_text_bytes
    return int(getattr(task, "max_text_bytes", DEFAULT_MAX_TEXT_BYTES))


@dataclass(frozen=True)
class BatchSettings:
    bucket: str | None = None
    incoming_prefix: str = "incoming/"
    results_prefix: str = "results/"
    errors_prefix: str = "errors/"
    work_prefix: str = "_work/"
    docs_dir: str = "docs/"
    batch_size: int = 64
    text_field: str = "text"
    csv_text_column: str = "text"
    id_field: str = "id"
    keep_text: bool = False
    max_text_bytes: int | None = None  # None: each task's own limit (Task.max_text_bytes), as in the API
    max_line_bytes: int = 1024 * 1024
    csv_max_record_lines: int = 20
    max_document_bytes: int = 4 * 1024 * 1024
    part_size: int = 8 * 1024 * 1024
    max_receives: int = 5
    time_safety_ms: int = 30_000
    checkpoint_interval_s: float = 60.0
    lease_s: int = 900
    s3_max_attempts: int = 10
    queue_url: str | None = None
    tasks: tuple[str, ...] = field(default=())
    report_entity_text: bool = False

    @classmethod
    def from_env(cls) -> BatchSettings:
        tasks = tuple(t.strip() for t in os.environ.get("NLP_BATCH_TASKS", "").split(",") if t.strip())
        return cls(
            bucket=os.environ.get("NLP_BUCKET") or None,
            incoming_prefix=_prefix(_env_str("NLP_INCOMING_PREFIX", "incoming/")),
            results_prefix=_prefix(_env_str("NLP_RESULTS_PREFIX", "results/")),
            errors_prefix=_prefix(_env_str("NLP_ERRORS_PREFIX", "errors/")),
            work_prefix=_prefix(_env_str("NLP_WORK_PREFIX", "_work/")),
            docs_dir=_prefix(_env_str("NLP_DOCS_DIR", "docs/")),
            batch_size=max(1, _env_int("NLP_BATCH_SIZE", 64)),
            text_field=_env_str("NLP_TEXT_FIELD", "text"),
            csv_text_column=_env_str("NLP_CSV_TEXT_COLUMN", "text"),
            id_field=_env_str("NLP_ID_FIELD", "id"),
            keep_text=_env_bool("NLP_KEEP_TEXT", False),
            max_text_bytes=_env_int("NLP_BATCH_MAX_TEXT_BYTES", 0) or None,
            max_line_bytes=_env_int("NLP_MAX_LINE_BYTES", 1024 * 1024),
            csv_max_record_lines=max(1, _env_int("NLP_CSV_MAX_RECORD_LINES", 20)),
            max_document_bytes=_env_int("NLP_BATCH_MAX_DOCUMENT_BYTES", 4 * 1024 * 1024),
            part_size=max(MIN_PART_SIZE, _env_int("NLP_PART_SIZE_BYTES", 8 * 1024 * 1024)),
            max_receives=_env_int("NLP_MAX_RECEIVES", 5),
            time_safety_ms=_env_int("NLP_TIME_SAFETY_MS", 30_000),
            checkpoint_interval_s=float(_env_int("NLP_CHECKPOINT_INTERVAL_S", 60)),
            lease_s=_env_int("NLP_LEASE_S", 900),
            s3_max_attempts=max(1, _env_int("NLP_S3_MAX_ATTEMPTS", 10)),
            queue_url=os.environ.get("NLP_QUEUE_URL") or None,
            tasks=tasks,
            report_entity_text=_env_bool("NLP_REPORT_ENTITY_TEXT", False),
        )

    def client_config(self) -> Any:
        """botocore Config for the batch path's S3/SQS clients: "adaptive" retries (exponential backoff with
        jitter plus client-side rate limiting on throttles), at most ``s3_max_attempts`` attempts a call, so a
        burst of SlowDown/503 answers is ridden out but a real outage still fails the message in bounded time.
        """
        from botocore.config import Config

        return Config(retries={"mode": "adaptive", "max_attempts": self.s3_max_attempts},
                      connect_timeout=10, read_timeout=60)

    def with_overrides(self, **kwargs: object) -> BatchSettings:
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})
