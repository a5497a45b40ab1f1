"""Sentence spans for the summariser: nupunkt's Punkt segmenter with a general-English abbreviation list.

``split_sentences(text)`` returns ``[start, end)`` character offsets into ``text`` (whitespace trimmed, so
``text[start:end]`` is the sentence) and never a 1-2 character fragment.

- Segmenter: nupunkt (Punkt sentence boundary detection; MIT, pure Python, no dependencies), chosen over
  pysbd, syntok, sentencex and blingfire on a hand-written set of initials, titles, abbreviations, decimals,
  URLs, e-mails, citations, quotes, lists, ellipses and text without final punctuation (see
  ``tests/unit/test_sentences.py``; ``benchmarks/segmenters.py`` prints the comparison): 79 of 81 exact with
  no false break, 38 of 38 held out; sentencex 75 (2 false breaks), pysbd 74 (3) and 5-11 s on 200 kB of
  prose, 22-26 s on ``"Ab. " * 12000``; syntok 72, blingfire 72 (99 MB, no aarch64 wheel); the old regex
  splitter 61 with 20 false breaks. nupunkt takes about a second on the worst 200 kB we found.
- Abbreviations: nupunkt's shipped model was trained on legal text and lists 5,865 "abbreviations",
  among them ordinary words that end sentences (``month``, ``week``, ``day``, ``can``, ``will``, ``so``), so
  "I'll call you in a month. Until then, rest." stayed one sentence. We keep its learned dotted forms
  (``u.s``, ``e.g``, ``a.m``) and single-letter initials, and add the general English list below.
- Blocks: blank lines and lines that open a list item (``- ``, ``* ``, ``• ``, ``1. ``, ``2) ``, ``a) ``)
  always end a sentence; a single newline inside a paragraph does not (hard-wrapped text stays whole).
  Full-width sentence ends (``。！？``) always end one.
- Fragments: a piece with no letter or digit, or of at most 2 characters, joins the sentence before it in
  the same block (the one after it at a block's start), so a stray ``"2."`` or ``"---"`` is never a sentence.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nupunkt
from nupunkt import PunktParameters, PunktSentenceTokenizer

#: General English abbreviations that do not end a sentence by themselves (lower case, no final period).
#: From pysbd's English list (MIT) and nupunkt's general list, without the ordinary words that often end a
#: sentence ("is", "me", "may", "miss", "art", "fed", ...), plus citation and measure abbreviations.
_ABBREVIATION_WORDS = """
    adj adm adv al ala alta apr ariz ark assn asst attys aug ave bart bld bldg blvd brig bros btw calif capt
    cl cmdr co col colo comdr conn corp cpl cres ct dak dec del dept det dist dr drs ens esp esq etc exp expy
    ext feb fla ft fwy fy ga gen gov hon hosp hr hway hwy ida inc ind insp jan jr jul jun kan kans ky lt ltd
    maj mar md mfg messrs mex mich minn mlle mm mme mont mr mrs ms msgr mssrs mt mtn neb nebr nev no nos nov
    nr oct okla ont ord pd pde penn penna pfc pl plz pp prof pvt que rd rs rep reps rev rt sask sen sens sep
    sept sfc sgt sr st supt surg tce tenn tex univ usafa ut va v ver viz vs vt wis wisc wy wyo yuk fig figs
    mon tue tues wed thu thur thurs fri sat sun govt approx eq eqs vol vols cf ca ch chap sec secs et min
    op ed eds trans est
"""
ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())

_BLOCK_BREAK = re.compile(
    r"\n[^\S\n]*\n\s*|\n(?=[^\S\n]*(?:[-*•‣◦▪–—]\s|\d{1,3}[.)]\s|[A-Za-z]\)\s|\(\w{1,4}\)\s))"
)
_FULL_STOP = re.compile(r"[。！？]+[」』）》】〕”’\"']*")


@lru_cache(maxsize=1)
def _segmenter() -> PunktSentenceTokenizer:
    """nupunkt's model with its abbreviation list pruned to dotted forms and initials, plus ours."""
    learned = nupunkt.load_default_model()._params
    abbreviations = {a for a in learned.abbrev_types if "." in a}
    abbreviations |= {chr(c) for c in range(ord("a"), ord("z") + 1)} | ABBREVIATIONS
    params = PunktParameters(
        abbrev_types=abbreviations,
        collocations=set(learned.collocations),
        sent_starters=set(learned.sent_starters),
        ortho_context=dict(learned.ortho_context),
        abbrev_break_rates=dict(learned.abbrev_break_rates),
    )
    return PunktSentenceTokenizer(params)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans [start, end) over `text`, whitespace trimmed, no 1-2 character fragments."""
    segmenter = _segmenter()
    spans: list[tuple[int, int]] = []
    for start, end in _blocks(text):
        block = text[start:end]
        if not block or block.isspace():
            continue
        pieces = []
        for _, (s, e) in segmenter.tokenize_with_spans(block):
            for a, b in _cut_full_stops(block, s, e):
                a, b = _trim(text, start + a, start + b)
                if b > a:
                    pieces.append((a, b))
        spans.extend(_merge_fragments(text, pieces))
    return _merge_fragments(text, spans)  # a block that is only a fragment ("---") joins the one before


def _blocks(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for match in _BLOCK_BREAK.finditer(text):
        out.append((start, match.start()))
        start = match.end()
    out.append((start, len(text)))
    return out


def _cut_full_stops(block: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    for match in _FULL_STOP.finditer(block, start, end):
        if match.end() < end:
            out.append((start, match.end()))
            start = match.end()
    out.append((start, end))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def is_fragment(piece: str) -> bool:
    """At most 2 characters, or no letter or digit at all: not a sentence on its own."""
    piece = piece.strip()
    return len(piece) <= 2 or not any(ch.isalnum() for ch in piece)


def _merge_fragments(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join each fragment to the span before it (to the next one when it comes first)."""
    out: list[list[int]] = []
    pending: int | None = None  # start of leading fragments that have no span before them yet
    for s, e in spans:
        if pending is not None:
            s, pending = pending, None
        if is_fragment(text[s:e]):
            if out:
                out[-1][1] = e
            else:
                pending = s
            continue
        out.append([s, e])
    if pending is not None:  # nothing but fragments: they form one span
        out.append([pending, spans[-1][1]])
    return [(s, e) for s, e in out]


__all__ = ["ABBREVIATIONS", "is_fragment", "split_sentences"]
