"""Options declared once: a dataclass field carries its name, default, help text, allowed values
and check, and every face of the option is made from it.

`opt` makes the field. `check_fields` runs the allowed values and checks of an object's
fields (every option dataclass calls it from `__post_init__`), `coerce` turns text and TOML
values into the field's type, and `flag` names the field's command-line flag: the name with
dashes, less a trailing `_s` (seconds). The command line (rnntext.cli.flags), the HTTP
request models (rnntext.serve.schemas) and chat's settings are generated from these fields.

The engine, device and precision options are shared by training and sampling: one
definition each (`engine_option` and the others), used by both sections.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Callable
from dataclasses import field
from typing import Any

from rnntext.errors import ConfigError

Check = tuple[Callable[[Any], bool], str]  # (is the value good?, what it must be)


def opt(default: Any, help: str, choices: tuple | None = None, check: Check | None = None,
        repeat: bool = False) -> Any:
    """A dataclass field with its help text, its allowed values and its check attached.

    `repeat`: a tuple of texts given one at a time (a repeatable flag, a JSON list or one text),
    never split at commas, since a comma may be part of a value (a stop string)."""
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples for sequence defaults (configs are frozen)")
    return field(default=default, metadata={"help": help, "choices": choices, "check": check, "repeat": repeat})


def at_least(low: float) -> Check:
    return (lambda v: v >= low), f"must be {low:g} or more"


def between(low: float, high: float, open_low: bool = False) -> Check:
    if open_low:
        return (lambda v: low < v <= high), f"must be in ({low:g}, {high:g}]"
    return (lambda v: low <= v <= high), f"must be between {low:g} and {high:g}"


def above(low: float) -> Check:
    return (lambda v: v > low), f"must be above {low:g}"


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    """The options of `values` that were given: one left at None (a keyword or a flag not given)
    leaves the layers under it, a preset, a run's settings or the defaults, to decide."""
    return {k: v for k, v in values.items() if v is not None}


def flag(name: str) -> str:
    """The command-line flag of option `name`: --top-k for top_k, --request-timeout for request_timeout_s."""
    return "--" + name.removesuffix("_s").replace("_", "-")


def utf8_problem(text: str) -> str | None:
    """Where text holds a lone surrogate (JSON can escape one; Python decodes bytes that are not
    UTF-8 in argv or stdin to them): a few words saying so, or None when the text is sound."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        code = ord(text[e.start])
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X} (a lone surrogate)"
        return f"{what} at character {e.start} is not valid UTF-8"
    return None


def did_you_mean(wrong: str, known) -> str:
    """ " (did you mean X?)" when a name in `known` is close to `wrong` (difflib), else ""."""
    near = difflib.get_close_matches(wrong, list(known), n=1, cutoff=0.6) if wrong else []
    return f" (did you mean {near[0]}?)" if near else ""


def check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


def check_fields(obj, typed: bool = False) -> None:
    """Every field of `obj` against its allowed values and its check; `typed`: against its
    default's type too (for options given directly, not through `coerce`)."""
    for f in dataclasses.fields(obj):
        check_value(f, getattr(obj, f.name), typed)


def check_value(f: dataclasses.Field, value: Any, typed: bool = True) -> None:
    """One option's value: its type (when `typed`), its allowed values, sound text, its range."""
    choices, rule = f.metadata.get("choices"), f.metadata.get("check")
    kind = _kind(f.default)
    if typed and not kind[0](value):
        raise ConfigError(f"{f.name}: must be {kind[1]}, not {value!r}")
    if choices and value not in choices:
        hint = did_you_mean(value, map(str, choices)) if isinstance(value, str) else ""
        raise ConfigError(f"{f.name}: {value!r} is not one of {', '.join(map(str, choices))}{hint}")
    if isinstance(value, str) and (bad := utf8_problem(value)):
        raise ConfigError(f"{f.name}: {bad}: give UTF-8 text")
    if rule is not None and not rule[0](value):
        raise ConfigError(f"{f.name}: {rule[1]}, not {value!r}")


def _kind(default: Any) -> tuple[Callable[[Any], bool], str]:
    if isinstance(default, bool):
        return (lambda v: isinstance(v, bool)), "true or false"
    if isinstance(default, int):
        return (lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool)), "a whole number"
    if isinstance(default, float):
        return (lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)), \
            "a finite number"
    if isinstance(default, str):
        return (lambda v: isinstance(v, str)), "text"
    return (lambda v: True), ""


def field_of(cls, key: str) -> dataclasses.Field:
    f = next((f for f in dataclasses.fields(cls) if f.name == key), None)
    if f is None:
        names = [x.name for x in dataclasses.fields(cls)]
        raise ConfigError(f"unknown option {key!r}{did_you_mean(key, names)}: valid options are {', '.join(names)}")
    return f


TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def coerce(cls, key: str, value: Any) -> Any:
    """Convert `value` to the type of field `key` of `cls`, or raise a ConfigError naming it."""
    f = field_of(cls, key)
    default = f.default
    if f.metadata.get("repeat"):  # texts, whole: a str is one value
        if isinstance(value, str):
            return (value,) if value else ()
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            raise ConfigError(f"{key}: {value!r} is not a text or a list of texts")
        return tuple(value)
    try:
        if isinstance(default, bool):
            if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
                return value.strip().lower() in TRUE
            if not isinstance(value, bool):
                raise TypeError
            return value
        if isinstance(default, tuple):
            if not isinstance(value, (str, int, float, list, tuple)) or isinstance(value, bool):
                raise TypeError
            items = value.split(",") if isinstance(value, str) else value
            if isinstance(items, (int, float)):
                items = [items]
            kind = type(default[0]) if default else str
            return tuple(kind(x) for x in items)
        if isinstance(default, (int, float)):
            if isinstance(value, bool) or (isinstance(default, int) and isinstance(value, float)
                                           and not value.is_integer()):
                raise TypeError
            return type(default)(value)
        if isinstance(default, str):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise TypeError
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: {value!r} is not a valid {type(default).__name__}") from None
    return value


# -- shared by training and sampling ---------------------------------------------------------

ENGINES = ("auto", "torch", "numpy")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
TORCH_STREAMS = 32  # sampling: from this many streams, auto samples with torch on a CUDA device


def engine_option() -> Any:
    return opt("auto", "auto: torch to train; to sample, numpy (fast for a few streams, no torch needed) unless "
                       f"--device cuda, a low --precision, or {TORCH_STREAMS}+ streams on a CUDA device ask for "
                       "torch. numpy: the reference engine, no torch needed. torch: PyTorch (GPUs, large batches)",
               ENGINES)


def device_option() -> Any:
    return opt("auto", "device for the torch engine: auto (cuda when present), cpu or cuda", DEVICES)


def precision_option() -> Any:
    return opt("auto", "auto: training autocasts to bfloat16 where the device computes it natively (CUDA; CPUs "
                       "with AMX or AVX512-BF16, about 2x faster there) and float32 elsewhere; sampling stays "
                       "float32 (the same seed gives the same text on either engine). bfloat16 or float16: "
                       "training in mixed precision (float16 adds a loss scaler, CUDA only), sampling with the "
                       "torch engine's recurrent products in that type (not bit-identical to float32)", PRECISIONS)
