"""Lambda entry point for POST /v1/translate."""

from nlpserve import catalog
from nlpserve.handlers._api import make_handler

handler = make_handler(catalog.function_pipelines("translate"))
