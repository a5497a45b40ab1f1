"""Quality of the `ner` task against a hand-labelled set (layers/nlpbuild/data/ner_eval.jsonl).

Three systems on the same texts:
- pipeline: the task as served (Rampart model + exact pattern recognizers merged in),
- model:    the model alone (nlpserve.tasks.ner.merge_patterns replaced by identity inside this script),
- patterns: the pattern recognizers alone (recognizers.find), as a floor for the structured types.

Metrics:
- exact:  span-level precision/recall/F1, a hit needs the same type, start and end; overall and per type,
- lenient: same type and overlapping character ranges (one-to-one matching),
- untyped: overlapping ranges, any type (is the value flagged as personal data at all),
- redaction recall: fraction of gold PII characters (non-whitespace) covered by any predicted entity of any
  type -- what matters when the output is used to mask text; redaction precision is the converse (fraction
  of predicted non-whitespace characters that are gold PII),
- false-positive entities on the texts that contain no PII.

Gold types follow the model's schema plus the pattern types (SSN, IP_ADDRESS, CREDIT_CARD); the model has
no SSN / IP_ADDRESS / CREDIT_CARD labels, so model-only exact scores on those are 0 by construction (the
untyped and redaction numbers show whether it still flags them).

    NLP_MODELS_DIR=build/models .venv/bin/python benchmarks/ner_quality.py \
        [--data layers/nlpbuild/data/ner_eval.jsonl] [--out benchmarks/results/ner_quality.json] [--min-score 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("NLP_MODELS_DIR", str(REPO / "build" / "models"))
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "bench")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


def load(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        for e in r["entities"]:
            assert 0 <= e["start"] < e["end"] <= len(r["text"]), (e, r["text"])
    return rows


def predict(rows: list[dict], system: str, min_score: float) -> list[list[dict]]:
    from nlpserve.tasks import get_task, ner, recognizers

    texts = [r["text"] for r in rows]
    if system == "patterns":
        return [[{"type": m.type, "start": m.start, "end": m.end} for m in recognizers.find(t)] for t in texts]
    task = get_task("ner")
    params = task.Params(min_score=min_score)
    original = ner.merge_patterns
    if system == "model":
        ner.merge_patterns = lambda text, entities: entities
    try:
        results = task.run(texts, params)
    finally:
        ner.merge_patterns = original
    return [[{"type": e.type, "start": e.start, "end": e.end, "source": e.source} for e in r.entities] for r in results]


def _overlap(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def _match(gold: list[dict], pred: list[dict], same) -> list[tuple[int, int]]:
    """Greedy one-to-one matching, pairs with the largest character overlap first."""
    cands = []
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            if same(g, p):
                cands.append((min(g["end"], p["end"]) - max(g["start"], p["start"]), i, j))
    used_g, used_p, pairs = set(), set(), []
    for _, i, j in sorted(cands, reverse=True):
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            pairs.append((i, j))
    return pairs


MODES = {
    "exact": lambda g, p: g["type"] == p["type"] and g["start"] == p["start"] and g["end"] == p["end"],
    "lenient": lambda g, p: g["type"] == p["type"] and _overlap(g, p),
    "untyped": _overlap,
}


def prf(tp: int, n_pred: int, n_gold: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "pred": n_pred, "gold": n_gold}


def score(rows: list[dict], preds: list[list[dict]]) -> dict:
    out: dict = {}
    for mode, same in MODES.items():
        tp = n_pred = n_gold = 0
        per_type: dict[str, Counter] = defaultdict(Counter)
        for r, pred in zip(rows, preds):
            gold = r["entities"]
            pairs = _match(gold, pred, same)
            tp += len(pairs)
            n_pred += len(pred)
            n_gold += len(gold)
            if mode != "untyped":
                for g in gold:
                    per_type[g["type"]]["gold"] += 1
                for p in pred:
                    per_type[p["type"]]["pred"] += 1
                for i, _ in pairs:
                    per_type[gold[i]["type"]]["tp"] += 1
        out[mode] = prf(tp, n_pred, n_gold)
        if mode != "untyped":
            out[mode]["per_type"] = {t: prf(c["tp"], c["pred"], c["gold"]) for t, c in sorted(per_type.items())}
    # character coverage, any type, whitespace ignored
    gold_chars = covered = pred_chars = pred_in_gold = 0
    per_type_cov: dict[str, Counter] = defaultdict(Counter)
    for r, pred in zip(rows, preds):
        text = r["text"]
        g_mask = [False] * len(text)
        p_mask = [False] * len(text)
        for p in pred:
            for k in range(p["start"], p["end"]):
                p_mask[k] = True
        for g in r["entities"]:
            for k in range(g["start"], g["end"]):
                g_mask[k] = True
                if not text[k].isspace():
                    per_type_cov[g["type"]]["chars"] += 1
                    per_type_cov[g["type"]]["covered"] += p_mask[k]
        for k, ch in enumerate(text):
            if ch.isspace():
                continue
            gold_chars += g_mask[k]
            covered += g_mask[k] and p_mask[k]
            pred_chars += p_mask[k]
            pred_in_gold += g_mask[k] and p_mask[k]
    out["redaction"] = {
        "recall": round(covered / gold_chars, 4) if gold_chars else 0.0,
        "precision": round(pred_in_gold / pred_chars, 4) if pred_chars else 0.0,
        "per_type_recall": {t: round(c["covered"] / c["chars"], 4) for t, c in sorted(per_type_cov.items())},
    }
    clean = [(r, p) for r, p in zip(rows, preds) if not r["entities"]]
    out["no_pii_texts"] = {
        "texts": len(clean),
        "texts_with_false_positives": sum(bool(p) for _, p in clean),
        "false_positive_entities": sum(len(p) for _, p in clean),
    }
    return out


def errors(rows: list[dict], preds: list[list[dict]]) -> list[dict]:
    """Per text: gold spans not exactly found and predicted spans not exactly in gold."""
    out = []
    for n, (r, pred) in enumerate(zip(rows, preds)):
        text, gold = r["text"], r["entities"]
        key = lambda e: (e["type"], e["start"], e["end"])
        g_keys, p_keys = {key(e) for e in gold}, {key(e) for e in pred}
        missed = [f'{t}:{text[s:e]!r}' for t, s, e in sorted(g_keys - p_keys, key=lambda k: k[1])]
        spurious = [f'{t}:{text[s:e]!r}' for t, s, e in sorted(p_keys - g_keys, key=lambda k: k[1])]
        if missed or spurious:
            out.append({"index": n, "text": text, "missed": missed, "spurious": spurious})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / "layers" / "nlpbuild" / "data" / "ner_eval.jsonl")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "ner_quality.json")
    ap.add_argument("--min-score", type=float, default=0.5)
    ap.add_argument("--errors", action="store_true", help="also print every pipeline error (missed / spurious spans)")
    args = ap.parse_args()

    sys.path.insert(0, str(REPO / "functions"))
    rows = load(args.data)
    systems = ("pipeline", "model", "patterns")
    preds = {s: predict(rows, s, args.min_score) for s in systems}
    scores = {s: score(rows, preds[s]) for s in systems}

    n_gold = sum(len(r["entities"]) for r in rows)
    print(f"{len(rows)} texts, {n_gold} gold entities, min_score={args.min_score}\n")
    print(f"{'system':<10}{'exact P':>9}{'exact R':>9}{'exact F1':>9}{'lenient F1':>11}{'untyped F1':>11}"
          f"{'redact R':>10}{'redact P':>10}{'FP on clean':>12}")
    for s in systems:
        sc = scores[s]
        fp = sc["no_pii_texts"]
        print(f"{s:<10}{sc['exact']['precision']:>9.3f}{sc['exact']['recall']:>9.3f}{sc['exact']['f1']:>9.3f}"
              f"{sc['lenient']['f1']:>11.3f}{sc['untyped']['f1']:>11.3f}{sc['redaction']['recall']:>10.3f}"
              f"{sc['redaction']['precision']:>10.3f}{fp['texts_with_false_positives']:>6}/{fp['texts']}")
    print(f"\n{'type':<18}{'gold':>5}  {'pipeline P/R/F1 (exact)':>24}  {'model F1':>8}  {'lenient F1':>10}  {'redact R':>8}")
    for t, pt in scores["pipeline"]["exact"]["per_type"].items():
        if not pt["gold"]:
            extra = f"  (spurious type: {pt['pred']} predicted)"
            print(f"{t:<18}{0:>5}{extra}")
            continue
        m = scores["model"]["exact"]["per_type"].get(t, {"f1": 0.0})
        le = scores["pipeline"]["lenient"]["per_type"][t]["f1"]
        rr = scores["pipeline"]["redaction"]["per_type_recall"].get(t, 0.0)
        print(f"{t:<18}{pt['gold']:>5}  {pt['precision']:>7.2f} {pt['recall']:>6.2f} {pt['f1']:>6.2f}   "
              f"{m['f1']:>8.2f}  {le:>10.2f}  {rr:>8.2f}")

    errs = errors(rows, preds["pipeline"])
    if args.errors:
        for e in errs:
            print(f"\n[{e['index']}] {e['text']!r}\n  missed:   {e['missed']}\n  spurious: {e['spurious']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "data": str(args.data.relative_to(REPO)) if args.data.is_relative_to(REPO) else str(args.data),
        "texts": len(rows), "gold_entities": n_gold, "min_score": args.min_score,
        "scores": scores, "pipeline_errors": errs,
        "predictions": {s: preds[s] for s in ("pipeline", "model")},
    }, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
