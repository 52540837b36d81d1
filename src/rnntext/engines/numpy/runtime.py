"""What a trainer and a sampler call: one training step, one evaluation batch, loading weights."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from rnntext.engines.numpy.model import cross_entropy, forward, loss_and_grads
from rnntext.engines.numpy.optim import Optimizer, clip_grad_norm, clip_grad_value
from rnntext.errors import RunError
from rnntext.model.parameters import param_shapes


def train_step(params, model_cfg, optimizer: Optimizer, x, y, state, lr: float, *, mask=None,
               clip_norm: float = 0.0, clip_value: float = 0.0, l2: float = 0.0, rng=None, cond=None):
    """Forward, backward, clip and update params in place. Returns (loss, grad_norm, new_state).

    grad_norm is the global norm before clipping (what the torch engine logs).
    """
    loss, grads, new_state = loss_and_grads(params, model_cfg, x, y, state, mask, l2, train=True, rng=rng, cond=cond)
    if clip_value > 0:
        clip_grad_value(grads, clip_value)
    grad_norm = clip_grad_norm(grads, clip_norm)
    optimizer.step(params, grads, lr)
    return loss, grad_norm, new_state


def evaluate_batch(params, model_cfg, x, y, state=None, mask=None, cond=None):
    """Sums for validation: (nll_sum in nats, token count, correct next-token guesses, new_state)."""
    logits, new_state, _ = forward(params, model_cfg, x, state, cond=cond)
    weight = np.ones(np.shape(y)) if mask is None else np.asarray(mask, dtype=np.float64)
    count = float(weight.sum())
    mean, _ = cross_entropy(logits, y, weight)
    correct = float(((logits.argmax(axis=-1) == np.asarray(y)) * weight).sum())
    return mean * max(count, 1.0), count, correct, new_state


def evaluate_batches(params, model_cfg, batches, max_batches: int) -> tuple[float, int, int]:
    """Sums over the first `max_batches` batches of a layout (rnntext.data.batches): (nll_sum in
    nats, correct next-token guesses, tokens); the state carries where the layout says so."""
    state, total, correct, count = None, 0.0, 0, 0
    for i in range(min(len(batches), max_batches)):
        x, y, mask, cond = batches.batch(i)
        if not batches.carries_state:
            state = None
        nll, n, right, state = evaluate_batch(params, model_cfg, x, y, state, mask, cond)
        total, correct, count = total + nll, correct + int(right), count + int(n)
    return total, correct, count


def evaluate_timed(params, model_cfg, batches) -> tuple[float, int, int]:
    """evaluate_batches over every batch, on the faster of NumPy's BLAS threads and one thread:
    batch 0 runs with all threads and batch 1 with one, each timed, and the rest with the
    faster (rnntext.engines.numpy.blas says why)."""
    from rnntext.engines.numpy import blas

    full, one = blas.threads(), 1
    state, sums, seconds = None, [0.0, 0, 0], {}
    for i in range(len(batches)):
        faster = one if seconds.get(one, math.inf) < seconds.get(full, math.inf) else full
        n = {0: full, 1: one}.get(i, faster)
        x, y, mask, cond = batches.batch(i)
        start = time.perf_counter()
        with blas.limited(n):
            nll, count, right, state = evaluate_batch(params, model_cfg, x, y, state if batches.carries_state
                                                      else None, mask, cond)
        if i < 2:
            seconds[n] = time.perf_counter() - start
        sums = [sums[0] + nll, sums[1] + int(right), sums[2] + int(count)]
    return tuple(sums)


def load_params(path: str | Path, model_cfg, vocab_size: int, dtype=None) -> dict[str, np.ndarray]:
    """Weights from a run's model.safetensors, checked against the architecture.

    A tied model's duplicate `output.weight` (torch saves both names) is dropped. dtype None keeps
    the file's dtype. Raises RunError naming the first missing, unexpected or misshapen tensor.
    """
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path))
    except FileNotFoundError:
        raise RunError(f"{path} does not exist: is this a run directory written by `rnntext train`?") from None
    expected = param_shapes(model_cfg, vocab_size)
    if model_cfg.tie_weights:
        tensors.pop("output.weight", None)
    for name, shape in expected.items():
        if name not in tensors:
            raise RunError(f"{path} has no tensor {name!r}: it was written for another architecture")
        if tensors[name].shape != shape:
            raise RunError(f"{path}: {name} has shape {tensors[name].shape}, model.json says {shape}")
    extra = sorted(set(tensors) - set(expected))
    if extra:
        raise RunError(f"{path} has unexpected tensor {extra[0]!r}: it was written for another architecture")
    return {name: np.ascontiguousarray(t, dtype=dtype or t.dtype) for name, t in tensors.items()}
