"""The NumPy engine behind `rnntext train --engine numpy`: one training step, evaluation sums,
and the trainer's engine interface.

`NumpyEngine` has the same methods as rnntext.engines.torch.engine.TorchEngine (train_step,
evaluate, reset_state, weights, checkpoint, restore), so the trainer loop and the run directory
are the same for both engines. Dropout draws from its own PCG64 generator, whose state is
checkpointed. `evaluate_timed` is what `rnntext eval` scores with where torch is not installed.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np

from rnntext.engines.numpy.network import cross_entropy, forward, loss_and_grads
from rnntext.engines.numpy.optim import Optimizer, clip_grad_norm, clip_grad_value, optimizer_from_config
from rnntext.engines.state import state_from_tensors, state_tensors
from rnntext.faces import ask
from rnntext.model.parameters import init_params


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
    faster (rnntext.blas says why)."""
    from rnntext import blas

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


def check_supported(model_cfg, train_cfg) -> None:
    """Refuse, with one line, what the NumPy engine cannot do (before anything is written): a
    device or precision (the one engine rule says), the AWD-LSTM options beyond dropout."""
    from rnntext.errors import ConfigError
    from rnntext.options import choose_engine

    choose_engine("numpy", train_cfg.device, train_cfg.precision)
    unsupported = [k for k in ("locked_dropout", "input_dropout", "embed_dropout")
                   if getattr(model_cfg, k)] + [k for k in ("ar", "tar") if getattr(train_cfg, k)]
    if unsupported:
        raise ConfigError(f"{unsupported[0]}: the numpy engine has dropout and weight drop only: use "
                          f"{ask('engine', 'torch')} for the other AWD-LSTM options")


class NumpyEngine:
    name = "numpy"

    def __init__(self, model_cfg, train_cfg, vocab_size: int):
        check_supported(model_cfg, train_cfg)
        model_cfg = model_cfg.without_auto()
        self.model_cfg, self.cfg = model_cfg, train_cfg
        self.rng = np.random.Generator(np.random.PCG64(train_cfg.seed))
        self.params = init_params(model_cfg, vocab_size, self.rng, np.float32)
        self.optimizer = optimizer_from_config(train_cfg)
        self.state = None

    def reset_state(self) -> None:
        self.state = None

    def train_step(self, x: np.ndarray, y: np.ndarray, lr: float, mask: np.ndarray | None = None,
                   cond: np.ndarray | None = None) -> float:
        loss, _, self.state = train_step(self.params, self.model_cfg, self.optimizer, x, y, self.state, lr, mask=mask,
                                         cond=cond,
                                         clip_norm=self.cfg.clip_norm, clip_value=self.cfg.clip_value,
                                         rng=self.rng if self.model_cfg.dropout or self.model_cfg.weight_drop else None)
        return float(loss)

    def evaluate(self, batches, max_batches: int) -> tuple[float, int, int]:
        return evaluate_batches(self.params, self.model_cfg, batches, max_batches)

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Start from these weights (PyTorch's names; fine-tuning), the optimizer still fresh."""
        if set(weights) != set(self.params):
            raise KeyError(f"weights {sorted(set(weights) ^ set(self.params))[:3]} do not fit this model")
        self.params = {k: np.array(weights[k], np.float32) for k in self.params}

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict]:
        tensors = {f"model.{k}": v for k, v in self.params.items()}
        tensors |= {f"optim.{k}": np.asarray(v) for k, v in self.optimizer.state_dict().items()}
        tensors |= state_tensors(self.state, lambda t: t)
        return tensors, {"rng": json.dumps(self.rng.bit_generator.state)}

    def restore(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        self.params = {k[6:]: v.copy() for k, v in tensors.items() if k.startswith("model.")}
        self.optimizer.load_state_dict({k[6:]: v.copy() for k, v in tensors.items() if k.startswith("optim.")})
        self.state = state_from_tensors(tensors, lambda a: a.copy())
        self.rng.bit_generator.state = json.loads(meta["rng"])
