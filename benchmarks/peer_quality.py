"""PEER side of the quality evaluation: what a user would run instead of nlpserve. Runs in build/bench-peer/.

    python benchmarks/peer_quality.py --what vader --texts texts.json --out result.json

vader: vaderSentiment's SentimentIntensityAnalyzer (MIT, the lexicon and rules of Hutto & Gilbert 2014),
`polarity_scores(text)` per text: compound in [-1, 1] and the pos / neu / neg proportions.
Standard library + the peer only: never imports nlpserve.
"""

import argparse
import json
from importlib.metadata import version


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--what", choices=["vader"], required=True)
    ap.add_argument("--texts", required=True, help="JSON list of strings")
    ap.add_argument("--t0", type=float, help="ignored (run_child passes the spawn time)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    scores = [analyzer.polarity_scores(t) for t in texts]
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"what": args.what, "version": version("vaderSentiment"), "scores": scores}, f)


if __name__ == "__main__":
    main()
