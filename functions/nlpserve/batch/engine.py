"""The scoring loop shared by the Lambda path and the CLI: items in, JSONL result/error lines out.

Valid records are scored ``batch_size`` at a time through the task pipeline. If a batch raises, its records
are scored one by one so a poisoned record becomes one error line and the rest are still scored. If every
record of a sizeable batch fails on its own with the same non-validation error AND a probe text that is
known to score (the first text this engine scored, else a fixed sentence) fails too, the model is broken
rather than the data: ``SystemicScoringError`` is raised so the message is retried (and lands in the DLQ).
Data that the task cannot take (a lone surrogate in a text) never reaches the model.

Output lines can never fail a file: a result line that cannot be written as strict JSON (RFC 8259: UTF-8,
no NaN/Infinity) becomes an error line for that record, and error lines are made writable (lone surrogates
written as ``\\udXXX`` text, non-finite numbers as strings).

Result lines never lose a value: ``line`` is always the physical line and an input field named ``line`` or
like a result field is carried as ``input_<name>`` (``result_line``). Only records of binary data (NUL bytes,
control characters: ``BadRecord.binary``) count toward the binary-file cut-off (a line 0 entry), never text
in a legacy encoding.

A fatal item from the reader (a truncated or corrupt gzip stream) is written as a file-level error line
(line 0, not counted as a record) and sets ``file_error = (reason, message)``: the file is then ``partial``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from nlpserve.batch.errors import Reason, SystemicScoringError
from nlpserve.batch.readers import (
    BadRecord,
    Item,
    Record,
    Skip,
    find_lone_surrogate,
    find_non_finite,
    printable,
)
from nlpserve.batch.writers import Sink
from nlpserve.tasks import budget
from nlpserve.text import lone_surrogate

BINARY_REASONS = frozenset({Reason.BINARY, Reason.UNDECODABLE})
BINARY_FILE_THRESHOLD = 20  # this many leading binary-looking records and nothing valid: a binary file
INPUT_PREFIX = "input_"  # an input field whose name the engine writes is carried as input_<name>


def _looks_binary(item: BadRecord) -> bool:
    """Counts toward the binary-file cut-off: NUL bytes, or undecodable bytes that do not look like text.

    A row in a legacy encoding (Windows-1252 from Excel) is one ``undecodable_bytes`` error and never
    stops the file. ``BadRecord.binary`` is set by the reader; None (a BadRecord from elsewhere) goes by reason.
    """
    if item.reason not in BINARY_REASONS:
        return False
    return item.reason is Reason.BINARY if item.binary is None else item.binary


def result_line(line: int, fields: dict[str, Any], record_id: Any, result: dict[str, Any],
                id_field: str = "id") -> dict[str, Any]:
    """``{"line": n, <input fields>, id: ..., <result fields>}``; nothing is overwritten.

    ``line`` is always the physical line. An input field named ``line`` or like a field of the result is
    carried as ``input_<name>`` (``input_input_<name>`` if that name is taken too, and so on).
    """
    reserved = {"line", *result}
    out: dict[str, Any] = {"line": line}
    for name, value in fields.items():
        key = name
        if key in reserved:
            key = INPUT_PREFIX + name
            while key in reserved or key in fields or key in out:
                key = INPUT_PREFIX + key
        out[key] = value
    if id_field not in out and id_field not in reserved:
        out[id_field] = record_id
    out.update(result)
    out["line"] = line
    return out
SYSTEMIC_MIN_BATCH = 8
PROBE_TEXT = "The weather is fine today."  # the systemic probe before any text of the file has scored


@dataclass
class Counts:
    records: int = 0  # scored + failed (blank lines are not records)
    scored: int = 0
    failed: int = 0
    blank: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def fail(self, reason: str) -> None:
        self.failed += 1
        self.records += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Counts:
        return cls(**d) if d else cls()


@dataclass
class Timings:
    read_s: float = 0.0
    score_s: float = 0.0
    write_s: float = 0.0

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Timings:
        return cls(**d) if d else cls()

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in asdict(self).items()}


@dataclass
class Position:
    offset: int  # bytes of the (decompressed) stream consumed
    line: int  # physical lines consumed


def _dumps(obj: dict[str, Any]) -> bytes:
    """One strict JSON line (UTF-8, no NaN/Infinity). Raises ValueError/TypeError/RecursionError otherwise."""
    return (json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")


def _writable(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` that ``_dumps`` accepts: surrogates as ``\\udXXX`` text, NaN/Infinity as strings."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= 32:
        return printable(repr(value)[:200])
    if isinstance(value, dict):
        return {printable(str(k)): _writable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_writable(v, depth + 1) for v in value]
    return printable(str(value))


def error_line(line: int, reason: str, message: str, record_id: Any = None, id_field: str = "id") -> bytes:
    if id_field in ("line", "reason", "message"):  # never overwrite the engine's own keys
        id_field = INPUT_PREFIX + id_field
    obj = {"line": line, id_field: record_id, "reason": reason, "message": message}
    try:
        return _dumps(obj)
    except (ValueError, TypeError, RecursionError):
        return _dumps(_writable(obj))


def _unwritable(out: dict[str, Any], exc: Exception) -> tuple[str, str]:
    """Why a result line could not be written: the record's error (reason, message)."""
    try:
        found = find_lone_surrogate(out)
    except RecursionError:
        found = None
    if found is not None:
        where, text, at = found
        return (Reason.INVALID_UNICODE.value,
                f"{where} has a lone surrogate U+{ord(text[at]):04X} at character {at}; it cannot be written as UTF-8")
    bad = find_non_finite(out)
    if bad is not None:
        return (Reason.UNSERIALIZABLE_RESULT.value,
                f"field {bad[0]!r} is {bad[1]}, which JSON cannot represent; the result line was not written")
    return Reason.UNSERIALIZABLE_RESULT.value, f"the result line cannot be written as JSON: {type(exc).__name__}: {exc}"


def _refused_items(exc: Exception, count: int) -> list[int]:
    """The items a client error (4xx) names one by one in its details (``{"index": i, ...}``), when every detail
    names a distinct one; else []."""
    status = getattr(exc, "status_code", 500)
    details = getattr(exc, "details", None) or []
    if not 400 <= int(status) < 500 or not details:
        return []
    indexes = [d.get("index") if isinstance(d, dict) else None for d in details]
    if not all(isinstance(i, int) and 0 <= i < count for i in indexes) or len(set(indexes)) != len(indexes):
        return []
    return indexes  # type: ignore[return-value]


def _refusal(exc: Exception, index: int) -> tuple[str, str]:
    """The errors-file reason and message of refused item ``index``: the detail's own ``message`` when the task
    gives one ("looks like language 'de' ..."), else the error's message. Never "item N": that is a position
    inside an internal batch, not the record's line."""
    reason, message = _reason_of(exc)
    detail = next((d for d in getattr(exc, "details", None) or [] if isinstance(d, dict) and d.get("index") == index),
                  {})
    return reason, f"this text {detail['message']}" if detail.get("message") else message


def _reason_of(exc: Exception) -> tuple[str, str]:
    error_type = getattr(exc, "error_type", None)
    status = getattr(exc, "status_code", 500)
    if error_type and 400 <= int(status) < 500:
        return str(error_type), getattr(exc, "message", str(exc))
    return Reason.SCORING_FAILED.value, f"{type(exc).__name__}: {exc}"


def _is_validation(exc: Exception) -> bool:
    return 400 <= int(getattr(exc, "status_code", 500)) < 500


class RecordEngine:
    def __init__(
        self,
        task: Any,
        params: Any,
        results: Sink,
        errors: Sink,
        *,
        batch_size: int = 64,
        id_field: str = "id",
        counts: Counts | None = None,
        timings: Timings | None = None,
        logger: Any = None,
    ) -> None:
        self.task = task
        self.params = params
        self.results = results
        self.errors = errors
        self.batch_size = batch_size
        self.id_field = id_field
        self.counts = counts or Counts()
        self.timings = timings or Timings()
        self.logger = logger
        self.max_batch_s = 0.0
        self.file_error: tuple[str, str] | None = None  # set when the stream stopped early (binary/corrupt)
        self._leading_binary = 0
        self._seen_valid = counts is not None and counts.scored > 0
        self._probe: str | None = None  # a text this engine scored: proof the model works

    # -- public ----------------------------------------------------------------------------------------
    def run(
        self,
        items: Iterable[Item],
        should_stop: Callable[[RecordEngine], bool] = lambda _e: False,
        on_progress: Callable[[Position, Counts], None] | None = None,
        start: Position | None = None,
    ) -> Position | None:
        """Consume ``items``; return None when the stream is done, else the position to resume from.

        ``should_stop`` is asked after each scored batch (never in the middle of one), so every item before
        the returned position has been written to ``results`` or ``errors``.
        """
        pos = start or Position(0, 0)
        pending: list[Record | BadRecord] = []  # records to score + errors between them, in input order
        n_records = 0
        it = iter(items)
        t_read = time.perf_counter()
        while True:
            item = next(it, None)
            self.timings.read_s += time.perf_counter() - t_read
            if item is None:
                break
            if isinstance(item, Record):
                at = lone_surrogate(item.text)
                if at is not None:  # the reader checks this; a Record from elsewhere must not reach the model
                    item = BadRecord(item.line, Reason.INVALID_UNICODE,
                                     f"the text has a lone surrogate U+{ord(item.text[at]):04X} at character {at}; "
                                     f"it cannot be encoded as UTF-8", item.end_offset, item.end_line, item.record_id)
            if isinstance(item, Record):
                pending.append(item)
                n_records += 1
                self._seen_valid = True
            elif isinstance(item, BadRecord) and item.fatal:
                if pending:  # keep input order: what came before the fault is written first
                    self._flush(pending)
                    pending, n_records = [], 0
                self._write_error(item.line, item.reason.value, item.message, None, count=False)
                self.file_error = (item.reason.value, item.message)
                break
            elif isinstance(item, BadRecord):
                if pending:
                    pending.append(item)
                else:
                    self._write_error(item.line, item.reason.value, item.message, item.record_id)
                if not self._seen_valid and _looks_binary(item):
                    self._leading_binary += 1
                    if self._leading_binary >= BINARY_FILE_THRESHOLD:
                        msg = (f"{self._leading_binary} records of binary data (NUL bytes or control characters) "
                               f"and no valid record up to line {item.line}: treated as a binary file, the rest "
                               f"was not read")
                        self._write_error(0, Reason.BINARY_FILE.value, msg, None, count=False)
                        self.file_error = (Reason.BINARY_FILE.value, msg)
                        break
            elif isinstance(item, Skip) and not item.header:
                self.counts.blank += 1
            if n_records >= self.batch_size:
                self._flush(pending)
                pending, n_records = [], 0
                pos = Position(item.end_offset, item.end_line)
                if on_progress:
                    on_progress(pos, self.counts)
                if should_stop(self):
                    return pos
            elif not pending:
                pos = Position(item.end_offset, item.end_line)
            t_read = time.perf_counter()
        if pending:
            self._flush(pending)
        if on_progress:
            on_progress(pos, self.counts)
        return None

    # -- scoring ---------------------------------------------------------------------------------------
    def _flush(self, pending: list[Record | BadRecord]) -> None:
        t0 = time.perf_counter()
        with budget.unbounded():  # the API's per-request work budget does not apply to batch records
            scored = iter(self._score([p for p in pending if isinstance(p, Record)]))
        t1 = time.perf_counter()
        for item in pending:
            if isinstance(item, BadRecord):
                self._write_error(item.line, item.reason.value, item.message, item.record_id)
                continue
            rec, result, err = next(scored)
            if err is not None:
                self._write_error(rec.line, err[0], err[1], rec.record_id)
                continue
            out: dict[str, Any] = {"line": rec.line}
            try:
                # the API omits None fields too
                out = result_line(rec.line, rec.fields, rec.record_id,
                                  result.model_dump(mode="json", exclude_none=True), self.id_field)
                data = _dumps(out)
            except Exception as exc:  # noqa: BLE001 - one record's output must never fail the file
                self._write_error(rec.line, *_unwritable(out, exc), rec.record_id)
                continue
            self.results.write(data)
            self.counts.scored += 1
            self.counts.records += 1
        t2 = time.perf_counter()
        self.timings.score_s += t1 - t0
        self.timings.write_s += t2 - t1
        self.max_batch_s = max(self.max_batch_s, t1 - t0)

    def _score(self, batch: list[Record]) -> list[tuple[Record, Any, tuple[str, str] | None]]:
        """(record, result, error) per record, in input order. A client error naming one item (such as
        unsupported_language) drops that record and re-runs the rest together; any other failure scores the
        records one by one to isolate the poisoned one(s)."""
        rejected: dict[int, tuple[str, str]] = {}
        pending = list(range(len(batch)))
        while pending:
            try:
                results = self.task.run([batch[i].text for i in pending], self.params)
                if len(results) != len(pending):
                    raise RuntimeError(f"task returned {len(results)} results for {len(pending)} texts")
                self._probe = self._probe or batch[pending[0]].text
                scored = dict(zip(pending, results))
                return [(r, scored.get(i), rejected.get(i)) for i, r in enumerate(batch)]
            except Exception as batch_exc:  # noqa: BLE001 - isolate the poisoned record(s)
                refused = _refused_items(batch_exc, len(pending))
                if refused:  # e.g. unsupported_language: drop those records, keep the rest of the batch together
                    for at in sorted(refused, reverse=True):
                        rejected[pending.pop(at)] = _refusal(batch_exc, at)
                    continue
                if self.logger:
                    self.logger.warning("batch scoring failed; scoring its records one by one",
                                        extra={"batch": len(pending), "error": repr(batch_exc)[:300]})
                break
        else:  # every record was refused
            return [(r, None, rejected[i]) for i, r in enumerate(batch)]
        one = dict(zip(pending, self._one_by_one([batch[i] for i in pending])))
        return [one[i] if i in one else (r, None, rejected[i]) for i, r in enumerate(batch)]

    def _one_by_one(self, batch: list[Record]) -> list[tuple[Record, Any, tuple[str, str] | None]]:
        out: list[tuple[Record, Any, tuple[str, str] | None]] = []
        failures: list[Exception] = []
        for rec in batch:
            try:
                out.append((rec, self.task.run([rec.text], self.params)[0], None))
                self._probe = self._probe or rec.text
            except Exception as exc:  # noqa: BLE001
                failures.append(exc)
                out.append((rec, None, _reason_of(exc)))
        if (
            len(batch) >= SYSTEMIC_MIN_BATCH
            and len(failures) == len(batch)
            and len({type(e) for e in failures}) == 1
            and not _is_validation(failures[0])
            and self._model_fails()
        ):
            raise SystemicScoringError(
                f"all {len(batch)} records of a batch failed with {type(failures[0]).__name__}: {failures[0]}"
                f" (and so does a text that scored before)"
            ) from failures[0]
        return out

    def _model_fails(self) -> bool:
        """True when a text known to score fails too: the model, not the records, is broken."""
        try:
            self.task.run([self._probe or PROBE_TEXT], self.params)
        except Exception as exc:  # noqa: BLE001
            return not _is_validation(exc)
        return False

    def _write_error(self, line: int, reason: str, message: str, record_id: Any, count: bool = True) -> None:
        self.errors.write(error_line(line, reason, message, record_id, self.id_field))
        if count:
            self.counts.fail(reason)
