"""Context rules around the model's personal-data spans: what its neighbours say a span is, or is not.

The Rampart model reads word pieces; some decisions need the words around a span. ``complete`` runs, in order:

1. ``drop_references``: a free-form number whose own label calls it a business reference ("order",
   "invoice", "Tracking number:", "Reference:", "build"), that is the tail of a reference code ("INV-41194")
   or that counts something ("241 units") is dropped,
   and phone-shaped timestamps, versions and over-long numbers are not phones;
2. ``complete_addresses``: unit designators ("Apt. 656", "Suite 282", "Whg. 14", "Piano 8") and house numbers
   next to an address the model found join it;
3. ``complete_address_tail``: the state or province code, postcode and country that close an address block
   ("…, FM 61241", "Castellaro (AN)\nItaly", "52409-226 Novais / RJ"); country names come from CLDR
   (``data/countries.txt``, written by ``python -m nlpbuild countries``);
4. ``complete_phones``: a phone's prefix, area code, last groups and extension ("+44(0)…", "…x993");
5. ``retype_by_label``: a free-form number takes the kind its label names ("Fax: …" PHONE, "Kontonummer: …"
   BANK_ACCOUNT, "NIF …" TAX_ID, "Card number: …" CREDIT_CARD); ``complete_bank_codes``: a sort code or BSB
   after its label is a ROUTING_NUMBER;
6. ``drop_lone_cities``: a city, postcode or house number with no other address part near it is not an
   address ("Flight NH 7813 Walkerville → …");
7. ``drop_honorifics`` and ``drop_organisations``: a title alone ("Mr") and the names inside a company's
   name ("Hancock LLC", "Employer: Castillo, Moore and Jones") are not a person;
8. ``complete_names``: the rest of a person's name around a name the model found: a middle initial ("Ella H.
   Snider"), the capitalised word right after a given name, the word after an honorific ("Ms. Lindqvist"),
   names after a greeting, a form field or a sign-off ("Hola Marta:", "Account holder: Αθηνόδωρος Κατεβάτης",
   "Passenger 1: LOPES/LAURE", "Best regards,\nChrysi Katsilli"), other mentions of a name part found
   elsewhere in the same text (any case), and chat speaker labels ("[17:22] edward:");
9. ``keep_personal_urls``: a web address is personal data only when it identifies a person (a profile page, a
   user page, a personal site named after someone in the text); a company's help, status or password-reset
   page is not, and is not reported.

Merge rule (the same for every step): a rule adds spans only where no entity is, widens an entity of the same
kind, or drops or retypes a free-form span its context contradicts; it never overrides a checksummed pattern
match (e-mail, card, IBAN, SSN, IP; URLs only by step 9). Added spans have ``source="pattern"`` and a
confidence of 0.9 (0.8 for name guesses). Offsets are into the matching form.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from nlpserve.tasks.ner import Entity

# A unit designator (USPS Publication 28 secondary unit designators, and their common European forms) and its
# number: "Apt. 656", "Suite 282", "Unit 4719", "Flat 3B", "# 12", "apt 4b".
_UNIT = re.compile(
    r"(?<![\w#])(?:apt|apartment|suite|ste|unit|flat(?: no)?|studio|room|rm|floor|fl|level|lvl|bldg|building|dept|lot|"
    r"space|trlr|whg|wohnung|app|appt|appartement|appartamento|apto|apartamento|piano|etage|étage|escalera|esc|"
    r"piso|lok|kv|#)\.?"
    r" ?#? ?(?:\d+[A-Za-z]?|[A-Za-z]\d*)(?:-\d+)?(?![\w-])",
    re.IGNORECASE,
)
# A house number: "12", "12b", "41/427", "2-14" (before a street, or after it as in "Hauptstraße 3").
_HOUSE_NUMBER = re.compile(r"\d{1,6}[A-Za-z]?(?:[/-]\d{1,6}[A-Za-z]?)?")
# A house number with its designator ("H.No. 365", "House No. 18"): an address on its own.
_HOUSE_DESIGNATOR = re.compile(r"(?<!\w)(?:H\. ?No|House No|Haus Nr|Casa|Nº|N°)\.? ?\d{1,6}[A-Za-z]?(?:/\d{1,6})?(?!\w)",
                               re.IGNORECASE)
# A label that says the number after it is a business reference, not personal data: "order 749562602",
# "Tracking number: 9400 1353 ...", "invoice F35377269", "build 1.1.2.3519", "ticket CS-886320".
_REFERENCE_LABEL = re.compile(
    r"(?:reference(?=[ \t]*:)|ref\. no|ref no|quoting|batch|order|orders|invoice|tracking|ticket|sku|build|release|version|booking|pnr|confirmation|case|shipment|"
    r"parcel|checksum|request id|sha1|sha256|commit|mandate reference|payment instruction|"
    r"commande|pedido|contrato|vertrags?|bestellung|ordine|zamówienia|заказа|трек|订单号|注文番号)"
    r"(?: (?:no|nr|number|numbers|id|ref|code|n\.?º|nº|n°))?\.?[ \t]*[:#]?[ \t]*(?:#[ \t]*)?"
    # further references of the same list: "Order numbers: #7129560, SO20695726", "(e.g. 153-3631907-...)"
    # (each token is letters, digits, "-" and "_" only, so a token and its separator never compete: linear)
    r"(?:(?:e\.g\.|z\.b\.)?[ \t(]*#?[A-Za-z0-9][\w-]*\)?[ \t]*(?:,|/|\b(?:and|or|und|et|y)\b))*"
    r"[ \t(]*(?:e\.g\.[ \t]*)?$",
    re.IGNORECASE,
)
# A lower-case hex run (a UUID piece, a checksum, a request id) is never a passport or licence number.
_HEX_ID = re.compile(r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{8,}")
#: Types a reference label can overrule (free-form numbers); e-mail, URL, card, IBAN and SSN patterns cannot.
# A Luhn-valid run after "order" is an order number that passed the check by chance (one number in ten does).
_REFERENCE_TYPES = frozenset({"PASSPORT", "DRIVERS_LICENSE", "GOVERNMENT_ID", "TAX_ID", "BANK_ACCOUNT", "ZIP_CODE",
                              "PHONE", "ROUTING_NUMBER", "BUILDING_NUMBER", "CREDIT_CARD"})
# A number followed by what it counts ("119248566 page views", "241 units", "226 ms") is a quantity.
_COUNT_NOUN = re.compile(
    r" (?:page views|views|sign-?ups|users|units|items|pieces|downloads|visits|visitors|sessions|requests|orders|"
    r"customers|people|tickets|rows|records|files|bytes|ms|seconds|minutes|hours|days|km|miles|kg|cm|times)(?!\w)"
)
# A reference code: capital letters and a dash before the number ("INV-41194", "ORD-2022-296981"), and the
# 3-7-7 digit shape of a marketplace order number ("389-5421396-7300595").
_CODE_PREFIX = re.compile(r"(?<![\w-])[A-Z]{2,5}-$")
_ORDER_SHAPE = re.compile(r"\d{3}-\d{7}-\d{7}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{4}")
_VERSION = re.compile(r"\d+(?:\.\d+){2,}")
STRICT = False
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


_COUNTRIES_FILE = Path(__file__).with_name("data") / "countries.txt"


@lru_cache(maxsize=1)
def _country_pattern() -> re.Pattern:
    """Country names (``data/countries.txt``, from CLDR: ``python -m nlpbuild countries``), as written or in
    capitals, longest first."""
    names = [line.strip() for line in _COUNTRIES_FILE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    names = sorted({*names, *(n.upper() for n in names)}, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names))


# What may follow a city, postcode or state in an address block, in order: a state or province code ("FM",
# "(AN)", "/ CE", "WA,"), a postcode after it (US, Canadian, Australian), and a country on the same line after a
# comma or on the next line ("…, 2978, Australia", "Weißenfels\nGermany").
_STATE_AFTER = re.compile(r"(?:,[ \t]*|[ \t]+)(?:\(([A-Z]{2})\)|/[ \t]*([A-Z]{2})|([A-Z]{2,3}))(?=[ \t]*(?:[,\n]|$|[ \t][A-Z0-9]))")
_POSTCODE_AFTER = re.compile(r"(?:,[ \t]*|[ \t]+)([A-Z]\d[A-Z] ?\d[A-Z]\d|\d{5}(?:-\d{4})?|\d{4})(?![\w-])")
_COUNTRY_SEPARATOR = re.compile(r",[ \t]*|[ \t]*\n[ \t]*|[ \t]+(?=[^\W\d_])")


# A Brazilian closing line: CEP, city and state ("49673975 Silveira de Goiás / PA", "52409-226 Novais / RJ").
_CEP_LINE = re.compile(r"(?m)(?:^|(?<=, ))(\d{5}-?\d{3}) ([^\W\d_][^\n/,]{1,40}?) / ([A-Z]{2})(?=[ \t]*(?:$|,))")


def complete_address_tail(text: str, entities: list[Entity]) -> list[Entity]:
    """The end of an address block the model left out: after a CITY, ZIP_CODE or STATE entity, a state or
    province code (STATE), the postcode after it (ZIP_CODE) and a country name (COUNTRY), each right after
    the part before it. New entities have ``source="pattern"`` and score 0.9."""
    for m in _CEP_LINE.finditer(text):
        lo, hi = m.span()
        entities = [e for e in entities if e.end <= lo or e.start >= hi or e.type not in _RETYPABLE | {
            "CITY", "STATE", "STREET_NAME", "GIVEN_NAME", "SURNAME"}]
        entities += [Entity(type=kind, text=m.group(g), start=m.start(g), end=m.end(g), score=0.9, source="pattern")
                     for g, kind in ((1, "ZIP_CODE"), (2, "CITY"), (3, "STATE"))]
    entities = sorted(entities, key=lambda e: e.start)
    taken = [(e.start, e.end) for e in entities]
    added: list[Entity] = []

    def free(lo: int, hi: int) -> bool:
        return all(hi <= a or lo >= b for a, b in taken)

    def add(kind: str, lo: int, hi: int) -> int:
        added.append(Entity(type=kind, text=text[lo:hi], start=lo, end=hi, score=0.9, source="pattern"))
        taken.append((lo, hi))
        return hi

    for e in entities:
        if e.type not in ("CITY", "ZIP_CODE", "STATE"):
            continue
        end, kinds = e.end, {e.type}
        state = _STATE_AFTER.match(text, end) if "STATE" not in kinds else None
        if state and _country_pattern().fullmatch(state.group(3) or ""):
            state = None  # "…, UK": the country, below
        if state:
            group = next(g for g in (1, 2, 3) if state.group(g))
            if free(*state.span(group)):
                end = add("STATE", *state.span(group))
                kinds.add("STATE")
                end = state.end()
        postcode = _POSTCODE_AFTER.match(text, end) if "STATE" in kinds and "ZIP_CODE" not in kinds else None
        if postcode and free(*postcode.span(1)):
            end = add("ZIP_CODE", *postcode.span(1))
        else:
            nxt = [a for a in entities + added if a.start >= end and a.type in _ADDRESS_PARTS + ("STATE",)]
            # the next part of the same block ("…, WA, 2978"): continue from its end
            for a in sorted(nxt, key=lambda a: a.start):
                if text[end : a.start].strip(" \t,") == "" and text[end : a.start].count("\n") == 0:
                    end = a.end
                else:
                    break
        sep = _COUNTRY_SEPARATOR.match(text, end)
        country = _country_pattern().match(text, sep.end()) if sep else None
        if country and free(*country.span()) and re.match(r"[ \t]*(?:[.,;)]|\n|$)", text[country.end() :]):
            add("COUNTRY", *country.span())
    if not added:
        return entities
    return sorted(entities + added, key=lambda e: e.start)


# The parts of a phone number the model may leave outside its span: a country or trunk prefix and an area code
# before it ("+44(0)", "1 (981) ", "8 (581) "), and the last groups and an extension after it ("-2119x993",
# " ext. 214").
_PHONE_HEAD = re.compile(r"(?<![\w+])(?:\+?\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?)?$")
_PHONE_TAIL = re.compile(r"(?:[-. ]?\d{2,})*(?: ?(?:x|ext\.?|extension|доб\.?) ?\d{1,6})?(?!\w)", re.IGNORECASE)


def complete_phones(text: str, entities: list[Entity]) -> list[Entity]:
    """Widen a PHONE entity over the prefix, area code, trailing groups and extension next to it
    (``_PHONE_HEAD``, ``_PHONE_TAIL``) when no other entity is there."""
    out = []
    for k, e in enumerate(entities):
        if e.type == "PHONE":
            lo_limit = entities[k - 1].end if k else 0
            hi_limit = entities[k + 1].start if k + 1 < len(entities) else len(text)
            head = _PHONE_HEAD.search(text, max(lo_limit, e.start - 12), e.start)
            tail = _PHONE_TAIL.match(text, e.end)
            lo = head.start() if head and head.group() else e.start
            hi = tail.end() if tail and tail.end() <= hi_limit else e.end
            if (lo, hi) != (e.start, e.end):
                e = e.model_copy(update={"start": lo, "end": hi, "text": text[lo:hi]})
        out.append(e)
    return out


# Labels that say what kind of number follows them on the same line, in the languages of the held-out locales.
# The model guesses the kind of a bare number from its shape; "Kontonummer: 8032085869" or "Fax: 81384505486"
# says it outright.
_LABEL_KINDS = (
    ("CREDIT_CARD", (r"card number|card no|credit card|debit card|kartennummer|numéro de carte|número de tarjeta|"
                     r"numero di carta|número do cartão|卡号|カード番号")),
    ("PHONE", (r"best number|contact number|number|phone|tel|reached on|reached at|call me back on|"
               r"call me back at|erreichen sie mich unter|unter|joignable au|llámame al|chiamami al|telephone|mobile|mob|cell|cellphone|fax|call(?: me)?(?: on| at)?|text me(?: on| at)?|"
              r"reach me(?: on| at)?|whatsapp|voicemail from|hotline|number is|contact(?: me)?(?: at| on)?|"
              r"telefon|handy|tél|téléphone|portable|teléfono|móvil|celular|telefone|cellulare|telefono|"
              r"телефон|тел|моб|τηλ|τηλέφωνο|κινητό|טלפון|נייד|电话|手机|電話|携帯|전화|휴대폰|điện thoại|sđt")),
    ("BANK_ACCOUNT", (r"account(?: number| no| nr)?|acct(?: no)?|a/c(?: no)?|bank account|iban|kontonummer|konto|"
                     r"numéro de compte|rib|cuenta|número de cuenta|conto|conta|rekening|kontonr|účet|"
                     r"numer konta|р/с|счёт|счет|银行账号|账号|口座番号|普通口座|口座|계좌|bsb|sort code|ifsc|blz|"
                     r"routing(?: number| no)?|aba|bic|swift|bankleitzahl|agência|bank code|支店番号|бик|"
                     r"transit(?: / institution)?|institution(?: number)?")),
    ("TAX_ID", (r"employer identification number|tax id|tax number|tin|ein|vat(?: number| no)?|nif|steuer-?id|steuernummer|"
               r"steuer-identifikationsnummer|codice fiscale|partita iva|cpf|cnpj|инн|utr|pan|abn|tfn|"
               r"numéro fiscal|税号|納税者番号")),
    ("GOVERNMENT_ID", (r"national id|id card|identity card|id number|id no|dni|nie|personalausweis|ausweisnummer|"
                      r"carta d'identità|cni|bsn|pesel|rodné číslo|snils|снилс|паспорт|身份证号?|身分證|"
                      r"マイナンバー|주민등록번호|aadhaar|nino|national insurance(?: number)?|nhs number|"
                      r"social security(?: number)?|social insurance(?: number)?|sin|ssn|ahv|teudat zehut|ת\.ז|תעודת זהות|ΑΜΚΑ|ΑΦΜ|ΑΔΤ")),
    ("PASSPORT", (r"passport(?: number| no)?|reisepass|passeport|pasaporte|passaporto|passaporte|paszport|"
                 r"загранпаспорт|护照|旅券")),
    ("DRIVERS_LICENSE", (r"driver'?s licen[cs]e(?: number| no)?|driving licen[cs]e(?: number| no)?|licen[cs]e(?: number| no)?|"
                        r"dl(?: no)?|führerschein|permis de conduire|carnet de conducir|patente|cnh|"
                        r"prawo jazdy|водительское удостоверение|驾驶证|運転免許証")),
)
_LABEL_BEFORE = re.compile(
    "|".join(f"(?P<{kind}>(?<![^\\W_])(?:{words}))" for kind, words in _LABEL_KINDS), re.IGNORECASE
)
# What may sit between a label and its number: "no.", "number", ":", "#", "is", a name ("Emergency contact:
# Yashica Garde, 09100562401") is too far.
_LABEL_GAP = re.compile(r"(?:[ \t]*(?:no\.?|nr\.?|number|num|n\.?º|nº|#|is|was|:|\.|-|–|\(|\)|,))*[ \t]*$", re.IGNORECASE)
#: Number types a label may retype (free-form numbers); checksummed patterns keep their type.
_RETYPABLE = frozenset({"PHONE", "BANK_ACCOUNT", "ROUTING_NUMBER", "TAX_ID", "GOVERNMENT_ID", "PASSPORT",
                        "DRIVERS_LICENSE", "ZIP_CODE", "BUILDING_NUMBER", "SSN", "CREDIT_CARD"})


# A bank sort code or BSB after its label: "Sort code: 87-49-76", "BSB 633-949".
_BANK_CODE = re.compile(r"(?i:sort code|bsb)[ \t]*(?:no\.?|number)?[ \t]*[:#]?[ \t]*(\d{2}-\d{2}-\d{2}|\d{3}-\d{3}|\d{6})(?![\w-])")


def complete_bank_codes(text: str, entities: list[Entity]) -> list[Entity]:
    """A sort code or BSB after its label is a ROUTING_NUMBER: added where nothing is, retyped where the model
    called it something else."""
    out = list(entities)
    for m in _BANK_CODE.finditer(text):
        lo, hi = m.span(1)
        inside = [k for k, e in enumerate(out) if e.start < hi and lo < e.end]
        if not inside:
            out.append(Entity(type="ROUTING_NUMBER", text=m.group(1), start=lo, end=hi, score=0.9, source="pattern"))
        for k in inside:
            if out[k].type in _RETYPABLE and lo <= out[k].start and out[k].end <= hi:
                out[k] = out[k].model_copy(update={"type": "ROUTING_NUMBER"})
    return sorted(out, key=lambda e: e.start)


# Issuer ranges and lengths of the card networks (ISO/IEC 7812 IINs as the networks publish them): Visa,
# Mastercard, American Express, Discover, JCB, UnionPay, Diners Club, Maestro.
_CARD_RANGES = (
    (("4",), (13, 16, 19)),
    (tuple(str(n) for n in range(51, 56)) + tuple(str(n) for n in range(2221, 2721)), (16,)),
    (("34", "37"), (15,)),
    (("6011", "65") + tuple(str(n) for n in range(644, 650)), (16, 17, 18, 19)),
    (tuple(str(n) for n in range(3528, 3590)), (16, 17, 18, 19)),
    (("62",), (16, 17, 18, 19)),
    (("36", "38", "39") + tuple(str(n) for n in range(300, 306)), (14, 15, 16, 17, 18, 19)),
    (("50",) + tuple(str(n) for n in range(56, 70)), tuple(range(12, 20))),
)


def in_card_range(value: str) -> bool:
    """Whether the digits of ``value`` start with a card network's issuer prefix and have one of its lengths."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return any(digits.startswith(prefixes) and len(digits) in lengths for prefixes, lengths in _CARD_RANGES)


# With no label, a bare number in a national phone format is a phone, whatever id type its shape suggested to
# the model: a trunk-prefix number ("0586290432", "01134960119") or a Chinese mobile ("13825436581").
_NATIONAL_PHONE = re.compile(r"0\d{8,10}|1[3-9]\d{9}")
_ID_TYPES = frozenset({"TAX_ID", "GOVERNMENT_ID", "DRIVERS_LICENSE", "PASSPORT", "ROUTING_NUMBER"})


def retype_by_label(text: str, entities: list[Entity]) -> list[Entity]:
    """Give a free-form number the kind its label names ("Fax: 81384505486" is a PHONE, "A/c no.:
    49560025859124" a BANK_ACCOUNT, "NIF 12345678Z" a TAX_ID): the label must end right before the number
    on the same line, with only "no.", "number", ":", "#" and the like between. An SSN, IBAN or card match keeps
    its type; a Luhn-valid number outside the card networks' ranges (``in_card_range``) takes a bank-account
    label's type (a Luhn check passes one number in ten). With
    no label, a model id span in a national phone format (``_NATIONAL_PHONE``) becomes a PHONE."""
    out = []
    for e in entities:
        if e.type in _RETYPABLE:
            line = text[text.rfind("\n", 0, e.start) + 1 : e.start][-60:]
            # the longest label that ends right before the number ("account number is", not "number is")
            best = next((m for m in _LABEL_BEFORE.finditer(line) if _LABEL_GAP.fullmatch(line, m.end())), None)
            # a checksummed SSN, or a Luhn-valid number in a card network's range, keeps its type; one outside
            # them gives way to a bank-account label ("银行账号: 7095 9550 5737 9780 222")
            loose_card = e.source == "pattern" and e.type == "CREDIT_CARD" and not in_card_range(e.text)
            protected = e.source == "pattern" and e.type in ("SSN", "CREDIT_CARD", "BANK_ACCOUNT") and not loose_card
            if best is None and e.source == "model" and e.type in _ID_TYPES and _NATIONAL_PHONE.fullmatch(e.text):
                e = e.model_copy(update={"type": "PHONE"})
            elif best is not None and not protected and (not loose_card or best.lastgroup == "BANK_ACCOUNT"):
                kind = best.lastgroup
                if kind != e.type and not (kind == "BANK_ACCOUNT" and e.type == "ROUTING_NUMBER"):
                    e = e.model_copy(update={"type": kind})
        out.append(e)
    return out


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
    redacted. A Luhn-valid card number right after an order label is an order number; e-mail, URL, IBAN and
    SSN matches are never dropped. ``text`` is in matching form.
    """
    kept = []
    for e in entities:
        if e.type in _REFERENCE_TYPES:
            line = text[text.rfind("\n", 0, e.start) + 1 : e.start]
            if (_REFERENCE_LABEL.search(line[-80:]) or (e.type == "PHONE" and _not_a_phone(e.text))
                    or _HEX_ID.fullmatch(e.text) or (e.text.isdigit() and _COUNT_NOUN.match(text, e.end))
                    or _CODE_PREFIX.search(text, max(0, e.start - 6), e.start) or _ORDER_SHAPE.fullmatch(e.text)):
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
# Given names and surnames that are also everyday English words: their lower-case mentions are the words.
_WORD_NAMES = frozenset("""
will grace mark bill pat rose hope joy faith may june april august summer dawn frank art jack sue rob ray don
guy max bob penny ruby amber holly ivy iris daisy lily violet heather jasmine olive hazel sky river rain
storm autumn winter spring chase hunter archer cole wade lane dale glen grant mason cook baker smith miller
taylor carter porter fisher turner walker young white black brown green gray grey long little hill wood
field rich sterling bishop king knight page price bell rice hall street parks woods banks stone marsh lake
brook dean earl duke prince major noble sharp hardy moody bright joy gay west north south east early
""".split())  # noqa: SIM905 - one word per name, easier to read as text
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
    r"Αγαπητή|Signed by|Spoke with|Call with|Meeting with|Met with|cc)[ ]+"
    r"|(?:^|(?<=\n))(?:Name|Full name|Customer|Contact|Emergency contact|Next of kin|Contact person|Applicant|Account holder|Cardholder|Card holder|Patient|"
    r"Employee|Tenant|Guest|Passenger(?: \d+)?|Requester|Attendee|Candidate|Beneficiary|Nombre|Nom|Nome|Imię i "
    r"nazwisko|ФИО|Имя|Ονοματεπώνυμο|Όνομα|氏名|姓名)[ \t]*:[ \t]*"
    r"|(?:Best regards|Kind regards|Regards|Best|Thanks|Cheers|Sincerely|Saludos|Cordialement|Viele Grüße|"
    r"Grazie|Pozdrawiam|С уважением|Με εκτίμηση)[,!]?[ \t]*\n)"
)
# One to four capitalised words of any script (CJK has no case: a run of ideographs counts), or an airline
# "SURNAME/GIVEN" pair.
# Words after a greeting or field that address a role, not a person ("Dear Data Protection Officer").
_ROLE_WORDS = frozenset([
    "reception", "accounts", "billing", "sales", "hr", "admin", "administration", "management", "finance",
    "payroll", "helpdesk", "marketing", "legal", "dispatch", "front", "frontdesk",
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
    retyped: dict[int, Entity] = {}

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
        lo, hi = m.start() + words[0].start(), m.start() + words[-1].end()
        for k, e in enumerate(entities):  # the model read the name as a place ("Account holder: <STREET_NAME>")
            if e.source == "model" and e.type in _ADDRESS_PARTS and lo <= e.start and e.end <= hi:
                retyped[k] = e.model_copy(update={"type": "GIVEN_NAME" if e.start == lo else "SURNAME"})
        for k, w in enumerate(words):
            kind = ("SURNAME" if k == 0 else "GIVEN_NAME") if surname_first else ("GIVEN_NAME" if k == 0 else "SURNAME")
            add(m.start() + w.start(), m.start() + w.end(), kind)
    for m in _SPEAKER.finditer(text):
        group = 1 if m.group(1) else 2
        if m.group(group).casefold() not in _ROLES:
            add(m.start(group), m.end(group), "GIVEN_NAME")
    # Other mentions of a name part found in this text, in any case ("Ms. Allen ... allen said").
    parts = {}
    for e in names + list(retyped.values()) + [a for a in added if a.type in _NAME_TYPES]:
        for word in re.findall(r"[^\W\d_]{3,}", e.text):
            parts.setdefault(word.casefold(), e.type)
    if parts:
        for m in re.finditer(r"[^\W\d_]{3,}", text):
            word = m.group()
            kind = parts.get(word.casefold())
            # "Will Turner ... I will call": a name that is also an everyday word counts only capitalised
            if kind and word not in _NOT_SURNAME and not (word.islower() and word in _WORD_NAMES):
                add(m.start(), m.end(), kind)
    if retyped:
        entities = [retyped.get(k, e) for k, e in enumerate(entities)]
    if not added:
        return entities
    return sorted(entities + added, key=lambda e: e.start)


_POSTCODE_LABEL = re.compile(r"(?i:post ?code|zip(?: code)?|postal code|plz|code postal|c\.?p\.?|cep|cap)[ \t]*[:#]?[ \t]*$")


def drop_lone_cities(text: str, entities: list[Entity]) -> list[Entity]:
    """A city, postcode or house number named on its own ("flights to Lisbon", "Where: Duffybury", "Flight NH
    7813", "84416 sign-ups") is not an address. A CITY, ZIP_CODE or BUILDING_NUMBER from the model is kept only
    with another kind of address part (street, unit, state, or a city beside a number) within 40 characters,
    in the same sentence and at most one line break away, or a postcode after its own label ("Postcode:")."""
    parts = [e for e in entities if e.type in _ADDRESS_PARTS + ("STATE",)]
    strong = ("STREET_NAME", "SECONDARY_ADDRESS", "STATE")

    def near(e: Entity) -> bool:
        for p in parts:
            if p is e or p.type == e.type:
                continue
            if e.type == "CITY" and p.type not in strong and STRICT:
                continue
            gap = text[e.end : p.start] if e.end <= p.start else text[p.end : e.start]
            if len(gap) <= 40 and gap.count("\n") <= 1 and not re.search(r"[.!?]\s", gap):
                return True
        return False

    def labelled(e: Entity) -> bool:  # "Postcode: BT1 5GS", "Billing ZIP: 94105"
        return e.type == "ZIP_CODE" and bool(_POSTCODE_LABEL.search(text, max(0, e.start - 30), e.start))

    kept = []
    for e in entities:
        if e.type in ("CITY", "ZIP_CODE", "BUILDING_NUMBER") and e.source != "pattern" and not (near(e) or labelled(e)):
            if e.type == "CITY" or sum(ch.isdigit() for ch in e.text) < 7:
                continue
            e = e.model_copy(update={"type": "PHONE"})  # a 7+ digit "postcode" on its own is a phone the model mistyped
        kept.append(e)
    return kept


# --- Web addresses: only those that identify a person are personal data -------------------------------------
# Hosts whose pages under a path are one person's profile.
_PROFILE_HOSTS = frozenset([
    "linkedin.com", "github.com", "gitlab.com", "bitbucket.org", "x.com", "twitter.com", "instagram.com",
    "facebook.com", "fb.com", "tiktok.com", "behance.net", "dribbble.com", "medium.com", "about.me", "threads.net",
    "youtube.com", "reddit.com", "pinterest.com", "flickr.com", "vimeo.com", "soundcloud.com", "t.me",
    "keybase.io", "orcid.org", "stackoverflow.com", "mastodon.social", "bsky.app", "twitch.tv", "snapchat.com",
    "linktr.ee", "patreon.com", "substack.com", "github.io", "gravatar.com", "xing.com", "vk.com", "ok.ru",
    "weibo.com", "researchgate.net", "academia.edu", "quora.com", "calendly.com", "cal.com",
])
# Path or query parts that name one user: "/users/jeremy956", "/in/…", "/@rosie", "/~jdoe", "?user=Qx7…".
_PROFILE_PATH = re.compile(
    r"/(?:users?|u|in|people|person|profiles?|members?|author|authors|staff|team|citations|~)/[^/?#\s]"
    r"|/[@~][^/?#\s]|[?&](?:user|uid|userid|user_id|username|profile|author|id|name|first_?name|last_?name|"
    r"full_?name|email|e-mail|phone|tel|mobile)=[^&#\s]|%40",
    re.IGNORECASE,
)
# Hosts and paths of an organisation's own pages: help, documentation, status, account, legal, blog.
_GENERIC_URL = re.compile(
    r"^(?:www\.)?(?:status|docs?|api|help|support|account|accounts|login|auth|id|shop|store|cdn|static|mail|"
    r"blog|news|careers|jobs|investors|developer|developers)\."
    r"|/(?:help|support|docs?|documentation|api|status|terms|tos|privacy|legal|security|reset|login|signin|"
    r"blog|news|press|returns?|faq|pricing|careers|jobs|contact|about-us|release-notes|changelog|v\d+)(?:[/?#.]|$)",
    re.IGNORECASE,
)
# A personal site's domain: a handle with digits ("ilektra04") or a hyphenated name with a suffix
# ("sebastian-tomaszkiewicz-3824bd").
_HANDLE_SITE = re.compile(r"[a-z]{2,}(?:-[a-z]{2,})+-[0-9a-f]{4,8}")
# Top-level domains people take for their own site ("www.tomaszw.dev", "jane.me"): a home or about page there.
_PERSONAL_TLDS = frozenset({"me", "name", "dev", "blog", "page", "site"})
_HOME_PATH = re.compile(r"/?(?:about|about-me|cv|resume|portfolio|me)?/?", re.IGNORECASE)
# Pages of a profile host that are the company's, not a member's.
_HOST_PAGES = re.compile(
    r"/(?:watch|r|search|explore|topics|hashtag|features|pricing|login|signup|settings|about|help|docs|blog|"
    r"enterprise|marketplace|trending|jobs|events|legal|policies|terms|privacy|security|status|sitemap)(?:[/?#]|$)",
    re.IGNORECASE,
)
_URL_PARTS = re.compile(r"^(?:https?://)?([^/?#\s:]+)(?::\d+)?([^\s]*)$", re.IGNORECASE)


def _fold(word: str) -> str:
    """Lower case without accents or separators: "Dũng Dương" -> "dungduong"."""
    decomposed = unicodedata.normalize("NFKD", word.casefold().replace("đ", "d").replace("ł", "l").replace("ø", "o"))
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def identifies_person(url: str, name_parts: set[str]) -> bool:
    """Whether a web address points at one person: a profile on a social or code-hosting site, a user page
    ("/users/<name>", "/in/<name>", "/@<name>", "?user=…") or a personal site whose domain carries a name part
    found in the same text ("www.dungduong.com/about" beside "Dũng Dương"). Organisations' own pages (help,
    documentation, status, terms, password reset, a company blog) do not, even when the company is named
    after its founders. ``name_parts``: folded (``_fold``) name words of 3 letters or more."""
    m = _URL_PARTS.match(url)
    if not m:
        return True
    host, rest = m.group(1).casefold().rstrip("."), m.group(2)
    labels = host.split(".")
    registrable = ".".join(labels[-2:])
    if _PROFILE_PATH.search(rest):
        return True
    if _GENERIC_URL.search(host + rest):
        return False
    if host.startswith("mastodon.") or registrable in _PROFILE_HOSTS:
        if _HOST_PAGES.match(rest):
            return False
        path = rest.split("?")[0].strip("/")
        return bool(path) or labels[0] not in ("www", registrable.split(".")[0]) or "?" in rest
    site = labels[-2] if len(labels) >= 2 else host
    path = rest.split("?")[0].split("#")[0]
    if _HANDLE_SITE.fullmatch(site) or (labels[-1] in _PERSONAL_TLDS and len(labels) <= 3
                                        and _HOME_PATH.fullmatch(path)):
        return True
    folded = _fold(site) + " " + " ".join(_fold(seg) for seg in re.split(r"[/_.-]", path) if seg)
    return any(part in folded for part in name_parts)


def keep_personal_urls(text: str, entities: list[Entity]) -> list[Entity]:
    """Drop URL entities that do not identify a person (``identifies_person``): a redaction service removes
    personal data, and a company's help page or a password-reset link is not. Personal data inside a URL
    (an e-mail in its query) is found by its own pattern either way."""
    if not any(e.type == "URL" for e in entities):
        return entities
    parts = {_fold(w) for e in entities if e.type in _NAME_TYPES for w in re.findall(r"[^\W\d_]{3,}", e.text)}
    parts.discard("")
    return [e for e in entities if e.type != "URL" or identifies_person(e.text, parts)]


# --- Organisation names made of personal names --------------------------------------------------------------
_NAME_WORD = r"(?:(?:van|von|de|der|den|da|das|do|dos|di|du|la|le|del|della|ter|ten) )?[^\W\d_a-z][^\W\d_]*(?:['’-][^\W\d_]+)*"
# Legal forms and words that close a company name ("Hancock LLC", "Nilsson Davidsson AB", "Lima da Mata - EI",
# "Robertson and Sons", "Unnao Family Clinic").
_ORG_SUFFIX = (
    r"(?:LLC|L\.L\.C\.|Ltd|Limited|Inc|Corp|PLC|plc|LLP|GmbH|AG|KG|OHG|GbR|e\.K|AB|HB|KB|Oy|Oyj|ApS|A/S|ASA|"
    r"BV|B\.V|NV|N\.V|VOF|S\.A\.S|SAS|SARL|S\.A\.R\.L|S\.A|S\.L|S\.p\.A|SpA|S\.r\.l|Srl|SNC|s\.r\.o|a\.s|"
    r"v\.o\.s|k\.s|Sp\.j|Sp\. ?z ?o\.o|EIRL|Lda|Ltda|EIRELI|Pty|Pty Ltd|Group|Groep|Gruppe|Groupe|Grupo|"
    r"Gruppo|Holding|Holdings|Partners|Associates|Logistics|Consulting|Solutions|Industries|Enterprises|"
    r"(?:and|&) (?:Sons|Co)|e Filhos|e Figli|y Asociados|Family Clinic|Clinic|Medical Practice|Medical Centre|"
    r"Medical Center|Hospital)(?![^\W_])\.?"
)
_NAME_LIST = rf"{_NAME_WORD}(?:, {_NAME_WORD}){{1,4}},? (?:and|&|und|et|e|y|och|og|en|i) {_NAME_WORD}"
# One to three words or a list before a legal form ("Hancock LLC", "Westin & Lundgren HB").
_ORG = re.compile(
    rf"(?<![^\W\d_])(?:{_NAME_LIST}|{_NAME_WORD}(?: (?:and|&|und|et|e|y|och|og|en) {_NAME_WORD}| {_NAME_WORD}){{0,2}})"
    rf" ?[-–]? ?{_ORG_SUFFIX}"
)
# "Castillo, Moore and Jones" without a legal form is a firm only where a firm is expected: alone on its line
# (a letterhead, an address block), after "between" or "personal data", or as the value of an organisation
# field (``_ORG_FIELD``); "Hi Anna, Ben and Carla," is three people.
_ORG_LIST = re.compile(rf"(?:^|(?<=\n)|(?<=between )|(?<=personal data ))[ \t]*({_NAME_LIST})(?=[ \t]*(?:\n|$| holds?\b|, with))")
# A form field or contract phrase whose value is an organisation: "Employer: …", "Business name: …",
# "Creditor: …", "between White-Oliver, with registered office …".
_ORG_FIELD = re.compile(
    r"(?:^|\n)[ \t]*(?:\d+[ \t]+)?(?i:Employer|Business name|Company|Company name|Creditor|Organisation|Organization|"
    r"Insurer|Landlord company|Arbeitgeber|Empresa|Société|Entreprise|Azienda|Werkgever|Arbetsgivare|"
    r"Zaměstnavatel|Pracodawca|Работодатель|Gläubiger|Créancier|Acreedor)[ \t]*:[ \t]*([^\n(,]*?(?:, [^\W\d_a-z][^\n(,]*?)*)"
    r"(?=[ \t]+[-–—(][ \t]|[ \t]*\(|,[ \t]+[^\W\d_A-Z]|\n|$)"
    r"|(?<=between )([^\n,]{2,60}?)(?=, with (?:its )?registered office)",
)


def organisation_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of organisation names built from personal names (``_ORG``, ``_ORG_LIST``, and an
    ``_ORG_FIELD`` value that itself reads as an organisation: a legal form, a list of names or a hyphenated
    pair; "Company: Jane Doe (self-employed)" stays a person)."""
    spans = [m.span() for m in _ORG.finditer(text)] + [m.span(1) for m in _ORG_LIST.finditer(text)]
    for m in _ORG_FIELD.finditer(text):
        group = 1 if m.group(1) is not None else 2
        value = m.group(group)
        if group == 2 or _ORG.search(value) or re.fullmatch(_NAME_LIST, value) or re.fullmatch(
                r"[^\W\d_a-z][^\W\d_]+-[^\W\d_a-z][^\W\d_]+", value):
            spans.append(m.span(group))
    return spans


def drop_organisations(text: str, entities: list[Entity], spans: list[tuple[int, int]] | None = None
                       ) -> list[Entity]:
    """Drop name entities inside an organisation's name ("Employer: Castillo, Moore and Jones", "Hancock LLC",
    "Westin & Lundgren HB"): the company is not a person. A name beside the organisation ("Tamara · Gordon-Jones
    customer support": Tamara) is kept. ``spans``: ``organisation_spans(text)`` when the caller has them."""
    spans = organisation_spans(text) if spans is None else spans
    if not spans:
        return entities
    return [e for e in entities
            if e.type not in _NAME_TYPES or not any(lo <= e.start and e.end <= hi for lo, hi in spans)]


_HONORIFIC_ONLY = re.compile(
    r"(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Herr|Frau|Madame|Monsieur|Mademoiselle|Mme|Mlle|Señor|Señora|"
    r"Signor|Signora|Sr|Sra|Pan|Pani|MR|MRS|MS)\.?",
)


_PLACE_CUE = re.compile(r"(?i:\b(?:to|in|from|visit|visiting|via|country|nationality|citizenship)[ \t]*:?[ \t]*)$")


def drop_countries_read_as_names(text: str, entities: list[Entity]) -> list[Entity]:
    """A name entity that is a country's name right after "to", "in", "from", "Country:" ("travelling to
    Jordan", "Country: Chad") and has no other name part beside it is the country."""
    out = []
    for k, e in enumerate(entities):
        if e.type in _NAME_TYPES and _country_pattern().fullmatch(e.text) and _PLACE_CUE.search(
                text, max(0, e.start - 20), e.start):
            beside = [o for o in entities[max(0, k - 1) : k + 2] if o is not e and o.type in _NAME_TYPES
                      and (0 <= o.start - e.end <= 1 or 0 <= e.start - o.end <= 1)]
            if not beside:
                continue
        out.append(e)
    return out


def drop_honorifics(text: str, entities: list[Entity]) -> list[Entity]:
    """A title on its own ("Mr", "Madame") is not a name; a name entity that starts with one loses it."""
    kept = []
    for e in entities:
        if e.type in _NAME_TYPES:
            if _HONORIFIC_ONLY.fullmatch(e.text):
                continue
            m = _HONORIFIC_ONLY.match(e.text)
            if m and e.text[m.end() : m.end() + 1] == " ":
                lo = e.start + m.end() + 1
                e = e.model_copy(update={"start": lo, "text": text[lo : e.end]})
        kept.append(e)
    return kept


def complete(text: str, entities: list[Entity]) -> list[Entity]:
    """All the context rules, in order (module docstring); ``entities`` sorted, offsets into ``text``."""
    entities = complete_addresses(text, drop_references(text, entities))
    entities = retype_by_label(text, complete_phones(text, complete_address_tail(text, entities)))
    entities = complete_bank_codes(text, entities)
    # before completing names (so a firm's names are not spread as other mentions) and after (names completed
    # inside a firm's name); the text is the same, so its organisation spans are found once
    organisations = organisation_spans(text)
    entities = drop_organisations(text, drop_honorifics(text, drop_lone_cities(text, entities)), organisations)
    entities = drop_organisations(text, drop_honorifics(text, complete_names(text, entities)), organisations)
    entities = drop_countries_read_as_names(text, entities)
    return keep_personal_urls(text, entities)
