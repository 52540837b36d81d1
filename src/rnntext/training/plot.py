"""Learning curves of a run as a PNG: loss against steps and against time, with the learning rate.

matplotlib is an optional extra (rnntext[plot]: rnntext.extras), imported inside plot_run.
No pyplot: a Figure drawn straight onto the Agg canvas changes no global backend, so a
notebook that calls this keeps its own.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from rnntext.data.atomic import atomic_path
from rnntext.errors import RunError
from rnntext.extras import missing
from rnntext.faces import ask
from rnntext.model.claim import refuse_run_file
from rnntext.model.layout import CURVES, METRICS
from rnntext.model.records import read_metrics

log = logging.getLogger(__name__)

TRAIN_COLOR, VAL_COLOR, LR_COLOR = "tab:blue", "tab:orange", "tab:gray"


def curve_records(run_dir: str | Path) -> tuple[list[dict], list[dict]]:
    """(training lines, validation lines) of the run's metrics, read as resume reads them (a torn
    or damaged line is skipped with a warning, and so is a record without numbers where plotting
    needs them); RunError if there are none."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        raise RunError(f"{path} does not exist: plot a run directory that `rnntext train` wrote metrics into")
    records = read_metrics(run_dir)
    train = [r for r in records if _numbers(r, "iter", "train_loss")]
    val = [r for r in records if _numbers(r, "iter", "val_loss") and "train_loss" not in r]
    if len(records) > len(train) + len(val):
        log.warning("skipped %d line(s) of %s without the numbers a plot needs", len(records) - len(train) - len(val), path)
    if not train and not val:
        raise RunError(f"{path} has no training or validation lines yet: train longer than {ask('log_every')} steps")
    return train, val


def _numbers(record: dict, *keys: str) -> bool:
    """Whether the record holds a number (int or float, not bool) under every key."""
    return all(isinstance(record.get(k), (int, float)) and not isinstance(record.get(k), bool) for k in keys)


def plot_run(run_dir: str | Path, out_png: str | Path | None = None) -> Path:
    """Write RUN/curves.png (or `out_png`): loss vs steps and vs elapsed time, learning rate on
    a second axis. Returns the path written."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise missing("plot", "plotting") from None
    run = Path(run_dir)
    out = run / CURVES if out_png is None else Path(out_png)
    refuse_run_file(out, "plot", own=(CURVES,))
    train, val = curve_records(run)
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    by_step, by_time = fig.subplots(1, 2)
    steps = _series(train, val, "iter")
    seconds, time_unit = _times(train, val)
    handles = _panel(by_step, steps, train, val, "step (iterations)")
    _panel(by_time, seconds, train, val, f"elapsed training time ({time_unit})")
    # One legend below both panels: inside either it would hide the curves' corners.
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle(_title(run, val))
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return out


def _series(train: list[dict], val: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """x values of the training lines and of the validation lines."""
    return (np.array([r[key] for r in train], float), np.array([r[key] for r in val], float))


def _times(train: list[dict], val: list[dict]) -> tuple[tuple[np.ndarray, np.ndarray], str]:
    """Elapsed time of every line. Validation lines carry no time: interpolate it by step
    from the neighbouring training lines. Minutes when the run took longer than 3 minutes."""
    iters = np.array([r["iter"] for r in train], float)
    elapsed = np.array([r.get("elapsed_s", np.nan) for r in train], float)
    if iters.size:
        val_elapsed = np.interp([r["iter"] for r in val], iters, elapsed)
    else:
        val_elapsed = np.full(len(val), np.nan)  # no training line, no clock to read
    scale, unit = (60.0, "min") if np.nanmax(np.r_[elapsed, val_elapsed, 0]) > 180 else (1.0, "s")
    return (elapsed / scale, val_elapsed / scale), unit


def _panel(ax, xs: tuple[np.ndarray, np.ndarray], train: list[dict], val: list[dict], xlabel: str) -> list:
    """Training and validation loss on `ax`, the learning rate on a twin axis to the right;
    returns the lines for the legend."""
    x_train, x_val = xs
    handles = []
    if x_train.size:
        handles += ax.plot(x_train, [r["train_loss"] for r in train], color=TRAIN_COLOR, lw=1.2, label="train loss")
    if x_val.size:
        handles += ax.plot(x_val, [r["val_loss"] for r in val], color=VAL_COLOR, lw=1.8, marker="o", ms=4, label="validation loss")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss (nats per token)")
    ax.grid(alpha=0.3)
    lrs = [r["lr"] for r in train if "lr" in r]
    if lrs and len(lrs) == x_train.size:
        twin = ax.twinx()
        handles += twin.plot(x_train, lrs, color=LR_COLOR, ls="--", lw=1, label="learning rate")
        twin.set_ylabel("learning rate", color=LR_COLOR)
        twin.tick_params(axis="y", colors=LR_COLOR)
        if min(lrs) > 0 and max(lrs) / min(lrs) > 20:
            twin.set_yscale("log")  # decays over orders of magnitude ("inv", exponential) stay readable
        else:
            twin.set_ylim(0, max(lrs) * 1.1)  # from zero, so a constant rate is not drawn as a wobble
    return handles


def _title(run: Path, val: list[dict]) -> str:
    name = run.resolve().name
    if not val:
        return name
    best = min(val, key=lambda r: r["val_loss"])
    return f"{name}: best validation loss {best['val_loss']:.3f} at step {best['iter']}"
