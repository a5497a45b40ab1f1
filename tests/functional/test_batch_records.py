"""Record-level integrity of the batch path (issue 7, A3-A5): reader + scoring engine, no model, no AWS.

Every example of the issue is a test here, plus inputs of the same kind: truncated / corrupt / multi-member
gzip (fresh read and resume after a checkpoint, lines and documents), lone surrogates and non-JSON numbers in
any field, CR-only and mixed line breaks at every chunk boundary, non-UTF-8 CSV rows, CSV from locales that
separate with ``;`` or tabs. The task is a deterministic fake that fails like the real tokenizer does on a
lone surrogate (``str.encode('utf-8')`` raises).
"""

from __future__ import annotations

import gzip
import io
import json
import random
import zlib
from typing import Any

import pytest
from nlpserve.batch.engine import RecordEngine
from nlpserve.batch.errors import PermanentFileError, Reason, SystemicScoringError
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

# -- a fake task and in-memory sinks ---------------------------------------------------------------------


class FakeResult:
    def __init__(self, **data: Any) -> None:
        self.data = data

    def model_dump(self, mode: str = "json", exclude_none: bool = False) -> dict[str, Any]:
        return dict(self.data)


class FakeTask:
    """Deterministic; encodes each text as UTF-8 first, as the real tokenizer does (UnicodeEncodeError)."""

    class Params:
        pass

    def __init__(self, fail_if: Any = None, broken: bool = False, result: Any = None) -> None:
        self.fail_if, self.broken, self.result = fail_if, broken, result

    def run(self, texts: list[str], params: Any) -> list[Any]:
        if self.broken:
            raise RuntimeError("session crashed")
        out = []
        for t in texts:
            t.encode("utf-8")
            if self.fail_if and self.fail_if(t):
                raise ValueError("tokenizer cannot handle this text")
            out.append(FakeResult(**(self.result or {"label": "pos" if len(t) % 2 else "neg", "chars": len(t)})))
        return out


class MemSink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def lines(self) -> list[dict[str, Any]]:
        """Strict: UTF-8, one RFC 8259 object a line (no NaN/Infinity)."""
        def reject(name: str) -> Any:
            raise AssertionError(f"{name} in output")

        return [json.loads(line, parse_constant=reject) for line in self.data.decode("utf-8").splitlines()]


def run(source: Any, fmt: Format, task: Any = None, batch_size: int = 8, chunk_size: int = 1024,
        **opts: Any) -> tuple[RecordEngine, list[dict[str, Any]], list[dict[str, Any]]]:
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    results, errors = MemSink(), MemSink()
    engine = RecordEngine(task or FakeTask(), FakeTask.Params(), results, errors, batch_size=batch_size)
    engine.run(RecordReader(fp, fmt, ReadOptions(**opts), chunk_size=chunk_size))
    return engine, results.lines(), errors.lines()


def assert_accounted(engine: RecordEngine, results: list[dict], errors: list[dict], n_records: int) -> None:
    """records = scored + failed; every record line exactly once in results or errors; file-level lines are 0."""
    c = engine.counts
    assert c.records == c.scored + c.failed == n_records
    record_lines = [r["line"] for r in results] + [e["line"] for e in errors if e["line"] > 0]
    assert len(record_lines) == len(set(record_lines)) == n_records
    assert len(results) == c.scored and len([e for e in errors if e["line"] > 0]) == c.failed


def jsonl(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    words = ["good", "bad", "meh", "great", "food", "service", "slow", "fast", "ünïcode", "日本"]
    return "".join(json.dumps({"id": f"r{i}", "text": " ".join(rng.choice(words) for _ in range(12))},
                              ensure_ascii=False) + "\n" for i in range(n)).encode()


def readable_prefix(compressed: bytes) -> bytes:
    """Everything zlib can decompress from ``compressed`` before it ends or breaks (byte by byte)."""
    d, out = zlib.decompressobj(31), bytearray()
    for i in range(len(compressed)):
        try:
            out += d.decompress(compressed[i:i + 1])
        except zlib.error:
            break
        if d.eof:
            break
    return bytes(out)


OPENERS = {
    "GzipFile": lambda raw: gzip.GzipFile(fileobj=io.BytesIO(raw)),  # what the processor and CLI pass today
    "open_gzip": lambda raw: open_gzip(io.BytesIO(raw)),
}


# -- A3: truncated / corrupt gzip ------------------------------------------------------------------------

@pytest.mark.parametrize("opener", OPENERS)
def test_truncated_gzip_scores_every_readable_line_reports_the_torn_one_and_flags_the_file(opener):
    # the issue: a .jsonl.gz cut mid-stream; 7,161 lines readable, 6,238 scored, the summary said complete
    data = jsonl(20_000)
    cut = gzip.compress(data)[: int(len(gzip.compress(data)) * 0.36)]
    prefix = readable_prefix(cut)
    complete = prefix.count(b"\n")
    assert complete > 7_000 and not prefix.endswith(b"\n")
    engine, results, errors = run(OPENERS[opener](cut), Format.JSONL, chunk_size=256 * 1024)
    assert [r["id"] for r in results] == [f"r{i}" for i in range(complete)]  # every complete line scored
    assert [(e["line"], e["reason"]) for e in errors] == [(complete + 1, "truncated_record"), (0, "truncated_input")]
    assert engine.file_error is not None and engine.file_error[0] == "truncated_input"  # -> summary "partial"
    assert "cut off" in engine.file_error[1]
    assert_accounted(engine, results, errors, complete + 1)


def test_gzip_cut_exactly_at_a_line_boundary_has_no_torn_record():
    data = jsonl(300)
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    first = comp.compress(data[:data.index(b"\n", 5000) + 1]) + comp.flush(zlib.Z_FULL_FLUSH)
    n = data[:data.index(b"\n", 5000) + 1].count(b"\n")
    engine, results, errors = run(open_gzip(io.BytesIO(first)), Format.JSONL)
    assert len(results) == n and [e["reason"] for e in errors] == ["truncated_input"]
    assert_accounted(engine, results, errors, n)


@pytest.mark.parametrize("opener", OPENERS)
def test_corrupt_gzip_mid_stream_delivers_every_line_before_the_damage(opener):
    data = jsonl(5_000)
    stop = data.index(b"\n", len(data) // 2) - 10  # the damage starts inside a line
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    raw = comp.compress(data[:stop]) + comp.flush(zlib.Z_FULL_FLUSH) + b"\x07" + comp.compress(data[stop:])
    assert readable_prefix(raw) == data[:stop]  # 0x07: a deflate block of the reserved type, right there
    complete = data[:stop].count(b"\n")
    engine, results, errors = run(OPENERS[opener](raw), Format.JSONL, chunk_size=256 * 1024)
    assert [r["id"] for r in results] == [f"r{i}" for i in range(complete)]
    assert [(e["line"], e["reason"]) for e in errors] == [(complete + 1, "truncated_record"), (0, "bad_gzip")]
    assert engine.file_error[0] == "bad_gzip" and "invalid block type" in engine.file_error[1]
    assert_accounted(engine, results, errors, complete + 1)


@pytest.mark.parametrize("opener", OPENERS)
def test_gzip_whose_checksum_fails_is_bad_gzip_after_all_its_records(opener):
    """Deflate rarely notices flipped bytes: it decodes garbage until the CRC-32 at the end says so."""
    data = jsonl(5_000)
    raw = bytearray(gzip.compress(data))
    mid = len(raw) // 2
    raw[mid:mid + 8] = b"\xff" * 8
    prefix = readable_prefix(bytes(raw))
    intact = next(i for i, (a, b) in enumerate(zip(prefix, data)) if a != b)
    engine, results, errors = run(OPENERS[opener](bytes(raw)), Format.JSONL, chunk_size=256 * 1024)
    ok = data[:intact].count(b"\n")
    assert [r["id"] for r in results[:ok]] == [f"r{i}" for i in range(ok)]
    assert errors[-1]["reason"] == "bad_gzip" and engine.file_error[0] == "bad_gzip"
    assert "checksum" in errors[-1]["message"] or opener == "GzipFile"
    physical = prefix.count(b"\n") + (0 if prefix.endswith(b"\n") else 1)
    assert_accounted(engine, results, errors, physical - engine.counts.blank)


def test_multi_member_gzip_is_read_whole_and_a_cut_in_a_later_member_keeps_the_earlier_ones():
    a, b = jsonl(100, seed=1), jsonl(100, seed=2).replace(b'"r', b'"s')
    whole = gzip.compress(a) + b"\x00" * 7 + gzip.compress(b)  # zero padding between members is accepted
    engine, results, errors = run(open_gzip(io.BytesIO(whole)), Format.JSONL)
    assert len(results) == 200 and errors == [] and engine.file_error is None
    cut = whole[: len(whole) - len(gzip.compress(b)) // 2]
    _, results, errors = run(open_gzip(io.BytesIO(cut)), Format.JSONL)
    assert [r["id"] for r in results][:100] == [f"r{i}" for i in range(100)]
    assert errors[-1]["reason"] == "truncated_input"


def test_non_gzip_bytes_after_a_member_are_bad_gzip_after_all_the_data():
    _, results, errors = run(open_gzip(io.BytesIO(gzip.compress(jsonl(50)) + b"PK\x03\x04junk")), Format.JSONL)
    assert len(results) == 50 and [e["reason"] for e in errors] == ["bad_gzip"]
    assert "not gzip data" in errors[0]["message"]


def test_not_gzip_at_all_is_bad_gzip_and_an_empty_gz_object_is_just_empty():
    _, results, errors = run(open_gzip(io.BytesIO(b"id,text\n1,plain text saved as .gz\n")), Format.CSV)
    assert results == [] and [e["reason"] for e in errors] == ["bad_gzip"]
    engine, results, errors = run(open_gzip(io.BytesIO(b"")), Format.JSONL)
    assert (results, errors, engine.file_error, engine.counts.records) == ([], [], None, 0)


@pytest.mark.parametrize("opener", OPENERS)
def test_gzip_resume_after_a_checkpoint_yields_exactly_the_remaining_items(opener):
    data = jsonl(3_000)
    cut = gzip.compress(data)[:-500]
    full = list(RecordReader(OPENERS[opener](cut), Format.JSONL, ReadOptions(), chunk_size=4096))
    assert full[-1].fatal and full[-2].reason is Reason.TRUNCATED_RECORD
    for k in (0, 1, 999, len(full) - 3, len(full) - 2):
        at = full[k]
        fp = OPENERS[opener](cut)  # the processor's resume path: re-stream, skip the decompressed bytes
        skip_bytes(fp, at.end_offset)
        tail = list(RecordReader(fp, Format.JSONL, ReadOptions(), start_offset=at.end_offset,
                                 start_line=at.end_line, chunk_size=4096))
        assert tail == full[k + 1:]


def test_truncated_gzip_csv_reports_the_torn_row_with_its_id_and_a_torn_header_fails_the_file():
    body = b"id,text\n" + b"".join(b"%d,The food was great number %d\n" % (i, i) for i in range(400))
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    stop = body.index(b"\n", 5000) + 12  # in the middle of a row
    cut = comp.compress(body[:stop]) + comp.flush(zlib.Z_SYNC_FLUSH)
    _, results, errors = run(open_gzip(io.BytesIO(cut)), Format.CSV)
    n = body[:stop].count(b"\n") - 1
    assert len(results) == n
    torn = errors[0]
    assert torn["reason"] == "truncated_record" and torn["id"] == str(n) and errors[1]["reason"] == "truncated_input"
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    with pytest.raises(PermanentFileError) as exc:
        run(open_gzip(io.BytesIO(comp.compress(b"id,te") + comp.flush(zlib.Z_SYNC_FLUSH))), Format.CSV)
    assert exc.value.reason == "truncated_input"


@pytest.mark.parametrize("opener", OPENERS)
def test_truncated_gzip_document_fails_clearly_or_gives_its_readable_part(opener):
    text = ("Ünïcödé paragraph about the contract. " * 400).encode()
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    stop = text.index("ï".encode(), 5000) + 1  # cut inside a two-byte character
    cut = comp.compress(text[:stop]) + comp.flush(zlib.Z_SYNC_FLUSH)
    with pytest.raises(PermanentFileError) as exc:
        read_document(OPENERS[opener](cut), 1_000_000)
    assert exc.value.reason == "truncated_input" and "bytes of the document were readable" in exc.value.message
    doc = read_document(OPENERS[opener](cut), 1_000_000, partial_ok=True)
    assert doc.file_error[0] == "truncated_input"
    assert text.decode().startswith(doc.text) and len(doc.text.encode()) == doc.size == stop - 1
    whole = read_document(OPENERS[opener](gzip.compress(text)), 1_000_000)
    assert whole.text == text.decode() and whole.file_error is None


# -- A4: one bad field never kills the file --------------------------------------------------------------

def test_lone_surrogate_in_a_carried_field_id_or_nested_value_is_one_record_error():
    lines = [json.dumps({"id": f"ok{i}", "text": f"Good text {i}"}) for i in range(20)]
    lines[3] = r'{"id":"r1","text":"Fine","note":"cut emoji \ud83d"}'  # the example
    lines[7] = r'{"id":"r\ud83d","text":"Fine"}'
    lines[11] = r'{"id":"n1","text":"Fine","meta":{"tags":["ok","\udc00 low half"]}}'
    lines[15] = r'{"id":"k1","text":"Fine","bad\ud800key":1}'
    lines[17] = r'{"id":"pair","text":"a whole emoji \ud83d\ude00 is fine","note":"\ud83d\ude00"}'
    engine, results, errors = run(("\n".join(lines) + "\n").encode(), Format.JSONL)
    assert [(e["line"], e["reason"]) for e in errors] == [(4, "invalid_unicode"), (8, "invalid_unicode"),
                                                          (12, "invalid_unicode"), (16, "invalid_unicode")]
    assert "field 'note'" in errors[0]["message"] and "U+D83D at character 10" in errors[0]["message"]
    assert errors[0]["id"] == "r1"
    assert errors[1]["id"] == "r\\ud83d" and "field 'id'" in errors[1]["message"]  # reported, as written
    assert "field 'meta.tags[1]'" in errors[2]["message"] and "character 0" in errors[2]["message"]
    assert "field name" in errors[3]["message"]
    assert len(results) == 16 and results[-3]["note"] == "😀"
    assert engine.file_error is None
    assert_accounted(engine, results, errors, 20)


def test_ten_texts_ending_in_a_lone_surrogate_do_not_look_like_a_broken_model():
    lines = [json.dumps({"id": f"s{i}", "text": "loved it \ud83d"}) for i in range(10)]  # json escapes it
    lines += [json.dumps({"id": f"ok{i}", "text": "fine"}) for i in range(5)]
    _, results, errors = run(("\n".join(lines) + "\n").encode(), Format.JSONL, batch_size=8)
    assert [e["reason"] for e in errors] == ["invalid_unicode"] * 10
    assert "field 'text'" in errors[0]["message"] and "character 9" in errors[0]["message"]
    assert [r["id"] for r in results] == [f"ok{i}" for i in range(5)]


def test_records_that_bypass_the_reader_can_never_fail_the_output():
    """The engine's own guard: a Record from any source, a result the writer cannot serialise."""
    recs = [
        Record(1, "cut \ud83d", {}, "a", 10, 1),  # surrogate text: never reaches the model
        Record(2, "fine", {"note": "x\udfff"}, "b", 20, 2),  # unwritable carried field
        Record(3, "fine", {"n": float("nan")}, "c", 30, 3),  # NaN field
        Record(4, "fine", {"obj": object()}, "d", 40, 4),  # not JSON at all
        Record(5, "fine", {}, "e\ud83d", 50, 5),  # surrogate id
        Record(6, "fine", {}, "f", 60, 6),
    ]
    results, errors = MemSink(), MemSink()
    engine = RecordEngine(FakeTask(), None, results, errors, batch_size=8)
    engine.run(recs)
    out = errors.lines()
    assert [(e["line"], e["reason"]) for e in out] == [(1, "invalid_unicode"), (2, "invalid_unicode"),
                                                       (3, "unserializable_result"), (4, "unserializable_result"),
                                                       (5, "invalid_unicode")]
    assert "field 'note'" in out[1]["message"] and "field 'n'" in out[2]["message"]
    assert out[4]["id"] == "e\\ud83d" and "field 'id'" in out[4]["message"]
    assert [r["id"] for r in results.lines()] == ["f"]
    assert engine.counts.records == 6 and engine.counts.failed == 5
    # a model output that is not finite is an error line too, never "NaN" in the results
    results, errors = MemSink(), MemSink()
    RecordEngine(FakeTask(result={"score": float("inf")}), None, results, errors).run(recs[5:])
    assert results.data == b"" and errors.lines()[0]["reason"] == "unserializable_result"


def test_systemic_failure_needs_a_text_known_to_score_to_fail_too():
    texts = [f"record {i} with a weird token" for i in range(8)] + ["plain"]
    data = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)).encode()
    # every record of the batch fails the same way, but the model scores a normal text: data, not model
    _, results, errors = run(data, Format.JSONL, task=FakeTask(fail_if=lambda t: "weird" in t))
    assert [e["reason"] for e in errors] == ["scoring_failed"] * 8 and len(results) == 1
    # a broken model fails the probe as well: the message is retried
    with pytest.raises(SystemicScoringError):
        run(data, Format.JSONL, task=FakeTask(broken=True))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1E999"])
def test_nan_and_infinity_in_a_carried_field_are_malformed_json_naming_the_constant(literal):
    data = (f'{{"id":"x1","text":"Fine","score":{literal}}}\n' '{"id":"x2","text":"Fine","score":0.5}\n').encode()
    _, results, errors = run(data, Format.JSONL)
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [(1, "x1", "malformed_json")]
    assert literal.lstrip("-") in errors[0]["message"] and "field 'score'" in errors[0]["message"]
    assert [r["id"] for r in results] == ["x2"]


def test_invisible_only_text_is_empty_and_deep_nesting_is_malformed_not_a_crash():
    data = (json.dumps({"id": 1, "text": "\u200b\u2060\ufeff"}) + "\n" + "[" * 50_000 + "\n"
            + json.dumps({"id": 3, "text": "ok", "deep": [[[[[[[[1]]]]]]]]}) + "\n").encode()
    _, results, errors = run(data, Format.JSONL, max_line_bytes=100_000)
    assert [(e["line"], e["reason"]) for e in errors] == [(1, "empty_text"), (2, "malformed_json")]
    assert results[0]["deep"] == [[[[[[[[1]]]]]]]]


# -- A5: line breaks, CSV encodings and delimiters -------------------------------------------------------

def test_cr_only_csv_from_excel_for_mac_reads_every_row():
    data = b"id,text\r1,The food was great\r2,Slow service\r3,\"Nice, clean\"\r4,Would come back\r"
    engine, results, errors = run(data, Format.CSV)
    assert [(r["line"], r["id"]) for r in results] == [(2, "1"), (3, "2"), (4, "3"), (5, "4")]
    assert errors == [] and engine.counts.scored == 4


LINE_ENDS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}


@pytest.mark.parametrize("fmt", [Format.JSONL, Format.TEXT, Format.CSV])
@pytest.mark.parametrize("ending", ["crlf", "cr", "mixed"])
def test_every_line_break_style_reads_like_lf(fmt, ending):
    rows = [f"row {i} ünï" for i in range(40)]
    if fmt is Format.JSONL:
        lines = [json.dumps({"id": i, "text": t}).encode() for i, t in enumerate(rows)]
    elif fmt is Format.CSV:
        lines = [b"id,text"] + [f"{i},{t}".encode() for i, t in enumerate(rows)]
    else:
        lines = [t.encode() for t in rows]
    lines.insert(5, b"")  # a blank line

    def join(style: str) -> bytes:
        ends = [LINE_ENDS[("lf", "crlf", "cr")[i % 3]] if style == "mixed" else LINE_ENDS[style]
                for i in range(len(lines))]
        return b"".join(line + end for line, end in zip(lines, ends))

    for chunk in (1, 2, 3, 7, 64):
        ref = [(type(i), i.line, getattr(i, "text", None)) for i in
               RecordReader(io.BytesIO(join("lf")), fmt, ReadOptions(), chunk_size=chunk)]
        got = [(type(i), i.line, getattr(i, "text", None)) for i in
               RecordReader(io.BytesIO(join(ending)), fmt, ReadOptions(), chunk_size=chunk)]
        assert got == ref


def _breaks(data: bytes) -> list[int]:
    """Reference: the byte offset after each line break (\\r\\n, \\n or \\r), plus the end."""
    out, i = [], 0
    while i < len(data):
        if data[i:i + 2] == b"\r\n":
            i += 2
            out.append(i)
        elif data[i:i + 1] in (b"\r", b"\n"):
            i += 1
            out.append(i)
        else:
            i += 1
    if not out or out[-1] != len(data):
        out.append(len(data))
    return out


@pytest.mark.parametrize("fmt", [Format.JSONL, Format.TEXT, Format.CSV])
def test_offsets_are_exact_bytes_and_resume_at_a_record_boundary_for_mixed_breaks(fmt):
    body = (b'id,text\r\n1,one\r2,"two\r\nlines"\n3,three\r\r\n4,four\r\n' if fmt is Format.CSV else
            b'{"text":"a"}\r\n{"text":"b"}\r{"text":"c"}\n\r\n{"text":"d"}\r\r{"text":"e"}')
    breaks = _breaks(body)
    for chunk in range(1, 12):
        full = list(RecordReader(io.BytesIO(body), fmt, ReadOptions(), chunk_size=chunk))
        assert full[-1].end_offset == len(body)
        assert all(i.end_offset in breaks for i in full)
        assert [i.end_line for i in full] == sorted(i.end_line for i in full)
        reader = RecordReader(io.BytesIO(body), fmt, ReadOptions(), chunk_size=chunk)
        full = list(reader)
        for k, at in enumerate(full):  # an S3 Range request from the item's end
            tail = list(RecordReader(io.BytesIO(body[at.end_offset:]), fmt, ReadOptions(), chunk_size=chunk,
                                     start_offset=at.end_offset, start_line=at.end_line, header=reader.header))
            assert tail == full[k + 1:]


def test_a_cr_at_the_end_of_a_chunk_and_the_lf_at_the_start_of_the_next_are_one_break():
    assert list(iter_raw_lines(io.BytesIO(b"ab\r\ncd\r"), 100, chunk_size=3)) == [(b"ab", 4), (b"cd", 3)]
    assert list(iter_raw_lines(io.BytesIO(b"ab\r\rcd"), 100, chunk_size=3)) == [(b"ab", 3), (b"", 1), (b"cd", 2)]
    assert list(iter_raw_lines(io.BytesIO(b"a\r" + b"x" * 20 + b"\r\nb"), 10, chunk_size=4)) == [
        (b"a", 2), (None, 22), (b"b", 1)]


@pytest.mark.parametrize("ending", ["lf", "crlf", "cr"])
def test_quoted_csv_fields_keep_their_embedded_line_breaks(ending):
    e = LINE_ENDS[ending]
    data = b"id,text" + e + b'1,"first line' + e + b'second line"' + e + b"2,plain" + e
    _, results, errors = run(data, Format.CSV, keep_text=True)
    assert errors == []
    assert [(r["id"], r["text"], r["line"]) for r in results] == [("1", "first line\nsecond line", 2),
                                                                  ("2", "plain", 4)]


def test_latin1_csv_row_is_reported_with_its_readable_id():
    data = "id,text\n1,fine\n7,café crème\ncafé,x\n8,ok\n".encode().replace("é".encode(), b"\xe9")
    _, results, errors = run(data, Format.CSV)
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [(3, "7", "undecodable_bytes"),
                                                                   (4, "caf\\xe9", "undecodable_bytes")]
    assert "byte 5 of line 3" in errors[0]["message"]
    assert [r["id"] for r in results] == ["1", "8"]


def test_a_non_utf8_or_nul_jsonl_line_is_reported_with_its_readable_id():
    data = b'{"id":"l1","text":"caf\xe9"}\n{"id":"n1","text":"a\x00b"}\n{"text":"caf\xe9"}\nnot json \xff\n'
    _, results, errors = run(data, Format.JSONL)
    assert results == []
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [
        (1, "l1", "undecodable_bytes"), (2, "n1", "binary_content"), (3, None, "undecodable_bytes"),
        (4, None, "undecodable_bytes")]
    _, _, errors = run(b"caf\xe9\n", Format.TEXT)
    assert errors[0]["id"] == 1


@pytest.mark.parametrize("sep", [b";", b"\t", b"|"])
def test_csv_separated_by_semicolon_tab_or_pipe_is_read_and_resumes_with_its_delimiter(sep):
    rows = [b"id" + sep + b"text" + sep + b"lang"] + [b"%d" % i + sep + b"Good, really good " + b"%d" % i + sep + b"en"
                                                      for i in range(30)]
    data = b"\r\n".join(rows) + b"\r\n"
    reader = RecordReader(io.BytesIO(data), Format.CSV, ReadOptions(), chunk_size=16)
    full = list(reader)
    recs = [i for i in full if isinstance(i, Record)]
    assert [(r.record_id, r.text, r.fields) for r in recs[:1]] == [("0", "Good, really good 0", {"id": "0", "lang": "en"})]
    assert len(recs) == 30
    state = json.loads(json.dumps(reader.header))  # the header travels in the checkpoint
    assert state == {"columns": ["id", "text", "lang"], "delimiter": sep.decode()}
    at = recs[9]
    tail = list(RecordReader(io.BytesIO(data[at.end_offset:]), Format.CSV, ReadOptions(), header=state,
                             start_offset=at.end_offset, start_line=at.end_line))
    assert tail == full[full.index(at) + 1:]


def test_excel_sep_line_names_the_delimiter_and_comma_files_keep_a_list_header():
    reader = RecordReader(io.BytesIO(b"sep=;\r\nid;text\r\n1;Nice, clean\r\n"), Format.CSV, ReadOptions())
    out = list(reader)
    assert [type(i) for i in out] == [Skip, Skip, Record] and out[2].text == "Nice, clean"
    assert all(i.header for i in out[:2])
    reader = RecordReader(io.BytesIO(b"id,text\n1,a;b\n"), Format.CSV, ReadOptions())
    assert [i.text for i in reader if isinstance(i, Record)] == ["a;b"] and reader.header == ["id", "text"]


def test_csv_without_the_text_column_under_any_delimiter_fails_naming_the_columns():
    with pytest.raises(PermanentFileError) as exc:
        run(b"id;review\n1;x\n", Format.CSV)
    assert exc.value.reason == "missing_text_column"
    assert "['id;review']" in exc.value.message and "delimiters tried" in exc.value.message


def test_bad_items_keep_their_position_in_the_output_and_blank_lines_are_counted_apart():
    data = b'{"id":1,"text":"a"}\n\n{bad\n{"id":4,"text":"b"}\r\n   \r{"id":6,"text":"NaN","x":NaN}\n'
    engine, results, errors = run(data, Format.JSONL)
    assert [r["line"] for r in results] == [1, 4] and [e["line"] for e in errors] == [3, 6]
    assert engine.counts.blank == 2 and engine.counts.records == 4
    assert isinstance(next(i for i in RecordReader(io.BytesIO(data), Format.JSONL, ReadOptions())
                           if isinstance(i, BadRecord)), BadRecord)


# -- issue 7 break test: a stray CSV quote, a `line` input field, a Windows-1252 export ------------------


def _rows_csv(n: int, bad: dict[int, str], width: int = 0) -> bytes:
    rows = [f"{i},Row number {i} was fine" + " and long enough to matter" * width for i in range(1, n + 1)]
    for i, row in bad.items():
        rows[i - 1] = row
    return ("id,text\n" + "\n".join(rows) + "\n").encode()


def _assert_every_row_once(engine: RecordEngine, results: list[dict], errors: list[dict], n: int) -> None:
    """Every data row (physical lines 2..n+1) is scored or an error exactly once, by id and by line."""
    assert_accounted(engine, results, errors, n)
    assert sorted([r["line"] for r in results] + [e["line"] for e in errors]) == list(range(2, n + 2))
    assert sorted(int(x["id"]) for x in results + errors) == list(range(1, n + 1))


UNCLOSED = '3,"Great product, would buy again'


@pytest.mark.parametrize("case", ["unclosed", "unclosed_then_quote", "unclosed_big", "quote_closes_early"])
def test_a_stray_csv_quote_is_one_error_and_never_swallows_the_rows_after_it(case):
    n, bad, width = {
        "unclosed": (1000, {3: UNCLOSED}, 0),
        "unclosed_then_quote": (1000, {3: UNCLOSED, 501: '501,She said "wow" twice'}, 0),
        "unclosed_big": (3000, {3: UNCLOSED}, 60),
        "quote_closes_early": (50, {3: UNCLOSED, 9: '9,She said "wow" twice'}, 0),  # within the line bound
    }[case]
    engine, results, errors = run(_rows_csv(n, bad, width), Format.CSV, batch_size=64, chunk_size=4096,
                                  max_text_bytes=1_000_000)
    _assert_every_row_once(engine, results, errors, n)
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [(4, "3", "malformed_csv")]
    assert errors[0]["message"].startswith("unclosed quote starting at line 4")
    assert engine.counts.scored == n - 1 and engine.file_error is None
    by_id = {r["id"]: r for r in results}
    assert by_id["4"]["line"] == 5 and by_id[str(n)]["line"] == n + 1


def test_the_csv_record_line_bound_is_an_option_and_a_long_legit_quoted_field_within_it_is_one_record():
    body = "\n".join(f"paragraph {i}" for i in range(15))
    data = f'id,text\n1,"{body}"\n2,next\n'.encode()
    _, results, errors = run(data, Format.CSV, keep_text=True)  # 15 lines < the default bound of 20
    assert errors == [] and [(r["id"], r["line"], r["text"]) for r in results] == [("1", 2, body), ("2", 17, "next")]
    engine, results, errors = run(data, Format.CSV, csv_max_record_lines=5)
    assert [(e["line"], e["id"], e["reason"]) for e in errors[:1]] == [(2, "1", "malformed_csv")]
    assert "still open after 5 lines (NLP_CSV_MAX_RECORD_LINES=5)" in errors[0]["message"]
    assert_accounted(engine, results, errors, 16)  # the cut field's other lines are parsed again as rows
    assert sorted([r["line"] for r in results] + [e["line"] for e in errors]) == list(range(2, 18))


def test_an_unclosed_quote_is_bounded_by_bytes_and_at_the_end_of_the_file():
    rows = {3: UNCLOSED}
    engine, results, errors = run(_rows_csv(40, rows, width=8), Format.CSV, max_line_bytes=1000, chunk_size=64)
    _assert_every_row_once(engine, results, errors, 40)
    assert [(e["line"], e["id"]) for e in errors] == [(4, "3")] and "longer than 1000 bytes" in errors[0]["message"]
    engine, results, errors = run(_rows_csv(10, {8: '8,"never closed'}), Format.CSV)  # EOF within the bound
    _assert_every_row_once(engine, results, errors, 10)
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [(9, "8", "malformed_csv")]
    assert "the file ends before the quote closes" in errors[0]["message"]
    engine, results, errors = run(b'id,text\n1,ok\n2,"last row open', Format.CSV)  # the last line alone
    assert [(e["line"], e["id"]) for e in errors] == [(3, "2")] and [r["id"] for r in results] == ["1"]


def test_a_stray_quote_resumes_exactly_at_every_item_and_rereads_nothing_from_the_stream():
    data = _rows_csv(60, {3: UNCLOSED, 30: '30,She said "wow" twice', 45: '45,"also open'})
    reads: list[int] = []

    class Counting(io.BytesIO):
        def read1(self, n: int = -1) -> bytes:
            out = super().read1(n)
            reads.append(len(out))
            return out

    full = list(RecordReader(Counting(data), Format.CSV, ReadOptions(), chunk_size=32))
    assert sum(reads) == len(data)  # the rows after the abandoned quote come from the buffer, not the stream
    assert [(i.line, i.record_id) for i in full if isinstance(i, BadRecord)] == [(4, "3"), (46, "45")]
    assert full[-1].end_offset == len(data) and full[-1].end_line == 61
    offsets = [i.end_offset for i in full]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    for k, at in enumerate(full):
        tail = list(RecordReader(io.BytesIO(data[at.end_offset:]), Format.CSV, ReadOptions(), chunk_size=32,
                                 start_offset=at.end_offset, start_line=at.end_line, header=["id", "text"]))
        assert tail == full[k + 1:], k


def test_a_header_with_an_unclosed_quote_fails_the_file():
    with pytest.raises(PermanentFileError) as exc:
        run(b'id,"text\n' + b"1,a\n" * 30, Format.CSV)
    assert exc.value.reason == "malformed_csv" and "unclosed quote starting at line 1" in exc.value.message


def test_a_cut_off_gzip_inside_a_quoted_field_is_one_truncated_row():
    data = gzip.compress(b'id,text\n1,ok\n2,"first line\nsecond line\nthird')
    _, results, errors = run(gzip.GzipFile(fileobj=io.BytesIO(data[:-8])), Format.CSV)
    assert [r["id"] for r in results] == ["1"]
    assert [(e["line"], e["reason"]) for e in errors] == [(3, "truncated_record"), (0, "truncated_input")]


def test_an_input_field_never_overwrites_the_physical_line_or_a_result_field():
    data = (b'{"id":"a","text":"good one","line":99}\n{"id":"b","text":"bad \\ud83d","line":1}\n'
            b'{"id":"c","text":"fine","label":"my own label","input_label":"x"}\n')
    _, results, errors = run(data, Format.JSONL)
    assert results == [
        {"line": 1, "id": "a", "input_line": 99, "label": "neg", "chars": 8},
        {"line": 3, "id": "c", "input_input_label": "my own label", "input_label": "x", "label": "neg", "chars": 4},
    ]
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [(2, "b", "invalid_unicode")]
    data = b"line,id,text,chars\n7,r1,hello,many\n"  # CSV columns too; keep_text keeps the text field
    _, results, _ = run(data, Format.CSV, keep_text=True)
    assert results == [{"line": 2, "input_line": "7", "id": "r1", "text": "hello", "input_chars": "many",
                        "label": "pos", "chars": 5}]


def test_an_id_field_named_line_does_not_overwrite_the_line_of_results_or_errors():
    data = b'{"line":"L1","text":"ok"}\n{"line":"L2","text":""}\n'
    results_sink, errors_sink = MemSink(), MemSink()
    engine = RecordEngine(FakeTask(), FakeTask.Params(), results_sink, errors_sink, id_field="line")
    engine.run(RecordReader(io.BytesIO(data), Format.JSONL, ReadOptions(id_field="line")))
    results, errors = results_sink.lines(), errors_sink.lines()
    assert results == [{"line": 1, "input_line": "L1", "label": "neg", "chars": 2}]
    assert errors == [{"line": 2, "input_line": "L2", "reason": "empty_text",
                       "message": errors[0]["message"]}]


def test_a_windows_1252_csv_export_is_read_to_the_end():
    data = ("id,text\n" + "".join(f"{i},Très bien numéro {i} – “smart” quotes\n" for i in range(1, 26))
            + "26,plain ascii row\n").encode("cp1252")
    engine, results, errors = run(data, Format.CSV)
    assert engine.file_error is None
    assert [r["id"] for r in results] == ["26"]
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [
        (i + 1, str(i), "undecodable_bytes") for i in range(1, 26)]
    _assert_every_row_once(engine, results, errors, 26)
    text = "".join(f"Très bien numéro {i}\n" for i in range(30)).encode("cp1252") + b"plain\n"
    engine, results, errors = run(text, Format.TEXT)  # the same for text and JSONL lines
    assert engine.file_error is None and [r["line"] for r in results] == [31]


@pytest.mark.parametrize("fmt", [Format.JSONL, Format.TEXT, Format.CSV])
def test_genuinely_binary_content_is_a_binary_file_reported_at_line_0(fmt):
    rng = random.Random(3)
    lines = [bytes(rng.choice(range(256)) for _ in range(60)).replace(b"\n", b"").replace(b"\r", b"")
             for _ in range(40)]
    header = b"id,text\n" if fmt is Format.CSV else b""
    engine, results, errors = run(header + b"\n".join(lines) + b"\n", fmt)
    assert results == [] and engine.file_error[0] == "binary_file"
    assert errors[-1]["line"] == 0 and errors[-1]["reason"] == "binary_file"
    assert errors[-1]["id"] is None and "up to line" in errors[-1]["message"]
    assert [e["line"] for e in errors[:-1]] == list(range(1 + len(header and b"x"), 21 + len(header and b"x")))
