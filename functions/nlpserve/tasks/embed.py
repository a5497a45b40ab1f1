"""Sentence embeddings (all-MiniLM-L6-v2, 384-d, L2-normalised in the graph) and cosine similarity."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from nlpserve import config
from nlpserve.tasks import budget
from nlpserve.tasks.base import LanguageGuardParams, Task, TaskResult


class EmbedParams(LanguageGuardParams):
    pass


class EmbedResult(TaskResult):
    embedding: list[float] = Field(description="Unit-length vector; cosine similarity is a dot product.")
    dim: int = Field(examples=[384])


class SimilarityScores(list):
    """Cosine scores, one per target (a plain list of floats, as before), that also carry truncation flags.

    `truncated[i]`: target i was longer than the model window and only its start was compared;
    `source_truncated`: the same for the source. `/v1/similarity` returns both next to `scores`.
    """

    def __init__(self, scores: list[float], truncated: list[bool], source_truncated: bool):
        super().__init__(scores)
        self.truncated = truncated
        self.source_truncated = source_truncated


class EmbedTask(Task[EmbedParams, EmbedResult]):
    name = "embed"
    description = "384-dimensional sentence embeddings for search, clustering and deduplication."
    Params = EmbedParams
    Result = EmbedResult

    def vectors(self, texts: list[str]) -> tuple[np.ndarray, list[bool]]:
        """Embeddings as one float32 matrix (rows in input order) plus per-text truncation flags."""
        encoded = self.bundle.encode(texts)
        rows = self.bundle.run(encoded, batch_size=config.settings.batch_size)
        return np.vstack(rows).astype(np.float32), [e.truncated for e in encoded]

    def _run(self, texts: list[str], params: EmbedParams) -> list[EmbedResult]:
        matrix, truncated = self.vectors(texts)
        # Rounded to 7 decimals (float32 carries ~7 significant digits) to keep the JSON short; one vectorised
        # pass: a Python round() per component took ~5 % of a 64-text request.
        rows = np.round(matrix.astype(np.float64), 7).tolist()
        return [EmbedResult(embedding=row, dim=len(row), truncated=t) for row, t in zip(rows, truncated)]

    def similarity(self, source: str, targets: list[str]) -> SimilarityScores:
        """Cosine similarity of `source` to each target (vectors are unit length, so a dot product)."""
        texts = self.validate(source, field="source") + self.validate(targets, field="targets")
        budget.check(self, texts, name="similarity")
        matrix, truncated = self.vectors(texts)
        scores = [round(float(s), 6) for s in matrix[1:] @ matrix[0]]
        return SimilarityScores(scores, truncated=truncated[1:], source_truncated=truncated[0])
