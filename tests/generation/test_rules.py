"""Sampling rules: validation, greedy equivalences, the pinned random-number design."""

import numpy as np
import pytest

from rnntext.errors import ConfigError
from rnntext.generation.rules import Rule, Sampler, Uniforms, choose, probabilities, top_tokens


def random_logits(b=6, v=11, seed=0):
    return np.random.default_rng(seed).normal(0, 2, (b, v)).astype(np.float32)


@pytest.mark.parametrize("kwargs,name", [
    ({"temperature": -0.1}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"top_k": -1}, "top_k"), ({"top_k": 1.5}, "top_k"),
    ({"top_p": 0.0}, "top_p"), ({"top_p": 1.01}, "top_p"),
])
def test_out_of_range_options_name_the_option(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        Rule(**kwargs)


def test_negative_seed_is_a_config_error():
    with pytest.raises(ConfigError, match="seed"):
        Uniforms(-1, 1)


def test_uniforms_are_the_spawned_streams_whatever_the_block():
    children = np.random.default_rng(42).spawn(3)
    want = np.stack([g.random(10) for g in children], axis=1)  # (T, B)
    for block in (1, 4, 0):
        u = Uniforms(42, 3, block=block)
        np.testing.assert_array_equal(np.stack([u.next().copy() for _ in range(10)]), want)


def test_inverse_cdf_is_pinned():
    # weights 1, 2, 1 (logits 0, ln 2, 0): cumulative 1, 3, 4 -> u * 4 against them
    logits = np.log(np.array([[1.0, 2.0, 1.0]] * 5, np.float32))
    u = np.array([0.0, 0.2499, 0.25, 0.7501, 0.999])
    np.testing.assert_array_equal(choose(logits, u, Rule()), [0, 0, 1, 2, 2])
    # a fixed seed gives fixed tokens: this pins the whole design (Uniforms + inverse CDF)
    u = Uniforms(0, 1)
    got = [int(choose(random_logits(1, 11), u.next(), Rule(temperature=0.7))[0]) for _ in range(8)]
    assert got == [7, 6, 6, 3, 6, 6, 2, 7]


def test_one_stream_and_batch_rows_choose_alike():
    logits, u = random_logits(8, 11), np.random.default_rng(1).random(8)
    for rule in (Rule(), Rule(temperature=0.5, top_k=3), Rule(top_p=0.6), Rule(temperature=3.0, top_k=5, top_p=0.9)):
        batch = choose(logits, u, rule)
        single = [choose(logits[j:j + 1], u[j:j + 1], rule)[0] for j in range(8)]
        np.testing.assert_array_equal(batch, single)


def test_greedy_equivalences():
    logits = random_logits(32, 11)
    u = np.random.default_rng(2).random(32)
    want = np.argmax(logits, axis=1)
    for rule in (Rule(greedy=True), Rule(temperature=0), Rule(top_k=1, temperature=5.0),
                 Rule(temperature=1e-6), Rule(top_p=1e-9, temperature=5.0)):
        np.testing.assert_array_equal(choose(logits, u, rule), want, err_msg=str(rule))


def test_filters_keep_only_what_they_promise():
    logits = random_logits(1, 11, seed=3)
    order = np.argsort(-logits[0], kind="stable")
    rng = np.random.default_rng(4)
    k_tokens = {int(choose(logits, rng.random(1), Rule(top_k=3, temperature=10.0))[0]) for _ in range(400)}
    assert k_tokens == set(order[:3].tolist())
    p = probabilities(logits)[0]
    nucleus = order[: int(np.searchsorted(np.cumsum(p[order]), 0.8)) + 1]
    p_tokens = {int(choose(logits, rng.random(1), Rule(top_p=0.8))[0]) for _ in range(2000)}
    assert p_tokens == set(nucleus.tolist())
    u = rng.random(50)
    batch = np.repeat(logits, 50, axis=0)
    np.testing.assert_array_equal(choose(batch, u, Rule(top_k=11)), choose(batch, u, Rule()))  # k = V is off


def test_frequencies_follow_the_softmax():
    logits = random_logits(1, 5, seed=5) / 2
    sampler, u = Sampler(Rule(temperature=1.0), 4000, 5), Uniforms(7, 4000)
    counts = np.bincount(sampler(np.repeat(logits, 4000, axis=0), u.next()), minlength=5)
    np.testing.assert_allclose(counts / 4000, probabilities(logits)[0], atol=0.03)


def test_top_tokens_and_probabilities():
    probs = probabilities(np.array([[0.0, 2.0, 1.0]]))[0]
    assert probs.sum() == pytest.approx(1.0)
    assert [t for t, _ in top_tokens(probs, 2)] == [1, 2]
