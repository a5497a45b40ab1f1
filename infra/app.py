#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy` from infra/ (venv active). See docs/DEPLOY.md."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # nlpinfra, even without `pip install -e .`

from nlpinfra import build_app
from nlpinfra.artifacts import ArtifactError
from nlpinfra.config import ConfigError

try:
    app, _stack = build_app()
except (ArtifactError, ConfigError) as exc:
    print(f"nlpserve infra: {exc}", file=sys.stderr)
    sys.exit(1)
app.synth()
