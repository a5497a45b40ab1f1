"""Speed and cost of every task, side by side with the peer a user would pick, in one run.

    .venv/bin/python benchmarks/speed.py [--texts 1000] [--threads 2] [--cold-runs 5] [--skip-peers]
        [--out benchmarks/results/speed.json] [--readme]
    .venv/bin/python benchmarks/speed.py --render-only --readme     # README table from the saved JSON

Each measurement runs in fresh processes, so cold starts and peak RSS are per function:
- ours (benchmarks/ours.py, project venv): each task's Lambda handler with API Gateway events; cold start
  = process spawn to first answer (median of --cold-runs fresh processes); warm single-text latency;
  64-text requests; the raw model rate (length-sorted, one call); a naive onnxruntime loop (input order,
  batches of 32 padded to their longest); embed also runs the fp32 graph it was quantised from;
- peers (benchmarks/peer.py in build/bench-peer, created by benchmarks/peer_env.py, never in the layer):
  sentence-transformers on PyTorch CPU fp32 with the same all-MiniLM-L6-v2 weights (the peer of embed,
  classify and sentiment, which share that encoder); Presidio's analyzer with spaCy en_core_web_sm (the
  peer of ner/redact). Rampart ships no PyTorch checkpoint, so no transformers pipeline peer exists for ner;
  the naive onnxruntime loop stands in for it.
- cost: the same handler throughput at 1 thread (Lambda gives one vCPU per 1,769 MB) and at --threads,
  turned into records per GB-second and dollars per million records at three memory sizes.

Texts: benchmarks/corpus.py (1,000 mixed-length tweets and paragraphs, fixed seed). Output: JSON with the
machine it ran on; --readme rewrites the README's performance table between its markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import SHORT, mixed_texts
from peer_env import ensure_peer_env, run_child, run_peer

REPO = Path(__file__).resolve().parents[1]
TASKS = ("embed", "classify", "sentiment", "ner")
MINILM_TASKS = ("embed", "classify", "sentiment")
#: AWS Lambda on-demand price per GB-second (x86_64 and arm64, first pricing tier, us-east-1, 2026).
PRICE_GB_S = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
#: Lambda allocates CPU in proportion to memory: 1,769 MB = one full vCPU.
MB_PER_VCPU = 1769
START, END = "<!-- speed-table:start -->", "<!-- speed-table:end -->"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ours(task: str, texts_path: Path, threads: int, mode: str | None = None) -> dict:
    """One fresh benchmarks/ours.py process (project venv) for one task."""
    args = ["--task", task, "--texts", str(texts_path), "--threads", str(threads), "--short", SHORT]
    env = dict(os.environ, PYTHONPATH=str(REPO / "functions"))
    return run_child(Path(sys.executable), "ours.py", args + ([mode] if mode else []), env)


def cold_starts(task: str, texts_path: Path, threads: int, runs: int) -> dict:
    values = [ours(task, texts_path, threads, "--cold-only") for _ in range(runs)]
    first = [v["first_answer_s"] for v in values]
    return {"cold_start_s": round(statistics.median(first), 3), "cold_start_all_s": first,
            "cold_load_s": round(statistics.median(v["load_s"] for v in values), 3),
            "cold_peak_rss_mb": round(statistics.median(v["peak_rss_mb"] for v in values), 1)}


def machine() -> dict:
    flags: set[str] = set()
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    from importlib.metadata import version

    return {"cpu": model, "cpu_count": os.cpu_count(), "arch": platform.machine(),
            "int8_features": sorted(flags & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp"}),
            "python": platform.python_version(), "onnxruntime": version("onnxruntime"),
            "date": time.strftime("%Y-%m-%d"), "loadavg": round(os.getloadavg()[0], 2)}


def cost(rate_1vcpu: float, rate_n: float, n_threads: int) -> list[dict]:
    """Records per GB-second and $ per million records at three memory sizes, from measured rates.

    1,769 MB and n x 1,769 MB use the rates measured at 1 and n threads. 1,024 MB gets 1,024/1,769 of a vCPU:
    its rate is estimated as the 1-thread rate times that share (CPU-bound work), so it costs the same per
    record as 1,769 MB but each request takes 1.7x longer."""
    rows = []
    for mb, rate, how in ((1024, rate_1vcpu * 1024 / MB_PER_VCPU, "estimated: 1-thread rate x 0.58 vCPU"),
                          (MB_PER_VCPU, rate_1vcpu, "measured, 1 thread"),
                          (MB_PER_VCPU * n_threads, rate_n, f"measured, {n_threads} threads")):
        per_gbs = rate / (mb / 1024)
        rows.append({"memory_mb": mb, "texts_per_s": round(rate, 1), "records_per_gb_s": round(per_gbs, 1),
                     "usd_per_million_x86_64": round(1e6 / per_gbs * PRICE_GB_S["x86_64"], 3),
                     "how": how})
    return rows


def run(args) -> dict:
    texts = mixed_texts(args.texts)
    # Lambda layers ship compiled bytecode (layers.py), as pip compiles the peers' site-packages: do the
    # same for our source, or PYTHONDONTWRITEBYTECODE machines would compile it on every cold start.
    import compileall

    compileall.compile_dir(str(REPO / "functions"), quiet=1)
    report: dict = {"command": "benchmarks/speed.py " + " ".join(sys.argv[1:]), "machine": machine(),
                    "texts": len(texts), "threads": args.threads, "short_text": SHORT, "tasks": {}, "peers": {}}
    with tempfile.TemporaryDirectory() as tmp:
        texts_path = Path(tmp) / "texts.json"
        texts_path.write_text(json.dumps(texts))
        python = None if args.skip_peers else ensure_peer_env(REPO, log=log)
        for task in args.tasks:
            # Each peer runs right before the first task compared with it, not after all of ours: the
            # machines are shared and their load drifts over a 25-minute run, which skews distant ratios.
            what = "st-embed" if task in MINILM_TASKS else "presidio"
            if python is not None and what not in report["peers"]:
                log(f"[peer {what}] {args.cold_runs} cold runs + 1 full run")
                try:
                    report["peers"][what] = run_peer(python, what, texts, args.threads, SHORT,
                                                     cold_runs=args.cold_runs, log=log)
                except RuntimeError as exc:  # presidio is optional in the peer env
                    report["peers"][what] = {"error": str(exc)[-500:]}
            log(f"[{task}] cold starts ({args.cold_runs} fresh processes)")
            row = cold_starts(task, texts_path, args.threads, args.cold_runs)
            log(f"[{task}] full run, {args.threads} threads")
            row.update(ours(task, texts_path, args.threads))
            log(f"[{task}] handler throughput, 1 thread")
            one = ours(task, texts_path, 1, "--throughput-only")
            row["handler64_texts_per_s_1thread"] = one["handler64_texts_per_s"]
            row["model_sorted_texts_per_s_1thread"] = one["model_sorted_texts_per_s"]
            row["peak_rss_mb_1thread"] = one["peak_rss_mb"]
            row["cost"] = cost(one["handler64_texts_per_s"], row["handler64_texts_per_s"], args.threads)
            report["tasks"][task] = row
            log(f"[{task}] {json.dumps({k: v for k, v in row.items() if k != 'cost'})}")
    report["machine"]["loadavg_end"] = round(os.getloadavg()[0], 2)
    report["ratios"] = ratios(report)
    return report


def ratios(report: dict) -> dict:
    """The issue-8 targets as ratios of numbers measured in this run."""
    out: dict = {}
    tasks, peers = report["tasks"], report["peers"]
    for task, row in tasks.items():
        r = {"handler64_over_model_sorted": round(row["handler64_texts_per_s"] / row["model_sorted_texts_per_s"], 3)}
        if row.get("model_sorted_texts_per_s_1thread"):
            r["handler64_over_model_sorted_1thread"] = round(
                row["handler64_texts_per_s_1thread"] / row["model_sorted_texts_per_s_1thread"], 3)
        if "model_naive_texts_per_s" in row:
            r["model_sorted_over_naive"] = round(row["model_sorted_texts_per_s"] / row["model_naive_texts_per_s"], 2)
        if "fp32_model_sorted_texts_per_s" in row:
            r["int8_over_fp32"] = round(row["model_sorted_texts_per_s"] / row["fp32_model_sorted_texts_per_s"], 2)
        peer = peers.get("st-embed" if task in MINILM_TASKS else "presidio", {})
        if "texts_per_s" in peer:
            r["peer"] = "sentence-transformers fp32" if task in MINILM_TASKS else "presidio + spaCy sm"
            r["handler64_over_peer"] = round(row["handler64_texts_per_s"] /
                                             peer.get("requests64_texts_per_s", peer["texts_per_s"]), 2)
            r["short_p50_peer_over_ours"] = round(peer["short_p50_ms"] / row["short_p50_ms"], 2)
            r["cold_start_peer_over_ours"] = round(peer["first_answer_s"] / row["cold_start_s"], 1)
        out[task] = r
    return out


def render(report: dict) -> str:
    """The README's performance tables (markdown) from a report."""
    m, tasks, peers, rat = report["machine"], report["tasks"], report["peers"], report["ratios"]
    lines = [(f"Measured {m['date']} by `{report['command'].strip()}` on {m['cpu']} ({m['cpu_count']} vCPUs, "
             f"{m['arch']}; int8 features: {', '.join(m['int8_features']) or 'none'}; load average "
             f"{m['loadavg']} at the start, {m.get('loadavg_end', '?')} at the end), {report['threads']} threads, "
             f"{report['texts']} mixed-length texts (`benchmarks/corpus.py`). Full output: "
             "`benchmarks/results/speed.json`."), "",
             ("| task | cold start (median of fresh processes) | one short text through the handler, p50 | "
             "64-text requests through the handler | raw model, sorted one call | handler / raw | "
             "handler / raw at 1 thread (as deployed) | raw sorted / naive loop | peak RSS (function) |"),
             "|---|---|---|---|---|---|---|---|---|"]
    for task, row in tasks.items():
        r = rat[task]
        lines.append(f"| {task} | {row['cold_start_s']:.2f} s | {row['short_p50_ms']:.1f} ms | "
                     f"{row['handler64_texts_per_s']:.0f} texts/s | {row['model_sorted_texts_per_s']:.0f} texts/s | "
                     f"{r['handler64_over_model_sorted']:.0%} | {r.get('handler64_over_model_sorted_1thread', 0):.0%} | "
                     f"{r.get('model_sorted_over_naive', 0):.2f}x | "
                     f"{row['peak_rss_mb']:.0f} MB |")
    lines += ["", ("| peer (same run, same texts, same threads) | cold start | short text p50 | throughput | "
              "peak RSS | ours vs peer |"), "|---|---|---|---|---|---|"]
    names = {"st-embed": "sentence-transformers, PyTorch CPU fp32 (embed, classify, sentiment)",
             "presidio": "Presidio analyzer + spaCy en_core_web_sm (ner / redact)"}
    for what, p in peers.items():
        if "error" in p:
            lines.append(f"| {names[what]} | failed: see speed.json | | | | |")
            continue
        ours_task = "embed" if what == "st-embed" else "ner"
        r = rat.get(ours_task, {})
        thr = p.get("requests64_texts_per_s", p["texts_per_s"])
        lines.append(f"| {names[what]} | {p['first_answer_s']:.2f} s | {p['short_p50_ms']:.1f} ms | "
                     f"{thr:.0f} texts/s | {p['peak_rss_mb']:.0f} MB | {ours_task}: cold start "
                     f"**{r.get('cold_start_peer_over_ours', 0):.1f}x** faster, short text "
                     f"**{r.get('short_p50_peer_over_ours', 0):.1f}x**, throughput "
                     f"**{r.get('handler64_over_peer', 0):.1f}x** |")
    if "embed" in tasks and "int8_over_fp32" in rat.get("embed", {}):
        e = tasks["embed"]
        lines += ["", (f"int8 (per-token activations, batch-invariant) vs the fp32 ONNX graph it was made from: "
                  f"**{rat['embed']['int8_over_fp32']:.2f}x** ({e['model_sorted_texts_per_s']:.0f} vs "
                  f"{e['fp32_model_sorted_texts_per_s']:.0f} texts/s), cosine min {e['fp32_cosine_min']} / mean "
                  f"{e['fp32_cosine_mean']} on the same texts.")]
    lines += ["", ("Cost per million records through the handler (64-text requests, x86_64 price "
              f"${PRICE_GB_S['x86_64']}/GB-s; Lambda gives one vCPU per {MB_PER_VCPU:,} MB):"), "",
              "| task | " + " | ".join(f"{c['memory_mb']:,} MB" for c in next(iter(tasks.values()))["cost"]) + " |",
              "|---|" + "---|" * len(next(iter(tasks.values()))["cost"])]
    for task, row in tasks.items():
        lines.append(f"| {task} | " + " | ".join(
            f"{c['records_per_gb_s']:.0f} rec/GB-s, ${c['usd_per_million_x86_64']:.2f}" for c in row["cost"]) + " |")
    first = next(iter(tasks.values()))["cost"]
    lines += ["", "; ".join(f"{c['memory_mb']:,} MB: {c['how']}" for c in first) + "."]
    return "\n".join(lines)


def write_readme(report: dict, readme: Path = REPO / "README.md") -> None:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"README has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{render(report)}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    ap.add_argument("--skip-peers", action="store_true", help="ours only (no peer virtualenv)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "speed.json")
    ap.add_argument("--readme", action="store_true", help="rewrite the README's performance table")
    ap.add_argument("--render-only", action="store_true", help="do not measure: render --out into the README")
    args = ap.parse_args()
    if args.render_only:
        report = json.loads(args.out.read_text())
        report["ratios"] = ratios(report)  # derived numbers follow the current code
    else:
        report = run(args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(render(report))
    if args.readme:
        write_readme(report)


if __name__ == "__main__":
    main()
