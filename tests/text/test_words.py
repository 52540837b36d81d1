import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntext.errors import ConfigError, RunError
from rnntext.text.levels.word import WordVocab, build_word_vocab, count_words, detokenize, tokenize_words

PTB_VALID = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "ptb.valid.txt"


def test_tensorflow_lab_sentence():
    text = "recurrent neural networks, or rnns (rumelhart et al., 1986), are"
    assert " ".join(tokenize_words(text)) == "recurrent neural networks , or rnns ( rumelhart et al . , 1986 ) , are"


def test_words_keep_apostrophes_hyphens_numbers_and_unicode():
    text = "Don't panic: it's state-of-the-art, 3.14 or 10,000... हिन्दी café"
    assert tokenize_words(text) == ["Don't", "panic", ":", "it's", "state-of-the-art", ",", "3.14", "or",
                                    "10,000", "...", "हिन्दी", "café"]


def test_line_ends():
    text = "a b.\n\nc\nd"
    assert tokenize_words(text) == ["a", "b", ".", "c", "d"]  # a line end only separates words
    assert tokenize_words(text, eos=True) == ["a", "b", ".", "<eos>", "<eos>", "c", "<eos>", "d"]
    assert tokenize_words(" x y \n", "space", eos=True) == ["x", "y", "<eos>"]
    assert detokenize(tokenize_words(text, eos=True)) == text


def test_ptb_line_in_space_mode():
    assert tokenize_words("the <unk> company said N shares") == ["the", "<unk>", "company", "said", "N", "shares"]
    assert tokenize_words(" the <unk> company said N shares \n", "space", eos=True) == \
        ["the", "<unk>", "company", "said", "N", "shares", "<eos>"]
    assert tokenize_words("it's (a) test", "space") == ["it's", "(a)", "test"]


def test_unknown_mode():
    with pytest.raises(ConfigError, match="mode"):
        tokenize_words("a", "words")


@pytest.mark.parametrize("text", [
    "Hello, world! (This is a test.) Don't panic: it's state-of-the-art.",
    'She said, "Yes; no?" [maybe] {or} not... $5 and 50%--done.',
    "Line one.\nLine two, indented not.\n",
])
def test_detokenize_exact_for_simple_text(text):
    assert detokenize(tokenize_words(text, eos=True)) == text


def test_detokenize_readability():
    assert detokenize(["(", "hi", ")", ",", "there", ";", "ok", "?", "<eos>", "[", "x", "]", "!"]) == \
        "(hi), there; ok?\n[x]!"
    assert detokenize(["abc", "'s", "show", "do", "n't"]) == "abc's show don't"  # PTB clitics
    assert detokenize(["«", "oui", "»", "“", "a", "”"]) == "«oui» “a”"


def test_ranking_ties_min_count_and_max_vocab():
    counts = Counter({"b": 3, "a": 3, "c": 5, "z": 1, "y": 1})
    vocab = WordVocab.from_counts(counts)
    assert vocab.tokens == ("<unk>", "c", "a", "b", "y", "z")  # by count, ties by code point
    assert vocab.unk_id == 0 and vocab.level == "word"
    assert WordVocab.from_counts(counts, min_count=2).tokens == ("<unk>", "c", "a", "b")
    assert WordVocab.from_counts(counts, max_vocab=3).tokens == ("<unk>", "c", "a")
    assert WordVocab.from_counts(Counter(dict(reversed(counts.items())))) == vocab  # insertion order is irrelevant
    with pytest.raises(ConfigError, match="max_vocab"):
        WordVocab.from_counts(counts, max_vocab=1)
    with pytest.raises(ConfigError, match="min_count"):
        WordVocab.from_counts(counts, min_count=0)


def test_specials_first_and_corpus_unk_not_duplicated():
    vocab, count = build_word_vocab(["x <unk> y <unk>\nx x\n"], "punct", eos=True, specials=("<s>", "</s>", "<eos>"))
    assert count == 8
    assert vocab.tokens == ("<unk>", "<s>", "</s>", "<eos>", "x", "y")
    assert vocab.tokens.count("<unk>") == 1
    assert vocab.encode("x <unk> w\n").tolist() == [4, 0, 0, 3]  # the corpus's <unk> and an unknown word alike


def test_encode_lookup_decode():
    vocab, _ = build_word_vocab(["the cat sat on the mat ."])
    ids = vocab.encode("The cat sat.")
    assert ids.dtype == np.int64
    assert ids.tolist() == [vocab.unk_id, vocab.id("cat"), vocab.id("sat"), vocab.id(".")]
    assert vocab.encode(["cat", "dog"]).tolist() == [vocab.id("cat"), vocab.unk_id]
    assert vocab.lookup(["cat", "dog", "<unk>"]).tolist() == [vocab.id("cat"), -1, 0]
    assert vocab.lookup([]).shape == (0,)
    assert vocab.decode(vocab.encode("the cat sat on the mat.")) == "the cat sat on the mat."
    assert "cat" in vocab and "dog" not in vocab and len(vocab) == 7


def test_count_words_over_chunks_equals_whole_text():
    text = "a b, c\nb c\nc\n"
    chunks = ["a b, c\n", "b c\n", "c\n"]
    assert count_words(chunks, "punct", True) == Counter(tokenize_words(text, "punct", True))
    assert count_words(chunks, "punct", True)["<eos>"] == 3


def test_json_round_trip_exact():
    vocab, _ = build_word_vocab(["x y z y\n"], "space", eos=True, max_vocab=3)
    data = json.loads(json.dumps(vocab.to_json()))
    assert data == {"level": "word", "tokens": ["<unk>", "y", "<eos>"], "mode": "space", "eos": True}
    assert WordVocab.from_json(data) == vocab
    assert WordVocab.from_json(data).encode("y q\n").tolist() == [1, 0, 2]


@pytest.mark.parametrize("data", [
    None, {}, {"level": "word", "tokens": ["<unk>"], "mode": "punct"},
    {"level": "char", "tokens": ["<unk>"], "mode": "punct", "eos": False},
    {"level": "word", "tokens": ["<unk>"], "mode": "words", "eos": False},
    {"level": "word", "tokens": ["<unk>"], "mode": "punct", "eos": "yes"},
    {"level": "word", "tokens": ["a", "b"], "mode": "punct", "eos": False},
    {"level": "word", "tokens": ["<unk>", "a", "a"], "mode": "punct", "eos": False},
    {"level": "word", "tokens": ["<unk>", "a b"], "mode": "punct", "eos": False},
    {"level": "word", "tokens": ["<unk>", ""], "mode": "punct", "eos": False},
    {"level": "word", "tokens": "<unk>", "mode": "punct", "eos": False},
])
def test_damaged_json_is_a_run_error(data):
    with pytest.raises(RunError):
        WordVocab.from_json(data)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from(["punct", "space"]), st.booleans())
def test_any_unicode_tokenizes_and_round_trips_stably(text, mode, eos):
    tokens = tokenize_words(text, mode, eos)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)
    vocab, count = build_word_vocab([text], mode, eos)
    assert count == len(tokens)
    ids = vocab.encode(text)
    assert (ids != vocab.unk_id).all() or "<unk>" in tokens  # in-vocabulary text has no unknowns
    shown = vocab.decode(ids)
    assert shown == detokenize(tokens)
    if eos or "<eos>" not in tokens:  # without eos, a literal "<eos>" shows as a line end, then reads as a space
        assert detokenize(tokenize_words(shown, mode, eos)) == shown  # what is shown reads back the same
    assert WordVocab.from_json(json.loads(json.dumps(vocab.to_json()))) == vocab


@pytest.mark.skipif(not PTB_VALID.exists(), reason="../shared/corpora/ptb.valid.txt is absent")
def test_ptb_valid_vocabulary():
    vocab, count = build_word_vocab([PTB_VALID.read_text(encoding="utf-8")], "space", eos=True)
    assert (len(vocab), count) == (6022, 73760)  # as pytorch/examples counts it: words plus one <eos> a line
    assert vocab.tokens[:4] == ("<unk>", "the", "<eos>", "N")


def test_bpe_round_trip():
    pytest.importorskip("tokenizers")
    from rnntext.text.levels.bpe import BpeVocab, train_bpe

    corpus = ["the cat sat on the mat.\nthe dog sat on the log.\n" * 20, "Über naïve café ✓ 日本語\n"]
    vocab = train_bpe(corpus, vocab_size=300, specials=("<s>", "</s>"))
    assert vocab.level == "bpe" and vocab.unk_id is None and 256 < len(vocab) <= 300
    assert vocab.tokens[:2] == ("<s>", "</s>")
    for text in ["the cat sat on the log.\n", "  odd\tspacing\n\nand emoji 🐈 ∑ never seen", ""]:
        ids = vocab.encode(text)
        assert ids.dtype == np.int64
        assert vocab.decode(ids) == text
    assert len(vocab.encode("the cat sat")) < len("the cat sat")  # merges were learned
    assert vocab.decode([0, *vocab.encode("hi"), 1]) == "<s>hi</s>"
    assert vocab.lookup(["Ġthe", "no such token"]).tolist() == [vocab.id("Ġthe"), -1]
    data = json.loads(json.dumps(vocab.to_json()))
    again = BpeVocab.from_json(data)
    assert again == vocab and again.tokens == vocab.tokens
    with pytest.raises(RunError):
        BpeVocab.from_json({**data, "tokenizer": data["tokenizer"][:100]})
    with pytest.raises(RunError):
        BpeVocab.from_json({**data, "tokens": data["tokens"][:-1]})
    with pytest.raises(RunError):
        BpeVocab.from_json({"level": "bpe"})
    with pytest.raises(ConfigError, match="vocab_size"):
        train_bpe(corpus, vocab_size=100)
