"""The chat loop (the TensorFlow lab's prompt): type text, the model continues it.

A line starting with ':' changes a setting (`:temperature 0.8`); the settings are sampling
options, converted and checked by rnntext.sampling.SampleConfig as everywhere else, and they
are checked when chat starts, so that a bad flag is one line and status 2, not an error on
every line. The seed follows the one rule (rnntext.sampling.with_seed): given, or drawn fresh
and said. Reply k of a conversation samples with seed + k, so the random state moves on between
prompts ("hello" twice gives two continuations) and the same seed and the same lines give the
same conversation again; `:seed N` starts that count again from N.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import sys

from rnntext.errors import RnntextError
from rnntext.options import coerce, flag, utf8_problem
from rnntext.sampling import SEED_LIMIT, SampleConfig, with_seed


def chat_help(settings: dict) -> str:
    shown = ", ".join(f":{flag(name)[2:]} " + ("on|off" if isinstance(value, bool) else name.upper())
                      for name, value in settings.items())
    return f"type text and press Enter for a continuation; settings: {shown}; :help; Ctrl-D to leave"


class Chat:
    """A conversation's settings, its seed and how many replies it has given."""

    def __init__(self, model, settings: dict, condition: str | None = None):
        cfg = with_seed(SampleConfig(**settings))  # every setting checked before the first line
        self.model, self.condition = model, condition
        self.settings, self.turn = {**settings, "seed": cfg.seed}, 0

    def reply(self, line: str) -> str:
        """The model's continuation of a typed line, or the one line that says why there is none."""
        if bad := utf8_problem(line):
            return f"error: {bad}: type UTF-8 text"
        model = self.model
        try:
            ids, unknown = model.encode(line, "skip")
            note = ""
            if unknown:
                from rnntext.text.levels import lookup_tokens

                note = f"(not in the vocabulary, left out: {' '.join(lookup_tokens(model.vocab, line)[1])})\n"
            prime = model.decode(ids)
            if not prime:
                return note + "(nothing left to continue)"
            options = {**self.settings, "seed": (self.settings["seed"] + self.turn) % SEED_LIMIT}
            self.turn += 1
            steps = [int(out[0]) for _, out in model.stream_ids(prime, unknown="skip", condition=self.condition,
                                                                **options) if out[0] >= 0]
            return note + model.decode(list(ids) + steps)
        except RnntextError as e:
            return f"error: {e}"

    def change(self, line: str) -> str:
        """Apply `:name value` if SampleConfig accepts it; say what happened."""
        name, _, value = line[1:].partition(" ")
        name = name.strip().replace("-", "_")
        if name in ("help", ""):
            return chat_help(self.settings)
        if name not in self.settings:
            near = difflib.get_close_matches(name, list(self.settings), n=1)
            hint = f" (did you mean :{flag(near[0])[2:]}?)" if near else ""
            return f"error: no setting :{flag(name)[2:]}{hint}; {chat_help(self.settings)}"
        try:
            new = coerce(SampleConfig, name, value.strip())
            cfg = with_seed(SampleConfig(**{**self.settings, name: new}))
        except RnntextError as e:
            return f"error: {e}"
        if name == "seed":  # the count of replies starts again from this seed
            new, self.turn = cfg.seed, 0
        self.settings[name] = new
        return f"{name} = {new}"


def converse(model, run: str, settings: dict, condition: str | None = None) -> int:
    """Read lines from stdin until its end; answer each with the model's continuation."""
    chat = Chat(model, settings, condition)
    tty = sys.stdin.isatty()
    seed = chat.settings["seed"]
    print(f"rnntext chat: seed {seed} (--seed {seed} gives this conversation again)", file=sys.stderr)
    if tty:
        print(f"rnntext chat: {model.vocab.level}-level model from {run}; {chat_help(chat.settings)}")
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
            print(chat.change(line))
        elif line.strip():
            print(chat.reply(line), flush=True)


def default_settings(names: tuple[str, ...], own: dict) -> dict:
    """Chat's settings: SampleConfig's defaults for `names`, less chat's `own` choices."""
    return {f.name: own.get(f.name, f.default) for f in dataclasses.fields(SampleConfig) if f.name in names}
