"""Text checks every entry point shares (API, batch readers, CLI): what counts as empty, what cannot be encoded.

- ``is_blank(text)``: True when a person would see nothing: only whitespace (``str.isspace``), format
  characters (Unicode category Cf: zero-width space/joiners, BOM, bidi marks, soft hyphen), control
  characters (Cc), variation selectors and combining-grapheme joiner. Such a text has no content to score.
- ``lone_surrogate(text)``: the index of the first unpaired UTF-16 surrogate (U+D800..U+DFFF), else None.
  JSON's ``"\\ud83d"`` escape decodes to one in Python; it cannot be encoded as UTF-8, so the text is
  rejected (API: 422 naming the item and position; batch: a record-level ``invalid_unicode`` error).
"""

from __future__ import annotations

import re
import unicodedata

_SURROGATE = re.compile("[\ud800-\udfff]")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me"})
_INVISIBLE_EXTRA = frozenset({"\u3164", "\uffa0", "\u115f", "\u1160", "\u2800"})  # Hangul fillers, braille blank


def lone_surrogate(text: str) -> int | None:
    """Index of the first lone surrogate code point in ``text``, or None (UTF-8 encodable)."""
    match = _SURROGATE.search(text)
    return match.start() if match else None


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


__all__ = ["is_blank", "lone_surrogate"]
