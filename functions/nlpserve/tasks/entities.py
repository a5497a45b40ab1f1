"""General named entities (``POST /v1/entities``): 18 OntoNotes types from a token classifier distilled from spaCy.

The bundle ``entities`` is all-MiniLM-L6-v2 with a BIO token head over PERSON, NORP, FAC, ORG, GPE, LOC, PRODUCT,
EVENT, WORK_OF_ART, LAW, LANGUAGE, DATE, TIME, PERCENT, MONEY, QUANTITY, ORDINAL, CARDINAL, trained by
``python -m nlpbuild train-entities`` to agree with spaCy's ``en_core_web_sm`` (the teacher) on unlabelled text.

Long texts are read in overlapping windows of the bundle's length (32 pieces shared); each word piece takes the
tag of the window where it sits furthest from an edge, so a text gets the same entities whatever its length.
Spans come from the BIO tags decoded by ``bio.decode``: word pieces of one word share the word's mean
distribution, and the tag sequence is the most probable one that obeys BIO (an I-X only after B-X or I-X). They
carry exact character offsets (``text[start:end]``) and a score: the mean probability of their words' tags.

Span clean-up (``tidy``): the OntoNotes conventions of ``conventions``, which the teacher often does not follow (no
leading "the": "the European Central Bank" -> "European Central Bank"; no trailing "'s", punctuation or function
words; MONEY includes the currency sign or code written right before the amount: "$18", "CA$4 million", "€320"),
then no span inside an e-mail address or URL and no two spans overlapping. The model reads each text's matching
form (``normalize_for_matching``: fullwidth forms, digits of any script) and offsets map back to the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from nlpserve import config
from nlpserve.tasks import bio
from nlpserve.tasks.base import DocumentOutput, LanguageGuardParams, Task, TaskResult, softmax
from nlpserve.text import check_param_strings, normalize_for_matching

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

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(TYPES))
        if unknown:
            raise ValueError(f"unknown entity types: {', '.join(unknown[:10])}; known: {', '.join(TYPES)}")
        return value


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

    @cached_property
    def _continuation_ids(self) -> frozenset[int]:
        """Ids of the vocabulary's word-continuing pieces (WordPiece "##"), read once per process."""
        return frozenset(i for piece, i in self.bundle.tokenizer.get_vocab().items() if piece.startswith("##"))

    def _continues(self, piece_id: int) -> bool:
        """Whether the tokenizer marks this piece as continuing a word (WordPiece "##")."""
        return piece_id in self._continuation_ids

    def _with_shapes(self, text: str, windows: list) -> list:
        """The windows with token_type_ids set to each piece's word shape (``bio.word_shapes``), computed over the
        whole text so that a word cut by a window edge keeps its shape."""
        pieces = sorted({w.offsets[pos]: w.ids[pos] for w in windows for pos in range(1, len(w) - 1)
                         if w.offsets[pos][1] > w.offsets[pos][0]}.items())
        offsets = [o for o, _ in pieces]
        shapes = dict(zip(offsets, bio.word_shapes(text, offsets, [self._continues(i) for _, i in pieces])))
        return [replace(w, type_ids=[shapes.get(tuple(o), 0) for o in w.offsets]) for w in windows]

    def _run(self, texts: list[str], params: EntitiesParams) -> list[EntitiesResult]:
        if params.include_personal_data:  # the personal-data model runs too: its own budget applies (413)
            from nlpserve.tasks import budget, get_task

            budget.check(get_task("ner"), texts, name="entities with include_personal_data")
        labels = self.bundle.manifest.labels or []
        norms = [normalize_for_matching(text) for text in texts]  # fullwidth, digits of any script, marks
        per_text = self.bundle.encode_windows([norm.text for norm in norms])
        if self.bundle.manifest.token_types == "word_shape":
            per_text = [self._with_shapes(norm.text, windows) for norm, windows in zip(norms, per_text)]
        flat = [w for windows in per_text for w in windows]
        logits = self.bundle.run(flat, batch_size=config.settings.batch_size)
        out, k = [], 0
        wanted = set(params.types or TYPES)
        for norm, windows in zip(norms, per_text):
            rows = logits[k : k + len(windows)]
            k += len(windows)
            offsets, probs, continuation = _best_pieces(windows, rows, self._continues)
            found = bio.decode(norm.text, offsets, probs, labels, continuation, join_numbers=True)
            spans = []
            for start, end, kind, score in tidy(norm.text, found):
                if kind in wanted and score >= params.min_score:
                    if norm.text is not norm.original:
                        start, end = norm.span(start, end)
                    spans.append(GeneralEntity(type=kind, text=norm.original[start:end], start=start, end=end,
                                               score=round(score, 4)))
            out.append(EntitiesResult(entities=spans, windows=len(windows)))
        if params.include_personal_data:
            for result, personal in zip(out, self._personal_data(texts)):
                result.entities = merge(result.entities, personal)
        return out

    def document(self, text: str, spans: Sequence[tuple[int, int]], params: EntitiesParams,  # type: ignore[override]
                 run_segments: Callable[[], list[EntitiesResult]], *, quote_text: bool = True) -> DocumentOutput:
        """One document's entities (batch ``incoming/entities/docs/``, ``batch score --document``): each
        segment's entities with offsets shifted into the whole document, and a count per type."""
        entities: list[dict[str, Any]] = []
        windows, truncated = 0, False
        for (start, _end), res in zip(spans, run_segments()):
            for ent in res.model_dump(mode="json")["entities"]:
                ent["start"] += start
                ent["end"] += start
                if not quote_text:
                    ent.pop("text", None)
                entities.append(ent)
            windows += res.windows
            truncated = truncated or res.truncated
        by_type = Counter(ent["type"] for ent in entities)
        return DocumentOutput(None, {"entities": entities, "entity_count": len(entities),
                                     "by_type": dict(sorted(by_type.items())), "windows": windows,
                                     "truncated": truncated})

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
_SYMBOLS = "$\u00a3\u20ac\u00a5\u20b9\u20a9\u20bd"  # $ £ € ¥ ₹ ₩ ₽
#: ISO 4217 codes written before an amount ("NOK 3.1 billion"); a letter prefix glued to a sign ("CA$", "HK$").
_CODES = ("USD|EUR|GBP|JPY|CNY|CHF|CAD|AUD|NZD|HKD|SGD|INR|NOK|SEK|DKK|PLN|CZK|HUF|ZAR|BRL|MXN|KRW|RUB|TRY|AED|"
          "SAR|ILS|THB|IDR|PHP|MYR|NGN|KES|EGP")
_CURRENCY_BEFORE = re.compile(rf"(?:(?:\b[A-Z]{{1,3}})?[{_SYMBOLS}]|\b(?:{_CODES}) ?)$")
_PREFIX_BEFORE_SIGN = re.compile(r"\b[A-Z]{1,3}$")
#: Words that do not end a name or amount ("Section 230 of", "$2 and", "Monday to").
_TRAILING_WORDS = frozenset("and or to of the a an in on at for with by from than".split())
_TRAILING_CHARS = ",;:!?([{\"'\u201c\u2018-" + _SYMBOLS
#: Abbreviations whose final period belongs to them (plus initials and dotted forms: "J.", "U.S.", "a.m.").
_ABBREVIATIONS = frozenset("Inc Co Corp Ltd Jr Sr St Dr Mr Mrs Ms Bros Ave No Mt Ft vs etc".split())


def conventions(text: str, start: int, end: int, kind: str) -> tuple[int, int] | None:
    """An entity span adjusted to the OntoNotes conventions (module docstring): (start, end) in characters, or
    None when nothing of an entity is left (a span that was only "the" or a comma).

    In order: spaces and control characters off both edges; a leading "the" off; trailing punctuation, an
    opening quote or bracket, a currency sign and the function words of ``_TRAILING_WORDS`` off the end,
    repeatedly; a final period off unless it ends an abbreviation, an initial or a dotted form; a trailing
    possessive off; combining marks after the end kept with their letter; a MONEY span widened over the currency
    sign or ISO code written right before it (and over a letter prefix glued to a sign: "CA$").
    """
    while start < end and (text[start].isspace() or not text[start].isprintable()):
        start += 1
    lead = _LEADING_THE.match(text, start, end)
    if lead and lead.end() < end:
        start = lead.end()
    while True:
        before = end
        while end > start and (text[end - 1].isspace() or text[end - 1] in _TRAILING_CHARS
                               or not text[end - 1].isprintable()):
            end -= 1
        last = text[start:end].rsplit(None, 1)
        if len(last) == 2 and last[1].lower() in _TRAILING_WORDS:
            end -= len(last[1])
        if end == before:
            break
    if end > start and text[end - 1] == ".":
        word = text[start:end - 1].rsplit(None, 1)[-1] if end - 1 > start else ""
        if not (word in _ABBREVIATIONS or len(word) == 1 or "." in word):
            end -= 1
    if text[start:end].endswith(_POSSESSIVE) and end - start > 2:
        end -= 2
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    if kind == "MONEY" and start < end:
        if text[start] in _SYMBOLS:
            prefix = _PREFIX_BEFORE_SIGN.search(text, max(0, start - 3), start)
            if prefix:
                start = prefix.start()
        else:
            sign = _CURRENCY_BEFORE.search(text, max(0, start - 5), start)
            if sign:
                start = sign.start()
    if start >= end or text[start:end].lower() in _TRAILING_WORDS or not any(c.isalnum() for c in text[start:end]):
        return None
    return start, end


def tidy(text: str, spans: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Spans after ``conventions``, none inside an e-mail address or URL (``angela`` in
    ``angela.merkel@bundestag.de`` is part of the address), and none overlapping: where two overlap (a MONEY span
    widened over a ``$`` that was its own span) the longer is kept. Text order."""
    from nlpserve.tasks import recognizers

    adjusted = []
    for start, end, kind, score in spans:
        fixed = conventions(text, start, end, kind)
        if fixed is not None:
            adjusted.append((*fixed, kind, score))
    if not adjusted:
        return []
    blocked = [(m.start, m.end) for m in recognizers.addresses(text)]
    kept: list[tuple[int, int, str, float]] = []
    for span in sorted(adjusted, key=lambda x: (x[0] - x[1], -x[3])):  # longest first, then most certain
        s, e = span[0], span[1]
        if any(a <= s and e <= b for a, b in blocked) or any(s < ke and ks < e for ks, ke, _, _ in kept):
            continue
        kept.append(span)
    return sorted(kept)


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
