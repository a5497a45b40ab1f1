"""Custom classifiers: bundles written by ``nlpserve train classifier FILE --name <model>`` (``nlpbuild.custom``).

One pipeline class serves every such bundle (``classify-<model>``; ``nlpserve.catalog.CUSTOM_CLASSIFIERS``): the
graph is the shipped encoder with the trained head folded in, so it outputs one probability per label —
softmax for a file with one label per text, independent sigmoids for a multi-label file. Long texts are read in
overlapping windows whose probabilities are averaged, weighted by piece count (``tasks/windows.py``).

Answer: ``label`` and ``score`` are the most probable label; ``labels`` are the labels the text carries — the
top one for a single-label model; for a multi-label model every label whose probability reaches its threshold
(chosen per label by cross-validation at training time, ``manifest.thresholds``; ``threshold`` overrides them
all), most probable first.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from nlpserve import catalog, config
from nlpserve.errors import InvalidInput
from nlpserve.tasks.base import LanguageGuardParams, Task, TaskResult
from nlpserve.tasks.windows import pooled_probabilities


class CustomClassifyParams(LanguageGuardParams):
    top_k: int = Field(1, ge=1, le=50, description="Single-label models: how many labels to rank in `top_k`.")
    threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Multi-label models: the probability a label needs to be carried, for "
        "every label (default: each label's own threshold, chosen at training time; GET /v1/models).")
    return_all_scores: bool = Field(False, description="Also return every label's probability (`scores`).")


class LabelScore(BaseModel):
    label: str
    score: float


class CustomClassifyResult(TaskResult):
    label: str = Field(description="The most probable label.", examples=["billing"])
    score: float = Field(description="Its probability.", examples=[0.91])
    labels: list[LabelScore] = Field(
        default_factory=list, description="Single-label: the top_k labels. Multi-label: every label whose "
        "probability reaches its threshold (possibly none), most probable first.")
    multi_label: bool = False
    scores: dict[str, float] | None = Field(None, description="Every label's probability (return_all_scores).")
    windows: int = Field(1, description="Model windows read (texts past 254 word pieces are read in windows).")


class CustomClassifyTask(Task[CustomClassifyParams, CustomClassifyResult]):
    name = "classify-<model>"  # each instance is named after its bundle (``classify-tickets``)
    bundle_name = None
    description = "A classifier you trained from a labelled file (nlpserve train classifier FILE --name <model>)."
    Params = CustomClassifyParams
    Result = CustomClassifyResult
    windowed = True
    languages = catalog.CUSTOM_CLASSIFIERS.languages

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.bundle_name = name  # type: ignore[misc]

    def _run(self, texts: list[str], params: CustomClassifyParams) -> list[CustomClassifyResult]:
        manifest = self.bundle.manifest
        labels = manifest.labels or []
        extra = manifest.model_extra or {}
        multi = bool(extra.get("multi_label"))
        given = params.model_fields_set
        if not multi and "threshold" in given:
            raise InvalidInput(f"threshold applies to multi-label models; {self.name} gives one label per text "
                               f"(use top_k)", details=[{"parameter": "threshold"}])
        if multi and "top_k" in given:
            raise InvalidInput(f"top_k applies to single-label models; {self.name} is multi-label (its labels are "
                               f"those over their thresholds; use threshold, or return_all_scores)",
                               details=[{"parameter": "top_k"}])
        per_label = extra.get("thresholds") or {}
        cut = [params.threshold if params.threshold is not None else float(per_label.get(lab, 0.5)) for lab in labels]
        out = []
        for probs, windows in pooled_probabilities(self.bundle, texts, config.settings.batch_size):
            order = probs.argsort()[::-1]
            ranked = [LabelScore(label=labels[j], score=round(float(probs[j]), 6)) for j in order]
            carried = [r for r, j in zip(ranked, order) if probs[j] >= cut[j]] if multi else ranked[: params.top_k]
            out.append(CustomClassifyResult(
                label=ranked[0].label, score=ranked[0].score, labels=carried, multi_label=multi, windows=windows,
                scores={lab: round(float(p), 6) for lab, p in zip(labels, probs)} if params.return_all_scores else None,
            ))
        return out

    def model_info(self) -> dict:
        info = super().model_info()
        extra = self.bundle.manifest.model_extra or {}
        return {**info, "multi_label": bool(extra.get("multi_label")), "thresholds": extra.get("thresholds"),
                "training": extra.get("training")}
