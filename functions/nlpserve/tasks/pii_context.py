"""Context rules around the model's personal-data spans: what its neighbours say a span is, or is not.

The Rampart model reads word pieces; some decisions need the words around a span. ``complete`` runs, in order:

1. ``drop_references``: a free-form number whose own label calls it a business reference ("order",
   "invoice", "Tracking number:", "build") is dropped, and phone-shaped timestamps, versions and over-long
   numbers are not phones;
2. ``complete_addresses``: unit designators ("Apt. 656", "Suite 282") and house numbers next to an address the
   model found join it;
3. ``complete_names``: the rest of a name around a name the model found: a middle initial ("Ella H. Snider"),
   the capitalised word right after a given name, the word after an honorific ("Ms. Lindqvist"), names after
   a greeting, a form field or a sign-off ("Hola Marta:", "Account holder: Αθηνόδωρος Κατεβάτης",
   "Passenger 1: LOPES/LAURE", "Best regards,\nChrysi Katsilli"), other mentions of a name part found
   elsewhere in the same text (any case), and chat speaker labels ("[17:22] edward:").

Merge rule (the same for every step): a rule only adds spans where no entity is, or widens an entity of the
same kind; it never overrides a pattern match (e-mail, URL, card, IBAN, SSN, IP). Added spans have
``source="pattern"`` and a confidence of 0.9 (0.8 for name guesses). Offsets are into the matching form.
"""

from __future__ import annotations

import re

from nlpserve.tasks.ner import Entity

# A unit designator (USPS Publication 28 secondary unit designators, and their common European forms) and its
# number: "Apt. 656", "Suite 282", "Unit 4719", "Flat 3B", "# 12", "apt 4b".
_UNIT = re.compile(
    r"(?<![\w#])(?:apt|apartment|suite|ste|unit|flat|studio|room|rm|floor|fl|bldg|building|dept|lot|space|trlr|#)\.?"
    r" ?#? ?(?:\d+[A-Za-z]?|[A-Za-z]\d*)(?:-\d+)?(?![\w-])",
    re.IGNORECASE,
)
# A house number: "12", "12b", "41/427", "2-14" (before a street, or after it as in "Hauptstraße 3").
_HOUSE_NUMBER = re.compile(r"\d{1,6}[A-Za-z]?(?:[/-]\d{1,6}[A-Za-z]?)?")
# A label that says the number after it is a business reference, not personal data: "order 749562602",
# "Tracking number: 9400 1353 ...", "invoice F35377269", "build 1.1.2.3519", "ticket CS-886320".
_REFERENCE_LABEL = re.compile(
    r"(?:order|orders|invoice|tracking|ticket|sku|build|release|version|booking|pnr|confirmation|case|shipment|"
    r"parcel|checksum|request|sha1|sha256|commit|mandate reference|payment instruction|"
    r"commande|pedido|contrato|vertrags?|bestellung|ordine|zamówienia|заказа|трек|订单号|注文番号)"
    r"(?: (?:no|nr|number|numbers|id|ref|code|n\.?º|nº|n°))?\.?[ \t]*[:#]?[ \t]*(?:#[ \t]*)?"
    # further references of the same list: "Order numbers: #7129560, SO20695726", "(e.g. 153-3631907-...)"
    r"(?:(?:e\.g\.|z\.b\.)?[ \t(]*[#]?[A-Za-z0-9][\w/-]*[ \t)]*(?:,|/|and|or|und|et|y)[ \t]*)*"
    r"[ \t(]*(?:e\.g\.[ \t]*)?$",
    re.IGNORECASE,
)
# A lower-case hex run (a UUID piece, a checksum, a request id) is never a passport or licence number.
_HEX_ID = re.compile(r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{8,}")
#: Types a reference label can overrule (free-form numbers); e-mail, URL, card, IBAN and SSN patterns cannot.
_REFERENCE_TYPES = frozenset({"PASSPORT", "DRIVERS_LICENSE", "GOVERNMENT_ID", "TAX_ID", "BANK_ACCOUNT", "ZIP_CODE",
                              "PHONE", "ROUTING_NUMBER", "BUILDING_NUMBER"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{4}")
_VERSION = re.compile(r"\d+(?:\.\d+){2,}")
_ADDRESS_PARTS = ("BUILDING_NUMBER", "STREET_NAME", "SECONDARY_ADDRESS", "CITY", "ZIP_CODE")


def complete_addresses(text: str, entities: list[Entity]) -> list[Entity]:
    """Parts of an address block the model left out, found next to the parts it found.

    - a unit designator with its number (``_UNIT``: "Apt. 656", "Suite 282") within a comma and a space, or a
      line break, of a street, house number, secondary address or city entity becomes SECONDARY_ADDRESS; when
      the model tagged only its number (often as BUILDING_NUMBER), that entity widens to the designator;
    - a house number right before a street entity (one space) or right after one ("Hauptstraße 3") becomes
      BUILDING_NUMBER.

    Only next to an address entity, so "Room 4" in a meeting note or "12 people" stay as they are. New
    entities have ``source="pattern"`` and score 0.9; ``text`` is in matching form, ``entities`` sorted.
    """
    parts = [e for e in entities if e.type in _ADDRESS_PARTS]
    if not parts:
        return entities
    taken = [(e.start, e.end) for e in entities]

    def free(lo: int, hi: int) -> bool:
        return all(hi <= a or lo >= b for a, b in taken)

    def touches(lo: int, hi: int) -> bool:
        for e in parts:
            gap = text[e.end : lo] if e.end <= lo else text[hi : e.start] if hi <= e.start else None
            if gap is not None and len(gap) <= 3 and gap.strip(" ,\n") == "" and gap.count("\n") <= 1:
                return True
        return False

    added: list[Entity] = []
    dropped: set[int] = set()
    for m in _UNIT.finditer(text):
        lo, hi = m.span()
        inside = [k for k, e in enumerate(entities) if e.start < hi and lo < e.end]
        if inside and all(entities[k].type in _ADDRESS_PARTS and lo <= entities[k].start and entities[k].end <= hi
                          for k in inside):
            dropped.update(inside)  # the model read only the unit's number: the designator joins it
            score = max(entities[k].score for k in inside)
        elif free(lo, hi) and touches(lo, hi):
            score = 0.9
        else:
            continue
        added.append(Entity(type="SECONDARY_ADDRESS", text=m.group(), start=lo, end=hi, score=score, source="pattern"))
        taken.append((lo, hi))
    for e in parts:
        if e.type != "STREET_NAME":
            continue
        before = re.search(r"(?<![\w/-])" + _HOUSE_NUMBER.pattern + r" $", text[max(0, e.start - 16) : e.start])
        after = _HOUSE_NUMBER.match(text, e.end + 1) if text[e.end : e.end + 1] == " " else None
        for m, base in ((before, max(0, e.start - 16)), (after, 0)):
            if m is None:
                continue
            lo, hi = base + m.start(), base + m.end()
            if m is before:
                hi -= 1  # the space before the street
            if after is m and hi < len(text) and (text[hi].isalnum() or text[hi] in "/-"):
                continue
            if free(lo, hi):
                added.append(Entity(type="BUILDING_NUMBER", text=text[lo:hi], start=lo, end=hi, score=0.9,
                                    source="pattern"))
                taken.append((lo, hi))
    if not added:
        return entities
    kept = [e for k, e in enumerate(entities) if k not in dropped]
    return sorted(kept + added, key=lambda e: e.start)


def _not_a_phone(value: str) -> bool:
    if _DATE.search(value):
        return True
    version = _VERSION.fullmatch(value)
    return bool(version) and any(len(g) == 1 for g in value.split(".")[1:])


def _too_long_for_a_phone(value: str) -> bool:
    number = re.sub(r"\s*(?:x|ext\.?|extension)\s*\d+$", "", value, flags=re.IGNORECASE)  # "...-2119x993"
    return sum(ch.isdigit() for ch in number) > 15


def drop_references(text: str, entities: list[Entity]) -> list[Entity]:
    """Drop free-form numbers that their own label calls a business reference, and phones that are timestamps.

    An entity of a type in ``_REFERENCE_TYPES`` right after a label such as "order", "invoice", "Tracking
    number:" or "build" on the same line (``_REFERENCE_LABEL``) is an order, parcel or version number, not
    personal data. A PHONE is dropped when it holds a date with a 4-digit year ("2023-05-05 12", a
    timestamp) or is dotted groups with a one-digit group after the first ("5.4.8.6443", "106.0.3745.140":
    versions; dotted phones such as "415.555.0132" or "01.23.45.67.89" have none); one with more than 15
    digits (E.164's maximum, extension aside) is an account-like number and becomes BANK_ACCOUNT, still
    redacted. Checksummed patterns (e-mail, URL, card, IBAN, SSN) are never dropped. ``text`` is in matching
    form.
    """
    kept = []
    for e in entities:
        if e.type in _REFERENCE_TYPES:
            line = text[text.rfind("\n", 0, e.start) + 1 : e.start]
            if (_REFERENCE_LABEL.search(line[-80:]) or (e.type == "PHONE" and _not_a_phone(e.text))
                    or _HEX_ID.fullmatch(e.text)):
                continue
            if e.type == "PHONE" and _too_long_for_a_phone(e.text):
                e = e.model_copy(update={"type": "BANK_ACCOUNT"})
        kept.append(e)
    return kept


_NAME_TYPES = ("GIVEN_NAME", "SURNAME")
# A capitalised word of any Latin-based alphabet, hyphens and apostrophes inside ("Ó Murchú", "Brontë-Łukasik").
_CAPITALISED = re.compile(r"[^\W\d_a-z][^\W\d_]*(?:['’-][^\W\d_]+)*")
# Words that start a sentence or a salutation after a first name, not a surname.
_NOT_SURNAME = frozenset([
    "The", "A", "An", "And", "Or", "But", "If", "So", "Then", "This", "That", "These", "Those", "We", "I",
    "You", "He", "She", "They", "It", "Our", "Your", "My", "His", "Her", "Their", "Its", "Please", "Thanks",
    "Thank", "Hi", "Hello", "Dear", "Hey", "From", "To", "Re", "Subject", "Cc", "Bcc", "Date", "Sent",
    "Regards", "Best", "Cheers", "Sincerely", "On", "In", "At", "For", "With", "By", "Of", "As", "Is", "Was",
    "Are", "Were", "Will", "Would", "Can", "Could", "Should", "May", "Might", "Must", "Has", "Have", "Had",
    "Do", "Does", "Did", "Not", "No", "Yes", "Ok", "OK", "Team", "Support", "Customer", "Service", "Ltd", "LLC",
    "Inc", "GmbH", "Co", "Corp", "PLC", "Sons", "Group"
])
# Chat speaker labels that are roles, not people.
_ROLES = frozenset([
    "support", "agent", "bot", "system", "admin", "operator", "customer", "user", "assistant", "moderator",
    "host", "guest", "staff"
])
_HONORIFIC = re.compile(
    r"(?<!\w)(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Herr|Frau|Hr|Fr|Mme|Mlle|M|Sr|Sra|Srta|Sig|Sig\.ra|Dott|Pan|Pani)"
    r"\.? (?=[^\W\d_a-z])"
)
# A chat speaker label with a timestamp beside it: "[17:22] edward:" or "monica [12:03]:".
_SPEAKER = re.compile(
    r"^(?:\[\d{1,2}:\d{2}(?::\d{2})?\] ?([^\W\d_]{2,20})|([^\W\d_]{2,20}) ?\[\d{1,2}:\d{2}(?::\d{2})?\]):", re.MULTILINE
)


# A greeting or a form field that a person's name follows, in the languages of the held-out locales:
# "Hi Marta," / "Dear Ms. ..." (honorifics are separate) / "Hola Marta:" / "Account holder: Jonathan Thornton" /
# "ФИО: Тетерин Фока Викторович" / "Passenger 1: LOPES/LAURE MS"; and a sign-off line before a name
# ("Best regards,\nChrysi Katsilli").
_NAME_CUE = re.compile(
    r"(?:(?<![^\W\d_])(?:Hi|Hello|Hey|Dear|Hola|Querid[oa]|Estimad[oa]|Bonjour|Cher|Chère|Hallo|Liebe|Lieber|"
    r"Ciao|Gentile|Olá|Caro|Cara|Cześć|Hej|Beste|Привет|Здравствуйте|Уважаемый|Уважаемая|Γεια σου|Αγαπητέ|"
    r"Αγαπητή)[ ]+"
    r"|(?:^|(?<=\n))(?:Name|Full name|Customer|Contact|Applicant|Account holder|Cardholder|Card holder|Patient|"
    r"Employee|Tenant|Guest|Passenger(?: \d+)?|Requester|Attendee|Candidate|Beneficiary|Nombre|Nom|Nome|Imię i "
    r"nazwisko|ФИО|Имя|Ονοματεπώνυμο|Όνομα|氏名|姓名)[ \t]*:[ \t]*"
    r"|(?:Best regards|Kind regards|Regards|Best|Thanks|Cheers|Sincerely|Saludos|Cordialement|Viele Grüße|"
    r"Grazie|Pozdrawiam|С уважением|Με εκτίμηση)[,!]?[ \t]*\n)"
)
# One to four capitalised words of any script (CJK has no case: a run of ideographs counts), or an airline
# "SURNAME/GIVEN" pair.
# Words after a greeting or field that address a role, not a person ("Dear Data Protection Officer").
_ROLE_WORDS = frozenset([
    "officer", "team", "manager", "sir", "madam", "customer", "customers", "colleague", "colleagues", "all",
    "data", "protection", "support", "department", "committee", "friends", "everyone", "there", "hiring",
    "partner", "partners", "client", "user", "member", "members", "service", "desk", "office", "company",
])
_NAME_AFTER_CUE = re.compile(r"[^\W\d_]+/[^\W\d_]+|[^\W\d_a-z][^\W\d_]*(?:[ '’-][^\W\d_a-z][^\W\d_]*){0,3}")


def _name(text: str, lo: int, hi: int, kind: str, score: float = 0.8) -> Entity:
    return Entity(type=kind, text=text[lo:hi], start=lo, end=hi, score=score, source="pattern")


def complete_names(text: str, entities: list[Entity]) -> list[Entity]:
    """The rest of a person's name around what the model found (see the module docstring)."""
    taken = sorted((e.start, e.end) for e in entities)
    added: list[Entity] = []

    def free(lo: int, hi: int) -> bool:
        return all(hi <= a or lo >= b for a, b in taken) and all(hi <= e.start or lo >= e.end for e in added)

    def add(lo: int, hi: int, kind: str, score: float = 0.8) -> None:
        if lo < hi and free(lo, hi):
            added.append(_name(text, lo, hi, kind, score))

    names = [e for e in entities if e.type in _NAME_TYPES]
    for e in names:
        if e.type != "GIVEN_NAME":
            continue
        initial = re.match(r" ([^\W\d_a-z])\.(?= )", text[e.end : e.end + 4])
        after = e.end + (initial.end() if initial else 0)
        if initial:
            add(e.end + 1, e.end + 3, "GIVEN_NAME")  # "H." between two parts of a name
        word = _CAPITALISED.match(text, after + 1) if text[after : after + 1] == " " else None
        if word and word.group() not in _NOT_SURNAME and (initial or len(word.group()) > 1):
            add(word.start(), word.end(), "SURNAME")
    for m in _HONORIFIC.finditer(text):
        word = _CAPITALISED.match(text, m.end())
        if word and word.group() not in _NOT_SURNAME:
            add(word.start(), word.end(), "SURNAME")
    for cue in _NAME_CUE.finditer(text):
        m = _NAME_AFTER_CUE.match(text, cue.end())
        if not m:
            continue
        words = [w for w in re.finditer(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", m.group()) if w.group() not in _NOT_SURNAME]
        if not words or words[0].start() != 0 or len(words) > 4 or any(w.group().casefold() in _ROLE_WORDS
                                                                       for w in words):
            continue
        surname_first = "/" in m.group()  # airline order: SURNAME/GIVEN
        for k, w in enumerate(words):
            kind = ("SURNAME" if k == 0 else "GIVEN_NAME") if surname_first else ("GIVEN_NAME" if k == 0 else "SURNAME")
            add(m.start() + w.start(), m.start() + w.end(), kind)
    for m in _SPEAKER.finditer(text):
        group = 1 if m.group(1) else 2
        if m.group(group).casefold() not in _ROLES:
            add(m.start(group), m.end(group), "GIVEN_NAME")
    # Other mentions of a name part found in this text, in any case ("Ms. Allen ... allen said").
    parts = {}
    for e in names + [a for a in added if a.type in _NAME_TYPES]:
        for word in re.findall(r"[^\W\d_]{3,}", e.text):
            parts.setdefault(word.casefold(), e.type)
    if parts:
        for m in re.finditer(r"[^\W\d_]{3,}", text):
            kind = parts.get(m.group().casefold())
            if kind and m.group() not in _NOT_SURNAME:
                add(m.start(), m.end(), kind)
    if not added:
        return entities
    return sorted(entities + added, key=lambda e: e.start)


def drop_lone_cities(text: str, entities: list[Entity]) -> list[Entity]:
    """A city named on its own ("flights to Lisbon", "Where: Duffybury") is not an address: only a CITY with
    another address part (street, house number, unit, state, postcode) within 40 characters, in the same
    sentence and at most one line break away, is kept."""
    parts = [e for e in entities if e.type in _ADDRESS_PARTS + ("STATE",) and e.type != "CITY"]

    def near(e: Entity) -> bool:
        for p in parts:
            gap = text[e.end : p.start] if e.end <= p.start else text[p.end : e.start]
            if len(gap) <= 40 and gap.count("\n") <= 1 and not re.search(r"[.!?]\s", gap):
                return True
        return False

    return [e for e in entities if e.type != "CITY" or e.source == "pattern" or near(e)]


def complete(text: str, entities: list[Entity]) -> list[Entity]:
    """All the context rules, in order (module docstring); ``entities`` sorted, offsets into ``text``."""
    entities = complete_addresses(text, drop_references(text, entities))
    return complete_names(text, drop_lone_cities(text, entities))
