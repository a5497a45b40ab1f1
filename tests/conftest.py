"""Shared fixtures: real model bundles (built once, then a cache hit) and a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO / "build" / "models"
BUNDLES = ("embed", "classify", "sentiment", "ner", "entities")

os.environ.setdefault("NLP_MODELS_DIR", str(MODELS_DIR))
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "nlpserve-tests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "nlpserve-tests")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("NLP_THREADS", "2")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Build the bundles from the shipped packages if needed; a cache hit takes about a second."""
    missing = [b for b in BUNDLES if not (MODELS_DIR / b / "manifest.json").is_file()]
    if missing:
        subprocess.run([sys.executable, "-m", "nlpbuild", "models", "--out", str(MODELS_DIR)], check=True, cwd=REPO)
    return MODELS_DIR
