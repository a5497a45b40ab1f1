"""Size and decoding speed of a seq2seq bundle at a real model's shape (issue 11), without its weights.

No seq2seq weights ship in any package reachable here, so this builds a randomly initialised transformers model
with a real checkpoint's architecture (default: Helsinki-NLP/opus-mt-en-de -- MarianMT, vocab 58,101, d_model 512,
6 + 6 layers, FFN 2048, 74.4 M parameters), exports it with ``nlpbuild.seq2seq.export``, int8-quantises both graphs
with ``nlpbuild.quantize.quantize_int8``, and measures:

* the size of each graph, fp32 and int8, and the total against Lambda's 262,144,000-byte unzipped limit with the
  runtime layer (its size is read from ``build/layers`` when a layer build exists, else taken as 116.4 MB);
* greedy decoding through ``nlpserve.runtime.generate``: milliseconds per generated token and for the prefill,
  fp32 and int8, one source of ``--source-pieces`` pieces, ``--new-tokens`` forced decoder steps (the FLOPs per
  token do not depend on the weights' values, so these hold for the real checkpoint).

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
        for label, folder in (("fp32", fp32), ("int8", int8)):
            sizes = {name: (folder / name).stat().st_size for name in (PREFILL, DECODER_WITH_PAST)}
            graphs = Seq2SeqGraphs(folder, {**arch.manifest(), "eos_token_id": -1}, threads=args.threads)
            graphs.generate(ids, mask, GenerationConfig(max_new_tokens=2))  # warm up
            t0 = time.perf_counter()
            graphs.first_step(ids, mask)
            prefill_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            (tokens,) = graphs.generate(ids, mask, GenerationConfig(max_new_tokens=args.new_tokens))
            total_s = time.perf_counter() - t0
            out[label] = {"bytes": sizes, "total_bytes": sum(sizes.values()),
                          "with_runtime_bytes": sum(sizes.values()) + runtime,
                          "fits_lambda_unzipped": sum(sizes.values()) + runtime <= LAMBDA_UNZIPPED,
                          "prefill_ms": round(prefill_s * 1000, 1),
                          "ms_per_token": round((total_s - prefill_s) / max(len(tokens) - 1, 1) * 1000, 2),
                          "tokens": len(tokens)}
    out.update({"runtime_layer_bytes": runtime, "runtime_layer_source": runtime_source,
                "lambda_unzipped_limit": LAMBDA_UNZIPPED, "threads": args.threads,
                "source_pieces": args.source_pieces, "new_tokens": args.new_tokens,
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
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "seq2seq_shape.json")
    args = p.parse_args(argv)
    result = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
