"""`rnntext train`: train into a run directory, with a progress display; Ctrl-C or SIGTERM saves a checkpoint."""

from __future__ import annotations

import os
import sys

from rnntext.cli.flags import add_config_flags, add_section_flags, section_values
from rnntext.progress import TrainDisplay

HELP = "train a model into a run directory"
DESCRIPTION = ("Train from a prepared dataset, or from text (prepared on the fly into RUN/data.h5). On --resume the "
               "run's config.toml is the base; length, schedule and logging may change, the architecture and "
               "vocabulary may not.")
STOP_SIGNALS = {"SIGINT": 130, "SIGTERM": 143}  # exit statuses 128 + the signal's number, as a shell reports them


def add_arguments(p) -> None:
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="a dataset (.h5), text files, directories or python-docs")
    p.add_argument("-o", "--output", required=True, help="the run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in -o exactly where it stopped")
    p.add_argument("--force", action="store_true", help="start over in a non-empty run directory")
    p.add_argument("--nproc", type=int, default=1, help="train with N processes on this machine (runs torchrun; "
                                                       "batch_size is the global batch, split over the processes)")
    add_config_flags(p)
    for section in ("data", "model", "train"):
        add_section_flags(p, section, skip=("labels",))


def run(args) -> int:
    from rnntext import api

    if args.nproc > 1:
        from rnntext.cli.torchrun import run_torchrun

        return run_torchrun(args.argv, args.nproc, args.output)
    import signal

    options = section_values(args, "data", "model", "train")  # built once, handed to api.train
    received: list[str] = []

    def stop(signum, frame):  # SIGTERM (kill, a job scheduler) ends training as Ctrl-C does: with a checkpoint
        received.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    # Python leaves SIGINT ignored when it started ignored (a background job): Ctrl-C or
    # `kill -INT` must still reach the trainer, which saves a checkpoint and stops.
    # Under torchrun, SIGTERM is how the launcher ends the other ranks after one failed: a
    # checkpoint needs every rank, so there it keeps its default meaning.
    signals = (signal.SIGINT,) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, stop) for s in signals}
    display = TrainDisplay(quiet=bool(args.quiet) or os.environ.get("RANK", "0") != "0")
    try:
        with display:
            result = api.train(args.inputs, args.output, resume=args.resume, force=args.force, preset=args.preset,
                               config=args.config, progress=display, **options)
    except KeyboardInterrupt:  # before training started, or during the last save: the last checkpoint stands
        name = received[-1] if received else "SIGINT"
        print(f"rnntext train: stopped by {name} before a checkpoint could be saved; what {args.output} held is "
              f"intact", file=sys.stderr)
        return STOP_SIGNALS[name]
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    name = received[-1] if received else "SIGINT"
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 speaks
        print_result(result, name)
    return STOP_SIGNALS[name] if result.stopped_by == "interrupt" else 0


def print_result(result, signal_name: str = "SIGINT") -> None:
    if result.removed:
        print(f"removed from {result.run_dir} (rnntext's files of the earlier run): {', '.join(result.removed)}")
    if result.stopped_by == "interrupt":
        what = "interrupted" if signal_name == "SIGINT" else f"stopped by {signal_name}"
        more = f" --time-limit {max(1, round(result.time_left))}" if result.time_left else ""
        print(f"{what}: checkpoint saved at iteration {result.iterations}; continue with "
              f"`rnntext train -o {result.run_dir} --resume{more}`")
        return
    val = result.val or {}
    parts = [f"{result.iterations} iterations ({result.epoch:.2f} epochs) in {result.elapsed_s:.0f}s, "
             f"stopped by {result.stopped_by}"]
    if val:
        parts.append(f"val loss {val['val_loss']:.4f} nats" + (f", {val['val_bpc']:.3f} bpc" if "val_bpc" in val else "")
                     + f", accuracy {val['val_accuracy']:.3f}")
    print("; ".join(parts))
    print(f"run directory: {result.run_dir}")
