"""Flags made from option dataclasses, and the flags several commands share.

A flag generated from a field (rnntext.options) has the field's name with dashes, its type,
its allowed values and its help text, with the default shown. Left out, a generated flag is
None, so that the layers under it (a run's [sample] section, a preset, the defaults) decide;
a command whose own default differs passes it in `defaults` and the flag starts at it. An
option's old names (opt's `was`) become hidden flags that set it and warn, for one release.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import fields

from rnntext.config import SECTIONS
from rnntext.faces import flag
from rnntext.options import did_you_mean

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (what, a close name if there is one, and the
    command's own --help) and status 2."""

    def parse_args(self, args=None, namespace=None):
        args, extras = self.parse_known_args(args, namespace)
        if extras:  # named by the subcommand that was given, whose flags they resemble
            self.chosen(args).error(f"unrecognized arguments: {' '.join(extras)}")
        return args

    def chosen(self, args) -> argparse.ArgumentParser:
        """The parser of the subcommand `args` were parsed for (this one without)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices.get(getattr(args, action.dest, None), self)
        return self

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{self.suggestion(message)} (see {self.prog} --help)\n")

    def suggestion(self, message: str) -> str:
        """ "did you mean ...?" for a mistyped flag or choice (a subcommand's name, say), or ""."""
        if choice := re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message):
            wrong, known = choice[1], re.findall(r"'([^']*)'", choice[2])
        elif message.startswith("unrecognized arguments: "):
            flags = [word.partition("=")[0] for word in message.split()[2:] if word.startswith("-")]
            wrong, known = (flags or [""])[0], list(self._option_string_actions)
        else:
            return ""
        return did_you_mean(wrong, known)


def add_option_flags(parser, cls, names: tuple[str, ...] | None = None, skip: tuple[str, ...] = (),
                     defaults: dict | None = None, title: str | None = None) -> None:
    """One flag per field of dataclass `cls` (those in `names`, less `skip`), in a group `title`."""
    group = parser.add_argument_group(title) if title else parser
    defaults = defaults or {}
    for f in fields(cls):
        if (names is not None and f.name not in names) or f.name in skip:
            continue
        default = defaults.get(f.name, f.default)
        start = default if f.name in defaults else None
        choices = f.metadata.get("choices")  # listed here and checked by the option's own check (rnntext.options)
        listed = f"one of: {', '.join(map(str, choices))}; " if choices else ""
        help_text = f"{f.metadata.get('help', '')} ({listed}default: {_show(default)})"
        if isinstance(f.default, bool):
            group.add_argument(flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction, default=start,
                               help=help_text)
        elif f.metadata.get("repeat"):  # given once per value: --stop A --stop B
            group.add_argument(flag(f.name), dest=f.name, action="append", default=start,
                               metavar=flag(f.name)[2:].replace("-", "_").upper(), help=help_text)
        else:
            kind = str if isinstance(f.default, (tuple, str)) else type(f.default)
            group.add_argument(flag(f.name), dest=f.name, type=kind, default=start,
                               metavar=flag(f.name)[2:].replace("-", "_").upper(), help=help_text)
        for old in f.metadata.get("was", ()):
            _add_old_name(parser, old, f)


def _show(value) -> str:
    return (",".join(map(str, value)) or "none") if isinstance(value, tuple) else repr(value)


def add_section_flags(parser, section: str, skip: tuple[str, ...] = ()) -> None:
    add_option_flags(parser, SECTIONS[section], skip=skip, title=f"{section} options")


def option_values(args: argparse.Namespace, *classes) -> dict:
    """The options of `classes` that were given (or that a command gave a default of its own)."""
    names = {f.name for cls in classes for f in fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def section_values(args: argparse.Namespace, *sections: str) -> dict:
    return option_values(args, *(SECTIONS[s] for s in sections))


def add_config_flags(parser) -> None:
    parser.add_argument("--preset", help="start from a named preset (`rnntext presets` lists them)")
    parser.add_argument("--config", help="a TOML file of options (applied after --preset, before flags)")


def add_run(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="the run directory")


def add_weights(parser) -> None:
    parser.add_argument("--weights", default="latest", choices=("latest", "best"), help="which weights (default: latest)")


def add_condition(parser, what: str = "generate") -> None:
    parser.add_argument("--condition", metavar="LABEL", help=f"the label to {what} under (models trained with "
                                                             f"--condition-by)")


class Renamed(argparse.Action):
    """An option's old flag, kept for one release: hidden from --help, it sets the option and
    says on stderr which flag to use instead (a switch's --no- form too)."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        off = self.nargs == 0 and option_string.startswith("--no-")
        new = f"--no-{self.new[2:]}" if off else self.new
        print(f"{parser.prog}: warning: {option_string} is now {new}; the old name will be removed in the "
              f"next release", file=sys.stderr)
        setattr(namespace, self.dest, not off if self.nargs == 0 else values)


def _add_old_name(parser, old: str, f) -> None:
    """The old name `old` of option field `f` as a hidden flag that sets the option and warns."""
    if isinstance(f.default, bool):
        parser.add_argument(flag(old), f"--no-{flag(old)[2:]}", dest=f.name, action=Renamed, new=flag(f.name),
                            nargs=0, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return
    kind = str if isinstance(f.default, (tuple, str)) else type(f.default)
    parser.add_argument(flag(old), dest=f.name, type=kind, action=Renamed, new=flag(f.name),
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)
