"""Turn one SQS message body into the work it asks for.

Accepted bodies: S3 event notifications (``{"Records": [...]}``, ObjectCreated only), the S3 test event
(``s3:TestEvent``, ignored), an SNS envelope around either, an EventBridge "Object Created" event, and our
own continuation messages (``{"nlpserve_checkpoint": {...}}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nlpserve.batch import checkpoint
from nlpserve.batch.keys import decode_event_key


@dataclass(frozen=True)
class Job:
    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    size: int | None = None
    checkpoint: dict[str, Any] | None = None  # the raw checkpoint payload, when continuing


def jobs_from_body(body: str | dict[str, Any]) -> list[Job]:
    """Jobs in a message body; ``[]`` for messages to ignore (test events, non-create events).

    Raises ValueError for a body that is not one of the accepted shapes (the message then fails and ends up
    in the DLQ, where it can be inspected).
    """
    data = json.loads(body) if isinstance(body, str) else body
    if not isinstance(data, dict):
        raise ValueError("message body is not a JSON object")
    if checkpoint.is_checkpoint(data):
        state = data[checkpoint.CHECKPOINT_KEY]
        return [Job(bucket=state["bucket"], key=state.get("key") or "", etag=state.get("etag"),
                    version_id=state.get("version_id"), checkpoint=data)]
    if data.get("Event") == "s3:TestEvent":
        return []
    if data.get("Type") == "Notification" and "Message" in data:  # SNS fan-out in front of the queue
        return jobs_from_body(data["Message"])
    if data.get("source") == "aws.s3" and "detail" in data:  # EventBridge
        if data.get("detail-type") != "Object Created":
            return []
        d = data["detail"]
        obj = d.get("object", {})
        return [Job(bucket=d["bucket"]["name"], key=obj["key"], etag=obj.get("etag"),
                    version_id=obj.get("version-id"), size=obj.get("size"))]
    if "Records" in data:
        jobs = []
        for rec in data["Records"]:
            if rec.get("eventSource") != "aws:s3" or not str(rec.get("eventName", "")).startswith("ObjectCreated"):
                continue
            obj = rec["s3"]["object"]
            jobs.append(Job(
                bucket=rec["s3"]["bucket"]["name"],
                key=decode_event_key(obj["key"]),
                etag=(obj.get("eTag") or obj.get("etag") or None),
                version_id=obj.get("versionId") or None,
                size=obj.get("size"),
            ))
        return jobs
    raise ValueError(f"unrecognised message body (keys: {sorted(data)[:10]})")
