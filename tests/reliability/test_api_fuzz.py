"""Schema fuzzing of the HTTP API: in-process (ASGI) and through the real Lambda handlers.

Schemathesis generates valid and invalid requests for every operation of the app's own OpenAPI document.
Each response must be below 500, have a documented status and content type, match the response schema, and
an error must have the one JSON shape with a (status, error_type) pair listed in the README. Invalid requests
(wrong JSON types included: parameters are strict) must be rejected with a 4xx.

1. `test_app`: the FastAPI app in-process (`schemathesis.openapi.from_asgi`).
2. `test_lambda_http_api_v2` / `test_lambda_rest_v1` / `test_lambda_named_stage`: the same generated cases
   turned into API Gateway events (HTTP API 2.0, REST, HTTP API with a named stage in the path; bodies sent
   base64-encoded every other time) and sent to the per-task handler the stack routes the path to
   (nlpserve.handlers.<function>.handler), with a Lambda context. No exception may escape a handler.

Counts (requests, statuses, 5xx, exceptions) are printed at the end of the run; `NLP_FUZZ_REPORT=<file>`
also writes them as JSON. Generation is derandomized: the same cases every run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from api_contract import STATS, error_shape_problem, lambda_session, stats
from hypothesis import HealthCheck, settings
from nlpserve.api import create_app
from nlpserve.tasks import TASKS
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

# Examples per operation (9 operations; GET routes without parameters generate only a few).
APP_EXAMPLES = 100
LAMBDA_EXAMPLES = 60

FUZZ = settings(
    max_examples=APP_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def error_shape(ctx, response, case):
    if response.status_code >= 400:
        problem = error_shape_problem(response.status_code, response.content)
        assert problem is None, problem


class CountingApp:
    """ASGI wrapper counting requests, statuses and exceptions of the app under test."""

    def __init__(self, app, counter):
        self.app = app
        self.counter = counter

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") == "/openapi.json":
            return await self.app(scope, receive, send)
        status = {}
        body = bytearray()

        async def spy(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, spy)
        except Exception as exc:
            self.counter.exceptions.append(f"{type(exc).__name__}: {exc}"[:300])
            raise
        self.counter.record(status.get("code", 500), bytes(body))


# Built at import (schemathesis parametrizes at collection), without loading models: they load on first use,
# after the autouse fixture below made sure the bundles exist.
APP = create_app(list(TASKS), warm=False)
app_cases = schemathesis.openapi.from_asgi("/openapi.json", CountingApp(APP, stats("asgi app")))
# The same document for a plain HTTP transport: requests go to a LambdaAdapter session, not to the app.
lambda_cases = schemathesis.openapi.from_dict(APP.openapi())


@pytest.fixture(scope="module", autouse=True)
def _bundles(models_dir, seq2seq_models):
    """Every task served with its model, the seq2seq ones too (the tiny bundles the user would bring): without
    them translate and abstractive summaries answer 503 model_unavailable by design."""
    import dataclasses

    from nlpserve import config

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "settings", dataclasses.replace(config.settings, models_dir=Path(models_dir),
                                                           extra_models_dirs=(seq2seq_models["models"],)))
        yield models_dir


@app_cases.parametrize()
@FUZZ
def test_app(case):
    case.call_and_validate(checks=CHECKS, additional_checks=[error_shape])


SESSIONS = {
    "lambda v2 ($default)": lambda_session("v2", stats("lambda HTTP API v2 ($default)")),
    "lambda v1 (REST, stage prod)": lambda_session("v1", stats("lambda REST v1 (stage prod)")),
    "lambda v2 (stage prod in path)": lambda_session("v2", stats("lambda HTTP API v2 (stage prod in path)"),
                                                     stage="prod"),
}


def _call_lambda(case, session_name):
    case.call_and_validate(
        base_url="https://abc123.execute-api.eu-west-1.amazonaws.com",
        session=SESSIONS[session_name],
        checks=CHECKS,
        additional_checks=[error_shape],
    )


@lambda_cases.parametrize()
@settings(FUZZ, max_examples=LAMBDA_EXAMPLES)
def test_lambda_http_api_v2(case):
    _call_lambda(case, "lambda v2 ($default)")


@lambda_cases.parametrize()
@settings(FUZZ, max_examples=LAMBDA_EXAMPLES // 2)
def test_lambda_rest_v1(case):
    _call_lambda(case, "lambda v1 (REST, stage prod)")


@lambda_cases.parametrize()
@settings(FUZZ, max_examples=LAMBDA_EXAMPLES // 4)
def test_lambda_named_stage(case):
    _call_lambda(case, "lambda v2 (stage prod in path)")


def test_no_5xx_no_exception_no_shape_problem_in_any_run_so_far():
    """Runs last (file and test order): the totals the summary prints, asserted once more in one place."""
    ran = {name: s for name, s in STATS.items() if s.requests}
    if not ran:
        pytest.skip("no fuzz test ran (deselected)")
    for s in ran.values():
        print(s.line())
        assert s.server_errors == 0, s.line()
        assert not s.exceptions, s.exceptions[:3]
        assert not s.shape_problems, s.shape_problems[:3]
