"""The records job: stream a line-format file (JSONL, CSV, text) from the chain's position through the scoring
engine into the chain's uploads, saving progress on the way, then hand off or commit.

- resumes from the ledger (position + writers, checked against S3 by ``MultipartWriter.resume``) or starts;
- saves position and output state together every ``NLP_CHECKPOINT_INTERVAL_S`` at a batch boundary;
- when the invocation's time runs low: saves with the lease released and sends a continuation message;
- at the end: writes the summary body into the ledger (phase ``committing``) and finishes the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from nlpserve.batch import checkpoint, source
from nlpserve.batch.chain import Chain, Phase
from nlpserve.batch.commit import finish_commit
from nlpserve.batch.config import BatchSettings
from nlpserve.batch.engine import Counts, Position, RecordEngine, Timings, error_line
from nlpserve.batch.errors import Reason
from nlpserve.batch.readers import ReadOptions, RecordReader
from nlpserve.batch.summary import scored_summary, status_for
from nlpserve.batch.version import ObjectVersion
from nlpserve.batch.writers import MultipartWriter


class RecordsJob:
    def __init__(
        self,
        s3: Any,
        sqs: Any,
        settings: BatchSettings,
        chain: Chain,
        version: ObjectVersion,
        *,
        remaining_ms: Callable[[], int] | None,
        queue_url: str | None,
        live: list[MultipartWriter],
        clock: Callable[[], float],
        on_progress: Callable[[Position, Counts], None] | None = None,
        logger: Any = None,
    ) -> None:
        self.s3, self.sqs, self.settings, self.chain, self.v = s3, sqs, settings, chain, version
        self.remaining_ms, self.queue_url, self.live, self.clock = remaining_ms, queue_url, live, clock
        self.user_progress, self.logger = on_progress, logger

    def run(self) -> dict[str, Any]:
        """Returns the outcome fields: ``checkpointed`` (handed off) or ``completed``."""
        s, chain, v = self.settings, self.chain, self.v
        results, errors, counts, timings, start, header = self._writers_and_position()
        self.live[:] = [results, errors]
        opts = v.options
        fp = source.open_stream(self.s3, v.job, v.inp, v.etag, start.offset, v.source.get("size"))
        reader = RecordReader(
            fp, v.inp.format,
            ReadOptions(text_field=opts["text_field"], id_field=opts["id_field"],
                        csv_text_column=opts["csv_text_column"], max_text_bytes=opts["max_text_bytes"],
                        max_line_bytes=opts["max_line_bytes"], keep_text=opts["keep_text"],
                        csv_max_record_lines=opts.get("csv_max_record_lines", s.csv_max_record_lines)),
            start_offset=start.offset, start_line=start.line, header=header,
        )
        engine = RecordEngine(v.task, v.params, results, errors, batch_size=opts["batch_size"],
                              id_field=opts["id_field"], counts=counts, timings=timings, logger=self.logger)

        def save(pos: Position, *, release: bool = False) -> None:
            prefix = f"{v.chain_prefix(chain)}{chain.seq + 1:05d}"
            chain.save(release=release, position={"offset": pos.offset, "line": pos.line, "header": reader.header},
                       uploads={"results": results.suspend(f"{prefix}.results.tail"),
                                "errors": errors.suspend(f"{prefix}.errors.tail")},
                       counts=asdict(counts), timings=asdict(timings))

        remaining = self.remaining_ms
        can_continue = remaining is not None and self.queue_url is not None and self.sqs is not None
        boundary: list[Position] = [start]
        last_save = [self.clock()]

        def on_progress(pos: Position, c: Counts) -> None:  # called at each batch boundary, before should_stop
            boundary[0] = pos
            if self.user_progress:
                self.user_progress(pos, c)

        def should_stop(eng: RecordEngine) -> bool:
            if can_continue and remaining() < s.time_safety_ms + 2000 * eng.max_batch_s:  # type: ignore[misc]
                return True
            if self.clock() - last_save[0] >= s.checkpoint_interval_s:
                save(boundary[0])
                last_save[0] = self.clock()
            return False

        stopped_at = engine.run(reader, should_stop, on_progress, start)
        if stopped_at is not None:  # hand the chain to a continuation message
            save(stopped_at, release=True)
            msg_id = checkpoint.send(self.sqs, self.queue_url, v.hint(chain))  # type: ignore[arg-type]
            return {"status": "checkpointed", "key": v.job.key, "seq": chain.seq, "offset": stopped_at.offset,
                    "line": stopped_at.line, "scored": counts.scored, "failed": counts.failed, "message_id": msg_id}

        file_errors = []
        if engine.file_error:
            file_errors.append({"reason": engine.file_error[0], "message": engine.file_error[1]})
        if counts.records == 0 and not engine.file_error:
            msg = "the file has no records" + (f" ({counts.blank} blank lines)" if counts.blank else "")
            errors.write(error_line(0, Reason.EMPTY_FILE.value, msg, None, opts["id_field"]))
            file_errors.append({"reason": Reason.EMPTY_FILE.value, "message": msg})
        summary = scored_summary(
            status=status_for(file_errors), inp=v.inp, source=v.source, task=v.task, options=opts,
            params=v.params_json, counts=counts, timings=timings, started=float(chain.body["created_at"]),
            invocations=int(chain.body.get("invocations") or 1),
            outputs={"results": v.keys.results, "errors": v.keys.errors if errors.bytes_written else None},
            file_errors=file_errors,
        ) | {"options_id": v.options_id}
        prefix = f"{v.chain_prefix(chain)}final"
        chain.save(phase=Phase.COMMITTING.value, summary=summary,
                   uploads={"results": results.suspend(f"{prefix}.results.tail"),
                            "errors": errors.suspend(f"{prefix}.errors.tail")},
                   counts=asdict(counts), timings=asdict(timings))
        self.live.clear()  # from here on the ledger owns the uploads
        return finish_commit(self.s3, s, chain, v)

    def _writers_and_position(self) -> tuple[MultipartWriter, MultipartWriter, Counts, Timings, Position, Any]:
        s, chain, v = self.settings, self.chain, self.v
        state = chain.body
        wkw: dict[str, Any] = {"part_size": s.part_size, "allow_small_parts": True,
                               "metadata": v.output_metadata(chain)}
        if state.get("position"):
            pos = state["position"]
            return (MultipartWriter.resume(self.s3, v.bucket, state["uploads"]["results"], **wkw),
                    MultipartWriter.resume(self.s3, v.bucket, state["uploads"]["errors"], **wkw),
                    Counts.from_dict(state["counts"]), Timings.from_dict(state["timings"]),
                    Position(pos["offset"], pos["line"]), pos.get("header"))
        return (MultipartWriter(self.s3, v.bucket, v.keys.results, **wkw),
                MultipartWriter(self.s3, v.bucket, v.keys.errors, **wkw),
                Counts(), Timings(), Position(0, 0), None)


__all__ = ["RecordsJob"]
