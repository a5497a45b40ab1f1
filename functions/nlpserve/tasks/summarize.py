"""Extractive summaries: the most central sentences, chosen with redundancy control, in document order.

Sentences come from `tasks/sentences.py` (nupunkt's Punkt segmenter): exact character offsets into the
original text, never a 1-2 character fragment.

Centrality is TextRank over MiniLM sentence-embedding cosine similarities; selection is maximal marginal
relevance, so two sentences saying the same thing are not both picked.

Work is bounded so a request within the limits fits the function's timeout and memory: a request's sentences
and word pieces are counted against its budget (tasks/budget.py) before the model runs, and TextRank runs
on at most BLOCK sentences at a time: a longer document is ranked block by block, and the best KEEP
sentences of each block are ranked again together, so memory is O(BLOCK^2) and time O(n * BLOCK), not O(n^2).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from nlpserve import config
from nlpserve.tasks import budget, generation
from nlpserve.tasks.base import DocumentOutput, LanguageGuardParams, Task, TaskResult
from nlpserve.tasks.sentences import split_sentences

ABSTRACTIVE_BUILD_EXAMPLE = "python -m nlpbuild seq2seq ./t5-small --task summarize"
#: The abstractive bundle the current request used (the response names it as the model).
_abstractive_bundle: contextvars.ContextVar[str | None] = contextvars.ContextVar("abstractive_bundle", default=None)

#: Most sentences one dense TextRank ranks (a 2,048 x 2,048 float64 similarity matrix is 32 MB).
BLOCK = 2048
#: Sentences of each block that go on to the next ranking round; also the most a summary returns.
KEEP = BLOCK // 4
MAX_PICKED = KEEP


class SummarizeParams(generation.GenerationParams, LanguageGuardParams):
    """``num_beams`` and ``max_new_tokens`` (``GenerationParams``) apply to ``mode=abstractive`` only."""

    mode: Literal["extractive", "abstractive"] = Field(
        "extractive", description="extractive: the most central sentences, quoted (default); abstractive: new "
        "text written by a seq2seq model you bring (503 model_unavailable until one is deployed).")
    sentences: int | None = Field(None, ge=1, le=100, description="Number of sentences to keep (default 3).")
    ratio: float | None = Field(
        None, gt=0.0, le=1.0, description=f"Or: fraction of the document's sentences (at most {MAX_PICKED})."
    )
    redundancy_penalty: float = Field(
        0.3, ge=0.0, le=1.0, description="0 = pure centrality; higher avoids near-duplicate sentences."
    )

    @model_validator(mode="after")
    def _one_length(self) -> SummarizeParams:
        if self.sentences is not None and self.ratio is not None:
            raise ValueError("give either sentences or ratio, not both")
        given = self.model_fields_set
        if self.mode == "abstractive" and given & {"sentences", "ratio", "redundancy_penalty"}:
            raise ValueError("sentences, ratio and redundancy_penalty choose extractive sentences: not with "
                             "mode=abstractive")
        if self.mode == "extractive" and given & {"num_beams", "max_new_tokens"}:
            raise ValueError("num_beams and max_new_tokens apply to mode=abstractive only")
        return self

    def count(self, total: int) -> int:
        """Sentences to pick from a document of `total` (never more than MAX_PICKED)."""
        if self.ratio is not None:
            return max(1, min(total, MAX_PICKED, math.ceil(self.ratio * total)))
        return min(total, self.sentences or 3)


class SummarySentence(BaseModel):
    index: int = Field(description="Position of the sentence in the document (0-based).")
    text: str
    start: int
    end: int
    score: float = Field(description="Centrality (TextRank) score.")


class SummarizeResult(TaskResult):
    summary: str
    sentences: list[SummarySentence] = Field(description="The chosen sentences (extractive; empty when abstractive).")
    total_sentences: int
    chunks: int | None = Field(None, description="abstractive: encoder inputs the text was read in (each chunk is "
                               "summarised, the summaries joined in order).")
    length_capped: bool | None = Field(None, description="abstractive: a chunk's summary ran into max_new_tokens.")


class SummarizeTask(Task[SummarizeParams, SummarizeResult]):
    name = "summarize"
    description = "Extractive summary: the most central, non-redundant sentences in document order."
    document_level = True
    Params = SummarizeParams
    Result = SummarizeResult

    def warm(self) -> SummarizeTask:
        super().warm()
        generation.warm(self.name)
        split_sentences("The sentence model loads once. Then it is ready.")  # nupunkt loads its parameters
        return self

    def _split(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        docs: list[list[tuple[int, int]]] = []
        for i, text in enumerate(texts):  # stop splitting as soon as the sentence budget is spent
            docs.append(split_sentences(text))
            budget.enforce(
                self.name, sum(map(len, docs)), config.settings.max_summary_sentences,
                setting="NLP_MAX_SUMMARY_SENTENCES", unit="sentences", partial=i < len(texts) - 1,
            )
        return docs

    def _run(self, texts: list[str], params: SummarizeParams) -> list[SummarizeResult]:
        _abstractive_bundle.set(None)
        if params.mode == "abstractive":
            return self._abstractive(texts, params)
        settings = config.settings
        docs = self._split(texts)
        sentences = [text[s:e] for text, spans in zip(texts, docs) for s, e in spans]
        encoded = self.bundle.encode(sentences)  # one model pass over every document's sentences
        budget.enforce(
            self.name, sum(map(len, encoded)), settings.max_summary_pieces,
            setting="NLP_MAX_SUMMARY_PIECES", unit="model word pieces",
        )
        vectors = np.vstack(self.bundle.run(encoded, batch_size=settings.batch_size)).astype(np.float32)
        results, at = [], 0
        for text, spans in zip(texts, docs):
            n = len(spans)
            truncated = any(e.truncated for e in encoded[at : at + n])
            results.append(self._summarize(text, spans, vectors[at : at + n], truncated, params))
            at += n
        return results

    def document(self, text: str, spans: Sequence[tuple[int, int]], params: SummarizeParams,  # type: ignore[override]
                 run_segments: Callable[[], list[SummarizeResult]], *, quote_text: bool = True) -> DocumentOutput:
        """A map-reduce extractive summary of a document longer than one request: each segment is summarised,
        then, when a fixed sentence count was asked, the chosen sentences are summarised again. Offsets and
        sentence indexes point into the whole document. A summary quotes the text, so ``quote_text`` does not
        apply."""
        results = [r.model_dump(mode="json") for r in run_segments()]
        if len(spans) == 1:
            return DocumentOutput(None, results[0])
        if params.mode == "abstractive":  # the segments' chunk summaries, in order
            return DocumentOutput(None, {
                "summary": " ".join(r["summary"] for r in results if r["summary"]), "sentences": [],
                "total_sentences": sum(r["total_sentences"] for r in results),
                "chunks": sum(r["chunks"] or 0 for r in results), "truncated": any(r["truncated"] for r in results),
                "length_capped": any(r.get("length_capped") for r in results)})
        candidates: list[dict[str, Any]] = []
        index_base = 0
        for (start, _end), res in zip(spans, results):
            for sent in res["sentences"]:
                candidates.append({**sent, "index": sent["index"] + index_base,
                                   "start": sent["start"] + start, "end": sent["end"] + start})
            index_base += res["total_sentences"]
        truncated = any(r.get("truncated") for r in results)
        chosen = candidates
        if params.ratio is None and len(candidates) > 1:  # a fixed count: choose again among the segments' picks
            joined, starts = _join(candidates)
            second = self.run([joined], params)[0].model_dump(mode="json")
            by_start = dict(zip(starts, candidates))
            chosen = []
            for sent in second["sentences"]:
                cand = by_start.get(sent["start"]) or next((c for c in candidates if c["text"] == sent["text"]), None)
                if cand is not None:
                    chosen.append({**cand, "score": sent["score"]})
            chosen.sort(key=lambda c: c["start"])
            truncated = truncated or bool(second.get("truncated"))
        return DocumentOutput(None, {"summary": " ".join(c["text"] for c in chosen), "sentences": chosen,
                                     "total_sentences": index_base, "truncated": truncated})

    def _abstractive(self, texts: list[str], params: SummarizeParams) -> list[SummarizeResult]:
        """Each text's sentences packed into chunks that fit the encoder; every chunk of the request summarised in
        one length-sorted batch; a text's chunk summaries joined in order."""
        names = generation.brought_bundles(self.name)
        if not names:
            raise generation.unavailable(self.name, "summarisation (mode=abstractive)", ABSTRACTIVE_BUILD_EXAMPLE)
        bundle = generation.load(names[0])
        _abstractive_bundle.set(names[0])
        docs = self._split(texts)
        chunks = [generation.pack(bundle, text, spans or [(0, len(text))]) for text, spans in zip(texts, docs)]
        inputs = [text[s:e] for text, spans in zip(texts, chunks) for s, e in spans]
        config_ = generation.generation_config(bundle, params)
        generation.enforce_budget(self.name, len(inputs) * config_.max_new_tokens * config_.num_beams)
        outputs = bundle.generate(inputs, config_, deadline=generation.Deadline(self.name))
        results, at = [], 0
        for spans, doc in zip(chunks, docs):
            mine = outputs[at:at + len(spans)]
            at += len(spans)
            results.append(SummarizeResult(summary=" ".join(o.text for o in mine if o.text), sentences=[],
                                           total_sentences=len(doc), chunks=len(spans),
                                           truncated=any(o.truncated for o in mine),
                                           length_capped=any(o.length_capped for o in mine)))
        return results

    def model_info(self) -> dict[str, Any]:
        """The extractive model's card, and the abstractive bundles' (``abstractive``, when any is deployed)."""
        info = super().model_info()
        brought = generation.brought_bundles(self.name)
        if brought:
            info["abstractive"] = [{"bundle": n, **generation.load(n).manifest.card()} for n in brought]
        return info

    def model_ref(self) -> tuple[str, str]:
        name = _abstractive_bundle.get()
        if name:
            return name, generation.load(name).manifest.version
        return super().model_ref()

    def _summarize(
        self, text: str, spans: list[tuple[int, int]], vectors: np.ndarray, truncated: bool, params: SummarizeParams
    ) -> SummarizeResult:
        pool, scores = centrality(vectors)
        chosen = mmr(vectors[pool], scores, params.count(len(spans)), params.redundancy_penalty)
        picked = []
        for j in sorted(chosen, key=lambda j: pool[j]):
            i = int(pool[j])
            s, e = spans[i]
            picked.append(SummarySentence(index=i, text=text[s:e], start=s, end=e, score=round(float(scores[j]), 6)))
        return SummarizeResult(
            summary=" ".join(p.text for p in picked),
            sentences=picked,
            total_sentences=len(spans),
            truncated=truncated,
        )


def _join(candidates: list[dict[str, Any]]) -> tuple[str, list[int]]:
    """The candidate sentences as one text (blank line between them) and each one's start in it."""
    starts, pos, pieces = [], 0, []
    for c in candidates:
        starts.append(pos)
        pieces.append(c["text"])
        pos += len(c["text"]) + 2
    return "\n\n".join(pieces), starts


def centrality(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pool, scores): the sentences a summary may pick from and their TextRank scores.

    Up to BLOCK sentences: all of them, one dense TextRank (exactly the classic algorithm). More: TextRank
    within consecutive blocks of BLOCK sentences keeps the best KEEP of each, until at most BLOCK remain,
    which are ranked together. Memory stays O(BLOCK^2) and time O(n * BLOCK) however long the document.
    """
    pool = np.arange(len(vectors))
    while len(pool) > BLOCK:
        kept = []
        for lo in range(0, len(pool), BLOCK):
            block = pool[lo : lo + BLOCK]
            ranks = textrank(vectors[block])
            kept.append(block[np.argsort(-ranks, kind="stable")[:KEEP]])
        pool = np.sort(np.concatenate(kept))
    return pool, textrank(vectors[pool])


def textrank(vectors: np.ndarray, damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    """TextRank over cosine similarities (negative ones count as 0); scores scaled so the best is 1."""
    n = len(vectors)
    if n == 1:
        return np.ones(1)
    v = np.asarray(vectors, dtype=np.float64)
    transition = v @ v.T  # built in place: one n x n matrix, no temporaries of the same size
    np.clip(transition, 0.0, None, out=transition)
    np.fill_diagonal(transition, 0.0)
    row_sums = transition.sum(axis=1)
    linked = row_sums > 0
    np.divide(transition, row_sums[:, None], out=transition, where=linked[:, None])
    transition[~linked] = 1.0 / (n - 1)  # a sentence similar to nothing spreads its rank evenly
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * (rank @ transition)
        if np.abs(updated - rank).sum() < 1e-8:
            rank = updated
            break
        rank = updated
    return rank / rank.max()


def mmr(vectors: np.ndarray, scores: np.ndarray, k: int, penalty: float) -> list[int]:
    """Greedy maximal marginal relevance: centrality minus similarity to what is already chosen.

    The redundancy of every candidate (its highest similarity to a chosen sentence) is updated with one
    matrix-vector product per pick, so k picks cost O(k * n * d), not O(k^2 * n * d).
    """
    n = len(scores)
    base = (1 - penalty) * np.asarray(scores, dtype=np.float64)
    redundancy = np.zeros(n)
    taken = np.zeros(n, dtype=bool)
    chosen: list[int] = []
    for step in range(min(k, n)):
        value = base - penalty * redundancy
        value[taken] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        taken[best] = True
        similar = vectors @ vectors[best]
        redundancy = similar if step == 0 else np.maximum(redundancy, similar)
    return chosen
