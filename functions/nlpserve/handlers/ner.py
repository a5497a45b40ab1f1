"""Lambda entry point for POST /v1/ner and POST /v1/redact (one model layer: ner)."""

from nlpserve import catalog
from nlpserve.handlers._api import make_handler

handler = make_handler(catalog.function_pipelines("ner"))
