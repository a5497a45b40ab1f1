"""Model builder tests on the real weights (nlpbuild.recipes).

The session fixture builds the bundles into build/models (or reuses them when the inputs hash
matches); a cold build takes ~1-2 min, a cached one ~1 s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from nlpbuild.manifest import inputs_sha256, sha256_file
from nlpbuild.recipes import DEFAULT_OUT, build_models

BUNDLES = ["embed", "classify", "sentiment", "ner"]
MANIFEST_KEYS = {"name", "version", "kind", "model_file", "tokenizer_file", "inputs", "output", "max_length",
                 "labels", "embedding_dim", "description", "source", "quantization", "quality", "files",
                 "build"}


@pytest.fixture(scope="session")
def bundles() -> dict[str, Path]:
    return build_models(BUNDLES, out_dir=DEFAULT_OUT)


def _manifest(d: Path) -> dict:
    return json.loads((d / "manifest.json").read_text())


def _run(bundle: Path, texts: list[str]) -> np.ndarray:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    m = _manifest(bundle)
    tok = Tokenizer.from_file(str(bundle / m["tokenizer_file"]))
    tok.enable_truncation(max_length=m["max_length"])
    tok.enable_padding()
    enc = tok.encode_batch(texts)
    feeds = {
        "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
    }
    sess = ort.InferenceSession(str(bundle / m["model_file"]), providers=["CPUExecutionProvider"])
    return sess.run([m["output"]], {k: v for k, v in feeds.items() if k in m["inputs"]})[0]


def test_second_run_is_cached_and_untouched(bundles):
    before = {p: (p.stat().st_mtime_ns, sha256_file(p)) for d in bundles.values() for p in d.iterdir()}
    lines: list[str] = []
    t0 = time.perf_counter()
    again = build_models(BUNDLES, out_dir=DEFAULT_OUT, log=lines.append)
    elapsed = time.perf_counter() - t0
    assert again == bundles
    for name in BUNDLES:
        assert any(line.startswith(f"[{name}] cached") for line in lines), lines
    after = {p: (p.stat().st_mtime_ns, sha256_file(p)) for d in bundles.values() for p in d.iterdir()}
    assert after == before
    assert elapsed < 5, f"cached run took {elapsed:.1f}s"


@pytest.mark.parametrize("name", BUNDLES)
def test_manifest_contract(bundles, name):
    d = bundles[name]
    m = _manifest(d)
    assert MANIFEST_KEYS <= set(m)
    assert m["name"] == name
    assert m["build"]["built_at"] is None and len(m["build"]["inputs_sha256"]) == 64
    assert {"model.onnx", "tokenizer.json"} <= set(m["files"])
    for fname, entry in m["files"].items():
        assert sha256_file(d / fname) == entry["sha256"]
        assert (d / fname).stat().st_size == entry["bytes"]
    tok = json.loads((d / "tokenizer.json").read_text())
    assert tok["padding"] is None and tok["truncation"] is None
    assert m["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    if m["labels"] is not None:
        assert len(m["labels"]) == len(set(m["labels"]))


def test_embed_parity_and_semantics(bundles):
    m = _manifest(bundles["embed"])
    assert m["kind"] == "embedding" and m["embedding_dim"] == 384 and m["max_length"] == 256
    par = m["quality"]["parity_vs_fp32_torch_cosine"]
    assert par["n"] >= 100 and par["mean"] >= 0.99
    e = _run(bundles["embed"], ["How do I reset my password?", "I forgot my password, how can I change it?",
                                "The weather in Paris is sunny today."])
    assert e.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-3)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_embed_live_parity_vs_fp32_torch(bundles, tmp_path):
    """Recompute parity on fresh sentences against the fp32 torch encoder (not only the manifest)."""
    from nlpbuild.export import load_encoder, torch_embed
    from nlpbuild.parity import load_tokenizer
    from nlpbuild.recipes import DEFAULT_CACHE, Context

    ctx = Context(out_dir=tmp_path, cache_dir=DEFAULT_CACHE)
    texts = ["Can I get a refund for a damaged item?", "the cat sat on the mat", "Quarterly revenue rose 8%.",
             "I'm so happy with the new update!!!", "where is the nearest pharmacy open now",
             "Please send the invoice to accounts@example.com by Friday."]
    ref = torch_embed(load_encoder(ctx.minilm_dir), load_tokenizer(ctx.minilm_dir / "tokenizer.json", 256),
                      texts)
    got = _run(bundles["embed"], texts)
    cos = (got * ref).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.mean() >= 0.99 and cos.min() >= 0.97, cos


def test_classify_routes_to_human(bundles):
    m = _manifest(bundles["classify"])
    labels = m["labels"]
    assert len(labels) == 157 and "connect_to_human" in labels and "oos" in labels
    assert not any(lab.isdigit() for lab in labels)
    p = _run(bundles["classify"], ["connect me to a person", "what's the weather like today"])
    assert p.shape == (2, len(labels))
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-4)
    assert labels[int(p[0].argmax())] == "connect_to_human"
    assert labels[int(p[1].argmax())] == "weather"
    assert m["quality"]["agreement_int8_vs_fp32"] >= 0.98
    assert 0.0 <= m["oos_threshold"] < 1.0 and m["quality"]["heldout_test"]["at_oos_threshold"]["items"]["oos"] > 0


def test_sentiment_polarity(bundles):
    m = _manifest(bundles["sentiment"])
    assert m["labels"] == ["negative", "neutral", "positive"]
    p = _run(bundles["sentiment"], ["I love this movie", "This was a terrible waste of time"])
    assert m["labels"][int(p[0].argmax())] == "positive"
    assert m["labels"][int(p[1].argmax())] == "negative"
    q = m["quality"]
    assert q["int8_tweets_test"]["n"] > 5000 and q["int8_multi_domain_99"]["n"] >= 90
    assert q["int8_vs_fp32_finetuned"]["label_agreement"] >= 0.97  # quantisation kept the fine-tuned model
    assert q["calibration"]["dev_ece_after"] < q["calibration"]["dev_ece_before"]
    assert set(q["heldout"]) == {"social", "support", "product_reviews", "film_reviews", "news"}


def test_ner_bundle(bundles):
    d = bundles["ner"]
    m = _manifest(d)
    assert m["kind"] == "token-classification" and m["output"] == "logits"
    assert len(m["labels"]) == 35 and m["labels"][0] == "O"
    assert m["source"]["license"] == "CC-BY-4.0" and (d / "LICENSE").is_file()
    assert m["max_length"] == 512
    logits = _run(d, ["Email me at jane.doe@example.com"])
    assert logits.shape[-1] == 35
    tags = {m["labels"][i] for i in logits[0].argmax(-1)}
    assert any(t.endswith("EMAIL") for t in tags), tags


def test_inputs_hash_tracks_content_and_params(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"one")
    h1 = inputs_sha256([f], {"opset": 17})
    assert h1 == inputs_sha256([f], {"opset": 17})
    assert h1 != inputs_sha256([f], {"opset": 18})
    f.write_bytes(b"two")
    assert h1 != inputs_sha256([f], {"opset": 17})


def test_fold_head_matches_sklearn(tmp_path):
    """The folded MatMul+Add+Softmax equals LogisticRegression.predict_proba on the same embeddings."""
    import onnx
    import onnxruntime as ort
    from nlpbuild.heads import LinearHead, fold_head
    from onnx import helper
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    y = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, 200)]
    clf = LogisticRegression(max_iter=500).fit(x, y)
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["sentence_embedding"])], "g",
                          [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 8])],
                          [helper.make_tensor_value_info("sentence_embedding", onnx.TensorProto.FLOAT,
                                                         ["batch", 8])])
    src = tmp_path / "id.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    head = LinearHead(clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32), list(clf.classes_))
    fold_head(src, tmp_path / "h.onnx", head)
    p = ort.InferenceSession(str(tmp_path / "h.onnx")).run(["probabilities"], {"x": x})[0]
    np.testing.assert_allclose(p, clf.predict_proba(x), atol=1e-5)
