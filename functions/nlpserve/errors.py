"""One error hierarchy for every entry point.

Each error carries its HTTP status and a stable `error_type`, so the API, the batch error report and the CLI
describe a failure the same way: `{"error": "...", "error_type": "...", "details": [...]}`.
"""

from __future__ import annotations

from typing import Any


class NlpError(Exception):
    status_code = 500
    error_type = "internal_error"

    def __init__(self, message: str, details: list[Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "error_type": self.error_type}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(NlpError):
    """The request is well-formed JSON but its values are not acceptable."""

    status_code = 422
    error_type = "validation_error"


class EmptyInput(NlpError):
    status_code = 400
    error_type = "empty_input"


class TooManyItems(NlpError):
    status_code = 413
    error_type = "too_many_items"


class TextTooLong(NlpError):
    status_code = 413
    error_type = "text_too_long"


class PayloadTooLarge(NlpError):
    status_code = 413
    error_type = "payload_too_large"


class RequestTooExpensive(NlpError):
    """Within the byte limits, but more model work than one request may do within the function's timeout.

    The message names the limit that was hit (word pieces or sentences per request) and points to the S3
    batch path, which has no per-request work budget.
    """

    status_code = 413
    error_type = "request_too_expensive"


class BadRequest(NlpError):
    """The body could not be read at all (not UTF-8, not JSON, nested too deeply), or a malformed event."""

    status_code = 400
    error_type = "bad_request"


class UnsupportedEvent(NlpError):
    """A Lambda function was invoked with an event that is neither an API Gateway request nor a warm-up ping."""

    status_code = 400
    error_type = "unsupported_event"


class UnsupportedLanguage(NlpError):
    """A text is confidently in a language the task's model was not trained on, and the request asked to reject
    such texts (``reject_other_languages``) instead of scoring them with a flag."""

    status_code = 422
    error_type = "unsupported_language"


class UnsupportedMediaType(NlpError):
    status_code = 415
    error_type = "unsupported_media_type"


class UnknownTask(NlpError):
    status_code = 404
    error_type = "unknown_task"


class NotFound(NlpError):
    status_code = 404
    error_type = "not_found"


class ModelUnavailable(NlpError):
    """The task exists but its model bundle is not deployed with this function."""

    status_code = 503
    error_type = "model_unavailable"


class GenerationTimeout(NlpError):
    """Text generation (translate, abstractive summarize) ran past the request's time budget
    (``NLP_GENERATION_BUDGET_S``), stopped before API Gateway's 30 s limit would cut the connection."""

    status_code = 504
    error_type = "generation_timeout"
