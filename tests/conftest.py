"""Shared fixtures: real model bundles (built once, then a cache hit) and a clean environment."""

from __future__ import annotations

import json
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


@pytest.fixture(scope="session")
def seq2seq_models(tmp_path_factory) -> dict[str, Path]:
    """Issue 11: the tiny trained Marian (en -> de) and T5 (headlines) of ``nlpbuild.tiny_seq2seq`` and the int8
    bundles ``python -m nlpbuild seq2seq`` writes from them (``translate-en-de``, ``summarize-abstractive``) into
    ``models``; about 15 s. Skips without the build extra (torch, transformers, sentencepiece)."""
    for module in ("torch", "transformers", "sentencepiece"):
        pytest.importorskip(module)
    from nlpbuild import tiny_seq2seq

    root = tmp_path_factory.mktemp("seq2seq")
    marian = tiny_seq2seq.marian_checkpoint(root / "opus-mt-tiny-en-de")
    t5 = tiny_seq2seq.t5_checkpoint(root / "t5-tiny")
    models = root / "models"
    samples = [a for text, _ in tiny_seq2seq.SUMMARIES for a in ("--sample", text)]
    reports = []
    for args in ([str(marian), "--task", "translate", "--source-language", "en", "--target-language", "de"],
                 [str(t5), "--task", "summarize", *samples]):
        run = subprocess.run([sys.executable, "-m", "nlpbuild", "seq2seq", *args, "--out", str(models),
                              "--layers-dir", str(root / "layers")],
                             check=False, capture_output=True, text=True, cwd=REPO, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        reports.append(json.loads(run.stdout))
    return {"root": root, "marian": marian, "t5": t5, "models": models, "layers": root / "layers",
            "reports": reports}
