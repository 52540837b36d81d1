"""The chat loop (the TensorFlow lab's prompt): type text, the model continues it.

A line starting with ':' changes a setting (`:temperature 0.8`); the settings are sampling
options, converted and checked by rnntext.sampling.SampleConfig as everywhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys

from rnntext.errors import RnntextError
from rnntext.options import coerce, flag, utf8_problem
from rnntext.sampling import SampleConfig


def chat_help(settings: dict) -> str:
    shown = ", ".join(f":{flag(name)[2:]} " + ("on|off" if isinstance(value, bool) else name.upper())
                      for name, value in settings.items())
    return f"type text and press Enter for a continuation; settings: {shown}; :help; Ctrl-D to leave"


def converse(model, run: str, settings: dict, condition: str | None = None) -> int:
    """Read lines from stdin until its end; answer each with the model's continuation."""
    tty = sys.stdin.isatty()
    if tty:
        print(f"rnntext chat: {model.vocab.level}-level model from {run}; {chat_help(settings)}")
    # A line that is not UTF-8 then arrives with its bad bytes as lone surrogates, to be refused,
    # rather than as a UnicodeDecodeError out of input() that drops the rest of the buffered input.
    with contextlib.suppress(AttributeError, OSError, ValueError):  # not a text file, or already read from
        sys.stdin.reconfigure(errors="surrogateescape")
    while True:
        try:
            line = input("> " if tty else "")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        except UnicodeDecodeError as e:
            print(f"error: the input is not valid UTF-8 ({e.reason}): type UTF-8 text")
            continue
        if line.startswith(":"):
            print(change_setting(line, settings))
        elif line.strip():
            print(reply(model, line, settings, condition), flush=True)


def reply(model, line: str, settings: dict, condition: str | None = None) -> str:
    """The model's continuation of a typed line, or the one line that says why there is none."""
    if bad := utf8_problem(line):
        return f"error: {bad}: type UTF-8 text"
    try:
        ids, unknown = model.encode(line, "skip")
        note = ""
        if unknown:
            from rnntext.text.levels import lookup_tokens

            note = f"(not in the vocabulary, left out: {' '.join(lookup_tokens(model.vocab, line)[1])})\n"
        prime = model.decode(ids)
        if not prime:
            return note + "(nothing left to continue)"
        steps = [int(out[0]) for _, out in model.stream(prime, unknown="skip", condition=condition, **settings)
                 if out[0] >= 0]
        return note + model.decode(list(ids) + steps)
    except RnntextError as e:
        return f"error: {e}"


def change_setting(line: str, settings: dict) -> str:
    """Apply `:name value` to `settings` if SampleConfig accepts it; say what happened."""
    name, _, value = line[1:].partition(" ")
    name = name.replace("-", "_")
    if name == "help" or name not in settings:
        return chat_help(settings)
    try:
        new = coerce(SampleConfig, name, value.strip())
        SampleConfig(**{**settings, name: new})
    except RnntextError as e:
        return f"error: {e}"
    settings[name] = new
    return f"{name} = {new}"


def default_settings(names: tuple[str, ...], own: dict) -> dict:
    """Chat's settings: SampleConfig's defaults for `names`, less chat's `own` choices."""
    return {f.name: own.get(f.name, f.default) for f in dataclasses.fields(SampleConfig) if f.name in names}
