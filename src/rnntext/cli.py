"""The command line: parses flags, calls rnntext.api, prints. The only module that prints.

Flags are generated from the configuration dataclasses, so a field's name, default and help
text are the flag's. A user's mistake (RnntextError) prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from dataclasses import MISSING, fields

from rnntext import __version__
from rnntext.config import SECTIONS
from rnntext.errors import RnntextError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (what, and where to look) and status 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_section_flags(parser: argparse.ArgumentParser, section: str, skip: tuple[str, ...] = ()) -> None:
    cls = SECTIONS[section]
    group = parser.add_argument_group(f"{section} options")
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        help_text = f"{f.metadata.get('help', '')} (default: {_show(default)})"
        if isinstance(default, bool):
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            kind = str if isinstance(default, (tuple, str)) else type(default)
            group.add_argument(flag, dest=f.name, type=kind, default=None, metavar=f.name.upper(),
                               choices=f.metadata.get("choices"), help=help_text)


def _show(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else repr(value)


def section_values(args: argparse.Namespace, *sections: str) -> dict:
    names = {f.name for s in sections for f in fields(SECTIONS[s])}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="start from a named preset (`rnntext presets` lists them)")
    parser.add_argument("--config", help="a TOML file of options (applied after --preset, before flags)")


# -- subcommands ------------------------------------------------------------------------------

def cmd_prepare(args) -> int:
    from rnntext import api

    summary = api.prepare(args.inputs, args.output, force=args.force, preset=args.preset, config=args.config,
                          **section_values(args, "data"))
    vocab = summary.pop("vocab")
    splits = summary["splits"]
    print(f"read {summary['tokens']:,} {vocab.level}s from {summary['sources']} source(s)")
    print(f"vocabulary: {len(vocab)} tokens (ids stored as {summary['dtype']})")
    if len(vocab) <= 200:
        print("  " + repr("".join(vocab.tokens)))
    print("splits: " + ", ".join(f"{k} {v:,}" for k, v in splits.items()))
    print(f"wrote {summary['path']}")
    return 0


def cmd_train(args) -> int:
    from rnntext import api

    display = TrainDisplay(quiet=bool(args.quiet))
    with display:
        result = api.train(args.inputs, args.output, resume=args.resume, force=args.force, preset=args.preset,
                           config=args.config, report=display, **section_values(args, "data", "model", "train"))
    _print_result(result)
    return 130 if result.stopped_by == "interrupt" else 0


def _print_result(result) -> None:
    if result.stopped_by == "interrupt":
        print(f"interrupted: checkpoint saved at iteration {result.iterations}; continue with "
              f"`rnntext train -o {result.run_dir} --resume`")
        return
    val = result.val or {}
    parts = [f"{result.iterations} iterations ({result.epoch:.2f} epochs) in {result.elapsed_s:.0f}s, "
             f"stopped by {result.stopped_by}"]
    if val:
        parts.append(f"val loss {val['val_loss']:.4f} nats" + (f", {val['val_bpc']:.3f} bpc" if "val_bpc" in val else "")
                     + f", accuracy {val['val_accuracy']:.3f}")
    print("; ".join(parts))
    print(f"run directory: {result.run_dir}")


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
        elif kind == "sample":
            self._line(f"--- sample at temperature {event['temperature']} ---\n{event['text']}\n---")

    def _start_bar(self, event) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        total = event["max_iters"] or None
        self.bar = Progress(TextColumn("iter {task.completed}"), BarColumn(), TextColumn("{task.fields[info]}"),
                            TimeElapsedColumn(), TimeRemainingColumn())
        self.task = self.bar.add_task("train", total=total, completed=event["iteration"], info="")
        self.bar.start()

    def _log(self, event) -> None:
        val = f" val {self.last_val['val_loss']:.3f}" if self.last_val else ""
        info = f"loss {event['train_loss']:.3f}{val} | {event['tokens_per_s']:,.0f} tok/s | lr {event['lr']:.2g}"
        if self.bar is not None:
            self.bar.update(self.task, completed=event["iter"], info=info)
        else:
            print(f"iter {event['iter']} epoch {event['epoch']:.2f}: {info}", flush=True)

    def _line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, flush=True)


def cmd_presets(args) -> int:
    from rnntext.config import preset_description, preset_names

    for name in preset_names():
        print(f"{name:24} {preset_description(name)}")
    return 0


def cmd_info(args) -> int:
    from rnntext import api

    summary = api.load(args.run, weights=args.weights).summary()
    print(f"{'layer':32} {'output shape':18} {'parameters':>12}")
    print("-" * 64)
    for name, shape, n in summary["layers"]:
        print(f"{name:32} {shape:18} {n:>12,}")
    print("-" * 64)
    print(f"{'total':51} {summary['total_parameters']:>12,}")
    best = summary["best_val_loss"]
    print(f"vocabulary: {summary['vocab_size']} {summary['level']} tokens; trained {summary['iterations']} iterations"
          + (f" ({summary['epoch']:.2f} epochs)" if summary.get("epoch") else "")
          + (f"; best validation loss {best:.4f} nats" if best is not None else ""))
    return 0


# -- parser -----------------------------------------------------------------------------------

def build_parser() -> Parser:
    parser = Parser(prog="rnntext", description="Train recurrent language models on your own text and generate from them.")
    parser.add_argument("--version", action="version", version=f"rnntext {__version__}")
    parser.add_argument("-v", "--log-level", default="warning", choices=("debug", "info", "warning"),
                        help="library log level (default: warning)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("prepare", help="read text and write a prepared HDF5 dataset",
                       description="Read text and write a prepared HDF5 dataset. Normalisation order: NFC, "
                                   "lowercase, keep, max-chars.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="text files, directories, or a built-in corpus (python-docs)")
    p.add_argument("-o", "--output", required=True, help="the dataset file to write (e.g. data.h5)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    add_config_flags(p)
    add_section_flags(p, "data")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train", help="train a model into a run directory",
                       description="Train from a prepared dataset, or from text (prepared on the fly into RUN/data.h5). "
                                   "On --resume the run's config.toml is the base; length, schedule and logging may "
                                   "change, the architecture and vocabulary may not.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="a dataset (.h5), text files, directories or python-docs")
    p.add_argument("-o", "--output", required=True, help="the run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in -o exactly where it stopped")
    p.add_argument("--force", action="store_true", help="start over in a non-empty run directory")
    add_config_flags(p)
    for section in ("data", "model", "train"):
        add_section_flags(p, section)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("info", help="summarise a trained model: layers, shapes, parameters, training")
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("--weights", default="latest", choices=("latest", "best"), help="which weights (default: latest)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("presets", help="list the presets")
    p.set_defaults(func=cmd_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # usage errors, --help and --version: return the status in-process too
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except RnntextError as e:
        print(f"rnntext {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
