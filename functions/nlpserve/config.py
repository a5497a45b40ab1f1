"""Settings read from the environment, once per process.

Every limit a caller can hit is here, so the README, the API errors and the CDK app agree on one source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a misconfigured function should fail at import, loudly
        raise RuntimeError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def _default_models_dir() -> Path:
    """/opt/models inside Lambda (model layers), else the repo's local build output."""
    env = os.environ.get("NLP_MODELS_DIR")
    if env:
        return Path(env)
    if Path("/opt/models").is_dir():
        return Path("/opt/models")
    return Path(__file__).resolve().parents[2] / "build" / "models"


def _default_threads() -> int:
    """Intra-op threads outside the stack: the CPUs this process sees (at most 6). The CDK stack sets
    NLP_THREADS from each function's memory size instead: inside Lambda os.cpu_count() shows 2 CPUs even
    when the memory size pays for one (infra/nlpinfra/config.py FunctionSettings.threads)."""
    return max(1, min(os.cpu_count() or 1, 6))


def _extra_models_dirs() -> tuple[Path, ...]:
    """More directories of bundles, searched after ``models_dir`` (``NLP_EXTRA_MODELS_DIRS``, os.pathsep-
    separated): the stack ships custom classifiers in the function's own code at /var/task/models, since a
    function may carry at most 5 layers."""
    return tuple(Path(p) for p in os.environ.get("NLP_EXTRA_MODELS_DIRS", "").split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class Settings:
    models_dir: Path = field(default_factory=_default_models_dir)
    extra_models_dirs: tuple[Path, ...] = field(default_factory=_extra_models_dirs)
    # Tasks this process serves; empty means every task whose bundle is present.
    tasks: tuple[str, ...] = field(
        default_factory=lambda: tuple(t for t in os.environ.get("NLP_TASKS", "").replace(" ", "").split(",") if t)
    )
    max_items: int = field(default_factory=lambda: _int("NLP_MAX_ITEMS", 64))
    max_text_bytes: int = field(default_factory=lambda: _int("NLP_MAX_TEXT_BYTES", 20_000))
    max_document_bytes: int = field(default_factory=lambda: _int("NLP_MAX_DOCUMENT_BYTES", 200_000))
    max_body_bytes: int = field(default_factory=lambda: _int("NLP_MAX_BODY_BYTES", 1_000_000))
    # Work per request (word pieces the model runs, sentences ranked), so that every request within the
    # limits finishes inside the API function's timeout and memory at its deployed size (README "Limits";
    # measured by benchmarks/limits.py). 0 disables a budget (e.g. for a larger batch function).
    max_request_pieces: int = field(default_factory=lambda: _int("NLP_MAX_REQUEST_PIECES", 30_720))
    max_ner_pieces: int = field(default_factory=lambda: _int("NLP_MAX_NER_PIECES", 10_240))
    max_summary_pieces: int = field(default_factory=lambda: _int("NLP_MAX_SUMMARY_PIECES", 24_576))
    max_summary_sentences: int = field(default_factory=lambda: _int("NLP_MAX_SUMMARY_SENTENCES", 5_000))
    # Seconds of text generation (translate, abstractive summarize) one request may spend before it stops with 504
    # generation_timeout: below API Gateway's 30 s integration limit, with room for the rest of the request. Not
    # applied in batch. And the most decoder rows x steps a request may ask for (inputs x max_new_tokens x beams).
    generation_budget_s: float = field(default_factory=lambda: float(os.environ.get("NLP_GENERATION_BUDGET_S", "25")))
    max_generation_tokens: int = field(default_factory=lambda: _int("NLP_MAX_GENERATION_TOKENS", 65_536))
    batch_size: int = field(default_factory=lambda: _int("NLP_INFERENCE_BATCH_SIZE", 32))
    threads: int = field(default_factory=lambda: _int("NLP_THREADS", _default_threads()))
    # onnxruntime's worker threads spin between graph nodes instead of sleeping. Lambda bills wall time and
    # gives the function its vCPUs alone, so spinning costs nothing there; measured 2026-11-30 (embed, 2
    # threads): one short text 5.6 -> 3.7 ms p50, 64-text requests +11 %. 0 turns it off (shared hosts).
    spin_threads: bool = field(default_factory=lambda: _int("NLP_SPIN_THREADS", 1) != 0)


settings = Settings()


def reload_settings() -> Settings:
    """Re-read the environment (tests and the CLI change it after import)."""
    global settings
    settings = Settings()
    return settings
