"""Shared text checks: what counts as empty, and where an unencodable (lone surrogate) character sits."""

import pytest
from nlpserve.text import is_blank, lone_surrogate


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "\u200b\u200d\ufeff", "\u00a0\u2009\u3000", "\u00ad\u2060",
                                  "\x00\x07", "\u3164", "\u2800\n\t", "\u0301"])
def test_invisible_only_texts_are_blank(text: str) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", ["a", "\u200bhi\u200b", "😀", "\u05d0", "1", ".", "e\u0301"])
def test_texts_with_something_visible_are_not_blank(text: str) -> None:
    assert not is_blank(text)


def test_lone_surrogate_position_is_reported() -> None:
    assert lone_surrogate("loved it \ud83d") == 9
    assert lone_surrogate("\udc00 start") == 0
    assert lone_surrogate("paired 😀 is fine") is None
