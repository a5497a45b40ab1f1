"""A loaded seq2seq bundle (``kind: seq2seq``, written by ``nlpbuild.seq2seq_bundle``): source and target tokenizers,
the two decoding graphs (``nlpserve.runtime.generate``) and the manifest's generation defaults.

Texts in, texts out: ``generate`` encodes each text (the manifest's ``input_prefix`` first, ``</s>`` last), cuts it
at the manifest's ``max_length`` source pieces (flagged as truncated), decodes length-sorted batches and returns the
target tokenizer's text without special tokens, in input order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from nlpserve.runtime.generate import GenerationConfig, Seq2SeqGraphs
from nlpserve.runtime.manifest import Manifest

#: Most source rows x beams decoded together: each decoder step then runs on at most this many rows.
MAX_BATCH_ROWS = 16


@dataclass(frozen=True)
class Generated:
    text: str
    #: the source was longer than the bundle's ``max_length`` pieces and was cut
    truncated: bool
    #: generated pieces (EOS included)
    tokens: int
    #: the output reached ``max_new_tokens`` (Marian models then force EOS as the last piece): it may be cut short
    length_capped: bool


class Seq2SeqBundle:
    """Tokenizers + graphs + manifest of one seq2seq bundle, loaded once per process."""

    def __init__(self, path: Path, threads: int = 1, spin: bool = True):
        self.path = Path(path)
        self.manifest = Manifest.load(self.path)
        if self.manifest.kind != "seq2seq" or not self.manifest.architecture:
            raise ValueError(f"{self.path} is a {self.manifest.kind} bundle, not a seq2seq one")
        self.source_tokenizer = _tokenizer(self.path / self.manifest.tokenizer_file)
        self.target_tokenizer = _tokenizer(self.path / (self.manifest.target_tokenizer_file or
                                                        self.manifest.tokenizer_file))
        self.graphs = Seq2SeqGraphs(self.path, self.manifest.architecture, threads=threads, spin=spin,
                                    files=(self.manifest.model_file, self.manifest.decoder_file or ""))
        #: most pieces the decoder can write: its position table (Marian: 512 in opus-mt); None: relative (T5)
        self.max_target_positions = self.manifest.architecture.get("max_source_positions")
        self.eos = int(self.manifest.architecture["eos_token_id"])
        self.pad = int(self.manifest.architecture["pad_token_id"])

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def max_length(self) -> int:
        """Most source pieces the encoder reads (the input prefix and EOS included)."""
        return self.manifest.max_length

    def defaults(self) -> GenerationConfig:
        return GenerationConfig(**(self.manifest.generation or {}))

    def count_pieces(self, texts: Sequence[str]) -> list[int]:
        """Source pieces of each text as the encoder would read it (prefix and EOS included, before the cut)."""
        prefix = self.manifest.input_prefix
        return [len(e.ids) for e in self.source_tokenizer.encode_batch([prefix + t for t in texts])]

    @cached_property
    def overhead(self) -> int:
        """Pieces every encoder input spends on the input prefix and EOS."""
        return self.count_pieces([""])[0]

    def piece_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character ``[start, end)`` of each source piece of ``text`` (no prefix, no EOS)."""
        return self.source_tokenizer.encode(text, add_special_tokens=False).offsets

    def _encode(self, texts: Sequence[str]) -> list[tuple[list[int], bool]]:
        prefix = self.manifest.input_prefix
        out = []
        for enc in self.source_tokenizer.encode_batch([prefix + t for t in texts]):
            ids = enc.ids
            if len(ids) > self.max_length:
                out.append(([*ids[: self.max_length - 1], self.eos], True))
            else:
                out.append((ids, False))
        return out

    def generate(self, texts: Sequence[str], config: GenerationConfig | None = None,
                 deadline: Callable[[], None] | None = None,
                 length_factor: float | None = None) -> list[Generated]:
        """One output per text, input order. ``deadline()`` is called before every decoder step and may raise
        (``TimeoutError`` or a task error) to stop. ``length_factor``: also stop an output at ``length_factor`` x
        its batch's longest source + 10 pieces (``max_length_cap``)."""
        config = config or self.defaults()
        encoded = self._encode(texts)
        results: list[Generated | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i][0]))
        rows = max(1, MAX_BATCH_ROWS // max(1, config.num_beams))
        for start in range(0, len(order), rows):
            chunk = order[start:start + rows]
            width = max(len(encoded[i][0]) for i in chunk)
            ids = np.full((len(chunk), width), self.pad, dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(chunk):
                n = len(encoded[i][0])
                ids[row, :n], mask[row, :n] = encoded[i][0], 1
            batch_config = config
            if self.max_target_positions and config.max_new_tokens > self.max_target_positions:
                batch_config = dataclasses.replace(config, max_new_tokens=self.max_target_positions)
            if length_factor is not None:
                batch_config = dataclasses.replace(batch_config, max_new_tokens=max_length_cap(
                    width, batch_config.max_new_tokens, length_factor))
            outputs = self.graphs.generate(ids, mask, batch_config, deadline=deadline)
            for i, out in zip(chunk, outputs):
                results[i] = Generated(self.target_tokenizer.decode(out, skip_special_tokens=True).strip(),
                                       encoded[i][1], len(out), len(out) >= batch_config.max_new_tokens)
        return results  # type: ignore[return-value]


def max_length_cap(source_pieces: int, max_new_tokens: int, factor: float) -> int:
    """The most pieces generated for a source of ``source_pieces``: ``factor`` x source + 10, at most
    ``max_new_tokens`` (marian-nmt's decoder stops at ``--max-length-factor`` 3 x the source the same way: a
    translation runs longer only when the model loops)."""
    return max(1, min(max_new_tokens, int(factor * source_pieces) + 10))


def _tokenizer(path: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer
