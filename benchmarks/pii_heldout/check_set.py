"""Validate pii_heldout.jsonl (or another file in the same format) and print count tables.

    python3 check_set.py [pii_heldout.jsonl] [--quiet]

Standard library only and independent of the generator code. Exit status 0 = all checks
passed (warnings may still be printed), 1 = at least one error.
"""
import ipaddress
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

SCHEME = {
    "PERSON": ["FULL_NAME", "GIVEN_NAME_ONLY", "SURNAME_ONLY", "LOWERCASE_NAME",
               "NAME_WITH_DIACRITICS", "NAME_WITH_MIDDLE_INITIAL"],
    "EMAIL": ["EMAIL"],
    "PHONE": ["PHONE"],
    "ADDRESS": ["STREET_ADDRESS", "UNIT_ADDRESS", "MILITARY_ADDRESS", "NON_LATIN_ADDRESS",
                "DIACRITIC_ADDRESS", "POSTCODE_COUNTRY_END"],
    "CREDIT_CARD": ["CREDIT_CARD"],
    "BANK_ACCOUNT": ["IBAN", "IBAN_GROUPED", "ACCOUNT_NUMBER", "ROUTING_NUMBER", "SORT_CODE"],
    "GOVERNMENT_ID": ["SSN", "PASSPORT", "DRIVERS_LICENSE", "NATIONAL_ID", "TAX_ID"],
    "URL": ["URL"],
    "IP_ADDRESS": ["IPV4", "IPV6"],
}
TITLE_RE = re.compile(r"^(Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|M|Sr|Sra|Srta|Dott|Sig|Sgt|SGT|Capt|LT)\.?\s", re.IGNORECASE)
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")
MIL_RE = re.compile(r"\b(APO|FPO|DPO)\s+(AA|AE|AP)\b")
ID_RE = re.compile(r"^(gen|hw)-.+-\d+$")
SOURCE_RE = re.compile(r"^(faker:[a-z]{2,3}_[A-Z]{2}:[a-z0-9_]+|handwritten)$")


def luhn_ok(d):
    tot = 0
    for i, ch in enumerate(reversed(d)):
        x = int(ch)
        if i % 2 == 1:
            x *= 2
            if x > 9:
                x -= 9
        tot += x
    return tot % 10 == 0


IBAN_LEN = {"AT": 20, "BE": 16, "BR": 29, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27,
            "GB": 22, "GR": 27, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "LU": 20, "NL": 18, "NO": 15,
            "PL": 28, "PT": 25, "RO": 24, "SA": 24, "AE": 23, "SE": 24, "TR": 26}


def iban_ok(s):
    s = s.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", s):
        return False
    if s[:2] in IBAN_LEN and len(s) != IBAN_LEN[s[:2]]:
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def aba_ok(s):
    if not re.fullmatch(r"\d{9}", s):
        return False
    d = list(map(int, s))
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10 == 0


def non_latin(s):
    return any(c.isalpha() and not unicodedata.name(c, "").startswith(("LATIN", "FEMININE ORDINAL", "MASCULINE ORDINAL")) for c in s)


def latin_diacritic(s):
    return any(ord(c) > 127 and ((c.isalpha() and unicodedata.name(c, "").startswith("LATIN"))
                                 or unicodedata.category(c) == "Mn") for c in s)


def has_middle_initial(value):
    toks = value.split()
    for t in toks[1:-1]:
        core = t.removesuffix(".")
        if len(core) == 1 and core.isalpha() and (core.isupper() or t.endswith(".")) and t not in ("Ó", "O"):
            return True
    return False


def spaced_script(c):
    """True for letters/digits of scripts that separate words with spaces (not CJK/kana/Hangul/Thai)."""
    if not c.isalnum():
        return False
    n = unicodedata.name(c, "")
    return not n.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "FULLWIDTH", "HALFWIDTH"))


def table(title, rows, cols, data, total=True):
    w0 = max([len(title)] + [len(str(r)) for r in rows]) + 2
    ws = [max(len(c), 6) + 2 for c in cols]
    print(title.ljust(w0) + "".join(c.rjust(w) for c, w in zip(cols, ws)) + ("   total" if total else ""))
    for r in rows:
        vals = [data.get((r, c), 0) for c in cols]
        print(str(r).ljust(w0) + "".join(str(v).rjust(w) for v, w in zip(vals, ws)) + (f"{sum(vals):8d}" if total else ""))
    if total:
        vals = [sum(data.get((r, c), 0) for r in rows) for c in cols]
        print("TOTAL".ljust(w0) + "".join(str(v).rjust(w) for v, w in zip(vals, ws)) + f"{sum(vals):8d}")
    print()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    default = Path(__file__).resolve().parents[2] / "layers" / "nlpbuild" / "data" / "heldout" / "pii_heldout.jsonl"
    path = args[0] if args else str(default)
    errors, warnings = [], []
    E = lambda m: errors.append(m)
    W = lambda m: warnings.append(m)
    items = []
    with open(path, encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as ex:
                E(f"line {ln}: bad JSON: {ex}")
    ids = Counter(it.get("id") for it in items)
    for i, c in ids.items():
        if c > 1:
            E(f"duplicate id {i}")

    for it in items:
        iid = it.get("id")
        keys = set(it)
        if keys != {"id", "split", "source", "locale", "text", "entities"}:
            E(f"{iid}: fields {sorted(keys)}")
        if not isinstance(iid, str) or not ID_RE.match(iid):
            E(f"{iid}: id format")
        if it.get("split") not in ("dev", "test"):
            E(f"{iid}: split {it.get('split')!r}")
        if not SOURCE_RE.match(str(it.get("source"))):
            E(f"{iid}: source {it.get('source')!r}")
        if not re.fullmatch(r"[a-z]{2,3}_[A-Z]{2}", str(it.get("locale"))):
            E(f"{iid}: locale {it.get('locale')!r}")
        if str(it.get("source")).startswith("faker:") and it["source"].split(":")[1] != it["locale"]:
            E(f"{iid}: source locale != locale")
        text = it.get("text")
        if not isinstance(text, str) or not text.strip():
            E(f"{iid}: empty text")
            continue
        if unicodedata.normalize("NFC", text) != text:
            E(f"{iid}: text not NFC-normalised")
        if "[[" in text or "]]" in text:
            E(f"{iid}: leftover markup")
        ents = it.get("entities")
        if not isinstance(ents, list):
            E(f"{iid}: entities not a list")
            continue
        prev_end = -1
        for e in ents:
            if set(e) != {"start", "end", "type", "subtype"}:
                E(f"{iid}: entity fields {sorted(e)}")
                continue
            s, t, ty, st = e["start"], e["end"], e["type"], e["subtype"]
            if not (isinstance(s, int) and isinstance(t, int) and 0 <= s < t <= len(text)):
                E(f"{iid}: bad offsets {s}-{t}")
                continue
            if ty not in SCHEME or st not in SCHEME[ty]:
                E(f"{iid}: label {ty}/{st} not in scheme")
                continue
            if s < prev_end:
                E(f"{iid}: overlapping or unsorted entities at {s}")
            prev_end = max(prev_end, t)
            v = text[s:t]
            if v != v.strip():
                E(f"{iid}: span has outer whitespace {v!r}")
            if v[-1] in ",;:" or v[0] in ",;:.":
                E(f"{iid}: span has outer punctuation {v!r}")
            # the span should not be glued to surrounding word characters
            if s > 0 and spaced_script(text[s - 1]) and spaced_script(v[0]):
                E(f"{iid}: span starts inside a word {text[max(0, s - 5):t]!r}")
            if t < len(text) and spaced_script(text[t]) and spaced_script(v[-1]):
                E(f"{iid}: span ends inside a word {text[s:t + 5]!r}")
            digits = re.sub(r"\D", "", v)
            if ty == "CREDIT_CARD":
                if not re.fullmatch(r"[\d \-]+", v) or not (12 <= len(digits) <= 19) or not luhn_ok(digits):
                    E(f"{iid}: credit card not Luhn-valid / malformed {v!r}")
            elif st == "IBAN":
                if " " in v or not iban_ok(v):
                    E(f"{iid}: IBAN invalid {v!r}")
            elif st == "IBAN_GROUPED":
                if not re.fullmatch(r"[A-Z]{2}\d{2}( [A-Z0-9]{4})*( [A-Z0-9]{1,4})?", v) or not iban_ok(v):
                    E(f"{iid}: grouped IBAN invalid {v!r}")
            elif st == "ROUTING_NUMBER" and it["locale"] == "en_US" and re.fullmatch(r"\d{9}", v) and not aba_ok(v):
                E(f"{iid}: ABA routing checksum fails {v!r}")
            elif ty == "EMAIL" and not EMAIL_RE.match(v):
                E(f"{iid}: e-mail malformed {v!r}")
            elif ty == "IP_ADDRESS":
                try:
                    ip = ipaddress.ip_address(v)
                    if (ip.version == 4) != (st == "IPV4"):
                        E(f"{iid}: IP version/subtype mismatch {v!r}")
                except ValueError:
                    E(f"{iid}: IP malformed {v!r}")
            elif ty == "PHONE" and len(digits) < 6:
                E(f"{iid}: phone with <6 digits {v!r}")
            elif st == "SSN" and len(digits) != 9:
                E(f"{iid}: SSN without 9 digits {v!r}")
            elif ty == "URL" and not re.match(r"^(https?://|www\.)\S+$", v):
                E(f"{iid}: URL malformed {v!r}")
            elif ty == "PERSON":
                if TITLE_RE.match(v):
                    E(f"{iid}: person span includes a title {v!r}")
                cased = [c for c in v if c.isalpha() and (c.isupper() or c.islower())]
                if st == "LOWERCASE_NAME" and any(c.isupper() for c in cased):
                    E(f"{iid}: LOWERCASE_NAME with capitals {v!r}")
                if st == "NAME_WITH_DIACRITICS" and not latin_diacritic(v):
                    E(f"{iid}: NAME_WITH_DIACRITICS without diacritics {v!r}")
                if st == "NAME_WITH_MIDDLE_INITIAL" and not has_middle_initial(v):
                    E(f"{iid}: NAME_WITH_MIDDLE_INITIAL without an initial {v!r}")
                if st in ("GIVEN_NAME_ONLY", "SURNAME_ONLY") and len(v.split()) > 3:
                    W(f"{iid}: {st} with many tokens {v!r}")
                if st == "FULL_NAME" and latin_diacritic(v) and not non_latin(v):
                    W(f"{iid}: FULL_NAME has diacritics (precedence says NAME_WITH_DIACRITICS?) {v!r}")
            elif ty == "ADDRESS":
                if st == "MILITARY_ADDRESS" and not MIL_RE.search(v):
                    E(f"{iid}: MILITARY_ADDRESS without APO/FPO/DPO {v!r}")
                if st != "MILITARY_ADDRESS" and MIL_RE.search(v):
                    E(f"{iid}: military address labelled {st}")
                if st == "NON_LATIN_ADDRESS" and not non_latin(v):
                    E(f"{iid}: NON_LATIN_ADDRESS in Latin script {v!r}")
                if st in ("STREET_ADDRESS", "UNIT_ADDRESS", "DIACRITIC_ADDRESS", "POSTCODE_COUNTRY_END") and non_latin(v):
                    E(f"{iid}: non-Latin address labelled {st}")
                if st == "DIACRITIC_ADDRESS" and not latin_diacritic(v):
                    E(f"{iid}: DIACRITIC_ADDRESS without diacritics {v!r}")
                if st == "STREET_ADDRESS" and latin_diacritic(v):
                    W(f"{iid}: STREET_ADDRESS with diacritics {v!r}")
                if not re.search(r"\d", v):
                    W(f"{iid}: address without any digit {v!r}")
        # every other occurrence of a labelled value must be labelled too
        covered = [(e["start"], e["end"]) for e in ents]
        for e in ents:
            v = text[e["start"]:e["end"]]
            if e["type"] == "PERSON" and len(v) < 3:
                continue
            pat = re.compile(r"(?<!\w)" + re.escape(v) + r"(?!\w)")
            for m in pat.finditer(text):
                if not any(a <= m.start() and m.end() <= b for a, b in covered):
                    msg = f"{iid}: unlabelled repeat of {e['type']} value {v!r} at {m.start()}"
                    (W if e["type"] == "PERSON" else E)(msg)

    # ------------------------------------------------------------ split checks
    groups = defaultdict(set)
    for it in items:
        groups[it["id"].rsplit("-", 1)[0]].add(it["split"])
    for g, ss in groups.items():
        if len(ss) > 1:
            E(f"group {g} is split across {sorted(ss)}")
    splits = ["dev", "test"]
    n = Counter(it["split"] for it in items)
    frac = n["dev"] / max(1, len(items))
    if not 0.25 <= frac <= 0.35:
        E(f"dev fraction {frac:.3f} outside 0.25-0.35")
    loc_split = Counter((it["locale"], it["split"]) for it in items)
    for loc in {it["locale"] for it in items}:
        for s in splits:
            if loc_split[(loc, s)] == 0:
                E(f"locale {loc} missing from {s}")
    sub_split = Counter()
    type_split = Counter()
    for it in items:
        for e in it["entities"]:
            sub_split[(f"{e['type']}/{e['subtype']}", it["split"])] += 1
            type_split[(e["type"], it["split"])] += 1
    for ty, subs in SCHEME.items():
        for st in subs:
            for s in splits:
                if sub_split[(f"{ty}/{st}", s)] == 0:
                    E(f"subtype {ty}/{st} missing from {s}")

    # ------------------------------------------------------------ tables
    quiet = "--quiet" in sys.argv
    if not quiet:
        print(f"File: {path}")
        print(f"Texts: {len(items)}   dev: {n['dev']} ({frac:.1%})   test: {n['test']}   groups: {len(groups)}")
        kind = Counter(("handwritten" if it["source"] == "handwritten" else "generated", it["split"]) for it in items)
        print()
        table("Origin", ["generated", "handwritten"], splits, kind)
        nopii = Counter((("no PII" if not it["entities"] else "with PII"), it["split"]) for it in items)
        table("Texts", ["with PII", "no PII"], splits, nopii)
        table("Entity type", list(SCHEME), splits, type_split)
        rows = [f"{ty}/{st}" for ty, subs in SCHEME.items() for st in subs]
        table("Entity type/subtype", rows, splits, sub_split)
        table("Locale (texts)", sorted({it["locale"] for it in items}), splits, loc_split)
        loc_ent = Counter()
        for it in items:
            loc_ent[(it["locale"], it["split"])] += len(it["entities"])
        table("Locale (entities)", sorted({it["locale"] for it in items}), splits, loc_ent)
        tmpl = Counter((it["source"].split(":")[-1] if it["source"] != "handwritten" else "(handwritten)", it["split"]) for it in items)
        table("Template", sorted({r for r, _ in tmpl}), splits, tmpl)
        lens = sorted(len(it["text"]) for it in items)
        print(f"Text length (code points): min {lens[0]}, median {lens[len(lens) // 2]}, max {lens[-1]}; "
              f"single-line texts: {sum(1 for it in items if chr(10) not in it['text'])}; "
              f"total entities: {sum(len(it['entities']) for it in items)}")
        print()
    for w in warnings[:60]:
        print("WARNING:", w)
    if len(warnings) > 60:
        print(f"... {len(warnings) - 60} more warnings")
    for e in errors[:100]:
        print("ERROR:", e)
    print(f"\n{len(errors)} errors, {len(warnings)} warnings -> {'FAIL' if errors else 'PASS'}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
