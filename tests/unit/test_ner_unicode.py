"""NER span logic around the matching form: grouped numbers become one entity, offsets map back exactly."""

from nlpserve.tasks.ner import Entity, complete_grouped_numbers, merge_patterns, to_original
from nlpserve.text import normalize_for_matching


def ent(text, value, kind, source="model", after=""):
    start = text.index(after + value) + len(after)
    return Entity(type=kind, text=value, start=start, end=start + len(value), score=0.9, source=source)


def spans(text, entities):
    return [(e.type, text[e.start : e.end]) for e in entities]


def test_a_model_entity_on_one_group_widens_to_the_whole_grouped_number():
    text = "Account number: 1234 5678 9012 3456 78, thanks"
    out = complete_grouped_numbers(text, [ent(text, "78", "ZIP_CODE")])
    assert spans(text, out) == [("ZIP_CODE", "1234 5678 9012 3456 78")]


def test_several_types_on_one_number_become_one_entity_of_the_type_with_most_digits():
    text = "Rachunek: 61 1090 1014 0000 0712 1981 2874."
    found = [ent(text, "1090 1014", "BANK_ACCOUNT"), ent(text, "1981", "PHONE"), ent(text, "2874", "ZIP_CODE")]
    out = complete_grouped_numbers(text, found)
    assert spans(text, out) == [("BANK_ACCOUNT", "61 1090 1014 0000 0712 1981 2874")]


def test_pattern_matches_short_runs_untouched_numbers_and_other_entities_stay_as_they_are():
    text = "Call 415-555-0123, flat 3 4, ref 1234 5678 9012 and Jane"
    found = [ent(text, "415-555-0123", "PHONE", "pattern"), ent(text, "3", "SECONDARY_ADDRESS", after="flat "),
             ent(text, "Jane", "GIVEN_NAME")]
    assert complete_grouped_numbers(text, found) == found


def test_to_original_maps_spans_and_keeps_entities_apart():
    original = "ﬁ\u200bx jörg@example.de"
    norm = normalize_for_matching(original)
    assert norm.text == "fix jörg@example.de"
    found = [Entity(type="A", text="f", start=0, end=1, score=1.0), Entity(type="B", text="ix", start=1, end=3, score=1.0),
             Entity(type="EMAIL", text="jörg@example.de", start=4, end=19, score=1.0, source="pattern")]
    out = to_original(norm, found)
    assert [(e.type, e.text) for e in out] == [("A", "ﬁ"), ("B", "\u200bx"), ("EMAIL", "jörg@example.de")]
    assert all(original[e.start : e.end] == e.text for e in out)


# -- issue 7 B3: a pattern match is redacted whole whatever part of it the model tagged -------------------


def test_model_entity_on_part_of_a_phone_pattern_gives_way_to_the_full_match():
    text = "Call me on +44 7911 123456 tomorrow."
    out = merge_patterns(text, [ent(text, "+", "PHONE")])
    assert spans(text, out) == [("PHONE", "+44 7911 123456")]


def test_model_entity_of_another_type_on_a_minority_of_a_phone_match_does_not_leave_the_rest_readable():
    text = "Call me on +44 7911 123456 tomorrow."
    out = merge_patterns(text, [ent(text, "7911", "ZIP_CODE")])
    assert spans(text, out) == [("PHONE", "+44 7911 123456")]


def test_model_type_covering_most_of_a_phone_shaped_match_is_kept_on_the_whole_span():
    text = "My SSN is 123 45 6789."
    out = merge_patterns(text, [ent(text, "123 45", "SSN")])
    assert spans(text, out) == [("SSN", "123 45 6789")]


def test_model_groups_on_an_iban_become_the_one_bank_account():
    text = "IBAN DE89  3704  0044  0532  0130  00 thanks"
    out = merge_patterns(text, [ent(text, "0044", "PHONE"), ent(text, "00", "ZIP_CODE", after="0130  ")])
    assert spans(text, out) == [("BANK_ACCOUNT", "DE89  3704  0044  0532  0130  00")]


def test_a_model_entity_mostly_outside_a_pattern_keeps_its_outside_part_and_spill_over_is_dropped():
    text = "Jane Doe jane@example.com and card 3782 822463 10005 ok"
    found = [ent(text, "Jane Doe jane", "GIVEN_NAME"), ent(text, "10005 ok", "ZIP_CODE")]
    out = merge_patterns(text, found)
    assert spans(text, out) == [("GIVEN_NAME", "Jane Doe"), ("EMAIL", "jane@example.com"),
                                ("CREDIT_CARD", "3782 822463 10005")]


def test_grouped_number_with_double_spaces_tabs_or_a_line_break_widens_as_one():
    for sep in ["  ", "\t", "\n", " \n "]:
        text = f"Account number: 1234{sep}5678{sep}9012{sep}3456{sep}78, thanks"
        out = complete_grouped_numbers(text, [ent(text, "78", "ZIP_CODE")])
        assert spans(text, out) == [("ZIP_CODE", sep.join(["1234", "5678", "9012", "3456", "78"]))]
