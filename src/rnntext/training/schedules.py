"""Learning-rate schedules: pure functions of the iteration, the epoch and their own options.

A schedule never depends on `max_iters`, so stopping and resuming a run (with another length)
cannot change the learning rate it would have had. The cosine's length is its own option; when
it is 0 and the run has a time limit, the trainer fits it once from the measured speed and
records it (auto, the default, stays constant without a time limit). `plateau` is the one with state: a scale
that the trainer lowers when validation stops improving and saves in its checkpoint.
"""

from __future__ import annotations

import math


def lr_at(cfg, iteration: int, epoch: int, plateau_scale: float = 1.0) -> float:
    """The learning rate for `iteration` (0-based) in `epoch` (0-based) under TrainConfig `cfg`."""
    lr = cfg.lr
    kind = cfg.lr_schedule
    if kind == "step":
        lr *= cfg.lr_gamma ** (epoch // cfg.lr_step)
    elif kind == "exp":  # the NumPy lab's 0.99 per epoch; char-rnn's 0.97 after epoch 10
        lr *= cfg.lr_gamma ** max(0, epoch - cfg.lr_decay_start)
    elif kind == "inv":  # Caffe: base_lr * (1 + gamma * iter) ^ (-power)
        lr *= (1 + cfg.lr_gamma * iteration) ** (-cfg.lr_power)
    elif kind == "plateau":
        lr *= plateau_scale
    elif kind in ("cosine", "auto") and cfg.cosine_iters:  # 0: not fitted (yet): the peak rate
        t = min(max(iteration - cfg.warmup_iters, 0) / cfg.cosine_iters, 1.0)
        lr = cfg.lr_min + (cfg.lr - cfg.lr_min) * 0.5 * (1 + math.cos(math.pi * t))
    if cfg.warmup_iters and iteration < cfg.warmup_iters:
        lr *= (iteration + 1) / cfg.warmup_iters
    return lr


class Plateau:
    """Divide the rate when validation stops improving (pytorch/examples divides by 4)."""

    def __init__(self, cfg, scale: float = 1.0, best: float | None = None, bad: int = 0):
        self.cfg, self.scale, self.bad = cfg, scale, bad
        self.best = math.inf if best is None else best

    def observe(self, val_loss: float) -> None:
        if val_loss < self.best:
            self.best, self.bad = val_loss, 0
            return
        self.bad += 1
        if self.bad > self.cfg.lr_patience:
            self.scale *= self.cfg.lr_gamma
            self.bad = 0

    def state(self) -> dict:
        return {"scale": self.scale, "best": None if math.isinf(self.best) else self.best, "bad": self.bad}
