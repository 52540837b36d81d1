"""Optimizers in NumPy with torch.optim's exact update formulas, and gradient clipping.

Each optimizer updates `params` in place: `opt.step(params, grads, lr)`; the learning rate is
passed per step so that schedules live outside. `state_dict()` is a flat dict of arrays
(`exp_avg.rnn.weight_ih_l0`, ..., `step`) that safetensors can save for an exact resume.
Weight decay is L2 added to the gradient (torch's `weight_decay`), except AdamW's decoupled
decay (Loshchilov & Hutter 2019).
"""

from __future__ import annotations

import math

import numpy as np


class Optimizer:
    """Base: per-parameter buffers created on first use, plus a step counter."""

    buffers: tuple[str, ...] = ()  # the kinds of per-parameter state this optimizer keeps
    decoupled = False  # True: weight decay shrinks the weights directly instead of adding to g

    def __init__(self, weight_decay: float = 0.0):
        self.weight_decay = weight_decay
        self.state: dict[str, np.ndarray] = {}
        self.steps = 0

    def _buffer(self, kind: str, name: str, like: np.ndarray) -> np.ndarray:
        key = f"{kind}.{name}"
        if key not in self.state:
            self.state[key] = np.zeros_like(like)
        return self.state[key]

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
        """Update every parameter that has a gradient, in place."""
        self.steps += 1
        for name, g in grads.items():
            p = params[name]
            if self.weight_decay and not self.decoupled:
                g = g + self.weight_decay * p
            self._update(name, p, g, lr)

    def _update(self, name, p, g, lr):
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        return {**{k: v.copy() for k, v in self.state.items()}, "step": np.array(self.steps, dtype=np.int64)}

    def load_state_dict(self, d: dict[str, np.ndarray]) -> None:
        unknown = [k for k in d if k != "step" and k.split(".", 1)[0] not in self.buffers]
        if unknown:
            raise ValueError(f"optimizer state has unknown entries {unknown[:3]}")
        self.steps = int(np.asarray(d["step"]).reshape(-1)[0])  # safetensors may widen a scalar to (1,)
        self.state = {k: np.array(v, copy=True) for k, v in d.items() if k != "step"}


class SGD(Optimizer):
    """torch.optim.SGD (dampening 0): buf = momentum * buf + g; p -= lr * (g + momentum * buf if nesterov else buf)."""

    buffers = ("momentum_buffer",)

    def __init__(self, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(weight_decay)
        self.momentum, self.nesterov = momentum, nesterov

    def _update(self, name, p, g, lr):
        if self.momentum:
            buf = self._buffer("momentum_buffer", name, p)
            buf *= self.momentum
            buf += g  # on the first step torch sets buf = g, which this equals (buf starts at 0)
            g = g + self.momentum * buf if self.nesterov else buf
        p -= lr * g


class Adam(Optimizer):
    """torch.optim.Adam (amsgrad off), or AdamW's decoupled decay with decoupled=True."""

    buffers = ("exp_avg", "exp_avg_sq")

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
        super().__init__(weight_decay)
        self.beta1, self.beta2, self.eps, self.decoupled = beta1, beta2, eps, decoupled

    def _update(self, name, p, g, lr):
        if self.decoupled and self.weight_decay:
            p *= 1.0 - lr * self.weight_decay
        m = self._buffer("exp_avg", name, p)
        v = self._buffer("exp_avg_sq", name, p)
        m += (1.0 - self.beta1) * (g - m)  # torch's lerp_ form
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        step_size = lr / (1.0 - self.beta1**self.steps)
        denom = np.sqrt(v) / math.sqrt(1.0 - self.beta2**self.steps) + self.eps
        p -= step_size * (m / denom)


class RMSprop(Optimizer):
    """torch.optim.RMSprop (not centered): sq = alpha * sq + (1 - alpha) g^2; p -= lr * g / (sqrt(sq) + eps)."""

    buffers = ("square_avg", "momentum_buffer")

    def __init__(self, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(weight_decay)
        self.alpha, self.eps, self.momentum = alpha, eps, momentum

    def _update(self, name, p, g, lr):
        sq = self._buffer("square_avg", name, p)
        sq *= self.alpha
        sq += (1.0 - self.alpha) * g * g
        scaled = g / (np.sqrt(sq) + self.eps)
        if self.momentum:
            buf = self._buffer("momentum_buffer", name, p)
            buf *= self.momentum
            buf += scaled
            scaled = buf
        p -= lr * scaled


class Adagrad(Optimizer):
    """torch.optim.Adagrad (lr_decay 0, initial accumulator 0): sum += g^2; p -= lr * g / (sqrt(sum) + eps)."""

    buffers = ("sum",)

    def __init__(self, eps=1e-10, weight_decay=0.0):
        super().__init__(weight_decay)
        self.eps = eps

    def _update(self, name, p, g, lr):
        acc = self._buffer("sum", name, p)
        acc += g * g
        p -= lr * (g / (np.sqrt(acc) + self.eps))


def make_optimizer(name: str, *, momentum=0.0, nesterov=False, beta1=0.9, beta2=0.999, alpha=0.99,
                   eps=1e-8, weight_decay=0.0) -> Optimizer:
    """An optimizer by name: sgd, momentum (sgd with momentum, 0.9 when 0 is given), adam, adamw, rmsprop, adagrad.

    The keywords are TrainConfig's fields of the same names, so `make_optimizer(cfg.optimizer, **fields)` works.
    """
    if name in ("sgd", "momentum"):
        return SGD(momentum or (0.9 if name == "momentum" else 0.0), nesterov, weight_decay)
    if name in ("adam", "adamw"):
        return Adam(beta1, beta2, eps, weight_decay, decoupled=name == "adamw")
    if name == "rmsprop":
        return RMSprop(alpha, eps, momentum, weight_decay)
    if name == "adagrad":
        return Adagrad(eps, weight_decay)
    raise ValueError(f"unknown optimizer {name!r}")


def optimizer_from_config(train_cfg) -> Optimizer:
    """make_optimizer with a TrainConfig's optimizer settings."""
    c = train_cfg
    return make_optimizer(c.optimizer, momentum=c.momentum, nesterov=c.nesterov, beta1=c.beta1, beta2=c.beta2,
                          alpha=c.alpha, eps=c.eps, weight_decay=c.weight_decay)


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale grads in place so their global L2 norm is at most max_norm (torch's rule, with its 1e-6).

    Returns the norm before clipping. max_norm <= 0 only measures.
    """
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    if max_norm > 0:
        coef = max_norm / (total + 1e-6)
        if coef < 1.0:
            for g in grads.values():
                g *= coef
    return total


def clip_grad_value(grads: dict[str, np.ndarray], value: float) -> None:
    """Clip every gradient element to [-value, value] in place (char-rnn's rule)."""
    for g in grads.values():
        np.clip(g, -value, value, out=g)
