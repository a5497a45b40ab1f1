"""Lambda entry point for GET /health, /v1/models, /docs and /openapi.json.

It documents every task but loads no model: the catalog of model cards comes from NLP_MODEL_CATALOG.
"""

import os

from nlpserve.handlers._api import make_handler
from nlpserve.tasks import TASKS

_tasks = [t for t in os.environ.get("NLP_TASKS", ",".join(TASKS)).split(",") if t]
handler = make_handler(_tasks, warm=False)
