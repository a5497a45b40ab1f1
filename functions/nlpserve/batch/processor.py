"""Score one S3 object (or continue scoring it) and commit its outputs write-once.

Order of operations for one object version (ETag / VersionId):

1. ``HeadObject`` pinned to the event's ETag (or VersionId). Gone -> skip; changed -> skip (superseded: the
   newer upload has its own event).
2. Idempotency: if ``results/<task>/<rel>.summary.json`` exists, says ``complete`` and names the same ETag and
   version, the event is a duplicate: skip (logged).
3. Stream ``GetObject`` (pinned to the same version) through a reader, score in batches, stream the result
   lines into a multipart upload and the error lines into another.
4. Done: complete the results upload, then the errors upload (or delete a stale errors object), then write
   the summary LAST. The summary is the commit marker: an object without a summary for its ETag is not done.
   Out of time: spill, send a checkpoint message, return (the next invocation continues the same uploads).
   Crash: the uploads stay incomplete (invisible); a fresh attempt starts new ones, and a bucket lifecycle
   rule (AbortIncompleteMultipartUpload) clears the leftovers.

Two deliveries of the same event that run at the same time each build a complete, identical object: S3
keeps the last complete one; nothing is interleaved or appended.
"""

from __future__ import annotations

import gzip
import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from nlpserve.batch import checkpoint
from nlpserve.batch.config import BatchSettings
from nlpserve.batch.documents import redact_document, split_segments, summarize_document
from nlpserve.batch.engine import Counts, Position, RecordEngine, Timings, error_line
from nlpserve.batch.errors import PermanentFileError, Reason, SupersededObject
from nlpserve.batch.events import Job
from nlpserve.batch.keys import DOCUMENT_TASKS, Format, InputKey, OutputKeys, output_keys, parse_input_key
from nlpserve.batch.readers import ReadOptions, RecordReader, read_document, skip_bytes
from nlpserve.batch.writers import MultipartWriter

SUMMARY_SCHEMA = "nlpserve.batch.summary/1"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _strip(etag: str | None) -> str | None:
    return etag.strip('"') if etag else etag


def default_task_resolver(name: str) -> Any:
    from nlpserve.tasks import get_task

    return get_task(name)


class Outcome(dict):
    """What happened to one job: {"status": ..., "key": ..., ...} (also logged)."""


class ObjectProcessor:
    def __init__(
        self,
        s3: Any,
        settings: BatchSettings,
        *,
        sqs: Any = None,
        task_resolver: Callable[[str], Any] = default_task_resolver,
        logger: Any = None,
        on_progress: Callable[[Position, Counts], None] | None = None,
        invocation_budget_ms: int | None = None,
    ) -> None:
        self.invocation_budget_ms = invocation_budget_ms  # remaining time when the invocation started
        self.s3 = s3
        self.sqs = sqs
        self.settings = settings
        self.resolve_task = task_resolver
        self.logger = logger
        self.on_progress = on_progress

    # ------------------------------------------------------------------------------------------------
    def process(
        self,
        job: Job,
        remaining_ms: Callable[[], int] | None = None,
        queue_url: str | None = None,
    ) -> Outcome:
        """Process one job. Raises on transient failures (the SQS message is then retried)."""
        state = checkpoint.load(self.s3, job.checkpoint) if job.checkpoint else None
        if state is not None:
            job = Job(bucket=state["bucket"], key=state["key"], etag=state.get("etag"),
                      version_id=state.get("version_id"), checkpoint=job.checkpoint)
        s = self.settings
        try:
            inp = parse_input_key(job.key, s)
        except PermanentFileError as exc:
            if not job.key.startswith(s.incoming_prefix):
                return self._log(Outcome(status="ignored", key=job.key, reason=exc.reason))
            inp = None
            key_error = exc
        else:
            key_error = None

        try:
            head = self._head(job)
        except SupersededObject as exc:
            return self._log(Outcome(status="skipped_superseded", key=job.key, reason=str(exc)))
        if head is None:
            return self._log(Outcome(status="skipped_missing", key=job.key))
        etag = _strip(head["ETag"]) or ""
        version_id = head.get("VersionId") if job.version_id else None
        source = {"bucket": job.bucket, "key": job.key, "etag": etag, "version_id": version_id,
                  "size": head.get("ContentLength")}

        if inp is None:  # under incoming/ but not a scorable key: say why, next to where results would be
            assert key_error is not None
            return self._fail_unparsed(job, source, key_error)

        keys = output_keys(inp, s, etag)
        if state is None and self._already_done(job.bucket, keys.summary, etag, version_id):
            return self._log(Outcome(status="skipped_duplicate", key=job.key, etag=etag, summary=keys.summary))
        if state is not None and self._already_done(job.bucket, keys.summary, etag, version_id):
            return self._log(Outcome(status="skipped_duplicate", key=job.key, etag=etag, seq=state.get("seq")))

        started = state["started_at"] if state else time.time()
        meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        try:
            task = self._task(inp.task)
            options = state["options"] if state else self._options(meta)
            params = self._params(task, state["params"] if state else meta.get("params"))
            if inp.is_document:
                return self._document(job, inp, keys, source, task, params, options, started)
            return self._records(job, inp, keys, source, task, params, options, started, state,
                                 remaining_ms, queue_url)
        except PermanentFileError as exc:
            return self._fail(job, inp, keys, source, exc, started, task_name=inp.task)

    # -- S3 helpers ------------------------------------------------------------------------------------
    def _pin(self, job: Job) -> dict[str, Any]:
        kw: dict[str, Any] = {"Bucket": job.bucket, "Key": job.key}
        if job.version_id:
            kw["VersionId"] = job.version_id
        elif job.etag:
            kw["IfMatch"] = f'"{_strip(job.etag)}"'
        return kw

    def _head(self, job: Job) -> dict[str, Any] | None:
        try:
            return self.s3.head_object(**self._pin(job))
        except ClientError as exc:
            code = _code(exc)
            if code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
                return None
            if code in ("412", "PreconditionFailed"):
                raise SupersededObject(f"object changed since the event (etag {job.etag})") from exc
            raise

    def _get_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        except ValueError:
            return None

    def _already_done(self, bucket: str, summary_key: str, etag: str, version_id: str | None) -> bool:
        summary = self._get_json(bucket, summary_key)
        if not summary:
            return False
        src = summary.get("source", {})
        return (summary.get("status") in ("complete", "failed") and src.get("etag") == etag
                and src.get("version_id") == version_id)

    def _open(self, job: Job, inp: InputKey, offset: int, size: int | None) -> Any:
        kw = self._pin(job)
        if not inp.gzip and offset > 0:
            if size is not None and offset >= size:
                return io.BytesIO(b"")
            kw["Range"] = f"bytes={offset}-"
        body = self.s3.get_object(**kw)["Body"]
        if inp.gzip:
            fp = gzip.GzipFile(fileobj=body, mode="rb")
            if offset:
                skip_bytes(fp, offset)
            return fp
        return body

    def _delete(self, bucket: str, key: str) -> None:
        try:
            self.s3.delete_object(Bucket=bucket, Key=key)
        except ClientError:
            pass

    def _delete_prefix(self, bucket: str, prefix: str) -> None:
        try:
            paginator = self.s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if objs:
                    self.s3.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
        except ClientError:
            pass  # best effort; the lifecycle rule on _work/ expires leftovers

    # -- task / options --------------------------------------------------------------------------------
    def _task(self, name: str) -> Any:
        if self.settings.tasks and name not in self.settings.tasks:
            raise PermanentFileError(Reason.UNKNOWN_TASK,
                                     f"task {name!r} is not enabled in this function ({', '.join(self.settings.tasks)})")
        try:
            return self.resolve_task(name)
        except Exception as exc:
            if getattr(exc, "error_type", None) == "unknown_task" or isinstance(exc, KeyError):
                raise PermanentFileError(Reason.UNKNOWN_TASK, str(getattr(exc, "message", exc))) from exc
            raise

    def _options(self, meta: dict[str, str]) -> dict[str, Any]:
        s = self.settings
        return {
            "text_field": meta.get("text-field") or s.text_field,
            "id_field": meta.get("id-field") or s.id_field,
            "csv_text_column": meta.get("csv-text-column") or meta.get("text-field") or s.csv_text_column,
            "keep_text": s.keep_text,
            "batch_size": s.batch_size,
            "max_text_bytes": s.max_text_bytes,
            "max_line_bytes": s.max_line_bytes,
        }

    def _params(self, task: Any, raw: Any) -> Any:
        try:
            data = json.loads(raw) if isinstance(raw, str) else (raw or {})
            return task.Params(**data)
        except Exception as exc:
            raise PermanentFileError("bad_params", f"invalid task params in object metadata: {exc}") from exc

    def _model_info(self, task: Any) -> dict[str, Any]:
        try:
            info = task.model_info()
            return {"bundle": info.get("bundle"), "name": info.get("name"), "version": info.get("version")}
        except Exception:  # noqa: BLE001
            return {"bundle": getattr(task, "bundle_name", None), "name": getattr(task, "name", None),
                    "version": None}

    # -- line formats ----------------------------------------------------------------------------------
    def _records(self, job, inp, keys, source, task, params, options, started, state, remaining_ms, queue_url):
        s = self.settings
        bucket = job.bucket
        wkw = {"part_size": s.part_size, "allow_small_parts": True}
        if state:
            results = MultipartWriter.resume(self.s3, bucket, state["results"], **wkw)
            errors = MultipartWriter.resume(self.s3, bucket, state["errors"], **wkw)
            counts, timings = Counts.from_dict(state["counts"]), Timings.from_dict(state["timings"])
            start = Position(state["offset"], state["line"])
            header, seq, invocations = state.get("header"), state["seq"], state.get("invocations", 1) + 1
        else:
            meta = {"source-etag": source["etag"], "source-key": quote(job.key)}
            results = MultipartWriter(self.s3, bucket, keys.results, metadata=meta, **wkw)
            errors = MultipartWriter(self.s3, bucket, keys.errors, metadata=meta, **wkw)
            counts, timings, start, header, seq, invocations = Counts(), Timings(), Position(0, 0), None, 0, 1
        deferrals = state.get("deferrals", 0) if state else 0

        def suspend(pos: Position, header: list[str] | None, deferred: bool) -> Outcome:
            nseq = seq + 1
            st = {
                "seq": nseq, "bucket": bucket, "key": job.key, "etag": source["etag"],
                "version_id": source["version_id"], "offset": pos.offset, "line": pos.line, "header": header,
                "results": results.suspend(f"{keys.work}{nseq:05d}.results.part"),
                "errors": errors.suspend(f"{keys.work}{nseq:05d}.errors.part"),
                "counts": asdict(counts), "timings": asdict(timings), "options": options,
                "params": params.model_dump(mode="json"), "started_at": started,
                "invocations": invocations, "deferrals": deferrals + 1 if deferred else 0,
            }
            msg_id = checkpoint.send(self.sqs, queue_url, self.s3, bucket, st, f"{keys.work}{nseq:05d}.state.json")
            return self._log(Outcome(status="checkpointed", key=job.key, seq=nseq, offset=pos.offset,
                                     line=pos.line, scored=counts.scored, failed=counts.failed,
                                     message_id=msg_id))

        can_continue = remaining_ms is not None and queue_url is not None and self.sqs is not None
        if can_continue and remaining_ms() < s.time_safety_ms:
            # Earlier messages of this invocation used the budget: hand this one to a fresh invocation.
            if self.invocation_budget_ms is not None and self.invocation_budget_ms < s.time_safety_ms:
                raise RuntimeError(f"{job.key}: the invocation started with {self.invocation_budget_ms} ms, "
                                   f"less than NLP_TIME_SAFETY_MS={s.time_safety_ms}: raise the function timeout")
            return suspend(start, header, deferred=True)

        def should_stop(engine: RecordEngine) -> bool:
            if not can_continue:
                return False
            need = s.time_safety_ms + 2000 * engine.max_batch_s
            return remaining_ms() < need

        fresh = state is None
        try:
            fp = self._open(job, inp, start.offset, source.get("size"))
            reader = RecordReader(
                fp, inp.format,
                ReadOptions(text_field=options["text_field"], id_field=options["id_field"],
                            csv_text_column=options["csv_text_column"], max_text_bytes=options["max_text_bytes"],
                            max_line_bytes=options["max_line_bytes"], keep_text=options["keep_text"]),
                start_offset=start.offset, start_line=start.line, header=header,
            )
            engine = RecordEngine(task, params, results, errors, batch_size=options["batch_size"],
                                  id_field=options["id_field"], counts=counts, timings=timings,
                                  logger=self.logger)
            stopped_at = engine.run(reader, should_stop, self.on_progress, start)
            if stopped_at is not None:
                return suspend(stopped_at, reader.header, deferred=False)
            file_errors = []
            if engine.file_error:
                file_errors.append({"reason": engine.file_error[0], "message": engine.file_error[1]})
            if counts.records == 0 and not engine.file_error:
                msg = "the file has no records" + (f" ({counts.blank} blank lines)" if counts.blank else "")
                errors.write(error_line(0, Reason.EMPTY_FILE.value, msg, None, options["id_field"]))
                file_errors.append({"reason": Reason.EMPTY_FILE.value, "message": msg})
            out_results = results.complete()
            if errors.bytes_written:
                out_errors = errors.complete()
            else:
                errors.abort()
                self._delete(bucket, keys.errors)  # a stale report from an older version of this key
                out_errors = None
        except PermanentFileError:
            results.abort()
            errors.abort()
            raise
        except Exception:
            if fresh:  # a retry of the S3 event starts over; a retried checkpoint resumes these uploads
                results.abort()
                errors.abort()
            raise
        summary = self._summary(
            "complete", inp, source, task, params, options, counts, timings, started, invocations,
            outputs={"results": out_results["key"], "errors": out_errors["key"] if out_errors else None},
            file_errors=file_errors,
        )
        self._put_summary(bucket, keys.summary, summary)
        if invocations > 1:
            self._delete_prefix(bucket, keys.work)
        return self._log(Outcome(status="completed", key=job.key, task=inp.task, records=counts.records,
                                 scored=counts.scored, failed=counts.failed, invocations=invocations,
                                 results=keys.results, summary=keys.summary))

    # -- documents -------------------------------------------------------------------------------------
    def _document(self, job, inp, keys, source, task, params, options, started):
        s = self.settings
        timings = Timings()
        t0 = time.perf_counter()
        fp = self._open(job, inp, 0, source.get("size"))
        doc = read_document(fp, s.max_document_bytes)
        limit = int(getattr(task, "max_text_bytes", s.max_document_bytes))
        spans = split_segments(doc.text, limit)
        t1 = time.perf_counter()
        if inp.task == "redact":
            out = redact_document(task, params, doc.text, spans)
        elif inp.task == "summarize":
            out = summarize_document(task, params, doc.text, spans)
        else:  # pragma: no cover - parse_input_key only makes documents for DOCUMENT_TASKS
            raise PermanentFileError(Reason.UNSUPPORTED_FORMAT, f"{inp.task} has no document mode")
        t2 = time.perf_counter()
        ctype = "text/markdown; charset=utf-8" if inp.rel.lower().removesuffix(".gz").endswith(".md") else \
            "text/plain; charset=utf-8"
        meta = {"source-etag": source["etag"], "source-key": quote(job.key)}
        outputs: dict[str, Any] = {}
        if inp.task == "redact":
            self.s3.put_object(Bucket=job.bucket, Key=keys.results, Body=out["text"].encode("utf-8"),
                               ContentType=ctype, Metadata=meta)
            if not s.report_entity_text:  # the report sits next to the redacted file: no PII in it by default
                for ent in out["entities"]:
                    ent.pop("text", None)
            report = {"source": source, "entities": out["entities"], "entity_count": len(out["entities"]),
                      "by_type": _count_types(out["entities"]), "segments": len(spans),
                      "truncated": out["truncated"]}
            self.s3.put_object(Bucket=job.bucket, Key=keys.entities, Body=_json_bytes(report),
                               ContentType="application/json", Metadata=meta)
            outputs = {"results": keys.results, "entities": keys.entities, "errors": None}
        else:
            self.s3.put_object(Bucket=job.bucket, Key=keys.results,
                               Body=_json_bytes({"source": source, "segments": len(spans), **out}),
                               ContentType="application/json", Metadata=meta)
            outputs = {"results": keys.results, "errors": None}
        self._delete(job.bucket, keys.errors)
        timings.read_s, timings.score_s = t1 - t0, t2 - t1
        timings.write_s = time.perf_counter() - t2
        counts = Counts(records=1, scored=1)
        summary = self._summary("complete", inp, source, task, params, options, counts, timings, started, 1,
                                outputs=outputs, file_errors=[],
                                extra={"document": {"bytes": doc.size, "characters": len(doc.text),
                                                    "segments": len(spans), "segment_limit_bytes": limit}})
        self._put_summary(job.bucket, keys.summary, summary)
        return self._log(Outcome(status="completed", key=job.key, task=inp.task, records=1, scored=1, failed=0,
                                 document=True, segments=len(spans), results=keys.results))

    # -- failures / summary ----------------------------------------------------------------------------
    def _fail(self, job: Job, inp: InputKey, keys: OutputKeys, source: dict[str, Any], exc: PermanentFileError,
              started: float, task_name: str) -> Outcome:
        """A permanent, file-level failure: errors object + summary(status=failed); the message succeeds."""
        line = error_line(0, exc.reason, exc.message, None, self.settings.id_field)
        self.s3.put_object(Bucket=job.bucket, Key=keys.errors, Body=line, ContentType="application/x-ndjson")
        self._delete(job.bucket, keys.results)  # whatever is there belongs to an older version of the input
        counts = Counts(records=1 if inp.is_document else 0, failed=1 if inp.is_document else 0)
        summary = {
            "schema": SUMMARY_SCHEMA, "status": "failed", "task": task_name, "model": None,
            "source": {**source, "format": inp.format.value, "gzip": inp.gzip},
            "outputs": {"results": None, "errors": keys.errors},
            "counts": {"records": counts.records, "scored": 0, "failed": counts.failed, "blank": 0},
            "failures_by_reason": {exc.reason: 1} if inp.is_document else {},
            "file_errors": [{"reason": exc.reason, "message": exc.message}],
            "timings": {"started_at": _iso(started), "finished_at": _iso(time.time()),
                        "wall_s": round(time.time() - started, 3)},
        }
        self._put_summary(job.bucket, keys.summary, summary)
        if self.logger:
            self.logger.error("file cannot be scored (permanent; not retried)",
                              extra={"key": job.key, "reason": exc.reason, "detail": exc.message})
        return Outcome(status="failed_permanent", key=job.key, reason=exc.reason, message=exc.message)

    def _fail_unparsed(self, job: Job, source: dict[str, Any], exc: PermanentFileError) -> Outcome:
        s = self.settings
        rest = job.key[len(s.incoming_prefix):]
        task, _, rel = rest.partition("/")
        if not task or not rel:
            return self._log(Outcome(status="ignored", key=job.key, reason=exc.reason))
        inp = InputKey(key=job.key, task=task, rel=rel, format=Format.JSONL, gzip=False)
        base = f"{s.results_prefix}{task}/{rel}"
        keys = OutputKeys(results=base + ".jsonl", summary=base + ".summary.json",
                          errors=f"{s.errors_prefix}{task}/{rel}.errors.jsonl", work="")
        out = self._fail(job, inp, keys, source, exc, time.time(), task_name=task)
        return out

    def _summary(self, status, inp, source, task, params, options, counts, timings, started, invocations,
                 outputs, file_errors, extra=None) -> dict[str, Any]:
        finished = time.time()
        wall = finished - started
        body = {
            "schema": SUMMARY_SCHEMA,
            "status": status,
            "task": inp.task,
            "model": self._model_info(task),
            "source": {**source, "format": inp.format.value, "gzip": inp.gzip},
            "outputs": outputs,
            "counts": {"records": counts.records, "scored": counts.scored, "failed": counts.failed,
                       "blank": counts.blank},
            "failures_by_reason": dict(sorted(counts.by_reason.items())),
            "file_errors": file_errors,
            "options": {k: options[k] for k in ("text_field", "id_field", "csv_text_column", "batch_size")
                        if k in options} | {"params": params.model_dump(mode="json")},
            "timings": {"started_at": _iso(started), "finished_at": _iso(finished), "wall_s": round(wall, 3),
                        **timings.rounded(),
                        "records_per_s": round(counts.records / wall, 1) if wall > 0 else None},
            "invocations": invocations,
        }
        if extra:
            body.update(extra)
        return body

    def _put_summary(self, bucket: str, key: str, summary: dict[str, Any]) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=_json_bytes(summary), ContentType="application/json")

    def _log(self, outcome: Outcome) -> Outcome:
        if self.logger:
            self.logger.info(f"batch job {outcome['status']}", extra=dict(outcome))
        return outcome


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")


def _count_types(entities: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in entities:
        out[e["type"]] = out.get(e["type"], 0) + 1
    return dict(sorted(out.items()))


__all__ = ["DOCUMENT_TASKS", "ObjectProcessor", "Outcome"]
