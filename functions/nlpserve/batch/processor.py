"""Score one S3 object version (or move its chain on) and commit its outputs exactly once.

One message -> ``ObjectProcessor.process(job)``:

1. The current object must still be the event's version (``source.head_current``): gone -> skipped; a new
   ETag -> superseded (the newer upload has its own event).
2. The scoring options (object metadata) and the ETag name the *object version*; a summary that already
   commits it makes the message a duplicate.
3. Take the lease on its ledger (``chain.Chain.acquire``); a live lease held elsewhere, or a ledger that is
   ``done``, makes the message a no-op.
4. Run the job: ``records.RecordsJob`` for line formats (resume, score, save progress, hand off or commit),
   ``documents.run_document_job`` for whole documents, or ``commit.finish_commit`` when an earlier attempt
   crashed while committing.
5. Permanent problems (unknown task, unsupported format, missing CSV column...) become a ``failed`` summary;
   anything else releases the lease (keeping the saved progress) and re-raises, so SQS retries the message.

The invariants and why they hold are in ``chain.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from nlpserve import catalog
from nlpserve.batch import checkpoint, source
from nlpserve.batch.chain import Chain, LedgerStore, Phase, Refusal, lease_seconds, options_hash
from nlpserve.batch.commit import (
    abort_all,
    abort_unsaved,
    delete_prefix,
    delete_quietly,
    finish_commit,
    output_source,
)
from nlpserve.batch.config import BatchSettings, text_limit
from nlpserve.batch.documents import DocumentTooSlow, run_document_job
from nlpserve.batch.engine import Counts, Position, error_line
from nlpserve.batch.errors import (
    ChainBroken,
    LeaseLost,
    PermanentFileError,
    Reason,
    SupersededObject,
    client_error_code,
)
from nlpserve.batch.events import Job
from nlpserve.batch.keys import LINE_TASKS, Format, InputKey, OutputKeys, output_keys, parse_input_key
from nlpserve.batch.records import RecordsJob
from nlpserve.batch.summary import failed_summary, put_summary, summary_matches
from nlpserve.batch.version import ObjectVersion
from nlpserve.batch.writers import MultipartWriter
from nlpserve.tasks import budget


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
        options["max_text_bytes"] = text_limit(s, task)
        params_json = params.model_dump(mode="json")
        version = ObjectVersion(job, inp, keys, info, task, params, options, options_hash(options, params_json))

        store = LedgerStore(self.s3, job.bucket, version.ledger_key)
        if store.read() is None and self._summary_commits(version):  # committed; its ledger has expired
            return self._log(Outcome(status="skipped_duplicate", key=job.key, etag=etag, summary=keys.summary))
        if self._out_of_time(remaining_ms, queue_url):
            return self._defer(version, queue_url)  # type: ignore[arg-type]

        def lease_until_end() -> float:
            remaining = remaining_ms() if remaining_ms else None
            return lease_seconds(remaining, float(s.lease_s))

        chain, refusal = Chain.acquire(store, self._identity(version), lease_s=lease_until_end, clock=self.clock)
        if chain is None and refusal is Refusal.DONE and not self._summary_commits(version):
            # done once, but the outputs at its keys are no longer this version's (the key was overwritten and
            # then reverted to these bytes, or the summary was deleted): score it again
            chain, refusal = Chain.reopen(store, lease_s=lease_until_end, clock=self.clock)
        if chain is None:
            status = "skipped_duplicate" if refusal is Refusal.DONE else "skipped_in_progress"
            return self._log(Outcome(status=status, key=job.key, etag=etag, reason=refusal.value if refusal else None))
        return self._drive(chain, version, remaining_ms, queue_url)

    def _drive(self, chain: Chain, v: ObjectVersion, remaining_ms: Callable[[], int] | None,
               queue_url: str | None) -> Outcome:
        live: list[MultipartWriter] = []
        for attempt in (1, 2):
            try:
                if chain.phase is Phase.COMMITTING:
                    return self._log(Outcome(finish_commit(self.s3, self.settings, chain, v)))
                if v.inp.is_document:
                    fresh = self.invocation_budget_ms is None or remaining_ms is None or \
                        remaining_ms() >= 0.9 * self.invocation_budget_ms
                    try:
                        return self._log(Outcome(run_document_job(self.s3, self.settings, chain, v,
                                                                  remaining_ms=remaining_ms, fresh_invocation=fresh)))
                    except DocumentTooSlow:
                        chain.release()
                        if queue_url is None or self.sqs is None:
                            raise
                        return self._defer(v, queue_url)
                job = RecordsJob(self.s3, self.sqs, self.settings, chain, v, remaining_ms=remaining_ms,
                                 queue_url=queue_url, live=live, clock=self.clock, on_progress=self.on_progress,
                                 logger=self.logger)
                return self._log(Outcome(job.run()))
            except ChainBroken as exc:
                abort_unsaved(chain, live)
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
                abort_all(self.s3, chain, live)
                chain.finish("superseded")
                return self._log(Outcome(status="skipped_superseded", key=v.job.key, reason=str(exc)))
            except PermanentFileError as exc:
                abort_all(self.s3, chain, live)
                out = self._fail(v.job, v.inp, v.keys, v.source, exc, float(chain.body["created_at"]), v.inp.task,
                                 v.options, v.params_json, options_id=v.options_id)
                chain.finish("failed")
                delete_prefix(self.s3, v.bucket, v.chain_prefix(chain))
                return out
            except BaseException:
                abort_unsaved(chain, live)
                chain.release()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- decisions ---------------------------------------------------------------------------------------
    def _summary_commits(self, v: ObjectVersion) -> bool:
        try:
            body = self.s3.get_object(Bucket=v.bucket, Key=v.keys.summary)["Body"].read()
            return summary_matches(json.loads(body), v.etag, v.options_id)
        except ClientError as exc:
            if client_error_code(exc) in ("404", "NoSuchKey", "NotFound"):
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

    def _defer(self, v: ObjectVersion, queue_url: str) -> Outcome:
        """Earlier messages of this invocation used its time: hand this object version to a fresh invocation."""
        msg_id = checkpoint.send(self.sqs, queue_url, v.hint(None))
        return self._log(Outcome(status="deferred", key=v.job.key, message_id=msg_id))

    def _abandon(self, job: Job, status: str) -> None:
        """A continuation for an object version that is gone or overwritten: free its chain's uploads."""
        ledger_key = (job.checkpoint or {}).get(checkpoint.CHECKPOINT_KEY, {}).get("ledger")
        if not ledger_key:
            return  # an S3 event: the newer version's own chain takes over; leftovers expire by lifecycle
        chain, _ = Chain.acquire(LedgerStore(self.s3, job.bucket, ledger_key), {},
                                 lease_s=lambda: float(self.settings.lease_s), clock=self.clock)
        if chain is None:
            return
        abort_all(self.s3, chain, [])
        chain.finish(status)
        delete_prefix(self.s3, job.bucket, ledger_key.rsplit("/", 1)[0] + f"/{chain.chain_id}/")

    @staticmethod
    def _identity(v: ObjectVersion) -> dict[str, Any]:
        return {"bucket": v.bucket, "key": v.job.key, "etag": v.etag, "options_id": v.options_id}

    # -- task / options ----------------------------------------------------------------------------------
    def _task(self, name: str) -> Any:
        if name in catalog.task_names() and name not in LINE_TASKS:
            raise PermanentFileError(Reason.UNKNOWN_TASK, f"task {name!r} has no batch-file form; use "
                                     f"{budget.BATCH_PATHS.get(name, 'the HTTP API')}")
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
            "csv_max_record_lines": s.csv_max_record_lines,
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
        if output_source(self.s3, job.bucket, keys.results) in (None, job.key):  # never another input's results
            delete_quietly(self.s3, job.bucket, keys.results)  # an older version's results of this same key
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
