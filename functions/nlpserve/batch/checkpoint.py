"""Continuation messages: how a file too big for one invocation carries on in the next one.

When the time budget runs low, the processor stops after a scored batch, spills the not-yet-uploaded tail
of each multipart upload to ``_work/``, and sends this JSON body to the same queue::

    {"nlpserve_checkpoint": {
        "v": 1, "seq": 3, "bucket": "...", "key": "incoming/sentiment/big.jsonl", "etag": "...",
        "version_id": null, "offset": 73400320, "line": 612345, "header": null,
        "results": {"key": "...", "upload_id": "...", "parts": [{"PartNumber": 1, "ETag": "..."}],
                    "spill_key": "_work/...", "bytes_written": 1234},
        "errors": {...}, "counts": {...}, "timings": {...}, "options": {...}, "params": {...},
        "started_at": 1718000000.0, "invocations": 3, "deferrals": 0}}

``offset`` is a byte offset into the object (or into the decompressed stream for gzip), ``line`` the physical
line count, both at a record boundary. A body larger than ``INLINE_LIMIT`` is stored as a ``_work/`` object
and the message carries ``{"state_key": ...}`` instead.
"""

from __future__ import annotations

import json
from typing import Any

CHECKPOINT_KEY = "nlpserve_checkpoint"
VERSION = 1
INLINE_LIMIT = 200_000  # SQS allows 256 KiB per message


def encode(state: dict[str, Any]) -> str:
    return json.dumps({CHECKPOINT_KEY: {"v": VERSION, **state}}, separators=(",", ":"))


def is_checkpoint(body: Any) -> bool:
    return isinstance(body, dict) and CHECKPOINT_KEY in body


def send(sqs: Any, queue_url: str, s3: Any, bucket: str, state: dict[str, Any], state_key: str) -> str:
    """Send the continuation message (state inline, or in S3 when too large). Returns the message id."""
    body = encode(state)
    if len(body.encode("utf-8")) > INLINE_LIMIT:
        s3.put_object(Bucket=bucket, Key=state_key, Body=body.encode("utf-8"), ContentType="application/json")
        body = json.dumps({CHECKPOINT_KEY: {"v": VERSION, "bucket": bucket, "state_key": state_key,
                                            "key": state.get("key"), "seq": state.get("seq")}})
    return sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]


def load(s3: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """The full checkpoint state from a message payload (fetching it from S3 when it was spilled)."""
    state = payload[CHECKPOINT_KEY]
    if state.get("state_key"):
        raw = s3.get_object(Bucket=state["bucket"], Key=state["state_key"])["Body"].read()
        state = json.loads(raw)[CHECKPOINT_KEY]
    if state.get("v") != VERSION:
        raise ValueError(f"unsupported checkpoint version {state.get('v')!r}")
    return state
