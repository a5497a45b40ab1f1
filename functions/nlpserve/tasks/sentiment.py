"""Sentiment: negative / neutral / positive from a MiniLM encoder with a trained head folded into the graph."""

from __future__ import annotations

from pydantic import Field

from nlpserve import config
from nlpserve.tasks.base import Task, TaskParams, TaskResult


class SentimentParams(TaskParams):
    return_all_scores: bool = Field(False, description="Include the probability of every label.")


class SentimentResult(TaskResult):
    label: str = Field(examples=["positive"])
    score: float = Field(examples=[0.97])
    scores: dict[str, float] | None = None


class SentimentTask(Task[SentimentParams, SentimentResult]):
    name = "sentiment"
    bundle_name = "sentiment"
    description = "Sentiment of short texts (reviews, tickets, posts): negative, neutral or positive."
    Params = SentimentParams
    Result = SentimentResult

    def _run(self, texts: list[str], params: SentimentParams) -> list[SentimentResult]:
        labels = self.bundle.manifest.labels or []
        encoded = self.bundle.encode(texts)
        rows = self.bundle.run(encoded, batch_size=config.settings.batch_size)
        results = []
        for enc, probs in zip(encoded, rows):
            best = int(probs.argmax())
            results.append(
                SentimentResult(
                    label=labels[best],
                    score=round(float(probs[best]), 6),
                    scores={l: round(float(p), 6) for l, p in zip(labels, probs)} if params.return_all_scores else None,
                    truncated=enc.truncated,
                )
            )
        return results
