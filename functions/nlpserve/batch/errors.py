"""Batch error types.

Record-level problems never fail a file: they become lines of the errors object (see ``Reason``).
File-level problems are either *permanent* (retrying cannot help: reported in the summary and the errors
object, the SQS message succeeds) or *transient* (any other exception: the SQS message fails, is retried and
goes to the DLQ after ``maxReceiveCount`` receives).
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class Reason(str, Enum):
    """Why a record (or a whole file) was not scored. Values are the ``reason`` field of the errors object."""

    UNDECODABLE = "undecodable_bytes"  # not UTF-8
    BINARY = "binary_content"  # NUL bytes
    BINARY_FILE = "binary_file"  # the file starts with undecodable/binary records only; scoring stopped
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_TEXT = "missing_text_field"
    TEXT_NOT_STRING = "text_not_string"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    LINE_TOO_LONG = "line_too_long"
    MALFORMED_CSV = "malformed_csv"
    INVALID_UNICODE = "invalid_unicode"  # a lone surrogate escape (cut emoji) in the text, id or a carried field
    TRUNCATED_RECORD = "truncated_record"  # the last line, cut off where a truncated/corrupt gzip stream ends
    UNSERIALIZABLE_RESULT = "unserializable_result"  # the result line cannot be written as JSON
    SCORING_FAILED = "scoring_failed"
    EMPTY_FILE = "empty_file"
    DOCUMENT_TOO_LARGE = "document_too_large"
    # file-level, permanent
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNKNOWN_TASK = "unknown_task"
    MISSING_TEXT_COLUMN = "missing_text_column"
    BAD_GZIP = "bad_gzip"
    OUTPUT_COLLISION = "output_collision"  # another input's results already live at this file's results key  # corrupt compressed data (also mid-stream: what came before it is still read)
    TRUNCATED_INPUT = "truncated_input"  # the gzip stream ends before its end marker (cut-off upload)


class BatchError(Exception):
    """Base class of the batch package's errors."""


class PermanentFileError(BatchError):
    """The whole file cannot be scored and retrying will not change that."""

    def __init__(self, reason: str | Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason.value if isinstance(reason, Reason) else reason
        self.message = message


class SystemicScoringError(BatchError):
    """Every record of a batch failed on its own: the model (not the data) is broken. Retry the message."""


class SupersededObject(BatchError):
    """The object changed (new ETag) since the event was emitted; the newer event will score it."""


class ChainBroken(BatchError):
    """The durable state of a chain disagrees with S3 (upload gone, parts or tail differ): start it over."""


class LeaseLost(BatchError):
    """Another invocation took over this object version's chain: stop writing at once."""


def client_error_code(exc: Any) -> str:
    """The AWS error code of a botocore ``ClientError`` (``"NoSuchKey"``, ``"412"``...); "" when it has none."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
