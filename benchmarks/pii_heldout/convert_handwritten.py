"""Convert the hand-written source texts (handwritten/*.txt, inline markers) to pii_handwritten.jsonl.

Source format: blocks that start with a header line

    ### hw-017 | en_US | email          (or hw-090-2 for the 2nd text of a thread)

followed by the text with inline markers such as [[NM|Ella H. Snider]] or
[[PERSON:NAME_WITH_MIDDLE_INITIAL|Ella H. Snider]] (aliases in piilib.ALIASES).
Leading/trailing blank lines of a block are dropped; everything else is kept verbatim.

The explicit subtypes are cross-checked against the precedence rules in piilib
(person_subtype / address_subtype); any disagreement is printed and makes the script fail.
"""
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from piilib import address_subtype, parse_markup, person_subtype

HERE = Path(__file__).resolve().parent
HEADER = re.compile(r"^### (hw-\d{3}(?:-\d+)?) \| ([a-z]{2,3}_[A-Z]{2}) \| ([a-z_]+)\s*$")


def blocks():
    for f in sorted((HERE / "handwritten").glob("*.txt")):
        cur = None
        for line in f.read_text(encoding="utf-8").split("\n"):
            m = HEADER.match(line)
            if m:
                if cur:
                    yield cur
                cur = {"id": m.group(1), "locale": m.group(2), "kind": m.group(3), "lines": [], "file": f.name}
            elif line.startswith("### "):
                raise SystemExit(f"{f.name}: malformed header {line!r}")
            elif cur is not None:
                cur["lines"].append(line)
        if cur:
            yield cur


def check_subtypes(item_id, text, ents):
    problems = []
    for e in ents:
        v, st = text[e["start"]:e["end"]], e["subtype"]
        if e["type"] == "PERSON":
            if st in ("GIVEN_NAME_ONLY", "SURNAME_ONLY"):
                auto = person_subtype(v, "given" if st == "GIVEN_NAME_ONLY" else "surname")
            else:
                auto = person_subtype(v, "full")
            if auto != st:
                problems.append(f"{item_id}: PERSON {v!r} labelled {st}, rules say {auto}")
        elif e["type"] == "ADDRESS":
            auto = address_subtype(v, country_end=(st == "POSTCODE_COUNTRY_END"))
            if auto != st:
                problems.append(f"{item_id}: ADDRESS {v!r} labelled {st}, rules say {auto}")
    return problems


def main():
    items, problems, kinds = [], [], Counter()
    seen = set()
    for b in blocks():
        iid = b["id"] if re.fullmatch(r"hw-\d{3}-\d+", b["id"]) else b["id"] + "-1"
        if iid in seen:
            raise SystemExit(f"duplicate id {iid}")
        seen.add(iid)
        lines = b["lines"]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        marked = unicodedata.normalize("NFC", "\n".join(lines))
        try:
            text, ents = parse_markup(marked)
        except ValueError as ex:
            raise SystemExit(f"{iid}: {ex}")
        problems += check_subtypes(iid, text, ents)
        kinds[b["kind"]] += 1
        items.append({"id": iid, "split": None, "source": "handwritten", "locale": b["locale"],
                      "text": text, "entities": ents})
    out = HERE / "pii_handwritten.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    print(f"{len(items)} hand-written texts -> {out.name}; kinds: {dict(sorted(kinds.items()))}")
    print(f"no-PII texts: {sum(1 for it in items if not it['entities'])}; entities: {sum(len(it['entities']) for it in items)}")
    for p in problems:
        print("MISMATCH:", p)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
