"""Model-level behaviour: carried state, stepping, dropout, masks, initialisation, no torch."""

import subprocess
import sys

import numpy as np
import pytest

from rnntext import cells
from rnntext.config import ModelConfig
from rnntext.engines.numpy.network import cross_entropy, forward, loss_and_grads, zero_state
from rnntext.model.parameters import init_params, param_shapes

V = 11


def _model(cell="lstm", embed_size=5, dtype=np.float64, **kw):
    cfg = ModelConfig(cell=cell, num_layers=2, hidden_size=(7, 6), embed_size=embed_size, **kw)
    return cfg, init_params(cfg, V, np.random.default_rng(0), dtype)


@pytest.mark.parametrize("cell", cells.names())
@pytest.mark.parametrize("embed_size", [0, 5])
def test_one_long_pass_equals_chunks_with_carried_state(cell, embed_size):
    cfg, params = _model(cell, embed_size)
    x = np.random.default_rng(1).integers(0, V, (3, 24))
    whole, final, _ = forward(params, cfg, x)
    state, pieces = None, []
    for start in range(0, 24, 5):  # uneven chunks: 5, 5, 5, 5, 4
        logits, state, _ = forward(params, cfg, x[:, start : start + 5], state)
        pieces.append(logits)
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, rtol=1e-12, atol=1e-12)
    for a, b in zip(np.concatenate([np.ravel(s) for s in state]), np.concatenate([np.ravel(s) for s in final])):
        assert a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("cell", cells.names())
def test_step_by_step_sampling_equals_forward(cell):
    cfg, params = _model(cell, 0, np.float32)
    x = np.random.default_rng(2).integers(0, V, (4, 6))
    whole, _, _ = forward(params, cfg, x)
    state = zero_state(cfg, 4, np.float32)
    for t in range(6):
        logits, state, _ = forward(params, cfg, x[:, t:t + 1], state)  # one step, as sampling takes it
        np.testing.assert_allclose(logits[:, 0], whole[:, t], rtol=1e-5, atol=1e-6)
    assert logits.dtype == np.float32


def test_loss_and_grads_returns_the_carried_state_and_follows_the_dtype():
    cfg, params = _model("lstm", 5, np.float32)
    x = np.random.default_rng(3).integers(0, V, (2, 4))
    loss, grads, state = loss_and_grads(params, cfg, x, x, train=False)
    _, expected, _ = forward(params, cfg, x)
    np.testing.assert_array_equal(state[1][1], expected[1][1])
    assert all(g.dtype == np.float32 and g.shape == params[n].shape for n, g in grads.items())
    assert loss == pytest.approx(np.log(V), rel=0.2)  # a fresh model is close to uniform


def test_dropout_only_in_training_and_reproducible_with_the_seed():
    cfg, params = _model("lstm", 5, dropout=0.5)
    x = np.random.default_rng(4).integers(0, V, (2, 8))
    plain, _, _ = forward(params, cfg, x)
    evaluated, _, _ = forward(params, cfg, x, train=False, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(plain, evaluated)
    a, _, _ = forward(params, cfg, x, train=True, rng=np.random.default_rng(9))
    b, _, _ = forward(params, cfg, x, train=True, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, plain)
    with pytest.raises(ValueError, match="rng"):
        forward(params, cfg, x, train=True)


def test_weight_drop_masks_whole_recurrent_weights_in_training_only():
    cfg, params = _model("lstm", 5, dropout=0.0, weight_drop=0.5)
    x = np.random.default_rng(4).integers(0, V, (2, 8))
    plain, _, _ = forward(params, cfg, x)
    np.testing.assert_array_equal(forward(params, cfg, x, train=False, rng=np.random.default_rng(9))[0], plain)
    dropped, _, _ = forward(params, cfg, x, train=True, rng=np.random.default_rng(9))
    assert not np.allclose(dropped, plain)
    _, grads, _ = loss_and_grads(params, cfg, x, x, train=True, rng=np.random.default_rng(9))
    zero = grads["rnn.weight_hh_l0"] == 0  # dropped connections get no gradient: about half of them
    assert 0.3 < zero.mean() < 0.7 and not (grads["rnn.weight_ih_l0"] == 0).any()


def test_masked_positions_do_not_count():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((2, 3, V))
    y = rng.integers(0, V, (2, 3))
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    loss, dlogits = cross_entropy(logits, y, mask)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, y[..., None], -1)[..., 0]
    assert loss == pytest.approx((nll * mask).sum() / 3, rel=1e-12)
    assert np.all(dlogits[mask == 0] == 0)
    np.testing.assert_allclose(dlogits.sum(-1), 0, atol=1e-15)  # softmax minus one-hot sums to zero


def test_l2_adds_half_l2_times_squared_weights_and_not_biases():
    cfg, params = _model("rnn_tanh", 5)
    x = np.random.default_rng(6).integers(0, V, (2, 4))
    base, g0, _ = loss_and_grads(params, cfg, x, x, train=False)
    reg, g1, _ = loss_and_grads(params, cfg, x, x, l2=0.1, train=False)
    weights = [n for n in params if "weight" in n]
    assert reg - base == pytest.approx(0.05 * sum((params[n] ** 2).sum() for n in weights), rel=1e-12)
    np.testing.assert_allclose(g1["rnn.weight_hh_l1"] - g0["rnn.weight_hh_l1"], 0.1 * params["rnn.weight_hh_l1"])
    np.testing.assert_array_equal(g1["output.bias"], g0["output.bias"])


def test_tied_weights_have_no_output_weight():
    cfg, params = _model("gru", 6, tie_weights=True)
    assert "output.weight" not in params and params["embedding.weight"].shape == (V, 6)
    _, grads, _ = loss_and_grads(params, cfg, np.zeros((1, 3), int), np.ones((1, 3), int), train=False)
    assert sorted(grads) == sorted(params)


@pytest.mark.parametrize("init", ["default", "uniform", "xavier", "caffe"])
def test_init_shapes_dtype_and_forget_bias(init):
    cfg = ModelConfig(cell="lstm", num_layers=2, hidden_size=(8, 4), embed_size=0, init=init, forget_bias=1.0)
    params = init_params(cfg, V, np.random.default_rng(0), np.float32)
    assert {n: p.shape for n, p in params.items()} == param_shapes(cfg, V)
    assert all(p.dtype == np.float32 for p in params.values())
    for k, H in enumerate((8, 4)):
        forget = params[f"rnn.bias_ih_l{k}"][H : 2 * H] + params[f"rnn.bias_hh_l{k}"][H : 2 * H]
        np.testing.assert_allclose(forget, 1.0)
    if init == "xavier":  # each recurrent gate block is orthogonal
        block = params["rnn.weight_hh_l0"][8:16].astype(np.float64)
        np.testing.assert_allclose(block @ block.T, np.eye(8), atol=1e-5)


def test_the_engine_never_imports_torch():
    code = "import sys, rnntext.engines.numpy; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("num_rows", [13, 5000])  # the one-hot matmul path and the np.add.at path
def test_scatter_rows_sums_repeated_rows(num_rows):
    from rnntext.engines.numpy.network import _scatter_rows

    rng = np.random.default_rng(7)
    rows = rng.integers(0, num_rows, 1000)
    values = rng.standard_normal((1000, 3))
    expected = np.zeros((num_rows, 3))
    for r, v in zip(rows, values):
        expected[r] += v
    np.testing.assert_allclose(_scatter_rows(values, rows, num_rows), expected, atol=1e-12)
