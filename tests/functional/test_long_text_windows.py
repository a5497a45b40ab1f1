"""Issue 9: sentiment and classify read a long text in overlapping windows and pool them, not its first
254 pieces only (``nlpserve.tasks.windows``). Real bundles."""

import numpy as np
import pytest
from nlpserve.runtime import WINDOW_OVERLAP, plan_windows
from nlpserve.tasks import get_task

DESCRIPTION = (
    "The kettle is 24 cm tall, holds 1.7 litres and has a stainless steel body with a blue water window. "
    "It comes with a 75 cm cable, a base that turns 360 degrees and a removable limescale filter. "
)
COMPLAINT = (
    "It broke after two days, leaked all over the counter and the seller ignored every message I sent. "
    "Awful, unsafe and a complete waste of money; I am furious and want a refund. "
)


def long_review() -> str:
    """About 300 pieces of neutral specification, then about 300 of angry complaint."""
    return DESCRIPTION * 6 + COMPLAINT * 8


@pytest.mark.parametrize("name", ["sentiment", "classify"])
def test_a_short_text_is_one_window_and_scores_as_the_model_does(models_dir, name):
    task = get_task(name)
    text = "The support team fixed my billing problem in minutes."
    (result,) = task.run([text])
    assert result.windows == 1 and result.truncated is False
    (row,) = task.bundle.run(task.bundle.encode([text]))
    assert result.score == pytest.approx(float(row.max()), abs=1e-6)


def test_windows_cover_every_piece_of_a_long_text(models_dir):
    bundle = get_task("sentiment").bundle
    text = long_review()
    pieces = bundle.tokenize([text])[0].ids
    (windows,) = bundle.encode_windows([text])
    assert len(windows) == len(plan_windows(len(pieces), bundle.max_length - 2, WINDOW_OVERLAP)) >= 2
    assert all(len(w) <= bundle.max_length and w.ids[0] == bundle.cls_id and w.ids[-1] == bundle.sep_id for w in windows)
    covered = [w.ids[1:-1] for w in windows]
    assert covered[0] == pieces[: len(covered[0])]
    assert covered[-1] == pieces[len(pieces) - len(covered[-1]) :]  # the end of the text is read
    assert sum(len(c) for c in covered) - WINDOW_OVERLAP * (len(windows) - 1) == len(pieces)


@pytest.mark.parametrize("name", ["sentiment", "classify"])
def test_long_text_probabilities_are_the_piece_weighted_mean_of_its_windows(models_dir, name):
    task = get_task(name)
    text = long_review()
    (windows,) = task.bundle.encode_windows([text])
    rows = np.array([task.bundle.run([w])[0] for w in windows])
    weights = np.array([len(w) - 2 for w in windows], dtype=np.float64)
    expected = (weights[:, None] * rows).sum(0) / weights.sum()
    params = task.Params(return_all_scores=True) if name == "sentiment" else task.Params(top_k=3, oos_threshold=0.0)
    (result,) = task.run([text], params)
    assert result.windows == len(windows) >= 2 and result.truncated is False
    labels = task.bundle.manifest.labels
    assert result.label == labels[int(expected.argmax())]
    assert result.score == pytest.approx(float(expected.max()), abs=1e-5)


def test_a_complaint_after_a_long_neutral_description_is_not_judged_on_the_description(models_dir):
    task = get_task("sentiment")
    text = long_review()
    params = task.Params(return_all_scores=True)
    (first_window,) = task.bundle.run(task.bundle.encode([text]))  # what reading only 254 pieces gives
    (result,) = task.run([text], params)
    negative = task.bundle.manifest.labels.index("negative")
    assert result.scores["negative"] > float(first_window[negative]) + 0.2
    assert result.scores["negative"] > result.scores["positive"]
