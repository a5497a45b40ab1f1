"""Issue 9: a rebuilt bundle whose held-out quality drops below its published card fails here.

The card is ``benchmarks/results/quality.json`` (written by ``python -m nlpbuild evaluate``; the README's
quality tables come from it). These tests score the bundles in ``build/models`` on the same held-out sets as
served and compare. ``TOLERANCE`` allows for a different onnxruntime build rounding a near-tie the other way
(one item in 200 is 0.005), not for a worse model.
"""

import json
from pathlib import Path

import pytest

CARD = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "quality.json"
TOLERANCE = 0.011


@pytest.fixture(scope="module")
def card():
    return json.loads(CARD.read_text())


@pytest.fixture(scope="module")
def sentiment_now(models_dir):
    from nlpbuild.evaluate import evaluate_sentiment

    return evaluate_sentiment(None)


def test_sentiment_holds_its_card_on_every_kind_of_text(card, sentiment_now):
    assert set(sentiment_now) == set(card["sentiment"])
    for kind, entry in card["sentiment"].items():
        want, got = entry["ours"], sentiment_now[kind]["ours"]
        assert got["accuracy_pos_neg"] >= want["accuracy_pos_neg"] - TOLERANCE, kind
        assert got["macro_f1_3way"] >= want["macro_f1_3way"] - TOLERANCE, kind
        assert got["ece"] <= want["ece"] + 2 * TOLERANCE, kind


def test_the_served_model_card_carries_the_numbers_it_is_served_with(models_dir, sentiment_now):
    from nlpserve.tasks import get_task

    published = get_task("sentiment").bundle.manifest.quality["heldout"]
    assert published == {kind: e["ours"] for kind, e in sentiment_now.items()}


def test_intents_hold_their_card_at_the_shipped_threshold(card, models_dir):
    from nlpbuild.evaluate import evaluate_classify

    now = evaluate_classify()
    assert now["test_at_chosen"]["threshold"] == card["classify"]["test_at_chosen"]["threshold"]
    for metric in ("in_scope_accuracy", "routing_accuracy", "oos_recall", "oos_precision"):
        assert now["test_at_chosen"][metric] >= card["classify"]["test_at_chosen"][metric] - TOLERANCE, metric


def test_personal_data_redaction_holds_its_card(card, models_dir):
    from nlpbuild import evaluate_pii
    from nlpbuild.evaluate import HELDOUT
    from nlpbuild.recipes import read_jsonl

    rows = [r for r in read_jsonl(HELDOUT / "pii_heldout.jsonl") if r["split"] == "test"]
    now = evaluate_pii.score(rows, evaluate_pii.ours(rows))
    want = card["ner"]["ours"]
    for metric in ("recall", "precision"):
        assert now["redaction"][metric] >= want["redaction"][metric] - TOLERANCE, metric
    for kind, m in want["per_type"].items():
        assert now["per_type"][kind]["recall"] >= m["recall"] - 2 * TOLERANCE, kind


def test_language_identification_holds_its_card(card, models_dir):
    """Issue 10: the language set and the guard's threshold, as published."""
    from nlpbuild import evaluate_language
    from nlpserve.tasks import language

    now = evaluate_language.ours()
    want = card["language"]["ours"]
    assert now["chosen_threshold"] == want["chosen_threshold"] == language.FLAG_PROBABILITY
    assert now["test"]["top1_accuracy"] >= want["test"]["top1_accuracy"] - TOLERANCE
    assert now["test"]["other_language_flagged"] >= want["test"]["other_language_flagged"] - TOLERANCE
    assert now["test"]["english_flagged"] <= want["test"]["english_flagged"] + 0.002


def test_general_entities_hold_their_card(card, models_dir):
    """Issue 10: the distilled entity model on the hand-labelled test split, as published."""
    from nlpbuild.evaluate_entities import evaluate_entities

    now = evaluate_entities(models_dir, peers=False, log=lambda _m: None)
    want = card["entities"]["student"]["vs_gold"]
    assert now["student"]["vs_gold"]["f1"] >= want["f1"] - TOLERANCE
