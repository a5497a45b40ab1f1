"""Streaming record readers: JSONL, CSV and plain text (optionally gzip), plus whole documents.

Readers pull fixed-size chunks from a binary stream (an S3 ``StreamingBody``, a ``GzipStream`` over it, or a
local file) and never hold more than one physical line (capped at ``max_line_bytes``) plus one chunk in
memory. Every item they yield carries the byte offset and line number *after* it, so a caller can stop after
any item and resume later from exactly that point (an S3 ``Range`` request for plain files; skipping the
decompressed bytes for gzip).

Line breaks: ``\\n``, ``\\r\\n`` and a lone ``\\r`` (classic Mac / Excel for Mac) all end a physical line, also
mixed in one file and across read-chunk boundaries. Offsets count the raw bytes including the break.

Items are ``Record`` (a text to score), ``BadRecord`` (a record-level error: line + reason) or ``Skip`` (a
blank line). One bad line never stops the reader. A CSV row never swallows the rows after it: a quoted field
still open after ``csv_max_record_lines`` lines (``NLP_CSV_MAX_RECORD_LINES``, default 20) or ``max_line_bytes``
bytes, at the end of the file, or "closed" followed by more text is one ``malformed_csv`` error for its first
line, and the following lines are parsed again from memory (see ``_CsvFeed``). A compressed stream that is truncated or corrupt yields
every complete line before the damage, then the torn line as a ``truncated_record`` error, then one *fatal*
``BadRecord`` (``truncated_input`` or ``bad_gzip``, line 0) after which nothing follows.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
import weakref
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from nlpserve.batch.errors import PermanentFileError, Reason
from nlpserve.batch.keys import Format
from nlpserve.text import is_blank, lone_surrogate

CHUNK_SIZE = 256 * 1024
BOM = b"\xef\xbb\xbf"
CSV_DELIMITERS = (",", ";", "\t", "|")  # comma first; the others only when the header needs them


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, "") or default))
    except ValueError:
        return default


# A quoted CSV field may span lines, but a record still open after this many physical lines is an unclosed
# quote: its first line is reported (malformed_csv) and reading resumes at its second line.
CSV_MAX_RECORD_LINES = _env_int("NLP_CSV_MAX_RECORD_LINES", 20)


class StreamError(Exception):
    """The compressed input cannot be read past this point; every byte before it has been delivered."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


GZIP_ERRORS = (StreamError, gzip.BadGzipFile, EOFError, zlib.error)


TRUNCATED_MESSAGE = "the gzip stream ends before its end marker: the file was cut off (an interrupted upload or copy?)"


def stream_error(exc: BaseException) -> StreamError:
    """Classify a decompression failure: a stream cut short (``truncated_input``) or corrupt data (``bad_gzip``)."""
    if isinstance(exc, StreamError):
        return exc
    if isinstance(exc, EOFError):
        return StreamError(Reason.TRUNCATED_INPUT, TRUNCATED_MESSAGE)
    return StreamError(Reason.BAD_GZIP, f"corrupt gzip stream: {exc}")


class GzipStream:
    """Decompress a gzip stream (any number of members) incrementally, losing nothing before a fault.

    ``gzip.GzipFile.read(n)`` discards the bytes it already decompressed for that call when it then meets the
    end of a truncated stream or corrupt data. This reader hands out every byte that can be decompressed
    and only then raises ``StreamError``: ``truncated_input`` when the compressed input ends inside a member,
    ``bad_gzip`` for corrupt data, a bad header, a CRC/length mismatch or non-gzip bytes after a member (zero
    padding after a member is accepted, as ``gzip`` does). Errors of the underlying stream (network, S3)
    propagate unchanged. Memory: one compressed chunk plus what the caller asked for.
    """

    def __init__(self, raw: BinaryIO, in_chunk: int = 64 * 1024) -> None:
        self.raw = raw
        self.in_chunk = in_chunk
        self._d: Any = None  # the decompressor of the current member
        self._in = b""  # compressed bytes not yet given to the decompressor
        self._more = False  # the last call was output-limited: zlib may hold more output
        self._buf = bytearray()
        self._pos = 0  # decompressed bytes handed out
        self._compressed = 0  # compressed bytes read from ``raw``
        self._members = 0
        self._member_out = 0  # decompressed bytes of the current member
        self._done = False
        self._error: StreamError | None = None

    # -- file-like -------------------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        close = getattr(self.raw, "close", None)
        if close:
            close()

    def read(self, n: int = -1) -> bytes:
        want = n if n is not None and n >= 0 else 1 << 62
        while len(self._buf) < want and self._step(want - len(self._buf)):
            pass
        return self._take(want)

    def read1(self, n: int = -1) -> bytes:
        want = n if n is not None and n >= 0 else CHUNK_SIZE
        while not self._buf and self._step(want):
            pass
        return self._take(want)

    def _take(self, n: int) -> bytes:
        if not self._buf and self._error is not None and n > 0:
            raise self._error
        out = bytes(self._buf[:n])
        del self._buf[:n]
        self._pos += len(out)
        return out

    # -- decompression ---------------------------------------------------------------------------------
    def _step(self, want: int) -> bool:
        """One unit of work; False when no more output will ever come (end of stream or an error)."""
        if self._done or self._error is not None:
            return False
        if not self._in and not self._more:
            chunk = self.raw.read(self.in_chunk)
            if not chunk:
                return self._end_of_input()
            self._compressed += len(chunk)
            self._in = bytes(chunk)
        if self._d is None:  # between members
            if self._members:
                self._in = self._in.lstrip(b"\x00")
                if not self._in:
                    return True
            self._d = zlib.decompressobj(31)
            self._members += 1
            self._member_out = 0
        d = self._d
        data, self._in = self._in, b""
        before = d.copy()
        limit = max(want, 64 * 1024)
        try:
            out = d.decompress(data, limit)
        except zlib.error as exc:
            salvaged = self._salvage(before, data)
            self._buf += salvaged
            if self._members > 1 and self._member_out + len(salvaged) == 0:
                what = f"the bytes after gzip member {self._members - 1} are not gzip data"
            elif self._pos + len(self._buf) == 0:
                what = "not gzip data, or corrupt from the start"
            elif "check" in str(exc):  # CRC-32 / length trailer: deflate decoded, but not the data written
                what = (f"gzip member {self._members} fails its checksum: its data is corrupt, so records read "
                        f"from it may be damaged")
            else:
                what = f"corrupt gzip data in member {self._members}"
            self._error = StreamError(Reason.BAD_GZIP, f"{what} (near compressed byte "
                                                       f"{self._compressed - len(data)}): {exc}")
            return False
        self._buf += out
        self._member_out += len(out)
        self._more = len(out) >= limit
        if d.eof:
            self._in = d.unused_data
            self._d, self._more = None, False
        else:
            self._in = d.unconsumed_tail
        return True

    def _salvage(self, d: Any, data: bytes) -> bytes:
        """Replay ``data`` a byte at a time on a copy of the decompressor: the output before the bad byte."""
        out = bytearray()
        for i in range(len(data)):
            try:
                out += d.decompress(data[i:i + 1])
            except zlib.error:
                break
        return bytes(out)

    def _end_of_input(self) -> bool:
        if self._d is None:
            self._done = True
            return False
        self._buf += self._d.flush()
        self._error = StreamError(Reason.TRUNCATED_INPUT, TRUNCATED_MESSAGE)
        return False


def open_gzip(raw: BinaryIO) -> GzipStream:
    """The gzip opener for every batch path (S3 body or local file); use instead of ``gzip.GzipFile``."""
    return GzipStream(raw)


_ADOPTED: weakref.WeakKeyDictionary[gzip.GzipFile, GzipStream] = weakref.WeakKeyDictionary()


def _unwrap(fp: Any) -> Any:
    """The stream to read: a ``gzip.GzipFile`` nobody has read from is read through a ``GzipStream`` over its
    compressed stream (``GzipFile`` loses the decompressed bytes of a read that meets a cut-off or corrupt
    spot); the same ``GzipStream`` serves any later reader of that ``GzipFile``. A ``GzipFile`` already
    advanced by other code (``skip_bytes`` on resume) is read with ``read1``: that loses nothing at a cut-off
    end, but the data just before corrupt bytes only a ``GzipStream`` recovers. Callers should use
    ``open_gzip``.
    """
    if not isinstance(fp, gzip.GzipFile):
        return fp
    adopted = _ADOPTED.get(fp)
    if adopted is not None:
        return adopted
    if fp.mode == gzip.READ and getattr(fp, "fileobj", None) is not None:
        try:
            fresh = fp.tell() == 0
        except (OSError, ValueError):
            fresh = False
        if fresh:
            adopted = _ADOPTED[fp] = GzipStream(fp.fileobj)
            return adopted
    return fp


def _reader_of(fp: Any) -> Any:
    return getattr(fp, "read1", None) or fp.read


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
    fatal: bool = False  # file-level: the stream cannot continue after this item (line 0; not a record)
    binary: bool | None = None  # the line looks like binary data (None: decide by reason; see looks_binary)


@dataclass(slots=True)
class Skip:
    line: int
    end_offset: int
    end_line: int
    header: bool = False  # the CSV header row (or Excel's "sep=" line): consumed, but not a blank line


Item = Record | BadRecord | Skip


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str = "id"
    csv_text_column: str = "text"
    max_text_bytes: int = 20_000
    max_line_bytes: int = 1024 * 1024
    keep_text: bool = False
    csv_max_record_lines: int = CSV_MAX_RECORD_LINES  # NLP_CSV_MAX_RECORD_LINES


class _Lines:
    """Physical lines of a byte stream as ``(line, consumed, torn)``.

    ``\\n``, ``\\r\\n`` and a lone ``\\r`` end a line; ``consumed`` counts the line's bytes plus its break, so
    the running sum is an exact offset into the raw stream (a ``\\r`` that ends one read chunk is held until the
    next chunk shows whether a ``\\n`` follows: ``\\r\\n`` split over two chunks is one break). ``line`` is None
    when longer than ``max_line_bytes`` (discarded while streaming, never buffered). When the stream fails
    (``StreamError``; see ``self.error``) the unfinished last line, if any, is yielded with ``torn=True``.
    """

    def __init__(self, fp: Any, max_line_bytes: int, chunk_size: int = CHUNK_SIZE) -> None:
        self.fp = fp
        self.max_line_bytes = max_line_bytes
        self.chunk_size = chunk_size
        self.error: StreamError | None = None

    def __iter__(self) -> Iterator[tuple[bytes | None, int, bool]]:
        read = _reader_of(self.fp)
        max_line = self.max_line_bytes
        buf = bytearray()
        discarding, discarded = False, 0
        held: tuple[bytes | None, int] | None = None  # ended by a \r that closed the previous chunk
        while True:
            try:
                chunk = read(self.chunk_size)
            except GZIP_ERRORS as exc:
                self.error = stream_error(exc)
                break
            if not chunk:
                break
            n = len(chunk)
            start = 0
            if held is not None:
                line, size = held
                held = None
                if chunk[0] == 10:  # b"\n"
                    size, start = size + 1, 1
                yield line, size, False
            nl = chunk.find(b"\n", start)
            cr = chunk.find(b"\r", start)
            while start < n:
                if 0 <= nl < start:
                    nl = chunk.find(b"\n", start)
                if 0 <= cr < start:
                    cr = chunk.find(b"\r", start)
                if nl < 0 and cr < 0:
                    if discarding:
                        discarded += n - start
                    else:
                        buf += chunk[start:]
                        if len(buf) > max_line:
                            discarding, discarded = True, len(buf)
                            buf.clear()
                    break
                end = nl if cr < 0 or 0 <= nl < cr else cr
                term: int | None = 1
                if end == cr and end + 1 < n:
                    term = 2 if chunk[end + 1] == 10 else 1
                elif end == cr:
                    term = None  # decided by the next chunk
                line_bytes: bytes | None
                if discarding:
                    line_bytes, body = None, discarded + (end - start)
                    discarding, discarded = False, 0
                else:
                    if buf:
                        buf += chunk[start:end]
                        line_bytes = bytes(buf)
                        buf.clear()
                    else:
                        line_bytes = chunk[start:end]
                    body = len(line_bytes)
                    if body > max_line:
                        line_bytes = None
                if term is None:
                    held = (line_bytes, body + 1)
                    break
                yield line_bytes, body + term, False
                start = end + term
        if held is not None:
            yield held[0], held[1], False
        torn = self.error is not None
        if discarding:
            yield None, discarded, torn
        elif buf:
            yield bytes(buf), len(buf), torn


def iter_raw_lines(fp: BinaryIO, max_line_bytes: int, chunk_size: int = CHUNK_SIZE) -> Iterator[tuple[bytes | None, int]]:
    """Yield ``(line, consumed)`` per physical line (see ``_Lines``); raise ``StreamError`` after the last one
    when the stream failed."""
    lines = _Lines(fp, max_line_bytes, chunk_size)
    for line, size, _torn in lines:
        yield line, size
    if lines.error is not None:
        raise lines.error


def printable(value: Any) -> Any:
    """``value`` with lone surrogates written as ``\\udXXX`` text, so it can always be reported in UTF-8."""
    if isinstance(value, str) and lone_surrogate(value) is not None:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def find_lone_surrogate(obj: Any) -> tuple[str, str, int] | None:
    """The first string (value or field name) of a JSON value holding a lone surrogate.

    Returns ``(where, string, index)``: ``where`` names it (``field 'note'``, ``field 'meta.tags[2]'``,
    ``the field name 'x'``), ``index`` is the character position of the surrogate in ``string``.
    """
    stack: list[tuple[Any, str]] = [(obj, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            at = lone_surrogate(value)
            if at is not None:
                return (f"field {path!r}" if path else "the value"), value, at
        elif isinstance(value, dict):
            for key, val in reversed(list(value.items())):
                key_s = str(key)
                kpath = f"{path}.{printable(key_s)}" if path else printable(key_s)
                at = lone_surrogate(key_s)
                if at is not None:
                    return f"the field name {kpath!r}", key_s, at
                stack.append((val, kpath))
        elif isinstance(value, (list, tuple)):
            for i in range(len(value) - 1, -1, -1):
                stack.append((value[i], f"{path}[{i}]"))
    return None


def _surrogate_message(where: str, text: str, at: int) -> str:
    return (f"{where} has a lone surrogate U+{ord(text[at]):04X} at character {at} (half of an emoji or other "
            f"character outside the BMP, e.g. cut by truncation); it cannot be encoded as UTF-8")


def text_problem(text: str, max_text_bytes: int) -> tuple[Reason, str] | None:
    """Record-level validation shared by every format (the task would raise on these)."""
    if "\x00" in text:
        return Reason.BINARY, "text contains NUL bytes"
    if is_blank(text):
        return Reason.EMPTY_TEXT, "text is empty or has only whitespace / invisible characters"
    at = lone_surrogate(text)
    if at is not None:
        return Reason.INVALID_UNICODE, _surrogate_message("the text", text, at)
    if len(text) * 4 > max_text_bytes:  # UTF-8 is at most 4 bytes a character: only then measure
        size = len(text.encode("utf-8"))
        if size > max_text_bytes:
            return Reason.TEXT_TOO_LONG, f"text is {size} bytes; the limit is {max_text_bytes}"
    return None


_CONTROL = bytes([*range(1, 9), 11, 12, *range(14, 32), 127])  # C0 controls except tab / line breaks (and NUL)


def looks_binary(raw: bytes) -> bool:
    """True for a line that looks like binary data rather than text in some legacy encoding.

    Binary: a NUL byte, or more than 1 in 32 bytes a C0 control character (random bytes: about 1 in 9).
    Text in Windows-1252 / Latin-1 / Shift-JIS etc. has no control characters; its non-UTF-8 bytes are
    >= 0x80 and do not count, so such a line stays an ``undecodable_bytes`` record, never a "binary file".
    """
    if b"\x00" in raw:
        return True
    controls = len(raw) - len(raw.translate(None, _CONTROL))
    return controls * 32 > len(raw)


def _decode(raw: bytes) -> tuple[str | None, tuple[Reason, str] | None]:
    if b"\x00" in raw:
        return None, (Reason.BINARY, "line contains NUL bytes (binary data)")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, (Reason.UNDECODABLE, f"not UTF-8: {exc.reason} at byte {exc.start}")


class _NotJsonNumber(ValueError):
    """NaN, Infinity, -Infinity or a number that overflows a double: Python's json accepts them, RFC 8259 not."""


def _reject_constant(name: str) -> Any:
    raise _NotJsonNumber(f"{name} is not a JSON value (RFC 8259 has no NaN or Infinity: use null or a string)")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NotJsonNumber(f"the number {literal[:40]} is out of range for a 64-bit float")
    return value


def find_non_finite(obj: Any) -> tuple[str, float] | None:
    """The first NaN/Infinity number in a JSON value: (path, value)."""
    stack: list[tuple[Any, str]] = [(obj, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return path or "(value)", value
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{printable(str(k))}" if path else printable(str(k)))
                         for k, v in reversed(list(value.items())))
        elif isinstance(value, (list, tuple)):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(value))))
    return None


_JSON = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a \uD800-\uDFFF escape somewhere in the line


def _parse_header_state(header: Any) -> tuple[list[str] | None, str, bool]:
    """(columns, delimiter, delimiter_given) from ``RecordReader.header``."""
    if header is None:
        return None, ",", False
    if isinstance(header, dict):
        columns = header.get("columns")
        return (list(columns) if columns is not None else None), str(header.get("delimiter") or ","), True
    return list(header), ",", False


class RecordReader:
    """Iterate the items of one stream from ``(start_offset, start_line)``.

    For CSV, ``header`` is the file's column layout once the header line has been read: the column names
    (a list) for comma-separated files, ``{"columns": [...], "delimiter": ";"}`` otherwise. It is opaque
    and JSON-serialisable: store it in a checkpoint and pass it back to resume.
    """

    def __init__(
        self,
        fp: BinaryIO,
        fmt: Format,
        opts: ReadOptions,
        *,
        start_offset: int = 0,
        start_line: int = 0,
        header: list[str] | dict[str, Any] | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if fmt is Format.DOCUMENT:
            raise ValueError("documents are read with read_document()")
        self.fp = _unwrap(fp)
        self.fmt = fmt
        self.opts = opts
        self.offset = start_offset
        self.line = start_line
        self.columns, self.delimiter, self._sep_given = _parse_header_state(header)
        self.chunk_size = chunk_size
        self._lines = _Lines(self.fp, opts.max_line_bytes, chunk_size)
        self._raw = self._raw_lines()

    @property
    def header(self) -> list[str] | dict[str, Any] | None:
        if self.columns is None and not self._sep_given:
            return None
        if self.delimiter == "," and not self._sep_given:
            return list(self.columns or [])
        return {"columns": list(self.columns) if self.columns is not None else None, "delimiter": self.delimiter}

    @property
    def stream_error(self) -> StreamError | None:
        return self._lines.error

    def _raw_lines(self) -> Iterator[tuple[bytes | None, int, bool]]:
        first = self.offset == 0
        for raw, size, torn in self._lines:
            if first and raw is not None and raw.startswith(BOM):
                raw = raw[len(BOM):]
            first = False
            yield raw, size, torn

    def __iter__(self) -> Iterator[Item]:
        if self.fmt is Format.CSV:
            yield from self._csv_items()
        else:
            for raw, size, torn in self._raw:
                self.offset += size
                self.line += 1
                yield self._torn() if torn else self._line_item(raw)
        err = self._lines.error
        if err is not None:
            yield BadRecord(0, err.reason, f"{err.message}; {self.line} lines ({self.offset} bytes) were read "
                            f"before it", self.offset, self.line, fatal=True)

    def _bad(self, reason: Reason, message: str, record_id: Any = None, line: int | None = None,
             binary: bool | None = None) -> BadRecord:
        return BadRecord(line or self.line, reason, message, self.offset, self.line, printable(record_id),
                         binary=binary)

    def _torn(self, line: int | None = None) -> BadRecord:
        return self._bad(Reason.TRUNCATED_RECORD,
                         f"line {self.line} is cut off: the stream ends in the middle of it (truncated or "
                         f"corrupt input)", line=line)

    def _line_item(self, raw: bytes | None) -> Item:
        if raw is None:
            return self._bad(Reason.LINE_TOO_LONG, f"line longer than {self.opts.max_line_bytes} bytes")
        if not raw.strip():
            return Skip(self.line, self.offset, self.line)
        text, problem = _decode(raw)
        if problem:
            return self._bad(*problem, record_id=self._lenient_id(raw), binary=looks_binary(raw))
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
            obj = _JSON.decode(line_text.lstrip("\ufeff"))
        except RecursionError:
            return self._bad(Reason.MALFORMED_JSON, "invalid JSON: nested too deeply")
        except _NotJsonNumber as exc:
            return self._not_json_number(line_text, exc)
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
            reason, message = problem
            if reason is Reason.INVALID_UNICODE:
                message = _surrogate_message(f"field {opts.text_field!r}", text, lone_surrogate(text) or 0)
            return self._bad(reason, message, record_id)
        if _SURROGATE_ESCAPE.search(line_text):
            found = find_lone_surrogate(obj)
            if found is not None:
                return self._bad(Reason.INVALID_UNICODE, _surrogate_message(*found), record_id)
        if not opts.keep_text:
            obj.pop(opts.text_field)
        return Record(self.line, text, obj, record_id, self.offset, self.line)

    def _lenient_id(self, raw: bytes) -> Any:
        """The id of a line that is not UTF-8 or holds NUL bytes, when it can still be read (for the report)."""
        if self.fmt is Format.TEXT:
            return self.line
        try:
            obj = json.loads(raw.replace(b"\x00", b"").decode("utf-8", "replace"), strict=False)
        except (ValueError, RecursionError):
            return None
        return obj.get(self.opts.id_field) if isinstance(obj, dict) else None

    def _not_json_number(self, line_text: str, exc: ValueError) -> BadRecord:
        """A line that is JSON only to Python (NaN/Infinity/overflow): an error naming the field, with the id."""
        message, record_id = f"invalid JSON: {exc}", None
        try:  # lenient parse, for the report only
            obj = json.loads(line_text.lstrip("\ufeff"))
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            record_id = obj.get(self.opts.id_field, self.line)
            found = find_non_finite(obj)
            if found is not None:
                message = f"invalid JSON: field {found[0]!r}: {exc}"
        return self._bad(Reason.MALFORMED_JSON, message, record_id)

    # -- CSV ---------------------------------------------------------------------------------------------
    def _csv_items(self) -> Iterator[Item]:
        feed = _CsvFeed(self)
        reader = csv.reader(feed, delimiter=self.delimiter)
        opts = self.opts
        text_idx = id_idx = -1
        if self.columns is not None:
            text_idx, id_idx = self._csv_columns()
        while True:
            start_line = self.line + 1
            feed.reset()
            try:
                row = next(reader)
                if len(feed.raw) > 1 and feed.flag is None and not _strict_ok(feed.lines, self.delimiter):
                    raise _Unclosed(f"it closes at line {self.line} followed by more text (an unbalanced quote)")
            except StopIteration:
                return
            except (_Unclosed, csv.Error) as exc:
                if not isinstance(exc, _Unclosed) and len(feed.raw) <= 1:
                    yield self._bad(Reason.MALFORMED_CSV, f"malformed CSV: {exc}", line=start_line)
                    continue
                # A row that swallows the lines after it: report its first line, parse the others again
                first_line = feed.lines[0] if feed.lines else ""
                if len(feed.raw) > 1:
                    feed.rewind()
                message = f"unclosed quote starting at line {start_line}: {exc}"
                if self.columns is None:
                    raise PermanentFileError(Reason.MALFORMED_CSV, f"CSV header: {message}") from None
                first = next(csv.reader([first_line], delimiter=self.delimiter), [])
                record_id = first[id_idx] if 0 <= id_idx < len(first) else start_line
                yield self._bad(Reason.MALFORMED_CSV, f"{message}; reading resumes at line {start_line + 1}",
                                record_id, start_line)
                continue
            if self.columns is None:
                if feed.flag is Reason.TRUNCATED_RECORD and self._lines.error is not None:
                    err = self._lines.error
                    raise PermanentFileError(err.reason, f"{err.message}; the CSV header line is cut off")
                if feed.flag is not None:
                    raise PermanentFileError(feed.flag, f"CSV header line is unreadable ({feed.flag.value}: "
                                                        f"{feed.detail})")
                if not row or all(not c.strip() for c in row):  # blank lines before the header
                    yield Skip(start_line, self.offset, self.line)
                    continue
                sep = _excel_sep(feed.lines) if not self._sep_given else None
                if sep is not None:  # Excel's "sep=;" first line names the delimiter
                    self._sep_given = True
                    self.delimiter = sep
                    reader = csv.reader(feed, delimiter=sep)
                    yield Skip(start_line, self.offset, self.line, header=True)
                    continue
                names = [h.strip() for h in row]
                if opts.csv_text_column not in names and not self._sep_given:
                    for delim in CSV_DELIMITERS[1:]:
                        alt = [h.strip() for h in next(csv.reader(list(feed.lines), delimiter=delim), [])]
                        if opts.csv_text_column in alt:
                            names, self.delimiter = alt, delim
                            reader = csv.reader(feed, delimiter=delim)
                            break
                self.columns = names
                text_idx, id_idx = self._csv_columns()
                yield Skip(start_line, self.offset, self.line, header=True)
                continue
            if feed.flag is not None:
                record_id = row[id_idx] if 0 <= id_idx < len(row) and feed.flag is not Reason.LINE_TOO_LONG else None
                yield self._bad(feed.flag, feed.detail, record_id, start_line, binary=feed.binary)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                yield Skip(start_line, self.offset, self.line)
                continue
            record_id = row[id_idx] if 0 <= id_idx < len(row) else start_line
            if len(row) != len(self.columns):
                yield self._bad(Reason.MALFORMED_CSV,
                                f"{len(row)} columns, the header has {len(self.columns)}", record_id, start_line)
                continue
            text = row[text_idx]
            problem = text_problem(text, opts.max_text_bytes)
            if problem:
                yield self._bad(*problem, record_id=record_id, line=start_line)
                continue
            fields = {name: value for i, (name, value) in enumerate(zip(self.columns, row))
                      if opts.keep_text or i != text_idx}
            yield Record(start_line, text, fields, record_id, self.offset, self.line)

    def _csv_columns(self) -> tuple[int, int]:
        assert self.columns is not None
        col = self.opts.csv_text_column
        if col not in self.columns:
            tried = " ".join("tab" if d == "\t" else d for d in CSV_DELIMITERS)
            raise PermanentFileError(
                Reason.MISSING_TEXT_COLUMN,
                f"CSV header has no {col!r} column (columns: {[printable(c) for c in self.columns[:20]]}; "
                f"delimiters tried: {tried}); set x-amz-meta-csv-text-column to the text column's name",
            )
        id_idx = self.columns.index(self.opts.id_field) if self.opts.id_field in self.columns else -1
        return self.columns.index(col), id_idx


def _excel_sep(lines: list[str]) -> str | None:
    if len(lines) == 1:
        m = re.fullmatch(r"sep=(.)\n", lines[0])
        if m and m.group(1) not in "\"\r\n":
            return m.group(1)
    return None


def _strict_ok(lines: list[str], delimiter: str) -> bool:
    """A multi-line row is well-formed RFC 4180: every closing quote is followed by a delimiter or line end."""
    try:
        for _row in csv.reader(lines, delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


class _Unclosed(Exception):
    """The current CSV row is a quote that swallows the lines after it (raised through ``csv.reader``)."""


RawLine = tuple[bytes | None, int, bool]


class _CsvFeed:
    """Decoded lines for ``csv.reader``; updates the reader's offset/line and flags bad lines of a row.

    A row is bounded: when ``csv.reader`` asks for another line while the row already has
    ``csv_max_record_lines`` lines, or its lines would exceed ``max_line_bytes``, or the file ends inside
    the open quote, ``_Unclosed`` is raised. ``rewind`` then keeps the row's first line consumed and queues
    the others to be parsed again (never read twice from the stream), so offsets stay exact.
    """

    def __init__(self, reader: RecordReader) -> None:
        self.reader = reader
        self.flag: Reason | None = None
        self.detail = ""
        self.binary = False  # a flagged line of the row looks like binary data
        self.lines: list[str] = []  # the decoded lines of the current row
        self.raw: list[RawLine] = []  # the physical lines of the current row
        self.nbytes = 0
        self.pending: deque[RawLine] = deque()  # lines already read from the stream, to be parsed again
        self.max_lines = max(1, reader.opts.csv_max_record_lines)
        self.max_bytes = reader.opts.max_line_bytes
        self.start: tuple[int, int] = (reader.offset, reader.line)
        csv.field_size_limit(max(reader.opts.max_line_bytes, 131072))

    def reset(self) -> None:
        self.flag, self.detail, self.lines, self.binary = None, "", [], False
        self.raw, self.nbytes = [], 0
        self.start = (self.reader.offset, self.reader.line)

    def rewind(self) -> None:
        """Abandon the current row after its first line; its other lines will be parsed again."""
        first, rest = self.raw[0], self.raw[1:]
        self.pending.extendleft(reversed(rest))
        self.reader.offset = self.start[0] + first[1]
        self.reader.line = self.start[1] + 1
        self.raw = [first]

    def _flag(self, reason: Reason, detail: str) -> None:
        if self.flag is None:
            self.flag, self.detail = reason, detail

    def __iter__(self) -> _CsvFeed:
        return self

    def __next__(self) -> str:
        r = self.reader
        if self.raw and len(self.raw) >= self.max_lines:  # csv asks for more: a quoted field is still open
            raise _Unclosed(f"the quoted field is still open after {len(self.raw)} lines "
                            f"(NLP_CSV_MAX_RECORD_LINES={self.max_lines})")
        if self.pending:
            item = self.pending.popleft()
        else:
            item = next(r._raw, None)
            if item is None:
                if self.raw and r._lines.error is not None:  # cut off inside the quote: one truncated row
                    self._flag(Reason.TRUNCATED_RECORD, f"the row starting at line {self.start[1] + 1} is cut off: "
                                                        f"the stream ends inside its quoted field")
                elif self.raw:
                    raise _Unclosed("the file ends before the quote closes")
                raise StopIteration
        raw, size, torn = item
        if self.raw and raw is not None and self.nbytes + len(raw) > self.max_bytes:
            self.pending.appendleft(item)
            raise _Unclosed(f"the quoted field is still open after {self.nbytes} bytes, and the next line would "
                            f"make the row longer than {self.max_bytes} bytes (NLP_MAX_LINE_BYTES)")
        self.raw.append(item)
        self.nbytes += len(raw) if raw is not None else 0
        r.offset += size
        r.line += 1
        if torn:
            self._flag(Reason.TRUNCATED_RECORD,
                       f"line {r.line} is cut off: the stream ends in the middle of it (truncated or corrupt input)")
        if raw is None:
            self._flag(Reason.LINE_TOO_LONG, f"line longer than {r.opts.max_line_bytes} bytes")
            text = "\n"
        else:
            if b"\x00" in raw:
                self._flag(Reason.BINARY, "line contains NUL bytes (binary data)")
                self.binary = True
                raw = raw.replace(b"\x00", b"")
            try:
                text = raw.decode("utf-8") + "\n"
            except UnicodeDecodeError as exc:
                self._flag(Reason.UNDECODABLE, f"not UTF-8: {exc.reason} at byte {exc.start} of line {r.line}")
                self.binary = self.binary or looks_binary(raw)
                text = raw.decode("utf-8", "backslashreplace") + "\n"  # readable id for the error report only
        self.lines.append(text)
        return text


@dataclass
class Document:
    text: str
    size: int
    file_error: tuple[str, str] | None = None  # (reason, message): only the first ``size`` bytes were readable


def read_document(fp: BinaryIO, max_bytes: int, *, partial_ok: bool = False) -> Document:
    """Read a whole document (bounded by ``max_bytes``); raise PermanentFileError when it cannot be scored.

    A truncated or corrupt gzip document raises ``truncated_input`` / ``bad_gzip`` (saying how much was
    readable), unless ``partial_ok``: then the readable part is returned with ``file_error`` set.
    """
    fp = _unwrap(fp)
    read = _reader_of(fp)
    parts: list[bytes] = []
    total = 0
    error: StreamError | None = None
    while total <= max_bytes:
        try:
            chunk = read(min(CHUNK_SIZE, max_bytes + 1 - total))
        except GZIP_ERRORS as exc:
            error = stream_error(exc)
            break
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    data = b"".join(parts)
    if len(data) > max_bytes:
        raise PermanentFileError(Reason.DOCUMENT_TOO_LARGE,
                                 f"document is larger than {max_bytes} bytes (NLP_MAX_DOCUMENT_BYTES)")
    file_error = None
    if error is not None:
        message = f"{error.message}; {len(data)} bytes of the document were readable"
        if not partial_ok:
            raise PermanentFileError(error.reason, message)
        file_error = (error.reason.value, message)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:  # a character cut in two at the end
            if exc.reason == "unexpected end of data" and exc.end == len(data):
                data = data[:exc.start]
    data = data.removeprefix(BOM)
    if b"\x00" in data:
        raise PermanentFileError(Reason.BINARY, "document contains NUL bytes (binary data)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PermanentFileError(Reason.UNDECODABLE, f"document is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    if is_blank(text):
        raise PermanentFileError(Reason.EMPTY_FILE, "document is empty")
    return Document(text=text, size=len(data), file_error=file_error)


def skip_bytes(fp: BinaryIO, n: int, chunk_size: int = 1024 * 1024) -> None:
    """Advance a non-seekable stream (gzip over S3) by ``n`` decompressed bytes.

    Reads with ``read1`` when the stream has it: a ``GzipFile`` then holds no decompressed byte back from a
    cut-off end. (Only a ``GzipStream`` from ``open_gzip`` also delivers every byte before corrupt data.)
    """
    read = _reader_of(fp)
    while n > 0:
        got = read(min(chunk_size, n))
        if not got:
            raise EOFError(f"stream ended {n} bytes before the checkpoint offset")
        n -= len(got)


__all__ = [
    "BadRecord", "Document", "GzipStream", "Item", "ReadOptions", "Record", "RecordReader", "Skip",
    "StreamError", "find_lone_surrogate", "find_non_finite", "iter_raw_lines", "open_gzip", "printable", "read_document",
    "skip_bytes", "text_problem",
]
