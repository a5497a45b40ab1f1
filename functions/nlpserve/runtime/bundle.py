"""A loaded model bundle and the batching that makes it fast.

Padding is the main cost on CPU: texts are sorted by token length and each batch is padded only to its own
longest member, then results are put back in input order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from nlpserve.runtime.manifest import Manifest

log = logging.getLogger(__name__)

#: Pieces two neighbouring windows share, so a phrase cut by one window's end is read whole by the next.
WINDOW_OVERLAP = 32


def plan_windows(count: int, budget: int, overlap: int) -> list[tuple[int, int]]:
    """Overlapping [start, end) piece windows of at most ``budget`` pieces covering all ``count`` pieces.

    Each window after the first starts ``overlap`` pieces before its predecessor's end. ``count`` 0 gives one
    empty window (the model still runs on [CLS] [SEP]).
    """
    if count == 0:
        return [(0, 0)]
    windows, start = [], 0
    while True:
        end = min(start + budget, count)
        windows.append((start, end))
        if end == count:
            return windows
        start = max(end - overlap, start + 1)


@dataclass(frozen=True)
class EncodedText:
    """Token ids for one model call, with character offsets back into the original text."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    truncated: bool
    #: token_type_ids for the graph (one per id) when the bundle reads them (``Manifest.token_types``); else zeros
    type_ids: list[int] | None = None

    def __len__(self) -> int:
        return len(self.ids)


class Bundle:
    """ONNX session + tokenizer + manifest, loaded once per process (at import in Lambda)."""

    def __init__(self, path: Path, threads: int = 1, spin: bool = True):
        self.path = Path(path)
        self.manifest = Manifest.load(self.path)
        self.tokenizer = Tokenizer.from_file(str(self.path / self.manifest.tokenizer_file))
        # The stored tokenizer may carry a fixed padding (all-MiniLM pads to 128): padding is ours to do.
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.session = ort.InferenceSession(
            str(self.path / self.manifest.model_file),
            sess_options=session_options(threads, spin),
            providers=["CPUExecutionProvider"],
        )
        self._input_names = {i.name for i in self.session.get_inputs()}
        self.cls_id = self._special_id("[CLS]", "<s>")
        self.sep_id = self._special_id("[SEP]", "</s>")
        self.pad_id = self._special_id("[PAD]", "<pad>", default=0)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def max_length(self) -> int:
        return self.manifest.max_length

    def _special_id(self, *tokens: str, default: int | None = None) -> int:
        for token in tokens:
            token_id = self.tokenizer.token_to_id(token)
            if token_id is not None:
                return token_id
        if default is None:
            raise ValueError(f"bundle {self.path} tokenizer has none of the special tokens {tokens}")
        return default

    # -- tokenisation -------------------------------------------------------------------------------------

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        """Word pieces without special tokens, untruncated: callers decide how to cut or window."""
        return self.tokenizer.encode_batch(list(texts), add_special_tokens=False)

    def encode(self, texts: Sequence[str]) -> list[EncodedText]:
        """Model-ready ids: [CLS] pieces [SEP], cut at the model's max length (flagged as truncated)."""
        budget = self.max_length - 2
        encoded = []
        for enc in self.tokenize(texts):
            ids, offsets = enc.ids, enc.offsets
            truncated = len(ids) > budget
            if truncated:
                ids, offsets = ids[:budget], offsets[:budget]
            encoded.append(EncodedText([self.cls_id, *ids, self.sep_id], [(0, 0), *offsets, (0, 0)], truncated))
        return encoded

    def encode_windows(self, texts: Sequence[str], overlap: int = WINDOW_OVERLAP) -> list[list[EncodedText]]:
        """Model-ready windows of each text: overlapping cuts of at most ``max_length`` - 2 pieces, each
        wrapped in [CLS] ... [SEP], covering every piece (``plan_windows``). A text that fits is one window."""
        budget = self.max_length - 2
        out = []
        for enc in self.tokenize(texts):
            ids, offsets = enc.ids, enc.offsets
            out.append([
                EncodedText([self.cls_id, *ids[s:e], self.sep_id], [(0, 0), *offsets[s:e], (0, 0)], False)
                for s, e in plan_windows(len(ids), budget, overlap)
            ])
        return out

    # -- inference ----------------------------------------------------------------------------------------

    def run(self, items: Sequence[EncodedText], batch_size: int = 32) -> list[np.ndarray]:
        """Run the graph on length-sorted, dynamically padded batches; one output row per item, input order.

        Token-level outputs are cut back to each item's own length, so padding never leaks to callers.
        """
        results: list[np.ndarray | None] = [None] * len(items)
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        for chunk in _batches(order, [len(items[i]) for i in order], batch_size):
            width = max(len(items[i]) for i in chunk)
            input_ids = np.full((len(chunk), width), self.pad_id, dtype=np.int64)
            attention = np.zeros((len(chunk), width), dtype=np.int64)
            types = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(items[i])
                input_ids[row, :n] = items[i].ids
                attention[row, :n] = 1
                if items[i].type_ids is not None:
                    types[row, :n] = items[i].type_ids
            feed = {"input_ids": input_ids, "attention_mask": attention}
            if "token_type_ids" in self._input_names:
                feed["token_type_ids"] = types
            feed = {k: v for k, v in feed.items() if k in self._input_names}
            (output,) = self.session.run([self.manifest.output], feed)
            per_token = output.ndim == 3
            for row, i in enumerate(chunk):
                results[i] = output[row, : len(items[i])] if per_token else output[row]
        return results  # type: ignore[return-value]


#: Most rows x width^2 in one model call. Attention memory grows with it: 32 windows of 512 pieces took
#: 1.85 GB of RSS in one call (12 heads x 512 x 512 floats per window and layer); 4 of them take 0.4 GB.
#: 32 rows up to 181 pieces wide, 16 at 256, 4 at 512. Not slower: smaller batches ran as fast or faster.
MAX_BATCH_CELLS = 4 * 512 * 512
#: Most padded tokens (rows x width) in one model call, as text-embeddings-inference's max batch tokens.
MAX_BATCH_TOKENS = 4096
#: Cost model of one model call, used to choose where to cut the length-sorted list: a fixed cost per call
#: (thread wake-ups and node dispatch; the int8 graph then had ~490 nodes, now ~355) plus a cost per padded
#: token plus attention's cost per padded token and unit of width. Fitted 2026-11-30 on embed (MiniLM-L6 int8, 2 threads, AVX2) over 29
#: shapes from 1 x 16 to 16 x 256 (relative least squares): 3.9 ms, 147 us, 0.1 us. Only the ratios matter:
#: a call costs as much as ~26 padded tokens, so a batch of 2 paragraphs is worth padding its neighbours.
CALL_COST_TOKENS = 26.0
ATTENTION_COST_PER_WIDTH = 0.1 / 147


def _call_cost(rows: int, width: int) -> float:
    """Estimated cost of one call, in units of one padded token."""
    return CALL_COST_TOKENS + rows * width * (1.0 + ATTENTION_COST_PER_WIDTH * width)


def _batches(order: list[int], lengths: list[int], batch_size: int) -> list[list[int]]:
    """Cut the length-sorted `order` (shortest first; `lengths` in the same order) into consecutive batches
    of least total estimated cost (`_call_cost`: per call + per padded token + attention), subject to hard
    bounds: at most `batch_size` rows, MAX_BATCH_TOKENS rows x width and MAX_BATCH_CELLS rows x width^2.
    A single item always forms a batch of its own.

    Exact by dynamic programming over cut points, O(n x batch_size). Replaces a greedy cut at 25 % padding,
    which made 64-text requests of mixed length run 79-83 % of the rate of the same texts sorted as one call
    (benchmarks/speed.py, 2026-11-30): it split them into many small calls, each paying the fixed cost.
    """
    n = len(order)
    best = [0.0] + [float("inf")] * n  # best[j]: least cost of the first j items
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        width = lengths[j - 1]  # sorted: the last item of a batch is its widest
        for i in range(j - 1, max(-1, j - 1 - batch_size), -1):
            rows = j - i
            if rows > 1 and (rows * width > MAX_BATCH_TOKENS or rows * width * width > MAX_BATCH_CELLS):
                break
            cost = best[i] + _call_cost(rows, width)
            if cost < best[j]:
                best[j], cut[j] = cost, i
    batches: list[list[int]] = []
    j = n
    while j > 0:
        batches.append(order[cut[j]:j])
        j = cut[j]
    return batches[::-1]


def session_options(threads: int, spin: bool = True) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # See config.Settings.spin_threads: with one thread there is no pool, so nothing spins.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.log_severity_level = 3
    return options
