"""`rnntext plot`: a run's loss curves as a PNG."""

from __future__ import annotations

from rnntext.cli.flags import add_run

HELP = "draw training and validation loss against steps and time, with the learning rate"


def add_arguments(p) -> None:
    add_run(p)
    p.add_argument("-o", "--output", default=None, help="the PNG to write (default: RUN/curves.png)")


def run(args) -> int:
    from rnntext.training.plot import plot_run

    print(f"wrote {plot_run(args.run, args.output)}")
    return 0
