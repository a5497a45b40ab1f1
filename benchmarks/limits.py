"""The most expensive request within the limits, per task, at the deployed size: wall time and peak RSS.

Each case runs in its own subprocess, like one Lambda container of that task's function:
- onnxruntime gets 1 thread (``NLP_THREADS=1``), as the stack sets it at the deployed 1,769 MB (one vCPU:
  Lambda gives CPU in proportion to memory);
- the request goes through the function's real handler (``nlpserve.handlers.<function>``: Mangum + FastAPI
  + validation + budget + model + JSON response) as an API Gateway v2 event;
- wall time: one warm-up request, then ``--repeat`` more; the table shows the slowest of all of them;
  peak RSS: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the subprocess (model load included);
- compared with the function's deployed ``timeout_s`` / ``memory_mb`` from ``infra/nlpinfra/config.py``.

The inputs sit exactly at the limits (64 texts, the 1,000,000-byte body, the per-request piece and sentence
budgets of ``nlpserve.config``), shaped to cost the most: every embed text fills its 256-piece window,
sentiment and classify texts (read in overlapping windows) are as long as the piece budget allows,
NER text is dense with personal data and fills full 512-piece windows, summaries are asked for the most
sentences. A second group of cases is just over a budget: they must come back 413 quickly (the issue's
``"Ab. " * 12000`` and five 199 kB documents to ner).

Numbers come from a shared, non-Graviton machine: read them as "how far under the limit", with margin.

    .venv/bin/python benchmarks/limits.py [--repeat 3] [--only ner,summarize] [--out benchmarks/results/limits.json]
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
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for sub in ("functions", "layers", "infra"):
    if str(REPO / sub) not in sys.path:
        sys.path.insert(0, str(REPO / sub))

_WORDS = (
    "the of and to in is was for on that with as it at by from he she they we you this be are or an not "
    "but his her had have has were will would can said one all there so up out if about who which when "
    "what their more time no just him me my than then now do did been its only new some could into over "
    "after like other also two first way year back any because three even very most see made many where "
    "much before how through down should people good long work make world still own same last right life "
    "home here week month today night morning house city team game show book film water food money report "
    "customer delivery battery screen refund service account payment quality price order support"
)
WORDS = _WORDS.split()
SHORT = [w for w in WORDS if len(w) <= 3]  # one word piece each, the most pieces per byte of real words

PII = [
    "Contact Jane Doe at jane.doe@example.com or +1 415-555-0100.",
    "Mr. Robert Miller lives at 42 Main Street, Apt 7B, Springfield, IL 62704.",
    "His SSN is 219-09-9999 and his card 4111 1111 1111 1111 expires soon.",
    "Send the invoice to maria.garcia@acme.co.uk, phone (212) 555-0199.",
    "The account 12345678 at routing number 021000021 belongs to Li Wei.",
    "Visit https://example.org/profile/jdoe or call 020 7946 0958 today.",
    "Passport X1234567 was issued to Anna Schmidt in Berlin.",
    "Server 192.168.10.24 logged a login by tom.baker@mail.example.com.",
]


def prose(rng: random.Random, words: int) -> str:
    out = []
    for _ in range(max(1, words // 12)):
        sentence = " ".join(rng.choice(WORDS) for _ in range(12))
        out.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(out)


def fit(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


# -- the cases: (name, function, route, body builder, expected status) -------------------------------------


def _per_text_bytes(items: int, extra: int = 0) -> int:
    """Bytes per text so that `items` texts fill the request body limit (JSON quoting included)."""
    from nlpserve.config import settings

    return min(settings.max_text_bytes, (settings.max_body_bytes - 200 - extra) // items - 4)


def body_short_texts(task: str, dense: bool, extra_texts: int = 0) -> dict:
    from nlpserve.config import settings

    rng = random.Random(1)
    n = settings.max_items
    size = _per_text_bytes(n + extra_texts)
    # dense: one word piece per byte ("a.b.c" tokenises to a . b . c), the most tokeniser work per byte
    texts = [fit(("".join(rng.choice("abcdefghij") + "." for _ in range(size))) if dense
                 else prose(rng, size // 4), size) for _ in range(n)]
    params = {"classify": {"top_k": 20}, "sentiment": {"return_all_scores": True}}.get(task, {})
    return {"inputs": texts, "parameters": params}


def body_windowed(task: str, dense: bool) -> dict:
    """64 texts, each as long as the piece budget allows when every overlapping window is counted.

    Sentiment and classify read a long text in 256-piece windows (``tasks/windows.py``), so the budget, not
    the body size, bounds them: the texts are cut to the longest piece count ``p`` with
    64 x window_pieces(p) <= NLP_MAX_REQUEST_PIECES (dense: 1 piece per byte; prose: ordinary words).
    """
    from nlpserve.config import settings
    from nlpserve.runtime import WINDOW_OVERLAP, load_bundle
    from nlpserve.tasks.budget import window_pieces

    bundle = load_bundle(task)
    window = bundle.max_length - 2
    n = settings.max_items
    per_text = max(p for p in range(1, 20_000) if n * window_pieces(p, window, WINDOW_OVERLAP)
                   <= settings.max_request_pieces)
    rng = random.Random(1)
    texts = []
    for _ in range(n):
        raw = ("".join(rng.choice("abcdefghij") + "." for _ in range(per_text))) if dense else prose(rng, per_text)
        enc = bundle.tokenizer.encode(raw, add_special_tokens=False)
        texts.append(raw[: enc.offsets[per_text - 1][1]] if len(enc.ids) > per_text else raw)
    params = {"classify": {"top_k": 20}, "sentiment": {"return_all_scores": True}}.get(task, {})
    return {"inputs": texts, "parameters": params}


def body_similarity(dense: bool) -> dict:
    body = body_short_texts("embed", dense, extra_texts=1)
    return {"source": body["inputs"][0], "targets": body["inputs"]}


def _ner_text(pieces_budget: int) -> str:
    """PII-dense text whose 512-piece windows use the whole budget (as counted by tasks/budget.py)."""
    from nlpserve.runtime import WINDOW_OVERLAP, load_bundle
    from nlpserve.tasks.budget import window_pieces

    bundle = load_bundle("ner")
    window = bundle.max_length - 2
    rng = random.Random(2)
    sentences, text = [], ""
    while True:
        sentences.append(rng.choice(PII))
        candidate = " ".join(sentences)
        count = len(bundle.tokenizer.encode(candidate, add_special_tokens=False))
        if window_pieces(count, window, WINDOW_OVERLAP) > pieces_budget:
            return text
        text = candidate


def body_ner(task: str) -> dict:
    from nlpserve.config import settings

    params = {"mask": "type"} if task == "redact" else {}
    return {"inputs": [_ner_text(settings.max_ner_pieces)], "parameters": params}


def _fill_sentences(make, max_sentences: int, max_pieces: int) -> list[str]:
    """Sentences from `make()` until one more would pass the sentence or the word-piece budget."""
    from nlpserve.runtime import load_bundle

    bundle = load_bundle("embed")
    window = bundle.max_length - 2
    out, pieces = [], 0
    while len(out) < max_sentences:
        sentence = make()
        cost = min(len(bundle.tokenizer.encode(sentence, add_special_tokens=False)), window) + 2
        if pieces + cost > max_pieces:
            break
        out.append(sentence)
        pieces += cost
    return out


def body_summarize(shape: str) -> dict:
    from nlpserve.config import settings

    rng = random.Random(3)
    most, budget = settings.max_summary_sentences, settings.max_summary_pieces
    if shape == "most_sentences":  # two-letter sentences ("Ab."): the most sentences either budget allows
        def make() -> str:
            return rng.choice("ABCDEFGHIJ") + rng.choice("aeiou") + "."

        return {"inputs": " ".join(_fill_sentences(make, most, budget)), "parameters": {"ratio": 1.0}}
    if shape == "window_sentences":  # every sentence fills the 256-piece window: the most model work

        def make() -> str:  # short words, so the text stays under the 200 kB document limit
            return " ".join(rng.choice(SHORT) for _ in range(270)) + "."

        return {"inputs": " ".join(_fill_sentences(make, most, budget)), "parameters": {"sentences": 100}}
    # prose: ordinary 12-word sentences up to the piece budget, spread over 5 documents
    sentences = _fill_sentences(lambda: prose(rng, 12), most, budget)
    docs = [" ".join(sentences[i::5]) for i in range(5)]
    return {"inputs": docs, "parameters": {"sentences": 5}}


def body_over(name: str) -> dict:
    if name == "ner_five_199kB":
        rng = random.Random(4)
        return {"inputs": [fit(" ".join(rng.choice(PII) for _ in range(4000)), 199_000) for _ in range(5)]}
    if name == "summarize_Ab_x12000":
        return {"inputs": "Ab. " * 12000}
    if name == "summarize_prose_over_pieces":
        rng = random.Random(5)
        return {"inputs": [fit(prose(rng, 60_000), 199_000) for _ in range(5)]}
    raise KeyError(name)


CASES = {
    # name: (function, route, builder, expected status, what)
    "sentiment": ("sentiment", "/v1/sentiment", lambda: body_windowed("sentiment", True), 200,
                  ("64 texts of 1 piece per byte, each as long as NLP_MAX_REQUEST_PIECES allows with every "
                   "256-piece window counted")),
    "sentiment_prose": ("sentiment", "/v1/sentiment", lambda: body_windowed("sentiment", False), 200,
                        "64 prose texts, each as long as NLP_MAX_REQUEST_PIECES allows (windows counted)"),
    "classify": ("classify", "/v1/classify", lambda: body_windowed("classify", True), 200,
                 "64 texts of 1 piece per byte up to NLP_MAX_REQUEST_PIECES (windows counted), top_k 20"),
    "embed": ("embed", "/v1/embed", lambda: body_short_texts("embed", True), 200,
              "64 texts x 15.4 kB (1 MB body), 1 piece per byte"),
    "similarity": ("embed", "/v1/similarity", lambda: body_similarity(True), 200,
                   "source + 64 targets x 15.1 kB (1 MB body), 1 piece per byte"),
    "ner": ("ner", "/v1/ner", lambda: body_ner("ner"), 200,
            "one PII-dense document filling NLP_MAX_NER_PIECES with 512-piece windows"),
    "redact": ("ner", "/v1/redact", lambda: body_ner("redact"), 200,
               "the same document, mask=type"),
    "summarize_most_sentences": ("summarize", "/v1/summarize", lambda: body_summarize("most_sentences"), 200,
                                 "two-letter sentences up to the sentence/piece budget, ratio 1.0"),
    "summarize_window_sentences": ("summarize", "/v1/summarize", lambda: body_summarize("window_sentences"),
                                   200, "sentences of 256+ pieces up to NLP_MAX_SUMMARY_PIECES, 100 picked"),
    "summarize_prose": ("summarize", "/v1/summarize", lambda: body_summarize("prose"), 200,
                        "5 documents of 12-word sentences up to NLP_MAX_SUMMARY_PIECES"),
    "over_sentiment_64x15kB": ("sentiment", "/v1/sentiment", lambda: body_short_texts("sentiment", True), 413,
                               "64 texts x 15.4 kB (1 MB body), 1 piece per byte: ~3,900 windows"),
    "over_ner_five_199kB": ("ner", "/v1/ner", lambda: body_over("ner_five_199kB"), 413,
                            "issue 7: five 199 kB documents to ner (was 57 s)"),
    "over_summarize_Ab_x12000": ("summarize", "/v1/summarize", lambda: body_over("summarize_Ab_x12000"), 413,
                                 "issue 7: 'Ab. ' x 12000, 48 kB (was 31.9 s, 2.96 GB)"),
    "over_summarize_5x199kB": ("summarize", "/v1/summarize", lambda: body_over("summarize_prose_over_pieces"),
                               413, "five 199 kB prose documents to summarize"),
}


def event(route: str, body: dict) -> dict:
    raw = json.dumps(body)
    return {
        "version": "2.0",
        "routeKey": "POST /v1/{task}",
        "rawPath": route,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "content-length": str(len(raw.encode("utf-8")))},
        "requestContext": {
            "http": {"method": "POST", "path": route, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10"},
            "requestId": "bench",
            "routeKey": "POST /v1/{task}",
            "stage": "$default",
        },
        "body": raw,
        "isBase64Encoded": False,
    }


def child(name: str, repeat: int) -> dict:
    function, route, build, expected, what = CASES[name]
    import importlib

    from nlpserve.lambda_context import LocalContext

    t0 = time.perf_counter()
    module = importlib.import_module(f"nlpserve.handlers.{function}")  # models load here (Lambda init)
    init_s = time.perf_counter() - t0
    rss_after_init = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ev = event(route, build())
    times, statuses, error = [], [], None
    for _ in range(1 + repeat):
        started = time.perf_counter()
        response = module.handler(ev, LocalContext(function_name=f"nlpserve-{function}"))
        times.append(time.perf_counter() - started)
        statuses.append(int(response["statusCode"]))
        if response["statusCode"] != 200:
            error = json.loads(response["body"]).get("error_type")
    return {
        "case": name,
        "function": function,
        "route": route,
        "input": what,
        "body_bytes": len(ev["body"].encode("utf-8")),
        "expected_status": expected,
        "status": statuses[-1],
        "error_type": error,
        "init_s": round(init_s, 2),
        "wall_s_runs": [round(t, 2) for t in times],
        "wall_s_max": round(max(times), 2),
        "wall_s_min": round(min(times), 2),
        "rss_after_init_mb": round(rss_after_init),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def deployed(function: str) -> dict:
    from nlpinfra.config import ServiceConfig

    fs = ServiceConfig().function_settings(function)
    return {"timeout_s": fs.timeout_s, "memory_mb": fs.memory_mb}


def markdown(rows: list[dict]) -> str:
    header = (
        "| task (case) | worst-case input within the limits | status | wall s (slowest run) | peak RSS MB "
        "| deployed timeout / memory | use of timeout / memory |"
    )
    lines = [header, "|---|---|---|---|---|---|---|"]
    for r in rows:
        d = r["deployed"]
        lines.append(
            f"| {r['case']} | {r['input']} | {r['status']}{' ' + r['error_type'] if r['error_type'] else ''} "
            f"| {r['wall_s_max']} | {r['peak_rss_mb']} | {d['timeout_s']} s / {d['memory_mb']} MB "
            f"| {100 * r['wall_s_max'] / d['timeout_s']:.0f} % / {100 * r['peak_rss_mb'] / d['memory_mb']:.0f} % |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="timed requests after the warm-up one")
    ap.add_argument("--only", default="", help="comma list of case names (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "limits.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat)))
        return
    names = [n for n in args.only.split(",") if n] or list(CASES)
    env = {
        **os.environ,
        "NLP_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "NLP_MODELS_DIR": os.environ.get("NLP_MODELS_DIR", str(REPO / "build" / "models")),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_NAMESPACE": "bench",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join(str(REPO / s) for s in ("functions", "layers", "infra")),
    }
    rows = []
    for name in names:
        print(f"[limits] {name} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, "--repeat", str(args.repeat)],
            env=env, capture_output=True, text=True, timeout=1200, check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["deployed"] = deployed(row["function"])
        print(f"[limits] {name}: status {row['status']} wall {row['wall_s_runs']} s, peak RSS "
              f"{row['peak_rss_mb']} MB", file=sys.stderr, flush=True)
        rows.append(row)
    from nlpserve import config

    s = config.settings
    result = {
        "command": f"python benchmarks/limits.py --repeat {args.repeat}",
        "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "loadavg_at_end": list(os.getloadavg())},
        "threads": 1,
        "limits": {"max_items": s.max_items, "max_text_bytes": s.max_text_bytes,
                   "max_document_bytes": s.max_document_bytes, "max_body_bytes": s.max_body_bytes,
                   "max_request_pieces": s.max_request_pieces, "max_ner_pieces": s.max_ner_pieces,
                   "max_summary_pieces": s.max_summary_pieces,
                   "max_summary_sentences": s.max_summary_sentences},
        "cases": rows,
        "markdown": markdown(rows),
    }
    bad = [r["case"] for r in rows if r["status"] != r["expected_status"]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    if bad:
        raise SystemExit(f"unexpected status for {bad}")


if __name__ == "__main__":
    main()
