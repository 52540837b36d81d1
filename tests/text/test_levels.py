"""The level registry and what each level module answers: streaming decode, decode_steps,
metrics, line mode, chunked encoding."""

import importlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntext.config import LEVELS, DataConfig
from rnntext.errors import ConfigError, RunError
from rnntext.text import levels
from rnntext.text.levels.bpe import NEWLINE, token_bytes

TEXT = ("Hello, world! (a test) \"quoted\" don't stop.\nSecond line: café ✓ — 3.14 and 10,000.\n"
        "Ünïcödé 漢字 emoji 🙂 end.\n")


def _vocab(name: str, lines: bool = False):
    cfg = DataConfig(level=name, lines=lines, vocab_size=300)
    text = levels.as_lines(TEXT, name) if lines else TEXT
    return levels.build(cfg, [text])[0]


@pytest.fixture(scope="module", params=LEVELS)
def vocab(request):
    if request.param == "bpe":
        pytest.importorskip("tokenizers")
    return _vocab(request.param, lines=True)


def test_registry_names_and_modules():
    assert LEVELS == levels.NAMES == ("char", "byte", "word", "bpe")
    for name in levels.NAMES:
        if name == "bpe" and importlib.util.find_spec("tokenizers") is None:
            continue
        assert levels.get(name).name == name
        assert importlib.import_module(f"rnntext.text.levels.{name}").LEVEL is levels.get(name)
    with pytest.raises(ConfigError, match="'letters' is not one of char, byte, word, bpe"):
        levels.get("letters")
    with pytest.raises(RunError, match="unknown level 'letters'"):
        levels.vocab_from_json({"level": "letters", "tokens": []})
    assert [levels.recipe(n) for n in (*levels.NAMES, "letters")] == [None, None, "word-medium", None, None]


def test_metrics_name_what_each_level_reports():
    char, word = levels.get("char").metrics(math.log(4)), levels.get("word").metrics(math.log(4))
    assert char == pytest.approx({"loss": math.log(4), "perplexity": 4.0, "bpc": 2.0})
    assert word == pytest.approx({"loss": math.log(4), "perplexity": 4.0})
    assert levels.get("byte").metrics(math.log(2))["bpc"] == pytest.approx(1.0)
    assert [levels.get(n).token_name for n in levels.NAMES] == ["character", "byte", "word", "token"]


def test_line_mode_tokens_and_wrapping():
    assert levels.as_lines("a b\n\nc\n", "char") == "\x02a b\x03\x02c\x03"
    assert levels.as_lines("a b\n\nc\n", "word") == " <s> a b </s> <s> c </s>"  # each line after a space: chunk-invariant
    vocab = _vocab("word", lines=True)
    assert levels.of(vocab).line_ids(vocab) == (vocab.id("<s>"), vocab.id("</s>"))


def _stream(vocab, ids, drop, step):
    decoder = levels.decoder(vocab, drop)
    parts = [decoder.feed(ids[i:i + step]) for i in range(0, len(ids), step)]
    return "".join(parts) + decoder.flush()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_streamed_text_is_the_whole_decode(vocab, data):
    """Fed in any pieces, with stops (-1) and hidden ids, the stream decoder gives decode_ids's text."""
    ids = data.draw(st.lists(st.integers(-1, len(vocab) - 1), max_size=60))
    drop = levels.of(vocab).line_ids(vocab)
    step = data.draw(st.integers(1, 7))
    assert _stream(vocab, ids, drop, step) == levels.decode_ids(vocab, ids, drop)


def test_stream_decoders_on_real_text(vocab):
    level = levels.of(vocab)
    ids = level.encode(vocab, TEXT.replace("\n", " "))
    assert _stream(vocab, list(ids), (), 1) == vocab.decode(ids)


def test_byte_decoder_holds_back_a_split_character():
    vocab = _vocab("byte")
    first, second = levels.encode(vocab, "é")
    decoder = levels.decoder(vocab)
    assert (decoder.feed([first]), decoder.feed([second])) == ("", "é")
    decoder.feed([first])
    assert decoder.flush() == "\ufffd"  # a sample that ended mid-character


def test_word_decoder_spaces_as_detokenize():
    vocab = _vocab("word")
    decoder = levels.decoder(vocab)
    pieces = [decoder.feed([vocab.id(t)]) for t in ("Hello", ",", "world", "!", "(", "a", "test", ")")]
    assert pieces == ["Hello", ",", " world", "!", " (", "a", " test", ")"]


def test_bpe_bytes_and_newline_symbol():
    pytest.importorskip("tokenizers")
    vocab = _vocab("bpe")
    assert NEWLINE == "Ċ" and token_bytes("Ġa") == b" a" and token_bytes("<s>") == b"<s>"
    assert vocab.decode([vocab.id(NEWLINE)]) == "\n" and levels.get("bpe").restart_tokens[0] == NEWLINE
    decoder = levels.decoder(vocab)
    ids = levels.encode(vocab, "漢字")
    assert "".join(decoder.feed([i]) for i in ids) + decoder.flush() == "漢字"


def test_decode_steps_stacks_streams_and_drops_hidden_ids():
    vocab = _vocab("char", lines=True)
    a, b, end = vocab.id("a"), vocab.id("c"), vocab.id("\x03")
    steps = [np.array([a, b]), np.array([end, a]), np.array([-1, b])]
    assert levels.decode_steps(vocab, steps, 2, drop=[end]) == ["a", "cac"]
    assert levels.decode_steps(vocab, steps, 2) == ["a\x03", "cac"]
    assert levels.decode_steps(vocab, [], 3) == ["", "", ""]


@pytest.mark.parametrize("name", ["char", "byte", "word"])
def test_encoding_chunk_by_chunk_is_encoding_the_whole(name):
    """Prepare encodes chunk by chunk (cut at line ends): the ids are the whole text's."""
    vocab = _vocab(name)
    chunks = [line + "\n" for line in TEXT.split("\n")[:-1]]
    whole = levels.encode(vocab, TEXT)
    assert np.concatenate([levels.encode(vocab, c) for c in chunks]).tolist() == whole.tolist()
    assert len(whole) == levels.build(DataConfig(level=name), chunks)[1]


def test_unknowns_per_level():
    char, word = _vocab("char"), _vocab("word")
    ids, missing = levels.lookup_tokens(char, "aZy")
    assert (ids < 0).tolist() == [False, True, True] and missing == ["Z", "y"]
    ids, missing = levels.lookup_tokens(word, "Hello zebra world zebra")
    assert (ids < 0).tolist() == [False, True, False, True] and missing == ["zebra"]
    assert (levels.get("char").unknown_default, levels.get("word").unknown_default) == ("skip", "replace:<unk>")
