"""`rnntext serve`: the web playground and HTTP API; its limits' flags are made from Limits."""

from __future__ import annotations

from rnntext.cli.flags import add_option_flags, option_values
from rnntext.extras import install_command
from rnntext.serve.limits import Limits

HELP = "a web playground and an HTTP API for trained runs"
DESCRIPTION = ("Serve the named runs (chosen by directory name) with a playground page at / and a JSON API under /v1 "
               f"(docs at /docs). Needs the serve extra: {install_command('serve')}.")


def add_arguments(p) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--allowed-hosts", action="append", default=[], metavar="NAMES",
                   help="host names (comma-separated, or the flag repeated) that requests may name in their Host "
                        "header, beside localhost and --host; '*' allows any (the check stops DNS rebinding)")
    add_option_flags(p, Limits, title="limits")


def run(args) -> int:
    from rnntext.serve import run as serve

    try:
        hosts = [name.strip() for given in args.allowed_hosts for name in given.split(",") if name.strip()]
        serve(args.runs, args.host, args.port, allowed_hosts=hosts, **option_values(args, Limits))
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises it again: the stop asked for
        pass
    return 0
