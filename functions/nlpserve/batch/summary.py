"""The summary object: written LAST for an object version, it is the commit marker of its results.

``status`` is one of:

- ``complete``: every record of the file is in the results or the errors object;
- ``partial``: the file could only be read in part (a truncated or corrupt gzip stream, a binary file): every
  record that could be read is in the results or the errors object, ``file_errors`` says where reading stopped;
- ``failed``: the file could not be scored at all (unknown task, unsupported format, missing CSV column...):
  ``file_errors`` says why, there are no results.

``counts.records == counts.scored + counts.failed`` always; blank lines are counted apart.
"""

from __future__ import annotations

import json
import time
from typing import Any

from nlpserve.batch.engine import Counts, Timings
from nlpserve.batch.keys import InputKey

SUMMARY_SCHEMA = "nlpserve.batch.summary/1"
#: File-level reasons that stop reading before the end of the file: the summary is then ``partial``.
PARTIAL_REASONS = frozenset({"bad_gzip", "truncated_input", "binary_file"})


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")


def status_for(file_errors: list[dict[str, Any]]) -> str:
    return "partial" if any(e.get("reason") in PARTIAL_REASONS for e in file_errors) else "complete"


def model_info(task: Any) -> dict[str, Any]:
    try:
        info = task.model_info()
        return {"bundle": info.get("bundle"), "name": info.get("name"), "version": info.get("version")}
    except Exception:  # noqa: BLE001 - the summary must not fail on a model card
        return {"bundle": getattr(task, "bundle_name", None), "name": getattr(task, "name", None), "version": None}


def scored_summary(
    *,
    status: str,
    inp: InputKey,
    source: dict[str, Any],
    task: Any,
    options: dict[str, Any],
    params: dict[str, Any],
    counts: Counts,
    timings: Timings,
    started: float,
    invocations: int,
    outputs: dict[str, Any],
    file_errors: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    finished = time.time()
    wall = finished - started
    body = {
        "schema": SUMMARY_SCHEMA,
        "status": status,
        "task": inp.task,
        "model": model_info(task),
        "source": {**source, "format": inp.format.value, "gzip": inp.gzip},
        "outputs": outputs,
        "counts": {"records": counts.records, "scored": counts.scored, "failed": counts.failed,
                   "blank": counts.blank},
        "failures_by_reason": dict(sorted(counts.by_reason.items())),
        "file_errors": file_errors,
        "options": summary_options(options, params),
        "timings": {"started_at": iso(started), "finished_at": iso(finished), "wall_s": round(wall, 3),
                    **timings.rounded(),
                    "records_per_s": round(counts.records / wall, 1) if wall > 0 else None},
        "invocations": invocations,
    }
    if extra:
        body.update(extra)
    return body


def failed_summary(
    *,
    task_name: str,
    inp: InputKey,
    source: dict[str, Any],
    reason: str,
    message: str,
    errors_key: str,
    started: float,
    options: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    counts = Counts(records=1 if inp.is_document else 0, failed=1 if inp.is_document else 0)
    finished = time.time()
    return {
        "schema": SUMMARY_SCHEMA, "status": "failed", "task": task_name, "model": None,
        "source": {**source, "format": inp.format.value, "gzip": inp.gzip},
        "outputs": {"results": None, "errors": errors_key},
        "counts": {"records": counts.records, "scored": 0, "failed": counts.failed, "blank": 0},
        "failures_by_reason": {reason: 1} if inp.is_document else {},
        "file_errors": [{"reason": reason, "message": message}],
        "options": summary_options(options or {}, params or {}),
        "timings": {"started_at": iso(started), "finished_at": iso(finished), "wall_s": round(finished - started, 3)},
    }


def summary_options(options: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    keep = {k: options[k] for k in ("text_field", "id_field", "csv_text_column", "batch_size") if k in options}
    return keep | {"params": params}


def summary_matches(summary: dict[str, Any] | None, etag: str, options_id: str) -> bool:
    """True when ``summary`` commits this object version (same ETag, same scoring options)."""
    if not summary or summary.get("status") not in ("complete", "partial", "failed"):
        return False
    return summary.get("source", {}).get("etag") == etag and summary.get("options_id") == options_id


def put_summary(s3: Any, bucket: str, key: str, summary: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=json_bytes(summary), ContentType="application/json")


__all__ = ["PARTIAL_REASONS", "SUMMARY_SCHEMA", "failed_summary", "put_summary", "scored_summary",
           "status_for", "summary_matches"]
