"""Lambda entry point for the S3 -> SQS batch scoring function (ReportBatchItemFailures)."""

import os

from nlpserve.batch.handler import lambda_handler

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # load the models at init, not on the first message
    from nlpserve.batch.handler import get_default_handler
    from nlpserve.tasks import get_task

    for _name in get_default_handler().settings.tasks:
        get_task(_name).warm()

handler = lambda_handler
