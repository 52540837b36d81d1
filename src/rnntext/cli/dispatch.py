"""The parser, from the table of subcommands, and `main`: parse, run, turn a user's mistake
into one line on stderr and exit status 2."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading

from rnntext import __version__
from rnntext.cli.commands import COMMANDS
from rnntext.cli.flags import EXIT_USAGE, Parser
from rnntext.errors import ConfigError, RnntextError


def build_parser() -> Parser:
    parser = Parser(prog="rnntext", description="Train recurrent language models on your own text and generate from them.")
    parser.add_argument("--version", action="version", version=f"rnntext {__version__}")
    parser.add_argument("-v", "--log-level", default="warning", choices=("debug", "info", "warning"),
                        help="library log level (default: warning)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.HELP, description=getattr(command, "DESCRIPTION", None))
        command.add_arguments(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # usage errors, --help and --version: return the status in-process too
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    shown = logging.StreamHandler()  # library lines that name options name them as flags
    shown.addFilter(flag_face)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s", handlers=[shown])
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except RnntextError as e:  # an option's mistake also names the command's own --help
        see = f" (see rnntext {args.command} --help)" if isinstance(e, ConfigError) else ""
        print(f"rnntext {args.command}: error: {e.said('flag')}{see}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


def entry() -> None:
    """The process's entry point (the `rnntext` script, `python -m rnntext`): main, then exit.

    With torch loaded, the interpreter's own teardown (freeing every module and torch's C++
    state) takes about half a second (0.45 s measured on a 2-core EPYC, torch 2.13), longer than
    many a command. Once main has returned, nothing is left to do but the exit handlers and
    the flushes, so the process runs those and leaves at once; it exits the usual way while a
    thread of its own still runs (a normal exit waits for it)."""
    code = main()
    if "torch" not in sys.modules or threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left: what it did not read is not an error
        pass
    os._exit(code if isinstance(code, int) else 1)


def flag_face(record: logging.LogRecord) -> bool:
    """A log line's options worded as flags (rnntext.faces.Said): a filter on the CLI's handlers."""
    if hasattr(record.msg, "said"):
        record.msg = record.msg.said("flag")
    return True
