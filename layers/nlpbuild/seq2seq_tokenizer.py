"""Tokenizers for seq2seq bundles, as ``tokenizers`` JSON files the runtime loads without sentencepiece.

Marian (opus-mt) checkpoints carry ``source.spm`` and ``target.spm`` (SentencePiece unigram models) and one shared
``vocab.json`` (piece -> id). transformers has no fast converter for them, so ``marian_tokenizers`` builds one:
the pieces in ``vocab.json`` id order, each with its score in the side's SentencePiece model (pieces the side's
model does not have get a score that is never chosen while another segmentation exists), the SentencePiece
normaliser (its precompiled charsmap) and pre-tokeniser via transformers' ``SpmConverter.build_tokenizer_from_spm_
proto``, ``</s>`` appended to every source text as ``MarianTokenizer`` does, and ``<unk>`` at ``vocab.json``'s id.
Checked against ``MarianTokenizer`` token for token (tests/functional/test_seq2seq_tokenizer.py).

Needs ``sentencepiece`` (its protobuf model schema) at build time only.
"""

from __future__ import annotations

import json
from pathlib import Path

NEVER = -1e6  # the score of a piece the side's SentencePiece model does not know


def _proto(path: Path):
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(Path(path).read_bytes())
    return proto


def _side(spm: Path, vocab: dict[str, int], eos: str | None):
    from tokenizers import AddedToken, processors
    from tokenizers.models import Unigram
    from transformers.convert_slow_tokenizer import SpmConverter

    proto = _proto(spm)
    scores = {p.piece: p.score for p in proto.pieces}
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError("vocab.json ids are not 0..n-1")
    pieces = [(piece, scores.get(piece, NEVER)) for piece, _ in by_id]
    tokenizer = SpmConverter.build_tokenizer_from_spm_proto(proto, pieces)
    unk = vocab.get(proto.trainer_spec.unk_piece or "<unk>", vocab.get("<unk>"))
    tokenizer.model = Unigram(pieces, unk_id=unk, byte_fallback=False)
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in ("</s>", "<unk>", "<pad>") if t in vocab])
    if eos is not None:
        tokenizer.post_processor = processors.TemplateProcessing(single=["$A", eos], special_tokens=[(eos, vocab[eos])])
    return tokenizer


def marian_tokenizers(model_dir: Path):
    """(source, target) ``tokenizers.Tokenizer`` objects of a Marian checkpoint directory: the source one encodes
    inputs (with ``</s>``), the target one decodes generated ids. Raises FileNotFoundError naming a missing file."""
    model_dir = Path(model_dir)
    for name in ("source.spm", "target.spm", "vocab.json"):
        if not (model_dir / name).is_file():
            raise FileNotFoundError(f"{model_dir / name} is missing: a Marian (opus-mt) checkpoint has source.spm, "
                                    "target.spm and vocab.json")
    vocab = json.loads((model_dir / "vocab.json").read_text(encoding="utf-8"))
    return _side(model_dir / "source.spm", vocab, "</s>"), _side(model_dir / "target.spm", vocab, None)
