"""Decoding BIO tags from a token classifier's per-piece probabilities into entity spans.

Used by ``/v1/entities`` (and by ``nlpbuild.train_entities`` to score the student on its dev split, so training
and serving read the model the same way). The steps, each standard for BERT-style token classifiers:

* **word grouping** (``word_starts``): word pieces of one alphanumeric word ("Alba", "##ross", "##a") are one
  unit, so an entity never starts or ends inside a word; the word's distribution is the mean of its pieces'
  (Hugging Face's ``aggregation_strategy="average"``);
* **constrained decoding** (``viterbi``): the most probable tag sequence in which every ``I-X`` follows a ``B-X``
  or ``I-X`` (first-order BIO constraints, as in a CRF's allowed transitions; Lample et al. 2016), instead of a
  per-piece argmax that splits "Grand Meridian Hotel" into ORG + FAC or starts spans on "##ross";
* **spans** (``spans``): a B opens a span, following I's of its type extend it; character offsets are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

_NEG = -1e9


_NUMBER_JOINERS = frozenset(".,:/-")


def word_starts(text: str, offsets: Sequence[tuple[int, int]], continuation: Sequence[bool] | None = None,
                join_numbers: bool = False) -> list[int]:
    """Index of the first piece of each word: a piece continues the previous one's word when the two touch and
    either alphanumerics meet on both sides of the join or the tokenizer marked the piece as a continuation
    (WordPiece's "##"): "Alba" "##ross" and "€" "##320" are one word. With ``join_numbers``, a ".", ",", ":",
    "/" or "-" between two digits joins them too: "4.5", "3,000", "9:30", "12/03/2024", "1-800" are one word
    (without it "300" "," "000" are three).

    ``offsets``: (start, end) character offsets of non-empty pieces, in text order; ``continuation``: per piece,
    whether the tokenizer continued a word with it (optional).
    """
    starts = [0] if offsets else []
    for k in range(1, len(offsets)):
        start, prev_end = offsets[k][0], offsets[k - 1][1]
        joined = start == prev_end and ((text[start].isalnum() and text[prev_end - 1].isalnum())
                                        or (continuation is not None and continuation[k]))
        if not joined and join_numbers and start == prev_end:
            joined = _joins_number(text, offsets, k) or _joins_number(text, offsets, k - 1)
        if not joined:
            starts.append(k)
    return starts


def _joins_number(text: str, offsets: Sequence[tuple[int, int]], k: int) -> bool:
    """Piece k is one joiner character touching a digit on each side, with pieces on both sides."""
    start, end = offsets[k]
    return (0 < k < len(offsets) - 1 and end - start == 1 and text[start] in _NUMBER_JOINERS
            and offsets[k - 1][1] == start and offsets[k + 1][0] == end
            and text[start - 1].isdigit() and end < len(text) and text[end].isdigit())


LOWER, CAPITALISED, ALL_CAPS, MIXED = 0, 1, 2, 3


def shape(word: str) -> int:
    """The case shape of a word: ``LOWER`` (also no letters), ``CAPITALISED`` ("Berlin", "McDonald", "I"),
    ``ALL_CAPS`` ("NASA": two or more letters, all capitals) or ``MIXED`` ("iPhone", "eBay")."""
    letters = [c for c in word if c.isalpha()]
    if not letters or not any(c.isupper() for c in letters):
        return LOWER
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return ALL_CAPS
    return CAPITALISED if letters[0].isupper() else MIXED


def word_shapes(text: str, offsets: Sequence[tuple[int, int]],
                continuation: Sequence[bool] | None = None) -> list[int]:
    """One ``shape`` per piece: the shape of the word it belongs to (``word_starts``), so "##ross" in "Albarossa"
    is ``CAPITALISED``. An uncased encoder reads these as token_type_ids (``Manifest.token_types``) to see case."""
    starts = word_starts(text, offsets, continuation)
    out: list[int] = []
    for s, e in zip(starts, [*starts[1:], len(offsets)]):
        out.extend([shape(text[offsets[s][0] : offsets[e - 1][1]])] * (e - s))
    return out


def word_means(rows: np.ndarray, starts: Sequence[int]) -> np.ndarray:
    """[pieces, labels] -> [words, labels]: the mean distribution of each word's pieces."""
    if len(rows) == 0:
        return rows
    bounds = np.asarray(starts)
    sizes = np.diff(np.append(bounds, len(rows)))
    return np.add.reduceat(rows, bounds, axis=0) / sizes[:, None].astype(rows.dtype)


@lru_cache(maxsize=8)
def transitions(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """BIO constraints as additive scores: ``step[i, j]`` (0 or -1e9) for tag i followed by tag j, and ``first[j]``
    for a sequence starting with tag j. ``I-X`` may only follow ``B-X`` or ``I-X``."""
    step = np.zeros((len(labels), len(labels)))
    first = np.zeros(len(labels))
    for j, name in enumerate(labels):
        if name.startswith("I-"):
            first[j] = _NEG
            for i, prev in enumerate(labels):
                if prev[2:] != name[2:] or prev[:2] not in ("B-", "I-"):
                    step[i, j] = _NEG
    return step, first


def viterbi(log_probs: np.ndarray, labels: Sequence[str]) -> list[int]:
    """The highest-scoring tag sequence under the BIO constraints.

    ``log_probs``: [positions, labels] log probabilities. Returns one tag index per position. O(n * labels^2).
    """
    if len(log_probs) == 0:
        return []
    step, first = transitions(tuple(labels))
    score = first + log_probs[0]
    back = np.zeros((len(log_probs), len(labels)), dtype=np.int64)
    for t in range(1, len(log_probs)):
        candidates = score[:, None] + step
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_probs[t]
    path = [int(score.argmax())]
    for t in range(len(log_probs) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def spans(tags: Sequence[int], probs: Sequence[float], bounds: Sequence[tuple[int, int]],
          labels: Sequence[str]) -> list[tuple[int, int, str, float]]:
    """Entity spans (start, end, type, score) from one tag per unit: a B opens a span, I's of its type extend it,
    anything else closes it. ``probs``: the probability of each unit's tag; a span's score is their mean.
    ``bounds``: (start, end) characters of each unit."""
    out: list[list] = []  # [start, end, type, probabilities, open]
    for tag, prob, (start, end) in zip(tags, probs, bounds):
        name = labels[tag] if tag < len(labels) else "O"
        if name[:2] not in ("B-", "I-"):
            if out:
                out[-1][4] = False
            continue
        kind = name[2:]
        if name.startswith("I-") and out and out[-1][4] and out[-1][2] == kind:
            out[-1][1] = end
            out[-1][3].append(prob)
            continue
        out.append([start, end, kind, [prob], True])
    return [(s, e, kind, float(np.mean(ps))) for s, e, kind, ps, _ in out]


def decode(text: str, offsets: Sequence[tuple[int, int]], rows: np.ndarray, labels: Sequence[str],
           continuation: Sequence[bool] | None = None, join_numbers: bool = False) -> list[tuple[int, int, str, float]]:
    """Entity spans of one text from its pieces' probabilities.

    ``offsets``: (start, end) of each non-empty piece in text order; ``rows``: [pieces, labels] probabilities;
    ``continuation``, ``join_numbers``: as in ``word_starts``.
    Returns (start, end, type, score) with ``text[start:end]`` the entity and score the mean probability of the
    chosen tags of its words.
    """
    if len(offsets) == 0:
        return []
    starts = word_starts(text, offsets, continuation, join_numbers)
    words = word_means(np.asarray(rows, dtype=np.float64), starts)
    ends = [*starts[1:], len(offsets)]
    bounds = [(offsets[s][0], offsets[e - 1][1]) for s, e in zip(starts, ends)]
    tags = viterbi(np.log(np.clip(words, 1e-12, None)), labels)
    chosen = [float(words[k, tag]) for k, tag in enumerate(tags)]
    return spans(tags, chosen, bounds, labels)
