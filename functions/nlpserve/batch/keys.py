"""Object keys: what an incoming key means and where its outputs go.

``incoming/<task>/<rel>``                     -> one input object
``results/<task>/<rel'>``                      -> scored records, JSONL (``rel'`` = rel, with ``.jsonl``
                                                 appended unless it already ends so; ``.gz`` is kept)
``results/<task>/<rel>.summary.json``          -> the summary, written LAST: the commit marker
``errors/<task>/<rel>.errors.jsonl``           -> failed records (only when something failed)
``results/<task>/docs/<rel>``                  -> the rewritten document, for a task whose documents mode rewrites
                                                 (redact; a.txt.gz -> a.txt.gz.txt), and next to it
``results/<task>/docs/<rel><report_suffix>``   -> the document's JSON report (redact ``.entities.json``,
                                                 summarize ``.result.json``; ``nlpserve.catalog.Documents``)
``_work/<task>/<rel>/<etag>/...``              -> continuation spill objects, deleted on completion

None of the output prefixes lies under the trigger prefix, so outputs never re-trigger the pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote_plus

from nlpserve import catalog
from nlpserve.batch.config import BatchSettings
from nlpserve.batch.errors import PermanentFileError

DOCUMENT_TASKS = catalog.document_tasks()
LINE_TASKS = catalog.batch_tasks()
DOCUMENT_SUFFIXES = (".txt", ".md")


class Format(str, Enum):
    JSONL = "jsonl"
    CSV = "csv"
    TEXT = "text"
    DOCUMENT = "document"


_FORMAT_BY_SUFFIX = {".jsonl": Format.JSONL, ".ndjson": Format.JSONL, ".csv": Format.CSV, ".txt": Format.TEXT}


def decode_event_key(raw_key: str) -> str:
    """S3 event keys are URL-encoded (``+`` for space); moto also encodes ``/`` as ``%2F``."""
    return unquote_plus(raw_key)


@dataclass(frozen=True)
class InputKey:
    key: str
    task: str
    rel: str  # path below incoming/<task>/
    format: Format
    gzip: bool

    @property
    def is_document(self) -> bool:
        return self.format is Format.DOCUMENT


@dataclass(frozen=True)
class OutputKeys:
    results: str
    summary: str
    errors: str
    work: str  # prefix for spill objects of one object version
    entities: str | None = None  # the report next to a rewritten document (redact documents)


def parse_input_key(key: str, settings: BatchSettings) -> InputKey:
    """Split ``incoming/<task>/<rel>``; raise PermanentFileError for keys the pipeline cannot score."""
    if not key.startswith(settings.incoming_prefix):
        raise PermanentFileError("not_incoming", f"key {key!r} is not under {settings.incoming_prefix!r}")
    rest = key[len(settings.incoming_prefix):]
    task, sep, rel = rest.partition("/")
    if not sep or not task or not rel or rel.endswith("/"):
        raise PermanentFileError("bad_key", f"expected {settings.incoming_prefix}<task>/<name>, got {key!r}")
    lower = rel.lower()
    gz = lower.endswith(".gz")
    base = lower[:-3] if gz else lower
    if task in DOCUMENT_TASKS and rel.startswith(settings.docs_dir) and base.endswith(DOCUMENT_SUFFIXES):
        return InputKey(key=key, task=task, rel=rel, format=Format.DOCUMENT, gzip=gz)
    suffix = "." + base.rsplit(".", 1)[-1] if "." in base else ""
    fmt = _FORMAT_BY_SUFFIX.get(suffix)
    if fmt is None:
        raise PermanentFileError(
            "unsupported_format",
            f"unsupported file type {suffix or '(none)'!r}: use .jsonl/.ndjson, .csv, .txt (optionally .gz), "
            f"or .txt/.md under {settings.docs_dir!r} for {'/'.join(sorted(DOCUMENT_TASKS))}",
        )
    return InputKey(key=key, task=task, rel=rel, format=fmt, gzip=gz)


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def output_keys(inp: InputKey, settings: BatchSettings, etag: str) -> OutputKeys:
    task, rel = inp.task, inp.rel
    base = rel[:-3] if inp.gzip else rel
    summary = f"{settings.results_prefix}{task}/{rel}.summary.json"
    errors = f"{settings.errors_prefix}{task}/{rel}.errors.jsonl"
    work = f"{settings.work_prefix}{task}/{rel}/{_SAFE.sub('_', etag.strip(chr(34)))}/"
    # Output names keep the whole input name (``.gz`` included), so two inputs never share an output:
    # reviews.jsonl -> reviews.jsonl, reviews.jsonl.gz -> reviews.jsonl.gz.jsonl, t.csv -> t.csv.jsonl.
    # The only names left that could meet (t.csv and t.csv.jsonl) are caught at commit (output_collision).
    documents = catalog.entry(task).documents if inp.is_document else None
    if documents is not None:
        if not documents.rewrites:
            return OutputKeys(f"{settings.results_prefix}{task}/{rel}{documents.report_suffix}", summary, errors, work)
        inner = "." + base.rsplit(".", 1)[-1] if inp.gzip else ""  # a.txt.gz -> a.txt.gz.txt (plain text)
        results = f"{settings.results_prefix}{task}/{rel}{inner}"
        return OutputKeys(results, summary, errors, work, entities=f"{results}{documents.report_suffix}")
    name = rel if rel.lower().endswith(".jsonl") else rel + ".jsonl"
    return OutputKeys(f"{settings.results_prefix}{task}/{name}", summary, errors, work)
