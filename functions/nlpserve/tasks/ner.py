"""Personal-data entities (names, e-mail, phone, ids, addresses) with exact character offsets, and redaction.

Long texts are cut into overlapping token windows; each token takes the prediction of the window where it
sits furthest from an edge, so context is never lost at a cut, and spans come back as offsets into the
original text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from nlpserve import config
from nlpserve.errors import InvalidInput
from nlpserve.runtime import WINDOW_OVERLAP, EncodedText, plan_windows
from nlpserve.tasks import bio, recognizers
from nlpserve.tasks.base import DocumentOutput, Task, TaskParams, TaskResult, softmax
from nlpserve.text import Normalized, check_param_strings, normalize_for_matching

# A number written in digit groups joined by spaces, tabs or dashes, or one line break (in matching form):
# "1234 5678 9012 3456 78", "1234  5678\t9012". Not dots or slashes: without a checksum to confirm it, a
# date or a decimal must not join a neighbouring number.
_GROUPED_NUMBER = re.compile(r"(?<!\w)\d+(?:(?:[ \t-]+|[ \t]*\n[ \t]*)\d+)+(?!\w)")
_GROUPED_MIN_DIGITS = 6
# Rampart tags every word piece of these as B-*; pieces separated by a space still form one value.
_SPACE_JOINED = {"PHONE", "STREET_NAME", "CITY", "SECONDARY_ADDRESS", "BANK_ACCOUNT", "TAX_ID", "GOVERNMENT_ID"}


class Entity(BaseModel):
    type: str = Field(examples=["EMAIL"])
    text: str = Field(examples=["jane.doe@example.com"])
    start: int = Field(description="Offset of the first character (Python string index).", examples=[24])
    end: int = Field(description="Offset one past the last character.", examples=[44])
    score: float = Field(examples=[0.99])
    source: Literal["model", "pattern"] = Field(
        "model", description="model: Rampart NER; pattern: an exact recognizer (e-mail, URL, IP, SSN, card, phone)."
    )


class NerParams(TaskParams):
    entity_types: list[str] | None = Field(
        None, description="Only return these types (e.g. EMAIL, PHONE); omitted or empty: every type."
    )
    min_score: float = Field(0.5, ge=0.0, le=1.0, description="Drop word pieces below this confidence.")

    _types_unicode = field_validator("entity_types", mode="before")(check_param_strings)


class NerResult(TaskResult):
    entities: list[Entity]


@dataclass
class _Token:
    label: str
    score: float
    start: int
    end: int


class NerTask(Task[NerParams, NerResult]):
    name = "ner"
    description = "Personal data entities (names, e-mail, phone, URL, ids, addresses) with character offsets."
    document_level = True
    windowed = True
    Params = NerParams
    Result = NerResult

    @property
    def entity_types(self) -> list[str]:
        labels = self.bundle.manifest.labels or []
        return sorted({l[2:] for l in labels if l[:2] in ("B-", "I-")})

    def _check_types(self, types: list[str] | None) -> set[str] | None:
        if not types:  # omitted or empty: every type, as an empty `labels` list means every label in classify
            return None
        known = set(self.entity_types) | set(recognizers.PATTERN_TYPES)
        unknown = sorted({t.upper() for t in types} - known)
        if unknown:
            raise InvalidInput(
                f"unknown entity types: {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                details=[{"unknown_entity_types": unknown}],
            )
        return {t.upper() for t in types}

    def _run(self, texts: list[str], params: NerParams) -> list[NerResult]:
        wanted = self._check_types(params.entity_types)
        return [
            NerResult(entities=[e for e in ents if wanted is None or e.type in wanted])
            for ents in self.entities(texts, params.min_score)
        ]

    def entities(self, texts: list[str], min_score: float) -> list[list[Entity]]:
        """Entities of each text, offsets into the text as given.

        The model and the patterns both read the text's matching form (``normalize_for_matching``), so a
        phone with non-breaking hyphens or an e-mail with a decomposed accent is found like its plain form;
        spans are mapped back to exact offsets in the original (``text[start:end] == entity.text``).
        """
        from nlpserve.tasks import pii_context  # imports Entity from here

        bundle = self.bundle
        labels = bundle.manifest.labels or []
        budget = bundle.max_length - 2
        norms = [normalize_for_matching(text) for text in texts]
        windows: list[EncodedText] = []
        plans = []  # per text: (offsets, [(window index, token lo, token hi, window start)])
        for enc in bundle.tokenize([norm.text for norm in norms]):
            ids, offsets = enc.ids, enc.offsets
            spans = plan_windows(len(ids), budget, WINDOW_OVERLAP)
            owned = []
            for k, (s, e) in enumerate(spans):
                lo = 0 if k == 0 else (s + spans[k - 1][1]) // 2
                hi = len(ids) if k == len(spans) - 1 else (spans[k + 1][0] + e) // 2
                owned.append((len(windows), lo, hi, s))
                windows.append(EncodedText([bundle.cls_id, *ids[s:e], bundle.sep_id], [], False))
            plans.append((offsets, owned))
        outputs = bundle.run(windows, batch_size=config.settings.batch_size)
        results = []
        for norm, (offsets, owned) in zip(norms, plans):
            text = norm.text
            blocks: list[np.ndarray] = []
            spans: list[tuple[int, int]] = []
            for w, lo, hi, s in owned:
                probs = softmax(np.asarray(outputs[w], dtype=np.float32))
                kept = [t for t in range(lo, hi) if offsets[t][1] > offsets[t][0]]
                blocks.append(probs[[t - s + 1 for t in kept]])  # +1 skips [CLS]
                spans.extend(offsets[t] for t in kept)
            rows = np.concatenate(blocks) if blocks else np.zeros((0, len(labels)), np.float32)
            tokens = decode_tokens(word_average(text, rows, spans), labels, spans)
            found = merge_patterns(text, aggregate(text, tokens, min_score))
            found = pii_context.complete(text, complete_grouped_numbers(text, found))
            results.append(to_original(norm, found))
        return results


def word_average(text: str, rows: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """Give every piece of one alphanumeric word the word's mean distribution.

    ``rows``: [pieces, labels] probabilities, one row per span. Word pieces of one number ("000", "##123",
    ...) otherwise get different types from the model. Returns a new [pieces, labels] array.
    """
    if len(spans) < 2:
        return rows
    starts = bio.word_starts(text, spans)
    if len(starts) == len(spans):
        return rows
    sizes = np.diff(np.append(np.asarray(starts), len(spans)))
    return np.repeat(bio.word_means(rows, starts), sizes, axis=0)


def decode_tokens(rows: np.ndarray, labels: list[str], spans: list[tuple[int, int]]) -> list[_Token]:
    """Entity-level decision for each word piece (vectorised over the pieces of one text).

    The model often splits its belief between B-X and I-X (e.g. 0.47 / 0.48 on a piece of an e-mail); taking
    the plain argmax would then drop a piece that is 95 % surely part of an X. So: a piece is an entity
    with probability 1 - P(O), its type is the one with the largest B+I mass, B or I by the larger of the two.
    """
    if len(rows) == 0:
        return []
    probs = np.asarray(rows, dtype=np.float64)
    kinds = [l[2:] for l in labels if l.startswith("B-")]
    b = probs[:, [labels.index("B-" + k) for k in kinds]]
    i = probs[:, [labels.index("I-" + k) for k in kinds]]
    p_outside = probs[:, labels.index("O")] if "O" in labels else np.zeros(len(probs))
    mass = b + i
    best = mass.argmax(axis=1)
    picked = np.arange(len(probs))
    b_best, i_best, mass_best = b[picked, best], i[picked, best], mass[picked, best]
    tokens = []
    for n, (start, end) in enumerate(spans):
        if mass_best[n] <= p_outside[n]:
            tokens.append(_Token("O", float(p_outside[n]), start, end))
        else:
            prefix = "B-" if b_best[n] >= i_best[n] else "I-"
            tokens.append(_Token(prefix + kinds[best[n]], float(1.0 - p_outside[n]), start, end))
    return tokens


def merge_patterns(text: str, entities: list[Entity]) -> list[Entity]:
    """Exact pattern matches win over the model spans they overlap; everything sorted by offset.

    ``text`` is in matching form (``normalize_for_matching``) and ``entities`` have offsets into it.

    Every pattern match is redacted over its full span, whatever part of it the model tagged (the model
    may tag only the ``+`` of ``+44 7911 123456``, or one group of an IBAN). A phone-shaped match may be
    another number (a tax id, an account number): when one model entity of another type covers at least
    half of its digits, that type is kept, on the union of both spans. A model entity that lies mostly
    outside every pattern match keeps its parts outside them (when they hold a letter or digit); one that
    lies mostly inside one is dropped (its spill-over, like "ok" in "10005 ok", is noise).
    """
    matches = recognizers.find_normalized(text)
    if not matches:
        return entities

    def digits(lo: int, hi: int) -> int:
        return sum(ch.isdigit() for ch in text[lo:hi])

    merged: list[Entity] = []
    for m in matches:
        entity = Entity(type=m.type, text=text[m.start : m.end], start=m.start, end=m.end, score=1.0, source="pattern")
        if m.type not in recognizers.EXACT_TYPES:
            others = [e for e in entities if e.start < m.end and m.start < e.end and e.type != "PHONE"]
            if others:
                main = max(others, key=lambda e: digits(max(e.start, m.start), min(e.end, m.end)))
                if 2 * digits(max(main.start, m.start), min(main.end, m.end)) >= digits(m.start, m.end):
                    lo, hi = min(m.start, main.start), max(m.end, main.end)
                    entity = main.model_copy(update={"start": lo, "end": hi, "text": text[lo:hi]})
        merged.append(entity)
    spans = sorted((e.start, e.end) for e in merged)
    for e in entities:
        parts = _outside(e.start, e.end, spans)
        outside = sum(ch.isalnum() for lo, hi in parts for ch in text[lo:hi])
        if 2 * outside < sum(ch.isalnum() for ch in text[e.start : e.end]):
            continue  # mostly the pattern's value: the model's spill-over ("10005 ok") is noise
        for lo, hi in parts:
            while lo < hi and not text[lo].isalnum():
                lo += 1
            while hi > lo and not text[hi - 1].isalnum():
                hi -= 1
            if lo < hi:
                merged.append(e.model_copy(update={"start": lo, "end": hi, "text": text[lo:hi]}))
    out: list[Entity] = []
    for e in sorted(merged, key=lambda e: (e.start, -e.end)):
        if out and e.start < out[-1].end:  # a model type widened over a neighbour: one entity covers both
            if e.end > out[-1].end:
                out[-1] = out[-1].model_copy(update={"end": e.end, "text": text[out[-1].start : e.end]})
            continue
        out.append(e)
    return out


def _outside(start: int, end: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of [start, end) that no span in ``spans`` (sorted) covers."""
    parts, pos = [], start
    for lo, hi in spans:
        if hi <= pos or lo >= end:
            continue
        if lo > pos:
            parts.append((pos, lo))
        pos = max(pos, hi)
    if pos < end:
        parts.append((pos, end))
    return parts


def complete_grouped_numbers(text: str, entities: list[Entity]) -> list[Entity]:
    """A model entity on part of a number written in groups widens to the whole number, as one entity.

    The model reads an account number written in groups piece by piece and may tag some groups and not
    others ("1234 5678 9012 3456 [ZIP_CODE]"), or split one number into several types; the rest stays
    readable. For a run of at least two digit groups joined by spaces or dashes (``_GROUPED_NUMBER``, at
    least 6 digits) that a model entity touches, the run and every model entity on it become one entity
    of the type that covers most of its digits. Runs a pattern matched are left as the pattern found them
    (IBAN, card, SSN and phone patterns know their exact extent); ``text`` is in matching form.
    """
    if not entities:
        return entities
    result: list[Entity] = []
    i, n = 0, len(entities)  # entities are sorted and do not overlap, so their ends are sorted too
    for run in _GROUPED_NUMBER.finditer(text):
        start, end = run.span()
        while i < n and entities[i].end <= start:
            result.append(entities[i])
            i += 1
        j = i
        while j < n and entities[j].start < end:
            j += 1
        on_run = entities[i:j]
        if (
            not on_run
            or any(e.source == "pattern" for e in on_run)
            or (len(on_run) == 1 and on_run[0].start <= start and end <= on_run[0].end)  # already whole
            or sum(ch.isdigit() for ch in run.group()) < _GROUPED_MIN_DIGITS
        ):
            continue
        main = max(on_run, key=lambda e, a=start, b=end: sum(ch.isdigit() for ch in text[max(e.start, a) : min(e.end, b)]))
        lo, hi = min(start, on_run[0].start), max(end, on_run[-1].end)
        result.append(main.model_copy(update={"start": lo, "end": hi, "text": text[lo:hi]}))
        i = j
    result.extend(entities[i:])
    return result


def to_original(norm: Normalized, entities: list[Entity]) -> list[Entity]:
    """Entities found in ``norm.text`` with offsets and text of ``norm.original``.

    A span that cuts a folded block (one letter of a ligature) widens to the whole block; if two entities
    then touch the same original character, the later one starts after the earlier one.
    """
    if norm.text is norm.original:
        return entities
    out: list[Entity] = []
    for ent in entities:
        start, end = norm.span(ent.start, ent.end)
        if out and start < out[-1].end:
            start = out[-1].end
        if start < end:
            out.append(ent.model_copy(update={"start": start, "end": end, "text": norm.original[start:end]}))
    return out


def aggregate(text: str, tokens: list[_Token], min_score: float) -> list[Entity]:
    """Join word pieces into entity spans.

    Same-type pieces join when they touch (Rampart tags every piece of an e-mail B-EMAIL), when an I- piece
    follows across whitespace, or across a single space for types whose values contain spaces (phones,
    streets). O or low-confidence pieces end a span.
    """
    spans: list[tuple[str, int, int, list[float]]] = []
    current: tuple[str, int, int, list[float]] | None = None
    for tok in tokens:
        kind = tok.label[2:] if tok.label[:2] in ("B-", "I-") else None
        if kind is None or tok.score < min_score:
            if current:
                spans.append(current)
            current = None
            continue
        if current is not None and current[0] == kind:
            gap = text[current[2] : tok.start]
            joins = gap == "" or (gap.isspace() and (tok.label.startswith("I-") or (kind in _SPACE_JOINED and len(gap) == 1)))
            if joins:
                current = (kind, current[1], tok.end, current[3] + [tok.score])
                continue
        if current:
            spans.append(current)
        current = (kind, tok.start, tok.end, [tok.score])
    if current:
        spans.append(current)
    return [
        Entity(type=k, text=text[s:e], start=s, end=e, score=round(float(np.mean(sc)), 4)) for k, s, e, sc in spans
    ]


class RedactedEntity(Entity):
    redacted_start: int = Field(description="Offset of the mask in the redacted text.")
    redacted_end: int


class RedactParams(NerParams):
    mask: Literal["type", "char", "fixed"] = Field(
        "type", description="type: [EMAIL]; char: one mask_char per character (keeps length); fixed: fixed_text."
    )
    mask_char: str = Field("*", min_length=1, max_length=1)
    fixed_text: str = Field("[REDACTED]", max_length=64)

    _masks_unicode = field_validator("mask_char", "fixed_text", mode="before")(check_param_strings)


class RedactResult(TaskResult):
    text: str = Field(examples=["Contact [GIVEN_NAME] [SURNAME] at [EMAIL]."])
    entities: list[RedactedEntity]


class RedactTask(NerTask):
    name = "redact"
    description = "Mask personal data in text; entities report offsets in the original and the redacted text."
    Params = RedactParams
    Result = RedactResult

    def _run(self, texts: list[str], params: RedactParams) -> list[RedactResult]:  # type: ignore[override]
        found = super()._run(texts, params)
        return [redact(text, r.entities, params) for text, r in zip(texts, found)]

    def document(self, text: str, spans: Sequence[tuple[int, int]], params: RedactParams,  # type: ignore[override]
                 run_segments: Callable[[], list[RedactResult]], *, quote_text: bool = True) -> DocumentOutput:
        """The redacted document and its entity report. Segments tile the document, so their redacted texts
        joined are the redacted document; entity ``start``/``end`` shift by the segment's start and
        ``redacted_start``/``redacted_end`` by the length of the redacted text before it."""
        parts: list[str] = []
        entities: list[dict[str, Any]] = []
        shift, truncated = 0, False
        for (start, _end), res in zip(spans, run_segments()):
            dumped = res.model_dump(mode="json")
            for ent in dumped["entities"]:
                ent["start"] += start
                ent["end"] += start
                ent["redacted_start"] += shift
                ent["redacted_end"] += shift
                if not quote_text:
                    ent.pop("text", None)
                entities.append(ent)
            parts.append(dumped["text"])
            shift += len(dumped["text"])
            truncated = truncated or bool(dumped.get("truncated"))
        by_type = Counter(ent["type"] for ent in entities)
        report = {"entities": entities, "entity_count": len(entities), "by_type": dict(sorted(by_type.items())),
                  "truncated": truncated}
        return DocumentOutput("".join(parts), report)


def redact(text: str, entities: list[Entity], params: RedactParams) -> RedactResult:
    out: list[str] = []
    pos = 0
    shift = 0
    redacted: list[RedactedEntity] = []
    for ent in sorted(entities, key=lambda e: e.start):
        if ent.start < pos:  # overlapping spans cannot happen from aggregate(); guard anyway
            continue
        if params.mask == "type":
            mask = f"[{ent.type}]"
        elif params.mask == "char":
            mask = params.mask_char * (ent.end - ent.start)
        else:
            mask = params.fixed_text
        out.append(text[pos : ent.start])
        out.append(mask)
        r_start = ent.start + shift
        redacted.append(RedactedEntity(**ent.model_dump(), redacted_start=r_start, redacted_end=r_start + len(mask)))
        shift += len(mask) - (ent.end - ent.start)
        pos = ent.end
    out.append(text[pos:])
    return RedactResult(text="".join(out), entities=redacted)
