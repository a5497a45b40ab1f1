"""Continuation messages: how a file too big for one invocation carries on in the next one.

When the time budget runs low, the processor saves the chain's ledger (see ``chain.py``: input position and
output state, lease released) and sends this small JSON body to the same queue::

    {"nlpserve_checkpoint": {"v": 2, "bucket": "...", "key": "incoming/sentiment/big.jsonl", "etag": "...",
                             "version_id": null, "chain": "4f0c...", "seq": 3}}

The message is only a hint that names the object version: the state lives in the ledger, so a copy of the
message delivered twice, late, or after another message already moved the chain on is a no-op. A message
without ``chain`` asks for the object version to be started or continued (a deferral: the invocation had no
time left for it). Version 1 messages (state inline) from an older deployment are read as such hints.
"""

from __future__ import annotations

import json
from typing import Any

CHECKPOINT_KEY = "nlpserve_checkpoint"
VERSION = 2


def encode(hint: dict[str, Any]) -> str:
    return json.dumps({CHECKPOINT_KEY: {"v": VERSION, **hint}}, separators=(",", ":"))


def is_checkpoint(body: Any) -> bool:
    return isinstance(body, dict) and CHECKPOINT_KEY in body


def send(sqs: Any, queue_url: str, hint: dict[str, Any]) -> str:
    """Send the continuation message. Returns the message id."""
    return sqs.send_message(QueueUrl=queue_url, MessageBody=encode(hint))["MessageId"]


__all__ = ["CHECKPOINT_KEY", "VERSION", "encode", "is_checkpoint", "send"]
