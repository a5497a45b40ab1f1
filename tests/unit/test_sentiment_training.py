"""Issue 9: the pieces of the sentiment fine-tuning (nlpbuild/lora.py, nlpbuild/train_sentiment.py).

A merged adapter must give exactly the model that was trained (else the bundle is not the model we measured),
temperature scaling must find the temperature that calibrates, and a user's labelled file must be read or
refused with a message naming the row.
"""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from nlpbuild import lora
from nlpbuild.train_sentiment import fit_temperature, read_labelled


def tiny_bert(seed=0):
    torch.manual_seed(seed)
    config = transformers.BertConfig(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=32)
    return transformers.BertModel(config, add_pooling_layer=False).eval()


def test_merged_adapters_give_the_model_that_was_trained(tmp_path):
    trained = tiny_bert()
    wrapped = lora.attach(trained, rank=4, alpha=8.0)
    assert len(wrapped) == 2 * len(lora.MODULES)
    for module in wrapped.values():  # as after training: B is no longer zero
        torch.nn.init.normal_(module.B, std=0.2)
    ids = torch.randint(1, 60, (3, 7))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        want = trained(input_ids=ids, attention_mask=mask).last_hidden_state
    lora.save(tmp_path / "a.npz", lora.state(wrapped, 4, 8.0))

    plain = tiny_bert()  # same base weights, no adapters
    with torch.no_grad():
        base = plain(input_ids=ids, attention_mask=mask).last_hidden_state
    assert lora.merge(plain, lora.load(tmp_path / "a.npz")) == len(wrapped)
    with torch.no_grad():
        got = plain(input_ids=ids, attention_mask=mask).last_hidden_state
    assert float((want - base).abs().max()) > 1e-2  # the adapters changed the model
    assert torch.allclose(got, want, atol=1e-5)


def test_fresh_adapters_leave_the_model_unchanged():
    model = tiny_bert()
    ids = torch.randint(1, 60, (2, 5))
    with torch.no_grad():
        before = model(input_ids=ids).last_hidden_state
        lora.attach(model, rank=2, alpha=4.0)
        after = model(input_ids=ids).last_hidden_state
    assert torch.equal(before, after)


def test_an_adapter_for_a_layer_the_model_lacks_is_refused():
    big = tiny_bert()
    wrapped = lora.attach(big, rank=2, alpha=4.0)
    arrays = lora.state(wrapped, 2, 4.0)
    arrays["layer.5.output.dense.A"] = arrays["layer.0.output.dense.A"]
    arrays["layer.5.output.dense.B"] = arrays["layer.0.output.dense.B"]
    with pytest.raises(ValueError, match="layer.5"):
        lora.merge(tiny_bert(), arrays)


def test_temperature_scaling_recovers_the_temperature_that_calibrates():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, size=(4000, 3))
    p = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    gold = [["negative", "neutral", "positive"][rng.choice(3, p=row)] for row in p]
    t = fit_temperature(true_logits * 2.5, gold)  # an over-confident model: logits 2.5x too large
    assert t == pytest.approx(2.5, rel=0.1)


def test_a_labelled_csv_or_jsonl_is_read_and_bad_rows_are_named(tmp_path):
    good = tmp_path / "mine.csv"
    good.write_text("text,label\nGreat service,positive\n\"Slow, and rude\",Negative\n", encoding="utf-8")
    assert [(r["text"], r["label"]) for r in read_labelled(good)] == [("Great service", "positive"),
                                                                       ("Slow, and rude", "negative")]
    jl = tmp_path / "mine.jsonl"
    jl.write_text(json.dumps({"text": "ok", "label": "neutral"}) + "\n", encoding="utf-8")
    assert read_labelled(jl)[0]["label"] == "neutral"
    bad_label = tmp_path / "bad.csv"
    bad_label.write_text("text,label\nfine,positive\nmeh,mixed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 3: label 'mixed'"):
        read_labelled(bad_label)
    no_column = tmp_path / "nocol.csv"
    no_column.write_text("review,stars\nfine,5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no label or text column"):
        read_labelled(no_column)
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n  ,positive\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 2: empty text"):
        read_labelled(empty)
