"""Batch path throughput and memory: a 100k-line JSONL through the real batch handler against moto.

    .venv/bin/python benchmarks/batch_throughput.py [--lines 100000] [--task sentiment] [--batch-size 64]

What it does (one process for the handler, moto in a separate process so its in-memory S3 is not counted):
1. starts ``moto_server`` on 127.0.0.1 and wires bucket -> queue (+DLQ) exactly like the stack;
2. writes a deterministic JSONL of synthetic reviews to a temp file, uploads a 10%-sized copy and then the
   full file under ``incoming/<task>/``; moto delivers the S3 events; a Lambda-like poller feeds them to the
   real ``BatchHandler`` (budget 900 s per invocation, continuation if needed);
3. records peak RSS (``ru_maxrss``) after the small file and after the full file, and VmRSS samples as the
   full file streams (flat memory = the peaks are about equal);
4. measures raw model throughput on the SAME texts (``task.run`` in chunks of the same batch size, nothing
   else), and reports the pipeline's records/s as a ratio of it.
Writes ``benchmarks/results/batch_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "functions"))

WORDS = ["good", "great", "bad", "awful", "terrible", "excellent", "slow", "fast", "support", "price", "quality", "delivery", "broken", "works", "love", "hate", "refund", "order", "item", "screen", "battery", "service", "staff", "friendly", "rude", "late", "early", "cheap", "expensive", "recommend", "never", "again", "always", "happy", "sad", "okay", "fine", "product", "store", "app", "update", "crash", "fixed", "issue"]


def make_text(rng: random.Random) -> str:
    n = rng.randint(6, 40)
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + rng.choice([".", "!", "?", "..."])


def write_jsonl(path: Path, lines: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"id": f"r{i}", "text": make_text(rng), "source": "bench"}) + "\n" for i in range(lines))
    return path.stat().st_size


def iter_texts(path: Path):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)["text"]


def vm_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_moto(port: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("moto_server")
    cmd = [str(exe), "-H", "127.0.0.1", "-p", str(port)] if exe.exists() else \
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--small-lines", type=int, default=None, help="first, smaller file (default lines/10)")
    ap.add_argument("--task", default="sentiment")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--budget-s", type=float, default=900.0, help="simulated Lambda timeout per invocation")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "batch_throughput.json")
    args = ap.parse_args()
    small = args.small_lines or max(1, args.lines // 10)

    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ["NLP_BATCH_SIZE"] = str(args.batch_size)

    from nlpserve.batch.config import BatchSettings
    from nlpserve.batch.local import LocalLoop, free_port
    from nlpserve.tasks import get_task

    task = get_task(args.task).warm()
    rss_after_model = vm_rss_mb()
    port = free_port()
    moto = start_moto(port)
    result: dict = {}
    try:
        loop = LocalLoop(endpoint_url=f"http://127.0.0.1:{port}", bucket="nlp-bench", queue="nlp-bench",
                         timeout_s=args.budget_s, settings=BatchSettings.from_env()).start()
        samples: list[tuple[int, float]] = []
        tmp = Path(tempfile.mkdtemp(prefix="nlp_bench_"))
        runs = {}
        for label, n in (("small", small), ("full", args.lines)):
            path = tmp / f"{label}.jsonl"
            size = write_jsonl(path, n)
            key = f"incoming/{args.task}/bench-{label}.jsonl"
            loop.s3.upload_file(str(path), loop.bucket, key)
            t0 = time.perf_counter()
            if label == "full":
                loop.handler  # noqa: B018
                from nlpserve.batch import processor as proc_mod

                orig_init = proc_mod.ObjectProcessor.__init__

                def init_with_progress(self, *a, **kw):  # sample VmRSS every ~10k records
                    orig_init(self, *a, **kw)
                    last = [0]

                    def on_progress(pos, counts):
                        if counts.records - last[0] >= 10_000:
                            last[0] = counts.records
                            samples.append((counts.records, round(vm_rss_mb(), 1)))
                    self.on_progress = on_progress

                proc_mod.ObjectProcessor.__init__ = init_with_progress
            invocations = 0
            while True:
                summary_key = f"results/{args.task}/bench-{label}.jsonl.summary.json"
                try:
                    summary = json.loads(loop.s3.get_object(Bucket=loop.bucket, Key=summary_key)["Body"].read())
                    break
                except loop.s3.exceptions.NoSuchKey:
                    pass
                if loop.poll_once(wait_s=1) is not None:
                    invocations += 1
            wall = time.perf_counter() - t0
            runs[label] = {
                "lines": n, "input_bytes": size, "wall_s": round(wall, 2),
                "records_per_s": round(summary["counts"]["scored"] / wall, 1),
                "counts": summary["counts"], "summary_timings": summary["timings"],
                "lambda_invocations": summary["invocations"], "peak_rss_mb_after": round(peak_rss_mb(), 1),
            }
            print(label, json.dumps(runs[label]), flush=True)
        # raw model throughput on the same texts, same batch size, nothing else
        t0 = time.perf_counter()
        chunk: list[str] = []
        count = 0
        for text in iter_texts(tmp / "full.jsonl"):
            chunk.append(text)
            if len(chunk) == args.batch_size:
                task.run(chunk, task.Params())
                count += len(chunk)
                chunk = []
        if chunk:
            task.run(chunk, task.Params())
            count += len(chunk)
        raw_s = time.perf_counter() - t0
        raw_rps = count / raw_s
        full = runs["full"]
        result = {
            "task": args.task, "batch_size": args.batch_size, "lines": args.lines,
            "pipeline_records_per_s": full["records_per_s"],
            "raw_model_records_per_s": round(raw_rps, 1),
            "ratio_to_raw": round(full["records_per_s"] / raw_rps, 3),
            "peak_rss_mb": {"after_model_load": round(rss_after_model, 1),
                            f"after_{small}_lines": runs["small"]["peak_rss_mb_after"],
                            f"after_{args.lines}_lines": full["peak_rss_mb_after"]},
            "vm_rss_mb_samples_during_full": samples,
            "runs": runs,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            "notes": "moto_server runs in a separate process; RSS is the handler process only. Raw = task.run "
                     "on the same texts in chunks of batch_size, measured in the same run.",
        }
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("runs",)}, indent=1))


if __name__ == "__main__":
    main()
