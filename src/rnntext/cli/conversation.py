"""The chat loop (the TensorFlow lab's prompt): type text, the model continues it.

A reply is the typed text and its continuation up to where a person would stop reading: the end
of a sentence or a blank line (`reply = sentence`, the default), a line end (`line`), or
`length` tokens (`length`, which also caps the others). A line starting with ':' changes a
setting (`:temperature 0.8`); `:help` lists the settings with their values, `:quit` (`:q`,
`:exit`) or Ctrl-D leaves. The settings are sampling options (rnntext.sampling.SampleConfig)
and chat's own (ChatConfig), converted and checked as everywhere else, and they are checked
when chat starts, so that a bad flag is one line and status 2, not an error on every line. The
seed follows the one rule (rnntext.sampling.with_seed): given, or drawn fresh and said. Reply k
of a conversation samples with seed + k, so the random state moves on between prompts ("hello"
twice gives two continuations) and the same seed and the same lines give the same
conversation again; `:seed N` starts that count again from N.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import re
import sys
from dataclasses import dataclass

from rnntext.errors import RnntextError
from rnntext.faces import flag
from rnntext.options import check_fields, coerce, opt, utf8_problem
from rnntext.sampling import SEED_LIMIT, SampleConfig, with_seed

QUIT = ("quit", "q", "exit")
ENDS = {  # where a reply ends in its continuation; a line end itself is left out of the reply
    "sentence": re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)|\n[ \t]*\n"),
    "line": re.compile(r"\n"),
}


@dataclass(frozen=True)
class ChatConfig:
    """chat's own settings, beside the sampling options."""

    reply: str = opt("sentence", "where a reply ends: sentence (at the end of a sentence, or a blank line), line (at "
                                 "a line end) or length (after length tokens, which caps the others too)",
                     ("sentence", "line", "length"))

    def __post_init__(self):
        check_fields(self, typed=True)


def chat_help(settings: dict) -> str:
    shown = ", ".join(f":{flag(name)[2:]} {_shown(value)}" for name, value in settings.items())
    return f"type text and press Enter for a reply; settings (:name value): {shown}; :help; :quit or Ctrl-D to leave"


def _shown(value) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def end_of_reply(text: str, reply: str) -> int | None:
    """Where a reply whose continuation so far is `text` ends (a sentence's closing marks kept, a
    line end left out; the line ends it starts with do not count), or None while it goes on."""
    start = len(text) - len(text.lstrip())
    m = ENDS[reply].search(text, start) if reply in ENDS else None
    if m is None:
        return None
    return m.start() if m[0].startswith("\n") else m.end()


class Chat:
    """A conversation's settings (sampling options and chat's own), its seed and how many replies
    it has given."""

    def __init__(self, model, settings: dict, condition: str | None = None):
        self.owner = {**{f.name: SampleConfig for f in dataclasses.fields(SampleConfig)},
                      **{f.name: ChatConfig for f in dataclasses.fields(ChatConfig)}}
        cfg = with_seed(self._checked(settings)[0])  # every setting checked before the first line
        self.model, self.condition = model, condition
        self.settings, self.turn = {**settings, "seed": cfg.seed}, 0

    def _checked(self, settings: dict) -> tuple[SampleConfig, ChatConfig]:
        return tuple(cls(**{k: v for k, v in settings.items() if self.owner[k] is cls})
                     for cls in (SampleConfig, ChatConfig))

    def reply(self, line: str) -> str:
        """The typed line and the model's continuation of it, up to where the `reply` setting ends
        a reply; or the one line that says why there is none."""
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
            settings = {**self.settings, "seed": (self.settings["seed"] + self.turn) % SEED_LIMIT}
            self.turn += 1
            cfg = model.sampling(prime, unknown="skip", **{k: v for k, v in settings.items()
                                                            if self.owner[k] is SampleConfig})
            return note + self._continued(model.steps(cfg, self.condition), prime, settings["reply"])
        except RnntextError as e:
            return f"error: {e.said('flag')}"

    def _continued(self, steps, prime: str, reply: str) -> str:
        """The prime as its level shows it, then the continuation up to the end of the reply."""
        decoder = self.model.decoder()
        shown, text = self.model.level.show_prime(decoder, prime, [int(i) for i in steps.prime]), ""
        for _, ids in steps:
            if ids[0] < 0:
                break
            text += decoder.feed([int(ids[0])])
            if (end := end_of_reply(text, reply)) is not None:
                return shown + text[:end]
        return shown + text + decoder.flush()

    def change(self, line: str) -> str:
        """Apply `:name value` if its option accepts it; say what happened."""
        name, _, value = line[1:].partition(" ")
        name = name.strip().replace("-", "_")
        if name in ("help", ""):
            return chat_help(self.settings)
        if name not in self.settings:
            near = difflib.get_close_matches(name, list(self.settings) + ["help", "quit"], n=1)
            hint = f" (did you mean :{flag(near[0])[2:]}?)" if near else ""
            return f"error: no setting :{flag(name)[2:]}{hint}; {chat_help(self.settings)}"
        try:
            new = coerce(self.owner[name], name, value.strip())
            cfg = with_seed(self._checked({**self.settings, name: new})[0])
        except RnntextError as e:
            return f"error: {e.said('flag')}"
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
        if line.strip().startswith(":") and line.strip()[1:].strip() in QUIT:
            return 0
        if line.startswith(":"):
            print(chat.change(line))
        elif line.strip():
            print(chat.reply(line), flush=True)


def default_settings(names: tuple[str, ...], own: dict) -> dict:
    """Chat's settings: SampleConfig's defaults for `names`, then ChatConfig's, less chat's `own` choices."""
    fields = [f for f in dataclasses.fields(SampleConfig) if f.name in names] + list(dataclasses.fields(ChatConfig))
    return {f.name: own.get(f.name, f.default) for f in fields}
