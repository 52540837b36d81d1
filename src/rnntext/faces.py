"""How an option is named on each face of rnntext, and messages that name options once for all.

An option has one name (`top_k`). The command line shows it as a flag (`--top-k 5`), the
Python API as a keyword argument (`top_k=5`), the HTTP API as a JSON field (`"top_k": 5`).
A message that tells the user what to give names the option with `ask`, once; `say` words the
message for one face. An rnntext.errors.RnntextError speaks Python (`str(error)`: the API
raises it into the user's code); the command line prints `error.said("flag")`, the server
`error.said("json")`.

    ask("unknown", "skip")   unknown="skip"    --unknown skip    "unknown": "skip"
    ask("force", True)       force=True        --force           "force": true
    ask("stop_at_end", False) stop_at_end=False --no-stop-at-end  "stop_at_end": false
    ask("lr")                lr                --lr              "lr"
    ask("time_limit", fill="SECONDS")  time_limit=SECONDS  --time-limit SECONDS
    see_help("train")        help(rnntext.train)  rnntext train --help  GET /docs
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

FACES = ("python", "flag", "json")
OPEN, CLOSE = "\x02", "\x03"  # around an option named in a message (text start and end: never typed)
MARK = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]*){CLOSE}")
SHORT = {"output": "-o"}  # flags known by their short form
PYTHON_HELP = {"sample": "rnntext.Model.generate", "eval": "rnntext.Model.evaluate"}  # else rnntext.COMMAND


def flag(name: str) -> str:
    """The command-line flag of option `name`: --top-k for top_k, --request-timeout for request_timeout_s."""
    return SHORT.get(name) or "--" + name.removesuffix("_s").replace("_", "-")


def ask(name: str, value: Any = None, *, fill: str | None = None) -> str:
    """Option `name` as a message names it: with `value` (given as Python gives it: "skip", True,
    5), with a value to `fill` in (SECONDS), or alone. Put it in the message; `say` words it."""
    return OPEN + json.dumps({"name": name, "value": value, "fill": fill}) + CLOSE


def see_help(command: str) -> str:
    """Where the help of `command` (train, sample, ...) is, as each face finds it."""
    return OPEN + json.dumps({"help": command}) + CLOSE


def say(message: str, face: str = "python") -> str:
    """`message` with every option it names worded for `face` (one of FACES)."""
    if face not in FACES:
        raise ValueError(f"face must be one of {FACES}, not {face!r}")
    return MARK.sub(lambda m: _word(json.loads(m[1]), face), message)


def _word(mark: dict, face: str) -> str:
    if "help" in mark:
        command = mark["help"]
        return {"python": f"help({PYTHON_HELP.get(command, 'rnntext.' + command)})",
                "flag": f"rnntext {command} --help", "json": "GET /docs"}[face]
    name, value, fill = mark["name"], mark["value"], mark["fill"]
    if face == "flag":
        if fill is not None:
            return f"{flag(name)} {fill}"
        if value is None or value is True:
            return flag(name)
        if value is False:
            return f"--no-{flag(name)[2:]}"
        return f"{flag(name)} {shlex.quote(','.join(map(str, value)) if isinstance(value, list) else str(value))}"
    if face == "json":
        shown = fill if fill is not None else json.dumps(value)
        return f'"{name}"' if value is None and fill is None else f'"{name}": {shown}'
    if fill is not None:
        return f"{name}={fill}"
    if value is None:
        return name
    shown = json.dumps(value) if isinstance(value, str) else repr(tuple(value) if isinstance(value, list) else value)
    return f"{name}={shown}"


class Said:
    """A message for the log that names options (ask): str() words them as Python does; a face
    that shows log lines asks `said(face)` (the command line's handler does)."""

    def __init__(self, message: str):
        self.message = message

    def said(self, face: str) -> str:
        return say(self.message, face)

    def __str__(self) -> str:
        return self.said("python")
