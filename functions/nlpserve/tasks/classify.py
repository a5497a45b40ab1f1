"""Intent classification: 150 CLINC150 intents + 6 support-routing intents (rag-intent-classifier head)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from nlpserve import config
from nlpserve.errors import InvalidInput
from nlpserve.tasks.base import Task, TaskParams, TaskResult
from nlpserve.text import check_param_strings


class ClassifyParams(TaskParams):
    top_k: int = Field(1, ge=1, le=20, description="How many of the most likely labels to return.")
    labels: list[str] | None = Field(
        None, description="Only consider these labels (e.g. the routing intents your app handles)."
    )

    _labels_unicode = field_validator("labels", mode="before")(check_param_strings)


class LabelScore(BaseModel):
    label: str
    score: float


class ClassifyResult(TaskResult):
    label: str = Field(examples=["connect_to_human"])
    score: float = Field(examples=[0.91])
    top_k: list[LabelScore] = Field(default_factory=list)


class ClassifyTask(Task[ClassifyParams, ClassifyResult]):
    name = "classify"
    bundle_name = "classify"
    description = "Intent of a user utterance: 150 CLINC150 intents plus 6 support-routing intents."
    Params = ClassifyParams
    Result = ClassifyResult

    def _run(self, texts: list[str], params: ClassifyParams) -> list[ClassifyResult]:
        labels = self.bundle.manifest.labels or []
        allowed = list(range(len(labels)))
        if params.labels:
            unknown = sorted(set(params.labels) - set(labels))
            if unknown:
                raise InvalidInput(
                    f"unknown labels: {', '.join(unknown[:10])}", details=[{"unknown_labels": unknown}]
                )
            wanted = set(params.labels)
            allowed = [i for i, l in enumerate(labels) if l in wanted]
        encoded = self.bundle.encode(texts)
        rows = self.bundle.run(encoded, batch_size=config.settings.batch_size)
        results = []
        for enc, probs in zip(encoded, rows):
            sub = probs[allowed]
            if params.labels:  # renormalise over the allowed labels so scores stay probabilities
                sub = sub / max(float(sub.sum()), 1e-12)
            ranked = sub.argsort()[::-1][: params.top_k]
            top = [LabelScore(label=labels[allowed[j]], score=round(float(sub[j]), 6)) for j in ranked]
            results.append(ClassifyResult(label=top[0].label, score=top[0].score, top_k=top, truncated=enc.truncated))
        return results
