"""Personal-data detection scored by character, per type, next to Presidio (``python -m nlpbuild evaluate``).

Held-out set: ``data/heldout/pii_heldout.jsonl`` (datasheet ``data/heldout/PII.md``): Faker-generated texts in
many locales through templates plus hand-written ones, each with labelled spans of 9 coarse types. It was
written without running either system, and nothing is tuned on its ``test`` split.

What is counted: the letters and digits of each labelled value (``str.isalnum``). A redaction that masks
"42 Main Street, Springfield" as "[BUILDING] [STREET], [CITY]" leaks nothing even though the comma and
space between its spans were not flagged, so separators are not counted either way.

- ``redaction`` (untyped): recall = share of personal-data characters inside any predicted span; precision =
  share of predicted characters (of the mapped types) that are personal data. This is what a redaction user
  sees.
- per type: the same with the type required to match (``OURS_TYPES`` / ``PRESIDIO_TYPES`` map each system's
  labels to the coarse types; labels that map to no type, e.g. Presidio's DATE_TIME or NRP, are ignored).
- per subtype: recall only (the hard kinds the issue lists: unit designators, military addresses, middle
  initials, lower-case names, grouped IBANs, non-US ids...).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

COARSE = ("PERSON", "EMAIL", "PHONE", "ADDRESS", "CREDIT_CARD", "BANK_ACCOUNT", "GOVERNMENT_ID", "URL", "IP_ADDRESS")

OURS_TYPES = {
    "GIVEN_NAME": "PERSON", "SURNAME": "PERSON", "EMAIL": "EMAIL", "PHONE": "PHONE", "URL": "URL",
    "IP_ADDRESS": "IP_ADDRESS", "BUILDING_NUMBER": "ADDRESS", "STREET_NAME": "ADDRESS",
    "SECONDARY_ADDRESS": "ADDRESS", "CITY": "ADDRESS", "STATE": "ADDRESS", "ZIP_CODE": "ADDRESS", "COUNTRY": "ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD", "BANK_ACCOUNT": "BANK_ACCOUNT", "ROUTING_NUMBER": "BANK_ACCOUNT",
    "SSN": "GOVERNMENT_ID", "GOVERNMENT_ID": "GOVERNMENT_ID", "PASSPORT": "GOVERNMENT_ID",
    "DRIVERS_LICENSE": "GOVERNMENT_ID", "TAX_ID": "GOVERNMENT_ID",
}
#: Presidio 2.2 predefined recognizers (English) -> coarse type. LOCATION is spaCy's GPE/LOC/FAC: the closest
#: thing Presidio has to an address.
PRESIDIO_TYPES = {
    "PERSON": "PERSON", "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "URL": "URL", "IP_ADDRESS": "IP_ADDRESS",
    "LOCATION": "ADDRESS", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "BANK_ACCOUNT", "US_BANK_NUMBER": "BANK_ACCOUNT",
    "US_SSN": "GOVERNMENT_ID", "US_PASSPORT": "GOVERNMENT_ID", "US_DRIVER_LICENSE": "GOVERNMENT_ID",
    "US_ITIN": "GOVERNMENT_ID", "UK_NHS": "GOVERNMENT_ID", "UK_NINO": "GOVERNMENT_ID", "ES_NIF": "GOVERNMENT_ID",
    "ES_NIE": "GOVERNMENT_ID", "IT_FISCAL_CODE": "GOVERNMENT_ID", "IT_DRIVER_LICENSE": "GOVERNMENT_ID",
    "IT_VAT_CODE": "GOVERNMENT_ID", "IT_PASSPORT": "GOVERNMENT_ID", "IT_IDENTITY_CARD": "GOVERNMENT_ID",
    "PL_PESEL": "GOVERNMENT_ID", "SG_NRIC_FIN": "GOVERNMENT_ID", "AU_ABN": "GOVERNMENT_ID", "AU_ACN": "GOVERNMENT_ID",
    "AU_TFN": "GOVERNMENT_ID", "AU_MEDICARE": "GOVERNMENT_ID", "IN_PAN": "GOVERNMENT_ID", "IN_AADHAAR": "GOVERNMENT_ID",
    "IN_VEHICLE_REGISTRATION": "GOVERNMENT_ID", "IN_VOTER": "GOVERNMENT_ID", "IN_PASSPORT": "GOVERNMENT_ID",
    "FI_PERSONAL_IDENTITY_CODE": "GOVERNMENT_ID", "KR_RRN": "GOVERNMENT_ID", "TH_TNIN": "GOVERNMENT_ID",
    "MEDICAL_LICENSE": "GOVERNMENT_ID",
}


def _chars(text: str, spans: list[tuple[int, int, str]]) -> dict[int, str]:
    """{character index: coarse type} for the letters and digits inside the spans (first span wins)."""
    out: dict[int, str] = {}
    for start, end, kind in spans:
        for i in range(max(0, start), min(len(text), end)):
            if text[i].isalnum():
                out.setdefault(i, kind)
    return out


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score(rows: list[dict], predicted: list[list[tuple[int, int, str]]]) -> dict:
    """Character recall / precision overall (untyped), per coarse type (typed) and recall per subtype.

    ``predicted``: per row, (start, end, coarse type) spans already mapped to ``COARSE``.
    """
    tot = defaultdict(int)
    per = {k: defaultdict(int) for k in COARSE}
    sub = defaultdict(lambda: [0, 0])
    for row, spans in zip(rows, predicted):
        text = row["text"]
        gold = _chars(text, [(e["start"], e["end"], e["type"]) for e in row["entities"]])
        pred = _chars(text, spans)
        tot["gold"] += len(gold)
        tot["pred"] += len(pred)
        tot["hit"] += sum(1 for i in gold if i in pred)
        tot["pred_hit"] += sum(1 for i in pred if i in gold)
        for kind in COARSE:
            g = {i for i, k in gold.items() if k == kind}
            p = {i for i, k in pred.items() if k == kind}
            per[kind]["gold"] += len(g)
            per[kind]["pred"] += len(p)
            per[kind]["hit"] += len(g & p)
            per[kind]["found_any_type"] += sum(1 for i in g if i in pred)
        for e in row["entities"]:
            chars = [i for i in range(e["start"], e["end"]) if text[i].isalnum()]
            sub[(e["type"], e.get("subtype", e["type"]))][0] += len(chars)
            sub[(e["type"], e.get("subtype", e["type"]))][1] += sum(1 for i in chars if i in pred)
    return {
        "redaction": {"recall": _ratio(tot["hit"], tot["gold"]), "precision": _ratio(tot["pred_hit"], tot["pred"]),
                      "characters": tot["gold"]},
        "per_type": {k: {"recall": _ratio(v["hit"], v["gold"]), "precision": _ratio(v["hit"], v["pred"]),
                         "redaction_recall": _ratio(v["found_any_type"], v["gold"]), "characters": v["gold"]}
                     for k, v in per.items()},
        "per_subtype_redaction_recall": {f"{k}/{s}": {"recall": _ratio(h, n), "characters": n}
                                         for (k, s), (n, h) in sorted(sub.items())},
    }


def ours(rows: list[dict]) -> list[list[tuple[int, int, str]]]:
    """Our ner task as served, every type, default min_score; labels mapped to the coarse types."""
    from nlpserve.tasks import get_task

    task = get_task("ner")
    out = []
    for row in rows:
        (result,) = task.run([row["text"]], task.Params())
        out.append([(e.start, e.end, OURS_TYPES[e.type]) for e in result.entities if e.type in OURS_TYPES])
    return out


def presidio(rows: list[dict], log) -> tuple[list[list[tuple[int, int, str]]], dict]:
    """Presidio's spans per row (peer environment), mapped to the coarse types; plus its versions."""
    import json
    import sys
    import tempfile

    from .recipes import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    from peer_env import ensure_peer_env, run_child

    python = ensure_peer_env(REPO_ROOT, log=log)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps([r["text"] for r in rows]))
        result = run_child(python, "peer_quality.py", ["--what", "presidio", "--texts", str(path)])
    spans = [[(s["start"], s["end"], PRESIDIO_TYPES[s["entity_type"]]) for s in row
              if s["entity_type"] in PRESIDIO_TYPES] for row in result["spans"]]
    return spans, result["version"]
