"""Write the country-name list the personal-data context rules read (``functions/nlpserve/tasks/data/countries.txt``).

The names come from the Unicode CLDR through Babel (BSD-3; CLDR data under the Unicode licence): for each ISO
3166 alpha-2 territory, its English name and its name in each of its official languages ("Germany",
"Deutschland"; "Japan", "日本"), plus a few common short forms CLDR does not list ("UK", "USA"). Babel is a
build-time tool only: the Lambda reads the text file, one name per line.

Run: ``python -m nlpbuild countries`` (under a second; needs ``pip install babel``).
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "functions" / "nlpserve" / "tasks" / "data" / "countries.txt"
# CLDR pseudo-territories and groupings that are not countries.
NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "XK"})
SHORT_FORMS = ("UK", "U.K.", "USA", "U.S.A.", "United States of America", "Great Britain", "England", "Scotland",
               "Wales", "Northern Ireland", "Russian Federation", "Republic of Korea", "The Netherlands",
               "Czech Republic", "Holland")


def country_names() -> list[str]:
    """Sorted, de-duplicated country names (English and official-language endonyms)."""
    from babel import Locale, UnknownLocaleError
    from babel.languages import get_official_languages

    english = Locale("en")
    names = set(SHORT_FORMS)
    for code, name in english.territories.items():
        if len(code) != 2 or not code.isalpha() or code in NOT_COUNTRIES:
            continue
        names.add(name)
        for language in get_official_languages(code, de_facto=True):
            try:
                local = Locale.parse(language).territories.get(code)
            except UnknownLocaleError:  # a language CLDR has no locale data for
                continue
            if local:
                names.add(local)
    return sorted(names)


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write the list (default {OUT})")


def run(args) -> int:
    from babel import __version__

    names = country_names()
    header = f"# ISO 3166 country names from CLDR via Babel {__version__}: python -m nlpbuild countries\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + "".join(n + "\n" for n in names), encoding="utf-8")
    print(f"wrote {len(names)} names to {args.out}")
    return 0
