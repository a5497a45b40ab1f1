"""The input object: is it still the version the event named, and a stream of it from a record boundary.

- ``head_current`` asks for the CURRENT object under the key (not the event's version): gone -> None; a
  different ETag -> ``SupersededObject`` (a newer upload has its own event, and its chain must not be
  overwritten by this older one).
- ``open_stream`` reads the event's version (``VersionId`` when known, else ``If-Match`` on the ETag), from a
  byte offset: an S3 ``Range`` request for plain files, skipping decompressed bytes for gzip. Resuming at
  ``offset > 0`` first checks that the byte before it ends a line (``\\n`` or ``\\r``): a checkpoint that does
  not sit on a record boundary is refused (``ChainBroken``) instead of producing a torn record.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from nlpserve.batch.errors import ChainBroken, SupersededObject, client_error_code
from nlpserve.batch.events import Job
from nlpserve.batch.keys import InputKey
from nlpserve.batch.readers import GZIP_ERRORS, open_gzip, skip_bytes

LINE_ENDS = (b"\n", b"\r")



def strip_etag(etag: str | None) -> str | None:
    return etag.strip('"') if etag else etag


def head_current(s3: Any, job: Job) -> dict[str, Any] | None:
    """HeadObject of the current object; None when gone; SupersededObject when it is not the job's ETag."""
    try:
        head = s3.head_object(Bucket=job.bucket, Key=job.key)
    except ClientError as exc:
        if client_error_code(exc) in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
            return None
        raise
    if job.etag and strip_etag(head.get("ETag")) != strip_etag(job.etag):
        raise SupersededObject(f"object changed since the event (etag {strip_etag(job.etag)} is now "
                               f"{strip_etag(head.get('ETag'))})")
    return head


def _pin(job: Job, etag: str | None) -> dict[str, Any]:
    kw: dict[str, Any] = {"Bucket": job.bucket, "Key": job.key}
    if job.version_id:
        kw["VersionId"] = job.version_id
    elif etag:
        kw["IfMatch"] = f'"{strip_etag(etag)}"'
    return kw


def open_stream(s3: Any, job: Job, inp: InputKey, etag: str | None, offset: int, size: int | None) -> BinaryIO:
    """A binary stream of the job's object version positioned at ``offset`` (decompressed for gzip)."""
    kw = _pin(job, etag)
    try:
        if not inp.gzip:
            if offset <= 0:
                return s3.get_object(**kw)["Body"]
            if size is not None and offset > size:
                raise ChainBroken(f"checkpoint offset {offset} is past the end of the {size}-byte object")
            if size is not None and offset == size:
                before = s3.get_object(**kw, Range=f"bytes={offset - 1}-{offset - 1}")["Body"].read()
                _check_boundary(before, offset)
                return io.BytesIO(b"")
            body = s3.get_object(**kw, Range=f"bytes={offset - 1}-")["Body"]
            _check_boundary(body.read(1), offset)
            return body
        fp = open_gzip(s3.get_object(**kw)["Body"])
        if offset > 0:
            skip_bytes(fp, offset - 1)
            _check_boundary(fp.read(1), offset)
        return fp
    except ClientError as exc:
        if client_error_code(exc) in ("PreconditionFailed", "412"):
            raise SupersededObject(f"object changed while reading (etag {strip_etag(etag)})") from exc
        raise
    except GZIP_ERRORS as exc:
        raise ChainBroken(f"the stream ended before the checkpoint offset {offset}: {exc}") from exc


def _check_boundary(byte: bytes, offset: int) -> None:
    if byte not in LINE_ENDS:
        raise ChainBroken(f"checkpoint offset {offset} is not at a line boundary (byte before it: {byte!r})")


__all__ = ["head_current", "open_stream", "strip_etag"]
