"""NER span logic around the matching form: grouped numbers become one entity, offsets map back exactly."""

from nlpserve.tasks.ner import Entity, complete_grouped_numbers, to_original
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
