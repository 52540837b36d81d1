"""Steering generation: the repetition penalty, stop strings and beam search."""

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntext import cells
from rnntext.api import Model
from rnntext.config import DataConfig, ModelConfig
from rnntext.errors import ConfigError
from rnntext.generation.beam import beam_search, log_softmax
from rnntext.generation.rules import Penalty, Rule, penalize
from rnntext.generation.runtime import Runtime, generate
from rnntext.generation.stops import StopText, StopWatch, cut
from rnntext.model.parameters import init_params
from rnntext.model.saved import RunInfo
from rnntext.text import levels

# -- the repetition penalty ------------------------------------------------------------------


def test_the_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens():
    logits = np.array([[2.0, -1.0, 0.5, 3.0, 0.0, -4.0]], np.float32)
    seen = np.array([[True, True, False, False, True, False]])
    np.testing.assert_array_equal(penalize(logits, seen, 2.0), [[1.0, -2.0, 0.5, 3.0, 0.0, -4.0]])
    np.testing.assert_array_equal(penalize(logits, seen, 0.5), [[4.0, -0.5, 0.5, 3.0, 0.0, -4.0]])
    np.testing.assert_array_equal(penalize(logits, seen, 1.0), logits)
    pen = Penalty(1.25, 2, 3)
    pen.saw(np.array([2, -1]))  # a stopped stream (-1) notes nothing
    np.testing.assert_array_equal(pen(np.ones((2, 3), np.float32)), np.float32([[1, 1, 1 / 1.25], [1, 1, 1]]))
    assert Penalty(1.0, 2, 3)(logits) is logits  # off: the logits themselves, no copy


class Fixed:
    """Streams whose logits are the same after every token: the rules alone decide."""

    def __init__(self, logits):
        self.base = np.asarray(logits, np.float32)
        self.B, self.V = self.base.shape
        self.logits, self.primed = self.base.copy(), True

    def step(self, ids):
        self.logits = self.base.copy()

    def reorder(self, indices):
        pass


def test_the_penalty_steers_greedy_generation_away_from_its_tokens():
    # Token 0 first (3.0); then 3.0 / 2 = 1.5 < 2.9: token 1; then 1.5 and 1.45 < 2.0: token 2;
    # then 1.5 > 1.45 > 1.0: token 0 again; a negative logit grows more negative (-1 -> -2).
    streams = Fixed([[3.0, 2.9, 2.0, -1.0]])
    steps = list(generate(streams, 5, Rule(greedy=True, repetition_penalty=2.0)))
    assert [int(s[0]) for s in steps] == [0, 1, 2, 0, 0]
    streams = Fixed([[-1.0, -1.5, -3.0]])
    assert [int(s[0]) for s in generate(streams, 3, Rule(greedy=True, repetition_penalty=2.0))] == [0, 1, 0]


def test_a_penalty_of_one_samples_exactly_as_without():
    streams = Fixed(np.random.default_rng(0).normal(size=(3, 9)))
    plain = np.stack(list(generate(streams, 40, Rule(), seed=3)))
    again = np.stack(list(generate(streams, 40, Rule(repetition_penalty=1.0), seed=3)))
    steered = np.stack(list(generate(streams, 40, Rule(repetition_penalty=3.0), seed=3)))
    np.testing.assert_array_equal(plain, again)
    assert (plain != steered).any()


# -- stop strings ----------------------------------------------------------------------------


def test_cut_ends_at_the_stop_string_completed_first():
    assert cut("hello world", ("o w",)) == "hell"
    assert cut("abc", ("abc", "b")) == "a"  # "b" is complete before "abc"
    assert cut("xabcd", ("bc", "abc")) == "x"  # both complete at "c": the one that starts first
    assert cut("abc", ()) == "abc" and cut("abc", ("x",)) == "abc"
    assert cut("ab\n", ("\n\n",), partial=True) == "ab"  # might become the stop string: held back
    assert cut("ab\n", ("\n\n",)) == "ab\n"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab\n", max_size=30), st.lists(st.text(alphabet="ab\n", min_size=1, max_size=3), min_size=1,
                                                          max_size=3), st.lists(st.integers(0, 30), max_size=6))
def test_stop_text_piece_by_piece_shows_exactly_the_cut_text(text, stops, cuts):
    bounds = sorted({0, len(text), *[min(c, len(text)) for c in cuts]})
    shown, pieces = StopText(stops), []
    for a, b in zip(bounds, bounds[1:]):
        pieces.append(shown.feed(text[a:b]))
        assert not any(s in "".join(pieces) for s in stops)  # never shown, not even for a moment
    assert "".join(pieces) + shown.flush() == cut(text, stops)
    assert shown.stopped == (cut(text, stops) != text or any(s in text for s in stops))


def tiny_model(level: str, text: str, seed: int = 0, **model) -> Model:
    """An untrained model of `level` over `text`'s vocabulary (random weights: varied text)."""
    data = DataConfig(level=level, vocab_size=300)
    vocab, _ = levels.build(data, [text])
    cfg = ModelConfig(num_layers=1, hidden_size=(16,), embed_size=8, dropout=0.0, weight_drop=0.0, **model)
    weights = init_params(cfg, len(vocab), np.random.default_rng(seed))
    weights["output.weight"] *= 4  # sharper distributions than an untrained model's
    return Model(RunInfo(Path("."), cfg, vocab, dataclasses.asdict(data), {}), weights)


LEVELS = [("char", "the quick brown fox; the lazy dog.\n", ("e ", "x;")),
          ("byte", "café où l'été, naïve ü\n", ("é", "ü")),  # two bytes each: a stop spans two tokens
          ("word", "the quick brown fox jumps over the lazy dog .\n", ("quick brown", "dog")),
          ("bpe", "the quick brown fox jumps over the lazy dog.\n" * 3, ("ow", "he"))]  # inside tokens too


@pytest.mark.parametrize("level,text,stops", LEVELS, ids=[c[0] for c in LEVELS])
def test_a_stop_string_ends_each_sample_and_never_shows(level, text, stops):
    if level == "bpe":
        pytest.importorskip("tokenizers")
    model = tiny_model(level, text)
    options = {"length": 150, "num_samples": 6, "seed": 5}
    full = model.generate("", **options)
    stopped = model.generate("", stop=stops, **options)
    assert sum(any(s in t for s in stops) for t in full) >= 2  # most samples do reach one
    for whole, short in zip(full, stopped):
        assert not any(s in short for s in stops)
        assert short == cut(whole, stops)
    steps = [ids for _, ids in model.stream_ids("", stop=stops, **options)]
    ended = (np.stack(steps, axis=1) < 0).any(axis=1)  # a stream that stopped yields -1 from then on
    assert ended.sum() >= 2 and all(any(s in whole for s in stops) for whole, e in zip(full, ended) if e)
    few = {**options, "num_samples": 2, "length": 3000}
    assert len(list(model.stream_ids("", stop=stops, **few))) < 3000  # ends once every sample has stopped
    decoder = model.decoder(stops)  # streamed as it comes: the same text, never a stop string
    one = [int(ids[0]) for _, ids in model.stream_ids("", stop=stops, **{**options, "num_samples": 1})]
    pieces = [decoder.feed([i]) for i in one]
    assert "".join(pieces) + decoder.flush() == stopped[0]
    for n in range(1, len(steps)):  # what a stream shows while the samples go on (serve's flushes)
        assert not any(s in t for t in model.decode_steps(steps[:n], 6, stops, partial=True) for s in stops)


def test_stop_options_are_checked_once(tmp_path):
    model = tiny_model("char", "abc\n")
    for bad in (("",), (1,)):
        with pytest.raises(ConfigError, match="stop"):
            model.generate("a", stop=bad)
    assert model.sample_config(stop="a,b").stop == ("a,b",)  # one text is one stop string, commas and all
    assert model.sample_config(stop=["a", "b"]).stop == ("a", "b")


# -- beam search -----------------------------------------------------------------------------

V = 7


def runtime(cell: str = "lstm", vocab: int = V, seed: int = 0) -> Runtime:
    cfg = ModelConfig(cell=cell, num_layers=2, hidden_size=(6, 5), embed_size=4, dropout=0.0, weight_drop=0.0)
    weights = init_params(cfg, vocab, np.random.default_rng(seed))
    weights["output.weight"] *= 3
    return Runtime(cfg, vocab, weights)


@pytest.mark.parametrize("cell", cells.names())
@pytest.mark.parametrize("end,penalty", [(None, 1.0), (2, 1.0), (None, 1.6)])
def test_beam_of_one_is_greedy(cell, end, penalty):
    rt = runtime(cell)
    streams = rt.streams(1)
    streams.prime([1, 4, 2])
    greedy = [int(s[0]) for s in generate(streams, 40, Rule(greedy=True, repetition_penalty=penalty), stop=end)]
    greedy = [t for t in greedy if t >= 0]
    streams = rt.streams(1)
    streams.prime([1, 4, 2])
    assert beam_search(streams, 40, 1, penalty=penalty, end=end) == [greedy]


def path_score(rt, prime, tokens) -> float:
    """Average log-probability of `tokens` after `prime`, stepping one stream."""
    streams = rt.streams(1)
    logits, total = streams.prime(prime), 0.0
    for t in tokens:
        total += log_softmax(logits)[0, t]
        logits = streams.step([t])
    return total / len(tokens)


@pytest.mark.parametrize("end", [None, 0])
def test_a_beam_as_wide_as_every_path_finds_the_best_one(end):
    rt = runtime("gru", vocab=3, seed=2)
    paths = []
    for tokens in itertools.product(range(3), repeat=3):
        if end is not None and end in tokens:
            tokens = tokens[:tokens.index(end) + 1]
        paths.append(list(tokens))
    scores = {tuple(p): path_score(rt, [1], p) for p in paths}
    streams = rt.streams(27)
    streams.prime([1])
    found = beam_search(streams, 3, 27, count=5, end=end)
    ranked = sorted(scores, key=scores.get, reverse=True)
    assert [tuple(f) for f in found] == ranked[:5]


def test_beam_search_is_deterministic_and_ranked(tmp_path):
    rt = runtime("lstm", seed=4)
    results = []
    for _ in range(2):
        streams = rt.streams(4)
        streams.prime([3, 1])
        results.append(beam_search(streams, 12, 4, count=4, end=5))
    assert results[0] == results[1] and len({tuple(r) for r in results[0]}) == 4
    scores = [path_score(rt, [3, 1], r) for r in results[0]]
    assert scores == sorted(scores, reverse=True)


def test_beam_options_through_the_model():
    model = tiny_model("char", "the quick brown fox; the lazy dog.\n", seed=1)
    assert model.generate("the ", length=50, beam=1) == model.generate("the ", length=50, greedy=True)
    best = model.generate("the ", length=50, beam=4, num_samples=3, stop=("o",))
    assert len(best) == 3 and not any("o" in t for t in best)
    with pytest.raises(ConfigError, match="num_samples"):
        model.generate("the ", beam=2, num_samples=3)
    with pytest.raises(ConfigError, match="beam"):
        model.generate("the ", beam=2, engine="torch")


@pytest.mark.parametrize("cell", cells.names())
def test_reorder_copies_each_streams_whole_state(cell):
    rt = runtime(cell)
    streams, twin = rt.streams(3), rt.streams(1)
    streams.prime([1, 2])
    twin.prime([1, 2])
    for ids in ([0, 3, 5], [4, 4, 1]):
        streams.step(np.array(ids))
    twin.step([5])
    twin.step([1])  # the path stream 2 took
    streams.reorder([2, 2, 0])
    np.testing.assert_array_equal(streams.logits[0], streams.logits[1])
    np.testing.assert_allclose(streams.logits[1], twin.logits[0], atol=1e-6)
    got = streams.step(np.array([6, 6, 6]))
    np.testing.assert_allclose(got[:2], np.repeat(twin.step([6]), 2, axis=0), atol=1e-6)
    with pytest.raises(ValueError):
        streams.reorder([0, 3, 1])


def test_stop_watch_rows_follow_their_beams():
    model = tiny_model("char", "abc\n")
    ids = {c: model.vocab.id(c) for c in "abc"}
    watch = StopWatch(model.decoder, ("ab",), 2)
    assert watch(np.array([ids["a"], ids["b"]])).tolist() == [False, False]
    watch.reorder([1, 0, 0])  # three rows now: "b", "a", "a"
    assert watch(np.array([ids["b"], ids["b"], ids["c"]])).tolist() == [False, True, False]
