"""The Python API: prepare(), train(), load(), with Model.generate/evaluate/summary.

What the CLI, the server and notebooks call. Arguments have the same names and defaults as
the CLI flags and the TOML keys (the dataclasses in rnntext.config are shared). Nothing here
imports torch at module level: sampling runs on the NumPy runtime, evaluation on torch when it is
installed (rnntext.scoring), else on NumPy too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rnntext import config as config_mod
from rnntext.config import Config, DataConfig
from rnntext.errors import ConfigError, InputError
from rnntext.inspection.recording import MAX_TOKENS
from rnntext.sampling import TOP_PROBS_NEXT
from rnntext.text import levels


def _split_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


def prepare(inputs, output, *, force: bool = False, preset: str | None = None, config: str | None = None,
            **options) -> dict:
    """Read text (files, directories, built-in corpora), write a prepared HDF5 dataset; return a
    summary (tokens, vocabulary, splits, and for each directory its `listings`: the files read
    and those skipped, rnntext.text.read.Listing)."""
    from rnntext.data.dataset import prepare_dataset
    from rnntext.text.read import list_inputs, resolve_sources

    cfg = config_mod.resolve(preset, config, _split_kwargs(options))
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    sources = resolve_sources([str(i) for i in inputs], cfg.data.glob, cfg.data.encoding)
    summary = prepare_dataset(sources, cfg.data, output, force=force)
    return {**summary, "listings": list_inputs(inputs, cfg.data.glob, cfg.data.encoding)}


def train(inputs=None, output=None, *, resume: bool = False, force: bool = False, preset: str | None = None,
          config: str | None = None, progress=None, report=None, **options):
    """Train into run directory `output` from a prepared dataset or from text (prepared on the fly).

    `progress`: a callable that receives each training event as a dict, its "kind" saying which
    (plan, start, step, log, val, example, sample, end: rnntext.progress lists their fields),
    e.g. `progress=lambda e: e["kind"] == "val" and print(e["val_loss"])`. Left out, a notebook
    (an IPython kernel) shows a progress bar and elsewhere nothing is shown; False shows nothing
    anywhere. `report` is its old name. Returns a TrainResult (iterations, best validation
    loss, last validation metrics, what --force removed, ...).
    """
    from rnntext.training import distributed, lifecycle, session
    from rnntext.training.trainer import check_engine_options

    started = time.monotonic()  # --time-limit holds everything from here: preparing, probing, training
    if output is None:
        raise ConfigError("output: give the run directory with -o RUN")
    if resume and force:
        raise ConfigError("resume: --resume continues a run and --force starts it over: pass one of them")
    run = Path(output)
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs or [])
    cfg = lifecycle.resolve_for_run(run, resume, preset, config, _split_kwargs(options))
    if resume:
        inputs = lifecycle.resume_inputs(run, inputs)
    if not inputs:
        raise InputError("no input given: name a prepared dataset (.h5), a text file, a directory or python-docs")
    config_mod.to_toml(cfg)  # a value config.toml cannot hold is refused now, not after training
    check_engine_options(cfg)
    if report is not None:
        import warnings

        warnings.warn("rnntext.train(report=...) is now progress=...", DeprecationWarning, stacklevel=2)
    from rnntext.progress import callback

    progress, own = callback(report if progress is None else progress, cfg.train.quiet)
    world = distributed.setup(cfg.train.device)
    try:
        result = session.train_in(run, inputs, cfg, resume, force, progress, world, [*inputs, config], started)
        distributed.barrier(world)  # the ranks tear down together: gloo can abort a rank whose peer left first
        return result
    finally:
        distributed.teardown(world)
        if own is not None:
            own.close()


class Model:
    """A trained model loaded from a run directory, sampled and evaluated with the NumPy runtime."""

    last_seed: int | None = None  # the seed the latest stream, stream_ids or generate call sampled with

    def __init__(self, info, weights, sample_defaults: dict | None = None):
        from rnntext.sampling import run_defaults

        self.info, self.weights = info, weights
        # the run's config.toml [sample] (a preset's choices), less the seed: each call's own
        self.sample_defaults = run_defaults(sample_defaults or {})
        self._runtimes = {}

    @property
    def vocab(self):
        return self.info.vocab

    @property
    def level(self):
        """The token level (rnntext.text.levels): how this model's text is encoded and decoded."""
        return levels.of(self.vocab)

    @property
    def lines(self) -> bool:
        """A line-mode model: samples run from a start token to an end token."""
        return bool(self.info.data.get("lines"))

    def hidden_ids(self) -> tuple[int, ...]:
        """Ids never shown in generated text: line mode's start and end tokens."""
        return self.level.line_ids(self.vocab) if self.lines else ()

    def end_id(self) -> int | None:
        return self.level.line_ids(self.vocab)[1] if self.lines else None

    def start_ids(self) -> list[int]:
        """Where sampling starts without a prime: the start token in line mode, else a line end."""
        candidates = [self.level.line_start] if self.lines else self.level.restart_tokens
        return next(([self.vocab.id(t)] for t in candidates if t in self.vocab), [0])

    def encode(self, text: str, unknown: str = "error") -> tuple[np.ndarray, int]:
        """Ids of `text` and how many symbols (or words) were unknown: error, skip, or replace:C."""
        from rnntext.sampling import check_unknown

        check_unknown(unknown)
        level = self.level
        ids, missing = level.lookup_tokens(self.vocab, text)
        bad = ids < 0
        if not bad.any():
            return ids, 0
        if unknown == "error":
            shown = level.join_unknown(missing)[:60]
            raise InputError(f"{len(missing)} {level.unit}(s) are not in the model's vocabulary: {shown!r}; "
                             f"pass --unknown skip or --unknown replace:{level.replacement_hint}")
        if unknown == "skip":
            return ids[~bad], int(bad.sum())
        token = unknown.split(":", 1)[1]
        if token not in self.vocab:
            raise ConfigError(f"unknown: the replacement {token!r} is not in the vocabulary either")
        ids[bad] = self.vocab.id(token)
        return ids, int(bad.sum())

    def default_unknown(self) -> str:
        """For evaluation: words outside the vocabulary are <unk> (PTB practice); symbols are skipped."""
        return self.level.unknown_default

    def decode(self, ids) -> str:
        """Text of generated ids; start and end tokens and stop marks (-1) are dropped."""
        return levels.decode_ids(self.vocab, ids, self.hidden_ids())

    def decode_steps(self, steps, count: int, stop=(), partial: bool = False) -> list[str]:
        """The texts of `count` streams from what `stream` yielded: one (count,) id array per step.
        `stop`: the stop strings, each text ends before its first one; `partial`: the samples may go
        on, so a tail that could begin a stop string is held back (rnntext.generation.stops)."""
        from rnntext.generation.stops import cut

        texts = levels.decode_steps(self.vocab, steps, count, self.hidden_ids())
        return [cut(t, stop, partial) for t in texts] if stop else texts

    def decoder(self, stop=()):
        """A stream decoder for one sample shown as it is generated: `.feed(ids) -> str` gives the
        text the ids complete, `.flush() -> str` the rest (rnntext.text.levels.base.StreamDecoder);
        with `stop`, up to the first stop string, never showing it."""
        from rnntext.generation.stops import StopDecoder

        decoder = levels.decoder(self.vocab, self.hidden_ids())
        return StopDecoder(decoder, stop) if stop else decoder

    def label_id(self, condition: str | None) -> int | None:
        """The id of a conditioning label; a model with labels needs one."""
        labels = self.info.model.labels
        if not labels:
            if condition is not None:
                raise ConfigError("condition: this model was trained without labels: drop --condition")
            return None
        if condition is None:
            raise ConfigError(f"condition: this model was trained with labels: pass --condition, one of {', '.join(labels)}")
        if condition not in labels:
            raise ConfigError(f"condition: {condition!r} is not a label of this model: use one of {', '.join(labels)}")
        return labels.index(condition)

    def streams(self, num_samples: int = 1, engine: str | None = None, device: str | None = None, condition=None,
                precision: str | None = None, beam: int | None = None):
        """B = num_samples streams on the engine the sampling options choose (rnntext.sampling)."""
        from rnntext.sampling import sampling_plan

        label = self.label_id(condition)
        cfg = self.sample_config(num_samples=1 if beam else num_samples, engine=engine, device=device,
                                 precision=precision, beam=beam or 0)
        engine, precision = sampling_plan(cfg, label is not None)
        if engine == "torch":
            if label is not None:
                raise ConfigError("condition: --engine torch samples models without labels; use the numpy engine")
            from rnntext.engines.torch.sampling import TorchStreams

            return TorchStreams(self.info.model, len(self.vocab), self.weights, num_samples, cfg.device, precision)
        from rnntext.generation import Runtime

        if label not in self._runtimes:
            self._runtimes[label] = Runtime(self.info.model, len(self.vocab), self.weights, label)
        return self._runtimes[label].streams(num_samples)

    def stream(self, prime: str = "", *, condition=None, **options) -> Iterator[str]:
        """The text of one sample as it is written: str pieces (a character, a word with its
        spacing, ...) that join to what `generate` returns for the same options and seed.
        Options are SampleConfig's; without a seed a fresh one is drawn (`last_seed`). Example:
        `for piece in model.stream("The ", length=40): print(piece, end="", flush=True)`.
        """
        cfg = self.sample_config(**options)
        if cfg.num_samples != 1:
            raise ConfigError("num_samples: stream() writes one sample: use generate(num_samples=N) for several")
        decoder = self.decoder(cfg.stop)
        for _, ids in self.stream_ids(prime, condition=condition, **options):
            if piece := decoder.feed(ids):
                yield piece
        if rest := decoder.flush():
            yield rest

    def stream_ids(self, prime: str = "", *, condition=None, **options):
        """The id-level generator under `stream`, `generate`, the CLI and the server: prime once,
        then yield (streams, ids (B,)) per step; -1 marks a stream that has stopped.

        `streams.logits` holds the logits the ids were drawn from. Options are SampleConfig's;
        the seed follows rnntext.sampling.with_seed and is kept in `last_seed`. A stream that
        reaches a stop string stops; its text (decode_steps, decoder with `stop`) ends before the
        string. With `beam` the search runs first, then its num_samples best hypotheses come out
        step by step (streams.logits is then the search's last).
        """
        from rnntext.generation import Rule, StopWatch, beam_steps, generate
        from rnntext.sampling import with_seed

        cfg = with_seed(self.sample_config(prime=prime or None, **options))
        self.last_seed = cfg.seed
        ids = self.prime_ids(cfg)
        width = cfg.beam or cfg.num_samples
        streams = self.streams(width, cfg.engine, cfg.device, condition, cfg.precision, cfg.beam)
        streams.prime(ids)
        end = self.end_id() if cfg.stop_at_end else None
        watch = StopWatch(self.decoder, cfg.stop, width) if cfg.stop else None
        if cfg.beam:  # the search runs first; its best hypotheses come out as steps
            steps = beam_steps(streams, cfg.length, width, cfg.num_samples, cfg.repetition_penalty, end, watch)
        else:
            steps = generate(streams, cfg.length, Rule.from_config(cfg), cfg.seed, end, watch)
        for out in steps:
            yield streams, out

    def prime_ids(self, cfg) -> np.ndarray:
        """The ids a sample under SampleConfig `cfg` starts from: its prime (or `prime_from`'s), else start_ids."""
        prime = cfg.prime
        if not prime and cfg.prime_from:
            prime = self.prime_from(cfg.prime_from, cfg.prime_length, cfg.seed)
        ids = self.encode(prime, cfg.unknown)[0] if prime else np.array(self.start_ids())
        return ids if len(ids) else np.array(self.start_ids())

    def sample_config(self, **options):
        """SampleConfig from defaults < the run's [sample] section < these options."""
        return config_mod.merge(Config(), {"sample": {**self.sample_defaults, **_split_kwargs(options)}}).sample

    def prime_from(self, path: str, length: int, seed: int) -> str:
        """`length` characters from a random place (chosen by seed) in a text file: the Caffe
        lab's seed taken from another book. Normalised as the training text was."""
        text = self.read_text([path])
        if len(text) <= length:
            return text
        start = int(np.random.default_rng(seed).integers(0, len(text) - length))
        return text[start:start + length]

    def read_text(self, paths) -> str:
        """Text files or folders, read and normalised as the training text was (eval, primes)."""
        from rnntext.text.read import read_all

        keys = ("encoding", "errors", "nfc", "lowercase", "keep", "glob")
        return read_all(paths, DataConfig(**{k: v for k, v in self.info.data.items() if k in keys}))

    def generate(self, prime: str = "", *, condition=None, **options) -> str | list[str]:
        """Generated text after `prime` (a list when num_samples > 1). Options are SampleConfig's;
        without a seed a fresh one is drawn, kept in `last_seed` (pass it as `seed=` to have the
        same text again)."""
        steps = [ids for _, ids in self.stream_ids(prime, condition=condition, **options)]
        cfg = self.sample_config(**options)
        texts = self.decode_steps(steps, cfg.num_samples, cfg.stop)
        return texts[0] if len(texts) == 1 else texts

    def next_tokens(self, prime: str = "", top_probs: int = TOP_PROBS_NEXT, unknown: str = "error",
                    condition=None) -> list[tuple[str, float]]:
        """The `top_probs` most likely next tokens after `prime`, with their probabilities."""
        from rnntext.generation import probabilities, top_tokens

        self.sample_config(top_probs=top_probs, unknown=unknown)
        ids = self.encode(prime, unknown)[0] if prime else np.array(self.start_ids())
        streams = self.streams(1, condition=condition)
        logits = streams.prime(ids if len(ids) else self.start_ids())
        return [(self.vocab.tokens[i], p) for i, p in top_tokens(probabilities(logits)[0], top_probs)]

    def evaluate(self, text: str | None = None, unknown: str | None = None, chunk: int = 128, condition=None,
                 engine: str = "auto", precision: str = "auto") -> dict:
        """Loss (nats per token), bpc or perplexity, accuracy, tokens, unknowns and the precision
        used on `text`; with no text, on the run's own test split (its validation split when it
        has no test split), read from the dataset it was trained on, and the result names it
        ("split"). `engine` auto scores on torch when it is installed, else on the NumPy engine;
        on torch, `precision` auto autocasts as the trainer's validation does (bfloat16 where the
        machine computes it natively), "float32" gives the same number on every machine
        (rnntext.scoring says how the text is read). Unknown symbols are skipped, unknown words
        become <unk>, and both are counted (`unknown` can choose error, skip or replace:C).
        """
        from rnntext import scoring

        how = scoring.plan(engine, precision)
        if text is None:
            ids, split = scoring.split_ids(self.info.training.get("dataset"))
            return {**scoring.score(self, ids, chunk, condition, how), "unknown": 0, **split}
        ids, unknowns = self.encode(self.level.as_lines(text) if self.lines else text,
                                    unknown or self.default_unknown())
        return {**scoring.score(self, ids, chunk, condition, how), "unknown": unknowns}

    def activations(self, text: str | None = None, *, engine: str = "auto", condition=None, unknown: str = "error",
                    max_tokens: int | None = MAX_TOKENS):
        """What the network computes over `text` (the run's validation split without one), token by
        token: an rnntext.inspection.Activations, whose arrays are named "layer{k}.{part}" (the
        parts each cell exposes: h, c and gates i, f, g, o for the LSTM) and hold (T, H) values,
        with the likeliest next tokens and the probability of the true one. At most max_tokens
        tokens are read; `engine` auto is numpy, and torch computes the same arrays."""
        from rnntext.inspection import activations

        return activations(self, text, engine, condition, unknown, max_tokens)

    def find_units(self, text: str | None = None, *, top: int = 3, **options) -> list[dict]:
        """For each feature of `text` (inside quotes, bracket depth, position in the line, ...:
        rnntext.inspection.FEATURES), the `top` units whose activations correlate most with it
        (|Pearson r|), and whether one tracks it (|r| >= rnntext.inspection.TRACKS). Options are
        activations()'s."""
        from rnntext.inspection import inspect_text

        return inspect_text(self, text, page_tokens=0, top=top, **options).found

    def summary(self) -> dict:
        """Layers with output shapes and parameter counts, totals and training facts (Keras-style):
        iterations, epochs, seconds trained, best validation loss, what the run chose and why
        (`recipe`, rnntext.training.plan) and the thread counts it timed. The counts come from
        the parameter schema (engines.numpy.model.param_shapes)."""
        from rnntext.engines.numpy.model import param_shapes

        m, V = self.info.model, len(self.vocab)
        shapes = param_shapes(m, V)
        counts = _layer_counts(shapes)
        layers = [("embedding", f"(B, T, {m.embed_size})", counts.get(("embedding", None), 0)) if m.embed_size
                  else ("one-hot", f"(B, T, {V})", 0)]
        for k, H in enumerate(m.hidden_sizes):
            layers.append((f"{m.cell}_{k}", f"(B, T, {H})", counts.get(("rnn", k), 0)))
            if m.dropout:
                layers.append((f"dropout_{k} ({m.dropout})", f"(B, T, {H})", 0))
        layers.append(("output" + (" (tied to embedding)" if m.tie_weights else ""), f"(B, T, {V})",
                       counts.get(("output", None), 0)))
        t = self.info.training
        return {"layers": layers, "total_parameters": sum(counts.values()),
                "vocab_size": V, "level": self.vocab.level, "iterations": t.get("iterations", 0),
                "best_val_loss": t.get("best_val_loss"), "engine": t.get("engine"), "epoch": t.get("epoch"),
                "elapsed_s": t.get("elapsed_s"), "recipe": t.get("recipe"), "threads": t.get("threads")}


def _layer_counts(shapes: dict) -> dict[tuple[str, int | None], int]:
    """Parameters per (module, layer): "rnn.weight_ih_l1" counts for ("rnn", 1), "output.bias"
    for ("output", None)."""
    counts: dict[tuple[str, int | None], int] = {}
    for name, shape in shapes.items():
        module, _, tensor = name.partition(".")
        layer = re.search(r"_l(\d+)$", tensor)
        key = (module, int(layer[1]) if layer else None)
        counts[key] = counts.get(key, 0) + int(np.prod(shape))
    return counts


def load(run_dir, weights: str = "latest") -> Model:
    """Load a run directory (model.json and its latest weights, or the best with weights='best')."""
    from rnntext.training import rundir

    info = rundir.read_info(run_dir)
    return Model(info, rundir.read_weights(info, weights), rundir.sample_defaults(info.path))


__all__ = ["DataConfig", "Model", "load", "prepare", "train"]
