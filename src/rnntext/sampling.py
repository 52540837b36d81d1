"""Every sampling option, once: its name, default, help text and check.

`SampleConfig` is the one source. The `sample` command's flags, chat's and `eval --novelty`'s,
the `[sample]` section of presets and a run's config.toml, the Python API's keyword
arguments (Model.generate, Model.stream) and the HTTP request fields (rnntext.serve.schemas)
are all made from its fields, and every one of them is checked by constructing it.
Precedence when sampling a run: these defaults < the run's `[sample]` section < what the
caller gives.

`SampleConfig.of` builds the options of one call from its layers, once; the engine, sampler and
output then take that object. `sampling_plan` says what samples under them (the one rule of
rnntext.options.choose_engine, with sampling's own constraints). `with_seed` is the seed rule, the same for the command line, chat, the server and the
API: a seed that is given is used; left out (FRESH_SEED, -1) a fresh one is drawn; either way
the seed used is reported (on stderr or in the JSON, in the server's reply, in
`Model.last_seed`), so that the same text can be had again with it. A run's `[sample]` section
never fixes the seed (`run_defaults`): every run's config.toml records one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from rnntext.errors import ConfigError
from rnntext.faces import ask
from rnntext.options import (
    above,
    at_least,
    between,
    check_fields,
    check_names,
    choose_sampling,
    coerce,
    current_names,
    deprecation,
    device_option,
    engine_option,
    opt,
    precision_option,
    renamed,
    utf8_problem,
    without_none,
)

UNKNOWN_HELP = "error, skip, or replace:C (e.g. replace:' '; at word level replace:<unk>)"
TOP_PROBS_NEXT = 10  # how many tokens a next-token list holds when not told (Model.next_tokens, /v1/next)


def valid_unknown(value: str) -> bool:
    return value in ("error", "skip") or (value.startswith("replace:") and len(value) > len("replace:"))


FRESH_SEED = -1  # the seed option's "draw a fresh one" (with_seed)
SEED_LIMIT = 2**63  # seeds are below this: numpy's SeedSequence and the web page's PCG64 take 64-bit seeds
SEED = ((lambda v: v == FRESH_SEED or 0 <= v < SEED_LIMIT), "must be 0 or more (below 2**63), or -1 for a fresh one")
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
    num_samples: int = opt(1, "independent samples to generate (in one batch)", check=between(1, 100_000),
                           was=("samples",))
    seed: int = opt(FRESH_SEED, "random seed: the same seed gives the same text; -1 draws a fresh one and reports "
                                "it (beam search is deterministic: it uses no seed and reports none)", check=SEED)
    unknown: str = opt("error", f"prime tokens outside the vocabulary: {UNKNOWN_HELP}", check=UNKNOWN_CHECK)
    stop_at_end: bool = opt(True, "line-mode models: end a sample at the end token", was=("stop_at_eos",))
    top_probs: int = opt(0, "how many of the most likely next tokens after the prime to list, with their "
                            "probabilities (0: none)", check=at_least(0), was=("show_probs", "k"))
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
            raise ConfigError(f"num_samples: beam search returns the best of its beams: give {ask('num_samples')} at "
                              f"most {ask('beam')} ({self.beam}), or a wider {ask('beam')}")

    @classmethod
    def of(cls, *layers: dict) -> SampleConfig:
        """The options of one call, built once: the defaults under each layer in turn (a run's
        [sample] section, then what the caller gave; None leaves a value to the layers under
        it), every value turned into its field's type and checked, old names taken."""
        values = {}
        for layer in layers:
            values |= current_names(without_none(layer), renamed(cls), deprecation("the sampling option"))
        return cls(**{k: coerce(cls, k, v, "sample") for k, v in values.items()})


def draw_seed() -> int:
    """A fresh seed: below 2**31, so that it is short to read back and to type."""
    return secrets.randbelow(2**31)


def with_seed(cfg: SampleConfig) -> SampleConfig:
    """The seed rule: `cfg` itself when its seed was given, else `cfg` with a fresh seed. The
    caller reports `cfg.seed`: the same options with that seed give the same text again."""
    return replace(cfg, seed=draw_seed()) if cfg.seed == FRESH_SEED else cfg


def sample_options(defaults: dict, options: dict) -> SampleConfig:
    """The sampling options asked for: SampleConfig's defaults < `defaults` (a run's [sample]
    section) < `options` (None leaves a value to the layers under it), whose names are checked
    first (an unknown one is the error naming the closest). No seed is drawn."""
    check_names(SampleConfig, options, "sample")
    return SampleConfig.of(defaults, options)


def call_options(defaults: dict, options: dict, text_settings=None) -> SampleConfig:
    """The options one sampling call runs under, built once and handed on as they are:
    sample_options(defaults, options), with a fresh seed where none was given (with_seed: the
    caller reports it) and a `prime_from` read into the prime: `prime_length` characters from a
    random place (chosen by the seed) in a text file, read and normalised as `text_settings` (the
    training text's DataConfig) say (the Caffe lab's seed taken from another book). Read once,
    here, so that every later step and the caller's display see the same prime."""
    cfg = with_seed(sample_options(defaults, options))
    if not cfg.prime and cfg.prime_from:
        import numpy as np

        from rnntext.text.read import read_all

        text, n = read_all([cfg.prime_from], text_settings), cfg.prime_length
        start = int(np.random.default_rng(cfg.seed).integers(0, len(text) - n)) if len(text) > n else 0
        cfg = replace(cfg, prime=text[start:start + n])
    return cfg


def run_defaults(section: dict) -> dict:
    """A run's [sample] section as the defaults of sampling from it: all of it but the seed,
    which belongs to each call (given, or fresh)."""
    return {k: v for k, v in section.items() if k != "seed"}


def sampling_plan(cfg: SampleConfig, labelled: bool) -> tuple[str, str]:
    """(engine, precision) that sample under `cfg`: `auto` resolved by the one engine rule
    (rnntext.options.choose_engine). Beam search and a model conditioned on labels (`labelled`)
    are the numpy engine's only, so their streams do not count towards torch."""
    low = cfg.precision in ("bfloat16", "float16")
    if cfg.beam and (cfg.engine == "torch" or low or cfg.device == "cuda"):
        raise ConfigError(f"beam: beam search runs on the numpy engine: drop {ask('engine', 'torch')}, {ask('device')} "
                          f"and {ask('precision')}")
    streams = 1 if labelled or cfg.beam else cfg.num_samples
    return choose_sampling(cfg.engine, cfg.device, cfg.precision, streams, cfg.length)
