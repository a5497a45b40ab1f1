"""Intent classification: 150 CLINC150 intents + 6 support-routing intents, with out-of-scope rejection.

Out-of-scope rejection (max-softmax-probability, Hendrycks & Gimpel 2017): the answer is ``oos`` when the head
says ``oos`` or when the top intent's probability is below ``oos_threshold``. The default threshold is the
bundle's (``manifest.oos_threshold``), chosen at build time on the dev split of the held-out intent set
(``nlpbuild/data/heldout/intent_heldout.jsonl``) as the value with the best intent accuracy among those whose
out-of-scope recall reaches 0.90 (``nlpbuild.evaluate.OOS_RULE``; 0.0 for the shipped model, whose trained
``oos`` label already does); the test split is only scored (``python -m nlpbuild evaluate``). With ``labels``,
scores are renormalised over the allowed labels and the threshold is compared with that reported score.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from nlpserve import config
from nlpserve.errors import InvalidInput
from nlpserve.tasks.base import LanguageGuardParams, Task, TaskResult
from nlpserve.tasks.windows import pooled_probabilities
from nlpserve.text import check_param_strings


class ClassifyParams(LanguageGuardParams):
    top_k: int = Field(1, ge=1, le=20, description="How many of the most likely labels to return.")
    labels: list[str] | None = Field(
        None, description="Only consider these labels (e.g. the routing intents your app handles)."
    )

    oos_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Answer 'oos' (out of scope) when the top intent's probability is below this. Default: the "
        "model's threshold, chosen on held-out phrasings (GET /v1/models); 0 turns rejection off. Applies when "
        "`labels` is not given or includes 'oos'.",
    )

    _labels_unicode = field_validator("labels", mode="before")(check_param_strings)


class LabelScore(BaseModel):
    label: str
    score: float


class ClassifyResult(TaskResult):
    label: str = Field(examples=["connect_to_human"])
    score: float = Field(examples=[0.91])
    top_k: list[LabelScore] = Field(default_factory=list)
    out_of_scope: bool = Field(
        False,
        description="True when the label is 'oos': the head said so, or the top intent's probability (then the "
        "score) was below oos_threshold. top_k still ranks the intents.",
    )
    windows: int = Field(1, description="Model windows read (texts past 254 word pieces are read in overlapping "
                         "windows whose probabilities are averaged, weighted by piece count).", examples=[1])


class ClassifyTask(Task[ClassifyParams, ClassifyResult]):
    name = "classify"
    description = "Intent of a user utterance: 150 CLINC150 intents plus 6 support-routing intents."
    Params = ClassifyParams
    Result = ClassifyResult
    windowed = True

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
        threshold = params.oos_threshold
        if threshold is None:
            threshold = self.bundle.manifest.oos_threshold or 0.0
        if "oos" not in labels or (params.labels and "oos" not in params.labels):
            threshold = 0.0
        results = []
        for probs, windows in pooled_probabilities(self.bundle, texts, config.settings.batch_size):
            sub = probs[allowed]
            if params.labels:  # renormalise over the allowed labels so scores stay probabilities
                sub = sub / max(float(sub.sum()), 1e-12)
            ranked = sub.argsort()[::-1][: params.top_k]
            top = [LabelScore(label=labels[allowed[j]], score=round(float(sub[j]), 6)) for j in ranked]
            rejected = top[0].label == "oos" or float(sub[ranked[0]]) < threshold
            results.append(ClassifyResult(label="oos" if rejected else top[0].label, score=top[0].score, top_k=top,
                                          out_of_scope=rejected, windows=windows))
        return results
