"""Pattern recognizers for structured personal data, combined with the Rampart model.

Rampart's own design pairs the model with deterministic patterns for values that have a checkable shape
(e-mail, URL, IP address, SSN, Luhn-valid card numbers, separated phone numbers): patterns are exact there,
the model handles names, addresses and free-form identifiers.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Match(NamedTuple):
    type: str
    start: int
    end: int


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.ASCII)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE | re.ASCII)
_IPV4 = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b", re.ASCII)
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b", re.ASCII)
_ITIN = re.compile(r"\b9\d{2}-(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])-\d{4}\b", re.ASCII)
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b", re.ASCII)
# Phones only with visible structure (separators or brackets), so bare digit runs stay with the model.
# Phone candidates: optional +country code, optional (area), then 2-6 digit groups split by one separator.
# Not a piece of a longer digit sequence (IBANs, ids written in groups): no digit group right before/after.
_PHONE = re.compile(
    r"(?<![\w+-])(?<!\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{1,4}){1,5}(?![\w-])(?![ .-]\d)",
    re.ASCII,
)
_NOT_PHONE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d+\.\d+\.\d+", re.ASCII)
# Types a pattern identifies for certain; a PHONE-shaped match may be another number, so the model's type wins.
EXACT_TYPES = ("EMAIL", "URL", "IP_ADDRESS", "SSN", "TAX_ID", "CREDIT_CARD")
_TRAILING = ".,;:!?)]}'\""

PATTERN_TYPES = ("EMAIL", "URL", "IP_ADDRESS", "SSN", "TAX_ID", "CREDIT_CARD", "PHONE")


def _luhn(digits: str) -> bool:
    total, double = 0, False
    for ch in reversed(digits):
        value = ord(ch) - 48
        if double:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
        double = not double
    return total % 10 == 0


def find(text: str) -> list[Match]:
    """Every pattern match, non-overlapping, earlier and longer first."""
    found: list[Match] = []
    for m in _EMAIL.finditer(text):
        found.append(Match("EMAIL", m.start(), m.end()))
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _TRAILING:
            end -= 1
        found.append(Match("URL", m.start(), end))
    for m in _IPV4.finditer(text):
        found.append(Match("IP_ADDRESS", m.start(), m.end()))
    for m in _SSN.finditer(text):
        found.append(Match("SSN", m.start(), m.end()))
    for m in _ITIN.finditer(text):
        found.append(Match("TAX_ID", m.start(), m.end()))
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            found.append(Match("CREDIT_CARD", m.start(), m.end()))
    for m in _PHONE.finditer(text):
        value = m.group()
        digits = sum(c.isdigit() for c in value)
        groups = len(re.split(r"[ .-]+", value.lstrip("+")))
        structured = value.startswith(("+", "(")) or groups >= 3
        if 7 <= digits <= 15 and structured and not _NOT_PHONE.fullmatch(value):
            found.append(Match("PHONE", m.start(), m.end()))
    found.sort(key=lambda x: (x.start, -(x.end - x.start)))
    kept: list[Match] = []
    for match in found:
        if not kept or match.start >= kept[-1].end:
            kept.append(match)
    return kept
