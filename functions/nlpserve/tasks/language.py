"""Language identification (``POST /v1/language``) and the language guard of the English-only tasks.

The model is py3langid's (BSD-3; a pure-numpy port of langid.py by Lui & Baldwin, 2012: a multinomial naive
Bayes over byte n-grams, 97 languages from the original model plus later ones, 142 classes in 0.4.0). It ships
inside the wheel, so the task needs no model layer: the runtime layer carries it (4.6 MB). Probabilities are
normalised over the classes (``norm_probs=True``). Codes are ISO 639-1 where one exists, else ISO 639-3.

``guard`` is what every task with ``languages`` in the catalogue runs before its model: a text whose probability
of being in one of the other languages, summed, is at least ``FLAG_PROBABILITY`` is flagged in its result
(``language``: the most probable of them), or rejected with 422 ``unsupported_language`` when the request sets
``reject_other_languages``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from pydantic import BaseModel, Field

from nlpserve.errors import UnsupportedLanguage
from nlpserve.tasks.base import Task, TaskParams, TaskResult

#: The probability at which a text counts as written in another language than a task's model knows. Chosen on
#: the dev splits of the held-out sets (English texts must not be flagged; ``python -m nlpbuild evaluate
#: --tasks language``), never on their test splits. Below it the guard says nothing.
FLAG_PROBABILITY = 0.99

_lock = threading.Lock()
_identifier: Any = None


def identifier() -> Any:
    """The process-wide py3langid identifier (loads its model, about 0.3 s, on first use)."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


@dataclass(frozen=True)
class Detection:
    language: str  # ISO 639-1 (or 639-3) code
    score: float  # normalised probability, 0-1


#: The answer for a text with no letters at all (emoji, digits, punctuation): ISO 639-2 "undetermined".
UNDETERMINED = "und"


#: The guard judges only texts with at least this many letters: "Jane Doe" or "ok thanks" alone cannot be told
#: from a dozen languages (a name scored 0.99 'st'), so short texts are scored unflagged.
MIN_LETTERS = 10


def letters(text: str) -> int:
    """How many letters of any script ``text`` has (str.isalpha: Unicode categories L*)."""
    return sum(ch.isalpha() for ch in text)


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def rank(text: str, top_k: int) -> list[Detection]:
    """The ``top_k`` most probable languages of ``text``, most probable first."""
    return [Detection(code, float(p)) for code, p in identifier().rank(text)[:top_k]]


def detect(text: str) -> Detection:
    code, p = identifier().classify(text)
    return Detection(code, float(p))


def other_language(text: str, supported: Sequence[str]) -> Detection | None:
    """The most probable unsupported language when ``text`` is confidently not in a ``supported`` one: the
    probability of all other languages together is at least ``FLAG_PROBABILITY``. Summing matters for close
    languages that split the probability (Norwegian no 0.43 / nn 0.40; Malay and Indonesian), which no single
    language reaches. ``score`` is that summed probability."""
    if letters(text) < MIN_LETTERS:
        return None  # "Jane Doe", "ok", emoji, digits: too little to judge (the model answers with its prior)
    ranked = identifier().rank(text)
    others = 1.0 - sum(float(p) for code, p in ranked if code in supported)
    if others < FLAG_PROBABILITY:
        return None
    top = next(code for code, _ in ranked if code not in supported)
    return Detection(top, others)


def guard(task_name: str, texts: Sequence[str], supported: Sequence[str], reject: bool) -> list[str | None]:
    """Per text: the detected language when it is confidently not one of ``supported``, else None.

    Raises UnsupportedLanguage (422) when ``reject`` is set and any text is: the message names the first, and
    ``details`` lists every refused item (index, language, probability), so a client can drop them all at once.
    """
    flags: list[str | None] = []
    refused = []
    for i, text in enumerate(texts):
        found = other_language(text, supported)
        flags.append(found.language if found is not None else None)
        if found is not None:
            refused.append({"index": i, "language": found.language, "score": round(found.score, 4),
                            "supported": list(supported),
                            "message": f"looks like language {found.language!r} (probability of other languages "
                                       f"than the model's {found.score:.2f}); the {task_name} model knows "
                                       f"{', '.join(supported)} only"})
    if reject and refused:
        first = refused[0]
        more = f" (and {len(refused) - 1} more item(s), listed in details)" if len(refused) > 1 else ""
        raise UnsupportedLanguage(
            f"item {first['index']} looks like language {first['language']!r} (probability of other languages "
            f"than the model's {first['score']:.2f}){more}; the {task_name} model knows {', '.join(supported)} "
            f"only. Send it without reject_other_languages to score it anyway (its result is then flagged with "
            f"the language)",
            details=refused,
        )
    return flags


class LanguageParams(TaskParams):
    top_k: int = Field(3, ge=1, le=10, description="How many candidate languages to list, most probable first.")


class LanguageScore(BaseModel):
    language: str = Field(examples=["de"], description="ISO 639-1 code (ISO 639-3 where there is none).")
    score: float = Field(description="Probability, 0-1 (normalised over the 142 classes).")


class LanguageResult(TaskResult):
    language: str = Field(examples=["de"], description="The dominant language: ISO 639-1 (or 639-3) code; 'und' "
                          "(undetermined) for a text with no letters (emoji, digits, punctuation).")
    score: float = Field(description="Its probability, 0-1 (0 for 'und').")
    languages: list[LanguageScore] = Field(description="The top_k candidates, most probable first (none for 'und').")


class LanguageTask(Task[LanguageParams, LanguageResult]):
    name = "language"
    description = "Dominant language of each text (142 classes) with probabilities, top-k candidates."
    Params = LanguageParams
    Result = LanguageResult
    document_level = True  # a naive Bayes over byte n-grams: any length, linear time (~0.13 us a byte)

    def warm(self) -> LanguageTask:
        identifier()
        return self

    def _run(self, texts: list[str], params: LanguageParams) -> list[LanguageResult]:
        out = []
        for text in texts:
            if not has_letters(text):
                out.append(LanguageResult(language=UNDETERMINED, score=0.0, languages=[]))
                continue
            ranked = rank(text, params.top_k)
            out.append(LanguageResult(
                language=ranked[0].language, score=round(ranked[0].score, 6),
                languages=[LanguageScore(language=d.language, score=round(d.score, 6)) for d in ranked],
            ))
        return out

    def model_ref(self) -> tuple[str, str]:
        return "py3langid", version("py3langid")

    def model_info(self) -> dict[str, Any]:
        name, ver = self.model_ref()
        return {
            "task": self.name, "bundle": None, "name": name, "version": ver, "kind": "language-identification",
            "description": "langid.py's naive Bayes over byte n-grams (Lui & Baldwin, 2012), numpy port; model "
                           "inside the wheel, carried by the runtime layer",
            "labels": sorted(identifier().nb_classes),
            "source": {"package": f"py3langid=={ver}", "license": "BSD-3-Clause"},
        }
