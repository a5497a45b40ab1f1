"""S3 batch scoring: readers (JSONL/CSV/text/gzip/documents), write-once multipart writers, continuation
checkpoints and the SQS batch handler. See docs/BATCH.md."""

from nlpserve.batch.config import BatchSettings

__all__ = ["BatchSettings"]
