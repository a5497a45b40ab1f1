"""Lambda entry point for POST /v1/summarize."""

from nlpserve.handlers._api import make_handler

handler = make_handler(["summarize"])
