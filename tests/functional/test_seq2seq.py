"""Issue 11, step 1: a seq2seq model exported by nlpbuild.seq2seq (prefill: the encoder and the cross-attention
keys/values; then one decoder step graph with a key/value cache) and decoded by nlpserve.runtime.generate in numpy + onnxruntime reproduces transformers'
``generate`` token for token: greedy, beam search, length penalty, no-repeat n-grams and Marian's forced EOS.

The models are tiny and randomly initialised inside the test (no seq2seq weights ship in any package here), built
with the real transformers classes, so the export and the decoder see the real architectures."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

CONFIGS = [
    {"max_new_tokens": 10},
    {"max_new_tokens": 10, "no_repeat_ngram_size": 2},
    {"max_new_tokens": 10, "num_beams": 3},
    {"max_new_tokens": 12, "num_beams": 4, "length_penalty": 0.6, "no_repeat_ngram_size": 3},
]


def tiny(kind: str, seed: int):
    torch.manual_seed(seed)
    if kind == "marian":
        cfg = transformers.MarianConfig(
            vocab_size=72, d_model=32, encoder_layers=2, decoder_layers=3, encoder_attention_heads=4,
            decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
            pad_token_id=63, eos_token_id=0, decoder_start_token_id=63, forced_eos_token_id=0)
        return transformers.MarianMTModel(cfg).eval()
    # (equal layer counts: transformers 5.24's own generate fails for a T5 whose decoder is deeper than its encoder)
    cfg = transformers.T5Config(vocab_size=72, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                                num_heads=4, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    return transformers.T5ForConditionalGeneration(cfg).eval()


@pytest.fixture(scope="module", params=[("marian", 1), ("marian", 2), ("t5", 1), ("t5", 2)], ids=str)
def exported(request, tmp_path_factory):
    from nlpbuild import seq2seq
    from nlpserve.runtime.generate import Seq2SeqGraphs

    kind, seed = request.param
    model = tiny(kind, seed)
    out = tmp_path_factory.mktemp(f"{kind}{seed}")
    arch = seq2seq.export(model, out)
    return model, arch, Seq2SeqGraphs(out, arch.manifest())


def _inputs(arch, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, 60, size=(3, 7))
    ids[:, -1] = arch.eos_token_id
    mask = np.ones_like(ids)
    ids[1, 3], ids[1, 4:], mask[1, 4:] = arch.eos_token_id, arch.pad_token_id, 0  # a padded, shorter row
    return ids, mask


@pytest.mark.parametrize("settings", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_onnx_decoding_reproduces_transformers_generate(exported, settings):
    from nlpbuild import seq2seq
    from nlpserve.runtime.generate import GenerationConfig

    model, arch, graphs = exported
    for seed in (0, 1):
        ids, mask = _inputs(arch, seed)
        want = []
        for row in seq2seq.torch_generate(model, ids, mask, **settings):  # finished rows are padded: cut at EOS
            want.append(row[: row.index(arch.eos_token_id) + 1] if arch.eos_token_id in row else row)
        assert graphs.generate(ids, mask, GenerationConfig(**settings)) == want


def test_bad_words_min_length_and_early_stopping_match_transformers(exported):
    """Break test: opus-mt checkpoints set ``bad_words_ids`` (``<pad>``), which the decoder ignored, so a real pair
    failed the build's parity check; T5's summarisation settings use ``min_length`` and ``early_stopping``."""
    from nlpbuild import seq2seq
    from nlpserve.runtime.generate import GenerationConfig

    model, arch, graphs = exported
    ids, mask = _inputs(arch, 0)
    free = seq2seq.torch_generate(model, ids, mask, max_new_tokens=10)
    bad = [[free[0][0]], free[1][1:3], [arch.eos_token_id]]  # a token it would write, a 2-gram, and EOS (ignored)
    for settings in ({"max_new_tokens": 10, "bad_words_ids": bad},
                     {"max_new_tokens": 10, "num_beams": 3, "bad_words_ids": bad},
                     {"max_new_tokens": 12, "min_new_tokens": 6},
                     {"max_new_tokens": 12, "num_beams": 3, "min_new_tokens": 4, "early_stopping": True},
                     {"max_new_tokens": 12, "num_beams": 4, "early_stopping": True, "length_penalty": 2.0,
                      "no_repeat_ngram_size": 3}):
        want = [r[: r.index(arch.eos_token_id) + 1] if arch.eos_token_id in r else r
                for r in seq2seq.torch_generate(model, ids, mask, **settings)]
        got = graphs.generate(ids, mask, GenerationConfig(**settings))
        assert got == want, settings
        if "bad_words_ids" in settings:
            assert all(free[0][0] not in row for row in got) or free[0][0] == arch.eos_token_id


def test_the_exported_graphs_take_the_documented_inputs(exported):
    _, arch, graphs = exported
    assert [i.name for i in graphs.prefill.get_inputs()] == ["input_ids", "attention_mask"]
    assert [o.name for o in graphs.prefill.get_outputs()] == [
        f"cross.{i}.{p}" for i in range(arch.decoder_layers) for p in ("key", "value")]
    # the LM head lives in the decoder graph only (the prefill graph has no vocab-sized output or weight)
    import onnx
    from nlpbuild.seq2seq import PREFILL

    prefill = onnx.load(str(graphs.bundle_dir / PREFILL))
    assert not [t for t in prefill.graph.initializer if list(t.dims) == [arch.d_model, arch.vocab_size]]
    step = [i.name for i in graphs.step.get_inputs()]
    assert step[:2] == ["decoder_input_ids", "encoder_attention_mask"]
    assert step[2:6] == ["past.0.self_key", "past.0.self_value", "past.0.cross_key", "past.0.cross_value"]
    assert len(step) == 2 + 4 * arch.decoder_layers


def test_a_deadline_stops_decoding_between_steps(exported):
    from nlpserve.runtime.generate import GenerationConfig

    _, arch, graphs = exported
    ids, mask = _inputs(arch, 0)
    calls = []

    def deadline():
        calls.append(1)
        if len(calls) == 3:
            raise TimeoutError("out of time")

    with pytest.raises(TimeoutError):
        graphs.generate(ids, mask, GenerationConfig(max_new_tokens=50, num_beams=2), deadline=deadline)
    assert len(calls) == 3


def test_the_shape_benchmark_reports_sizes_and_speed(tmp_path):
    """benchmarks/seq2seq_shape.py (the README's opus-mt size and speed) on a tiny shape."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "seq2seq_shape.py"
    spec = importlib.util.spec_from_file_location("seq2seq_shape", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "r.json"
    assert bench.main(["--vocab", "300", "--d-model", "32", "--layers", "2", "--heads", "4", "--ffn", "64",
                       "--new-tokens", "5", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["int8"]["total_bytes"] < result["fp32"]["total_bytes"]
    assert result["int8"]["tokens"] == result["fp32"]["tokens"] == 5 and result["int8"]["ms_per_token"] > 0
