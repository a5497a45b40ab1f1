"""Whole documents for the tasks with a document mode (``documents`` in ``nlpserve.catalog``).

A document up to the task's own limit (``Task.max_text_bytes``, i.e. ``NLP_MAX_DOCUMENT_BYTES``) goes to the
task in one piece; the task windows it internally. A longer one (up to ``NLP_BATCH_MAX_DOCUMENT_BYTES``) is cut
into segments at paragraph / line / sentence / word boundaries, each segment is run through the task, and the
task stitches the results back with offsets into the ORIGINAL text (``Task.document``: redact joins the
redacted segments, summarize summarises the segments' summaries). This module knows no task by name.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nlpserve.batch import source
from nlpserve.batch.commit import check_output_owner, delete_quietly
from nlpserve.batch.engine import Counts, Timings
from nlpserve.batch.errors import PermanentFileError, Reason
from nlpserve.batch.readers import read_document
from nlpserve.batch.summary import json_bytes, put_summary, scored_summary, status_for
from nlpserve.batch.version import ObjectVersion
from nlpserve.errors import NlpError
from nlpserve.tasks import budget

_SEPARATORS = ("\n\n", "\n", ". ", "? ", "! ", " ")


class DocumentTooSlow(Exception):
    """Scoring the rest of a document would not finish before the invocation's deadline."""

    def __init__(self, projected_s: float, left_s: float, done: int, total: int) -> None:
        super().__init__(f"the document would take about {projected_s:.0f} s ({done} of {total} segments took "
                         f"the first part); only {left_s:.0f} s are left in this invocation")
        self.projected_s, self.left_s = projected_s, left_s


class Deadline:
    """Projects a document's scoring time from the segments done so far (a document has no checkpoint inside:
    it must finish in one invocation) and raises DocumentTooSlow as soon as it cannot."""

    def __init__(self, remaining_ms: Any, safety_ms: int) -> None:
        self.remaining_ms, self.safety_s = remaining_ms, safety_ms / 1000.0
        self.started = time.monotonic()

    def check(self, done: int, total: int) -> None:
        if self.remaining_ms is None or done == 0:
            return
        elapsed = time.monotonic() - self.started
        rest = elapsed / done * (total - done)
        left = self.remaining_ms() / 1000.0 - self.safety_s
        if rest > left:
            raise DocumentTooSlow(elapsed + rest, left + elapsed, done, total)


@dataclass
class ScoredDocument:
    """A document task's output (``Task.document``: ``text``, the rewritten document or None, and the JSON
    ``report``, which also carries ``segments``) and how the document was cut."""

    text: str | None
    report: dict[str, Any]
    segments: int
    segment_limit_bytes: int


def score_document(task: Any, params: Any, text: str, *, quote_text: bool = True,
                   deadline: Deadline | None = None) -> ScoredDocument:
    """Run a whole document through a task's document mode (``Task.document``), segmenting it at the task's own
    byte limit. Raises NotImplementedError for a task without one.

    The API's per-request work budget (``tasks/budget.py``) does not apply: the batch path's time is bounded by
    the batch function's timeout, not by API Gateway's 29 s.
    """
    limit = int(task.max_text_bytes)
    spans = split_segments(text, limit)
    with budget.unbounded():
        out = task.document(text, spans, params, lambda: _run_segments(task, params, text, spans, deadline),
                            quote_text=quote_text)
    return ScoredDocument(out.text, {**out.report, "segments": len(spans)}, len(spans), limit)


def split_segments(text: str, max_bytes: int) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` that tile ``text``; each is at most ``max_bytes`` UTF-8 bytes."""
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while start < n:
        window = text[start : start + max_bytes]
        fit = len(window.encode("utf-8")[:max_bytes].decode("utf-8", "ignore"))
        if start + fit >= n:
            spans.append((start, n))
            break
        piece = text[start : start + fit]
        cut = fit
        for sep in _SEPARATORS:
            at = piece.rfind(sep, fit // 2)
            if at > 0:
                cut = at + len(sep)
                break
        spans.append((start, start + cut))
        start += cut
    return spans or [(0, 0)]


def _run_segments(task: Any, params: Any, text: str, spans: Sequence[tuple[int, int]],
                  deadline: Deadline | None) -> list[Any]:
    """The task over each segment, one at a time, asking ``deadline`` between segments."""
    out = []
    for i, (s, e) in enumerate(spans):
        if deadline is not None:
            deadline.check(i, len(spans))
        out.extend(task.run([text[s:e]], params))
    return out


def run_document_job(s3: Any, settings: Any, chain: Any, v: ObjectVersion, *, remaining_ms: Any = None,
                     fresh_invocation: bool = True) -> dict[str, Any]:
    """The whole-document job of one object version (``incoming/<task>/docs/...``): read, score, write the
    outputs, then the summary, then mark the ledger done. A document is scored in one invocation; a crash
    before the summary re-runs it whole (its outputs are plain PUTs of the same bytes: idempotent)."""
    t0 = time.perf_counter()
    fp = source.open_stream(s3, v.job, v.inp, v.etag, 0, v.source.get("size"))
    doc = read_document(fp, settings.max_document_bytes, partial_ok=True)  # a cut-off .gz: score what is there
    t1 = time.perf_counter()
    try:
        out = score_document(v.task, v.params, doc.text, deadline=Deadline(remaining_ms, settings.time_safety_ms),
                             quote_text=settings.report_entity_text)  # the report sits next to the output
    except DocumentTooSlow as exc:
        if not fresh_invocation:
            raise  # earlier messages used this invocation's time: the processor defers it to a fresh one
        raise PermanentFileError(Reason.DOCUMENT_TOO_LARGE,
                                 f"{exc}: even a whole invocation is too short for it; split the document, or "
                                 f"send it as JSONL records (one paragraph a line)") from exc
    except NlpError as exc:
        if not 400 <= exc.status_code < 500:
            raise
        # the document itself is refused (e.g. unsupported_language): retrying cannot help, say so in the summary
        raise PermanentFileError(exc.error_type, exc.message.replace("item 0 ", "the document ", 1)) from exc
    t2 = time.perf_counter()
    meta = v.output_metadata(chain)
    source.head_current(s3, v.job)  # a newer upload arrived meanwhile: do not overwrite its outputs
    check_output_owner(s3, v.bucket, v.keys.results, v.job.key)
    outputs: dict[str, Any] = {"results": v.keys.results, "errors": None}
    if out.text is not None:
        ctype = "text/markdown; charset=utf-8" if v.inp.rel.lower().removesuffix(".gz").endswith(".md") else \
            "text/plain; charset=utf-8"
        s3.put_object(Bucket=v.bucket, Key=v.keys.results, Body=out.text.encode("utf-8"), ContentType=ctype,
                      Metadata=meta)
        s3.put_object(Bucket=v.bucket, Key=v.keys.entities, Body=json_bytes({"source": v.source, **out.report}),
                      ContentType="application/json", Metadata=meta)
        outputs["entities"] = v.keys.entities
    else:
        s3.put_object(Bucket=v.bucket, Key=v.keys.results, Body=json_bytes({"source": v.source, **out.report}),
                      ContentType="application/json", Metadata=meta)
    delete_quietly(s3, v.bucket, v.keys.errors)  # a stale report from an older version of this key
    timings = Timings(read_s=t1 - t0, score_s=t2 - t1, write_s=time.perf_counter() - t2)
    file_errors = [{"reason": doc.file_error[0], "message": doc.file_error[1]}] if doc.file_error else []
    summary = scored_summary(
        status=status_for(file_errors), inp=v.inp, source=v.source, task=v.task, options=v.options,
        params=v.params_json, counts=Counts(records=1, scored=1), timings=timings,
        started=float(chain.body["created_at"]), invocations=int(chain.body.get("invocations") or 1),
        outputs=outputs, file_errors=file_errors,
        extra={"document": {"bytes": doc.size, "characters": len(doc.text), "segments": out.segments,
                            "segment_limit_bytes": out.segment_limit_bytes}},
    ) | {"options_id": v.options_id}
    put_summary(s3, v.bucket, v.keys.summary, summary)
    chain.finish(summary["status"])
    return {"status": "completed", "key": v.job.key, "task": v.inp.task, "records": 1, "scored": 1, "failed": 0,
            "document": True, "segments": out.segments, "results": v.keys.results, "summary_status": summary["status"]}
