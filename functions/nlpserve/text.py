"""Text checks every entry point shares (API, batch readers, CLI): what counts as empty, what cannot be encoded.

- ``is_blank(text)``: True when a person would see nothing: only whitespace (``str.isspace``), format
  characters (Unicode category Cf: zero-width space/joiners, BOM, bidi marks, soft hyphen), control
  characters (Cc), variation selectors and combining-grapheme joiner. Such a text has no content to score.
- ``lone_surrogate(text)``: the index of the first unpaired UTF-16 surrogate (U+D800..U+DFFF), else None.
  JSON's ``"\\ud83d"`` escape decodes to one in Python; it cannot be encoded as UTF-8, so the text is
  rejected (API: 422 naming the item and position; batch: a record-level ``invalid_unicode`` error).
  ``surrogate_message`` words that rejection; ``check_param_strings`` applies it to string parameters.
- ``normalize_for_matching(text)``: the text as a reader sees it (NFKC, one dash, one space, ASCII digits,
  no zero-width characters) with an exact map back to the original offsets; what the NER model and the
  PII patterns read, so text that a person reads as the same is treated the same.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic_core import PydanticCustomError

_SURROGATE = re.compile("[\ud800-\udfff]")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me"})
_INVISIBLE_EXTRA = frozenset({"\u3164", "\uffa0", "\u115f", "\u1160", "\u2800"})  # Hangul fillers, braille blank


def lone_surrogate(text: str) -> int | None:
    """Index of the first lone surrogate code point in ``text``, or None (UTF-8 encodable)."""
    match = _SURROGATE.search(text)
    return match.start() if match else None


def surrogate_message(text: str, position: int) -> str:
    """What to tell the sender about the lone surrogate at ``position``."""
    return (
        f"has an unpaired surrogate U+{ord(text[position]):04X} at character {position} "
        "(not valid Unicode; send UTF-8 / a complete surrogate pair)"
    )


def check_param_strings(value: Any) -> Any:
    """Pydantic validator body for string parameters (``labels``, ``entity_types``, ``mask_char``...).

    Raises a validation error (HTTP 422) naming the item and the character position of a lone surrogate,
    which could not be encoded in the response. Other values pass through for pydantic's own checks.
    """
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    for i, item in enumerate(items):
        position = lone_surrogate(item) if isinstance(item, str) else None
        if position is not None:
            where = "value" if isinstance(value, str) else f"item {i}"
            raise PydanticCustomError(
                "unpaired_surrogate", f"{where} {surrogate_message(item, position)}", {"index": i, "position": position}
            )
    return value


def is_blank(text: str) -> bool:
    """True when ``text`` holds nothing visible (whitespace, zero-width, control or format characters only).

    Combining marks (Mn/Me) count as invisible only when nothing visible precedes them, which is the case
    when every character is invisible.
    """
    if not text or text.isspace():
        return True
    for ch in text:
        if ch in _INVISIBLE_EXTRA:
            continue
        if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES:
            return False
    return True


# -- matching form ------------------------------------------------------------------------------------------

# Characters that join the cluster before them, so NFKC can compose them with it: combining marks (M*),
# Hangul vowel/trailing jamo and compatibility jamo, the halfwidth katakana (semi-)voiced sound marks.
# (Every canonical composition's second character is in this set; tests/unit/test_text_matching.py checks.)
_JOINING_RANGES = (("\u1160", "\u11ff"), ("\ud7b0", "\ud7ff"), ("\u3131", "\u318e"), ("\uff9e", "\uff9f"))
_VARIATION_SELECTORS = (("\ufe00", "\ufe0f"), ("\U000e0100", "\U000e01ef"), ("\u180b", "\u180d"))
_COMPLEX = "\x00"  # in the translate table: this character needs the per-cluster path (NUL itself too)


def _in(ch: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    return any(lo <= ch <= hi for lo, hi in ranges)


@lru_cache(maxsize=4096)
def _joins(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M" or _in(ch, _JOINING_RANGES)


def _attaches(text: str, i: int) -> bool:
    """``text[i]`` belongs to the cluster before it: a joining character, or a run of format characters (dropped
    by the folding) that ends in one. ``A`` ZWSP U+0301 must fold to ``Á`` as ``A`` U+0301 does, or folding twice
    would compose what folding once left apart."""
    while i < len(text) and unicodedata.category(text[i]) == "Cf":
        i += 1
    return i < len(text) and _joins(text[i])


def _map_char(ch: str) -> str:
    """One character of NFKC output to its matching form (ASCII passes through)."""
    if ch < "\x80":
        return ch
    cat = unicodedata.category(ch)
    if cat == "Zs":
        return " "
    if cat in ("Zl", "Zp"):
        return "\n"
    if cat == "Pd" or ch == "\u2212":  # every dash (hyphen, non-breaking hyphen, en/em dash, ...) and MINUS SIGN
        return "-"
    if cat == "Nd":  # any script's decimal digit (Arabic-Indic, Devanagari, ...) as the ASCII digit
        return chr(48 + unicodedata.decimal(ch))
    if cat == "Cf" or _in(ch, _VARIATION_SELECTORS):  # zero-width, bidi marks, BOM, soft hyphen: dropped
        return ""
    return ch


@lru_cache(maxsize=4096)
def _fold_cluster(cluster: str) -> str:
    """NFKC of one cluster, then dashes/spaces/digits/format characters mapped (see ``_map_char``).

    The NFKC result is used only if it is no longer than the UTF-8 encoding of the cluster's NFC form
    (U+FDFA would become 18 letters, ``½`` three characters); else the NFC form is kept. So composed and
    decomposed input fold alike, and the matching form never has more characters than the text has bytes:
    every byte limit also bounds the work done on it.
    """
    nfc = unicodedata.normalize("NFC", cluster)
    nfkc = unicodedata.normalize("NFKC", nfc)
    chosen = nfkc if len(nfkc) <= len(nfc.encode("utf-8", "surrogatepass")) else nfc
    if len(chosen) > len(cluster.encode("utf-8", "surrogatepass")):
        chosen = cluster
    mapped = "".join(_map_char(ch) for ch in chosen)
    # a dropped format character may have kept a mark from composing with its base ("A" ZWSP U+0301)
    return unicodedata.normalize("NFC", mapped) if len(mapped) < len(chosen) else mapped


class _SimpleChars(dict):
    """``str.translate`` table, filled on demand: a character that folds to exactly one character on its own
    and joins nothing maps to that character; any other to ``_COMPLEX``. Bounded (cleared when full)."""

    LIMIT = 65536

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch == _COMPLEX or _joins(ch):
            value = _COMPLEX
        else:
            folded = _fold_cluster(ch)
            value = folded if len(folded) == 1 else _COMPLEX
        if len(self) >= self.LIMIT:
            self.clear()
        self[code] = value
        return value


_SIMPLE = _SimpleChars()


@dataclass(frozen=True)
class Normalized:
    """A text in matching form (``text``) with an exact map back to ``original``.

    The map is a list of pieces: ``_starts[k]`` is where piece k starts in ``text``, ``_orig[k]`` its
    (start, end) in ``original`` and whether it is linear. A linear piece maps character for character, any
    other maps as a block (``e`` + combining acute -> ``é``, ``ﬁ`` -> ``fi``). Characters dropped in the
    matching form (zero-width, bidi marks) belong to no piece.
    """

    text: str
    original: str
    _starts: tuple[int, ...]  # strictly increasing: pieces are never empty
    _orig: tuple[tuple[int, int, bool], ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` of the matching-form range ``[start, end)``.

        A range that cuts a block piece (one letter of a ligature) widens to the whole block, so a span never
        leaves part of what it matched visible. Dropped characters inside the range are inside the result;
        at its edges they stay out.
        """
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) outside 0..{len(self.text)}")
        if start == end:
            return self.position(start), self.position(start)
        k = bisect_right(self._starts, start) - 1
        o_start, _, linear = self._orig[k]
        first = o_start + (start - self._starts[k]) if linear else o_start
        k = bisect_right(self._starts, end - 1) - 1
        o_start, o_end, linear = self._orig[k]
        last = o_start + (end - self._starts[k]) if linear else o_end
        return first, last

    def position(self, index: int) -> int:
        """Original offset of the boundary before matching-form character ``index`` (``len(text)``: the end)."""
        if index >= len(self.text):
            return self._orig[-1][1] if self._orig else len(self.original)
        k = bisect_right(self._starts, index) - 1
        o_start, _, linear = self._orig[k]
        return o_start + (index - self._starts[k]) if linear else o_start


def normalize_for_matching(text: str) -> Normalized:
    """The text as a reader sees it, for pattern matching and the NER model, with exact offsets back.

    Per cluster (a character plus the combining marks that follow it): Unicode NFKC (fullwidth and other
    compatibility forms to their plain letters and digits, composed and decomposed accents to one form,
    ``＠`` to ``@``), then every dash (category Pd, and U+2212 MINUS SIGN) to ``-``, every space separator
    (category Zs: NBSP, narrow NBSP, thin, figure, ideographic space) to `` ``, line/paragraph separators
    to ``\\n``, decimal digits of any script to ASCII digits, and format characters (category Cf:
    zero-width space/joiners, BOM, bidi marks, soft hyphen) and variation selectors dropped. Everything
    comes from the Unicode database in ``unicodedata``; no hand-made character tables. ASCII text is
    returned as is; characters that fold one-to-one go through ``str.translate`` (C speed).
    """
    n = len(text)
    if text.isascii():
        return Normalized(text, text, (0,) if n else (), ((0, n, True),) if n else ())
    out: list[str] = []
    starts: list[int] = []
    orig: list[tuple[int, int, bool]] = []
    length = 0

    def add(piece: str, o_start: int, o_end: int, linear: bool) -> None:
        nonlocal length
        if not piece:
            return
        if linear and orig and orig[-1][2] and orig[-1][1] == o_start:
            orig[-1] = (orig[-1][0], o_end, True)  # continues the previous linear piece
        else:
            starts.append(length)
            orig.append((o_start, o_end, linear))
        out.append(piece)
        length += len(piece)

    simple = text.translate(_SIMPLE)  # same length as text; _COMPLEX where a cluster needs a closer look
    pos = 0
    while pos < n:
        c = simple.find(_COMPLEX, pos)
        if c < 0:
            add(simple[pos:], pos, n, True)
            break
        start = c - 1 if c > pos and _attaches(text, c) else c  # a mark composes with the character before it
        add(simple[pos:start], pos, start, True)
        end = c + 1
        while end < n and _attaches(text, end):
            end += 1
        folded = _fold_cluster(text[start:end])
        add(folded, start, end, end - start == 1 and len(folded) == 1)
        pos = end
    return Normalized("".join(out), text, tuple(starts), tuple(orig))


__all__ = [
    "Normalized",
    "check_param_strings",
    "is_blank",
    "lone_surrogate",
    "normalize_for_matching",
    "surrogate_message",
]
