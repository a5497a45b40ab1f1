"""Size and decoding speed of a seq2seq bundle at a real model's shape (issue 11), without its weights.

No seq2seq weights ship in any package reachable here, so this builds a randomly initialised transformers model
with a real checkpoint's architecture (default: Helsinki-NLP/opus-mt-en-de -- MarianMT, vocab 58,101, d_model 512,
6 + 6 layers, FFN 2048, 74.4 M parameters), exports it with ``nlpbuild.seq2seq.export``, int8-quantises both graphs
with ``nlpbuild.quantize.quantize_int8`` (reading the decoder's embedding from the LM head's int8 weight, as the
builder does for a tied model: ``nlpbuild.seq2seq.tie_quantized_embedding``), and measures:

* the size of each graph, fp32 and int8, and the total against Lambda's 262,144,000-byte unzipped limit with the
  runtime layer (its size is read from ``build/layers`` when a layer build exists, else taken as 116.4 MB);
* decoding through ``nlpserve.runtime.generate``: milliseconds per generated token and for the prefill, and a
  whole sentence greedy and with 4 beams, fp32 and int8, one source of ``--source-pieces`` pieces,
  ``--new-tokens`` forced decoder steps (the FLOPs per token do not depend on the weights' values, so these hold
  for the real checkpoint); the time to load the two sessions (the model's share of a cold start);
* the peer in the same process: transformers' ``generate`` (PyTorch fp32) on the same model, source and forced
  length, greedy and 4 beams, and the speed-up of our int8 decode over it;
* FLOPs per generated token (decoder self- and cross-attention projections, FFN, LM head) and the int8 rate they
  imply, to estimate other shapes: ms per token ~= FLOPs per token / that rate.

    .venv/bin/python benchmarks/seq2seq_shape.py [--layers 6] [--d-model 512] [--vocab 58101] [--threads 2]
        [--out benchmarks/results/seq2seq_shape.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers"), str(ROOT / "functions")]

LAMBDA_UNZIPPED = 262_144_000
RUNTIME_FALLBACK_BYTES = 116_400_000


def runtime_bytes() -> tuple[int, str]:
    import zipfile

    layer = next(iter(sorted((ROOT / "build" / "layers").glob("runtime-*.zip"))), None)
    if layer is None:
        return RUNTIME_FALLBACK_BYTES, "README's measured runtime layer (116.4 MB)"
    with zipfile.ZipFile(layer) as z:
        return sum(i.file_size for i in z.infolist()), str(layer.relative_to(ROOT))


#: Decoder shapes (d_model, ffn, vocab, decoder layers) of other checkpoints users bring, for the estimate.
OTHER_SHAPES = {
    "t5-small": (512, 2048, 32128, 6),
    "bart-base / distilbart-xsum-6-6 (d_model 768)": (768, 3072, 50265, 6),
    "opus-mt-tc-big (d_model 1024)": (1024, 4096, 57000, 6),
}


def decoder_flops(d: int, ffn: int, vocab: int, layers: int) -> int:
    """FLOPs (2 per multiply-add) of one decoder step for one row: per layer the self-attention projections
    (4 d^2), the cross-attention query and output (2 d^2; its keys/values are cached) and the FFN (2 d ffn),
    then the LM head (d x vocab). Attention over the cache is left out (small at sentence lengths)."""
    return 2 * layers * (6 * d * d + 2 * d * ffn) + 2 * d * vocab


def tokenizer_bytes(vocab: int) -> int:
    """Bytes of one side's tokenizer JSON at this vocabulary size: a Unigram model of ``vocab`` pieces of 6
    letters (opus-mt's pieces average about that) with SentencePiece's normaliser, as ``nlpbuild.seq2seq_bundle``
    writes it (the real file also carries the precompiled charsmap: add about 0.3 MB)."""
    import random

    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import Unigram

    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyzäöüß"
    pieces = [("<unk>", 0.0)] + [("▁" + "".join(rng.choice(letters) for _ in range(6)) + str(i), -rng.random() * 15)
                                 for i in range(vocab - 1)]
    tokenizer = Tokenizer(Unigram(pieces, unk_id=0, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC()])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save(f"{tmp}/t.json", pretty=False)
        return Path(f"{tmp}/t.json").stat().st_size + 300_000


def median_s(call, repeats: int) -> float:
    """Median wall time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def measure(args) -> dict:
    import numpy as np
    import torch
    from nlpbuild import seq2seq
    from nlpbuild.quantize import quantize_int8
    from nlpserve.runtime.generate import DECODER_WITH_PAST, PREFILL, GenerationConfig, Seq2SeqGraphs
    from transformers import MarianConfig, MarianMTModel

    torch.manual_seed(0)
    cfg = MarianConfig(vocab_size=args.vocab, d_model=args.d_model, encoder_layers=args.layers,
                       decoder_layers=args.layers, encoder_attention_heads=args.heads,
                       decoder_attention_heads=args.heads, encoder_ffn_dim=args.ffn, decoder_ffn_dim=args.ffn,
                       max_position_embeddings=512, pad_token_id=args.vocab - 1, eos_token_id=0,
                       decoder_start_token_id=args.vocab - 1)
    model = MarianMTModel(cfg).eval()
    out: dict = {"architecture": {"family": "marian", "vocab": args.vocab, "d_model": args.d_model,
                                  "layers": args.layers, "heads": args.heads, "ffn": args.ffn,
                                  "parameters": sum(p.numel() for p in model.parameters())}}
    runtime, runtime_source = runtime_bytes()
    rng = np.random.default_rng(0)
    ids = rng.integers(5, args.vocab - 2, size=(1, args.source_pieces))
    ids[0, -1] = 0
    mask = np.ones_like(ids)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32", Path(tmp) / "int8"
        arch = seq2seq.export(model, fp32)
        int8.mkdir()
        for name in (PREFILL, DECODER_WITH_PAST):
            quantize_int8(fp32 / name, int8 / name)
        if seq2seq.embeddings_tied(model):  # as the builder does (nlpbuild.seq2seq_bundle)
            out["tied_embedding_bytes_saved"] = seq2seq.tie_quantized_embedding(int8 / DECODER_WITH_PAST)
        for label, folder in (("fp32", fp32), ("int8", int8)):
            sizes = {name: (folder / name).stat().st_size for name in (PREFILL, DECODER_WITH_PAST)}
            t0 = time.perf_counter()
            graphs = Seq2SeqGraphs(folder, {**arch.manifest(), "eos_token_id": -1}, threads=args.threads)
            load_s = time.perf_counter() - t0
            graphs.generate(ids, mask, GenerationConfig(max_new_tokens=2))  # warm up
            prefill_s = median_s(lambda g=graphs: g.first_step(ids, mask), args.repeats)
            (tokens,) = graphs.generate(ids, mask, GenerationConfig(max_new_tokens=args.new_tokens))
            total_s = median_s(lambda g=graphs: g.generate(ids, mask, GenerationConfig(max_new_tokens=args.new_tokens)),
                               args.repeats)
            beam_s = median_s(lambda g=graphs: g.generate(ids, mask, GenerationConfig(max_new_tokens=args.new_tokens,
                                                                                   num_beams=4)), args.repeats)
            out[label] = {"bytes": sizes, "total_bytes": sum(sizes.values()),
                          "with_runtime_bytes": sum(sizes.values()) + runtime,
                          "fits_lambda_unzipped": sum(sizes.values()) + runtime <= LAMBDA_UNZIPPED,
                          "load_s": round(load_s, 2),
                          "prefill_ms": round(prefill_s * 1000, 1),
                          "ms_per_token": round((total_s - prefill_s) / max(len(tokens) - 1, 1) * 1000, 2),
                          "sentence_ms_greedy": round(total_s * 1000, 1),
                          "sentence_ms_beam4": round(beam_s * 1000, 1),
                          "tokens": len(tokens)}
    # the peer: transformers' generate on the same model (PyTorch fp32), the same source and forced length
    torch.set_num_threads(args.threads)
    source = torch.from_numpy(ids)
    peer = {}
    with torch.no_grad():
        for beams in (1, 4):
            settings = {"max_new_tokens": args.new_tokens, "min_new_tokens": args.new_tokens, "num_beams": beams,
                        "do_sample": False}
            model.generate(input_ids=source, attention_mask=torch.from_numpy(mask), **{**settings, "max_new_tokens": 2,
                                                                                       "min_new_tokens": 2})
            took = median_s(lambda s_=settings: model.generate(input_ids=source, attention_mask=torch.from_numpy(mask),
                                                               **s_), args.repeats)
            peer["sentence_ms_greedy" if beams == 1 else "sentence_ms_beam4"] = round(took * 1000, 1)
    out["transformers_fp32"] = peer
    out["speedup_int8_vs_transformers"] = {
        k: round(peer[k] / out["int8"][k], 2) for k in ("sentence_ms_greedy", "sentence_ms_beam4")}
    # FLOPs per generated token (2 per multiply-add): decoder self + cross attention projections, FFN, LM head
    flops = decoder_flops(args.d_model, args.ffn, args.vocab, args.layers)
    rate = flops / (out["int8"]["ms_per_token"] / 1000)
    out["decoder_flops_per_token"] = flops
    out["int8_gflops_per_s"] = round(rate / 1e9, 2)
    out["estimated_int8_ms_per_token"] = {name: round(decoder_flops(*shape) / rate * 1000, 2)
                                          for name, shape in OTHER_SHAPES.items()}
    tokenizers = 2 * tokenizer_bytes(args.vocab)  # source and target
    out["int8"]["bundle_bytes_with_tokenizers_estimate"] = out["int8"]["total_bytes"] + tokenizers
    out["int8"]["with_runtime_and_tokenizers_bytes"] = out["int8"]["with_runtime_bytes"] + tokenizers
    out["int8"]["fits_lambda_unzipped_with_tokenizers"] = out["int8"]["with_runtime_and_tokenizers_bytes"] <= LAMBDA_UNZIPPED
    out["tokenizers_bytes_estimate"] = tokenizers
    out.update({"runtime_layer_bytes": runtime, "runtime_layer_source": runtime_source,
                "lambda_unzipped_limit": LAMBDA_UNZIPPED, "threads": args.threads,
                "source_pieces": args.source_pieces, "new_tokens": args.new_tokens, "repeats": args.repeats,
                "date": time.strftime("%Y-%m-%d"), "command": "benchmarks/seq2seq_shape.py " + " ".join(sys.argv[1:])})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vocab", type=int, default=58101)
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--ffn", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--source-pieces", type=int, default=24)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3, help="timings are the median of this many runs")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "seq2seq_shape.json")
    args = p.parse_args(argv)
    result = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
