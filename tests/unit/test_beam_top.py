"""The beam search's partial top-k (``runtime.generate._top``) picks exactly what a stable full argsort picks, ties
and -inf scores (no-repeat bans, forced EOS) included: beam parity with transformers depends on it."""

from __future__ import annotations

import numpy as np
import pytest
from nlpserve.runtime.generate import _top


@pytest.mark.parametrize("seed", range(5))
def test_top_k_equals_a_stable_argsort(seed):
    rng = np.random.default_rng(seed)
    for _ in range(300):
        scores = rng.normal(size=(4, 60))
        scores[0, 5] = scores[0, 7] = scores[0, 9]  # ties
        scores[1, rng.integers(0, 60, 20)] = -np.inf  # banned tokens
        scores[2] = np.round(scores[2])  # many ties
        scores[3, :] = -np.inf
        scores[3, 11] = 0.0  # a forced token
        k = int(rng.integers(1, 14))
        assert (_top(scores, k) == np.argsort(-scores, axis=1, kind="stable")[:, :k]).all()
