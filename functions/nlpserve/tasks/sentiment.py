"""Sentiment: negative / neutral / positive from a MiniLM encoder with a trained head folded into the graph."""

from __future__ import annotations

from pydantic import Field

from nlpserve import config
from nlpserve.tasks.base import LanguageGuardParams, Task, TaskResult
from nlpserve.tasks.windows import pooled_probabilities


class SentimentParams(LanguageGuardParams):
    return_all_scores: bool = Field(False, description="Include the probability of every label.")


class SentimentResult(TaskResult):
    label: str = Field(examples=["positive"])
    score: float = Field(examples=[0.97])
    scores: dict[str, float] | None = None
    windows: int = Field(1, description="Model windows read: a text past 254 word pieces is read in overlapping "
                         "windows whose probabilities are averaged, weighted by piece count.", examples=[1])


class SentimentTask(Task[SentimentParams, SentimentResult]):
    name = "sentiment"
    description = "Sentiment of texts (posts, reviews, tickets, articles): negative, neutral or positive."
    windowed = True
    Params = SentimentParams
    Result = SentimentResult

    def _run(self, texts: list[str], params: SentimentParams) -> list[SentimentResult]:
        labels = self.bundle.manifest.labels or []
        results = []
        for probs, windows in pooled_probabilities(self.bundle, texts, config.settings.batch_size):
            best = int(probs.argmax())
            results.append(
                SentimentResult(
                    label=labels[best],
                    score=round(float(probs[best]), 6),
                    scores={l: round(float(p), 6) for l, p in zip(labels, probs)} if params.return_all_scores else None,
                    windows=windows,
                )
            )
        return results
