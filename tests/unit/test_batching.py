"""Length-sorted batching: every item once, in sorted runs, within the row, cell, token and padding bounds."""

import random

import pytest
from nlpserve.runtime.bundle import MAX_BATCH_CELLS, MAX_BATCH_TOKENS, MAX_PADDING_WASTE, _batches


@pytest.mark.parametrize("seed", range(20))
def test_batches_cover_every_item_once_within_every_bound(seed: int) -> None:
    rng = random.Random(seed)
    lengths = [rng.choice([rng.randint(3, 40), rng.randint(60, 512)]) for _ in range(rng.randint(1, 200))]
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches = _batches(order, [lengths[i] for i in order], batch_size=32)
    assert [i for b in batches for i in b] == order
    for b in batches:
        width, rows, real = max(lengths[i] for i in b), len(b), sum(lengths[i] for i in b)
        if rows > 1:
            assert rows <= 32 and rows * width * width <= MAX_BATCH_CELLS and rows * width <= MAX_BATCH_TOKENS
            assert rows * width - real <= MAX_PADDING_WASTE * rows * width


def test_short_texts_are_not_padded_to_a_long_one() -> None:
    lengths = [12] * 48 + [200] * 16  # a 64-text request: tweets and a few paragraphs
    batches = _batches(list(range(64)), lengths, batch_size=32)
    assert all(len({lengths[i] for i in b}) == 1 for b in batches)
