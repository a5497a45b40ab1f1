"""Pattern recognizers for structured personal data, combined with the Rampart model.

Rampart's own design pairs the model with deterministic patterns for values that have a checkable shape
(e-mail, URL, IP address, SSN, Luhn-valid card numbers, mod-97-valid IBANs, separated phone numbers, UK
National Insurance numbers, Luhn-valid Swedish personnummer, key-valid French NIR, Indian IFSC codes):
patterns are exact there, the model handles names, addresses and free-form identifiers.

Matching runs on the text's matching form (``nlpserve.text.normalize_for_matching``: NFKC, every Unicode
dash to ``-``, every space to `` ``, any script's digits to ASCII, zero-width and bidi characters dropped),
so ``415‑555‑0123`` with non-breaking hyphens, ``４１５ ５５５ ０１２３`` in fullwidth digits or an e-mail with
a decomposed accent match like their plain forms; ``find`` reports offsets into the text it was given.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import NamedTuple

from nlpserve.text import normalize_for_matching


class Match(NamedTuple):
    type: str
    start: int
    end: int


# Not glued to a Latin letter or digit before it (a CJK character right before "https://" is fine).
_URL = re.compile(r"(?<![A-Za-z0-9_])(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_IPV4 = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b", re.ASCII)
# IPv6 candidates: hex groups joined by colons (a "::" anywhere), optionally ending in dotted IPv4; validated by
# the standard library's ``ipaddress`` (so "12:30:45" times and "a:b" never pass).
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])", re.ASCII)
# US military mail (USPS Publication 28, 225): "PSC 0413, Box 8144" / "Unit 4719 Box 2" / "CMR 466, Box 12" /
# "USNS Lopez" / "USS Kidd" on the delivery line, then "APO|FPO|DPO" (the city), "AA|AE|AP" (the state), ZIP.
_MIL_LINE = re.compile(r"\b(?:(?:PSC|CMR|Unit) +\d{2,5},? +Box +\d{1,5}|US[NS]S +[A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)?)\b", re.ASCII)
_MIL_CITY = re.compile(r"\b(APO|FPO|DPO) +(AA|AE|AP) +(\d{5}(?:-\d{4})?)\b", re.ASCII)
# "City, ST 12345" on one line: a US state or territory code between a comma and a ZIP (the model often
# reads the city and the ZIP but not the two capitals between them).
_US_STATES = frozenset([
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
    "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
    "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP",
    "PR", "VI"
])
_STATE_ZIP = re.compile(r"(?<=[A-Za-z.]), ?([A-Z]{2}),? (\d{5}(?:-\d{4})?)\b", re.ASCII)
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b", re.ASCII)
# National ids with a published shape and check: UK National Insurance number (HMRC: two prefix letters from
# the allowed sets, six digits, suffix A-D; usually written in pairs), Swedish personnummer (YYMMDD-NNNN, Luhn
# over the ten digits), French NIR (sex, year, month, department, commune, order, then a 97-complement key).
_NINO = re.compile(r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", re.ASCII)
_PERSONNUMMER = re.compile(r"(?<![\w-])(?:19|20)?(\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))[-+](\d{4})(?![\w-])", re.ASCII)
_NIR = re.compile(r"(?<![\w])([12]) ?(\d{2}) ?(0[1-9]|1[0-2]|[2-9]\d) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})(?![\w])",
                  re.ASCII)
# Indian Financial System Code: four bank letters, a zero, six branch characters ("HDFC0001234").
_IFSC = re.compile(r"\b[A-Z]{4}0[A-Z0-9]{6}\b", re.ASCII)
_ITIN = re.compile(r"\b9\d{2}-(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])-\d{4}\b", re.ASCII)
# Separators a grouped number may have between its groups (in matching form, where every Unicode space is
# " " and every dash "-"): a run of spaces, tabs, dots, dashes and slashes, with at most one line break.
_SEP = r"(?:[ \t./-]*\n[ \t./-]*|[ \t./-]+)"
_SEP_RUN = re.compile(_SEP)
# A card candidate: digit groups joined by separator runs (or none), not glued to more digits or letters.
_CARD = re.compile(rf"(?<!\w)\d+(?:{_SEP}\d+)*(?![\w])", re.ASCII)
# International phone: +country code, optional (0) trunk prefix and (area), then groups of up to 8 digits
# (E.164 allows 15 digits in all); "+44 7911 123456", "+49 (0)30 1234567", "+55 11 91234-5678".
_INTL_PHONE = re.compile(
    r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\(\d{1,5}\))?[ .-]?\d{1,8}(?:[ .-]\d{1,8}){0,5}(?![\w-])(?![ .-]\d)",
    re.ASCII,
)
# Phones only with visible structure (separators or brackets), so bare digit runs stay with the model.
# Phone candidates: optional +country code, optional (area), then 2-6 digit groups split by one separator.
# Not a piece of a longer digit sequence (IBANs, ids written in groups): no digit group right before/after.
_PHONE = re.compile(
    r"(?<![\w+-])(?<!\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{1,4}){1,5}(?![\w-])(?![ .-]\d)",
    re.ASCII,
)
_NOT_PHONE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d+\.\d+\.\d+", re.ASCII)
# An IBAN starts with a country code and two check digits, not inside a longer word.
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})", re.ASCII)
# Types a pattern identifies for certain; a PHONE-shaped match may be another number, so the model's type wins.
EXACT_TYPES = ("EMAIL", "URL", "IP_ADDRESS", "SSN", "TAX_ID", "CREDIT_CARD", "BANK_ACCOUNT", "SECONDARY_ADDRESS",
               "CITY", "STATE", "ZIP_CODE", "GOVERNMENT_ID", "ROUTING_NUMBER")
_TRAILING = ".,;:!?)]}'\""
_LOCAL_EXTRA = frozenset("._%+-")  # e-mail local part: letters, marks, digits of any script and these
_DOMAIN_EXTRA = frozenset(".-")

PATTERN_TYPES = ("EMAIL", "URL", "IP_ADDRESS", "SSN", "TAX_ID", "CREDIT_CARD", "BANK_ACCOUNT", "PHONE",
                 "SECONDARY_ADDRESS", "CITY", "STATE", "ZIP_CODE", "COUNTRY", "GOVERNMENT_ID", "ROUTING_NUMBER")

# ISO 13616 IBAN formats: country code -> BBAN structure (n: digits, a: upper-case letters, c: letters or
# digits; "8!n" = exactly 8 digits), as published in the SWIFT IBAN Registry (release 101, 89 countries;
# cross-checked against python-stdnum 2.2's iban.dat, which is generated from the same registry). The IBAN
# length is 4 + the BBAN length. Kept here (2 KB) rather than as a dependency: python-stdnum is LGPL and
# 3.3 MB / 362 files unpacked, schwifty pulls pycountry; both would go into the Lambda runtime layer.
_IBAN_BBAN = {
    "AD": "4!n4!n12!c", "AE": "3!n16!n", "AL": "8!n16!c", "AT": "5!n11!n", "AZ": "4!a20!c",
    "BA": "3!n3!n8!n2!n", "BE": "3!n7!n2!n", "BG": "4!a4!n2!n8!c", "BH": "4!a14!c", "BI": "5!n5!n11!n2!n",
    "BR": "8!n5!n10!n1!a1!c", "BY": "4!c4!n16!c", "CH": "5!n12!c", "CR": "4!n14!n", "CY": "3!n5!n16!c",
    "CZ": "4!n16!n", "DE": "8!n10!n", "DJ": "5!n5!n11!n2!n", "DK": "4!n9!n1!n", "DO": "4!c20!n",
    "EE": "2!n14!n", "EG": "4!n4!n17!n", "ES": "4!n4!n1!n1!n10!n", "FI": "3!n11!n", "FK": "2!a12!n",
    "FO": "4!n9!n1!n", "FR": "5!n5!n11!c2!n", "GB": "4!a6!n8!n", "GE": "2!a16!n", "GI": "4!a15!c",
    "GL": "4!n9!n1!n", "GR": "3!n4!n16!c", "GT": "4!c20!c", "HN": "4!a20!n", "HR": "7!n10!n",
    "HU": "3!n4!n1!n15!n1!n", "IE": "4!a6!n8!n", "IL": "3!n3!n13!n", "IQ": "4!a3!n12!n",
    "IS": "4!n2!n6!n10!n", "IT": "1!a5!n5!n12!c", "JO": "4!a4!n18!c", "KW": "4!a22!c", "KZ": "3!n13!c",
    "LB": "4!n20!c", "LC": "4!a24!c", "LI": "5!n12!c", "LT": "5!n11!n", "LU": "3!n13!c", "LV": "4!a13!c",
    "LY": "3!n3!n15!n", "MC": "5!n5!n11!c2!n", "MD": "2!c18!c", "ME": "3!n13!n2!n", "MK": "3!n10!c2!n",
    "MN": "4!n12!n", "MR": "5!n5!n11!n2!n", "MT": "4!a5!n18!c", "MU": "4!a2!n2!n12!n3!n3!a", "NI": "4!a20!n",
    "NL": "4!a10!n", "NO": "4!n6!n1!n", "OM": "3!n16!c", "PK": "4!a16!c", "PL": "8!n16!n", "PS": "4!a21!c",
    "PT": "4!n4!n11!n2!n", "QA": "4!a21!c", "RO": "4!a16!c", "RS": "3!n13!n2!n", "RU": "9!n5!n15!c",
    "SA": "2!n18!c", "SC": "4!a2!n2!n16!n3!a", "SD": "2!n12!n", "SE": "3!n16!n1!n", "SI": "5!n8!n2!n",
    "SK": "4!n6!n10!n", "SM": "1!a5!n5!n12!c", "SO": "4!n3!n12!n", "ST": "4!n4!n11!n2!n", "SV": "4!a20!n",
    "TL": "3!n14!n2!n", "TN": "2!n3!n13!n2!n", "TR": "5!n1!n16!c", "UA": "6!n19!c", "VA": "3!n15!n",
    "VG": "4!a16!n", "XK": "4!n10!n2!n", "YE": "4!a4!n18!c",
}
_BBAN_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}


def _bban_regex(spec: str) -> re.Pattern[str]:
    parts = re.findall(r"(\d+)!([nac])", spec)
    return re.compile("".join(f"{_BBAN_CLASS[kind]}{{{count}}}" for count, kind in parts))


_IBAN_FORMAT = {country: (4 + sum(int(n) for n in re.findall(r"\d+", spec)), _bban_regex(spec))
                for country, spec in _IBAN_BBAN.items()}


def iban_valid(iban: str) -> bool:
    """ISO 13616: known country, its length and BBAN structure, and the mod-97 check (== 1)."""
    iban = iban.upper()
    fmt = _IBAN_FORMAT.get(iban[:2])
    if fmt is None or len(iban) != fmt[0] or not iban[2:4].isdigit() or not fmt[1].fullmatch(iban[4:]):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _nir_valid(m: re.Match[str]) -> bool:
    """French NIR key: 97 - (the 13 digits mod 97), Corsica's 2A/2B read as 19/18."""
    department = {"2A": "19", "2B": "18"}.get(m.group(4), m.group(4))
    number = int(m.group(1) + m.group(2) + m.group(3) + department + m.group(5) + m.group(6))
    return 97 - number % 97 == int(m.group(7))


def _luhn(digits: str) -> bool:
    total, double = 0, False
    for ch in reversed(digits):
        value = ord(ch) - 48
        if double:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
        double = not double
    return total % 10 == 0


def _is_word(ch: str) -> bool:
    """A letter or digit of any script, or a combining mark (Devanagari vowel signs, viramas, ...)."""
    return ch.isalnum() or (ch > "\x7f" and unicodedata.category(ch)[0] == "M")


def _emails(text: str) -> list[Match]:
    """Internationalised e-mail addresses (RFC 6531): Unicode letters in the local part and the domain.

    Found from each ``@``: the local part runs left over letters, marks, digits and ``._%+-``; the domain
    right over labels of letters, marks, digits and ``-`` joined by dots, and ends in a top-level label of
    at least two letters (or an IDNA ``xn--`` label). Linear in the text length.
    """
    found: list[Match] = []
    n = len(text)
    at = text.find("@")
    while at >= 0:
        start = at
        while start > 0 and (_is_word(text[start - 1]) or text[start - 1] in _LOCAL_EXTRA):
            start -= 1
        while start < at and text[start] == ".":
            start += 1
        end = at + 1
        while end < n and (_is_word(text[end]) or text[end] in _DOMAIN_EXTRA):
            end += 1
        while end > at + 1 and text[end - 1] in _DOMAIN_EXTRA:
            end -= 1
        labels = text[at + 1 : end].split(".")
        tld = labels[-1]
        tld_ok = (len(tld) >= 2 and tld[0].isalpha() and all(not c.isdigit() and _is_word(c) for c in tld)) or (
            tld[:4].lower() == "xn--" and len(tld) > 4
        )
        if start < at and len(labels) >= 2 and all(labels) and tld_ok:
            found.append(Match("EMAIL", start, end))
        at = text.find("@", at + 1)
    return found


def _ibans(text: str) -> list[Match]:
    """IBANs in electronic (``DE89370400440532013000``) or paper form (groups split by any separator run:
    spaces, tabs, dots, dashes, slashes, at most one line break: ``DE89  3704.0044\t0532``).

    The country's registered length says where the number ends, so a following word is never swallowed;
    the structure and mod-97 check make a false match on other text about 1 in 97 x format odds.
    """
    found: list[Match] = []
    n = len(text)
    for m in _IBAN_START.finditer(text):
        fmt = _IBAN_FORMAT.get(m.group(1).upper())
        if fmt is None:
            continue
        chars = [m.group(1), m.group(2)]
        need, pos = fmt[0] - 4, m.end()
        while need and pos < n:
            ch = text[pos]
            if ch.isascii() and ch.isalnum():
                chars.append(ch)
                need -= 1
                pos += 1
            elif (sep := _SEP_RUN.match(text, pos)) and sep.end() < n and text[sep.end()].isascii() and text[sep.end()].isalnum():
                pos = sep.end()
            else:
                break
        if need or (pos < n and text[pos].isascii() and text[pos].isalnum()):
            continue
        if iban_valid("".join(chars)):
            found.append(Match("BANK_ACCOUNT", m.start(), pos))
    return found


def _cards(m: re.Match[str]) -> list[Match]:
    """Luhn-valid card numbers (13-19 digits) in a run of digit groups, each one or more whole groups.

    Written with a single space or dash, or none, the groups may be of any size (``4111 11111111 1111``);
    a wider separator (two spaces, a tab, a dot, a slash, a line break) only joins groups of 3 or more
    digits, so dates and version numbers stay apart. The longest valid stretch of whole groups wins
    (``4111.1111.1111.1111 12/28`` is still the card), but not one inside a longer number written with
    the same separator (4 groups of a 26-digit account number may pass Luhn by chance).
    """
    groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", m.group())]
    text, base = m.group(), m.start()
    seps = [text[groups[k][1] : groups[k + 1][0]] for k in range(len(groups) - 1)]
    count, short, wide = [0], [0], [0]  # in groups[:k]: digits, groups under 3 digits; in seps[:k]: wide ones
    for a, b in groups:
        count.append(count[-1] + b - a)
        short.append(short[-1] + (b - a < 3))
    for sep in seps:
        wide.append(wide[-1] + (sep not in (" ", "-")))
    found: list[Match] = []
    i = 0
    while i < len(groups):
        best = None
        # a stretch from group i goes on past it only if the separator before it differs from the one after
        last = i if 0 < i < len(seps) and seps[i - 1] == seps[i] else min(len(groups) - 1, i + 18)
        for j in range(last, i - 1, -1):  # 19 digits are at most 19 groups
            if not 13 <= count[j + 1] - count[i] <= 19:
                continue
            if wide[j] - wide[i] and short[j + 1] - short[i]:
                continue
            inner = seps[i:j]
            if (i > 0 and seps[i - 1] in inner) or (j + 1 < len(groups) and seps[j] in inner):
                continue  # the same separator goes on: part of a longer number (a 26-digit account)
            digits = "".join(text[a:b] for a, b in groups[i : j + 1])
            if _luhn(digits):
                best = j
                break
        if best is None:
            i += 1
            continue
        found.append(Match("CREDIT_CARD", base + groups[i][0], base + groups[best][1]))
        i = best + 1
    return found


def _url_end(text: str, start: int, end: int) -> int:
    """Cut a URL candidate at Unicode punctuation (。「」“”…) and drop trailing sentence punctuation."""
    for k in range(start, end):
        ch = text[k]
        if ch > "\x7f" and unicodedata.category(ch)[0] in "PZ":
            end = k
            break
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    return end


def addresses(text: str) -> list[Match]:
    """E-mail addresses and URLs in a text already in matching form (the values other entities never sit
    inside)."""
    found = _emails(text) if "@" in text else []
    found += [Match("URL", m.start(), _url_end(text, m.start(), m.end())) for m in _URL.finditer(text)]
    return found


def find_normalized(text: str) -> list[Match]:
    """Every pattern match in a text already in matching form; non-overlapping, earlier and longer first."""
    found: list[Match] = _emails(text) if "@" in text else []
    for m in _URL.finditer(text):
        found.append(Match("URL", m.start(), _url_end(text, m.start(), m.end())))
    for m in _IPV4.finditer(text):
        found.append(Match("IP_ADDRESS", m.start(), m.end()))
    if ":" in text:
        for m in _IPV6.finditer(text):
            if len(m.group()) < 6 or not any(c.isdigit() for c in m.group()):
                continue  # "a::b", "be:ef:ad": too short or no digit to be an address someone wrote down
            try:
                if ipaddress.ip_address(m.group()).version == 6:
                    found.append(Match("IP_ADDRESS", m.start(), m.end()))
            except ValueError:
                pass
    for m in _MIL_LINE.finditer(text):
        found.append(Match("SECONDARY_ADDRESS", m.start(), m.end()))
    for m in _MIL_CITY.finditer(text):
        found += [Match(kind, m.start(k), m.end(k)) for k, kind in ((1, "CITY"), (2, "STATE"), (3, "ZIP_CODE"))]
    for m in _STATE_ZIP.finditer(text):
        if m.group(1) in _US_STATES:
            found += [Match("STATE", m.start(1), m.end(1)), Match("ZIP_CODE", m.start(2), m.end(2))]
    for m in _SSN.finditer(text):
        found.append(Match("SSN", m.start(), m.end()))
    for m in _ITIN.finditer(text):
        found.append(Match("TAX_ID", m.start(), m.end()))
    for m in _NINO.finditer(text):
        if m.group()[:2].replace(" ", "") not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            found.append(Match("GOVERNMENT_ID", m.start(), m.end()))
    for m in _PERSONNUMMER.finditer(text):
        if _luhn(m.group(1) + m.group(2)):
            found.append(Match("GOVERNMENT_ID", m.start(), m.end()))
    for m in _NIR.finditer(text):
        if _nir_valid(m):
            found.append(Match("GOVERNMENT_ID", m.start(), m.end()))
    for m in _IFSC.finditer(text):
        if any(c.isdigit() for c in m.group()[5:]):
            found.append(Match("ROUTING_NUMBER", m.start(), m.end()))
    found.extend(_ibans(text))
    for m in _CARD.finditer(text):
        found.extend(_cards(m))
    for m in _INTL_PHONE.finditer(text):
        digits = sum(c.isdigit() for c in m.group()) - m.group().count("(0)")
        if 8 <= digits <= 15 and not _NOT_PHONE.search(m.group()):
            found.append(Match("PHONE", m.start(), m.end()))
    for m in _PHONE.finditer(text):
        value = m.group()
        digits = sum(c.isdigit() for c in value)
        groups = len(re.split(r"[ .-]+", value.lstrip("+")))
        structured = value.startswith(("+", "(")) or groups >= 3
        if 7 <= digits <= 15 and structured and not _NOT_PHONE.fullmatch(value.lstrip("+")):
            found.append(Match("PHONE", m.start(), m.end()))
    found.sort(key=lambda x: (x.start, -(x.end - x.start)))
    kept: list[Match] = []
    for match in found:
        if match.end > match.start and (not kept or match.start >= kept[-1].end):
            kept.append(match)
    return kept


def find(text: str) -> list[Match]:
    """Every pattern match in ``text`` (matched on its matching form), with offsets into ``text`` itself."""
    norm = normalize_for_matching(text)
    matches = find_normalized(norm.text)
    if norm.text is text:
        return matches
    return [Match(m.type, *norm.span(m.start, m.end)) for m in matches]
