"""The training progress display: a rich progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import math
import sys


class TrainDisplay:
    """A rich progress bar on a terminal; plain log lines otherwise; nothing with --quiet."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar, self.task, self.last_val = quiet, None, None, None
        self.tty = sys.stdout.isatty()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, event: dict) -> None:
        if self.quiet:
            return
        kind = event["kind"]
        if kind == "start" and self.tty:
            self._start_bar(event)
        elif kind == "log":
            self._log(event)
        elif kind == "val":
            self.last_val = event
            self._line(f"iter {event['iter']}: val loss {event['val_loss']:.4f}"
                       + (f" ({event['val_bpc']:.3f} bpc)" if "val_bpc" in event else
                          f" (perplexity {event.get('val_perplexity', math.nan):.1f})")
                       + f", accuracy {event['val_accuracy']:.3f}" + (" *best*" if event.get("best") else ""))
        elif kind == "example":  # the TensorFlow lab's display: words in, the true next word, the guess
            self._line(f"{event['context']} -> [{event['true']}] predicted [{event['predicted']}]")
        elif kind == "sample":
            self._line(f"--- sample at temperature {event['temperature']} ---\n{event['text']}\n---")

    def _start_bar(self, event) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        # The bar measures iterations when the run has an iteration limit, else seconds of a
        # time limit: either way the ETA column is meaningful.
        self.by_time = not event["max_iters"] and bool(event["time_limit"])
        total = event["time_limit"] if self.by_time else (event["max_iters"] or None)
        self.bar = Progress(TextColumn("iter {task.fields[iter]}"), BarColumn(), TextColumn("{task.fields[info]}"),
                            TimeElapsedColumn(), TimeRemainingColumn())
        self.task = self.bar.add_task("train", total=total, completed=0 if self.by_time else event["iteration"],
                                      info="", iter=event["iteration"])
        self.bar.start()

    def _log(self, event) -> None:
        val = f" val {self.last_val['val_loss']:.3f}" if self.last_val else ""
        info = f"loss {event['train_loss']:.3f}{val} | {event['tokens_per_s']:,.0f} tok/s | lr {event['lr']:.2g}"
        if self.bar is not None:
            done = event["elapsed_s"] if self.by_time else event["iter"]
            self.bar.update(self.task, completed=done, info=info, iter=event["iter"])
        else:
            print(f"iter {event['iter']} epoch {event['epoch']:.2f}: {info}", flush=True)

    def _line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, flush=True)
