"""Configuration: frozen dataclasses with documented defaults, TOML files and presets.

Defaults live here and only here (the sampling options in rnntext.sampling, the option
machinery, coercion and checks included, in rnntext.options). Every field carries a one-line help text (its metadata) that
is also its `--help` text in the CLI. Precedence: defaults < `--preset` < `--config
FILE.toml` < flags. One name per concept: a field's name is its TOML key, its API argument
and (with dashes) its flag.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from rnntext import cells, options
from rnntext.errors import ConfigError
from rnntext.faces import ask
from rnntext.options import device_option, engine_option, opt, precision_option
from rnntext.sampling import SampleConfig
from rnntext.text import levels

CELLS = cells.names()  # the registered recurrent cells (rnntext.cells)
LEVELS = levels.NAMES  # the registered token levels (rnntext.text.levels)
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("auto", "constant", "step", "exp", "inv", "plateau", "cosine")
AUTO_UNRESOLVED = 256  # what an auto hidden size reads as before a training run chooses it
AUTO = -1.0  # dropout and weight_drop: chosen by the training run (rnntext.training.autosize)
AUTO_BATCH = 32  # the auto batch's smallest choice, and what it reads as before a training run chooses it
AUTO_DROPOUT_UNRESOLVED = (0.1, 0.0)  # what auto dropout and weight_drop read as before a run chooses them
# A run trained --init-from another takes these from it: the model options that shape the
# parameters, and the data options that decide what the tokens are (rnntext.training.finetune).
ARCHITECTURE = ("cell", "num_layers", "hidden_size", "embed_size", "tie_weights")
TOKEN_OPTIONS = ("level", "word_mode", "eos", "lines", "condition_by", "nfc", "lowercase", "keep")


@dataclass(frozen=True)
class DataConfig:
    """How text is read, normalised, tokenized and split."""

    level: str = opt("char", "token level: char (Unicode code points), byte (UTF-8 bytes), word, or bpe (subwords)", LEVELS)
    word_mode: str = opt("punct", "word level: punct splits punctuation from words; space splits on whitespace only (PTB)",
                         ("punct", "space"))
    eos: bool = opt(False, "word level: keep line ends as an <eos> token (pytorch/examples' convention)")
    min_count: int = opt(1, "word level: words seen fewer times become <unk>")
    max_vocab: int = opt(0, "word level: keep at most this many tokens, specials included (0: all)")
    vocab_size: int = opt(2000, "bpe level: vocabulary size (256 bytes + merges)")
    lines: bool = opt(False, "one sample per non-empty line, between start and end tokens (the captions lab)")
    condition_by: str = opt("none", "conditioning labels: file (each input file is a label) or tab (each line is "
                            "LABEL<TAB>text); the model learns a per-label input", ("none", "file", "tab"))
    glob: str = opt("*.txt", "file pattern used when an input is a directory (searched recursively)")
    encoding: str = opt("utf-8", "text encoding of the input files")
    errors: str = opt("strict", "undecodable bytes: strict (error naming file and offset) or replace", ("strict", "replace"))
    keep_gutenberg: bool = opt(False, "keep Project Gutenberg's header and licence (up to a file's '*** START OF' line, "
                                      "from its '*** END OF' line), which are left out by default")
    nfc: bool = opt(False, "apply Unicode NFC normalisation first")
    lowercase: bool = opt(False, "lowercase the text (after NFC)")
    keep: str = opt("", "keep only characters matching this regex, e.g. '[\\nA-Za-z0-9 ,.:;?!-]' (after lowercasing)")
    max_chars: int = opt(0, "keep only the first N characters after filtering (0: all)")
    val_frac: float = opt(0.05, "fraction of the tokens for validation (a contiguous block after train)")
    test_frac: float = opt(0.0, "fraction of the tokens for test (the last contiguous block)")

    def __post_init__(self):
        options.check_fields(self)
        _check(self.max_chars >= 0, "max_chars", "must be 0 or more")
        _check(self.min_count >= 1, "min_count", "must be 1 or more")
        _check(self.max_vocab >= 0, "max_vocab", "must be 0 or more")
        _check(self.vocab_size >= 260, "vocab_size", "must be at least 260 (256 bytes and a few merges)")
        _check(0 <= self.val_frac < 1, "val_frac", "must be in [0, 1)")
        _check(0 <= self.test_frac < 1, "test_frac", "must be in [0, 1)")
        _check(self.val_frac + self.test_frac < 1, "val_frac",
               "val_frac + test_frac must be below 1 so that something is left to train on")


@dataclass(frozen=True)
class ModelConfig:
    """The network: cell, layers, sizes, embedding, dropout, initialisation."""

    cell: str = opt("lstm", f"recurrent cell{cells.alias_note()}", CELLS)
    num_layers: int = opt(2, "number of stacked recurrent layers")
    hidden_size: tuple[int, ...] = opt((0,), "hidden units: one size for every layer, or one per layer (e.g. 1024,512); "
                                       "0 (auto) chooses from the data size and --time-limit when training starts "
                                       "(docs/recipe.md)")
    embed_size: int = opt(64, "input embedding size; 0 feeds one-hot vectors instead")
    dropout: float = opt(AUTO, "dropout between layers and before the output layer (on the CPU rounded to a "
                         "multiple of 1/256); -1 (auto) chooses it from the model's size against the data when "
                         "training starts (docs/recipe.md)")
    locked_dropout: bool = opt(False, "variational dropout: one mask per sequence instead of per step, for inputs, "
                               "between layers and outputs (Gal & Ghahramani 2016; AWD-LSTM)")
    input_dropout: float = opt(0.0, "dropout on the embedded input (AWD-LSTM's dropouti)")
    embed_dropout: float = opt(0.0, "drop whole tokens from the embedding matrix (AWD-LSTM's dropoute)")
    weight_drop: float = opt(AUTO, "DropConnect on the recurrent weights W_hh, one mask per batch (AWD-LSTM's weight "
                             "drop; Wan et al. 2013); -1 (auto) chooses it with dropout")
    tie_weights: bool = opt(False, "share the input embedding with the output layer (Press & Wolf 2017); needs embed_size == last hidden size")
    init: str = opt("default", "initialisation: default (PyTorch's module defaults: embedding N(0,1), recurrent and "
                   "output U(+-1/sqrt(H))), uniform (pytorch/examples: embedding and output U(+-0.1)), xavier "
                   "(Xavier inputs, orthogonal recurrent), caffe (Xavier inputs and recurrent)",
                   ("default", "uniform", "xavier", "caffe"))
    forget_bias: float = opt(0.0, "initial LSTM forget-gate bias; 0 learns faster in the first thousand steps here "
                             "(docs/recipe.md: Initialisation); Jozefowicz et al. 2015 recommend 1 for long memories")
    labels: tuple[str, ...] = opt((), "conditioning labels, filled in from the dataset (a one-hot label joins "
                                  "every step's input, like the Caffe LSTM's static input)")

    def __post_init__(self):
        object.__setattr__(self, "cell", cells.canonical(self.cell))  # an alias (rnn) is the cell it names
        options.check_fields(self)
        _check(1 <= self.num_layers <= 64, "num_layers", "must be between 1 and 64")
        sizes = self.hidden_size if isinstance(self.hidden_size, tuple) else (self.hidden_size,)
        object.__setattr__(self, "hidden_size", tuple(int(s) for s in sizes))
        _check(self.hidden_size == (0,) or all(1 <= s <= 1 << 16 for s in self.hidden_size), "hidden_size",
               "each size must be between 1 and 65536 (or one 0 for auto)")
        _check(len(self.hidden_size) in (1, self.num_layers), "hidden_size",
               f"give one size or {self.num_layers} (one per layer), not {len(self.hidden_size)}")
        _check(0 <= self.embed_size <= 1 << 16, "embed_size", "must be between 0 and 65536")
        for key in ("dropout", "input_dropout", "embed_dropout", "weight_drop"):
            auto = key in ("dropout", "weight_drop") and getattr(self, key) == AUTO
            _check(auto or 0 <= getattr(self, key) < 1, key, "must be in [0, 1)" + (" or -1 (auto)" if key in (
                "dropout", "weight_drop") else ""))
        _check(len(set(self.labels)) == len(self.labels), "labels", "must be distinct")
        if self.tie_weights:  # an auto size becomes embed_size
            _check(self.embed_size > 0, "tie_weights", f"needs an embedding: set {ask('embed_size')}")
            _check(self.hidden_size == (0,) or self.embed_size == self.hidden_sizes[-1], "tie_weights",
                   f"needs embed_size ({self.embed_size}) equal to the last hidden size ({self.hidden_sizes[-1]})")

    def without_auto(self) -> ModelConfig:
        """This config with auto values read as they are before a training run chooses them
        (what an engine builds when it is given an unresolved config)."""
        dropout, weight_drop = AUTO_DROPOUT_UNRESOLVED
        return dataclasses.replace(self, hidden_size=self.hidden_sizes,
                                   dropout=dropout if self.dropout == AUTO else self.dropout,
                                   weight_drop=weight_drop if self.weight_drop == AUTO else self.weight_drop)

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        """One hidden size per layer (auto, not yet chosen by a training run, reads as 256)."""
        hs = (AUTO_UNRESOLVED,) if self.hidden_size == (0,) else self.hidden_size
        return hs * self.num_layers if len(hs) == 1 else hs

    def shape(self) -> str:
        """The layers as a person reads them: "2 x 256 lstm", "512 + 256 gru"."""
        return f"{layers_words(self.hidden_sizes)} {self.cell}"


def layers_words(sizes) -> str:
    """Layers of hidden sizes `sizes` in words: "2 x 256", or "512 + 256" when they differ."""
    return f"{len(sizes)} x {sizes[0]}" if len(set(sizes)) == 1 else " + ".join(map(str, sizes))


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, length of training, logging and checkpoints."""

    engine: str = engine_option()
    seq_len: int = opt(50, "time steps per training window (truncated backpropagation length); in line mode the "
                       "longest line, and longer lines are cut")
    batching: str = opt("streams", "streams: B contiguous streams with carried state (char-rnn); windows: independent "
                        "windows at random positions or every --stride tokens, shuffled (NumPy and Keras labs)",
                        ("streams", "windows"))
    stride: int = opt(0, "windows batching: slide windows by this many tokens (Keras: 1); 0 draws random positions")
    loss_on: str = opt("all", "train on every position, or on the last one only (n tokens in, the next one out)",
                       ("all", "last"))
    batch_size: int = opt(0, "parallel streams per batch (0: auto: 32, or 64 where the machine turns a batch twice "
                             "as large into at least 1.25 times the tokens per second, with --time-limit)")
    optimizer: str = opt("adamw", "optimizer", OPTIMIZERS)
    lr: float = opt(3e-3, "base learning rate")
    momentum: float = opt(0.0, "sgd momentum, or rmsprop momentum")
    nesterov: bool = opt(False, "use Nesterov momentum with sgd")
    beta1: float = opt(0.9, "Adam/AdamW beta1 (the Caffe lab's 'momentum')")
    beta2: float = opt(0.999, "Adam/AdamW beta2")
    alpha: float = opt(0.99, "RMSProp smoothing constant")
    eps: float = opt(1e-8, "optimizer epsilon")
    weight_decay: float = opt(0.0, "weight decay (decoupled for adamw, L2 for the others)")
    lr_schedule: str = opt("auto", "learning-rate schedule; auto: a cosine over the --time-limit budget when one is "
                           "given (it reaches its floor at the deadline), constant otherwise", SCHEDULES)
    lr_gamma: float = opt(0.1, "step: factor every lr_step epochs; exp: factor per epoch; inv: gamma; plateau: factor")
    lr_step: int = opt(10, "step schedule: epochs between decays")
    lr_decay_start: int = opt(0, "exp schedule: first epoch that decays")
    lr_power: float = opt(0.75, "inv schedule: lr * (1 + gamma * iter) ^ -power")
    lr_patience: int = opt(0, "plateau schedule: validations without improvement before decaying")
    warmup_iters: int = opt(0, "linear warm-up iterations (cosine schedule, or any schedule)")
    cosine_iters: int = opt(0, "cosine schedule: iterations from peak to lr_min; 0 follows the --time-limit budget "
                            "(the share of the training time spent), never --max-iters: a stopped and resumed run "
                            "must follow the same schedule")
    lr_min: float = opt(0.0, "cosine schedule: final learning rate")
    clip_norm: float = opt(5.0, "clip gradients to this global L2 norm (0: off)")
    ar: float = opt(0.0, "activation regularisation: alpha * mean(h^2) of the last layer's dropped output (AWD-LSTM)")
    tar: float = opt(0.0, "temporal activation regularisation: beta * mean((h_t - h_t-1)^2) (AWD-LSTM)")
    clip_value: float = opt(0.0, "clip each gradient element to [-v, v] (0: off; char-rnn's rule)")
    max_iters: int = opt(0, "stop after this many iterations (0: no limit)")
    epochs: float = opt(0.0, "stop after this many passes over the training split (0: no limit)")
    time_limit: float = opt(0.0, "stop after this many seconds of training (0: no limit)")
    log_every: int = opt(50, "iterations between metrics lines")
    eval_every: int = opt(500, "iterations between validations (0: only at the end)")
    eval_every_epochs: float = opt(0.0, "validate every this many epochs instead (e.g. 1: after every epoch, as the "
                                   "Keras lab); 0: use eval_every")
    eval_tokens: int = opt(200_000, "at most this many validation tokens per validation (0: all)")
    early_stop: int = opt(0, "stop after this many validations without improvement (0: never)")
    sample_every: int = opt(1, "print samples every N validations (0: never)")
    sample_temperatures: tuple[float, ...] = opt((0.5, 1.0), "temperatures of the samples printed while training")
    sample_length: int = opt(200, "length of the samples printed while training")
    checkpoint_every: int = opt(1000, "iterations between checkpoints (0: only at validations and the end)")
    keep_last: int = opt(0, "also keep the last K numbered checkpoints (0: none)")
    seed: int = opt(1234, "random seed")
    init_from: str = opt("", "fine-tune: start from this run's weights, architecture, token options and vocabulary "
                             "(extended by new tokens); fresh optimizer and schedule (docs/fine-tuning.md)")
    init_weights: str = opt("latest", "with init_from: that run's latest or best weights", ("latest", "best"))
    device: str = device_option()
    precision: str = precision_option()
    threads: int = opt(0, "CPU threads (0: the fastest count, timed by the size probe and while training)")
    quiet: bool = opt(False, "no progress bar or log lines")
    tensorboard: bool = opt(False, "also log to RUN/tensorboard (needs the tensorboard package)")

    def __post_init__(self):
        options.check_fields(self)
        _check(1 <= self.seq_len <= 1 << 20, "seq_len", "must be between 1 and 1048576")
        _check(0 <= self.batch_size <= 1 << 20, "batch_size", "must be between 1 and 1048576 (or 0: auto)")
        _check(self.lr > 0 and math.isfinite(self.lr), "lr", "must be a positive number")
        for key in ("weight_decay", "clip_norm", "clip_value", "max_iters", "epochs", "time_limit",
                    "momentum", "warmup_iters", "lr_min", "keep_last", "early_stop", "eval_tokens", "eval_every_epochs",
                    "ar", "tar",
                    "checkpoint_every", "eval_every", "sample_every", "lr_decay_start", "lr_patience", "threads"):
            _check(getattr(self, key) >= 0, key, "must be 0 or more")
        _check(self.log_every >= 1, "log_every", "must be 1 or more")
        _check(self.stride >= 0, "stride", "must be 0 or more")
        _check(self.batching == "windows" or not self.stride, "stride", f"applies to {ask('batching', 'windows')} only")
        _check(self.lr_step >= 1, "lr_step", "must be 1 or more")
        _check(self.cosine_iters >= 0, "cosine_iters", "must be 0 (follow the time limit) or more")
        _check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "beta1", "beta1 and beta2 must be in [0, 1)")
        _check(all(t >= 0 for t in self.sample_temperatures), "sample_temperatures", "must be 0 or more")
        _check(self.lr_gamma > 0, "lr_gamma", "must be positive")
        _check(not (self.nesterov and self.optimizer != "sgd"), "nesterov", f"applies to {ask('optimizer', 'sgd')} only")


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "sample": SampleConfig}


@dataclass(frozen=True)
class Config:
    """All sections together: what a preset, a TOML file and `config.toml` in a run hold."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}


_check = options.check


def key_section(key: str) -> str:
    """The section that owns `key`, or a ConfigError naming the unknown key."""
    for name, cls in SECTIONS.items():
        if key in {f.name for f in fields(cls)}:
            return name
    known = [f.name for cls in SECTIONS.values() for f in fields(cls)]
    raise options.unknown_option(key, known, "train")


def merge(base: Config, overrides: dict[str, dict[str, Any]]) -> Config:
    """`base` with `overrides` ({section: {key: value}}) applied; unknown keys are errors."""
    parts = {}
    for name, cls in SECTIONS.items():
        values = dataclasses.asdict(getattr(base, name))
        for key, value in overrides.get(name, {}).items():
            values[key] = options.coerce(cls, key, value, name)
        parts[name] = cls(**values)
    extra = set(overrides) - set(SECTIONS)
    if extra:
        raise ConfigError(f"unknown section [{sorted(extra)[0]}]: valid sections are {', '.join(SECTIONS)}")
    return Config(**parts)


def flat_overrides(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Group flat option names ({'lr': 0.1}) by the section that owns each."""
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        grouped.setdefault(key_section(key), {})[key] = value
    return grouped


def read_toml(path: str | Path) -> dict[str, dict[str, Any]]:
    """Parse a config TOML file into {section: {key: value}}; flat keys are grouped by owner."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}: give a TOML file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    except RecursionError:  # tomllib recurses once per level of nested tables and arrays
        raise ConfigError(f"config file {path} nests tables or arrays too deeply: give [sections] of plain values") from None
    return _group(raw, str(path))


def _group(raw: dict[str, Any], origin: str) -> dict[str, dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if key in ("description", "lab"):
            continue
        if isinstance(value, dict):
            if key not in SECTIONS:
                raise ConfigError(f"{origin}: unknown section [{key}]: valid sections are {', '.join(SECTIONS)}")
            grouped.setdefault(key, {}).update(value)
        else:
            grouped.setdefault(key_section(key), {})[key] = value
    return grouped


def preset_names() -> list[str]:
    files = resources.files("rnntext.presets").iterdir()
    return sorted(p.name[:-5] for p in files if p.name.endswith(".toml"))


def preset_description(name: str) -> str:
    raw = tomllib.loads(resources.files("rnntext.presets").joinpath(f"{name}.toml").read_text("utf-8"))
    return str(raw.get("description", ""))


def read_preset(name: str) -> dict[str, dict[str, Any]]:
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r}: `rnntext presets` lists them ({', '.join(preset_names())})")
    text = resources.files("rnntext.presets").joinpath(f"{name}.toml").read_text("utf-8")
    return _group(tomllib.loads(text), f"preset {name}")


def resolve(preset: str | None = None, config_file: str | Path | None = None,
            overrides: dict[str, Any] | None = None, base: Config | None = None) -> Config:
    """Defaults < the level's recipe < preset < config file < flat overrides (flags or API
    arguments). The level is the one the later layers ask for. With `base` (a resumed run's
    recorded configuration, a fine-tuned run's parent) the layers apply to it instead of the
    defaults and the recipe."""
    layers = option_layers(preset, config_file, overrides)
    level = given_in(layers, "data", "level", DataConfig.level)
    cfg = Config() if base is None else base
    if base is None and levels.recipe(level):  # the defaults are the character recipe; a level may name another
        recipe = read_preset(levels.recipe(level))
        chosen = {key for layer in layers for key in layer.get("model", {})}
        if chosen & {"embed_size", "hidden_size"} and "tie_weights" not in chosen:
            recipe["model"].pop("tie_weights", None)  # sizes of the user's own: tie only if asked to
        cfg = merge(cfg, recipe)
    for layer in layers:
        cfg = merge(cfg, layer)
    return cfg


def option_layers(preset: str | None = None, config_file: str | Path | None = None,
                  overrides: dict[str, Any] | None = None) -> list[dict[str, dict[str, Any]]]:
    """What the user asked for, lowest first: the preset, the config file, the flat overrides."""
    layers = [read_preset(preset)] if preset else []
    return layers + ([read_toml(config_file)] if config_file else []) + ([flat_overrides(overrides)] if overrides else [])


def given_in(layers: list[dict[str, dict[str, Any]]], section: str, key: str, default: Any = None) -> Any:
    """The value of `section.key` the highest layer sets, else `default`."""
    return next((layer[section][key] for layer in reversed(layers) if key in layer.get(section, {})), default)


def to_toml(cfg: Config) -> str:
    """The resolved configuration as TOML (what a run's config.toml holds)."""
    lines = []
    for name, values in cfg.to_dict().items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(v)}" for key, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + "".join(_toml_char(c) for c in str(v)) + '"'


_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_char(c: str) -> str:
    """One character of a TOML basic string: control characters as escapes (the spec allows
    none raw but tab); a lone surrogate (undecodable bytes in an argument) has no TOML form."""
    if c in _TOML_ESCAPES:
        return _TOML_ESCAPES[c]
    code = ord(c)
    if code < 0x20 or code == 0x7F:
        return f"\\u{code:04X}"
    if 0xD800 <= code <= 0xDFFF:
        raise ConfigError(f"a value holds the undecodable character {c!r}: give options as valid UTF-8")
    return c
