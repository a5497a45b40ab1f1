"""Length-sorted batching: every item once, in sorted runs, within the hard bounds, at least estimated cost."""

import random

import pytest
from nlpserve.runtime.bundle import MAX_BATCH_CELLS, MAX_BATCH_TOKENS, _batches, _call_cost


def _cost(batches: list[list[int]], lengths: list[int]) -> float:
    return sum(_call_cost(len(b), max(lengths[i] for i in b)) for b in batches)


def _lengths(seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    lengths = [rng.choice([rng.randint(3, 40), rng.randint(60, 512)]) for _ in range(rng.randint(1, 200))]
    return lengths, sorted(range(len(lengths)), key=lambda i: lengths[i])


@pytest.mark.parametrize("seed", range(20))
def test_batches_cover_every_item_once_within_every_bound(seed: int) -> None:
    lengths, order = _lengths(seed)
    batches = _batches(order, [lengths[i] for i in order], batch_size=32)
    assert [i for b in batches for i in b] == order
    for b in batches:
        width, rows = max(lengths[i] for i in b), len(b)
        if rows > 1:
            assert rows <= 32 and rows * width * width <= MAX_BATCH_CELLS and rows * width <= MAX_BATCH_TOKENS


@pytest.mark.parametrize("seed", range(20))
def test_cuts_cost_no_more_than_fixed_size_or_single_text_batches(seed: int) -> None:
    lengths, order = _lengths(seed)
    batches = _batches(order, [lengths[i] for i in order], batch_size=32)
    singles = [[i] for i in order]
    assert _cost(batches, lengths) <= _cost(singles, lengths)
    fixed = [order[k:k + 4] for k in range(0, len(order), 4)]  # 4 rows always fit the hard bounds
    assert _cost(batches, lengths) <= _cost(fixed, lengths)


def test_short_texts_are_not_padded_to_a_long_one() -> None:
    lengths = [12] * 48 + [200] * 16  # a 64-text request: tweets and a few paragraphs
    batches = _batches(list(range(64)), lengths, batch_size=32)
    assert all(len({lengths[i] for i in b}) == 1 for b in batches)


def test_near_equal_lengths_share_few_calls() -> None:
    """Each call has a fixed cost: 64 texts of 30-40 pieces go in 2 calls, not one per length."""
    lengths = sorted(random.Random(3).randint(30, 40) for _ in range(64))
    batches = _batches(list(range(64)), lengths, batch_size=32)
    assert [len(b) for b in batches] == [32, 32]
