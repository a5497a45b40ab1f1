"""The matching form (``normalize_for_matching``): what a reader sees, with exact offsets into the original."""

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nlpserve.text import _joins, normalize_for_matching

ALL_CHARS = [chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]

# Scripts, marks and the variant characters that matter: Latin with accents (composed and combining),
# Greek, Cyrillic, Hangul (syllables, conjoining and compatibility jamo), fullwidth forms, ligatures, digits
# of other scripts, every kind of dash and space, zero-width and bidi characters.
VARIANT_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from("éüöçñåøßÉÜÖ\u0301\u0308\u0327\u030a\u0323"),
    st.characters(min_codepoint=0x0370, max_codepoint=0x03FF),
    st.characters(min_codepoint=0x0400, max_codepoint=0x04FF),
    st.characters(min_codepoint=0xAC00, max_codepoint=0xAC40),
    st.characters(min_codepoint=0x1100, max_codepoint=0x11FF),
    st.characters(min_codepoint=0x3131, max_codepoint=0x318E),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
    st.sampled_from("ﬁﬂ½…™①²ǆĳ\ufdfa\u2011\u2013\u2014\u2212\u00a0\u202f\u2009\u3000\u200b\u200d\ufeff\u200e\u00ad"),
    st.sampled_from("٠١٢٣٤٥٦٧٨٩०१२३४५६७८९"),
)
variant_text = st.text(VARIANT_ALPHABET, max_size=40)
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


def test_ascii_is_returned_unchanged_with_an_identity_map():
    norm = normalize_for_matching("Call 415-555-0123 now")
    assert norm.text is norm.original
    assert [norm.span(i, i + 1) for i in range(5)] == [(i, i + 1) for i in range(5)]
    assert normalize_for_matching("").text == ""


@pytest.mark.parametrize(
    "variant, plain",
    [
        ("415\u2011555\u20110123", "415-555-0123"),  # non-breaking hyphens
        ("415\u2013555\u20140123\u2212", "415-555-0123-"),  # en dash, em dash, minus sign
        ("415\u00a0555\u202f0123\u2009x\u3000y", "415 555 0123 x y"),  # NBSP, narrow NBSP, thin, ideographic
        ("ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "jane@example.com"),  # fullwidth
        ("jo\u0308rg", "jörg"),  # decomposed accent -> composed
        ("٤١٥-٥٥٥-٠١٢٣", "415-555-0123"),  # Arabic-Indic digits
        ("१२३", "123"),  # Devanagari digits
        ("ja\u200bne\u200d@\ufeffexample\u200e.com\u00ad", "jane@example.com"),  # zero-width, BOM, bidi, soft hyphen
        ("ﬁle…", "file..."),  # compatibility forms
        ("ㄱㅏ", "가"),  # compatibility jamo compose
        ("line\u2028next", "line\nnext"),
    ],
)
def test_variants_read_the_same_fold_to_the_same_text(variant, plain):
    assert normalize_for_matching(variant).text == plain


def test_every_dash_space_digit_and_format_character_of_the_unicode_database_folds():
    for ch in ALL_CHARS:
        cat = unicodedata.category(ch)
        if cat not in ("Pd", "Zs", "Nd", "Cf"):
            continue
        folded = normalize_for_matching("a" + ch + "b").text
        if cat == "Pd":
            assert folded == "a-b", (hex(ord(ch)), folded)
        elif cat == "Zs":
            assert folded == "a b", (hex(ord(ch)), folded)
        elif cat == "Nd":
            assert folded == f"a{unicodedata.decimal(ch)}b", (hex(ord(ch)), folded)
        elif cat == "Cf":
            assert folded == "ab", (hex(ord(ch)), folded)


def test_every_canonical_composition_joins_its_cluster():
    """NFC composes a pair only inside one cluster, so the second character of every pair must join."""
    for ch in ALL_CHARS:
        d = unicodedata.decomposition(ch)
        if d and not d.startswith("<"):
            parts = [chr(int(x, 16)) for x in d.split()]
            if len(parts) == 2 and unicodedata.normalize("NFC", "".join(parts)) == ch:
                assert _joins(parts[1]), hex(ord(ch))


@settings(max_examples=300, deadline=None)
@given(variant_text)
def test_composed_decomposed_and_compatibility_forms_fold_alike(text):
    folded = normalize_for_matching(text).text
    # Compatibility forms fold too, except the few expansions over the byte cap (½, U+FDFA), kept composed.
    composed = unicodedata.normalize("NFC", text)
    capped = any(len(unicodedata.normalize("NFKC", c)) > len(c.encode("utf-8")) for c in composed)
    for form in ("NFC", "NFD") if capped else ("NFC", "NFD", "NFKC", "NFKD"):
        assert normalize_for_matching(unicodedata.normalize(form, text)).text == folded, form


@settings(max_examples=300, deadline=None)
@given(st.one_of(variant_text, any_text))
def test_the_offset_map_is_exact_and_monotone(text):
    norm = normalize_for_matching(text)
    assert norm.original is text
    previous = (0, 0)
    for i in range(len(norm.text)):
        start, end = norm.span(i, i + 1)
        assert 0 <= start < end <= len(text)
        assert start >= previous[0] and end >= previous[1]
        # the original characters behind one folded character fold to a text containing it
        assert norm.text[i] in normalize_for_matching(text[start:end]).text
        previous = (start, end)
    if norm.text:
        start, end = norm.span(0, len(norm.text))
        assert normalize_for_matching(text[start:end]).text == norm.text
        assert normalize_for_matching(text[:start]).text == "" and normalize_for_matching(text[end:]).text == ""


@settings(max_examples=300, deadline=None)
@given(st.one_of(variant_text, any_text))
def test_folding_is_idempotent_and_never_longer_than_the_utf8_bytes(text):
    folded = normalize_for_matching(text).text
    assert normalize_for_matching(folded).text == folded
    assert len(folded) <= len(text.encode("utf-8"))


def test_dropped_characters_stay_out_of_span_edges_and_inside_spans():
    norm = normalize_for_matching("\u200bjane\u200b@x.com\u200b")
    assert norm.text == "jane@x.com"
    assert norm.span(0, len(norm.text)) == (1, 12)
    assert norm.span(0, 4) == (1, 5)


def test_a_span_that_cuts_a_folded_block_widens_to_the_whole_block():
    norm = normalize_for_matching("ﬁne")  # "ﬁ" folds to two letters
    assert norm.text == "fine"
    assert norm.span(1, 2) == (0, 1)
    assert norm.span(1, 4) == (0, 3)


def test_expansions_are_capped_by_the_byte_length():
    assert normalize_for_matching("\ufdfa").text == "\ufdfa"  # would be 18 letters
    assert normalize_for_matching("½").text == "½"  # "1⁄2" is longer than its 2 UTF-8 bytes


@pytest.mark.parametrize("text,folded", [("A\u200b\u0301", "\u00c1"), ("e\u00ad\u0301x", "\u00e9x"),
                                         ("\u00e9\u200b\u0301", "\u00e9\u0301")])
def test_a_dropped_format_character_does_not_keep_a_mark_from_its_base(text, folded):
    """Found by the idempotency property: "A" ZWSP U+0301 folded to "A" + U+0301, which folds again to "Á"."""
    once = normalize_for_matching(text)
    assert once.text == folded and normalize_for_matching(once.text).text == once.text
    assert once.span(0, len(once.text)) == (0, len(text))
