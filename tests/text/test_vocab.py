import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntext.errors import InputError
from rnntext.text.levels.symbols import Vocab, build_vocab


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1))
def test_char_round_trip_any_unicode(text):
    vocab, count = build_vocab("char", [text])
    assert count == len(text)
    assert list(vocab.tokens) == sorted(set(text))  # sorted by code point
    assert vocab.decode(vocab.encode(text)) == text
    assert Vocab.from_json(vocab.to_json()) == vocab


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1))
def test_byte_round_trip(text):
    vocab, count = build_vocab("byte", [text])
    assert count == len(text.encode("utf-8"))
    assert vocab.decode(vocab.encode(text)) == text


def test_code_points_not_bytes():
    vocab, count = build_vocab("char", ["héllo ✓"])
    assert count == 7
    assert "é" in vocab and "✓" in vocab
    assert vocab.encode("é").tolist() == [vocab.id("é")]


def test_unknown_symbols_are_named():
    vocab, _ = build_vocab("char", ["abc"])
    with pytest.raises(InputError, match="'xz'"):
        vocab.encode("axz")
    assert vocab.lookup(np.array([ord("a"), ord("z"), 0x10FFFF])).tolist() == [0, -1, -1]
