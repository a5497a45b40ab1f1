"""The last step of the commit protocol (``chain.py``, invariant 4) and the clean-up of abandoned uploads.

``finish_commit`` runs from a ledger in phase ``committing`` (final parts, spilled tails and the summary body are
in it) and is idempotent: run it again after a crash at any point and it converges to the same outputs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from nlpserve.batch import source
from nlpserve.batch.chain import Chain
from nlpserve.batch.config import BatchSettings
from nlpserve.batch.errors import PermanentFileError, Reason
from nlpserve.batch.summary import put_summary
from nlpserve.batch.version import ObjectVersion
from nlpserve.batch.writers import MultipartWriter


def finish_commit(s3: Any, settings: BatchSettings, chain: Chain, v: ObjectVersion) -> dict[str, Any]:
    """Complete results, complete (or drop) errors, write the summary, mark the ledger ``done``.

    Raises SupersededObject when a newer upload replaced the input meanwhile (its outputs must not be
    overwritten). Returns the outcome fields of a completed job.
    """
    source.head_current(s3, v.job)
    check_output_owner(s3, v.bucket, v.keys.results, v.job.key)
    wkw = {"part_size": settings.part_size, "allow_small_parts": True, "metadata": v.output_metadata(chain)}
    uploads, summary = chain.body["uploads"], chain.body["summary"]
    results = MultipartWriter.resume(s3, v.bucket, uploads["results"], check_parts=False, **wkw)
    errors = MultipartWriter.resume(s3, v.bucket, uploads["errors"], check_parts=False, **wkw)
    results.complete()
    if errors.bytes_written:
        errors.complete()
    else:
        errors.abort()
        delete_quietly(s3, v.bucket, v.keys.errors)  # a stale report from an older version of this key
    put_summary(s3, v.bucket, v.keys.summary, summary)
    chain.finish(summary["status"])
    delete_prefix(s3, v.bucket, v.chain_prefix(chain))
    c = summary["counts"]
    return {"status": "completed", "key": v.job.key, "task": v.inp.task, "records": c["records"],
            "scored": c["scored"], "failed": c["failed"], "invocations": summary["invocations"],
            "results": v.keys.results, "summary": v.keys.summary, "summary_status": summary["status"]}


def output_source(s3: Any, bucket: str, key: str) -> str | None:
    """The input key an existing output was written for (its ``source-key`` metadata); None when absent."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return None
    meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    return unquote(meta["source-key"]) if meta.get("source-key") else None


def check_output_owner(s3: Any, bucket: str, results_key: str, input_key: str) -> None:
    """Refuse to overwrite the results of ANOTHER input that still exists (two names that map to one output,
    e.g. ``t.csv`` and ``t.csv.jsonl``): a permanent ``output_collision`` instead of mixing two files."""
    other = output_source(s3, bucket, results_key)
    if other is None or other == input_key:
        return
    try:
        s3.head_object(Bucket=bucket, Key=other)
    except ClientError:
        return  # the other input is gone: its results are stale and may be replaced
    raise PermanentFileError(Reason.OUTPUT_COLLISION,
                             f"{results_key} already holds the results of {other}; rename one of the two inputs")


def abort_unsaved(chain: Chain, live: list[MultipartWriter]) -> None:
    """Abort uploads this invocation started that the ledger does not reference (nothing could resume them)."""
    saved = {u.get("upload_id") for u in (chain.body.get("uploads") or {}).values() if u}
    for w in live:
        if w.upload_id is not None and w.upload_id not in saved:
            w.abort()


def abort_all(s3: Any, chain: Chain, live: list[MultipartWriter]) -> None:
    """Abort every upload of the chain: the live writers' and the ones the ledger references."""
    for w in live:
        w.abort()
    for u in (chain.body.get("uploads") or {}).values():
        if u and u.get("upload_id"):
            try:
                s3.abort_multipart_upload(Bucket=chain.store.bucket, Key=u["key"], UploadId=u["upload_id"])
            except ClientError:
                pass  # already completed or aborted; the lifecycle rule clears anything left


def delete_quietly(s3: Any, bucket: str, key: str) -> None:
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except ClientError:
        pass  # best effort: a missing key is fine


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    try:
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objs:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
    except ClientError:
        pass  # best effort; the lifecycle rule on _work/ expires leftovers


__all__ = ["abort_all", "abort_unsaved", "check_output_owner", "delete_prefix", "delete_quietly", "finish_commit",
           "output_source"]
