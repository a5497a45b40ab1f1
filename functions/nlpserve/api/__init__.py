"""HTTP API: FastAPI app factory, per-task routes, one JSON error shape."""

from nlpserve.api.app import create_app

__all__ = ["create_app"]
