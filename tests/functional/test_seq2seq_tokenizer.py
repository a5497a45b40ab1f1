"""Issue 11: a Marian checkpoint's SentencePiece tokenizers converted to ``tokenizers`` JSON encode and decode like
transformers' MarianTokenizer (which needs sentencepiece at run time; the Lambda runtime does not carry it)."""

from __future__ import annotations

import pytest

spm = pytest.importorskip("sentencepiece")
transformers = pytest.importorskip("transformers")

SAMPLES = ["The council approved the budget.", "  Where   is my parcel?? ", "Prices rose by 4.5 percent in São Paulo.",
           "unseen words like zyxwv and ÆØÅ", "", "Tabs\tand\nnewlines", "ＦＵＬＬＷＩＤＴＨ text", "I'd book it!"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny Marian checkpoint's tokenizer files: two trained SentencePiece unigram models and a shared vocab.json
    in Marian's layout (</s> 0, <unk> 1, pieces, <pad> last)."""
    from nlpbuild.tiny_seq2seq import marian_tokenizer_files

    d = tmp_path_factory.mktemp("marian")
    marian_tokenizer_files(d)
    return d


def test_the_converted_tokenizers_match_marian_tokenizer(checkpoint):
    from nlpbuild.seq2seq_tokenizer import marian_tokenizers

    reference = transformers.MarianTokenizer(str(checkpoint / "source.spm"), str(checkpoint / "target.spm"),
                                             str(checkpoint / "vocab.json"))
    source, target = marian_tokenizers(checkpoint)
    for text in SAMPLES:
        assert source.encode(text).ids == reference(text)["input_ids"], text
    from nlpbuild.tiny_seq2seq import CORPUS_DE

    for text in CORPUS_DE[:4] + ["Wo ist das Paket?"]:
        encoded = reference(text_target=text)  # the target side's SentencePiece model
        ids = encoded["labels"] if "labels" in encoded else encoded["input_ids"]
        assert target.decode(ids, skip_special_tokens=True) == reference.decode(ids, skip_special_tokens=True), text


def test_a_missing_file_is_named(tmp_path):
    from nlpbuild.seq2seq_tokenizer import marian_tokenizers

    with pytest.raises(FileNotFoundError, match="source.spm"):
        marian_tokenizers(tmp_path)

