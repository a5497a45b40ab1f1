"""Which sentence segmenter the summariser uses, and why: candidates on the same hand-written tricky set.

Every candidate runs inside the same wrapper as production (``nlpserve/tasks/sentences.py``: blocks cut at
blank lines and list items, full-width stops, fragments joined to a neighbour), so only the segmenter
differs. Sets: the tricky cases of ``tests/unit/test_sentences.py`` (81 + 38 held out), 530 plain
single sentences from the repo's hand-written data joined 5 at a time (a boundary between each), and the
speed on 200 kB of prose and on issue 7's ``"Ab. " * 12000``.

The candidates are not project dependencies; install them in a scratch environment:

    python3 -m venv /tmp/segenv && /tmp/segenv/bin/pip install nupunkt pysbd syntok sentencex blingfire numpy
    /tmp/segenv/bin/python benchmarks/segmenters.py   # -> benchmarks/results/segmenters.json

A candidate that is not installed is skipped.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load_sentences_module():
    """nlpserve/tasks/sentences.py alone (it needs only nupunkt), without the package's model imports."""
    spec = importlib.util.spec_from_file_location("sentences", REPO / "functions/nlpserve/tasks/sentences.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases() -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    source = (REPO / "tests/unit/test_sentences.py").read_text()
    tree = ast.parse(source)
    value = next(n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "CASES")
    cases = ast.literal_eval(value)
    tuned = [(t, g) for kind, t, g in cases if kind != "heldout"]
    held = [(t, g) for kind, t, g in cases if kind == "heldout"]
    return tuned, held


def _prose_groups() -> list[list[str]]:
    sents = []
    for name in ("sentiment_train_general", "sentiment_eval", "sentiment_dev", "intent_eval"):
        for line in (REPO / "layers/nlpbuild/data" / f"{name}.jsonl").read_text().splitlines():
            t = json.loads(line)["text"].strip()
            if re.search(r"[.!?]$", t) and not re.search(r"[.!?][\"')]*\s", t) and t[0].isupper():
                sents.append(t)
    return [sents[i : i + 5] for i in range(0, len(sents), 5)]


def _old_regex_splitter(text: str) -> list[tuple[int, int]]:
    """The hand-made splitter the summariser used before (for reference)."""
    abbreviations = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd",
                     "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
                     "dec", "no", "fig", "u.s", "u.k", "approx", "dept", "est", "gen", "gov", "sen", "rep", "mt"}
    boundary = re.compile(r"[.!?…]+[\"')\]]*\s+|\n\s*\n|\n(?=\s*[-*•\d])")
    spans, start = [], 0
    for match in boundary.finditer(text):
        end = match.end()
        head = text[start : match.start() + 1].rstrip()
        last_word = re.findall(r"([A-Za-z.]+)\.?$", head)
        nxt = text[end : end + 1]
        if "\n" not in match.group() and last_word and last_word[0].rstrip(".").lower() in abbreviations:
            continue
        if "\n" not in match.group() and nxt and nxt.islower():
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return spans


def candidates(sentences) -> dict:
    out = {"old regex splitter (before)": None}
    try:
        import nupunkt

        out["nupunkt, pruned abbreviations (chosen)"] = "ours"
        out["nupunkt, shipped model"] = lambda t: nupunkt.sent_spans(t)
    except ImportError:
        pass
    try:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
        out["pysbd 0.3.4"] = lambda t: [(x.start, x.end) for x in seg.segment(t)]
    except ImportError:
        pass
    try:
        from syntok import segmenter

        def syntok_spans(t):
            return [(s[0].offset, s[-1].offset + len(s[-1].value)) for p in segmenter.analyze(t) for s in p]

        out["syntok"] = syntok_spans
    except ImportError:
        pass
    try:
        import sentencex

        out["sentencex"] = lambda t: [(b["start_index"], b["end_index"])
                                      for b in sentencex.get_sentence_boundaries("en", t)]
    except ImportError:
        pass
    try:
        import blingfire

        out["blingfire"] = lambda t: blingfire.text_to_sentences_and_offsets(t)[1]
    except ImportError:
        pass
    return out


class _Segmenter:
    def __init__(self, fn):
        self.fn = fn

    def tokenize_with_spans(self, text):
        return [(text[s:e], (s, e)) for s, e in self.fn(text)]


def score(split, cases) -> dict:
    exact = tp = fp = fn = fragments = 0
    for text, gold in cases:
        spans = split(text)
        got = [text[s:e] for s, e in spans]
        exact += got == gold
        fragments += sum(1 for g in got if len(g.strip()) <= 2) if len(got) > 1 else 0
        want, pos = set(), 0
        for g in gold[:-1]:
            pos = text.index(g, pos) + len(g)
            want.add(pos)
        have = {e for _, e in spans[:-1]}
        tp, fp, fn = tp + len(want & have), fp + len(have - want), fn + len(want - have)
    return {"exact": exact, "cases": len(cases), "boundaries_found": tp, "boundaries": tp + fn,
            "false_boundaries": fp, "fragments": fragments}


def main() -> None:
    sentences = _load_sentences_module()
    production = sentences._segmenter
    tuned, held = _cases()
    groups = _prose_groups()
    prose_cases = [(" ".join(g), g) for g in groups]
    big = (" ".join(" ".join(g) for g in groups) + "\n\n") * 6
    big = big.encode()[:200_000].decode("utf-8", "ignore")
    results = {}
    for name, fn in candidates(sentences).items():
        if fn is None:
            split = _old_regex_splitter

            def split_trimmed(t, split=split):
                return [sentences._trim(t, s, e) for s, e in split(t) if t[s:e].strip()]

            run = split_trimmed
        else:
            sentences._segmenter = production if fn == "ours" else (lambda fn=fn: _Segmenter(fn))
            run = sentences.split_sentences
        row = {"tricky": score(run, tuned), "held_out": score(run, held), "prose": score(run, prose_cases)}
        for label, text in (("prose_200kB_s", big), ("Ab_x12000_s", "Ab. " * 12000)):
            started = time.perf_counter()
            run(text)
            row[label] = round(time.perf_counter() - started, 3)
        results[name] = row
        t, h, p = row["tricky"], row["held_out"], row["prose"]
        print(f"{name:40s} tricky {t['exact']}/{t['cases']} exact, false {t['false_boundaries']}, "
              f"missed {t['boundaries'] - t['boundaries_found']} | held-out {h['exact']}/{h['cases']} | prose "
              f"missed {p['boundaries'] - p['boundaries_found']}/{p['boundaries']}, false "
              f"{p['false_boundaries']} | 200 kB {row['prose_200kB_s']} s, Ab.x12000 {row['Ab_x12000_s']} s")
    sentences._segmenter = production
    out = REPO / "benchmarks/results/segmenters.json"
    out.write_text(json.dumps({"command": "python benchmarks/segmenters.py", "python": sys.version.split()[0],
                               "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
