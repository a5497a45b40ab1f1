"""CDK v2 app for nlpserve: per-task Lambda functions behind an HTTP API, S3 -> SQS -> batch scoring."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` of ``infra/cdk.json`` (feature flags + the ``nlpserve`` config object)."""
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


def build_app(context: Mapping[str, Any] | None = None, outdir: str | Path | None = None):
    """Create the CDK app, its stack and the cdk-nag checks. Returns ``(app, stack)``.

    Under ``cdk synth`` call it without ``context``: the CLI passes ``cdk.json`` and ``-c`` values itself.
    Tests pass ``context``; it is applied over ``cdk.json``'s context so feature flags stay identical.
    """
    import aws_cdk as cdk

    from .config import load_config
    from .nag import acknowledge_findings, add_nag_checks
    from .stack import NlpServiceStack

    kwargs: dict[str, Any] = {}
    if context is not None:
        kwargs["context"] = {**cdk_json_context(), **dict(context)}
    if outdir is not None:
        kwargs["outdir"] = str(outdir)
    app = cdk.App(**kwargs)
    config = load_config(app.node)
    stack = NlpServiceStack(app, config.stack_name, config=config)
    if config.nag:
        add_nag_checks(app)
        acknowledge_findings(stack)
    return app, stack
