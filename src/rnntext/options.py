"""Options declared once: a dataclass field carries its name, default, help text, allowed values,
check and old names, and every face of the option is made from it. The one home of how an
option works; the sections that declare options with it are rnntext.config (data, model,
train), rnntext.sampling (sample), rnntext.scoring (eval) and rnntext.serve.limits (the server's).

`opt` makes the field. `check_fields` runs the allowed values and checks of an object's
fields (every option dataclass calls it from `__post_init__`; `check_values` checks values
alone), `coerce` turns text and TOML values into the field's type; how each face names an
option (the flag, the keyword, the JSON field) is rnntext.faces'. An option renamed
keeps its old name for one release (opt's `was`): `current_names` takes it wherever options
arrive (flags, HTTP fields, the server's limits) and says so the way that face speaks. The
command line (rnntext.cli.flags), the HTTP request models (rnntext.serve.schemas) and chat's
settings are generated from these fields.

The engine, device and precision options are shared by training, sampling and evaluation:
one definition each (`engine_option` and the others), and one rule for what `auto` runs on
(`choose_engine`).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import warnings
from collections.abc import Callable
from dataclasses import field
from typing import Any

from rnntext.errors import ConfigError
from rnntext.faces import ask, flag, see_help  # noqa: F401  (flag: the server's limits name it here)

Check = tuple[Callable[[Any], bool], str]  # (is the value good?, what it must be)


def opt(default: Any, help: str, choices: tuple | None = None, check: Check | None = None,
        repeat: bool = False, was: tuple[str, ...] = ()) -> Any:
    """A dataclass field with its help text, its allowed values and its check attached.

    `repeat`: a tuple of texts given one at a time (a repeatable flag, a JSON list or one text),
    never split at commas, since a comma may be part of a value (a stop string). `was`: the
    option's old names, still accepted (with a warning) for one release."""
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples for sequence defaults (configs are frozen)")
    return field(default=default, metadata={"help": help, "choices": choices, "check": check, "repeat": repeat,
                                            "was": tuple(was)})


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


def renamed(cls) -> dict[str, str]:
    """{old name: current name} for the options of dataclass `cls` that were renamed (opt's `was`)."""
    return {old: f.name for f in dataclasses.fields(cls) for old in f.metadata.get("was", ())}


def current_names(values: dict[str, Any], renames: dict[str, str], tell: Callable[[str, str], None]) -> dict:
    """`values` with every old name in `renames` ({old: current}) replaced by its current one, and
    `tell(old, current)` called for each (a warning in the face's own words); a value given under
    both names keeps the current name's."""
    if not renames.keys() & values.keys():
        return values
    values = dict(values)
    for old, new in renames.items():
        if old in values:
            tell(old, new)
            values.setdefault(new, values.pop(old))
    return values


def deprecation(what: str) -> Callable[[str, str], None]:
    """How the Python API tells of an old name: a DeprecationWarning "{what} OLD is now NEW"."""
    return lambda old, new: warnings.warn(f"{what} {old} is now {new}", DeprecationWarning, stacklevel=4)


def check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


def check_fields(obj, typed: bool = False) -> None:
    """Every field of `obj` against its allowed values and its check; `typed`: against its
    default's type too (for options given directly, not through `coerce`)."""
    for f in dataclasses.fields(obj):
        check_value(f, getattr(obj, f.name), typed)


def check_values(cls, **values) -> None:
    """Check option values by the definitions of `cls`'s fields, without a whole object (a
    sampling Rule's numbers, evaluation's engine)."""
    for f in dataclasses.fields(cls):
        if f.name in values:
            check_value(f, values[f.name])


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


def field_of(cls, key: str, section: str | None = None) -> dataclasses.Field:
    """The field of option `key`; a ConfigError for an unknown one, naming the TOML `section`
    it was read under, or the valid names."""
    f = next((f for f in dataclasses.fields(cls) if f.name == key), None)
    names = [x.name for x in dataclasses.fields(cls)]
    if f is None and section:
        near = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        raise ConfigError(f"unknown option {key!r} in section [{section}]" + (f" (did you mean {near[0]}?)" if near else ""))
    if f is None:
        raise unknown_option(key, names, valid=True)
    return f


def unknown_option(key: str, known, command: str | None = None, valid: bool = False) -> ConfigError:
    """The error for an option nobody declared, worded per face (a keyword argument, a flag, a
    field): the known name closest to it, and where the valid names are (`command`'s help, or
    all of them when `valid`)."""
    known = list(known)
    near = difflib.get_close_matches(key, known, n=1, cutoff=0.6) if key else []
    hint = f" (did you mean {ask(near[0])}?)" if near else ""
    where = (f": valid options are {', '.join(map(ask, known))}" if valid else
             f": see {see_help(command)} for the valid names" if command else "")
    return ConfigError(f"unknown option {ask(key)}{hint}{where}")


def check_names(cls, values: dict, command: str | None = None) -> None:
    """Every key of `values` names an option of `cls` (or an old name of one), else the error
    for the first that does not, with the closest name."""
    names = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in names and key not in renamed(cls):
            raise unknown_option(key, names, command)


TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def coerce(cls, key: str, value: Any, section: str | None = None) -> Any:
    """Convert `value` to the type of field `key` of `cls`, or raise a ConfigError naming it (and
    the TOML `section` an unknown key was read under)."""
    f = field_of(cls, key, section)
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


# -- shared by training, sampling and evaluation ---------------------------------------------

ENGINES = ("auto", "torch", "numpy")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
TORCH_STREAMS = 32  # sampling: from this many streams, auto samples with torch on a CUDA device
NUMPY_FLOAT32 = f"precision: the numpy engine computes in float32: drop {ask('precision')} or use {ask('engine', 'torch')}"


def engine_option() -> Any:
    return opt("auto", "auto: torch to train and to evaluate where it is installed; to sample, the fastest path "
                       "measured for this kind of CPU and this much work (numpy for one stream or a few, torch for "
                       "many: in bfloat16 where the CPU computes it natively), or torch on a CUDA device for "
                       f"--device cuda or {TORCH_STREAMS}+ streams. numpy: the reference engine, no torch needed. "
                       "torch: PyTorch (GPUs, large batches)", ENGINES)


def device_option() -> Any:
    return opt("auto", "device for the torch engine: auto (cuda when present), cpu or cuda", DEVICES)


def precision_option() -> Any:
    return opt("auto", "auto: training and evaluation autocast to bfloat16 where the device computes it natively "
                       "(CUDA; CPUs with AMX or AVX512-BF16, about 2x faster there; a trained model's loss stays "
                       "within about 1e-5 relative) and float32 elsewhere; sampling runs in float32 (the same seed "
                       "gives the same text on either engine), except many streams on a CPU with native bfloat16, "
                       "where the fastest path is torch with bfloat16 recurrent products: its text differs from "
                       "float32's (it scores text within 0.01 nats per token of float32; --precision float32 keeps "
                       "float32's text). float32: the same numbers on every machine. "
                       "bfloat16 or float16: training in mixed precision (float16 adds a loss scaler, CUDA only), "
                       "sampling with the torch engine's recurrent products in that type (not bit-identical to "
                       "float32)", PRECISIONS)


def choose_engine(engine: str, device: str = "auto", precision: str = "auto", *, windows: bool = False,
                  streams: int = 1) -> str:
    """The engine that runs: `engine`, or for auto torch where it is installed and the work gains
    by it, numpy otherwise. Torch gains with `windows` (training, or scoring whole windows: its
    fused kernels), a low precision, a CUDA device asked for, or `streams` (stepped side by side)
    of TORCH_STREAMS or more where a CUDA device is present; a few streams step faster in the
    NumPy runtime. A choice that cannot run is refused in one line."""
    low = precision in ("bfloat16", "float16")
    if engine == "auto":
        gains = windows or low or device == "cuda" or (device == "auto" and streams >= TORCH_STREAMS and cuda_present())
        engine = "torch" if gains and torch_installed() else "numpy"
    if engine == "torch" and not torch_installed():
        raise ConfigError(f"engine: torch is not installed: use the numpy engine ({ask('engine', 'auto')} or "
                          f"{ask('engine', 'numpy')})")
    if engine == "numpy" and low:
        raise ConfigError(NUMPY_FLOAT32)
    if engine == "numpy" and device == "cuda":
        raise ConfigError(f"device: the numpy engine runs on the CPU: drop {ask('device')} or use {ask('engine', 'torch')}")
    return engine


# Sampling on a CPU: characters per second in total that each (engine, precision) reached, by
# streams stepped side by side (benchmarks/sampling.py's 2x256 LSTM, vocabulary 65: the in-process
# generate loop; docs/measured.md), on a CPU that computes bfloat16 natively (True: an AMD EPYC,
# Zen 5, 2 cores, AVX512-BF16) and on one that does not (False: the same as a 1-core AVX2 CPU).
# The torch paths also pay TORCH_START_S once, to import torch.
_N, _T32, _B16 = ("numpy", "float32"), ("torch", "float32"), ("torch", "bfloat16")
SAMPLING_SPEEDS: dict[bool, dict[int, dict[tuple[str, str], float]]] = {
    True: {1: {_N: 23_000, _T32: 11_500, _B16: 8_200}, 4: {_N: 20_500, _T32: 12_900, _B16: 25_000},
           16: {_N: 65_700, _T32: 32_400, _B16: 76_100}, 32: {_N: 83_000, _T32: 47_300, _B16: 104_500},
           64: {_N: 99_800, _T32: 83_000, _B16: 146_500}, 128: {_N: 96_300, _T32: 93_100, _B16: 186_400},
           256: {_N: 106_800, _T32: 99_000, _B16: 242_200}},
    False: {1: {_N: 19_400, _T32: 12_200}, 4: {_N: 21_000, _T32: 12_200}, 16: {_N: 42_600, _T32: 39_300},
            32: {_N: 54_300, _T32: 41_100}, 64: {_N: 62_500, _T32: 54_800}, 128: {_N: 68_100, _T32: 58_700},
            256: {_N: 68_300, _T32: 58_300}},
}
TORCH_START_S = 1.0  # importing torch and building its streams, measured on the same machines


def fastest_sampling(speeds: dict[int, dict[tuple[str, str], float]], streams: int, length: int = 500,
                     allowed=lambda path: True) -> tuple[str, str]:
    """The (engine, precision) of `speeds` (streams -> {path: chars/s}) that writes `streams`
    samples of `length` tokens soonest, start-up included (TORCH_START_S for torch), at the
    speeds of the largest measured count at or below `streams` (the smallest one below them
    all), among the paths `allowed` lets run."""
    row = speeds[max((n for n in speeds if n <= streams), default=min(speeds))]
    seconds = lambda path: (TORCH_START_S if path[0] == "torch" else 0) + streams * length / row[path]  # noqa: E731
    return min((path for path in row if allowed(path)), key=seconds)


def choose_sampling(engine: str, device: str = "auto", precision: str = "auto", streams: int = 1,
                    length: int = 500) -> tuple[str, str]:
    """(engine, precision) that sample `streams` streams of `length` tokens side by side. An
    engine or precision asked for is taken (choose_engine refuses what cannot run; precision auto
    is then float32). With the engine auto on a CPU, the fastest path measured on this class of
    CPU for this much work (SAMPLING_SPEEDS): NumPy in float32 for a few streams, torch for many,
    in bfloat16 where the CPU computes it natively and the precision is auto (its text is not
    float32's: see precision_option). A CUDA device asked for, or present with TORCH_STREAMS
    streams or more, samples on torch in float32."""
    if engine == "auto" and precision in ("auto", "float32") and device != "cuda" \
            and not (device == "auto" and streams >= TORCH_STREAMS and cuda_present()):
        ok = lambda path: precision in ("auto", path[1])  # noqa: E731
        picks = {fastest_sampling(table, streams, length, ok) for table in SAMPLING_SPEEDS.values()}
        # torch is imported (a second) only where it may win: to ask which kind of CPU this is
        if picks != {("numpy", "float32")}:
            from rnntext import hardware

            picks = {fastest_sampling(SAMPLING_SPEEDS[hardware.native_bf16()], streams, length, ok)
                     if torch_installed() else ("numpy", "float32")}
        engine, chosen = picks.pop()
        return choose_engine(engine, device, chosen), chosen
    engine = choose_engine(engine, device, precision, streams=streams)
    return engine, "float32" if precision == "auto" else precision


def torch_installed() -> bool:
    """Whether torch imports (asked only where it would be used: importing it takes a second)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def cuda_present() -> bool:
    """Whether torch is installed and sees a CUDA device."""
    if not torch_installed():
        return False
    import torch

    return torch.cuda.is_available()
