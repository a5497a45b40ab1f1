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
    ("ok the x", (3, 6), "ORG", "the"),  # a span that is only "the" is left alone
    ("18 $", (0, 2), "CARDINAL", "18"),
])
def test_entity_span_conventions(text, span, kind, want):
    from nlpserve.tasks.entities import conventions

    start, end = conventions(text, *span, kind)
    assert text[start:end] == want
