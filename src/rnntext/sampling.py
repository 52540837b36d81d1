"""Every sampling option, once: its name, default, help text and check.

`SampleConfig` is the one source. The `sample` command's flags, chat's and `eval --novelty`'s,
the `[sample]` section of presets and a run's config.toml, the Python API's keyword
arguments (Model.generate, Model.stream) and the HTTP request fields (rnntext.serve.schemas)
are all made from its fields, and every one of them is checked by constructing it.
Precedence when sampling a run: these defaults < the run's `[sample]` section < what the
caller gives.

`sampling_plan` is the rule that turns `engine = "auto"` and `precision = "auto"` into what
samples. `with_seed` is the seed rule, the same for the command line, chat, the server and the
API: a seed that is given is used; left out (FRESH_SEED, -1) a fresh one is drawn; either way
the seed used is reported (on stderr or in the JSON, in the server's reply, in
`Model.last_seed`), so that the same text can be had again with it. A run's `[sample]` section
never fixes the seed (`run_defaults`): every run's config.toml records one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields, replace

from rnntext.errors import ConfigError
from rnntext.options import (
    TORCH_STREAMS,
    above,
    at_least,
    between,
    check_fields,
    check_value,
    device_option,
    engine_option,
    opt,
    precision_option,
    utf8_problem,
)

UNKNOWN_HELP = "error, skip, or replace:C (e.g. replace:' '; at word level replace:<unk>)"
TOP_PROBS_NEXT = 10  # how many tokens a next-token list holds when not told (Model.next_tokens, /v1/next)


def valid_unknown(value: str) -> bool:
    return value in ("error", "skip") or (value.startswith("replace:") and len(value) > len("replace:"))


FRESH_SEED = -1  # the seed option's "draw a fresh one" (with_seed)
SEED = ((lambda v: v == FRESH_SEED or 0 <= v < 2**63), "must be 0 or more (below 2**63), or -1 for a fresh one")
UNKNOWN_CHECK = (valid_unknown, f"must be {UNKNOWN_HELP}")
STOP_CHECK = ((lambda v: isinstance(v, tuple) and all(isinstance(s, str) and s and utf8_problem(s) is None for s in v)),
              "each stop string must be non-empty UTF-8 text")
MAX_BEAM = 64


def check_unknown(value: str) -> None:
    """The one check of an `unknown` value, wherever one is given (sampling, evaluation, HTTP)."""
    if not isinstance(value, str) or not valid_unknown(value):
        raise ConfigError(f"unknown: {UNKNOWN_CHECK[1]}, not {value!r}")


@dataclass(frozen=True)
class SampleConfig:
    """How text is generated from a trained model."""

    prime: str = opt("", "text to start from (empty: a line end, or the start token of a line-mode model)")
    length: int = opt(500, "tokens to generate per sample", check=at_least(0))
    temperature: float = opt(1.0, "divide logits by this (0 means greedy)", check=at_least(0))
    top_k: int = opt(0, "sample only among the K most likely tokens (0: all)", check=at_least(0))
    top_p: float = opt(1.0, "sample only from the smallest set of tokens whose probability reaches P (1: all)",
                       check=between(0, 1, open_low=True))
    greedy: bool = opt(False, "always take the most likely token (same as temperature 0)")
    num_samples: int = opt(1, "independent samples to generate (in one batch)", check=between(1, 100_000))
    seed: int = opt(FRESH_SEED, "random seed: the same seed gives the same text; -1 draws a fresh one and reports "
                                "it", check=SEED)
    unknown: str = opt("error", f"prime tokens outside the vocabulary: {UNKNOWN_HELP}", check=UNKNOWN_CHECK)
    stop_at_end: bool = opt(True, "line-mode models: end a sample at the end token")
    top_probs: int = opt(0, "how many of the most likely next tokens after the prime to list, with their "
                            "probabilities (0: none)", check=at_least(0))
    beam: int = opt(0, "beam search with this many beams instead of sampling: the likeliest continuation, ranked "
                       "by average log-probability per token; deterministic (temperature, top_k, top_p and seed do "
                       "not apply); num_samples returns the best beams, at most this many (0: sample)",
                    check=between(0, MAX_BEAM))
    repetition_penalty: float = opt(1.0, "CTRL's repetition penalty (Keskar et al. 2019): the logit of a token this "
                                         "sample has already generated is divided by P when positive and multiplied "
                                         "by P when negative, before temperature, top_k and top_p; the prime does not "
                                         "count (1: off; above 1 repeats less)", check=above(0))
    stop: tuple[str, ...] = opt((), "end a sample where its text first contains this string, which is left out of "
                                    "the output (repeatable; matched in the generated text, not the prime)",
                                check=STOP_CHECK, repeat=True)
    prime_from: str = opt("", "take the prime from a random place (chosen by seed) in this text file (the Caffe lab)")
    prime_length: int = opt(50, "with prime_from: the prime's length in characters", check=at_least(1))
    engine: str = engine_option()
    device: str = device_option()
    precision: str = precision_option()

    def __post_init__(self):
        check_fields(self, typed=True)
        if self.beam and self.num_samples > self.beam:
            raise ConfigError(f"num_samples: beam search returns the best of its beams: give --num-samples at most "
                              f"--beam ({self.beam}), or a wider --beam")


def check_options(**values) -> None:
    """Check option values by SampleConfig's definitions, without a whole config (a Rule, a seed)."""
    for f in fields(SampleConfig):
        if f.name in values:
            check_value(f, values[f.name])


def draw_seed() -> int:
    """A fresh seed: below 2**31, so that it is short to read back and to type."""
    return secrets.randbelow(2**31)


def with_seed(cfg: SampleConfig) -> SampleConfig:
    """The seed rule: `cfg` itself when its seed was given, else `cfg` with a fresh seed. The
    caller reports `cfg.seed`: the same options with that seed give the same text again."""
    return replace(cfg, seed=draw_seed()) if cfg.seed == FRESH_SEED else cfg


def run_defaults(section: dict) -> dict:
    """A run's [sample] section as the defaults of sampling from it: all of it but the seed,
    which belongs to each call (given, or fresh)."""
    return {k: v for k, v in section.items() if k != "seed"}


NUMPY_FLOAT32 = "precision: the numpy engine computes in float32: drop --precision or use --engine torch"


def sampling_plan(cfg: SampleConfig, labelled: bool) -> tuple[str, str]:
    """(engine, precision) that sample under `cfg`: `auto` resolved by the rule in the engine
    option's help. `labelled`: the model is conditioned on labels (the numpy engine's only)."""
    low = cfg.precision in ("bfloat16", "float16")
    engine = cfg.engine
    if cfg.beam and (engine == "torch" or low or cfg.device == "cuda"):
        raise ConfigError("beam: beam search runs on the numpy engine: drop --engine torch, --device and --precision")
    if engine == "auto":
        wants_torch = low or cfg.device == "cuda" or (
            cfg.device == "auto" and cfg.num_samples >= TORCH_STREAMS and not labelled and not cfg.beam and _cuda())
        engine = "torch" if wants_torch else "numpy"
    if engine == "numpy" and low:
        raise ConfigError(NUMPY_FLOAT32)
    if engine == "numpy" and cfg.device == "cuda":
        raise ConfigError("device: the numpy engine runs on the CPU: drop --device or use --engine torch")
    return engine, "float32" if cfg.precision == "auto" else cfg.precision


def _cuda() -> bool:
    """Whether torch sees a CUDA device (imports torch: asked only when a large batch could use one)."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
