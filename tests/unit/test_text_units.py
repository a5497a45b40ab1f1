"""Pure logic that shapes results: span merging, windows, redaction offsets, sentence splitting, MMR."""

from itertools import pairwise

import numpy as np
from nlpserve.runtime import plan_windows
from nlpserve.tasks.ner import Entity, RedactParams, _Token, aggregate, redact
from nlpserve.tasks.summarize import mmr, split_sentences


def test_email_pieces_tagged_begin_merge_into_one_span():
    text = "mail jane.doe@example.com now"
    pieces = [(5, 9), (9, 10), (10, 13), (13, 14), (14, 21), (21, 22), (22, 25)]
    tokens = [_Token("O", 0.99, 0, 4)] + [_Token("B-EMAIL", 0.9, s, e) for s, e in pieces] + [_Token("O", 0.99, 26, 29)]
    (entity,) = aggregate(text, tokens, 0.5)
    assert (entity.type, entity.start, entity.end, entity.text) == ("EMAIL", 5, 25, "jane.doe@example.com")


def test_different_types_and_low_scores_split_spans():
    text = "Jane Doe"
    tokens = [_Token("B-GIVEN_NAME", 0.9, 0, 4), _Token("B-SURNAME", 0.9, 5, 8)]
    assert [e.type for e in aggregate(text, tokens, 0.5)] == ["GIVEN_NAME", "SURNAME"]
    assert aggregate(text, [_Token("B-GIVEN_NAME", 0.3, 0, 4)], 0.5) == []


def test_windows_cover_every_token_and_overlap():
    windows = plan_windows(1000, 254, 32)
    assert windows[0][0] == 0 and windows[-1][1] == 1000
    assert all(b[0] < a[1] for a, b in pairwise(windows))
    assert all(e - s <= 254 for s, e in windows)
    assert plan_windows(10, 254, 32) == [(0, 10)]


def test_redaction_offsets_point_at_masks_in_redacted_text():
    text = "Write to jane@example.com or call 555-0100."
    ents = [Entity(type="EMAIL", text="jane@example.com", start=9, end=25, score=0.9),
            Entity(type="PHONE", text="555-0100", start=34, end=42, score=0.9)]
    for mask in ("type", "char", "fixed"):
        out = redact(text, ents, RedactParams(mask=mask))
        for ent in out.entities:
            assert text[ent.start:ent.end] == ent.text
            masked = out.text[ent.redacted_start:ent.redacted_end]
            assert "@" not in masked and "555" not in masked and masked
        assert "jane@example.com" not in out.text and out.text.endswith(".")
    assert redact(text, ents, RedactParams(mask="char")).text.__len__() == len(text)


def test_sentence_split_keeps_offsets_and_abbreviations():
    text = "Dr. Smith arrived at 9 a.m. today. He met Mrs. Jones! Did it go well?  Yes."
    spans = split_sentences(text)
    sentences = [text[s:e] for s, e in spans]
    assert sentences == ["Dr. Smith arrived at 9 a.m. today.", "He met Mrs. Jones!", "Did it go well?", "Yes."]


def test_mmr_skips_a_duplicate_of_a_chosen_sentence():
    v = np.array([[1, 0], [1, 0], [0.6, 0.8]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    scores = np.array([1.0, 0.99, 0.7])
    assert mmr(v, scores, 2, 0.5) == [0, 2]
    assert mmr(v, scores, 2, 0.0) == [0, 1]
