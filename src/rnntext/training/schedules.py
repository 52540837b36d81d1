"""Learning-rate schedules: pure functions of the iteration, the epoch, the share of a time
budget spent, and their own options.

A schedule never depends on `max_iters`, so stopping and resuming a run (with another length)
cannot change the learning rate it would have had. `auto` (the default) is a cosine over the
time budget when the run has a --time-limit (`progress`: 0 at the first step, 1 at the
deadline; rnntext.training.budget), constant otherwise; `cosine` with a `cosine_iters` length
runs over that many iterations, and without one follows the time budget as auto does.
`plateau` is the one with state: a scale that the trainer lowers when validation stops
improving and saves in its checkpoint.
"""

from __future__ import annotations

import math


def follows_budget(cfg) -> bool:
    """Whether the schedule is a cosine over the time budget (rather than over iterations)."""
    return cfg.lr_schedule in ("cosine", "auto") and not cfg.cosine_iters and bool(cfg.time_limit)


def lr_at(cfg, iteration: int, epoch: int, plateau_scale: float = 1.0, progress: float | None = None) -> float:
    """The learning rate for `iteration` (0-based) in `epoch` (0-based) under TrainConfig `cfg`;
    `progress`: the share of the time budget spent (None without a time limit)."""
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
    elif kind in ("cosine", "auto"):
        if cfg.cosine_iters:
            t = min(max(iteration - cfg.warmup_iters, 0) / cfg.cosine_iters, 1.0)
        else:  # over the time budget; without one (or before it is known) the peak rate
            t = progress if progress is not None and cfg.time_limit else 0.0
        lr = cfg.lr_min + (cfg.lr - cfg.lr_min) * 0.5 * (1 + math.cos(math.pi * min(max(t, 0.0), 1.0)))
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
