"""The NumPy engine against the torch engine's fused kernels (torch.lstm, ...) on copied weights:
logits, loss, every gradient, state, for every registered cell."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnntext import cells
from rnntext.config import ModelConfig
from rnntext.engines.numpy.network import forward, loss_and_grads
from rnntext.engines.torch.module import RecurrentStack
from rnntext.model.parameters import init_params

B, T, V = 3, 5, 7
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}


def _torch_layers(cfg, dtype):
    """The torch engine's recurrent layers, each one call of the cell's fused kernel."""
    stack = RecurrentStack(cfg.cell, cfg.embed_size or V, cfg.hidden_sizes)
    return stack.to(torch.float64 if dtype == np.float64 else torch.float32)


def _copy_in(params, cfg, stack):
    """Torch leaf tensors under the NumPy engine's names, holding the same values."""
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    for name, _ in list(stack.named_parameters()):
        # nn.Parameter on an existing leaf shares its storage and grad; keep the Parameter
        setattr(stack, name, nn.Parameter(tensors[f"rnn.{name}"]))
        tensors[f"rnn.{name}"] = getattr(stack, name)
    return tensors


def _torch_loss(tensors, cfg, stack, x, y, state, mask, l2):
    xt = torch.tensor(x)
    if cfg.embed_size:
        h = F.embedding(xt, tensors["embedding.weight"])
    else:
        h = F.one_hot(xt, V).to(tensors["output.bias"].dtype)
    finals, cell = [], cells.get(cfg.cell)
    for k, s in enumerate(state):
        h, final = stack.run_layer(k, h, cell.layer_state(torch.tensor(a)[None] for a in cell.parts(s)))
        finals.append(final)
    w_out = tensors["embedding.weight"] if cfg.tie_weights else tensors["output.weight"]
    logits = F.linear(h, w_out, tensors["output.bias"])  # (B, T, V)
    nll = F.cross_entropy(logits.reshape(B * T, V), torch.tensor(y).reshape(-1), reduction="none")
    m = torch.tensor(mask).reshape(-1)
    loss = (m * nll).sum() / m.sum()
    if l2:
        loss = loss + 0.5 * l2 * sum((p**2).sum() for n, p in tensors.items() if "weight" in n)
    return logits, loss, finals


def _case(cell, num_layers, embed_size, dtype, tie=False, seed=0):
    hidden = (8, 5, 6)[:num_layers] if num_layers > 1 else (8,)
    if tie:
        embed_size = hidden[-1]
    cfg = ModelConfig(cell=cell, num_layers=num_layers, hidden_size=hidden, embed_size=embed_size, tie_weights=tie)
    rng = np.random.default_rng(seed)
    params = init_params(cfg, V, rng, dtype)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    mask = (rng.random((B, T)) > 0.3).astype(dtype)
    mask[0, 0] = 1
    parts = cells.get(cell).state_parts
    # a nonzero initial state exercises the recurrent path from the very first step
    state = [cells.get(cell).layer_state([rng.uniform(-0.8, 0.8, (B, H)).astype(dtype) for _ in parts])
             for H in hidden]
    return cfg, params, x, y, mask, state


def _close(actual, expected, tol):
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("embed_size", [0, 4])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("cell", cells.names())
def test_logits_loss_gradients_and_state_match_torch(cell, num_layers, embed_size, dtype):
    _check_parity(*_case(cell, num_layers, embed_size, dtype), l2=0.0, tol=TOLERANCE[dtype])


@pytest.mark.parametrize("cell", cells.names())
def test_tied_weights_and_l2_match_torch(cell):
    _check_parity(*_case(cell, 3, 0, np.float64, tie=True, seed=5), l2=0.03, tol=1e-10)


def _check_parity(cfg, params, x, y, mask, state, l2, tol):
    stack = _torch_layers(cfg, params["output.bias"].dtype.type)
    tensors = _copy_in(params, cfg, stack)
    t_logits, t_loss, t_finals = _torch_loss(tensors, cfg, stack, x, y, state, mask, l2)
    t_loss.backward()

    logits, _, _ = forward(params, cfg, x, state)
    loss, grads, new_state = loss_and_grads(params, cfg, x, y, state, mask, l2=l2, train=False)
    _close(logits, t_logits.detach().numpy(), tol)
    _close(loss, t_loss.item(), tol)
    assert sorted(grads) == sorted(params)
    for name, g in grads.items():
        assert g.dtype == params[name].dtype, name
        _close(g, tensors[name].grad.numpy(), tol)
    cell = cells.get(cfg.cell)
    assert len(new_state) == len(t_finals) == cfg.num_layers
    for ours, theirs in zip(new_state, t_finals):
        for a, b in zip(cell.parts(ours), cell.parts(theirs), strict=True):
            _close(a, b[0].detach().numpy(), tol)


def test_parameter_names_are_torchs_for_a_stacked_module():
    cfg = ModelConfig(cell="gru", num_layers=2, hidden_size=(6,), embed_size=4)
    params = init_params(cfg, V, np.random.default_rng(0))
    module = nn.ModuleDict({"embedding": nn.Embedding(V, 4), "rnn": nn.GRU(4, 6, 2), "output": nn.Linear(6, V)})
    expected = {name: tuple(p.shape) for name, p in module.state_dict().items()}
    assert {name: p.shape for name, p in params.items()} == expected
