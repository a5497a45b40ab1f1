"""Streaming record readers: JSONL, CSV and plain text (optionally gzip), plus whole documents.

Readers pull fixed-size chunks from a binary stream (an S3 ``StreamingBody``, a ``GzipFile`` over it, or a
local file) and never hold more than one physical line (capped at ``max_line_bytes``) plus one chunk in
memory. Every item they yield carries the byte offset and line number *after* it, so a caller can stop after
any item and resume later from exactly that point (an S3 ``Range`` request for plain files; skipping the
decompressed bytes for gzip).

Items are ``Record`` (a text to score), ``BadRecord`` (a record-level error: line + reason) or ``Skip`` (a
blank line). One bad line never stops the reader.
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Union

from nlpserve.batch.errors import PermanentFileError, Reason
from nlpserve.batch.keys import Format

CHUNK_SIZE = 256 * 1024
BOM = b"\xef\xbb\xbf"
GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


@dataclass(slots=True)
class Record:
    line: int
    text: str
    fields: dict[str, Any]
    record_id: Any
    end_offset: int
    end_line: int


@dataclass(slots=True)
class BadRecord:
    line: int
    reason: Reason
    message: str
    end_offset: int
    end_line: int
    record_id: Any = None
    fatal: bool = False  # the stream cannot continue after this item (e.g. corrupt gzip)


@dataclass(slots=True)
class Skip:
    line: int
    end_offset: int
    end_line: int
    header: bool = False  # the CSV header row: consumed, but not a blank line


Item = Union[Record, BadRecord, Skip]


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str = "id"
    csv_text_column: str = "text"
    max_text_bytes: int = 20_000
    max_line_bytes: int = 1024 * 1024
    keep_text: bool = False


def iter_raw_lines(fp: BinaryIO, max_line_bytes: int, chunk_size: int = CHUNK_SIZE) -> Iterator[tuple[bytes | None, int]]:
    """Yield ``(line, consumed)`` per physical line; ``line`` is None when longer than ``max_line_bytes``.

    ``consumed`` counts the bytes of the line including its ``\\n``. Over-long lines are discarded while
    streaming, never buffered. A trailing ``\\r`` is stripped.
    """
    buf = bytearray()
    discarding = False
    discarded = 0
    while True:
        chunk = fp.read(chunk_size)
        if not chunk:
            break
        start = 0
        n = len(chunk)
        while start < n:
            nl = chunk.find(b"\n", start)
            if nl == -1:
                rest = chunk[start:]
                if discarding:
                    discarded += len(rest)
                else:
                    buf += rest
                    if len(buf) > max_line_bytes:
                        discarding, discarded = True, len(buf)
                        buf.clear()
                break
            if discarding:
                yield None, discarded + (nl - start) + 1
                discarding, discarded = False, 0
            else:
                if buf:
                    buf += chunk[start:nl]
                    line = bytes(buf)
                    buf.clear()
                else:
                    line = chunk[start:nl]
                size = len(line) + 1
                if len(line) > max_line_bytes:
                    yield None, size
                else:
                    yield (line[:-1] if line.endswith(b"\r") else line), size
            start = nl + 1
    if discarding:
        yield None, discarded
    elif buf:
        line = bytes(buf)
        yield (line[:-1] if line.endswith(b"\r") else line), len(line)


def text_problem(text: str, max_text_bytes: int) -> tuple[Reason, str] | None:
    """Record-level validation shared by every format (the task would raise on these)."""
    if not text.strip():
        return Reason.EMPTY_TEXT, "text is empty or whitespace"
    if "\x00" in text:
        return Reason.BINARY, "text contains NUL bytes"
    if len(text) * 4 > max_text_bytes:  # UTF-8 is at most 4 bytes a character: only then measure
        size = len(text.encode("utf-8"))
        if size > max_text_bytes:
            return Reason.TEXT_TOO_LONG, f"text is {size} bytes; the limit is {max_text_bytes}"
    return None


def _decode(raw: bytes) -> tuple[str | None, tuple[Reason, str] | None]:
    if b"\x00" in raw:
        return None, (Reason.BINARY, "line contains NUL bytes (binary data)")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, (Reason.UNDECODABLE, f"not UTF-8: {exc.reason} at byte {exc.start}")


class RecordReader:
    """Iterate the items of one stream from ``(start_offset, start_line)``.

    For CSV, ``header`` holds the column names (read from the first line, or given when resuming).
    """

    def __init__(
        self,
        fp: BinaryIO,
        fmt: Format,
        opts: ReadOptions,
        *,
        start_offset: int = 0,
        start_line: int = 0,
        header: list[str] | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if fmt is Format.DOCUMENT:
            raise ValueError("documents are read with read_document()")
        self.fp = fp
        self.fmt = fmt
        self.opts = opts
        self.offset = start_offset
        self.line = start_line
        self.header = header
        self.chunk_size = chunk_size
        self._raw = self._guarded_raw_lines()
        self._gzip_error: str | None = None

    # -- raw lines with offset bookkeeping -------------------------------------------------------------
    def _guarded_raw_lines(self) -> Iterator[tuple[bytes | None, int]]:
        it = iter_raw_lines(self.fp, self.opts.max_line_bytes, self.chunk_size)
        first = self.offset == 0
        while True:
            try:
                raw, size = next(it)
            except StopIteration:
                return
            except GZIP_ERRORS as exc:
                self._gzip_error = f"corrupt gzip stream: {exc}"
                return
            if first and raw is not None and raw.startswith(BOM):
                raw = raw[len(BOM):]
            first = False
            yield raw, size

    def __iter__(self) -> Iterator[Item]:
        if self.fmt is Format.CSV:
            yield from self._csv_items()
        else:
            for raw, size in self._raw:
                self.offset += size
                self.line += 1
                yield self._line_item(raw)
        if self._gzip_error:
            yield BadRecord(self.line + 1, Reason.BAD_GZIP, self._gzip_error, self.offset, self.line, fatal=True)

    def _bad(self, reason: Reason, message: str, record_id: Any = None, line: int | None = None) -> BadRecord:
        return BadRecord(line or self.line, reason, message, self.offset, self.line, record_id)

    def _line_item(self, raw: bytes | None) -> Item:
        if raw is None:
            return self._bad(Reason.LINE_TOO_LONG, f"line longer than {self.opts.max_line_bytes} bytes")
        if not raw.strip():
            return Skip(self.line, self.offset, self.line)
        text, problem = _decode(raw)
        if problem:
            return self._bad(*problem)
        assert text is not None
        if self.fmt is Format.TEXT:
            problem = text_problem(text, self.opts.max_text_bytes)
            if problem:
                return self._bad(*problem, record_id=self.line)
            return Record(self.line, text, {}, self.line, self.offset, self.line)
        return self._json_item(text)

    def _json_item(self, line_text: str) -> Item:
        opts = self.opts
        try:
            obj = json.loads(line_text)
        except ValueError as exc:
            return self._bad(Reason.MALFORMED_JSON, f"invalid JSON: {exc}")
        if not isinstance(obj, dict):
            return self._bad(Reason.NOT_AN_OBJECT, f"expected a JSON object, got {type(obj).__name__}")
        record_id = obj.get(opts.id_field, self.line)
        if opts.text_field not in obj:
            return self._bad(Reason.MISSING_TEXT, f"no {opts.text_field!r} field", record_id)
        text = obj[opts.text_field]
        if not isinstance(text, str):
            return self._bad(Reason.TEXT_NOT_STRING, f"{opts.text_field!r} is {type(text).__name__}, not a string",
                             record_id)
        problem = text_problem(text, opts.max_text_bytes)
        if problem:
            return self._bad(*problem, record_id=record_id)
        if not opts.keep_text:
            obj.pop(opts.text_field)
        return Record(self.line, text, obj, record_id, self.offset, self.line)

    # -- CSV ---------------------------------------------------------------------------------------------
    def _csv_items(self) -> Iterator[Item]:
        feed = _CsvFeed(self)
        reader = csv.reader(feed)
        opts = self.opts
        text_idx = id_idx = -1
        if self.header is not None:
            text_idx, id_idx = self._csv_columns()
        while True:
            start_line = self.line + 1
            feed.flag = None
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield self._bad(Reason.MALFORMED_CSV, f"malformed CSV: {exc}", line=start_line)
                continue
            if self.header is None:
                if feed.flag is not None:
                    raise PermanentFileError(feed.flag, f"CSV header line is unreadable ({feed.flag.value})")
                self.header = [h.strip() for h in row]
                text_idx, id_idx = self._csv_columns()
                yield Skip(start_line, self.offset, self.line, header=True)
                continue
            if feed.flag is not None:
                yield self._bad(feed.flag, _FLAG_MESSAGES[feed.flag].format(n=opts.max_line_bytes), line=start_line)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                yield Skip(start_line, self.offset, self.line)
                continue
            record_id = row[id_idx] if 0 <= id_idx < len(row) else start_line
            if len(row) != len(self.header):
                yield self._bad(Reason.MALFORMED_CSV,
                                f"{len(row)} columns, the header has {len(self.header)}", record_id, start_line)
                continue
            text = row[text_idx]
            problem = text_problem(text, opts.max_text_bytes)
            if problem:
                yield self._bad(*problem, record_id=record_id, line=start_line)
                continue
            fields = {name: value for i, (name, value) in enumerate(zip(self.header, row))
                      if opts.keep_text or i != text_idx}
            yield Record(start_line, text, fields, record_id, self.offset, self.line)

    def _csv_columns(self) -> tuple[int, int]:
        assert self.header is not None
        col = self.opts.csv_text_column
        if col not in self.header:
            raise PermanentFileError(Reason.MISSING_TEXT_COLUMN,
                                     f"CSV header has no {col!r} column (columns: {self.header[:20]})")
        id_idx = self.header.index(self.opts.id_field) if self.opts.id_field in self.header else -1
        return self.header.index(col), id_idx


_FLAG_MESSAGES = {
    Reason.LINE_TOO_LONG: "line longer than {n} bytes",
    Reason.BINARY: "line contains NUL bytes (binary data)",
    Reason.UNDECODABLE: "not UTF-8",
}


class _CsvFeed:
    """Decoded lines for ``csv.reader``; updates the reader's offset/line and flags bad lines."""

    def __init__(self, reader: RecordReader) -> None:
        self.reader = reader
        self.flag: Reason | None = None
        csv.field_size_limit(max(reader.opts.max_line_bytes, 131072))

    def __iter__(self) -> _CsvFeed:
        return self

    def __next__(self) -> str:
        raw, size = next(self.reader._raw)
        self.reader.offset += size
        self.reader.line += 1
        if raw is None:
            self.flag = self.flag or Reason.LINE_TOO_LONG
            return "\n"
        if b"\x00" in raw:
            self.flag = self.flag or Reason.BINARY
            raw = raw.replace(b"\x00", b"")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.flag = self.flag or Reason.UNDECODABLE
            text = raw.decode("utf-8", "replace")
        return text + "\n"


@dataclass
class Document:
    text: str
    size: int


def read_document(fp: BinaryIO, max_bytes: int) -> Document:
    """Read a whole document (bounded by ``max_bytes``); raise PermanentFileError when it cannot be scored."""
    try:
        data = fp.read(max_bytes + 1)
    except GZIP_ERRORS as exc:
        raise PermanentFileError(Reason.BAD_GZIP, f"corrupt gzip stream: {exc}") from exc
    if len(data) > max_bytes:
        raise PermanentFileError(Reason.DOCUMENT_TOO_LARGE,
                                 f"document is larger than {max_bytes} bytes (NLP_MAX_DOCUMENT_BYTES)")
    data = data.removeprefix(BOM)
    if b"\x00" in data:
        raise PermanentFileError(Reason.BINARY, "document contains NUL bytes (binary data)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PermanentFileError(Reason.UNDECODABLE, f"document is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    if not text.strip():
        raise PermanentFileError(Reason.EMPTY_FILE, "document is empty")
    return Document(text=text, size=len(data))


def skip_bytes(fp: BinaryIO, n: int, chunk_size: int = 1024 * 1024) -> None:
    """Advance a non-seekable stream (gzip over S3) by ``n`` decompressed bytes."""
    while n > 0:
        got = fp.read(min(chunk_size, n))
        if not got:
            raise EOFError(f"stream ended {n} bytes before the checkpoint offset")
        n -= len(got)


__all__ = [
    "BadRecord", "Document", "Item", "ReadOptions", "Record", "RecordReader", "Skip",
    "iter_raw_lines", "read_document", "skip_bytes", "text_problem",
]
