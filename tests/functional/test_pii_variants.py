"""Redaction through the real model: text a person reads as the same is redacted the same, offsets exact.

The NER model and the patterns read the matching form of the text (NFKC, one dash, one space, ASCII
digits, no zero-width characters); entities come back with offsets into the original text.
"""

import json
import unicodedata

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nlpserve.api import create_app
from nlpserve.tasks import get_task


@pytest.fixture(scope="module")
def client(models_dir):
    return TestClient(create_app(["ner", "redact"]))


def redact(client, text, **parameters):
    r = client.post("/v1/redact", content=json.dumps({"inputs": text, "parameters": parameters}),
                    headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    for e in result["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
        assert result["text"][e["redacted_start"] : e["redacted_end"]] == f"[{e['type']}]" or parameters
    return result


# -- the examples from the issue ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value, kind",
    [
        ("Write to jörg@example.de today", "jörg@example.de", "EMAIL"),
        ("Write to jo\u0308rg@example.de today", "jo\u0308rg@example.de", "EMAIL"),
        ("Write to jаne@example.com today", "jаne@example.com", "EMAIL"),  # Cyrillic а
        ("call 415\u2011555\u20110123 now", "415\u2011555\u20110123", "PHONE"),
        ("call 415\u2013555\u20130123 now", "415\u2013555\u20130123", "PHONE"),
        ("SSN 123\u201145\u20116789 ok", "123\u201145\u20116789", "SSN"),
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", "DE89 3704 0044 0532 0130 00", "BANK_ACCOUNT"),
        ("card 4111\u20131111\u20131111\u20131111 thanks", "4111\u20131111\u20131111\u20131111", "CREDIT_CARD"),
        ("card 5555\u00a05555\u00a05555\u00a04444 thanks", "5555\u00a05555\u00a05555\u00a04444", "CREDIT_CARD"),
    ],
)
def test_issue_examples_are_redacted_whole_as_one_entity_of_the_right_type(client, text, value, kind):
    result = redact(client, text)
    start = text.index(value)
    covering = [e for e in result["entities"] if e["start"] <= start and start + len(value) <= e["end"]]
    assert [e["type"] for e in covering] == [kind], result
    assert covering[0]["text"] == value
    assert value not in result["text"] and f"[{kind}]" in result["text"]


@pytest.mark.parametrize(
    "text, number",
    [
        ("Account number: 1234 5678 9012 3456 78", "1234 5678 9012 3456 78"),
        ("Rachunek: 61 1090 1014 0000 0712 1981 2874", "61 1090 1014 0000 0712 1981 2874"),
        ("IBAN GB82 WEST 1234 5698 7654 32, ref INV0042", "GB82 WEST 1234 5698 7654 32"),
        ("account 4421\u2011889\u2011102 please", "4421\u2011889\u2011102"),
    ],
)
def test_grouped_account_numbers_are_redacted_whole_as_one_entity(client, text, number):
    result = redact(client, text)
    start = text.index(number)
    assert [e["text"] for e in result["entities"] if e["start"] <= start < e["end"]] == [number], result
    assert not any(ch.isdigit() for ch in result["text"].replace("INV0042", "")), result["text"]


# -- issue 7 B3, break-test leaks: any separator run, international phones, partial model spans -----------


@pytest.mark.parametrize(
    "text, value, kind",
    [
        ("IBAN DE89  3704  0044  0532  0130  00 thanks", "DE89  3704  0044  0532  0130  00", "BANK_ACCOUNT"),
        ("IBAN DE89.3704.0044.0532.0130.00 dots", "DE89.3704.0044.0532.0130.00", "BANK_ACCOUNT"),
        ("My IBAN is DE89\t3704\t0044\t0532\t0130\t00 thanks", "DE89\t3704\t0044\t0532\t0130\t00", "BANK_ACCOUNT"),
        ("My IBAN is DE89 3704 0044\n0532 0130 00 thanks", "DE89 3704 0044\n0532 0130 00", "BANK_ACCOUNT"),
        ("IBAN DE89/3704/0044/0532/0130/00 ok", "DE89/3704/0044/0532/0130/00", "BANK_ACCOUNT"),
        ("IBAN DE89\u2009\u20093704\u2009\u20090044\u2009\u20090532\u2009\u20090130\u2009\u200900 ok",
         "DE89\u2009\u20093704\u2009\u20090044\u2009\u20090532\u2009\u20090130\u2009\u200900", "BANK_ACCOUNT"),
        ("card 4111.1111.1111.1111 dots", "4111.1111.1111.1111", "CREDIT_CARD"),
        ("card 4111  1111  1111  1111 double space", "4111  1111  1111  1111", "CREDIT_CARD"),
        ("card 4111\t1111\t1111\t1111 tabs", "4111\t1111\t1111\t1111", "CREDIT_CARD"),
        ("Call me on +44 7911 123456 tomorrow.", "+44 7911 123456", "PHONE"),
        ("Call me on +49 30 1234567 tomorrow.", "+49 30 1234567", "PHONE"),
        ("Call me on +49 (0)30 1234567 tomorrow.", "+49 (0)30 1234567", "PHONE"),
        ("Call me on +91 98765 43210 tomorrow.", "+91 98765 43210", "PHONE"),
        ("Call me on +55 11 91234-5678 tomorrow.", "+55 11 91234-5678", "PHONE"),
        ("Call me on +1 415 5550100 tomorrow.", "+1 415 5550100", "PHONE"),
    ],
)
def test_break_test_leaks_are_redacted_whole_as_one_entity(client, text, value, kind):
    result = redact(client, text)
    start = text.index(value)
    covering = [e for e in result["entities"] if e["start"] < start + len(value) and start < e["end"]]
    assert [(e["type"], e["text"]) for e in covering] == [(kind, value)], result
    assert not any(ch.isdigit() for ch in result["text"]), result["text"]


def test_dates_versions_and_decimals_do_not_become_phones_or_cards(client):
    text = "Released v1.2.3 on 2024-01-05 at 10.30, up +3.5% to 4.25; build 12/05/2024."
    result = redact(client, text)
    assert not [e for e in result["entities"] if e["type"] in ("PHONE", "CREDIT_CARD", "BANK_ACCOUNT")], result


def test_plain_and_variant_texts_get_the_same_entities(client):
    plain = "Hi, I'm Jane Doe. Email jane.doe@example.com or call 415-555-0100. I live in Springfield."
    variant = (plain.replace("-", "\u2011").replace(" ", "\u00a0", 3).replace("jane.doe@example.com", "ｊａｎｅ.ｄｏｅ＠example.com"))
    a, b = redact(client, plain), redact(client, variant)
    assert [e["type"] for e in a["entities"]] == [e["type"] for e in b["entities"]]


def test_char_mask_keeps_the_length_of_the_original_value(client):
    text = "SSN 123\u201145\u20116789 ok"
    assert redact(client, text, mask="char")["text"] == "SSN " + "*" * 11 + " ok"


# -- property: exact offsets and nothing left readable, for any mix of variants ----------------------------

DASHES = ["-", "\u2010", "\u2011", "\u2013", "\u2014", "\u2212"]
SPACES = [" ", "\u00a0", "\u202f", "\u2009"]
VALUES = {
    "PHONE": "415{d}555{d}0123",
    "SSN": "123{d}45{d}6789",
    "CREDIT_CARD": "4111{s}1111{s}1111{s}1111",
    "BANK_ACCOUNT": "DE89{s}3704{s}0044{s}0532{s}0130{s}00",
    "EMAIL": "jörg.müller@example.de",
}
# Neutral frames: a label that names a kind ("Konto:", "Fax:") decides the type of a free-form number
# (pii_context.retype_by_label), which tests/unit/test_pii_context.py covers.
SENTENCES = ["Please contact Maria at {v} before Friday.", "{v}", "Bitte an: {v}, danke!", "Ref\u00a0{v}\u200b."]


@st.composite
def sentence(draw):
    kind = draw(st.sampled_from(sorted(VALUES)))
    value = VALUES[kind]
    while "{d}" in value or "{s}" in value:
        value = value.replace("{d}", draw(st.sampled_from(DASHES)), 1).replace("{s}", draw(st.sampled_from(SPACES)), 1)
    if draw(st.booleans()):
        value = value.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})  # fullwidth digits
    value = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), value)
    template = draw(st.sampled_from(SENTENCES))
    return kind, value, template.replace("{v}", value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentence())
def test_every_variant_is_redacted_whole_with_exact_offsets(models_dir, case):
    kind, value, text = case
    task = get_task("redact")
    (result,) = task.run([text], task.Params())
    start = text.index(value)
    for e in result.entities:
        assert text[e.start : e.end] == e.text and 0 <= e.start < e.end <= len(text)
        assert result.text[e.redacted_start : e.redacted_end] == f"[{e.type}]"
    assert any(e.type == kind and e.start <= start and start + len(value) <= e.end for e in result.entities), result
    visible = [ch for ch in result.text if ch.isdigit() or ch == "@"]
    assert visible == [], (text, result.text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60).filter(lambda t: t.strip()))
def test_entity_offsets_are_exact_for_arbitrary_unicode(models_dir, noise):
    text = f"{noise} Call Jane at 415\u2011555\u20110100 {noise}"
    (result,) = get_task("ner").run([text], get_task("ner").Params())
    ends = 0
    for e in result.entities:
        assert text[e.start : e.end] == e.text and ends <= e.start < e.end <= len(text)
        ends = e.end


def test_an_empty_entity_types_list_means_every_type_not_none(client):
    """Found by a new-user break test: [] used to return no entities, so /v1/redact sent the text back unredacted."""
    text = "Email jane.doe@example.com or call 415-555-0100."
    assert redact(client, text, entity_types=[])["text"] == redact(client, text)["text"] != text
