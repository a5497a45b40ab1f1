"""Write-once outputs: a streamed S3 multipart upload that is invisible until completed.

``MultipartWriter`` buffers bytes, uploads a part whenever ``part_size`` is reached, and only makes the object
exist on ``complete()``; ``abort()`` discards everything. Small outputs (under one part) skip multipart and
use one ``PutObject`` at completion.

Its state (UploadId, the parts so far with their sizes, and the not-yet-uploaded tail, spilled to a
``_work/`` object) survives an invocation boundary, so one upload can continue across Lambda invocations
(see ``chain.py``). ``resume`` checks that state against S3 before it is trusted: the upload must still
exist, its parts must be exactly the recorded ones (a crashed holder may have uploaded more: those are
overwritten, never completed), and the spilled tail must have the recorded length.

``complete()`` is retry-safe: when the upload was already completed by an earlier attempt (``NoSuchUpload``),
the object is recognised by the ``chain`` metadata every output carries and its recorded length.

``LocalWriter`` writes the same bytes to a local file via a temporary name + rename (CLI ``score``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from nlpserve.batch.config import MIN_PART_SIZE
from nlpserve.batch.errors import ChainBroken, client_error_code


class Sink(Protocol):
    bytes_written: int

    def write(self, data: bytes) -> None: ...



class MultipartWriter:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        part_size: int = 8 * 1024 * 1024,
        content_type: str = "application/x-ndjson",
        metadata: dict[str, str] | None = None,
        allow_small_parts: bool = False,
    ) -> None:
        if part_size < MIN_PART_SIZE and not allow_small_parts:
            raise ValueError(f"part_size must be >= {MIN_PART_SIZE} (S3 minimum); got {part_size}")
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.part_size = part_size
        self.content_type = content_type
        self.metadata = metadata or {}
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []  # [{"PartNumber", "ETag"}] as CompleteMultipartUpload wants
        self.part_bytes: list[int] = []
        self.buffer = bytearray()
        self.bytes_written = 0

    # -- streaming -------------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self.buffer += data
        self.bytes_written += len(data)
        if len(self.buffer) >= self.part_size:
            self._upload_part(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]

    def _start(self) -> None:
        resp = self.s3.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, ContentType=self.content_type, Metadata=self.metadata
        )
        self.upload_id = resp["UploadId"]

    def _upload_part(self, body: bytes) -> None:
        if self.upload_id is None:
            self._start()
        number = len(self.parts) + 1
        try:
            resp = self.s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
            )
        except ClientError as exc:
            if client_error_code(exc) == "NoSuchUpload":
                raise ChainBroken(f"multipart upload of {self.key} no longer exists") from exc
            raise
        self.parts.append({"PartNumber": number, "ETag": resp["ETag"]})
        self.part_bytes.append(len(body))

    # -- commit / discard ------------------------------------------------------------------------------
    def complete(self) -> dict[str, Any]:
        """Make the object exist with everything written so far. Returns {key, bytes, etag, parts}.

        Safe to call again after a crash anywhere inside it (from the same suspended state).
        """
        done = self._completed_object()
        if done is not None:  # an earlier attempt of this commit already made it exist
            self.buffer.clear()
            return {"key": self.key, "bytes": self.bytes_written, "etag": done.get("ETag"),
                    "parts": len(self.parts) or 1}
        if self.upload_id is None:
            resp = self.s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer),
                ContentType=self.content_type, Metadata=self.metadata,
            )
        else:
            try:
                if self.buffer:
                    self._upload_part(bytes(self.buffer))
                    self.buffer.clear()
                resp = self.s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts},
                )
            except (ClientError, ChainBroken) as exc:
                if isinstance(exc, ClientError) and client_error_code(exc) != "NoSuchUpload":
                    raise
                resp = self._already_completed(exc)
        self.buffer.clear()
        return {"key": self.key, "bytes": self.bytes_written, "etag": resp.get("ETag"), "parts": len(self.parts) or 1}

    def _completed_object(self) -> dict[str, Any] | None:
        """HeadObject of ``key`` when it is this writer's completed output (same chain, same length)."""
        chain = self.metadata.get("chain")
        if not chain:
            return None
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError:
            return None
        meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        return head if meta.get("chain") == chain and head.get("ContentLength") == self.bytes_written else None

    def _already_completed(self, exc: Exception) -> dict[str, Any]:
        """The upload is gone: an earlier attempt completed it iff the object carries our chain and length."""
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError:
            raise ChainBroken(f"multipart upload of {self.key} is gone and the object does not exist") from exc
        meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        if meta.get("chain") != self.metadata.get("chain") or head.get("ContentLength") != self.bytes_written:
            raise ChainBroken(f"multipart upload of {self.key} is gone and the object there is not ours") from exc
        return {"ETag": head.get("ETag")}

    def abort(self) -> None:
        if self.upload_id is not None:
            try:
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            except Exception:  # noqa: BLE001 - best effort; a lifecycle rule cleans up leftovers
                pass
        self.upload_id = None
        self.parts = []
        self.part_bytes = []
        self.buffer.clear()

    # -- continuation ----------------------------------------------------------------------------------
    def suspend(self, spill_key: str) -> dict[str, Any]:
        """Persist the tail buffer to ``spill_key`` and return the state to carry in the ledger."""
        spill = None
        if self.buffer:
            self.s3.put_object(Bucket=self.bucket, Key=spill_key, Body=bytes(self.buffer))
            spill = spill_key
        return {
            "key": self.key, "upload_id": self.upload_id, "parts": list(self.parts),
            "part_bytes": list(self.part_bytes), "spill_key": spill, "tail_bytes": len(self.buffer),
            "bytes_written": self.bytes_written,
        }

    @classmethod
    def resume(cls, s3: Any, bucket: str, state: dict[str, Any], *, check_parts: bool = True,
               **kwargs: Any) -> MultipartWriter:
        """A writer continuing from ``state``; raises ChainBroken when S3 disagrees with it.

        ``check_parts=False`` when finishing a commit: the upload may already have been completed.
        """
        writer = cls(s3, bucket, state["key"], **kwargs)
        writer.upload_id = state.get("upload_id")
        writer.parts = list(state.get("parts") or [])
        writer.part_bytes = list(state.get("part_bytes") or [])
        writer.bytes_written = int(state.get("bytes_written") or 0)
        if state.get("spill_key"):
            try:
                body = s3.get_object(Bucket=bucket, Key=state["spill_key"])["Body"].read()
            except ClientError as exc:
                raise ChainBroken(f"spilled tail {state['spill_key']} is missing") from exc
            writer.buffer = bytearray(body)
        if len(writer.buffer) != int(state.get("tail_bytes") or 0):
            raise ChainBroken(f"spilled tail of {writer.key} has {len(writer.buffer)} bytes, the ledger says "
                              f"{state.get('tail_bytes')}")
        if sum(writer.part_bytes) + len(writer.buffer) != writer.bytes_written:
            raise ChainBroken(f"{writer.key}: parts + tail do not add up to the {writer.bytes_written} bytes written")
        if check_parts and writer.upload_id is not None:
            writer._check_parts()
        return writer

    def _check_parts(self) -> None:
        """The upload exists and holds at least the recorded parts with the recorded ETags and sizes."""
        try:
            listed = self.s3.list_parts(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                        MaxParts=max(1, len(self.parts)))
        except ClientError as exc:
            if client_error_code(exc) == "NoSuchUpload":
                raise ChainBroken(f"multipart upload of {self.key} no longer exists") from exc
            raise
        have = {p["PartNumber"]: (p["ETag"], p["Size"]) for p in listed.get("Parts", [])}
        for part, size in zip(self.parts, self.part_bytes):
            if have.get(part["PartNumber"]) != (part["ETag"], size):
                raise ChainBroken(f"part {part['PartNumber']} of {self.key} differs from the ledger")


class LocalWriter:
    """Local file with the same commit semantics: ``<path>.partial`` renamed on ``complete()``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._fh = open(self._tmp, "wb")  # noqa: SIM115
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        self._fh.write(data)
        self.bytes_written += len(data)

    def complete(self) -> dict[str, Any]:
        self._fh.close()
        os.replace(self._tmp, self.path)
        return {"key": str(self.path), "bytes": self.bytes_written}

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


class NullWriter:
    """Counts bytes, keeps nothing (benchmarks of the raw pipeline)."""

    def __init__(self) -> None:
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        self.bytes_written += len(data)

    def complete(self) -> dict[str, Any]:
        return {"key": None, "bytes": self.bytes_written}

    def abort(self) -> None:
        pass
