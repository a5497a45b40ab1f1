"""Lambda entry point for POST /v1/language (the model ships in the runtime layer: no model layer)."""

from nlpserve import catalog
from nlpserve.handlers._api import make_handler

handler = make_handler(catalog.function_pipelines("language"))
