"""The Python API: prepare(), train(), load(), with Model.generate/evaluate/summary.

What the CLI, the server and notebooks call. Arguments have the same names and defaults as
the CLI flags and the TOML keys (the dataclasses in rnntext.config are shared). Nothing here
imports torch at module level: sampling and evaluation run on the NumPy runtime.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from rnntext import config as config_mod
from rnntext.config import Config, DataConfig
from rnntext.errors import ConfigError, InputError
from rnntext.sampling import TOP_PROBS_NEXT

log = logging.getLogger(__name__)

def _split_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


def prepare(inputs, output, *, force: bool = False, preset: str | None = None, config: str | None = None,
            **options) -> dict:
    """Read text (files, directories, built-in corpora), write a prepared HDF5 dataset; return a summary."""
    from rnntext.data.dataset import prepare_dataset
    from rnntext.text.read import resolve_sources

    cfg = config_mod.resolve(preset, config, _split_kwargs(options))
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    sources = resolve_sources([str(i) for i in inputs], cfg.data.glob)
    return prepare_dataset(sources, cfg.data, output, force=force)


def _is_dataset(path) -> bool:
    from rnntext.data.dataset import is_dataset

    return is_dataset(path)


def train(inputs=None, output=None, *, resume: bool = False, force: bool = False, preset: str | None = None,
          config: str | None = None, report=None, **options):
    """Train into run directory `output` from a prepared dataset or from text (prepared on the fly).

    Returns a TrainResult (iterations, best validation loss, last validation metrics, what
    --force removed, ...).
    """
    from rnntext.training import distributed, lifecycle
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
    world = distributed.setup(cfg.train.device)
    try:
        result = _train_in(run, inputs, cfg, resume, force, report, world, [*inputs, config], started)
        distributed.barrier(world)  # the ranks tear down together: gloo can abort a rank whose peer left first
        return result
    finally:
        distributed.teardown(world)


def _train_in(run: Path, inputs, cfg: Config, resume: bool, force: bool, report, world, protected, started: float):
    from rnntext.data.dataset import open_dataset
    from rnntext.training import distributed, lifecycle
    from rnntext.training.trainer import Trainer, _truncate_metrics

    restart = resume and not (run / "trainer.safetensors").is_file()  # no checkpoint yet: start the recorded run
    claim, removed = None, []
    from_text = not (len(inputs) == 1 and _is_dataset(inputs[0]))
    data_path = run / "data.h5" if from_text else Path(inputs[0])
    if world.main:  # rank 0 claims the run directory and prepares the data; the others wait
        claim = lifecycle.claim_run_dir(run, inputs, cfg, resume, force, protected)
        if not resume:
            removed = claim.apply()
        if from_text and not (resume and data_path.is_file()):
            prepare(inputs, data_path, force=True, **dataclasses.asdict(cfg.data))
    distributed.barrier(world)
    with open_dataset(data_path) as dataset:
        dataset.check_ids()
        cfg, info = _run_info(run, cfg, dataset, data_path, not resume or restart, world)
        if resume and not restart:
            lifecycle.check_resumable(run, info)
        trainer = Trainer(cfg, dataset, run, info, report=report, sampler=_training_sampler(info, cfg), world=world,
                          spent=time.monotonic() - started)
        if resume and not restart:
            trainer.restore()
        if claim is not None and resume:  # every check has passed: now the directory may change
            claim.apply()
            if restart:
                _truncate_metrics(run / "metrics.jsonl", 0)
        result = trainer.fit()
    return dataclasses.replace(result, removed=tuple(removed))


def _run_info(run: Path, cfg: Config, dataset, data_path: Path, new: bool, world):
    """The configuration with the dataset's labels (and, for a new run, an auto size), the
    RunInfo."""
    from rnntext.training import autosize, rundir

    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, labels=tuple(dataset.labels)))
    training = {"dataset": str(data_path.resolve())}
    if new:  # an auto hidden size is chosen once, from the data and the time limit
        cfg, why = autosize.resolve(cfg, len(dataset.vocab), dataset.size("train"), world)
        if why:
            training["recipe"] = why
    return cfg, rundir.RunInfo(run, cfg.model, dataset.vocab, dataset.meta.get("data", {}), training)


class _Preview:
    """What the trainer shows: samples, and for words the TensorFlow lab's example line."""

    def __init__(self, info, cfg):
        self.info, self.seed = info, cfg.train.seed
        self.condition = info.model.labels[0] if info.model.labels else None

    def __call__(self, weights, temperature: float, length: int) -> str:
        return Model(self.info, weights).generate(length=length, temperature=temperature, seed=self.seed,
                                                  condition=self.condition)

    def example(self, weights, ids) -> dict:
        """Context words, the true next word and the model's guess, from ids (n+1,)."""
        model = Model(self.info, weights)
        logits = model.streams(1, condition=self.condition).prime(np.asarray(ids[:-1]))
        guess = int(np.argmax(logits[0]))
        return {"context": model.vocab.decode(ids[:-1]), "true": model.vocab.decode([ids[-1]]),
                "predicted": model.vocab.decode([guess])}


def _training_sampler(info, cfg):
    return _Preview(info, cfg)


class Model:
    """A trained model loaded from a run directory, sampled and evaluated with the NumPy runtime."""

    def __init__(self, info, weights, sample_defaults: dict | None = None):
        self.info, self.weights = info, weights
        self.sample_defaults = sample_defaults or {}  # the run's config.toml [sample] (a preset's choices)
        self._runtimes = {}

    @property
    def vocab(self):
        return self.info.vocab

    @property
    def lines(self) -> bool:
        """A line-mode model: samples run from a start token to an end token."""
        return bool(self.info.data.get("lines"))

    def end_id(self) -> int | None:
        from rnntext.text.levels import line_tokens

        return self.vocab.id(line_tokens(self.vocab.level)[1]) if self.lines else None

    def start_ids(self) -> list[int]:
        """Where sampling starts without a prime: the start token in line mode, else a line end."""
        from rnntext.text.levels import line_tokens

        candidates = [line_tokens(self.vocab.level)[0]] if self.lines else ["\n", "<eos>", "Ċ", "."]
        return next(([self.vocab.id(t)] for t in candidates if t in self.vocab), [0])

    def encode(self, text: str, unknown: str = "error") -> tuple[np.ndarray, int]:
        """Ids of `text` and how many symbols (or words) were unknown: error, skip, or replace:C."""
        from rnntext.sampling import check_unknown
        from rnntext.text.levels import lookup_tokens

        check_unknown(unknown)
        ids, missing = lookup_tokens(self.vocab, text)
        bad = ids < 0
        if not bad.any():
            return ids, 0
        if unknown == "error":
            kind = "word" if self.vocab.level == "word" else "symbol"
            shown = ("".join(missing) if kind == "symbol" else " ".join(missing))[:60]
            raise InputError(f"{len(missing)} {kind}(s) are not in the model's vocabulary: {shown!r}; "
                             f"pass --unknown skip or --unknown replace:{'<unk>' if kind == 'word' else 'C'}")
        if unknown == "skip":
            return ids[~bad], int(bad.sum())
        token = unknown.split(":", 1)[1]
        if token not in self.vocab:
            raise ConfigError(f"unknown: the replacement {token!r} is not in the vocabulary either")
        ids[bad] = self.vocab.id(token)
        return ids, int(bad.sum())

    def default_unknown(self) -> str:
        """For evaluation: words outside the vocabulary are <unk> (PTB practice); symbols are skipped."""
        return "replace:<unk>" if self.vocab.level == "word" else "skip"

    def decode(self, ids) -> str:
        """Text of generated ids; start and end tokens are dropped."""
        ids = [int(i) for i in ids if i >= 0]
        if self.lines:
            from rnntext.text.levels import line_tokens

            specials = {self.vocab.id(t) for t in line_tokens(self.vocab.level)}
            ids = [i for i in ids if i not in specials]
        return self.vocab.decode(ids)

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
                precision: str | None = None):
        """B = num_samples streams on the engine the sampling options choose (rnntext.sampling)."""
        from rnntext.sampling import sampling_plan

        label = self.label_id(condition)
        cfg = self.sample_config(num_samples=num_samples, engine=engine, device=device, precision=precision)
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

    def stream(self, prime: str = "", *, condition=None, **options):
        """Prime once, then yield (streams, ids (B,)) per step; -1 marks a stream that has stopped.

        `streams.logits` holds the logits the ids were drawn from. Options are SampleConfig's.
        """
        from rnntext.generation import Rule, generate

        cfg = self.sample_config(prime=prime or None, **options)
        prime = cfg.prime
        if not prime and cfg.prime_from:
            prime = self.prime_from(cfg.prime_from, cfg.prime_length, cfg.seed)
        ids = self.encode(prime, cfg.unknown)[0] if prime else np.array(self.start_ids())
        if len(ids) == 0:
            ids = np.array(self.start_ids())
        streams = self.streams(cfg.num_samples, cfg.engine, cfg.device, condition, cfg.precision)
        streams.prime(ids)
        stop = self.end_id() if cfg.stop_at_end else None
        for out in generate(streams, cfg.length, Rule.from_config(cfg), cfg.seed, stop):
            yield streams, out

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
        """Generated text after `prime` (a list when num_samples > 1). Options are SampleConfig's."""
        from rnntext.generation.rows import sample_texts

        steps = [ids for _, ids in self.stream(prime, condition=condition, **options)]
        texts = sample_texts(self.decode, steps, self.sample_config(**options).num_samples)
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

    def evaluate(self, text: str, unknown: str | None = None, chunk: int = 256, condition=None) -> dict:
        """Loss (nats per token), bpc or perplexity, accuracy, tokens and unknowns on `text`.

        One stream over the whole text with carried state, as the model would read it. Unknown
        symbols are skipped, unknown words become <unk>, and both are counted (`unknown` can
        choose error, skip or replace:C instead).
        """
        from rnntext.engines.numpy import evaluate_batch
        from rnntext.training.trainer import level_metrics

        if self.lines:
            from rnntext.text.levels import as_lines

            text = as_lines(text, self.vocab.level)
        ids, unknowns = self.encode(text, unknown or self.default_unknown())
        if len(ids) < 2:
            raise InputError("evaluation text has fewer than 2 known tokens: give more text")
        params = {k: np.asarray(v, np.float32) for k, v in self.weights.items()}
        label = self.label_id(condition)
        state, total, correct, count = None, 0.0, 0.0, 0.0
        for lo in range(0, len(ids) - 1, chunk):
            x = ids[lo:lo + chunk][None, :]
            y = ids[lo + 1:lo + chunk + 1][None, :]
            x = x[:, :y.shape[1]]
            cond = None if label is None else np.full(x.shape, label)
            nll, n, right, state = evaluate_batch(params, self.info.model, x, y, state, cond=cond)
            total, correct, count = total + nll, correct + right, count + n
        out = level_metrics(total / count, self.vocab.level)
        return {**out, "accuracy": correct / count, "tokens": int(count), "unknown": unknowns}

    def summary(self) -> dict:
        """Layers with output shapes and parameter counts, totals and training facts (Keras-style)."""
        from rnntext.training.rundir import parameter_shapes

        m, V = self.info.model, len(self.vocab)
        shapes = parameter_shapes(m, V)
        layers = []
        if m.embed_size:
            layers.append(("embedding", f"(B, T, {m.embed_size})", int(np.prod(shapes["embedding.weight"]))))
        else:
            layers.append(("one-hot", f"(B, T, {V})", 0))
        for k, H in enumerate(m.hidden_sizes):
            n = sum(int(np.prod(shapes[f"rnn.{w}_l{k}"])) for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            layers.append((f"{m.cell}_{k}", f"(B, T, {H})", n))
            if m.dropout:
                layers.append((f"dropout_{k} ({m.dropout})", f"(B, T, {H})", 0))
        out_n = int(np.prod(shapes["output.bias"])) + (0 if m.tie_weights else int(np.prod(shapes["output.weight"])))
        layers.append(("output" + (" (tied to embedding)" if m.tie_weights else ""), f"(B, T, {V})", out_n))
        t = self.info.training
        return {"layers": layers, "total_parameters": sum(n for _, _, n in layers), "vocab_size": V,
                "level": self.vocab.level, "iterations": t.get("iterations", 0),
                "best_val_loss": t.get("best_val_loss"), "engine": t.get("engine"), "epoch": t.get("epoch")}


def load(run_dir, weights: str = "latest") -> Model:
    """Load a run directory (model.json + model.safetensors; best.safetensors with weights='best')."""
    from rnntext.training import rundir

    info = rundir.read_info(run_dir)
    sample = {}
    if (info.path / "config.toml").is_file():
        try:
            sample = config_mod.read_toml(info.path / "config.toml").get("sample", {})
            config_mod.merge(Config(), {"sample": sample})
        except ConfigError:
            log.warning("ignoring the [sample] section of %s: it is not valid", info.path / "config.toml")
            sample = {}
    return Model(info, rundir.read_weights(info, weights), sample)


__all__ = ["DataConfig", "Model", "load", "prepare", "train"]
