"""PII patterns treat text a person reads as the same the same way, and report exact original offsets.

Every value is matched whole (no readable rest) whatever dashes, spaces, digit forms, width or accent
composition it is written with; IBANs (ISO 13616 mod-97) and cards (Luhn) written in groups are one entity.
"""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nlpserve.tasks.recognizers import find, iban_valid

# -- the examples from the issue ---------------------------------------------------------------------------


def only(text, kind=None):
    matches = find(text)
    assert len(matches) == 1, matches
    m = matches[0]
    assert kind is None or m.type == kind, m
    return text[m.start : m.end]


def test_non_ascii_local_part_is_matched_whole():
    assert only("Write to jörg@example.de today", "EMAIL") == "jörg@example.de"
    assert only("Write to jo\u0308rg@example.de today", "EMAIL") == "jo\u0308rg@example.de"  # decomposed ö


def test_phone_with_non_breaking_hyphens_or_en_dashes_is_a_phone():
    assert only("call 415\u2011555\u20110123 now", "PHONE") == "415\u2011555\u20110123"
    assert only("call 415\u2013555\u20130123 now", "PHONE") == "415\u2013555\u20130123"


def test_ssn_with_non_breaking_hyphens_is_matched_whole():
    assert only("SSN 123\u201145\u20116789 ok", "SSN") == "123\u201145\u20116789"


def test_iban_in_groups_is_one_bank_account():
    assert only("IBAN DE89 3704 0044 0532 0130 00 thanks", "BANK_ACCOUNT") == "DE89 3704 0044 0532 0130 00"


# -- internationalised e-mail ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "jörg@example.de",
        "jörg.müller@bücher.example",  # Unicode domain (IDN)
        "jörg@xn--bcher-kva.example",  # the same domain in punycode
        "用户@例子.广告",  # Chinese local part, domain and TLD
        "δοκιμή@παράδειγμα.δοκιμή",  # Greek
        "अजय@डाटामेल.भारत",  # Devanagari: vowel signs and viramas are combining marks
        "jаne@example.com",  # Cyrillic 'а' that looks Latin
        "jane_doe+tag@mail.example.co.uk",
        "user@example.xn--p1ai",  # punycode TLD (.рф)
        "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",  # fullwidth
    ],
)
def test_internationalised_email_is_matched_whole(address):
    for text in (f"Mail {address} today.", f"«{address}»", f"(contact: {address})", f"“{address}”", f"联系：{address}。"):
        assert only(text, "EMAIL") == address, text


@pytest.mark.parametrize("text", ["a@b", "x@y.z", "user@example.c0m", "@example.com", "price @ 5.00 each"])
def test_not_an_email(text):
    assert [m for m in find(text) if m.type == "EMAIL"] == []


# -- IBAN --------------------------------------------------------------------------------------------------

# Example IBANs published in the SWIFT IBAN registry (valid check digits).
REGISTRY_EXAMPLES = [
    "DE89370400440532013000", "GB29NWBK60161331926819", "FR1420041010050500013M02606", "NL91ABNA0417164300",
    "BE68539007547034", "CH9300762011623852957", "ES9121000418450200051332", "IT60X0542811101000000123456",
    "NO9386011117947", "MT84MALT011000012345MTLCAST001S", "SA0380000000608010167519", "AT611904300234573201",
    "PL61109010140000071219812874", "SE4550000000058398257466", "BR1800360305000010009795493C1", "IE29AIBK93115212345678",
]


def grouped(iban, sep=" "):
    return sep.join(iban[i : i + 4] for i in range(0, len(iban), 4))


@pytest.mark.parametrize("iban", REGISTRY_EXAMPLES)
def test_registry_example_ibans_are_found_in_every_written_form(iban):
    assert iban_valid(iban)
    for form in (iban, grouped(iban), grouped(iban, "-"), grouped(iban, "\u00a0"), grouped(iban, "\u2011"),
                 grouped(iban).lower(), unicodedata.normalize("NFKC", iban).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})):
        assert only(f"Pay to {form}, ref 42.", "BANK_ACCOUNT") == form, form


def test_ibans_with_a_wrong_check_digit_length_or_country_are_not_matched():
    assert not iban_valid("DE89370400440532013001")  # one digit changed
    assert not iban_valid("DE8937040044053201300")  # one short
    assert not iban_valid("XX89370400440532013000")  # no such country
    assert not iban_valid("GB82WEST1234569876543X")  # BBAN structure (digits expected)
    for text in ("DE89 3704 0044 0532 0130 01", "DE89 3704 0044 0532 0130 0", "DE89 3704 0044 0532 0130 0012"):
        assert [m for m in find(text) if m.type == "BANK_ACCOUNT"] == [], text


def test_iban_ends_where_its_country_length_says_and_two_in_a_row_are_two():
    text = "IBANs DE89 3704 0044 0532 0130 00 GB29 NWBK 6016 1331 9268 19 and more"
    assert [(m.type, text[m.start : m.end]) for m in find(text)] == [
        ("BANK_ACCOUNT", "DE89 3704 0044 0532 0130 00"), ("BANK_ACCOUNT", "GB29 NWBK 6016 1331 9268 19")]


# -- cards -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [" ", "-", "\u2013", "\u2011", "\u00a0", "\u2009", ""])
def test_grouped_card_numbers_are_one_credit_card(sep):
    for number in ("4111111111111111", "5555555555554444", "378282246310005"):
        groups = [number[i : i + 4] for i in range(0, len(number), 4)]
        written = sep.join(groups)
        assert only(f"card {written} exp 09/27", "CREDIT_CARD") == written


def test_card_numbers_failing_luhn_are_not_cards():
    assert [m for m in find("card 4111 1111 1111 1112") if m.type == "CREDIT_CARD"] == []


# -- property: any mix of variants, always the whole value, exact offsets ----------------------------------

DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\ufe63", "\uff0d"]
SPACES = [" ", "\u00a0", "\u202f", "\u2009", "\u2007", "\u3000"]
VALUES = {  # value with {d} for a dash-type separator and {s} for a space-type one
    "PHONE": "415{d}555{d}0123",
    "SSN": "123{d}45{d}6789",
    "CREDIT_CARD": "4111{s}1111{s}1111{s}1111",
    "BANK_ACCOUNT": "DE89{s}3704{s}0044{s}0532{s}0130{s}00",
    "EMAIL": "jörg.müller@example.de",
    "IP_ADDRESS": "192.168.10.4",
}


@st.composite
def written_value(draw):
    kind = draw(st.sampled_from(sorted(VALUES)))
    pattern = VALUES[kind]
    parts = []
    for piece in pattern.replace("{d}", "\0d\0").replace("{s}", "\0s\0").split("\0"):
        if piece == "d":
            parts.append(draw(st.sampled_from(DASHES)))
        elif piece == "s":
            parts.append(draw(st.sampled_from(SPACES + (["-", "\u2013"] if kind == "CREDIT_CARD" else []))))
        else:
            parts.append(piece)
    value = "".join(parts)
    if draw(st.booleans()):  # fullwidth digits
        value = value.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    if draw(st.booleans()):
        value = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), value)
    if kind != "EMAIL" and draw(st.booleans()):  # any script's digits
        base = draw(st.sampled_from([0x0660, 0x06F0, 0x0966, 0x09E6]))
        value = "".join(chr(base + int(c)) if c.isdigit() and c.isascii() else c for c in value)
    return kind, value


CONTEXT = st.sampled_from(["", "Details: ", "für ", "请联系 ", "\u200b", "(", "«", "Tel.: ", "see\u00a0"])
AFTER = st.sampled_from(["", ".", ", thanks", " 谢谢", ")", "»", "\u200b", " — ok", "\n"])


@settings(max_examples=400, deadline=None)
@given(written_value(), CONTEXT, AFTER)
def test_any_written_form_is_found_whole_with_exact_offsets(kind_value, before, after):
    kind, value = kind_value
    text = before + value + after
    matches = [m for m in find(text) if m.type == kind]
    assert len(matches) == 1, (text, find(text))
    m = matches[0]
    assert (m.start, m.end) == (len(before), len(before) + len(value)), (text, m)
    assert text[m.start : m.end] == value


# -- URLs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, url",
    [
        ("请访问https://例子.中国/路径。谢谢", "https://例子.中国/路径"),  # glued to CJK, cut at 。
        ("联系www.example.com", "www.example.com"),
        ("see “https://example.com/a”.", "https://example.com/a"),
        ("«https://example.com/café»", "https://example.com/café"),
    ],
)
def test_urls_in_unicode_text_stop_at_unicode_punctuation(text, url):
    assert only(text, "URL") == url


# -- issue 7 B3: any separator run between groups, international phones --------------------------------------

_IBAN_SEPARATED = "DE89{s}3704{s}0044{s}0532{s}0130{s}00"


@pytest.mark.parametrize(
    "sep", ["  ", "\t", ".", "-", "/", "\u2009\u2009", " \n", "\n", " . ", "\u00a0\u00a0"],
)
def test_iban_with_any_separator_run_between_groups_is_one_bank_account(sep):
    value = _IBAN_SEPARATED.format(s=sep)
    assert only(f"IBAN {value} thanks", "BANK_ACCOUNT") == value


def test_iban_line_break_inside_a_group_list_and_two_line_breaks_end_it():
    text = "My IBAN is DE89 3704 0044\n0532 0130 00 thanks"
    assert only(text, "BANK_ACCOUNT") == "DE89 3704 0044\n0532 0130 00"
    assert not [m for m in find("IBAN DE89 3704 0044\n\n0532 0130 00") if m.type == "BANK_ACCOUNT"]


def test_iban_with_wide_separators_but_a_wrong_check_digit_is_not_an_iban():
    assert not [m for m in find("IBAN DE88  3704  0044  0532  0130  00") if m.type == "BANK_ACCOUNT"]


@pytest.mark.parametrize("sep", ["  ", "\t", ".", "/", " - ", "\u00a0\u00a0", " \n"])
def test_card_with_any_separator_run_between_groups_is_one_card(sep):
    value = sep.join(["4111", "1111", "1111", "1111"])
    assert only(f"card {value} thanks", "CREDIT_CARD") == value


def test_card_followed_by_an_expiry_is_the_card_and_luhn_still_decides():
    assert only("card 4111.1111.1111.1111 12/28", "CREDIT_CARD") == "4111.1111.1111.1111"
    assert not [m for m in find("card 4111.1111.1111.1112 ok") if m.type == "CREDIT_CARD"]
    # four groups of a longer number written the same way are not a card, even when they pass Luhn
    assert not [m for m in find("Rachunek: 61 1090 1014 0000 0712 1981 2874") if m.type == "CREDIT_CARD"]


def test_short_groups_with_dots_or_slashes_do_not_join_into_a_card():
    for text in ["on 12/05/2024 at 10.30.15 v1.2.3.4.5.6.7", "7.99.4.12.2024.5.5"]:
        assert not [m for m in find(text) if m.type == "CREDIT_CARD"], text


@pytest.mark.parametrize(
    "phone",
    ["+44 7911 123456", "+49 30 1234567", "+49 (0)30 1234567", "+91 98765 43210", "+55 11 91234-5678",
     "+1 415 5550100", "+33 1 42 68 53 00", "+44 (0)20 7946 0958", "+4930 12345678", "+49\u00a030\u00a01234567"],
)
def test_international_phone_with_long_groups_or_a_trunk_prefix_is_one_phone(phone):
    assert only(f"Call me on {phone} tomorrow.", "PHONE") == phone


@pytest.mark.parametrize(
    "text",
    ["Up +3.5% on 2024-01-05", "version +1.2.3 released", "score +12 -4", "+49 30", "temp +2.5 to +7.25",
     "+2024-01-05", "+1234567890123456789 too long"],
)
def test_signed_numbers_versions_dates_and_short_or_long_plus_runs_are_not_phones(text):
    assert not [m for m in find(text) if m.type == "PHONE"], find(text)


def test_long_runs_of_digit_groups_with_any_separators_stay_fast():
    import time

    for text in ["1 " * 50000, "1 2." * 25000, "1234 1234." * 10000, ("1" + " " * 30 + "\n") * 3000]:
        started = time.perf_counter()
        assert not [m for m in find(text) if m.type in ("CREDIT_CARD", "BANK_ACCOUNT")]
        assert time.perf_counter() - started < 2.0
