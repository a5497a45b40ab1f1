"""The held-out evaluation sets stay held out, well formed, and scored by correct metrics (issue 9)."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

import pytest
from nlpbuild.evaluate import HELDOUT, ROUTING, SENTIMENT_SETS, expected_calibration_error, macro_f1
from nlpbuild.recipes import read_jsonl as _rows

DATA = HELDOUT.parent


def _words(text: str) -> frozenset[str]:
    return frozenset(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


@pytest.mark.parametrize("name", SENTIMENT_SETS)
def test_sentiment_sets_are_balanced_and_labelled_twice(name):
    rows = _rows(HELDOUT / f"{name}.jsonl")
    assert Counter(r["label"] for r in rows) == {"positive": 100, "negative": 100, "neutral": 40}
    assert len({r["id"] for r in rows}) == len(rows) == len({r["text"] for r in rows})
    assert all(r["label_second_annotator"] in {"positive", "negative", "neutral"} for r in rows)


def test_intent_set_has_dev_and_test_for_every_label():
    rows = _rows(HELDOUT / "intent_heldout.jsonl")
    labels = {r["intent"] for r in rows}
    assert len(labels) == 157 and set(ROUTING) <= labels and "oos" in labels
    for label in labels:
        splits = Counter(r["split"] for r in rows if r["intent"] == label)
        assert splits["dev"] >= 1 and splits["test"] >= 2, label
    assert len({r["text"].lower() for r in rows}) == len(rows)


def _heldout_words() -> list[tuple[str, frozenset[str]]]:
    paths = [HELDOUT / f"{name}.jsonl" for name in SENTIMENT_SETS] + [HELDOUT / "intent_heldout.jsonl"]
    return [(f"{path.name} {r['id']}", _words(r["text"])) for path in paths for r in _rows(path)]


def test_no_heldout_text_is_in_the_data_the_builder_trains_or_reports_on():
    """A held-out text copied (or nearly copied) into a training or tuning file makes every number a lie."""
    other = [_words(r["text"]) for path in DATA.glob("*.jsonl") for r in _rows(path)]
    other = [w for w in other if w]
    for where, words in _heldout_words():
        closest = max(len(words & o) / len(words | o) for o in other)
        assert closest < 0.8, f"{where} is too close to a text in {DATA}"


def test_training_text_keeps_away_from_the_heldout_sets():
    """data/train/ was de-duplicated at 0.6 word-set Jaccard against every held-out text; keep it so."""
    heldout = [(where, words) for where, words in _heldout_words() if words]
    for path in (DATA / "train").glob("*.jsonl"):
        for r in _rows(path):
            words = _words(r["text"])
            where, closest = max(((w, len(words & h) / len(words | h)) for w, h in heldout), key=lambda x: x[1])
            assert closest < 0.6, f"{path.name} {r['id']} is too close to held-out {where}"


def test_expected_calibration_error():
    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [False] * 10) == pytest.approx(0.9)
    # two bins: 0.6 confident and right half the time (gap 0.1), 1.0 confident and always right (gap 0)
    assert expected_calibration_error([0.6, 0.6, 1.0, 1.0], [True, False, True, True]) == pytest.approx(0.05)


def test_macro_f1_averages_labels_equally():
    gold = ["a", "a", "a", "b"]
    assert macro_f1(gold, ["a", "a", "a", "b"], ["a", "b"]) == 1.0
    assert macro_f1(gold, ["a", "a", "a", "a"], ["a", "b"]) == pytest.approx((6 / 7 + 0) / 2, abs=1e-4)


def test_pii_set_spans_are_exact_typed_and_disjoint():
    from nlpbuild.evaluate_pii import COARSE

    rows = _rows(HELDOUT / "pii_heldout.jsonl")
    assert len({r["id"] for r in rows}) == len(rows) and Counter(r["split"] for r in rows)["test"] >= 600
    for r in rows:
        spans = sorted((e["start"], e["end"]) for e in r["entities"])
        assert all(0 <= s < e <= len(r["text"]) for s, e in spans), r["id"]
        assert all(a[1] <= b[0] for a, b in pairwise(spans)), r["id"]  # no overlaps
        assert all(e["type"] in COARSE and r["text"][e["start"]:e["end"]].strip() for e in r["entities"]), r["id"]
    test_types = Counter(e["type"] for r in rows if r["split"] == "test" for e in r["entities"])
    assert set(test_types) == set(COARSE) and min(test_types.values()) >= 30, test_types
    assert sum(not r["entities"] for r in rows if r["split"] == "test") >= 50  # precision needs clean texts


def test_pii_character_scoring_counts_letters_and_digits_by_type():
    from nlpbuild.evaluate_pii import score

    row = {"text": "Call Ann Lee at 555-0100.", "entities": [
        {"start": 5, "end": 12, "type": "PERSON"}, {"start": 16, "end": 24, "type": "PHONE"}]}
    perfect = score([row], [[(5, 12, "PERSON"), (16, 24, "PHONE")]])
    assert perfect["redaction"] == {"recall": 1.0, "precision": 1.0, "characters": 6 + 7}
    half = score([row], [[(5, 8, "PERSON"), (16, 24, "PERSON"), (0, 4, "PERSON")]])
    assert half["redaction"]["recall"] == round(10 / 13, 4)  # "Lee" missed; the phone found (wrong type)
    assert half["redaction"]["precision"] == round(10 / 14, 4)  # "Call" is not personal data
    assert half["per_type"]["PHONE"]["recall"] == 0.0 and half["per_type"]["PHONE"]["redaction_recall"] == 1.0
    assert half["per_type"]["PERSON"]["recall"] == 0.5
