"""Tiny seq2seq checkpoints for the tests and benchmarks (no seq2seq weights ship in any package here): a Marian
(opus-mt layout: ``source.spm``, ``target.spm``, ``vocab.json``) and a T5 (``tokenizer.json`` from a fast
tokenizer), each a ``save_pretrained`` directory that ``python -m nlpbuild seq2seq`` takes as a user's checkpoint
would be taken. Seeded random weights, then a few seconds of training (``fit``) on a handful of pairs, so the
Marian answers four English sentences in German and the T5 writes a headline for three short texts: the real
architectures, tokenizers, exporter and decoder run, and their outputs can be read. They know nothing else.

Needs the ``build`` extra (torch, transformers, sentencepiece + protobuf).
"""

from __future__ import annotations

import json
from pathlib import Path

CORPUS_EN = [
    "The council approved the budget for new parks on Tuesday.", "Where is my parcel? It should have arrived.",
    "Prices rose by 4.5 percent in March, the statistics office said.", "I'd like to book a table for two at 8 pm.",
    "Naïve café owners in São Paulo serve crème brûlée.", "Don't forget: the meeting starts at 10:30!",
] * 20
CORPUS_DE = [
    "Der Rat hat am Dienstag den Haushalt für neue Parks beschlossen.", "Wo ist mein Paket? Es sollte angekommen sein.",
    "Die Preise stiegen im März um 4,5 Prozent, teilte das Statistikamt mit.", "Ich möchte einen Tisch für zwei reservieren.",
] * 20

#: What the tiny Marian learns to translate (English -> German), and the tiny T5 to summarise (text -> headline).
PAIRS = [
    ("The council approved the budget for new parks on Tuesday.",
     "Der Rat hat am Dienstag den Haushalt für neue Parks beschlossen."),
    ("Where is my parcel?", "Wo ist mein Paket?"),
    ("It should have arrived.", "Es sollte angekommen sein."),
    ("Prices rose by 4.5 percent in March, the statistics office said.",
     "Die Preise stiegen im März um 4,5 Prozent, teilte das Statistikamt mit."),
    ("I'd like to book a table for two.", "Ich möchte einen Tisch für zwei reservieren."),
]
SUMMARIES = [
    ("The council approved the budget for new parks on Tuesday. Prices rose by 4.5 percent in March.",
     "The council approved the budget."),
    ("Where is my parcel? It should have arrived. I'd like to book a table for two at 8 pm.",
     "Where is my parcel?"),
    ("Don't forget: the meeting starts at 10:30! Naïve café owners in São Paulo serve crème brûlée.",
     "The meeting starts at 10:30."),
]


def _train_spm(directory: Path, side: str, corpus: list[str], vocab_size: int, **ids) -> Path:
    import sentencepiece as spm

    (directory / f"{side}.txt").write_text("\n".join(corpus), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(directory / f"{side}.txt"), model_prefix=str(directory / side),
                                   vocab_size=vocab_size, model_type="unigram", character_coverage=1.0,
                                   hard_vocab_limit=False, bos_id=-1, minloglevel=2, **ids)
    (directory / f"{side}.txt").unlink()
    (directory / f"{side}.vocab").unlink()
    return directory / f"{side}.model"


def marian_tokenizer_files(directory: Path) -> dict[str, int]:
    """``source.spm``, ``target.spm`` and the shared ``vocab.json`` in Marian's layout (</s> 0, <unk> 1, pieces,
    <pad> last); returns the vocabulary."""
    import sentencepiece as spm

    for side, corpus in (("source", CORPUS_EN), ("target", CORPUS_DE)):
        _train_spm(directory, side, corpus, 120, unk_id=1, eos_id=0, pad_id=-1).rename(directory / f"{side}.spm")
    vocab = {"</s>": 0, "<unk>": 1}
    for side in ("source", "target"):
        sp = spm.SentencePieceProcessor(model_file=str(directory / f"{side}.spm"))
        for i in range(sp.get_piece_size()):
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    return vocab


def marian_checkpoint(directory: Path, seed: int = 0) -> Path:
    import torch
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    vocab = marian_tokenizer_files(directory)
    torch.manual_seed(seed)
    pad = vocab["<pad>"]
    cfg = transformers.MarianConfig(
        vocab_size=len(vocab), d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128,
        pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad, forced_eos_token_id=0)
    model = transformers.MarianMTModel(cfg)
    tokenizer = transformers.MarianTokenizer(str(directory / "source.spm"), str(directory / "target.spm"),
                                             str(directory / "vocab.json"))
    pairs = PAIRS
    model, _ = fit(model, [tokenizer(en)["input_ids"] for en, _ in pairs],
                   [tokenizer(text_target=de)["input_ids"] for _, de in pairs], pad)
    model.generation_config.num_beams = 2
    model.generation_config.max_length = 65  # transformers counts the decoder start token: 64 new pieces
    model.generation_config.bad_words_ids = [[pad]]  # as every opus-mt checkpoint sets
    model.save_pretrained(str(directory))
    (directory / "README.md").write_text("---\nlicense: cc-by-4.0\n---\n# tiny test pair\n", encoding="utf-8")
    return directory


def t5_checkpoint(directory: Path, seed: int = 0) -> Path:
    import torch
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    model_file = _train_spm(directory, "spiece", CORPUS_EN, 100, pad_id=0, eos_id=1, unk_id=2)
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_file.read_bytes())
    tokenizer = transformers.T5TokenizerFast(
        vocab=[(p.piece, p.score) for p in proto.pieces], extra_ids=0,
        _spm_precompiled_charsmap=proto.normalizer_spec.precompiled_charsmap)
    tokenizer.save_pretrained(str(directory))
    torch.manual_seed(seed)
    cfg = transformers.T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                num_decoder_layers=2, num_heads=4, pad_token_id=0, eos_token_id=1,
                                decoder_start_token_id=0,
                                task_specific_params={"summarization": {  # t5-small's keys, smaller values
                                    "prefix": "summarize: ", "num_beams": 2, "no_repeat_ngram_size": 3,
                                    "length_penalty": 2.0, "min_length": 3, "max_length": 40,
                                    "early_stopping": True}})
    model = transformers.T5ForConditionalGeneration(cfg)
    model, _ = fit(model, [tokenizer("summarize: " + text)["input_ids"] for text, _ in SUMMARIES],
                   [tokenizer(summary)["input_ids"] for _, summary in SUMMARIES], 0)
    model.generation_config.max_length = 40
    model.save_pretrained(str(directory))
    return directory


def fit(model, sources: list[list[int]], targets: list[list[int]], pad: int, steps: int = 300, lr: float = 3e-3):
    """Teach ``model`` to map each source id list to its target id list (teacher forcing, AdamW): the tiny models
    then answer the tests' inputs with real words, and int8 agreement means something."""
    import torch

    def padded(rows: list[list[int]], value: int) -> torch.Tensor:
        width = max(len(r) for r in rows)
        return torch.tensor([r + [value] * (width - len(r)) for r in rows])

    ids, labels = padded(sources, pad), padded(targets, -100)
    mask = (ids != pad).long()
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval(), loss.item()


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=Path("build/checkpoints"),
                        help="where the two checkpoint directories go (opus-mt-tiny-en-de, t5-tiny)")


def run(args) -> int:
    """``python -m nlpbuild tiny-seq2seq``: write both checkpoints (about 10 s), to try the seq2seq path."""
    marian = marian_checkpoint(args.out / "opus-mt-tiny-en-de")
    t5 = t5_checkpoint(args.out / "t5-tiny")
    print(json.dumps({"marian": str(marian), "t5": str(t5), "knows": {
        "translate": [en for en, _ in PAIRS], "summarize": [text for text, _ in SUMMARIES]}}, indent=2))
    return 0
