"""Readers, segmentation and keys: streaming behaviour that needs no model and no AWS."""

from __future__ import annotations

import gzip
import io
import itertools
import json

import pytest
from nlpserve.batch.config import BatchSettings
from nlpserve.batch.documents import split_segments
from nlpserve.batch.errors import PermanentFileError, Reason
from nlpserve.batch.events import jobs_from_body
from nlpserve.batch.keys import Format, output_keys, parse_input_key
from nlpserve.batch.readers import (
    BadRecord,
    ReadOptions,
    Record,
    RecordReader,
    Skip,
    iter_raw_lines,
    skip_bytes,
)


def items(data: bytes, fmt: Format, chunk_size: int = 7, **kw) -> list:
    opts = ReadOptions(max_line_bytes=kw.pop("max_line_bytes", 64), max_text_bytes=kw.pop("max_text_bytes", 40))
    return list(RecordReader(io.BytesIO(data), fmt, opts, chunk_size=chunk_size, **kw))


def test_raw_lines_survive_chunk_boundaries_and_skip_huge_lines_without_buffering():
    data = b"a\r\nbb\n" + b"x" * 1000 + b"\nccc"
    out = list(iter_raw_lines(io.BytesIO(data), max_line_bytes=10, chunk_size=3))
    assert out == [(b"a", 3), (b"bb", 3), (None, 1001), (b"ccc", 3)]
    assert sum(size for _, size in out) == len(data)


def test_jsonl_items_carry_offsets_that_resume_exactly():
    lines = [json.dumps({"id": i, "text": f"text {i}"}).encode() for i in range(20)]
    lines[5] = b"{broken"
    lines[9] = b""
    data = b"\n".join(lines) + b"\n"
    full = items(data, Format.JSONL)
    assert isinstance(full[5], BadRecord) and full[5].reason is Reason.MALFORMED_JSON and full[5].line == 6
    assert isinstance(full[9], Skip)
    cut = full[11]
    resumed = items(data[cut.end_offset:], Format.JSONL, start_offset=cut.end_offset, start_line=cut.end_line)
    assert [(type(i), i.line, i.end_offset) for i in resumed] == [(type(i), i.line, i.end_offset) for i in full[12:]]


def test_csv_multiline_fields_bad_bytes_and_header_resume():
    data = b'id,text\n1,"two\nlines"\n2,ok\n3,bad \xff byte\n4,"x",extra\n5,\n6,fine\n'
    full = items(data, Format.CSV)
    recs = [i for i in full if isinstance(i, Record)]
    assert [(r.record_id, r.text, r.line) for r in recs] == [("1", "two\nlines", 2), ("2", "ok", 4), ("6", "fine", 8)]
    bad = [(i.line, i.reason) for i in full if isinstance(i, BadRecord)]
    assert bad == [(5, Reason.UNDECODABLE), (6, Reason.MALFORMED_CSV), (7, Reason.EMPTY_TEXT)]
    after = recs[1]
    tail = items(data[after.end_offset:], Format.CSV, start_offset=after.end_offset, start_line=after.end_line,
                 header=["id", "text"])
    assert [i.record_id for i in tail if isinstance(i, Record)] == ["6"]


def test_csv_without_the_text_column_is_a_permanent_file_error():
    with pytest.raises(PermanentFileError) as exc:
        items(b"id,body\n1,x\n", Format.CSV)
    assert exc.value.reason == "missing_text_column"


def test_text_lines_validate_length_and_binary():
    data = "\ufeffhello\n\n" + "y" * 50 + "\nnul\x00here\n"
    out = items(data.encode(), Format.TEXT)
    assert isinstance(out[0], Record) and out[0].text == "hello"  # BOM stripped
    assert isinstance(out[1], Skip)
    assert out[2].reason is Reason.TEXT_TOO_LONG and out[3].reason is Reason.BINARY


def test_gzip_resume_skips_decompressed_bytes():
    data = b"".join(json.dumps({"text": f"t{i}"}).encode() + b"\n" for i in range(50))
    fp = gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data)))
    skip_bytes(fp, 100)
    assert fp.read() == data[100:]


def test_corrupt_gzip_is_a_fatal_file_error_and_a_cut_off_one_is_truncated():
    fp = gzip.GzipFile(fileobj=io.BytesIO(b"\x1f\x8b\x08\x00garbage-not-deflate"))
    out = list(RecordReader(fp, Format.JSONL, ReadOptions()))
    assert out[-1].reason is Reason.BAD_GZIP and out[-1].fatal and out[-1].line == 0
    # a valid header and a deflate block that just stops: zlib can only say "the stream ended early"
    fp = gzip.GzipFile(fileobj=io.BytesIO(b"\x1f\x8b\x08\x00nonsense"))
    out = list(RecordReader(fp, Format.JSONL, ReadOptions()))
    assert [(i.reason, i.fatal) for i in out] == [(Reason.TRUNCATED_RECORD, False), (Reason.TRUNCATED_INPUT, True)]


def test_segments_tile_the_document_within_the_byte_limit():
    text = ("Paragraph one is here. It has sentences.\n\n" + "Ünïcödé words " * 40 + "\n") * 5
    spans = split_segments(text, 200)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert all(len(text[s:e].encode()) <= 200 for s, e in spans)


def test_keys_map_inputs_to_outputs():
    s = BatchSettings()
    k = parse_input_key("incoming/sentiment/team/reviews.csv.gz", s)
    assert (k.task, k.rel, k.format, k.gzip) == ("sentiment", "team/reviews.csv.gz", Format.CSV, True)
    o = output_keys(k, s, '"abc"')
    assert o.results == "results/sentiment/team/reviews.csv.gz.jsonl"  # .gz kept: reviews.csv has its own
    names = ["a.jsonl", "a.jsonl.gz", "a.csv", "a.csv.gz", "a.txt", "a.txt.gz", "a.ndjson", "a.ndjson.gz"]
    outs = [output_keys(parse_input_key(f"incoming/sentiment/{n}", s), s, "e").results for n in names]
    assert len(set(outs)) == len(names)  # two inputs never share a results object
    docs = ["docs/a.txt", "docs/a.txt.gz", "docs/a.md", "docs/a.md.gz"]
    for task in ("redact", "summarize"):
        outs = [output_keys(parse_input_key(f"incoming/{task}/{n}", s), s, "e").results for n in docs]
        assert len(set(outs)) == len(docs)
    assert o.summary == "results/sentiment/team/reviews.csv.gz.summary.json"
    assert o.errors == "errors/sentiment/team/reviews.csv.gz.errors.jsonl"
    doc = parse_input_key("incoming/redact/docs/a.md", s)
    assert doc.is_document and output_keys(doc, s, "e").entities == "results/redact/docs/a.md.entities.json"
    assert not parse_input_key("incoming/sentiment/docs/a.txt", s).is_document  # line task: lines
    with pytest.raises(PermanentFileError):
        parse_input_key("incoming/sentiment/a.pdf", s)


def test_event_bodies(tmp_path):
    from pathlib import Path

    events = Path(__file__).resolve().parents[2] / "events"
    s3_event = json.loads((events / "s3_put.json").read_text())
    jobs = jobs_from_body(s3_event)
    assert jobs[0].key == "incoming/sentiment/my reviews/reviews.jsonl"  # %2F and + decoded
    sqs = json.loads((events / "sqs_s3_put.json").read_text())
    assert jobs_from_body(sqs["Records"][0]["body"])[0].key == jobs[0].key
    assert jobs_from_body(json.loads((events / "sqs_s3_test_event.json").read_text())["Records"][0]["body"]) == []
