"""BIO decoding for token classifiers (nlpserve.tasks.bio): word grouping, constrained tags, spans."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nlpserve.tasks import bio

LABELS = ["O", "B-ORG", "I-ORG", "B-FAC", "I-FAC", "B-MONEY", "I-MONEY"]


def _rows(tags: list[str], p: float = 0.9) -> np.ndarray:
    rows = np.full((len(tags), len(LABELS)), (1 - p) / (len(LABELS) - 1))
    for k, tag in enumerate(tags):
        rows[k, LABELS.index(tag)] = p
    return rows


def test_pieces_of_one_word_are_one_unit_including_a_currency_sign_and_its_number():
    text = "paid €320 at Albarossa, 300,000"
    # "€" "##320" (WordPiece keeps a currency sign in the word), "Alba" "##ross" "##a", "300" "," "000"
    offsets = [(0, 4), (5, 6), (6, 9), (10, 12), (13, 17), (17, 21), (21, 22), (22, 23), (24, 27), (27, 28),
               (28, 31)]
    continuation = [False, False, True, False, False, True, True, False, False, False, False]
    assert bio.word_starts(text, offsets, continuation) == [0, 1, 3, 4, 7, 8, 9, 10]
    assert bio.word_starts(text, offsets) == [0, 1, 2, 3, 4, 7, 8, 9, 10]  # without the marks: alnum joins only


def test_an_entity_never_starts_inside_a_word():
    text = "at Albarossa today"
    offsets = [(0, 2), (3, 7), (7, 11), (11, 12), (13, 18)]
    # the model believes the middle piece starts an ORG; the word's mean says FAC
    rows = _rows(["O", "B-FAC", "B-ORG", "B-FAC", "O"], 0.6)
    rows[2, LABELS.index("B-FAC")] = 0.3
    spans = bio.decode(text, offsets, rows, LABELS, [False, False, True, True, False])
    assert [(text[s:e], kind) for s, e, kind, _ in spans] == [("Albarossa", "FAC")]


def test_a_type_switch_inside_a_name_is_resolved_to_one_span():
    text = "the Grand Meridian Hotel"
    offsets = [(0, 3), (4, 9), (10, 18), (19, 24)]
    rows = _rows(["O", "B-ORG", "I-FAC", "I-FAC"], 0.55)
    rows[1, LABELS.index("B-FAC")] = 0.4  # second choice
    spans = bio.decode(text, offsets, rows, LABELS)
    assert [(text[s:e], kind) for s, e, kind, _ in spans] == [("Grand Meridian Hotel", "FAC")]
    assert 0 < spans[0][3] <= 1


def test_empty_input():
    assert bio.decode("", [], np.zeros((0, len(LABELS))), LABELS) == []
    assert bio.viterbi(np.zeros((0, len(LABELS))), LABELS) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.floats(0.01, 1.0), min_size=len(LABELS), max_size=len(LABELS)), min_size=1,
                max_size=12))
def test_viterbi_paths_obey_bio_and_beat_every_other_legal_path_we_try(raw):
    log_probs = np.log(np.asarray(raw) / np.sum(raw, axis=1, keepdims=True))
    path = bio.viterbi(log_probs, LABELS)
    names = [LABELS[t] for t in path]
    for prev, cur in zip(["O", *names], names):
        if cur.startswith("I-"):
            assert prev[2:] == cur[2:] and prev != "O", names
    # the constrained argmax of every position where it is legal can never score higher
    greedy, prev = [], "O"
    for row in log_probs:
        order = np.argsort(-row)
        pick = next(int(t) for t in order if not LABELS[t].startswith("I-") or prev[2:] == LABELS[t][2:] != "")
        greedy.append(pick)
        prev = LABELS[pick]
    score = lambda p: sum(log_probs[k, t] for k, t in enumerate(p))
    assert score(path) >= score(greedy) - 1e-9


@pytest.mark.parametrize("tags, want", [
    (["B-ORG", "I-ORG", "O", "B-MONEY"], [(0, 9, "ORG"), (14, 16, "MONEY")]),
    (["B-ORG", "B-ORG"], [(0, 4, "ORG"), (5, 9, "ORG")]),  # two B's are two entities
])
def test_spans_from_tags(tags, want):
    bounds = [(0, 4), (5, 9), (10, 13), (14, 16)][: len(tags)]
    got = bio.spans([LABELS.index(t) for t in tags], [0.9] * len(tags), bounds, LABELS)
    assert [(s, e, k) for s, e, k, _ in got] == want


def test_training_targets_round_trip_through_the_shared_span_decoder():
    """nlpbuild.train_entities turns the teacher's spans into piece tags and back with the same decoder."""
    from nlpbuild.train_entities import decode, piece_tags

    text = "Maria Keller paid $40 in Berlin"
    offsets = [(0, 5), (6, 12), (13, 17), (18, 19), (19, 21), (22, 24), (25, 31)]
    assert [text[s:e] for s, e in offsets] == ["Maria", "Keller", "paid", "$", "40", "in", "Berlin"]
    spans = [{"start": 0, "end": 12, "type": "PERSON"}, {"start": 18, "end": 21, "type": "MONEY"},
             {"start": 25, "end": 31, "type": "GPE"}]
    assert decode(piece_tags(offsets, spans), offsets) == [(0, 12, "PERSON"), (18, 21, "MONEY"), (25, 31, "GPE")]


@pytest.mark.parametrize("word, want", [
    ("berlin", bio.LOWER), ("2024", bio.LOWER), ("€320", bio.LOWER), ("Berlin", bio.CAPITALISED),
    ("McDonald", bio.CAPITALISED), ("I", bio.CAPITALISED), ("NASA", bio.ALL_CAPS), ("CA$", bio.ALL_CAPS),
    ("iPhone", bio.MIXED), ("Ärzte", bio.CAPITALISED), ("ÉCOLE", bio.ALL_CAPS),
])
def test_word_shape(word, want):
    assert bio.shape(word) == want


def test_every_piece_carries_its_whole_words_shape():
    text = "Albarossa and NASA"
    offsets = [(0, 4), (4, 8), (8, 9), (10, 13), (14, 18)]
    assert bio.word_shapes(text, offsets, [False, True, True, False, False]) == [1, 1, 1, 0, 2]


@pytest.mark.parametrize("text, span, kind, want", [
    ("paid $18 today", (6, 8), "MONEY", "$18"),
    ("a CA$4 million deal", (5, 14), "MONEY", "CA$4 million"),
    ("only €320", (6, 9), "MONEY", "€320"),
    ("the European Central Bank said", (0, 25), "ORG", "European Central Bank"),
    ("at The Golden Gate Bridge", (3, 25), "FAC", "Golden Gate Bridge"),
    ("Graham Pettifer's car", (0, 17), "PERSON", "Graham Pettifer"),
    ("Graham Pettifer’s car", (0, 17), "PERSON", "Graham Pettifer"),
    ("then the weekend", (5, 16), "DATE", "weekend"),
    ("theatre tickets", (0, 7), "ORG", "theatre"),  # only the word "the" is dropped
    ("ok the x", (3, 6), "ORG", None),  # a span that is only "the" is no entity
    ("18 $", (0, 2), "CARDINAL", "18"),
    # break test: trailing words and punctuation, periods, currency codes, combining marks
    ("Section 230 of the act", (0, 14), "LAW", "Section 230"),
    ("paid $2 and $3", (5, 12), "MONEY", "$2"),
    ("on Monday, January 8th", (3, 10), "DATE", "Monday"),
    ("on 12 March 2024.", (3, 17), "DATE", "12 March 2024"),
    ("to the U.S.", (7, 11), "GPE", "U.S."),
    ("at 10:30 a.m.", (3, 13), "TIME", "10:30 a.m."),
    ("Acme Inc.", (0, 9), "ORG", "Acme Inc."),
    ("raised CA$4 million", (9, 19), "MONEY", "CA$4 million"),  # the model started at the sign
    ("raised HK$10 million", (9, 20), "MONEY", "HK$10 million"),
    ("a NOK 3.1 billion deal", (6, 17), "MONEY", "NOK 3.1 billion"),
    ("in Paris\u0301 today", (3, 8), "GPE", "Paris\u0301"),
    (", ", (0, 2), "ORG", None),
])
def test_entity_span_conventions(text, span, kind, want):
    from nlpserve.tasks.entities import conventions

    got = conventions(text, *span, kind)
    assert (text[got[0]:got[1]] if got else None) == want


def test_tidy_spans_never_overlap_and_never_sit_inside_an_address():
    from nlpserve.tasks.entities import tidy

    text = "It was sold for HK$10 million; mail angela.merkel@bundestag.de or see https://bbc.co.uk/news now."
    spans = [(16, 18, "ORG", 0.9), (18, 19, "MONEY", 0.8), (19, 29, "MONEY", 0.9),  # "HK", "$", "10 million"
             (36, 42, "PERSON", 0.9), (43, 49, "PERSON", 0.9), (78, 81, "ORG", 0.7)]
    got = [(text[s:e], kind) for s, e, kind, _ in tidy(text, spans)]
    assert got == [("HK$10 million", "MONEY")]


def test_numbers_with_separators_are_one_word():
    text = "about 4.5 kg, 3,000 units at 9:30"
    offsets = [(0, 5), (6, 7), (7, 8), (8, 9), (10, 12), (12, 13), (14, 15), (15, 16), (16, 19), (20, 25),
               (26, 28), (29, 30), (30, 31), (31, 33)]
    words = bio.word_starts(text, offsets, join_numbers=True)
    bounds = [(offsets[s][0], offsets[e - 1][1]) for s, e in zip(words, [*words[1:], len(offsets)])]
    assert [text[s:e] for s, e in bounds] == ["about", "4.5", "kg", ",", "3,000", "units", "at", "9:30"]
