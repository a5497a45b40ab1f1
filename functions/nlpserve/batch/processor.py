"""Score one S3 object version (or move its chain on) and commit its outputs exactly once.

One message -> ``ObjectProcessor.process(job)``:

1. The current object must still be the event's version (``source.head_current``): gone -> skipped; a new
   ETag -> superseded (the newer upload has its own event).
2. The scoring options (object metadata) and the ETag name the *object version*; a summary that already
   commits it makes the message a duplicate.
3. Take the lease on its ledger (``chain.Chain.acquire``); a live lease held elsewhere, or a ledger that is
   ``done``, makes the message a no-op.
4. Records: stream from the ledger's position, score, stream results/errors into multipart uploads, save the
   ledger every ``NLP_CHECKPOINT_INTERVAL_S`` (so a crash or an S3 outage resumes from there, not from line
   0), hand off to a continuation message when the invocation's time runs low, and commit at the end
   (``committing`` -> complete uploads -> summary -> ``done``). Documents: one piece, same commit.
5. Permanent problems (unknown task, unsupported format, missing CSV column...) become a ``failed`` summary;
   anything else releases the lease (keeping the saved progress) and re-raises, so SQS retries the message.

The invariants and why they hold are in ``chain.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from nlpserve.batch import checkpoint, source
from nlpserve.batch.chain import Chain, LedgerStore, Phase, Refusal, lease_seconds, options_hash
from nlpserve.batch.config import BatchSettings
from nlpserve.batch.documents import score_document
from nlpserve.batch.engine import Counts, Position, RecordEngine, Timings, error_line
from nlpserve.batch.errors import ChainBroken, LeaseLost, PermanentFileError, Reason, SupersededObject
from nlpserve.batch.events import Job
from nlpserve.batch.keys import Format, InputKey, OutputKeys, output_keys, parse_input_key
from nlpserve.batch.readers import ReadOptions, RecordReader, read_document
from nlpserve.batch.summary import (
    failed_summary,
    json_bytes,
    put_summary,
    scored_summary,
    status_for,
    summary_matches,
)
from nlpserve.batch.writers import MultipartWriter


def default_task_resolver(name: str) -> Any:
    from nlpserve.tasks import get_task

    return get_task(name)


class Outcome(dict):
    """What happened to one job: {"status": ..., "key": ..., ...} (also logged)."""


class _Version:
    """Everything known about one object version once its key, HEAD and metadata are read."""

    def __init__(self, job: Job, inp: InputKey, keys: OutputKeys, source_info: dict[str, Any], task: Any,
                 params: Any, options: dict[str, Any], options_id: str) -> None:
        self.job, self.inp, self.keys, self.source, self.task = job, inp, keys, source_info, task
        self.params, self.options, self.options_id = params, options, options_id

    @property
    def etag(self) -> str:
        return str(self.source["etag"])

    @property
    def bucket(self) -> str:
        return self.job.bucket

    @property
    def ledger_key(self) -> str:
        return f"{self.keys.work}{self.options_id}.ledger.json"

    def chain_prefix(self, chain: Chain) -> str:
        return f"{self.keys.work}{chain.chain_id}/"

    def output_metadata(self, chain: Chain) -> dict[str, str]:
        return {"source-etag": self.etag, "source-key": quote(self.job.key), "chain": chain.chain_id}


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.invocation_budget_ms = invocation_budget_ms  # remaining time when the invocation started
        self.s3 = s3
        self.sqs = sqs
        self.settings = settings
        self.resolve_task = task_resolver
        self.logger = logger
        self.on_progress = on_progress
        self.clock = clock

    # ------------------------------------------------------------------------------------------------
    def process(self, job: Job, remaining_ms: Callable[[], int] | None = None,
                queue_url: str | None = None) -> Outcome:
        """Move one object version forward. Raises on transient failures (the SQS message is then retried)."""
        s = self.settings
        try:
            inp: InputKey | None = parse_input_key(job.key, s)
            key_error = None
        except PermanentFileError as exc:
            if not job.key.startswith(s.incoming_prefix):
                return self._log(Outcome(status="ignored", key=job.key, reason=exc.reason))
            inp, key_error = None, exc
        try:
            head = source.head_current(self.s3, job)
        except SupersededObject as exc:
            self._abandon(job, "superseded")
            return self._log(Outcome(status="skipped_superseded", key=job.key, reason=str(exc)))
        if head is None:
            self._abandon(job, "source_deleted")
            return self._log(Outcome(status="skipped_missing", key=job.key))
        etag = source.strip_etag(head["ETag"]) or ""
        info = {"bucket": job.bucket, "key": job.key, "etag": etag,
                "version_id": head.get("VersionId") if job.version_id else None, "size": head.get("ContentLength")}
        if inp is None:  # under incoming/ but not a scorable key: say why, next to where results would be
            assert key_error is not None
            return self._fail_unparsed(job, info, key_error)

        keys = output_keys(inp, s, etag)
        started = self.clock()
        meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        options = self._options(meta)
        try:
            task = self._task(inp.task)
            params = self._params(task, meta.get("params"))
        except PermanentFileError as exc:
            return self._fail(job, inp, keys, info, exc, started, inp.task, options, None)
        params_json = params.model_dump(mode="json")
        version = _Version(job, inp, keys, info, task, params, options, options_hash(options, params_json))

        store = LedgerStore(self.s3, job.bucket, version.ledger_key)
        if store.read() is None and self._summary_commits(version):  # committed; its ledger has expired
            return self._log(Outcome(status="skipped_duplicate", key=job.key, etag=etag, summary=keys.summary))
        if self._out_of_time(remaining_ms, queue_url):
            return self._defer(version, queue_url)  # type: ignore[arg-type]

        def lease_until_end() -> float:
            remaining = remaining_ms() if remaining_ms else None
            return lease_seconds(remaining, float(s.lease_s))

        chain, refusal = Chain.acquire(store, self._identity(version), lease_s=lease_until_end, clock=self.clock)
        if chain is None:
            status = "skipped_duplicate" if refusal is Refusal.DONE else "skipped_in_progress"
            return self._log(Outcome(status=status, key=job.key, etag=etag, reason=refusal.value if refusal else None))
        return self._drive(chain, version, remaining_ms, queue_url)

    def _drive(self, chain: Chain, v: _Version, remaining_ms: Callable[[], int] | None,
               queue_url: str | None) -> Outcome:
        live: list[MultipartWriter] = []
        for attempt in (1, 2):
            try:
                if chain.phase is Phase.COMMITTING:
                    return self._finish_commit(chain, v)
                if v.inp.is_document:
                    return self._document(chain, v)
                return self._records(chain, v, remaining_ms, queue_url, live)
            except ChainBroken as exc:
                self._abort_unsaved(chain, live)
                if attempt == 2:
                    chain.release()
                    raise
                if self.logger:
                    self.logger.warning("durable state disagrees with S3; starting the file over",
                                        extra={"key": v.job.key, "detail": str(exc)})
                chain.restart()
                live.clear()
            except LeaseLost as exc:
                return self._log(Outcome(status="lease_lost", key=v.job.key, reason=str(exc)))
            except SupersededObject as exc:
                self._abort_all(chain, live)
                chain.finish("superseded")
                return self._log(Outcome(status="skipped_superseded", key=v.job.key, reason=str(exc)))
            except PermanentFileError as exc:
                self._abort_all(chain, live)
                out = self._fail(v.job, v.inp, v.keys, v.source, exc, float(chain.body["created_at"]), v.inp.task,
                                 v.options, v.params.model_dump(mode="json"), options_id=v.options_id)
                chain.finish("failed")
                self._delete_prefix(v.bucket, v.chain_prefix(chain))
                return out
            except BaseException:
                self._abort_unsaved(chain, live)
                chain.release()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- records -----------------------------------------------------------------------------------------
    def _records(self, chain: Chain, v: _Version, remaining_ms: Callable[[], int] | None, queue_url: str | None,
                 live: list[MultipartWriter]) -> Outcome:
        s = self.settings
        state = chain.body
        wkw: dict[str, Any] = {"part_size": s.part_size, "allow_small_parts": True,
                               "metadata": v.output_metadata(chain)}
        if state.get("position"):
            results = MultipartWriter.resume(self.s3, v.bucket, state["uploads"]["results"], **wkw)
            errors = MultipartWriter.resume(self.s3, v.bucket, state["uploads"]["errors"], **wkw)
            counts, timings = Counts.from_dict(state["counts"]), Timings.from_dict(state["timings"])
            pos = state["position"]
            start, header = Position(pos["offset"], pos["line"]), pos.get("header")
        else:
            results = MultipartWriter(self.s3, v.bucket, v.keys.results, **wkw)
            errors = MultipartWriter(self.s3, v.bucket, v.keys.errors, **wkw)
            counts, timings, start, header = Counts(), Timings(), Position(0, 0), None
        live[:] = [results, errors]
        options = v.options
        fp = source.open_stream(self.s3, v.job, v.inp, v.etag, start.offset, v.source.get("size"))
        reader = RecordReader(
            fp, v.inp.format,
            ReadOptions(text_field=options["text_field"], id_field=options["id_field"],
                        csv_text_column=options["csv_text_column"], max_text_bytes=options["max_text_bytes"],
                        max_line_bytes=options["max_line_bytes"], keep_text=options["keep_text"]),
            start_offset=start.offset, start_line=start.line, header=header,
        )
        engine = RecordEngine(v.task, v.params, results, errors, batch_size=options["batch_size"],
                              id_field=options["id_field"], counts=counts, timings=timings, logger=self.logger)

        def save(pos: Position, *, release: bool = False) -> None:
            seq = chain.seq + 1
            prefix = f"{v.chain_prefix(chain)}{seq:05d}"
            chain.save(release=release, position={"offset": pos.offset, "line": pos.line, "header": reader.header},
                       uploads={"results": results.suspend(f"{prefix}.results.tail"),
                                "errors": errors.suspend(f"{prefix}.errors.tail")},
                       counts=asdict(counts), timings=asdict(timings))

        can_continue = remaining_ms is not None and queue_url is not None and self.sqs is not None
        boundary: list[Position] = [start]
        last_save = [self.clock()]

        def on_progress(pos: Position, c: Counts) -> None:
            boundary[0] = pos
            if self.on_progress:
                self.on_progress(pos, c)

        def should_stop(eng: RecordEngine) -> bool:  # asked at each batch boundary, right after on_progress
            if can_continue and remaining_ms() < s.time_safety_ms + 2000 * eng.max_batch_s:  # type: ignore[misc]
                return True
            if self.clock() - last_save[0] >= s.checkpoint_interval_s:
                save(boundary[0])
                last_save[0] = self.clock()
            return False

        stopped_at = engine.run(reader, should_stop, on_progress, start)
        if stopped_at is not None:  # hand the chain to a continuation message
            save(stopped_at, release=True)
            msg_id = checkpoint.send(self.sqs, queue_url, self._hint(v, chain))  # type: ignore[arg-type]
            return self._log(Outcome(status="checkpointed", key=v.job.key, seq=chain.seq, offset=stopped_at.offset,
                                     line=stopped_at.line, scored=counts.scored, failed=counts.failed,
                                     message_id=msg_id))
        file_errors = []
        if engine.file_error:
            file_errors.append({"reason": engine.file_error[0], "message": engine.file_error[1]})
        if counts.records == 0 and not engine.file_error:
            msg = "the file has no records" + (f" ({counts.blank} blank lines)" if counts.blank else "")
            errors.write(error_line(0, Reason.EMPTY_FILE.value, msg, None, options["id_field"]))
            file_errors.append({"reason": Reason.EMPTY_FILE.value, "message": msg})
        summary = scored_summary(
            status=status_for(file_errors), inp=v.inp, source=v.source, task=v.task, options=options,
            params=v.params.model_dump(mode="json"), counts=counts, timings=timings,
            started=float(chain.body["created_at"]), invocations=int(chain.body.get("invocations") or 1),
            outputs={"results": v.keys.results, "errors": v.keys.errors if errors.bytes_written else None},
            file_errors=file_errors,
        ) | {"options_id": v.options_id}
        prefix = f"{v.chain_prefix(chain)}final"
        chain.save(phase=Phase.COMMITTING.value, summary=summary,
                   uploads={"results": results.suspend(f"{prefix}.results.tail"),
                            "errors": errors.suspend(f"{prefix}.errors.tail")},
                   counts=asdict(counts), timings=asdict(timings))
        live.clear()  # from here on the ledger owns the uploads
        return self._finish_commit(chain, v)

    def _finish_commit(self, chain: Chain, v: _Version) -> Outcome:
        """Idempotent from ``committing``: complete uploads, summary, ``done``. Safe to run again after a crash."""
        source.head_current(self.s3, v.job)  # a newer upload arrived meanwhile: do not overwrite its outputs
        wkw = {"part_size": self.settings.part_size, "allow_small_parts": True, "metadata": v.output_metadata(chain)}
        uploads, summary = chain.body["uploads"], chain.body["summary"]
        results = MultipartWriter.resume(self.s3, v.bucket, uploads["results"], check_parts=False, **wkw)
        errors = MultipartWriter.resume(self.s3, v.bucket, uploads["errors"], check_parts=False, **wkw)
        results.complete()
        if errors.bytes_written:
            errors.complete()
        else:
            errors.abort()
            self._delete(v.bucket, v.keys.errors)  # a stale report from an older version of this key
        put_summary(self.s3, v.bucket, v.keys.summary, summary)
        chain.finish(summary["status"])
        self._delete_prefix(v.bucket, v.chain_prefix(chain))
        c = summary["counts"]
        return self._log(Outcome(status="completed", key=v.job.key, task=v.inp.task, records=c["records"],
                                 scored=c["scored"], failed=c["failed"], invocations=summary["invocations"],
                                 results=v.keys.results, summary=v.keys.summary, summary_status=summary["status"]))

    # -- documents ---------------------------------------------------------------------------------------
    def _document(self, chain: Chain, v: _Version) -> Outcome:
        s = self.settings
        t0 = time.perf_counter()
        fp = source.open_stream(self.s3, v.job, v.inp, v.etag, 0, v.source.get("size"))
        doc = read_document(fp, s.max_document_bytes, partial_ok=True)  # a cut-off .gz: redact what is there
        t1 = time.perf_counter()
        out = score_document(v.inp.task, v.task, v.params, doc.text, report_entity_text=s.report_entity_text)
        t2 = time.perf_counter()
        meta = v.output_metadata(chain)
        ctype = "text/markdown; charset=utf-8" if v.inp.rel.lower().removesuffix(".gz").endswith(".md") else \
            "text/plain; charset=utf-8"
        source.head_current(self.s3, v.job)
        outputs: dict[str, Any] = {"results": v.keys.results, "errors": None}
        if out.text is not None:
            self.s3.put_object(Bucket=v.bucket, Key=v.keys.results, Body=out.text.encode("utf-8"),
                               ContentType=ctype, Metadata=meta)
            self.s3.put_object(Bucket=v.bucket, Key=v.keys.entities,
                               Body=json_bytes({"source": v.source, **out.report}),
                               ContentType="application/json", Metadata=meta)
            outputs["entities"] = v.keys.entities
        else:
            self.s3.put_object(Bucket=v.bucket, Key=v.keys.results, Body=json_bytes({"source": v.source, **out.report}),
                               ContentType="application/json", Metadata=meta)
        self._delete(v.bucket, v.keys.errors)
        timings = Timings(read_s=t1 - t0, score_s=t2 - t1, write_s=time.perf_counter() - t2)
        file_errors = [{"reason": doc.file_error[0], "message": doc.file_error[1]}] if doc.file_error else []
        summary = scored_summary(
            status=status_for(file_errors), inp=v.inp, source=v.source, task=v.task, options=v.options,
            params=v.params.model_dump(mode="json"), counts=Counts(records=1, scored=1), timings=timings,
            started=float(chain.body["created_at"]), invocations=int(chain.body.get("invocations") or 1),
            outputs=outputs, file_errors=file_errors,
            extra={"document": {"bytes": doc.size, "characters": len(doc.text), "segments": out.segments,
                                "segment_limit_bytes": out.segment_limit_bytes}},
        ) | {"options_id": v.options_id}
        put_summary(self.s3, v.bucket, v.keys.summary, summary)
        chain.finish(summary["status"])
        return self._log(Outcome(status="completed", key=v.job.key, task=v.inp.task, records=1, scored=1, failed=0,
                                 document=True, segments=out.segments, results=v.keys.results))

    # -- decisions ---------------------------------------------------------------------------------------
    def _summary_commits(self, v: _Version) -> bool:
        try:
            body = self.s3.get_object(Bucket=v.bucket, Key=v.keys.summary)["Body"].read()
            return summary_matches(json.loads(body), v.etag, v.options_id)
        except ClientError as exc:
            if source._code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        except ValueError:
            return False

    def _out_of_time(self, remaining_ms: Callable[[], int] | None, queue_url: str | None) -> bool:
        s = self.settings
        if remaining_ms is None or queue_url is None or self.sqs is None or remaining_ms() >= s.time_safety_ms:
            return False
        if self.invocation_budget_ms is not None and self.invocation_budget_ms < s.time_safety_ms:
            raise RuntimeError(f"the invocation started with {self.invocation_budget_ms} ms, less than "
                               f"NLP_TIME_SAFETY_MS={s.time_safety_ms}: raise the function timeout")
        return True

    def _defer(self, v: _Version, queue_url: str) -> Outcome:
        """Earlier messages of this invocation used its time: hand this object version to a fresh invocation."""
        msg_id = checkpoint.send(self.sqs, queue_url, self._hint(v, None))
        return self._log(Outcome(status="deferred", key=v.job.key, message_id=msg_id))

    @staticmethod
    def _hint(v: _Version, chain: Chain | None) -> dict[str, Any]:
        return {"bucket": v.bucket, "key": v.job.key, "etag": v.etag, "version_id": v.source["version_id"],
                "ledger": v.ledger_key, "chain": chain.chain_id if chain else None,
                "seq": chain.seq if chain else None}

    def _abandon(self, job: Job, status: str) -> None:
        """A continuation for an object version that is gone or overwritten: free its chain's uploads."""
        ledger_key = (job.checkpoint or {}).get(checkpoint.CHECKPOINT_KEY, {}).get("ledger")
        if not ledger_key:
            return  # an S3 event: the newer version's own chain takes over; leftovers expire by lifecycle
        chain, _ = Chain.acquire(LedgerStore(self.s3, job.bucket, ledger_key), {},
                                 lease_s=lambda: float(self.settings.lease_s), clock=self.clock)
        if chain is None:
            return
        self._abort_all(chain, [])
        chain.finish(status)
        self._delete_prefix(job.bucket, ledger_key.rsplit("/", 1)[0] + f"/{chain.chain_id}/")

    @staticmethod
    def _identity(v: _Version) -> dict[str, Any]:
        return {"bucket": v.bucket, "key": v.job.key, "etag": v.etag, "options_id": v.options_id}

    # -- S3 helpers ----------------------------------------------------------------------------------------
    def _abort_unsaved(self, chain: Chain, live: list[MultipartWriter]) -> None:
        """Abort uploads this invocation started that the ledger does not reference (nothing can resume them)."""
        saved = {u.get("upload_id") for u in (chain.body.get("uploads") or {}).values() if u}
        for w in live:
            if w.upload_id is not None and w.upload_id not in saved:
                w.abort()

    def _abort_all(self, chain: Chain, live: list[MultipartWriter]) -> None:
        for w in live:
            w.abort()
        for u in (chain.body.get("uploads") or {}).values():
            if u and u.get("upload_id"):
                try:
                    self.s3.abort_multipart_upload(Bucket=chain.store.bucket, Key=u["key"], UploadId=u["upload_id"])
                except ClientError:
                    pass

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

    # -- task / options ----------------------------------------------------------------------------------
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

    # -- failures ------------------------------------------------------------------------------------------
    def _fail(self, job: Job, inp: InputKey, keys: OutputKeys, info: dict[str, Any], exc: PermanentFileError,
              started: float, task_name: str, options: dict[str, Any] | None, params: dict[str, Any] | None,
              options_id: str | None = None) -> Outcome:
        """A permanent, file-level failure: errors object + summary(status=failed); the message succeeds."""
        line = error_line(0, exc.reason, exc.message, None, self.settings.id_field)
        self.s3.put_object(Bucket=job.bucket, Key=keys.errors, Body=line, ContentType="application/x-ndjson")
        self._delete(job.bucket, keys.results)  # whatever is there belongs to an older version of the input
        summary = failed_summary(task_name=task_name, inp=inp, source=info, reason=exc.reason, message=exc.message,
                                 errors_key=keys.errors, started=started, options=options, params=params)
        summary["options_id"] = options_id
        put_summary(self.s3, job.bucket, keys.summary, summary)
        if self.logger:
            self.logger.error("file cannot be scored (permanent; not retried)",
                              extra={"key": job.key, "reason": exc.reason, "detail": exc.message})
        return Outcome(status="failed_permanent", key=job.key, reason=exc.reason, message=exc.message)

    def _fail_unparsed(self, job: Job, info: dict[str, Any], exc: PermanentFileError) -> Outcome:
        s = self.settings
        rest = job.key[len(s.incoming_prefix):]
        task, _, rel = rest.partition("/")
        if not task or not rel:
            return self._log(Outcome(status="ignored", key=job.key, reason=exc.reason))
        inp = InputKey(key=job.key, task=task, rel=rel, format=Format.JSONL, gzip=False)
        base = f"{s.results_prefix}{task}/{rel}"
        keys = OutputKeys(results=base + ".jsonl", summary=base + ".summary.json",
                          errors=f"{s.errors_prefix}{task}/{rel}.errors.jsonl", work="")
        return self._fail(job, inp, keys, info, exc, self.clock(), task, None, None)

    def _log(self, outcome: Outcome) -> Outcome:
        if self.logger:
            self.logger.info(f"batch job {outcome['status']}", extra=dict(outcome))
        return outcome


__all__ = ["ObjectProcessor", "Outcome", "default_task_resolver"]
