"""Autoregressive decoding of an exported encoder-decoder model (``nlpbuild.seq2seq``) in numpy + onnxruntime,
with a key/value cache: one graph runs the encoder and gives every decoder layer's cross-attention keys and values,
and each decoder step (the first from an empty self-attention cache) feeds one token and the grown cache.

Search: greedy, or beam search as in Hugging Face transformers' ``generate`` (``num_beams``, ``length_penalty``:
a finished hypothesis scores ``sum of log-probabilities / generated_length ** length_penalty``;
``early_stopping`` False: stop when no running beam can beat the worst finished one; True: when ``num_beams``
hypotheses are finished). Logits processors, as ``generate`` applies them: ``no_repeat_ngram_size`` (a token that
would repeat an n-gram of the output gets -inf), ``bad_words_ids``, ``min_new_tokens`` (no EOS before) and the
forced EOS at ``max_new_tokens`` (``forced_eos_token_id``, which Marian models set), last. Both searches reproduce
``generate``'s tokens on the same graphs (tests/functional/test_seq2seq.py).

Shapes: ``input_ids`` / ``attention_mask`` [batch, source] int64; results are token id lists without the decoder
start token, ending in EOS unless ``max_new_tokens`` ran out first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

PREFILL, DECODER_WITH_PAST = "prefill.onnx", "decoder_with_past.onnx"
NEG_INF = -np.inf


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding settings (defaults from the bundle manifest; a request may override them within limits)."""

    max_new_tokens: int = 128
    num_beams: int = 1
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    #: EOS is banned until this many pieces were generated (transformers' ``min_length`` - 1: it counts the start)
    min_new_tokens: int = 0
    #: beam search stops as soon as ``num_beams`` hypotheses are finished (transformers' ``early_stopping=True``)
    early_stopping: bool = False
    #: token sequences never generated (transformers' ``bad_words_ids``; opus-mt bans ``<pad>``); a ban on EOS
    #: alone is ignored, as transformers ignores it
    bad_words_ids: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:  # JSON manifests give lists
        object.__setattr__(self, "bad_words_ids", tuple(tuple(int(t) for t in w) for w in self.bad_words_ids))


class Seq2SeqGraphs:
    """The two ONNX sessions of a seq2seq bundle, and the model facts decoding needs.

    ``arch``: the manifest's ``architecture`` (``decoder_layers``, ``eos_token_id``, ``pad_token_id``,
    ``decoder_start_token_id``, ``forced_eos_token_id``)."""

    def __init__(self, bundle_dir: Path, arch: dict, threads: int = 1,
                 files: tuple[str, str] = (PREFILL, DECODER_WITH_PAST), spin: bool = True):
        from nlpserve.runtime.bundle import session_options

        opts = session_options(threads, spin)
        self.bundle_dir = Path(bundle_dir)
        self.prefill, self.step = (
            ort.InferenceSession(str(Path(bundle_dir) / f), opts, providers=["CPUExecutionProvider"]) for f in files)
        self.layers = int(arch["decoder_layers"])
        self.eos = int(arch["eos_token_id"])
        self.pad = int(arch["pad_token_id"])
        self.start = int(arch["decoder_start_token_id"])
        forced = arch.get("forced_eos_token_id")
        self.forced_eos = None if forced is None else int(forced)

    # -- graph calls --------------------------------------------------------------------------------------

    def first_step(self, input_ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Log-probabilities [batch, vocab] of the first token, and the caches: per layer self key, self value,
        cross key, cross value. The prefill graph gives the cross keys/values; the decoder step starts from an
        empty self-attention cache."""
        cross = self.prefill.run(None, {"input_ids": input_ids, "attention_mask": mask})
        empty = np.zeros((*cross[0].shape[:2], 0, cross[0].shape[3]), dtype=cross[0].dtype)
        cache = [t for i in range(self.layers) for t in (empty, empty, cross[2 * i], cross[2 * i + 1])]
        start = np.full(input_ids.shape[0], self.start, dtype=np.int64)
        return self.next_step(start, mask, cache)

    def next_step(self, tokens: np.ndarray, mask: np.ndarray, cache: list[np.ndarray]) -> tuple[np.ndarray, list]:
        feed = {"decoder_input_ids": tokens.reshape(-1, 1).astype(np.int64), "encoder_attention_mask": mask}
        for i in range(self.layers):
            for j, part in enumerate(("self_key", "self_value", "cross_key", "cross_value")):
                feed[f"past.{i}.{part}"] = cache[4 * i + j]
        logits, *grown = self.step.run(None, feed)
        for i in range(self.layers):
            cache[4 * i], cache[4 * i + 1] = grown[2 * i], grown[2 * i + 1]
        return _log_softmax(logits[:, -1]), cache

    # -- search -------------------------------------------------------------------------------------------

    def generate(self, input_ids: np.ndarray, attention_mask: np.ndarray, config: GenerationConfig,
                 deadline: Callable[[], None] | None = None) -> list[list[int]]:
        """Token ids per input row. ``deadline()`` is called before every decoder step and may raise to stop
        (the task turns that into a clear error before API Gateway's limit)."""
        input_ids = np.asarray(input_ids, dtype=np.int64)
        attention_mask = np.asarray(attention_mask, dtype=np.int64)
        if deadline is not None:
            deadline()
        if config.num_beams > 1:
            return self._beam(input_ids, attention_mask, config, deadline)
        return self._greedy(input_ids, attention_mask, config, deadline)

    def _process(self, log_probs: np.ndarray, sequences: list[list[int]], length: int,
                 config: GenerationConfig) -> np.ndarray:
        """``generate``'s logits processors on [rows, vocab] log-probabilities; ``length``: tokens generated so
        far (the decoder start token excluded)."""
        n = config.no_repeat_ngram_size
        if n > 0:
            for row, seq in enumerate(sequences):
                full = [self.start, *seq]
                if len(full) + 1 < n:
                    continue
                prefix = tuple(full[len(full) - n + 1:])
                banned = [full[k + n - 1] for k in range(len(full) - n + 1) if tuple(full[k:k + n - 1]) == prefix]
                log_probs[row, banned] = NEG_INF
        for word in config.bad_words_ids:
            if word == (self.eos,):
                continue
            if len(word) == 1:
                log_probs[:, word[0]] = NEG_INF
                continue
            head = list(word[:-1])
            for row, seq in enumerate(sequences):
                full = [self.start, *seq]
                if full[len(full) - len(head):] == head:
                    log_probs[row, word[-1]] = NEG_INF
        if length < config.min_new_tokens:
            log_probs[:, self.eos] = NEG_INF
        if self.forced_eos is not None and length == config.max_new_tokens - 1:
            forced = np.full_like(log_probs, NEG_INF)
            forced[:, self.forced_eos] = 0.0
            log_probs = forced
        return log_probs

    def _greedy(self, input_ids, mask, config, deadline) -> list[list[int]]:
        batch = input_ids.shape[0]
        log_probs, cache = self.first_step(input_ids, mask)
        sequences: list[list[int]] = [[] for _ in range(batch)]
        done = np.zeros(batch, dtype=bool)
        for length in range(config.max_new_tokens):
            log_probs = self._process(log_probs, sequences, length, config)
            tokens = log_probs.argmax(axis=-1)
            tokens[done] = self.pad
            for row in np.flatnonzero(~done):
                sequences[row].append(int(tokens[row]))
            done |= tokens == self.eos
            if done.all() or length == config.max_new_tokens - 1:
                break
            if deadline is not None:
                deadline()
            log_probs, cache = self.next_step(tokens, mask, cache)
        return sequences

    def _beam(self, input_ids, mask, config, deadline) -> list[list[int]]:
        beams, batch = config.num_beams, input_ids.shape[0]
        log_probs, cache = self.first_step(input_ids, mask)
        mask_b = np.repeat(mask, beams, axis=0)  # every beam of a row shares its first step and cross caches
        log_probs = np.repeat(log_probs, beams, axis=0)
        cache = [np.repeat(c, beams, axis=0) for c in cache]
        scores = np.zeros((batch, beams))
        scores[:, 1:] = -1e9  # all beams start identical: only the first may expand at step one
        sequences: list[list[int]] = [[] for _ in range(batch * beams)]
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
        done = np.zeros(batch, dtype=bool)
        vocab = log_probs.shape[-1]
        for length in range(config.max_new_tokens):
            log_probs = self._process(log_probs, sequences, length, config)
            total = (scores.reshape(-1, 1) + log_probs).reshape(batch, beams * vocab)
            order = _top(total, 2 * beams)
            next_tokens = np.full((batch, beams), self.pad, dtype=np.int64)
            next_from = np.zeros((batch, beams), dtype=np.int64)
            next_scores = np.zeros((batch, beams))
            for b in range(batch):
                if done[b]:
                    next_from[b] = b * beams
                    continue
                kept = 0
                for rank, flat in enumerate(order[b]):
                    beam, token = divmod(int(flat), vocab)
                    score = float(total[b, flat])
                    if token == self.eos:
                        if rank >= beams:
                            continue  # an EOS ranked below the beam width does not finish a hypothesis
                        seq = [*sequences[b * beams + beam], token]
                        self._add(finished[b], score / (len(seq) ** config.length_penalty), seq, beams)
                        continue
                    next_tokens[b, kept], next_from[b, kept] = token, b * beams + beam
                    next_scores[b, kept] = score
                    kept += 1
                    if kept == beams:
                        break
                best_running = next_scores[b].max() / ((length + 1) ** config.length_penalty)
                if len(finished[b]) == beams and (config.early_stopping
                                                  or min(s for s, _ in finished[b]) >= best_running):
                    done[b] = True
            rows = next_from.reshape(-1)
            sequences = [[*sequences[r], int(t)] for r, t in zip(rows, next_tokens.reshape(-1))]
            scores = next_scores
            if done.all() or length == config.max_new_tokens - 1:
                break
            if deadline is not None:
                deadline()
            cache = [c[rows] if k % 4 < 2 else c for k, c in enumerate(cache)]  # cross caches are per input row
            log_probs, cache = self.next_step(next_tokens.reshape(-1), mask_b, cache)
        out = []
        for b in range(batch):
            if len(finished[b]) < beams:  # out of tokens: the running beams count as hypotheses
                for k in range(beams):
                    seq = sequences[b * beams + k]
                    self._add(finished[b], float(scores[b, k]) / (max(len(seq), 1) ** config.length_penalty), seq,
                              beams)
            out.append(max(finished[b], key=lambda h: h[0])[1])
        return out

    @staticmethod
    def _add(hypotheses: list[tuple[float, list[int]]], score: float, seq: list[int], beams: int) -> None:
        hypotheses.append((score, seq))
        if len(hypotheses) > beams:
            hypotheses.remove(min(hypotheses, key=lambda h: h[0]))


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, the column indexes of the ``k`` highest scores, highest first, ties in index order: what a stable
    ``argsort(-scores)[:, :k]`` gives, without sorting the whole row (a full argsort of beams x vocab scores per
    step, 4 x 58,101 for opus-mt, took most of a beam step). Every index tied with the k-th score is a candidate,
    so a tie across the cut is broken by index, as the stable sort does."""
    k = min(k, scores.shape[1])
    out = np.empty((scores.shape[0], k), dtype=np.int64)
    for r, row in enumerate(scores):
        kth = np.partition(row, row.size - k)[row.size - k]
        candidates = np.flatnonzero(row >= kth)
        out[r] = candidates[np.lexsort((candidates, -row[candidates]))][:k]
    return out


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
