"""Gradient checks: hand-written backward passes against central differences.

The relative error of a parameter is norm-based over the whole array,

    ||a - n||_2 / max(||a||_2 + ||n||_2, 1e-300)

with a the analytic and n the numerical gradient. An element-wise max of |a - n| / (|a| + |n|)
would flag entries whose true gradient is ~0 (unseen one-hot columns, saturated units), where
the difference quotient is all round-off; the norm weighs each entry by its size instead.
Dimensions are small and all different (B, T, D, H, V = 2, 3, 4, 5, 6; layers 5, 7, 3 wide) so
that a transposed or mis-sliced weight cannot pass by accident.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnntext import cells
from rnntext.config import ModelConfig
from rnntext.engines.numpy.network import loss_and_grads
from rnntext.model.parameters import param_shapes

HIDDEN_CYCLE = (5, 7, 3)  # layer widths for stacked checks: all different from B, T, D, V
THRESHOLDS = {"float64": 1e-7, "float32": 1e-1}  # float32 is a smoke test: its differences are mostly round-off
STEPS = {"float64": 1e-4, "float32": 1e-2}  # float64: smaller steps let round-off dominate


def relative_errors(params: dict[str, np.ndarray], loss_and_grads_fn: Callable, h: float = 1e-5) -> list[tuple[str, float]]:
    """Per parameter, the relative error between analytic and central-difference gradients.

    loss_and_grads_fn(params) -> (loss, grads); it must be deterministic (fixed dropout masks).
    Parameters are perturbed in place and restored.
    """
    _, analytic = loss_and_grads_fn(params)
    errors = []
    for name, p in params.items():
        numeric = np.zeros_like(p)
        flat, nflat = p.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            plus = loss_and_grads_fn(params)[0]
            flat[i] = old - h
            minus = loss_and_grads_fn(params)[0]
            flat[i] = old
            nflat[i] = (plus - minus) / (2 * h)
        a = analytic[name].astype(np.float64)
        diff = np.linalg.norm(a - numeric)
        errors.append((name, float(diff / max(np.linalg.norm(a) + np.linalg.norm(numeric), 1e-300))))
    return errors


def run_gradcheck(cell: str, num_layers: int = 1, dtype: str = "float64", embed_size: int = 4,
                  seed: int = 0, *, tie_weights: bool = False, mask: bool = False, l2: float = 0.0,
                  dropout: float = 0.0, weight_drop: float = 0.0) -> list[tuple[str, float]]:
    """Check every parameter of a small model with a random nonzero initial state.

    embed_size 0 feeds one-hot input (D = V = 6). tie_weights makes embed_size the last layer's
    width. mask zeroes two of the six targets; dropout and weight drop are checked with the same
    masks in every evaluation (a fresh generator from the same seed each time).
    """
    B, T, V = 2, 3, 6
    hidden = tuple(HIDDEN_CYCLE[k % len(HIDDEN_CYCLE)] for k in range(num_layers))
    if tie_weights:
        embed_size = hidden[-1]
    cfg = ModelConfig(cell=cell, num_layers=num_layers, hidden_size=hidden, embed_size=embed_size,
                      dropout=dropout, weight_drop=weight_drop, tie_weights=tie_weights)
    rng = np.random.default_rng(seed)
    # Generic values of one scale everywhere: zero or equal biases could hide a swapped gate, and
    # a small tied embedding would leave layer 0's gradients at round-off level.
    params = {name: rng.uniform(-0.5, 0.5, shape).astype(dtype) for name, shape in param_shapes(cfg, V).items()}
    x = rng.integers(0, V, (B, T))
    y = rng.integers(0, V, (B, T))
    weights = np.array([[1, 0, 1], [1, 1, 0]], dtype=dtype) if mask else None
    state = [_random_state(cfg.cell, B, H, rng, dtype) for H in hidden]

    def fn(ps):
        loss, grads, _ = loss_and_grads(ps, cfg, x, y, state, weights, l2, train=dropout > 0 or weight_drop > 0,
                                        rng=np.random.default_rng(seed + 1))
        return loss, grads

    return relative_errors(params, fn, STEPS[dtype])


def _random_state(name, B, H, rng, dtype):
    cell = cells.get(name)
    return cell.layer_state([rng.uniform(-0.5, 0.5, (B, H)).astype(dtype) for _ in cell.state_parts])


def format_report(errors: list[tuple[str, float]]) -> list[str]:
    """Lines in the NumPy lab's style: `rnn.weight_hh_l0 relative error: 1.23e-09`."""
    return [f"{name} relative error: {err:.2e}" for name, err in errors]


def passed(errors: list[tuple[str, float]], dtype: str = "float64") -> bool:
    """True when every relative error is within the dtype's threshold (1e-7 in float64)."""
    return all(err <= THRESHOLDS[dtype] for _, err in errors)
