"""The commit protocol for one object version: a ledger, a lease, durable checkpoints, a retry-safe commit.

A *chain* is the run of invocations that scores one *object version*: (key, ETag, scoring options). Its only
shared state is one small S3 object, the **ledger** (``<work>/<options-hash>.ledger.json``), written only with
conditional PUTs: ``If-None-Match: *`` to create it, ``If-Match: <its ETag>`` to change it. That makes every
change a compare-and-swap: of two invocations that race, exactly one wins and the other learns it lost.

Ledger fields: ``chain`` (id; the chain's spill objects live under ``<work>/<chain>/``), ``phase``
(``running`` -> ``committing`` -> ``done``), ``owner`` + ``lease_until`` (epoch s), ``seq`` (durable saves so
far), ``position`` (byte offset, line, CSV header), ``uploads`` (multipart state of results and errors:
upload id, parts with sizes, spilled tail), ``counts``, ``timings``, ``invocations``, and in ``committing``
the final ``summary`` body.

Invariants (the fault-injection matrix in tests/reliability/test_batch_faults.py checks each):

1. **One writer.** At most one invocation holds a live lease on an object version, and only the holder
   uploads parts or changes the ledger. A lease lasts the holder's remaining invocation time plus a margin,
   and the queue's visibility timeout (>= 6x the function timeout) is longer, so a message redelivered after
   a crash always finds the lease expired and takes over.
2. **Position and output move together.** The input position and the output state (parts + tail) are saved
   in one ledger write, so a resume never re-reads a record whose output was kept, nor skips one whose output
   was lost. A resume checks them against S3 first: the upload exists with exactly the recorded parts, the
   tail has its recorded length, and the input offset sits at a line boundary (see ``source.py``).
3. **Messages are hints.** An S3 event or a continuation message is a request to move the object version
   forward from its ledger. One that finds it ``done``, or leased by a live holder, is a no-op; so a
   duplicate event, a re-upload of the same bytes or a twice-delivered checkpoint can only ever be a no-op.
4. **Commit converges.** ``committing`` is written (with the final parts, tails and summary) before any
   output becomes visible; every step after it (complete results, complete or drop errors, put summary,
   mark ``done``) is idempotent, so a crash anywhere is finished by the next message for that object
   version, and the summary exists iff the results are complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

from nlpserve.batch.errors import LeaseLost, client_error_code

LEDGER_SCHEMA = "nlpserve.batch.ledger/1"
LEASE_MARGIN_S = 60.0


class Phase(str, Enum):
    RUNNING = "running"
    COMMITTING = "committing"
    DONE = "done"


class Refusal(str, Enum):
    """Why an invocation did not get the lease (its message is then a no-op)."""

    DONE = "done"  # the object version is already committed (or was superseded / failed)
    BUSY = "busy"  # another invocation holds a live lease
    RACED = "raced"  # another invocation changed the ledger between our read and our write


def options_hash(options: dict[str, Any], params: dict[str, Any]) -> str:
    """12 hex chars identifying the scoring options: same bytes scored with other options is another job."""
    raw = json.dumps({"options": options, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]



def _precondition_failed(exc: ClientError) -> bool:
    # 412 when the ETag/existence condition fails; 409 ConditionalRequestConflict when two conditional
    # writes race on AWS.
    return client_error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")


@dataclass
class Snapshot:
    """A ledger body and the S3 ETag it was read or written with (the If-Match token)."""

    body: dict[str, Any]
    etag: str


class LedgerStore:
    """Reads and compare-and-swaps the ledger object of one object version."""

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key

    def read(self) -> Snapshot | None:
        try:
            resp = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if client_error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return Snapshot(json.loads(resp["Body"].read()), resp["ETag"])

    def create(self, body: dict[str, Any]) -> Snapshot | None:
        """Write the first ledger; None when one already exists."""
        return self._put(body, IfNoneMatch="*")

    def swap(self, snap: Snapshot, body: dict[str, Any]) -> Snapshot | None:
        """Replace the ledger iff it is still ``snap``; None when someone changed it meanwhile."""
        return self._put(body, IfMatch=snap.etag)

    def _put(self, body: dict[str, Any], **condition: str) -> Snapshot | None:
        data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")
        try:
            resp = self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=data,
                                      ContentType="application/json", **condition)
        except ClientError as exc:
            if _precondition_failed(exc) or client_error_code(exc) in ("NoSuchKey", "404"):
                return self._ours_after_all(body)
            raise
        return Snapshot(body, resp["ETag"])

    def _ours_after_all(self, body: dict[str, Any]) -> Snapshot | None:
        """A conditional write that failed may still be ours: when an attempt succeeded on the server but its
        answer was lost (timeout, 5xx, throttle) the SDK retries and the retry fails the condition against our
        own write. The body names its writer (owner token, seq, time), so reading it back tells."""
        current = self.read()
        if current is not None and current.body == json.loads(json.dumps(body)):
            return current
        return None


class Chain:
    """This invocation's lease on one object version. Every change goes through ``save`` (a CAS)."""

    def __init__(self, store: LedgerStore, snap: Snapshot, owner: str, lease_s: Callable[[], float],
                 clock: Callable[[], float]) -> None:
        self.store, self.snap, self.owner, self.lease_s, self.clock = store, snap, owner, lease_s, clock
        self.resumed = False  # True when taken over from an earlier invocation's durable state

    # -- acquiring ---------------------------------------------------------------------------------------
    @classmethod
    def acquire(
        cls,
        store: LedgerStore,
        identity: dict[str, Any],
        *,
        lease_s: Callable[[], float],
        clock: Callable[[], float] = time.time,
    ) -> tuple[Chain | None, Refusal | None]:
        """Take the lease on ``store``'s object version: a new chain, or the durable state of an earlier one.

        ``lease_s()`` gives the lease length from now (the invocation's remaining time plus a margin); it is
        asked again at every save, so a lease never outlives its holder's invocation by more than the margin.
        """
        owner = uuid.uuid4().hex
        now = clock()
        snap = store.read()
        if snap is None:
            body = {"schema": LEDGER_SCHEMA, "chain": uuid.uuid4().hex, "phase": Phase.RUNNING.value, "seq": 0,
                    "owner": owner, "lease_until": now + lease_s(), "created_at": now, "invocations": 1,
                    "position": None, "uploads": None, "counts": None, "timings": None, **identity}
            created = store.create(body)
            return (cls(store, created, owner, lease_s, clock), None) if created else (None, Refusal.RACED)
        if snap.body.get("phase") == Phase.DONE.value:
            return None, Refusal.DONE
        if snap.body.get("owner") and float(snap.body.get("lease_until") or 0) > now:
            return None, Refusal.BUSY
        body = {**snap.body, "owner": owner, "lease_until": now + lease_s(),
                "invocations": int(snap.body.get("invocations") or 0) + 1}
        taken = store.swap(snap, body)
        if taken is None:
            return None, Refusal.RACED
        chain = cls(store, taken, owner, lease_s, clock)
        chain.resumed = True
        return chain, None

    @classmethod
    def reopen(
        cls,
        store: LedgerStore,
        *,
        lease_s: Callable[[], float],
        clock: Callable[[], float] = time.time,
    ) -> tuple[Chain | None, Refusal | None]:
        """Start a ``done`` object version over under a new chain id: its outputs were replaced since (the
        key was overwritten by another version and then reverted to this one, or the summary was deleted)."""
        snap = store.read()
        if snap is None or snap.body.get("phase") != Phase.DONE.value:
            return None, Refusal.RACED
        owner, now = uuid.uuid4().hex, clock()
        body = {**snap.body, "chain": uuid.uuid4().hex, "phase": Phase.RUNNING.value, "owner": owner,
                "lease_until": now + lease_s(), "created_at": now, "invocations": 1, "position": None,
                "uploads": None, "counts": None, "timings": None, "summary": None, "status": None,
                "seq": int(snap.body.get("seq") or 0) + 1}
        taken = store.swap(snap, body)
        return (cls(store, taken, owner, lease_s, clock), None) if taken else (None, Refusal.RACED)

    # -- reading -----------------------------------------------------------------------------------------
    @property
    def body(self) -> dict[str, Any]:
        return self.snap.body

    @property
    def chain_id(self) -> str:
        return str(self.body["chain"])

    @property
    def phase(self) -> Phase:
        return Phase(self.body["phase"])

    @property
    def seq(self) -> int:
        return int(self.body.get("seq") or 0)

    # -- changing ----------------------------------------------------------------------------------------
    def save(self, *, release: bool = False, **changes: Any) -> None:
        """Write ``changes`` (renewing the lease, or releasing it). Raises LeaseLost if someone else wrote."""
        body = {**self.body, **changes, "seq": self.seq + 1, "saved_at": self.clock()}
        if release:
            body.update(owner=None, lease_until=0)
        else:
            body.update(owner=self.owner, lease_until=self.clock() + self.lease_s())
        snap = self.store.swap(self.snap, body)
        if snap is None:
            raise LeaseLost(f"the ledger {self.store.key} changed under this invocation")
        self.snap = snap

    def restart(self) -> None:
        """Forget the durable progress (it disagreed with S3): a new chain id from the start of the file."""
        self.save(chain=uuid.uuid4().hex, phase=Phase.RUNNING.value, position=None, uploads=None, counts=None,
                  timings=None, summary=None, restarts=int(self.body.get("restarts") or 0) + 1)

    def release(self) -> None:
        """Give the lease back after a transient failure, keeping the durable progress (best effort)."""
        with contextlib.suppress(Exception):  # the lease then simply expires
            self.save(release=True)

    def finish(self, status: str) -> None:
        """Mark the object version done (committed, failed or superseded): later messages are no-ops."""
        self.save(release=True, phase=Phase.DONE.value, status=status, uploads=None)


def lease_seconds(remaining_ms: int | None, default_s: float) -> float:
    """How long a lease lasts: this invocation's remaining time plus a margin (or ``default_s``)."""
    if remaining_ms is None:
        return default_s + LEASE_MARGIN_S
    return remaining_ms / 1000.0 + LEASE_MARGIN_S


__all__ = ["Chain", "LedgerStore", "Phase", "Refusal", "Snapshot", "lease_seconds", "options_hash"]
