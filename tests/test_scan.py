"""The parallel scan of the cells without recurrent weights (rnntext.cells.parallel_scan) against a
plain loop over time: values in float64 and float32 at T = 800, gradients, extreme coefficients,
and that the torch layer's work does not grow with a loop over time steps."""

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from rnntext import cells
from rnntext.cells.parallel_scan import linear_scan, scan

T, B, H = 800, 3, 16


def _loop(a, b, h0):
    h, out = h0, []
    for t in range(len(a)):
        h = a[t] * h + b[t]
        out.append(h)
    return torch.stack(out)


def _case(scale=4.0, seed=0, dtype=torch.float64, length=T):
    """Coefficients from saturated to balanced (sigmoid of wide normals, most near 1: long
    memories), signed inputs, a nonzero carried state."""
    g = torch.Generator().manual_seed(seed)
    a = torch.sigmoid(scale * torch.randn(length, B, H, generator=g, dtype=dtype) + 2)
    return a, torch.randn(length, B, H, generator=g, dtype=dtype), torch.randn(B, H, generator=g, dtype=dtype)


@pytest.mark.parametrize("scale", [1.0, 12.0])
def test_matches_the_loop_at_T800_in_float64_and_float32(scale):
    a, b, h0 = _case(scale)
    exact = _loop(a, b, h0)
    assert exact.abs().max() > 3  # long memories: values build up over many steps
    np.testing.assert_allclose(scan(a, b, h0), exact, rtol=0, atol=1e-13)
    as32 = [t.float() for t in (a, b, h0)]
    err_scan = (scan(*as32).double() - exact).abs().max().item()
    err_loop = (_loop(*as32).double() - exact).abs().max().item()
    # float32: as close as the loop run in float32 (both ~1e-6 at |h| ~ 10), and small outright
    assert err_scan < 1e-5 and err_scan < 3 * err_loop


def test_every_length_and_the_reverse_direction():
    for length in (1, 2, 3, 5, 8, 9, 16, 17, 64, 65, 130, 1000):  # direct, blocked, blocked twice
        a, b, h0 = _case(seed=length, length=length)
        np.testing.assert_allclose(scan(a, b, h0), _loop(a, b, h0), rtol=0, atol=1e-13)
        backwards = _loop(a.flip(0), b.flip(0), torch.zeros_like(h0)).flip(0)
        np.testing.assert_allclose(scan(a, b, None, reverse=True), backwards, rtol=0, atol=1e-13)


def test_inputs_are_left_unchanged():
    a, b, h0 = _case(length=9)
    copies = [t.clone() for t in (a, b, h0)]
    scan(a, b, h0)
    scan(a, b, None, reverse=True)
    assert all(torch.equal(x, y) for x, y in zip((a, b, h0), copies))


def test_gradients_match_autograd_through_the_loop():
    a, b, h0 = (t.requires_grad_() for t in _case(length=T))
    weights = torch.randn(T, B, H, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    (linear_scan(a, b, h0) * weights).sum().backward()
    ours = [t.grad.clone() for t in (a, b, h0)]
    for t in (a, b, h0):
        t.grad = None
    (_loop(a, b, h0) * weights).sum().backward()
    for mine, theirs in zip(ours, (a.grad, b.grad, h0.grad)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-10)
    small = [t.detach()[:6].clone().requires_grad_() for t in (a, b)] + [h0.detach().clone().requires_grad_()]
    assert torch.autograd.gradcheck(linear_scan, small)


def test_extreme_coefficients_stay_finite_in_float32():
    """Coefficients that underflow over the window (products below 1e-38) and that are exactly 0
    or 1: no division or logarithm, so nothing becomes inf or nan."""
    a, b, h0 = (t.float() for t in _case(scale=40.0))
    a[100:110] = 0.0
    a[200:300] = 1.0
    a[400:500] = 1e-30
    out = scan(a, b, h0)
    assert torch.isfinite(out).all()
    np.testing.assert_allclose(out, _loop(a, b, h0), rtol=0, atol=1e-4)


class _CountCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("name", [n for n in cells.names() if not cells.get(n).recurrent])
def test_the_torch_layer_has_no_loop_over_time(name):
    """Forward and backward of a layer: torch calls grow with log T, not with T."""
    cell = cells.get(name)
    calls = {}
    for length in (50, 800):
        w = torch.randn(cell.gates * H, 5, requires_grad=True)
        bias = torch.zeros(cell.gates * H, requires_grad=True)
        with _CountCalls() as count:
            out, state = cell.torch_layer(torch.randn(B, length, 5), torch.zeros(1, B, H), [w, bias], True)
            out.sum().backward()
        assert out.shape == (B, length, H) and state.shape == (1, B, H) and w.grad.abs().sum() > 0
        calls[length] = count.calls
    # 16 times the steps: one more level of blocks each way (144 and 287 calls when written); a
    # loop over time steps would make at least 2 x 800
    assert calls[800] < 2.5 * calls[50] and calls[800] < 400, calls
