"""Lambda entry point for POST /v1/sentiment."""

from nlpserve.handlers._api import make_handler

handler = make_handler(["sentiment"])
