"""Shared helpers for the PII held-out set: label scheme, inline markup, subtype rules.

Inline markup used by the generator and by the hand-written source file:

    [[TYPE:SUBTYPE|value]]      e.g. [[PERSON:NAME_WITH_MIDDLE_INITIAL|Ella H. Snider]]
    [[ALIAS|value]]             e.g. [[NM|Ella H. Snider]]   (aliases below)

`parse_markup(text)` removes the markers and returns (plain_text, entities) with
Python code-point offsets, so that plain_text[start:end] == value.
"""
import re
import unicodedata

SCHEME = {
    "PERSON": ["FULL_NAME", "GIVEN_NAME_ONLY", "SURNAME_ONLY", "LOWERCASE_NAME",
               "NAME_WITH_DIACRITICS", "NAME_WITH_MIDDLE_INITIAL"],
    "EMAIL": ["EMAIL"],
    "PHONE": ["PHONE"],
    "ADDRESS": ["STREET_ADDRESS", "UNIT_ADDRESS", "MILITARY_ADDRESS", "NON_LATIN_ADDRESS",
                "DIACRITIC_ADDRESS", "POSTCODE_COUNTRY_END"],
    "CREDIT_CARD": ["CREDIT_CARD"],
    "BANK_ACCOUNT": ["IBAN", "IBAN_GROUPED", "ACCOUNT_NUMBER", "ROUTING_NUMBER", "SORT_CODE"],
    "GOVERNMENT_ID": ["SSN", "PASSPORT", "DRIVERS_LICENSE", "NATIONAL_ID", "TAX_ID"],
    "URL": ["URL"],
    "IP_ADDRESS": ["IPV4", "IPV6"],
}

ALIASES = {
    "N": ("PERSON", "FULL_NAME"), "NG": ("PERSON", "GIVEN_NAME_ONLY"),
    "NS": ("PERSON", "SURNAME_ONLY"), "NL": ("PERSON", "LOWERCASE_NAME"),
    "ND": ("PERSON", "NAME_WITH_DIACRITICS"), "NM": ("PERSON", "NAME_WITH_MIDDLE_INITIAL"),
    "EM": ("EMAIL", "EMAIL"), "PH": ("PHONE", "PHONE"),
    "A": ("ADDRESS", "STREET_ADDRESS"), "AU": ("ADDRESS", "UNIT_ADDRESS"),
    "AM": ("ADDRESS", "MILITARY_ADDRESS"), "ANL": ("ADDRESS", "NON_LATIN_ADDRESS"),
    "AD": ("ADDRESS", "DIACRITIC_ADDRESS"), "AC": ("ADDRESS", "POSTCODE_COUNTRY_END"),
    "CC": ("CREDIT_CARD", "CREDIT_CARD"),
    "IBAN": ("BANK_ACCOUNT", "IBAN"), "IBANG": ("BANK_ACCOUNT", "IBAN_GROUPED"),
    "ACCT": ("BANK_ACCOUNT", "ACCOUNT_NUMBER"), "ROUT": ("BANK_ACCOUNT", "ROUTING_NUMBER"),
    "SORT": ("BANK_ACCOUNT", "SORT_CODE"),
    "SSN": ("GOVERNMENT_ID", "SSN"), "PASS": ("GOVERNMENT_ID", "PASSPORT"),
    "DL": ("GOVERNMENT_ID", "DRIVERS_LICENSE"), "NID": ("GOVERNMENT_ID", "NATIONAL_ID"),
    "TAX": ("GOVERNMENT_ID", "TAX_ID"),
    "URL": ("URL", "URL"), "IP4": ("IP_ADDRESS", "IPV4"), "IP6": ("IP_ADDRESS", "IPV6"),
}

MARK_RE = re.compile(r"\[\[([A-Z0-9_]+)(?::([A-Z0-9_]+))?\|(.*?)\]\]", re.DOTALL)


def mark(typ, sub, value):
    assert typ in SCHEME and sub in SCHEME[typ], (typ, sub)
    assert "]]" not in value and "[[" not in value, value
    return f"[[{typ}:{sub}|{value}]]"


def parse_markup(marked):
    out, ents, pos = [], [], 0
    cur = 0
    for m in MARK_RE.finditer(marked):
        out.append(marked[pos:m.start()])
        cur += m.start() - pos
        a, b, value = m.group(1), m.group(2), m.group(3)
        if b is None:
            if a not in ALIASES:
                raise ValueError(f"unknown alias {a!r} in {m.group(0)!r}")
            typ, sub = ALIASES[a]
        else:
            typ, sub = a, b
        if typ not in SCHEME or sub not in SCHEME[typ]:
            raise ValueError(f"bad label {typ}:{sub}")
        if not value or value != value.strip():
            raise ValueError(f"empty or space-padded value in {m.group(0)!r}")
        ents.append({"start": cur, "end": cur + len(value), "type": typ, "subtype": sub})
        out.append(value)
        cur += len(value)
        pos = m.end()
    out.append(marked[pos:])
    text = "".join(out)
    if "[[" in text or "]]" in text:
        raise ValueError("stray marker left in text: " + text[:200])
    for e in ents:
        assert text[e["start"]:e["end"]]  # non-empty
    return text, ents


# ---------------------------------------------------------------- subtype rules
def _is_latin_letter(ch):
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")


def has_non_latin_letters(s):
    return any(ch.isalpha() and not unicodedata.name(ch, "").startswith(("LATIN", "FEMININE ORDINAL", "MASCULINE ORDINAL")) for ch in s)


def has_latin_diacritics(s):
    """A Latin letter outside plain ASCII (é, ł, ß, ø, ...) or a combining mark on Latin text."""
    for ch in s:
        if ord(ch) > 127 and (_is_latin_letter(ch) or unicodedata.category(ch) == "Mn"):
            return True
    return False


def has_middle_initial(value):
    """An initial (one letter, upper-case or followed by a period) between two other name parts."""
    toks = value.split()
    for t in toks[1:-1]:
        core = t.removesuffix(".")
        if len(core) == 1 and core.isalpha() and (core.isupper() or t.endswith(".")) and t not in ("Ó", "O"):
            return True
    return False


def person_subtype(value, form="full"):
    """form: 'full' (several name parts), 'given' or 'surname' (one name part).
    Precedence: NAME_WITH_MIDDLE_INITIAL > LOWERCASE_NAME > GIVEN_NAME_ONLY/SURNAME_ONLY
    > NAME_WITH_DIACRITICS > FULL_NAME."""
    if has_middle_initial(value):
        return "NAME_WITH_MIDDLE_INITIAL"
    cased = [c for c in value if c.isalpha() and (c.isupper() or c.islower())]
    if cased and all(c.islower() for c in cased):
        return "LOWERCASE_NAME"
    if form == "given":
        return "GIVEN_NAME_ONLY"
    if form == "surname":
        return "SURNAME_ONLY"
    if has_latin_diacritics(value) and not has_non_latin_letters(value):
        return "NAME_WITH_DIACRITICS"
    return "FULL_NAME"


MILITARY_RE = re.compile(r"\b(APO|FPO|DPO)\s+(AA|AE|AP)\b")
UNIT_RE = re.compile(
    r"\b(?:Suite|Apt|Apartment|Unit|Flat|Room|Rm|Studio|Level|Floor|Piso|Puerta|Planta|"
    r"Appartamento|Interno|Int|Piano|Scala|Whg|Wohnung|App|Appartement|appt|Bât|Bâtiment|"
    r"Étage|lgh|Apto|Sala|Bloco|Conj|Conjunto|byt|Unidad|Dpto|Depto|Dept|m|кв)\b\.?\s*(?:No\.?\s*|Nr\.?\s*|n[º°o]\.?\s*)?#?\s*\w{0,2}\d"
    r"|#\s?\d|\b\d+\s?(?:st|nd|rd|th)\s+Floor\b", re.IGNORECASE)


def address_subtype(value, country_end=False):
    """Precedence: MILITARY > NON_LATIN > UNIT > POSTCODE_COUNTRY_END > DIACRITIC > STREET."""
    if MILITARY_RE.search(value):
        return "MILITARY_ADDRESS"
    if has_non_latin_letters(value):
        return "NON_LATIN_ADDRESS"
    if UNIT_RE.search(value):
        return "UNIT_ADDRESS"
    if country_end:
        return "POSTCODE_COUNTRY_END"
    if has_latin_diacritics(value):
        return "DIACRITIC_ADDRESS"
    return "STREET_ADDRESS"


def P(value, form="full"):
    return mark("PERSON", person_subtype(value, form), value)


def A(value, country_end=False):
    return mark("ADDRESS", address_subtype(value, country_end), value)
