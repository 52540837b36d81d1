"""The NumPy runtime against the torch engine (RNNLM, the cell's fused kernels) on the same weights."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from rnntext import cells
from rnntext.config import ModelConfig
from rnntext.engines.torch.module import RNNLM
from rnntext.errors import RunError
from rnntext.generation.rules import Rule
from rnntext.generation.runtime import Runtime

V = 7


def reference(cfg: ModelConfig, seed: int = 0):
    """The torch engine's model and its weights under PyTorch's names."""
    torch.manual_seed(seed)
    model = RNNLM(cfg, V).eval()
    with torch.no_grad():  # biases away from zero so that a misplaced one shows
        for name, p in model.named_parameters():
            if "bias" in name:
                p.add_(torch.rand_like(p) * 0.4 - 0.2)
    weights = {k: v.numpy().copy() for k, v in model.weights().items()}

    def run(ids, state):
        """ids (B, T) -> logits (B, T, V) and the new state (one entry per layer; None: zeros)."""
        with torch.no_grad():
            logits, new = model(torch.as_tensor(ids), state)
        return logits.numpy(), new

    return weights, run


CASES = [(cell, layers, embed) for cell in cells.names() for layers in (1, 2) for embed in (0, 5)]


@pytest.mark.parametrize("cell,num_layers,embed", CASES)
def test_logits_match_torch_after_prime_and_steps(cell, num_layers, embed):
    hidden = (6,) if num_layers == 1 else (6, 4)
    cfg = ModelConfig(cell=cell, num_layers=num_layers, hidden_size=hidden, embed_size=embed)
    weights, run = reference(cfg)
    prime = [3, 1, 4, 1, 5, 0, 2, 6, 5]
    streams = Runtime(cfg, V, weights).streams(3)
    with torch.no_grad():
        want, state = run(np.array([prime] * 3), None)
        got = streams.prime(prime)
        np.testing.assert_allclose(got, want[:, -1], atol=1e-5, rtol=0)
        steps = np.array([[2, 0, 6], [5, 5, 1], [0, 3, 3], [6, 2, 4]])  # (T, B): each stream its own tokens
        for ids in steps:
            want, state = run(ids[:, None], state)
            np.testing.assert_allclose(streams.step(ids), want[:, -1], atol=1e-5, rtol=0)


def test_single_stream_and_tied_weights_match_torch():
    cfg = ModelConfig(cell="lstm", num_layers=2, hidden_size=(6, 5), embed_size=5, tie_weights=True)
    weights, run = reference(cfg, seed=1)
    streams = Runtime(cfg, V, weights).streams(1)
    with torch.no_grad():
        want, state = run(np.array([[1, 2, 3]]), None)
        np.testing.assert_allclose(streams.prime([1, 2, 3]), want[:, -1], atol=1e-5, rtol=0)
        for t in (4, 0, 6):
            want, state = run(np.array([[t]]), state)
            np.testing.assert_allclose(streams.step([t]), want[:, -1], atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", cells.names())
def test_prime_pass_equals_token_by_token_and_continues_from_state(cell):
    cfg = ModelConfig(cell=cell, num_layers=2, hidden_size=(6, 4), embed_size=5)
    weights, _ = reference(cfg)
    runtime = Runtime(cfg, V, weights)
    whole, stepped = runtime.streams(1), runtime.streams(1)
    ids = [3, 1, 4, 1, 5, 0, 2]
    whole.prime(ids[:4])
    got = whole.prime(ids[4:]).copy()  # a second prime continues from the state
    for t in ids:
        want = stepped.step([t])
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_stream_zero_of_a_batch_is_the_single_stream_text():
    cfg = ModelConfig(cell="gru", num_layers=2, hidden_size=(6, 4), embed_size=5)
    runtime = Runtime(cfg, V, reference(cfg)[0])
    one, many = runtime.streams(1), runtime.streams(5)
    one.prime([1, 2])
    many.prime([1, 2])
    rule = Rule(temperature=1.5)
    a = np.stack(list(one.generate(40, rule, seed=9)))       # (T, 1)
    b = np.stack(list(many.generate(40, rule, seed=9)))      # (T, 5)
    np.testing.assert_array_equal(a[:, 0], b[:, 0])
    assert len({tuple(b[:, j]) for j in range(5)}) == 5      # the streams differ from each other
    one.reset()
    one.prime([1, 2])
    np.testing.assert_array_equal(np.stack(list(one.generate(40, rule, seed=9))), a)  # reproducible


def test_greedy_generation_follows_the_argmax_and_stop_token_ends_streams():
    cfg = ModelConfig(cell="lstm", num_layers=1, hidden_size=(6,), embed_size=0)
    runtime = Runtime(cfg, V, reference(cfg)[0])
    streams = runtime.streams(1)
    streams.prime([0])
    check = runtime.streams(1)
    want = np.argmax(check.prime([0]), axis=1)
    for ids in streams.generate(10, Rule(greedy=True)):
        assert ids[0] == want[0] == np.argmax(streams.logits[0])  # logits: what ids were drawn from
        want = np.argmax(check.step(ids), axis=1)
    batch = runtime.streams(4)
    batch.prime([2])
    out = np.stack(list(batch.generate(200, Rule(temperature=2.0), seed=3, stop=5)))  # (T, 4)
    assert len(out) < 200  # every stream met the end token
    for col in out.T:
        end = list(col).index(5)
        assert (col[end + 1:] == -1).all() and (col[:end] >= 0).all()


def test_mismatched_weights_are_a_run_error():
    cfg = ModelConfig(cell="lstm", num_layers=1, hidden_size=(6,), embed_size=5)
    weights, _ = reference(cfg)
    with pytest.raises(RunError, match="rnn.weight_hh_l0"):
        Runtime(cfg, V, {**weights, "rnn.weight_hh_l0": np.zeros((24, 5))})
    with pytest.raises(RunError, match="output.weight"):
        Runtime(cfg, V, {k: v for k, v in weights.items() if k != "output.weight"})


def test_generation_does_not_import_torch():
    code = "import sys, rnntext.generation; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


RULES = [Rule(temperature=0.8), Rule(temperature=1.7), Rule(greedy=True), Rule(top_k=3), Rule(top_p=0.7, temperature=1.3)]


@pytest.mark.parametrize("cell", cells.names())
@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_one_streams_loop_draws_what_the_general_loop_draws(cell, rule):
    from rnntext.generation import runtime as rt

    cfg = ModelConfig(cell=cell, num_layers=2, hidden_size=(6, 4), embed_size=5)
    runtime = Runtime(cfg, V, reference(cfg)[0])
    lone, general = runtime.streams(1), runtime.streams(1)
    lone.prime([1, 2])
    general.prime([1, 2])
    fast = rt.generate(lone, 1500, rule, seed=4)
    assert fast.gi_code.co_name == "_lone"  # one stream, no stop, no penalty: the short loop
    a = np.stack(list(fast))
    b = np.stack(list(rt._steps(general, 1500, rule, 4, None, None)))
    assert a.dtype == b.dtype == np.int64 and a.shape == b.shape == (1500, 1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(lone.logits, general.logits)  # the state it left, bit for bit
    assert len(set(a[:, 0])) > 1 or rule.is_greedy
