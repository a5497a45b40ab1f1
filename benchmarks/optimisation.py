"""fp32 vs int8 variants of each MiniLM task, side by side: size, latency, throughput and quality, one command.

    PYTHONPATH=layers .venv/bin/python benchmarks/optimisation.py [--texts 400] [--out benchmarks/results/optimisation.json]

For embed, classify and sentiment the builder's own steps make every variant from the same fp32 export
(``nlpbuild.recipes``: merge LoRA for sentiment, fold the head, simplify the graph), then:

- ``fp32``: no quantisation;
- ``int8 per-tensor``: onnxruntime ``quantize_dynamic`` as is (one activation scale per tensor: a text's
  output depends on its batch mates);
- ``int8 per-token`` (**shipped**): the same, activations quantised per token (``quantize.per_row_activations``);
- ``int8 per-token, FFN down fp32``: the 6 FFN down-projections kept in fp32 (``recipes.KEEP_FP32`` option);
- ``pruned L4 int8``: the top 2 of 6 transformer layers dropped, then shipped int8 (no re-training).

Each variant is served exactly like the shipped bundle (the bundle directory with its ``model.onnx``
swapped) and measured in this process, one after another: ``model.onnx`` size; one short text, p50 of 50
calls, 1 thread (the deployed size); throughput of ``--texts`` mixed-length texts (``benchmarks/corpus.py``)
through ``Bundle.run``, 1 thread; quality on held-out data: embed = cosine to the fp32 variant on the same
texts (min / mean), classify = held-out test accuracy with rejection off (150 intents / routing), sentiment =
mean positive-vs-negative accuracy over the 5 held-out kinds of text, scored as served (windows pooled).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for sub in ("functions", "layers", "benchmarks"):
    if str(REPO / sub) not in sys.path:
        sys.path.insert(0, str(REPO / sub))

TASKS = ("embed", "classify", "sentiment")
VARIANTS = ("fp32", "int8 per-tensor", "int8 per-token (shipped)", "int8 per-token, FFN down fp32", "pruned L4 int8")


def build_variants(task: str, work: Path, log) -> dict[str, Path]:
    """model.onnx of every variant of ``task`` in ``work``; the shipped one is the bundle's own file."""
    from nlpbuild import lora
    from nlpbuild.export import export_encoder, load_encoder
    from nlpbuild.heads import LinearHead, fold_head, load_intent_head
    from nlpbuild.quantize import FFN_DOWN, matmul_names, per_row_activations, quantize_int8
    from nlpbuild.recipes import DATA_DIR, DEFAULT_CACHE, DEFAULT_OUT, OPSET, THREADS, Context
    from nlpbuild.simplify import simplify_encoder

    ctx = Context(out_dir=work, cache_dir=DEFAULT_CACHE, log=log)
    head, arrays = None, None
    weights = {"classify": DATA_DIR / "intent_lora.npz", "sentiment": DATA_DIR / "sentiment_lora.npz"}.get(task)
    if weights is not None and weights.is_file():
        arrays = lora.load(weights)
        head = LinearHead(arrays["head.coef"], arrays["head.intercept"], [str(x) for x in arrays["head.labels"]])
    elif task == "classify":
        head = load_intent_head(ctx.intent_dir)[0]

    def export(layers: int | None) -> Path:
        encoder = load_encoder(ctx.minilm_dir, THREADS)
        if arrays is not None:
            lora.merge(encoder.bert, arrays)
        if layers:
            encoder.bert.encoder.layer = encoder.bert.encoder.layer[:layers]
            encoder.bert.config.num_hidden_layers = layers
        raw = export_encoder(encoder, work / f"raw_{layers or 6}.onnx", OPSET)
        if head is not None:
            fold_head(raw, work / f"head_{layers or 6}.onnx", head)
            raw = work / f"head_{layers or 6}.onnx"
        out = work / f"fp32_{layers or 6}.onnx"
        simplify_encoder(raw, out)
        return out

    fp32 = export(None)
    keep = matmul_names(fp32, [r"head/.*"]) if head is not None else []
    out = {"fp32": fp32, "int8 per-token (shipped)": DEFAULT_OUT / task / "model.onnx"}
    out["int8 per-tensor"] = quantize_int8(fp32, work / "int8_tensor.onnx", keep)
    out["int8 per-token, FFN down fp32"] = per_row_activations(
        quantize_int8(fp32, work / "int8_ffn.onnx", keep + matmul_names(fp32, [FFN_DOWN])))
    out["pruned L4 int8"] = per_row_activations(quantize_int8(export(4), work / "int8_l4.onnx", keep))
    return out


def served(task: str, model: Path, work: Path, name: str):
    """The task over a copy of the shipped bundle with ``model`` as its graph (1 thread)."""
    from nlpbuild.recipes import DEFAULT_OUT
    from nlpserve.runtime import Bundle
    from nlpserve.tasks import TASKS as TASK_CLASSES

    bundle_dir = work / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
    shutil.copytree(DEFAULT_OUT / task, bundle_dir, dirs_exist_ok=True)
    if model != bundle_dir / "model.onnx":
        shutil.copyfile(model, bundle_dir / "model.onnx")
    return TASK_CLASSES[task](Bundle(bundle_dir, threads=1))


def measure(task_obj, texts: list[str], short: str) -> dict:
    bundle = task_obj.bundle
    enc = bundle.encode([short])
    bundle.run(enc)
    lat = []
    for _ in range(50):
        t0 = time.perf_counter()
        bundle.run(enc)
        lat.append((time.perf_counter() - t0) * 1000)
    items = bundle.encode(texts)
    best = 0.0
    for _ in range(2):
        t0 = time.perf_counter()
        bundle.run(items, batch_size=32)
        best = max(best, len(texts) / (time.perf_counter() - t0))
    return {"short_p50_ms": round(statistics.median(lat), 2), "texts_per_s": round(best, 1)}


def quality(task: str, task_obj, texts: list[str], reference) -> tuple[dict, object]:
    import numpy as np

    if task == "embed":
        emb = np.asarray(task_obj.bundle.run(task_obj.bundle.encode(texts), batch_size=32))
        if reference is None:
            return {"cosine_vs_fp32_min": 1.0, "cosine_vs_fp32_mean": 1.0}, emb
        cos = (emb * reference).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(reference, axis=1)
        return {"cosine_vs_fp32_min": round(float(cos.min()), 4), "cosine_vs_fp32_mean": round(float(cos.mean()), 4)}, reference
    if task == "classify":
        from nlpbuild.evaluate import heldout_intents, intent_metrics, intent_scores

        test = heldout_intents("test")
        m = intent_metrics(test, intent_scores(task_obj, test), 0.0)
        return {"in_scope_accuracy": m["in_scope_accuracy"], "routing_accuracy": m["routing_accuracy"]}, reference
    from nlpbuild.evaluate import evaluate_sentiment

    res = evaluate_sentiment(None, task=task_obj)
    acc = [e["ours"]["accuracy_pos_neg"] for e in res.values()]
    return {"heldout_pos_neg_mean": round(sum(acc) / len(acc), 4),
            "heldout_pos_neg_min": round(min(acc), 4)}, reference


def render(report: dict) -> str:
    lines = []
    for task, rows in report["tasks"].items():
        qkeys = list(next(iter(rows.values()))["quality"])
        when = report.get("measured", {}).get(task, report["date"])
        lines += ["", f"| {task} variant ({when}) | model.onnx MB | short text p50 ms (1 thread) | texts/s (1 thread) | "
                  + " | ".join(qkeys) + " |", "|---|---|---|---|" + "---|" * len(qkeys)]
        for name, r in rows.items():
            bold = "**" if "shipped" in name else ""
            lines.append(f"| {bold}{name}{bold} | {r['mb']} | {r['short_p50_ms']} | {r['texts_per_s']} | "
                         + " | ".join(str(r["quality"][k]) for k in qkeys) + " |")
    return "\n".join(lines).strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--texts", type=int, default=400, help="corpus texts for the throughput column")
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "optimisation.json")
    args = ap.parse_args()
    os.environ.setdefault("NLP_MODELS_DIR", str(REPO / "build" / "models"))
    from corpus import mixed_texts

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    texts = mixed_texts(args.texts)
    short = "The delivery was quick and the support team was friendly."
    started = time.perf_counter()
    report = {"command": "benchmarks/optimisation.py " + " ".join(sys.argv[1:]), "date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", "tasks": {}}
    for task in args.tasks:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            log(f"[{task}] building variants")
            models = build_variants(task, work, log)
            rows, reference = {}, None
            for name in VARIANTS:
                obj = served(task, models[name], work, name)
                log(f"[{task}] measuring {name}")
                q, reference = quality(task, obj, texts, reference)
                rows[name] = {"mb": round(models[name].stat().st_size / 1e6, 1), **measure(obj, texts, short),
                              "quality": q}
            report["tasks"][task] = rows
    if args.out.is_file():  # a run over some tasks keeps the others' rows, saying when they were measured
        previous = json.loads(args.out.read_text())
        for task, rows in previous.get("tasks", {}).items():
            if task not in report["tasks"]:
                report["tasks"][task] = rows
                report.setdefault("kept_from", {})[task] = previous.get("measured", {}).get(task, previous["date"])
    report["measured"] = {t: report["date"] for t in args.tasks} | {
        t: d for t, d in report.get("kept_from", {}).items()}
    report["tasks"] = {t: report["tasks"][t] for t in TASKS if t in report["tasks"]}
    report["seconds"] = round(time.perf_counter() - started)
    report["markdown"] = render(report)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(report["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
