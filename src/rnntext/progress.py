"""Training progress as a person sees it: `TrainDisplay`, the callback `rnntext train` passes as
`progress`, which `rnntext.train` also uses by itself in a notebook.

The trainer reports events (dicts; "kind" names each) to one callable, `progress(event)`:

  plan     before anything else: what the run chose and why, the keys of
           rnntext.training.plan.recipe (model, parameters, train, stopping, autosize's
           reasons and the size probe's speeds), and `resumed`
  start    iteration (where training starts), batches_per_epoch, max_iters, time_limit
  step     after every training step: iter, epoch, loss (of that step)
  log      every log_every steps: iter, epoch, lr, train_loss (mean since the last), tokens_per_s, elapsed_s
  val      after each validation: iter, val_loss, val_accuracy, val_bpc or val_perplexity, best
  example  word level, after a validation: context, true, predicted
  sample   after a validation: temperature, text, iter
  pace     when training runs more than 1.5 times faster or slower than the plan assumed:
           tokens_per_s, planned_tokens_per_s, expected_epochs, planned_epochs
  end      result (the TrainResult)

The display shows them three ways: a rich progress bar on a terminal; in a notebook (an
IPython kernel) a text bar that rewrites its own line; elsewhere (a pipe, a log file) plain
lines: every log line, and a line after the first step and whenever HEARTBEAT_S seconds have
passed without one, so that a run with slow steps (a preset's 250 streams) or a long
log_every shows that it is alive. This module and rnntext.cli are the ones that print.
"""

from __future__ import annotations

import math
import sys
import time

HEARTBEAT_S = 10.0  # plain lines: at most this long without a line while training
BAR_WIDTH = 30  # the notebook's text bar, in characters
REDRAW_S = 0.25  # the notebook's text bar is redrawn at most this often


def callback(progress, quiet: bool = False):
    """What rnntext.train reports to, from its `progress` argument, and the display made here for
    it to close after (or None): the caller's callable; nothing for False or quiet; left out, a
    text bar in a notebook and nothing elsewhere."""
    if progress is False or (progress is None and quiet):
        return None, None
    if progress is None:
        display = TrainDisplay(mode="notebook") if in_notebook() else None
        return display, display
    if not callable(progress):
        from rnntext.errors import ConfigError

        raise ConfigError(f"progress: give a callable that takes an event dict (or False), not {progress!r}")
    return progress, None


def in_notebook() -> bool:
    """Whether this process is an IPython kernel (Jupyter, VS Code, Colab), where a bar that
    rewrites its line works and a terminal's does not."""
    ipython = sys.modules.get("IPython")  # a kernel has imported it; never import it here
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class TrainDisplay:
    """Shows training events; `mode` is "bar" (rich), "notebook", "lines", or None to choose
    (a bar on a terminal, the text bar in a notebook, lines elsewhere). Nothing with `quiet`."""

    def __init__(self, quiet: bool = False, mode: str | None = None, out=None):
        self.quiet, self.out = quiet, out or sys.stdout
        self.mode = mode or ("bar" if self.out.isatty() else "notebook" if in_notebook() else "lines")
        self.bar, self.last_val, self.info, self.started = None, None, "", None
        self.last_line = self.last_draw = 0.0
        self.total, self.by_time, self.first_iter = None, False, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if self.mode == "notebook" and self.last_draw:
            self.out.write("\n")
            self.last_draw = 0.0

    def __call__(self, event: dict) -> None:
        if self.quiet:
            return
        kind = event["kind"]
        if kind == "plan":
            from rnntext.training.plan import describe

            lines = describe(event)
            self._line("\n".join([("resumed; " if event.get("resumed") else "") + lines[0], *lines[1:]]))
        elif kind == "start":
            self._start(event)
        elif kind == "step":
            self._step(event)
        elif kind == "log":
            self._log(event)
        elif kind == "val":
            self.last_val = event
            self._line(val_line(event))
        elif kind == "example":  # the TensorFlow lab's display: words in, the true next word, the guess
            self._line(f"{event['context']} -> [{event['true']}] predicted [{event['predicted']}]")
        elif kind == "sample":
            self._line(f"--- sample at temperature {event['temperature']} ---\n{event['text']}\n---")
        elif kind == "pace":
            from rnntext.training.budget import pace_words

            self._line(pace_words(event))
        elif kind == "end":
            self.close()

    def _start(self, event) -> None:
        # The bar measures iterations when the run has an iteration limit, else seconds of a
        # time limit: either way the remaining-time column is meaningful.
        self.by_time = not event["max_iters"] and bool(event["time_limit"])
        self.total = event["time_limit"] if self.by_time else (event["max_iters"] or None)
        self.first_iter, self.started = event["iteration"], time.monotonic()
        self.last_line = self.started
        if self.mode == "bar":
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("iter {task.fields[iter]}"), BarColumn(), TextColumn("{task.fields[info]}"),
                                TimeElapsedColumn(), TimeRemainingColumn())
            self.task = self.bar.add_task("train", total=self.total, info="", iter=event["iteration"],
                                          completed=0 if self.by_time else event["iteration"])
            self.bar.start()

    def _step(self, event) -> None:
        now = time.monotonic()
        done = now - (self.started or now) if self.by_time else event["iter"]
        if self.bar is not None:
            self.bar.update(self.task, completed=done, iter=event["iter"])
        elif self.mode == "notebook":
            if now - self.last_draw >= REDRAW_S:
                self._draw(done, event["iter"])
        elif event["iter"] == self.first_iter + 1 or now - self.last_line >= HEARTBEAT_S:
            self._line(f"iter {event['iter']} epoch {event['epoch']:.2f}: loss {event['loss']:.3f} (this step), "
                       f"{now - (self.started or now):.0f} s")

    def _log(self, event) -> None:
        val = f" val {self.last_val['val_loss']:.3f}" if self.last_val else ""
        self.info = f"loss {event['train_loss']:.3f}{val} | {event['tokens_per_s']:,.0f} tok/s | lr {event['lr']:.2g}"
        if self.bar is not None:
            self.bar.update(self.task, info=self.info, iter=event["iter"])
        elif self.mode == "notebook":
            self._draw(event["elapsed_s"] if self.by_time else event["iter"], event["iter"])
        else:
            self._line(f"iter {event['iter']} epoch {event['epoch']:.2f}: {self.info}")

    def _draw(self, done: float, iteration: int) -> None:
        """The notebook's text bar, rewriting its line: [#####.....] 50% iter 500/1000 loss ..."""
        self.last_draw = time.monotonic()
        share = min(1.0, done / self.total) if self.total else 0.0
        filled = round(share * BAR_WIDTH)
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} " if self.total else ""
        of = f"/{self.total:,}" if self.total and not self.by_time else ""
        self.out.write(f"\r{bar}iter {iteration:,}{of} {self.info} | {self.last_draw - self.started:.0f} s  ")
        self.out.flush()

    def _line(self, text: str) -> None:
        self.last_line = time.monotonic()
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
            return
        if self.mode == "notebook" and self.last_draw:
            text, self.last_draw = "\n" + text, 0.0  # below the bar; it is drawn again on the next step
        print(text, file=self.out, flush=True)


def val_line(event: dict) -> str:
    """A validation's line: loss, its level's measure, accuracy, and whether it is the best."""
    measure = (f" ({event['val_bpc']:.3f} bpc)" if "val_bpc" in event else
               f" (perplexity {event.get('val_perplexity', math.nan):.1f})")
    return (f"iter {event['iter']}: val loss {event['val_loss']:.4f}{measure}, accuracy {event['val_accuracy']:.3f}"
            + (" *best*" if event.get("best") else ""))
