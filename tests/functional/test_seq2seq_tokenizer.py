"""Issue 11: a Marian checkpoint's SentencePiece tokenizers converted to ``tokenizers`` JSON encode and decode like
transformers' MarianTokenizer (which needs sentencepiece at run time; the Lambda runtime does not carry it)."""

from __future__ import annotations

import json

import pytest

spm = pytest.importorskip("sentencepiece")
transformers = pytest.importorskip("transformers")

CORPUS_EN = [
    "The council approved the budget for new parks on Tuesday.", "Where is my parcel? It should have arrived.",
    "Prices rose by 4.5 percent in March, the statistics office said.", "I'd like to book a table for two at 8 pm.",
    "Naïve café owners in São Paulo serve crème brûlée.", "Don't forget: the meeting starts at 10:30!",
] * 20
CORPUS_DE = [
    "Der Rat hat am Dienstag den Haushalt für neue Parks beschlossen.", "Wo ist mein Paket? Es sollte angekommen sein.",
    "Die Preise stiegen im März um 4,5 Prozent, teilte das Statistikamt mit.", "Ich möchte einen Tisch für zwei reservieren.",
] * 20
SAMPLES = ["The council approved the budget.", "  Where   is my parcel?? ", "Prices rose by 4.5 percent in São Paulo.",
           "unseen words like zyxwv and ÆØÅ", "", "Tabs\tand\nnewlines", "ＦＵＬＬＷＩＤＴＨ text", "I'd book it!"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny Marian checkpoint directory: two trained SentencePiece unigram models and a shared vocab.json in
    Marian's layout (</s> 0, <unk> 1, pieces, <pad> last)."""
    d = tmp_path_factory.mktemp("marian")
    for side, corpus in (("source", CORPUS_EN), ("target", CORPUS_DE)):
        (d / f"{side}.txt").write_text("\n".join(corpus), encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(d / f"{side}.txt"), model_prefix=str(d / side), vocab_size=120,
                                       model_type="unigram", character_coverage=1.0, hard_vocab_limit=False, unk_id=1, bos_id=-1,
                                       eos_id=0, pad_id=-1, minloglevel=2)
        (d / f"{side}.model").rename(d / f"{side}.spm")
    vocab = {"</s>": 0, "<unk>": 1}
    for side in ("source", "target"):
        sp = spm.SentencePieceProcessor(model_file=str(d / f"{side}.spm"))
        for i in range(sp.get_piece_size()):
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    (d / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    return d


def test_the_converted_tokenizers_match_marian_tokenizer(checkpoint):
    from nlpbuild.seq2seq_tokenizer import marian_tokenizers

    reference = transformers.MarianTokenizer(str(checkpoint / "source.spm"), str(checkpoint / "target.spm"),
                                             str(checkpoint / "vocab.json"))
    source, target = marian_tokenizers(checkpoint)
    for text in SAMPLES:
        assert source.encode(text).ids == reference(text)["input_ids"], text
    for text in CORPUS_DE[:4] + ["Wo ist das Paket?"]:
        encoded = reference(text_target=text)  # the target side's SentencePiece model
        ids = encoded["labels"] if "labels" in encoded else encoded["input_ids"]
        assert target.decode(ids, skip_special_tokens=True) == reference.decode(ids, skip_special_tokens=True), text


def test_a_missing_file_is_named(tmp_path):
    from nlpbuild.seq2seq_tokenizer import marian_tokenizers

    with pytest.raises(FileNotFoundError, match="source.spm"):
        marian_tokenizers(tmp_path)

