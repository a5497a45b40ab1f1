"""A loaded model bundle and the batching that makes it fast.

Padding is the main cost on CPU: texts are sorted by token length and each batch is padded only to its own
longest member, then results are put back in input order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from nlpserve.runtime.manifest import Manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedText:
    """Token ids for one model call, with character offsets back into the original text."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    truncated: bool

    def __len__(self) -> int:
        return len(self.ids)


class Bundle:
    """ONNX session + tokenizer + manifest, loaded once per process (at import in Lambda)."""

    def __init__(self, path: Path, threads: int = 1):
        self.path = Path(path)
        self.manifest = Manifest.load(self.path)
        self.tokenizer = Tokenizer.from_file(str(self.path / self.manifest.tokenizer_file))
        # The stored tokenizer may carry a fixed padding (all-MiniLM pads to 128): padding is ours to do.
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.session = ort.InferenceSession(
            str(self.path / self.manifest.model_file),
            sess_options=_session_options(threads),
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
            for row, i in enumerate(chunk):
                n = len(items[i])
                input_ids[row, :n] = items[i].ids
                attention[row, :n] = 1
            feed = {"input_ids": input_ids, "attention_mask": attention}
            if "token_type_ids" in self._input_names:
                feed["token_type_ids"] = np.zeros_like(input_ids)
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
#: A batch is cut before padding would exceed this fraction of its padded tokens. The sorted lengths of a
#: mixed request jump (tweets, then paragraphs): without the bound, a batch of 32 pads its short texts to the
#: longest. Measured 2026-11-30 (embed, 1,000 mixed texts as 64-text requests, 2 threads, same process):
#: fixed batches of 32 ran 53-62 texts/s, these bounds 99-117 texts/s, one sorted call over all 1,000 131/s.
MAX_PADDING_WASTE = 0.25


def _batches(order: list[int], lengths: list[int], batch_size: int) -> list[list[int]]:
    """Consecutive runs of the length-sorted `order` (shortest first) that respect every bound: at most
    `batch_size` rows, MAX_BATCH_CELLS rows x width^2, MAX_BATCH_TOKENS rows x width, and padding at most
    MAX_PADDING_WASTE of the padded tokens. A single item always forms a batch of its own."""
    batches: list[list[int]] = []
    chunk: list[int] = []
    real = 0  # unpadded tokens in `chunk`
    for i, length in zip(order, lengths):
        rows = len(chunk) + 1
        padded = rows * length  # sorted: the new item is the widest
        if chunk and (
            rows > batch_size
            or rows * length * length > MAX_BATCH_CELLS
            or padded > MAX_BATCH_TOKENS
            or padded - (real + length) > MAX_PADDING_WASTE * padded
        ):
            batches.append(chunk)
            chunk, real = [], 0
        chunk.append(i)
        real += length
    if chunk:
        batches.append(chunk)
    return batches


def _session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Lambda bills wall time: spinning threads between small batches only burns the vCPU we share.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options
