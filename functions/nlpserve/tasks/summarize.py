"""Extractive summaries: the most central sentences, chosen with redundancy control, in document order.

Centrality is TextRank over MiniLM sentence-embedding cosine similarities; selection is maximal marginal
relevance, so two sentences saying the same thing are not both picked.
"""

from __future__ import annotations

import math
import re

import numpy as np
from pydantic import BaseModel, Field, model_validator

from nlpserve.tasks.base import Task, TaskParams, TaskResult
from nlpserve.tasks.embed import EmbedTask

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co", "corp",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "no", "fig", "u.s",
    "u.k", "approx", "dept", "est", "gen", "gov", "sen", "rep", "mt",
}
_BOUNDARY = re.compile(r"[.!?…]+[\"')\]]*\s+|\n\s*\n|\n(?=\s*[-*•\d])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans [start, end) over `text`, whitespace trimmed; conservative around abbreviations."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        head = text[start:match.start() + 1].rstrip()
        last_word = re.findall(r"([A-Za-z.]+)\.?$", head)
        nxt = text[end:end + 1]
        if "\n" not in match.group() and last_word and last_word[0].rstrip(".").lower() in _ABBREVIATIONS:
            continue
        if "\n" not in match.group() and nxt and nxt.islower():
            continue  # "e.g. this" or a decimal-like break: not a sentence start
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


class SummarizeParams(TaskParams):
    sentences: int | None = Field(None, ge=1, le=100, description="Number of sentences to keep (default 3).")
    ratio: float | None = Field(None, gt=0.0, le=1.0, description="Or: fraction of the document's sentences.")
    redundancy_penalty: float = Field(
        0.3, ge=0.0, le=1.0, description="0 = pure centrality; higher avoids near-duplicate sentences."
    )

    @model_validator(mode="after")
    def _one_length(self) -> "SummarizeParams":
        if self.sentences is not None and self.ratio is not None:
            raise ValueError("give either sentences or ratio, not both")
        return self

    def count(self, total: int) -> int:
        if self.ratio is not None:
            return max(1, min(total, math.ceil(self.ratio * total)))
        return min(total, self.sentences or 3)


class SummarySentence(BaseModel):
    index: int = Field(description="Position of the sentence in the document (0-based).")
    text: str
    start: int
    end: int
    score: float = Field(description="Centrality (TextRank) score.")


class SummarizeResult(TaskResult):
    summary: str
    sentences: list[SummarySentence]
    total_sentences: int


class SummarizeTask(Task[SummarizeParams, SummarizeResult]):
    name = "summarize"
    bundle_name = "embed"
    description = "Extractive summary: the most central, non-redundant sentences in document order."
    document_level = True
    Params = SummarizeParams
    Result = SummarizeResult

    def _run(self, texts: list[str], params: SummarizeParams) -> list[SummarizeResult]:
        embedder = EmbedTask(self.bundle)
        return [self._summarize(text, params, embedder) for text in texts]

    def _summarize(self, text: str, params: SummarizeParams, embedder: EmbedTask) -> SummarizeResult:
        spans = split_sentences(text)
        sentences = [text[s:e] for s, e in spans]
        vectors, truncated = embedder.vectors(sentences)
        scores = textrank(vectors)
        chosen = mmr(vectors, scores, params.count(len(spans)), params.redundancy_penalty)
        picked = [
            SummarySentence(index=i, text=sentences[i], start=spans[i][0], end=spans[i][1], score=round(float(scores[i]), 6))
            for i in sorted(chosen)
        ]
        return SummarizeResult(
            summary=" ".join(p.text for p in picked),
            sentences=picked,
            total_sentences=len(spans),
            truncated=any(truncated),
        )


def textrank(vectors: np.ndarray, damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    n = len(vectors)
    if n == 1:
        return np.ones(1)
    sim = np.clip(vectors @ vectors.T, 0.0, None)
    np.fill_diagonal(sim, 0.0)
    row_sums = sim.sum(axis=1, keepdims=True)
    transition = np.divide(sim, row_sums, out=np.full_like(sim, 1.0 / (n - 1)), where=row_sums > 0)
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * transition.T @ rank
        if np.abs(updated - rank).sum() < 1e-8:
            rank = updated
            break
        rank = updated
    return rank / rank.max()


def mmr(vectors: np.ndarray, scores: np.ndarray, k: int, penalty: float) -> list[int]:
    """Greedy maximal marginal relevance: centrality minus similarity to what is already chosen."""
    chosen: list[int] = []
    candidates = list(range(len(scores)))
    while candidates and len(chosen) < k:
        if chosen:
            redundancy = (vectors[candidates] @ vectors[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(len(candidates))
        value = (1 - penalty) * scores[candidates] - penalty * redundancy
        best = candidates[int(np.argmax(value))]
        chosen.append(best)
        candidates.remove(best)
    return chosen
