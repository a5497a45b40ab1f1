"""Long texts in sequence classification (sentiment, classify): every window is read, then pooled.

A text past the model's window (256 pieces with [CLS]/[SEP]) is cut into overlapping windows
(``Bundle.encode_windows``: 254 pieces each, neighbours share ``WINDOW_OVERLAP`` = 32), every window runs in
the same length-sorted batches as the short texts, and the text's probability of each label is the mean of
its windows' probabilities weighted by each window's piece count. A review whose verdict is in its last
paragraph is judged on all of it, not on its first 254 pieces; a text that fits is one window and its
probabilities are the model's own. The request budget counts every window (``tasks/budget.py``).

Why a weighted mean of probabilities and not the max or the last window: the mean keeps probabilities
calibrated (a mixed review comes out between the classes, not at the most extreme window), and weighting by
pieces stops a short tail window from counting as much as a full one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlpserve.runtime import Bundle


def pooled_probabilities(bundle: Bundle, texts: Sequence[str], batch_size: int) -> list[tuple[np.ndarray, int]]:
    """Per text: (probabilities [n_labels] float32, number of windows read), in input order.

    The bundle's output must be one probability row per input (a sequence-classification graph with the
    softmax inside).
    """
    per_text = bundle.encode_windows(texts)
    flat = [w for windows in per_text for w in windows]
    rows = bundle.run(flat, batch_size=batch_size)
    out, k = [], 0
    for windows in per_text:
        n = len(windows)
        probs = np.asarray(rows[k : k + n], dtype=np.float32)
        if n > 1:
            weights = np.array([len(w) - 2 for w in windows], dtype=np.float32)
            probs = (weights[:, None] * probs).sum(axis=0, keepdims=True) / max(float(weights.sum()), 1.0)
        out.append((probs[0], n))
        k += n
    return out
