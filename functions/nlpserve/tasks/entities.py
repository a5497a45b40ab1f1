"""General named entities (``POST /v1/entities``): 18 OntoNotes types from a token classifier distilled from spaCy.

The bundle ``entities`` is all-MiniLM-L6-v2 with a BIO token head over PERSON, NORP, FAC, ORG, GPE, LOC, PRODUCT,
EVENT, WORK_OF_ART, LAW, LANGUAGE, DATE, TIME, PERCENT, MONEY, QUANTITY, ORDINAL, CARDINAL, trained by
``python -m nlpbuild train-entities`` to agree with spaCy's ``en_core_web_sm`` (the teacher) on unlabelled text.

Long texts are read in overlapping windows of the bundle's length (32 pieces shared); each word piece takes the
tag of the window where it sits furthest from an edge, so a text gets the same entities whatever its length.
Spans come from the BIO tags decoded by ``bio.decode``: word pieces of one word share the word's mean
distribution, and the tag sequence is the most probable one that obeys BIO (an I-X only after B-X or I-X). They
carry exact character offsets (``text[start:end]``) and a score: the mean probability of their words' tags.

Span conventions (``conventions``; the OntoNotes annotation guidelines, which the teacher often does not follow):
a leading "the" is not part of a name ("the European Central Bank" -> "European Central Bank"), a trailing
possessive "'s" is not part of it, and MONEY includes the currency sign or code written right before the amount
("$18", "CA$4 million", "€320").
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from nlpserve import config
from nlpserve.errors import InvalidInput
from nlpserve.tasks import bio
from nlpserve.tasks.base import LanguageGuardParams, Task, TaskResult, softmax
from nlpserve.text import check_param_strings

TYPES = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
         "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL")


class EntitiesParams(LanguageGuardParams):
    types: list[str] | None = Field(None, description=f"Only these entity types (of {', '.join(TYPES)}).")
    min_score: float = Field(0.0, ge=0.0, le=1.0, description="Drop entities whose score is below this.")
    include_personal_data: bool = Field(
        False, description="Also return /v1/ner's personal-data entities (GIVEN_NAME, EMAIL, IBAN, ...) with "
                           "category 'personal_data', merged in text order; `types` and `min_score` do not apply "
                           "to them (they use /v1/ner's defaults).")

    _types_unicode = field_validator("types", mode="before")(check_param_strings)


class GeneralEntity(BaseModel):
    type: str = Field(examples=["ORG"])
    text: str = Field(examples=["Northwind Bank"])
    start: int = Field(description="Character offset of the first character.")
    end: int = Field(description="Character offset after the last character: text[start:end].")
    score: float = Field(description="Mean probability of the entity's word-piece tags.")
    category: Literal["general", "personal_data"] = Field(
        "general", description="general: this model's 18 types; personal_data: from /v1/ner "
                               "(include_personal_data).")


class EntitiesResult(TaskResult):
    entities: list[GeneralEntity]
    windows: int = Field(1, description="Model windows read (long texts are read in overlapping windows).")


class EntitiesTask(Task[EntitiesParams, EntitiesResult]):
    name = "entities"
    description = ("General named entities (18 OntoNotes types: people, organisations, places, dates, money, ...) "
                   "with character offsets.")
    Params = EntitiesParams
    Result = EntitiesResult
    document_level = True
    windowed = True

    def _continues(self, piece_id: int) -> bool:
        """Whether the tokenizer marks this piece as continuing a word (WordPiece "##")."""
        return (self.bundle.tokenizer.id_to_token(piece_id) or "").startswith("##")

    def _with_shapes(self, text: str, windows: list) -> list:
        """The windows with token_type_ids set to each piece's word shape (``bio.word_shapes``), computed over the
        whole text so that a word cut by a window edge keeps its shape."""
        pieces = sorted({w.offsets[pos]: w.ids[pos] for w in windows for pos in range(1, len(w) - 1)
                         if w.offsets[pos][1] > w.offsets[pos][0]}.items())
        offsets = [o for o, _ in pieces]
        shapes = dict(zip(offsets, bio.word_shapes(text, offsets, [self._continues(i) for _, i in pieces])))
        return [replace(w, type_ids=[shapes.get(tuple(o), 0) for o in w.offsets]) for w in windows]

    def _run(self, texts: list[str], params: EntitiesParams) -> list[EntitiesResult]:
        if params.types:
            unknown = sorted(set(params.types) - set(TYPES))
            if unknown:
                raise InvalidInput(f"unknown entity types: {', '.join(unknown[:10])}; known: {', '.join(TYPES)}",
                                   details=[{"unknown_types": unknown}])
        labels = self.bundle.manifest.labels or []
        per_text = self.bundle.encode_windows(texts)
        if self.bundle.manifest.token_types == "word_shape":
            per_text = [self._with_shapes(text, windows) for text, windows in zip(texts, per_text)]
        flat = [w for windows in per_text for w in windows]
        logits = self.bundle.run(flat, batch_size=config.settings.batch_size)
        out, k = [], 0
        wanted = set(params.types or TYPES)
        for text, windows in zip(texts, per_text):
            rows = logits[k : k + len(windows)]
            k += len(windows)
            offsets, probs, continuation = _best_pieces(windows, rows, self._continues)
            spans = []
            for start, end, kind, score in bio.decode(text, offsets, probs, labels, continuation):
                start, end = conventions(text, start, end, kind)
                if kind in wanted and score >= params.min_score:
                    spans.append(GeneralEntity(type=kind, text=text[start:end], start=start, end=end,
                                               score=round(score, 4)))
            out.append(EntitiesResult(entities=spans, windows=len(windows)))
        if params.include_personal_data:
            for result, personal in zip(out, self._personal_data(texts)):
                result.entities = merge(result.entities, personal)
        return out

    def _personal_data(self, texts: list[str]) -> list[list[tuple[GeneralEntity, bool]]]:
        """/v1/ner's entities of each text (its bundle loads on first use) as ``personal_data`` entities, each with
        whether a pattern found it (an e-mail, URL, IP, card, ...)."""
        from nlpserve.tasks import get_task
        from nlpserve.tasks.ner import NerParams

        found = get_task("ner").entities(texts, NerParams().min_score)  # type: ignore[attr-defined]
        return [[(GeneralEntity(type=e.type, text=e.text, start=e.start, end=e.end, score=e.score,
                                category="personal_data"), e.source == "pattern") for e in row] for row in found]


def merge(general: list[GeneralEntity], personal: list[tuple[GeneralEntity, bool]]) -> list[GeneralEntity]:
    """Both lists in text order (start, then longer first). A general entity inside a value a pattern found
    (``jane`` PERSON inside ``jane.doe@example.com``) is part of that value and is dropped; overlapping model
    entities are both kept (``Jane Doe`` is a PERSON and a GIVEN_NAME + SURNAME)."""
    values = [(e.start, e.end) for e, by_pattern in personal if by_pattern]
    kept = [g for g in general if not any(s <= g.start and g.end <= e for s, e in values)]
    return sorted([*kept, *(e for e, _ in personal)], key=lambda e: (e.start, -e.end, e.category))


_LEADING_THE = re.compile(r"(?:the|The|THE)\s+")
_POSSESSIVE = ("'s", "\u2019s")
_CURRENCY_BEFORE = re.compile(r"(?:\b[A-Z]{1,3})?[$\u00a3\u20ac\u00a5\u20b9\u20a9\u20bd]$")  # $ £ € ¥ ₹ ₩ ₽


def conventions(text: str, start: int, end: int, kind: str) -> tuple[int, int]:
    """An entity span adjusted to the OntoNotes conventions (module docstring): (start, end) in characters.
    A span that is only "the" or only "'s" is left as it is."""
    lead = _LEADING_THE.match(text, start)
    if lead and lead.end() < end:
        start = lead.end()
    if text[start:end].endswith(_POSSESSIVE) and end - start > 2:
        end -= 2
    if kind == "MONEY":
        sign = _CURRENCY_BEFORE.search(text, max(0, start - 4), start)
        if sign:
            start = sign.start()
    return start, end


def _best_pieces(windows, rows, continues) -> tuple[list[tuple[int, int]], np.ndarray, list[bool]]:
    """Offsets of the text's word pieces in text order, their [pieces, labels] probabilities and whether each
    continues a word (``continues(id)``), each piece read from the window where it sits furthest from an edge."""
    best: dict[tuple[int, int], tuple[int, np.ndarray, int]] = {}  # offsets -> (distance, probabilities, id)
    for window, logits in zip(windows, rows):
        probs = softmax(np.asarray(logits, dtype=np.float32), axis=-1)
        n = len(window.ids)
        for pos in range(1, n - 1):  # skip [CLS] and [SEP]
            offsets = window.offsets[pos]
            if offsets[1] <= offsets[0]:
                continue
            distance = min(pos - 1, n - 2 - pos)
            if offsets not in best or distance > best[offsets][0]:
                best[offsets] = (distance, probs[pos], window.ids[pos])
    ordered = sorted(best.items())
    if not ordered:
        return [], np.zeros((0, rows[0].shape[-1] if rows else 0), np.float32), []
    return ([tuple(o) for o, _ in ordered], np.stack([p for _, (_, p, _) in ordered]),
            [continues(piece) for _, (_, _, piece) in ordered])
