"""Cold start and latency of the translate function on the tiny trained Marian (issue 11), against transformers.

Builds the tiny checkpoint of ``nlpbuild.tiny_seq2seq`` (2 + 2 layers, d_model 32: it knows four sentences) and
its int8 bundle with ``python -m nlpbuild seq2seq``, then, in a fresh Python process as a Lambda container would
start:

* cold start: importing ``nlpserve.handlers.translate`` (the FastAPI app, the bundle's two ONNX sessions and
  tokenizers, nupunkt) and the first request through the handler, from an API Gateway event;
* warm latency: the median of ``--requests`` requests of one sentence and of four sentences through the handler;
* the peer, in the same process: transformers' ``generate`` (PyTorch, fp32) on the same checkpoint and sentences,
  with the slow MarianTokenizer (sentencepiece), as a user would run it without nlpserve.

The tiny model's numbers are mostly fixed costs (Python, the handler, the tokenizers, session calls); at a real
model's shape the decoder steps dominate: see ``benchmarks/seq2seq_shape.py``.

    .venv/bin/python benchmarks/seq2seq_serve.py [--requests 30] [--threads 2]
        [--out benchmarks/results/seq2seq_serve.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers"), str(ROOT / "functions")]

ONE = "Where is my parcel?"
FOUR = ("The council approved the budget for new parks on Tuesday. Where is my parcel? It should have arrived. "
        "Prices rose by 4.5 percent in March, the statistics office said.")

CHILD = r"""
import json, os, statistics, sys, time
started = time.perf_counter()
from nlpserve.handlers import translate
from nlpserve.lambda_context import LocalContext
imported = time.perf_counter()
event = json.load(open(os.environ["EVENT"]))
def call(text):
    event["body"] = json.dumps({"inputs": text})
    t0 = time.perf_counter()
    response = translate.handler(event, LocalContext())
    assert response["statusCode"] == 200, response["body"]
    return (time.perf_counter() - t0) * 1000, json.loads(response["body"])
first_ms, body = call(os.environ["ONE"])
out = {"init_s": round(imported - started, 3), "first_request_ms": round(first_ms, 1),
       "translation": body["results"][0]["translation"]}
n = int(os.environ["REQUESTS"])
for label, text in (("one_sentence", os.environ["ONE"]), ("four_sentences", os.environ["FOUR"])):
    out[label + "_ms_p50"] = round(statistics.median(call(text)[0] for _ in range(n)), 2)

import torch, transformers
torch.set_num_threads(int(os.environ["NLP_THREADS"]))
d = os.environ["CHECKPOINT"]
t0 = time.perf_counter()
tok = transformers.MarianTokenizer(f"{d}/source.spm", f"{d}/target.spm", f"{d}/vocab.json")
model = transformers.MarianMTModel.from_pretrained(d).eval()
out["peer_load_s"] = round(time.perf_counter() - t0, 3)
def peer(text, sentences):
    t0 = time.perf_counter()
    with torch.no_grad():
        ids = model.generate(**tok(sentences, return_tensors="pt", padding=True), num_beams=2, max_new_tokens=64)
    tok.batch_decode(ids, skip_special_tokens=True)
    return (time.perf_counter() - t0) * 1000
from nlpserve.tasks.sentences import split_sentences
for label, text in (("one_sentence", os.environ["ONE"]), ("four_sentences", os.environ["FOUR"])):
    sentences = [text[s:e] for s, e in split_sentences(text)]
    peer(text, sentences)
    out["peer_" + label + "_ms_p50"] = round(statistics.median(peer(text, sentences) for _ in range(n)), 2)
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "seq2seq_serve.json")
    args = p.parse_args(argv)
    from nlpbuild import tiny_seq2seq

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = tiny_seq2seq.marian_checkpoint(Path(tmp) / "opus-mt-tiny-en-de")
        models = Path(tmp) / "models"
        subprocess.run([sys.executable, "-m", "nlpbuild", "seq2seq", str(checkpoint), "--task", "translate",
                        "--source-language", "en", "--target-language", "de", "--out", str(models), "--no-layer"],
                       check=True, cwd=ROOT, capture_output=True)
        event = json.loads((ROOT / "events" / "http_v2_sentiment.json").read_text())
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/v1/translate"
        (Path(tmp) / "event.json").write_text(json.dumps(event))
        env = {**os.environ, "NLP_MODELS_DIR": str(ROOT / "build" / "models"), "NLP_EXTRA_MODELS_DIRS": str(models),
               "NLP_THREADS": str(args.threads), "EVENT": str(Path(tmp) / "event.json"), "ONE": ONE, "FOUR": FOUR,
               "REQUESTS": str(args.requests), "CHECKPOINT": str(checkpoint), "POWERTOOLS_METRICS_NAMESPACE": "bench",
               "POWERTOOLS_SERVICE_NAME": "bench", "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT / 'layers'}"}
        run = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True,
                             check=True)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        bundle = models / "translate-en-de"
        result["bundle_bytes"] = sum(f.stat().st_size for f in bundle.iterdir())
    for label in ("one_sentence", "four_sentences"):
        result[f"speedup_vs_transformers_{label}"] = round(result[f"peer_{label}_ms_p50"] / result[f"{label}_ms_p50"], 2)
    result.update({"threads": args.threads, "requests": args.requests, "date": time.strftime("%Y-%m-%d"),
                   "command": "benchmarks/seq2seq_serve.py " + " ".join(argv if argv is not None else sys.argv[1:])})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
