"""When a run that was given no stopping rule ends: the default stop.

A run with --time-limit, --max-iters or --epochs stops there. A run given none of them gets
the default: it stops when the validation loss has not improved for PATIENCE validations in a
row (--early-stop, counted at --eval-every), and at CAP_ITERS iterations at the latest (a
run without a validation split has only the cap). Both are written into the run's
config.toml, so a resume keeps them (a resume may set other limits). The cap is in
iterations, not seconds: a time limit would also fit the learning-rate schedule to itself
(docs/recipe.md), and no schedule depends on the iteration count. docs/recipe.md "Stopping
by itself" shows the measurements behind the constants.
"""

from __future__ import annotations

from dataclasses import replace

from rnntext.config import Config

PATIENCE = 3  # validations without improvement before the default stop
CAP_ITERS = 20_000  # the default stop's cap: iterations


def given(cfg: Config) -> bool:
    """Whether the configuration bounds the run itself (a time, iteration or epoch limit)."""
    t = cfg.train
    return bool(t.time_limit or t.max_iters or t.epochs)


def default_stopping(cfg: Config, validates: bool) -> tuple[Config, bool]:
    """`cfg` with the default stop when it bounds nothing itself, and whether it got it.
    `validates`: the run has a validation split (without one, only the cap applies)."""
    if given(cfg):
        return cfg, False
    t = cfg.train
    early_stop = t.early_stop or (PATIENCE if validates else 0)
    return replace(cfg, train=replace(t, max_iters=CAP_ITERS, early_stop=early_stop)), True
