"""Property tests for the batch readers + scoring engine (issue 7, "What must show": hypothesis properties).

For every format (JSONL, CSV, text), plain or gzip (whole, truncated, corrupt, multi-member, trailing junk),
over arbitrary bytes and over generated files that mix valid records with the inputs real files break on
(blank lines, bad JSON, lone surrogates, NaN/Infinity, CR / LF / CRLF, BOM, NUL, Latin-1, over-long lines,
quoted CSV fields with line breaks, other CSV delimiters):

1. nothing escapes the reader + engine as an exception (only ``PermanentFileError`` while reading a CSV
   header: the processor turns it into a ``failed`` summary);
2. accounting: every physical record the reader produced appears exactly once, by line number, in the
   results or the errors; ``records == scored + failed``; blank lines are counted apart; every output line
   is strict JSON (UTF-8, no NaN/Infinity); a fatal stream error is exactly what sets ``engine.file_error``;
3. offsets: plain streams end at ``len(data)``, gzip streams at the number of decompressible bytes;
4. resume: a fresh reader started at any item's ``(end_offset, end_line)`` (an S3 Range request, or
   re-streaming the gzip and skipping the decompressed bytes) yields exactly the remaining items.

The task is a deterministic fake (no model). Derandomized, so CI runs the same examples every time.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nlpserve.batch.engine import RecordEngine
from nlpserve.batch.errors import PermanentFileError
from nlpserve.batch.keys import Format
from nlpserve.batch.readers import (
    BadRecord,
    ReadOptions,
    Record,
    RecordReader,
    Skip,
    iter_raw_lines,
    open_gzip,
    read_document,
    skip_bytes,
)

pytestmark = pytest.mark.reliability

MAX_LINE = 256
OPTS = ReadOptions(max_line_bytes=MAX_LINE, max_text_bytes=120)
PROPS = settings(derandomize=True, database=None, deadline=None, max_examples=300,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FORMATS = [Format.JSONL, Format.CSV, Format.TEXT]


# -- a deterministic task ------------------------------------------------------------------------------

class _Result:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def model_dump(self, mode: str = "json", exclude_none: bool = False) -> dict[str, Any]:
        return self.data


class FakeTask:
    """Encodes the text like a tokenizer; 'poison' raises (batch isolation); 'nanres' returns NaN."""

    def run(self, texts: list[str], params: Any) -> list[Any]:
        out = []
        for t in texts:
            t.encode("utf-8")
            if "poison" in t:
                raise RuntimeError("model cannot take this text")
            out.append(_Result({"label": len(t) % 3, "score": float("nan") if "nanres" in t else 0.5}))
        return out


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def lines(self) -> list[dict[str, Any]]:
        def reject(name: str) -> Any:
            raise AssertionError(f"{name} written to an output line")

        text = self.data.decode("utf-8")  # strict: never a surrogate or a stray byte
        assert text == "" or text.endswith("\n")
        return [json.loads(line, parse_constant=reject) for line in text.split("\n")[:-1]]


# -- inputs --------------------------------------------------------------------------------------------

_WORDS = st.lists(st.sampled_from(["good", "bad", "café", "日本", "😀", "a,b", '"q"', "tab\tx", "x\ny", "z\rw"]),
                  min_size=1, max_size=8).map(" ".join)
_TEXTS = _WORDS | st.text(max_size=40) | st.sampled_from(["poison pill", "nanres", "\u200b", " ", "ok", "x" * 130])
_IDS = st.integers(-5, 10**6) | st.text(max_size=8) | st.none() | st.sampled_from([1.5, True, [1], {"a": 1}])


@st.composite
def _json_record(draw: Any) -> bytes:
    obj: dict[str, Any] = {"id": draw(_IDS), "text": draw(_TEXTS)}
    if draw(st.booleans()):
        obj["note"] = draw(st.text(max_size=10) | st.integers() | st.floats(allow_nan=False, allow_infinity=False))
    return json.dumps(obj, ensure_ascii=draw(st.booleans())).encode()


_SURROGATE_LINES = st.sampled_from([
    rb'{"id":"r1","text":"Fine","note":"cut emoji \ud83d"}',
    rb'{"id":"r\ud83d","text":"Fine"}',
    rb'{"id":"r3","text":"loved it \ud83d"}',
    rb'{"id":"r4","text":"ok","m":{"t":["a","\udc00"]}}',
    rb'{"id":"r5","text":"ok","k\ud800":1}',
    rb'{"id":"r6","text":"pair \ud83d\ude00 ok"}',
    rb'{"text":"\ud83d"}',
])
_NUMBER_LINES = st.sampled_from([
    b'{"id":1,"text":"a","v":NaN}', b'{"id":2,"text":"a","v":Infinity}', b'{"id":3,"text":"a","v":-Infinity}',
    b'{"id":4,"text":"a","v":1e400}', b'{"id":5,"text":"a","v":[1,-1E999]}', b'NaN', b'{"text":NaN}',
])
_BAD_LINES = st.sampled_from([
    b"{bad", b"[1,2]", b'"just a string"', b"{}", b'{"text":5}', b"null", b"[" * 200, b'{"text":"a"} x',
    b'{"id":"l1","text":"caf\xe9"}', b"caf\xe9 cr\xe8me", b'{"text":"a\x00b"}', b"\x00\x00\x00",
    b"\xef\xbb\xbf" + b'{"id":"bom","text":"after a BOM"}', b"\xff\xfe\x00h\x00i",
])
_CSV_LINES = st.sampled_from([
    b'1,"quoted, with comma"', b'2,"two', b'lines"', b'3,"unterminated', b"4,plain text", b"5,", b"6,a,b,c",
    b"7;semi;colon", b"8\ttab", b'"9","x ""y"" z"', b"10,caf\xe9", b"11,\xe2\x80\x8b",
])
_HEADERS = st.sampled_from([
    b"id,text", b"id,text,lang", b"text", b"id,body", b"\xef\xbb\xbfid,text", b"", b"id,text,text", b'"id","text"',
    b"caf\xe9,text", b"id;text",
])
_LONG = st.integers(MAX_LINE - 20, MAX_LINE + 60).map(lambda n: b'{"text":"' + b"a" * n + b'"}')
_NOISE = st.one_of(_BAD_LINES, _LONG, st.sampled_from([b"", b"   ", b"\t"]), st.binary(max_size=30))
_BREAK = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def _csv_row(draw: Any, sep: str) -> bytes:
    out = io.StringIO()
    row = [draw(st.text(max_size=6)), draw(_TEXTS)] + draw(st.lists(st.text(max_size=5), max_size=2))
    csv.writer(out, delimiter=sep, lineterminator="").writerow(row)
    return out.getvalue().encode()


@st.composite
def _csv_file(draw: Any) -> list[bytes]:
    sep = draw(st.sampled_from([",", ",", ";", "\t"]))
    header = draw(st.sampled_from([f"id{sep}text".encode(), f"id{sep}text{sep}x".encode()]) | _HEADERS)
    if draw(st.integers(0, 9)) == 0 and sep != ",":
        header = f"sep={sep}".encode() + b"\n" + header
    rows = draw(st.lists(st.one_of(_csv_row(sep), _csv_row(sep), _csv_row(sep), _CSV_LINES, _NOISE), max_size=25))
    return [header, *rows]


@st.composite
def structured_file(draw: Any, fmt: Format) -> bytes:
    """A file of the format with valid records most of the time, and the lines real files break on."""
    if fmt is Format.CSV:
        lines = draw(_csv_file())
    elif fmt is Format.JSONL:
        lines = draw(st.lists(st.one_of(_json_record(), _json_record(), _json_record(), _SURROGATE_LINES,
                                        _NUMBER_LINES, _NOISE), max_size=30))
    else:
        lines = draw(st.lists(st.one_of(_TEXTS.map(str.encode), _TEXTS.map(str.encode), _NOISE), max_size=30))
    breaks = draw(st.lists(_BREAK, min_size=len(lines), max_size=len(lines)))
    data = b"".join(line + br for line, br in zip(lines, breaks))
    if data and draw(st.booleans()):  # no break after the last line
        data = data.rstrip(b"\r\n")
    return data


def files(fmt: Format) -> Any:
    return structured_file(fmt) | st.binary(max_size=600)


GZIP_MODES = ("whole", "truncated", "flipped", "members", "junk", "noise")


@st.composite
def gzipped(draw: Any, plain: Any, modes: tuple[str, ...] = GZIP_MODES) -> bytes:
    """A gzip stream of a file: whole, truncated, a byte changed, several members, trailing junk, or noise."""
    data = draw(plain)
    comp = gzip.compress(data, mtime=0)
    mode = draw(st.sampled_from(modes))
    if mode == "truncated":
        return comp[: draw(st.integers(0, len(comp)))]
    if mode == "flipped":
        i = draw(st.integers(0, len(comp) - 1))
        return comp[:i] + bytes([comp[i] ^ draw(st.integers(1, 255))]) + comp[i + 1:]
    if mode == "members":
        k = draw(st.integers(0, len(data)))
        return gzip.compress(data[:k], mtime=0) + b"\x00" * draw(st.integers(0, 3)) + gzip.compress(data[k:], mtime=0)
    if mode == "junk":
        return comp + draw(st.binary(min_size=1, max_size=20))
    if mode == "noise":
        return draw(st.binary(max_size=200))
    return comp


def decompressible(comp: bytes) -> int:
    """How many bytes ``gzip`` can possibly yield before the stream ends or breaks (members, padding)."""
    total, rest = 0, comp
    while rest:
        d = zlib.decompressobj(31)
        try:
            got = len(d.decompress(rest)) + len(d.flush())
            rest = d.unused_data
        except zlib.error:  # find the last good byte the slow way
            d, got = zlib.decompressobj(31), 0
            for i in range(len(rest)):
                try:
                    got += len(d.decompress(rest[i:i + 1]))
                except zlib.error:
                    break
            return total + got  # the error lies inside this member (its data or its checksum)
        total += got
        if not d.eof:
            return total
        rest = rest.lstrip(b"\x00")
    return total


CHUNKS = st.sampled_from([1, 2, 3, 7, 64, 4096])


# -- helpers -------------------------------------------------------------------------------------------

def open_input(data: bytes, gz: str | None) -> Any:
    if gz == "open_gzip":
        return open_gzip(io.BytesIO(data))
    if gz == "GzipFile":
        return gzip.GzipFile(fileobj=io.BytesIO(data))
    return io.BytesIO(data)


def collect(reader: RecordReader) -> tuple[list[Any], list[Any], str | None]:
    """Items, the reader's header after each item, and the PermanentFileError reason that ended it (CSV)."""
    items, headers = [], []
    try:
        for item in reader:
            items.append(item)
            headers.append(reader.header)
    except PermanentFileError as exc:
        assert reader.fmt is Format.CSV and not any(isinstance(i, Record) for i in items)
        return items, headers, exc.reason
    return items, headers, None


def check_run(data: bytes, fmt: Format, gz: str | None, chunk: int) -> None:
    consumed: list[Any] = []

    def tap(reader: RecordReader) -> Any:
        for item in reader:
            consumed.append(item)
            yield item

    results, errors = Sink(), Sink()
    engine = RecordEngine(FakeTask(), None, results, errors, batch_size=4)
    reader = RecordReader(open_input(data, gz), fmt, OPTS, chunk_size=chunk)
    try:
        assert engine.run(tap(reader)) is None
    except PermanentFileError as exc:
        assert fmt is Format.CSV and not any(isinstance(i, Record) for i in consumed), exc
        event(f"file failed: {exc.reason}")
        return

    out, err = results.lines(), errors.lines()
    records = [i for i in consumed if isinstance(i, Record) or (isinstance(i, BadRecord) and not i.fatal)]
    c = engine.counts
    assert c.records == c.scored + c.failed == len(records)
    assert c.blank == sum(isinstance(i, Skip) and not i.header for i in consumed)
    record_errors = [e for e in err if e["line"] > 0 and e["reason"] != "binary_file"]
    assert len(out) == c.scored and len(record_errors) == c.failed
    seen = [r["line"] for r in out] + [e["line"] for e in record_errors]
    assert sorted(seen) == sorted(i.line for i in records) and len(set(seen)) == len(seen)
    fatal = [i for i in consumed if isinstance(i, BadRecord) and i.fatal]
    assert len(fatal) <= 1 and (not fatal or consumed[-1] is fatal[0])
    if fatal:
        assert engine.file_error == (fatal[0].reason.value, fatal[0].message)
        assert fatal[0].reason.value in ("truncated_input", "bad_gzip") and err[-1]["line"] == 0
    elif engine.file_error is None:  # read to the end: offsets add up to the whole stream
        end = consumed[-1].end_offset if consumed else 0
        assert end == (len(data) if gz is None else decompressible(data))
    else:
        assert engine.file_error[0] == "binary_file"
    offsets = [i.end_offset for i in consumed]
    assert offsets == sorted(offsets)
    event(f"file_error: {engine.file_error[0] if engine.file_error else None}")
    event(f"scored: {'0' if not c.scored else '1-4' if c.scored < 5 else '5+'}; failed: {'0' if not c.failed else '1+'}")


def check_resume(data: bytes, fmt: Format, gz: str | None, chunk: int) -> None:
    full, headers, stop = collect(RecordReader(open_input(data, gz), fmt, OPTS, chunk_size=chunk))
    event(f"items: {'0-1' if len(full) < 2 else '2-9' if len(full) < 10 else '10+'}; stopped: {stop}")
    for k, at in enumerate(full):
        if isinstance(at, BadRecord) and at.fatal:
            break
        if gz is None:
            fp = io.BytesIO(data[at.end_offset:])  # S3 GetObject with Range: bytes=<offset>-
        else:
            fp = open_input(data, gz)  # re-stream the object, skip the decompressed bytes already read
            skip_bytes(fp, at.end_offset)
        tail, _, tail_stop = collect(RecordReader(fp, fmt, OPTS, chunk_size=chunk, start_offset=at.end_offset,
                                                  start_line=at.end_line, header=headers[k]))
        assert tail == full[k + 1:], f"resume after item {k}"
        assert tail_stop == stop


# -- properties ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.value)
@PROPS
@given(data=st.data(), chunk=CHUNKS)
def test_plain_files_never_escape_and_every_record_is_accounted_once(fmt, data, chunk):
    check_run(data.draw(files(fmt)), fmt, None, chunk)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.value)
@PROPS
@given(data=st.data(), chunk=CHUNKS, opener=st.sampled_from(["open_gzip", "GzipFile"]))
def test_gzip_files_never_escape_and_every_readable_record_is_accounted_once(fmt, data, chunk, opener):
    check_run(data.draw(gzipped(files(fmt))), fmt, opener, chunk)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.value)
@settings(PROPS, max_examples=150)
@given(data=st.data(), chunk=CHUNKS)
def test_resuming_a_plain_file_at_any_item_yields_exactly_the_rest(fmt, data, chunk):
    check_resume(data.draw(structured_file(fmt)), fmt, None, chunk)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.value)
@settings(PROPS, max_examples=100)
@given(data=st.data(), chunk=CHUNKS, opener=st.sampled_from(["open_gzip", "GzipFile"]))
def test_resuming_a_gzip_file_at_any_item_yields_exactly_the_rest(fmt, data, chunk, opener):
    # A GzipFile advanced by skip_bytes cannot hand out the bytes just before corrupt data (it loses the
    # output of the read that fails), so with it only intact, cut-off and multi-member streams resume exactly.
    modes = GZIP_MODES if opener == "open_gzip" else ("whole", "truncated", "members")
    check_resume(data.draw(gzipped(structured_file(fmt), modes)), fmt, opener, chunk)


@PROPS
@given(parts=st.lists(st.sampled_from([b"a", b"bc", b"\r", b"\n", b"\r\n", b"\xe9", b"x" * 7]), max_size=40),
       chunk=CHUNKS)
def test_line_splitter_matches_a_reference_split_at_every_chunk_size(parts, chunk):
    data = b"".join(parts)
    expected, i, start = [], 0, 0
    while i < len(data):
        if data[i:i + 1] in (b"\r", b"\n"):
            size = 2 if data[i:i + 2] == b"\r\n" else 1
            line = data[start:i]
            expected.append((line if len(line) <= 8 else None, i + size - start))
            i = start = i + size
        else:
            i += 1
    if start < len(data):
        line = data[start:]
        expected.append((line if len(line) <= 8 else None, len(line)))
    assert list(iter_raw_lines(io.BytesIO(data), 8, chunk_size=chunk)) == expected


@PROPS
@given(data=st.binary(max_size=600) | structured_file(Format.TEXT) | gzipped(structured_file(Format.TEXT)),
       opener=st.sampled_from(["open_gzip", "GzipFile", None]))
def test_documents_are_read_or_rejected_with_a_reason_never_an_exception(data, opener):
    for partial_ok in (False, True):
        try:
            doc = read_document(open_input(data, opener), 400, partial_ok=partial_ok)
        except PermanentFileError as exc:
            assert exc.reason in {"truncated_input", "bad_gzip", "document_too_large", "binary_content",
                                  "undecodable_bytes", "empty_file"}
            continue
        doc.text.encode("utf-8")
        assert doc.file_error is None or partial_ok


# -- stray CSV quotes (issue 7 break test): a row never swallows the rows after it ---------------------

_STRAY_TEXTS = st.sampled_from(['"open', 'She said "wow" twice', '"a"b x', 'x "y z', 'a "" b', "plain words", "ok"])


@settings(PROPS, max_examples=200)
@given(texts=st.lists(_STRAY_TEXTS, min_size=1, max_size=30), max_lines=st.sampled_from([1, 2, 3, 20]),
       chunk=CHUNKS, ending=_BREAK, max_line=st.sampled_from([40, 256]))
def test_stray_csv_quotes_never_hide_a_row_and_resume_exactly(texts, max_lines, chunk, ending, max_line):
    """Every data row is scored or one error exactly once (by line and id); rows without a quote are scored.

    The quotes here can never close a field cleanly (each closing quote is followed by more text), so no
    row is legitimately part of another one.
    """
    opts = ReadOptions(max_line_bytes=max_line, max_text_bytes=120, csv_max_record_lines=max_lines)
    data = ending.join([b"id,text", *(f"{i},{t}".encode() for i, t in enumerate(texts, 1))]) + ending
    results, errors = Sink(), Sink()
    engine = RecordEngine(FakeTask(), None, results, errors, batch_size=4)
    reader = RecordReader(io.BytesIO(data), Format.CSV, opts, chunk_size=chunk)
    assert engine.run(reader) is None and engine.file_error is None
    out, err = results.lines(), errors.lines()
    n = len(texts)
    assert sorted([r["line"] for r in out] + [e["line"] for e in err]) == list(range(2, n + 2))
    assert sorted(int(x["id"]) for x in out + err) == list(range(1, n + 1))
    assert {int(r["id"]) for r in out} >= {i for i, t in enumerate(texts, 1) if '"' not in t}
    assert engine.counts.records == n and reader.offset == len(data)
    full = list(RecordReader(io.BytesIO(data), Format.CSV, opts, chunk_size=chunk))
    for k, at in enumerate(full):
        tail = list(RecordReader(io.BytesIO(data[at.end_offset:]), Format.CSV, opts, chunk_size=chunk,
                                 start_offset=at.end_offset, start_line=at.end_line, header=["id", "text"]))
        assert tail == full[k + 1:], f"resume after item {k}"
