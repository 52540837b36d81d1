"""Fine-tuning: a new run that starts from another run's weights (`train NEW -o RUN2 --init-from RUN1`).

What the new run takes from its parent:
- the architecture (config.ARCHITECTURE) and the options that decide what the tokens are
  (config.TOKEN_OPTIONS): options given that contradict them are refused, equal ones are fine.
  The parent's other model options (its AWD-LSTM dropouts, init) are the base that options
  change; dropout and weight_drop are chosen again for the new data, as the default recipe
  does (rnntext.training.autosize), unless they are given. Training options start from the
  defaults and the level's recipe, as for any new run.
- the vocabulary, extended by the new text's new tokens, appended (Level.extend: a BPE
  vocabulary stays as it is and encodes the new text with its own merges); where the level maps
  unknown tokens (words), at most max_vocab tokens in all, so that the run's record holds true
  of its vocabulary: a max_vocab below the parent's size is refused.
- the weights (its latest, or best with init_weights): every known token keeps its rows; a new
  token's rows (its embedding row or one-hot input column, its output weight row and bias) are
  drawn as a new model's are (rnntext.model.parameters.init_params, seeded by the train seed).
The optimizer, the learning-rate schedule and the iteration count start fresh. The run trains
on its own data.h5 (the text prepared in the extended vocabulary, or a given dataset mapped
into it), so that a resume needs neither the parent nor the original dataset. model.json
records the parent under training.init_from.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from rnntext import config as config_mod
from rnntext.config import ARCHITECTURE, AUTO, TOKEN_OPTIONS, Config, DataConfig
from rnntext.data.dataset import capped
from rnntext.errors import ConfigError, RnntextError, RunError
from rnntext.faces import ask
from rnntext.model import layout, saved
from rnntext.text import levels

CARRIED = TOKEN_OPTIONS + ("min_count", "max_vocab", "vocab_size")  # data options taken from the parent


@dataclasses.dataclass
class Parent:
    """The run a fine-tuned run starts from: its model.json and the weights chosen."""

    info: saved.RunInfo
    weights: dict[str, np.ndarray] | None
    which: str

    def record(self) -> dict:
        """What model.json keeps of the parent (training.init_from)."""
        return {"run": str(self.info.path.resolve()), "weights": self.which, "model_sha256": self.info.digest,
                "weights_sha256": saved.digest(self.weights), "iterations": self.info.training.get("iterations"),
                "vocab_size": len(self.info.vocab)}


def read_parent(path: str, which: str | None) -> Parent:
    """The parent run at `path` (model.json, and its `which` weights unless None), or one line
    saying why it cannot be one."""
    try:
        info = saved.read_info(path)
        if which and not (info.path / layout.WEIGHTS[which]).is_file():
            raise RunError(f"{path} has no {which} weights ({layout.WEIGHTS[which]}): pass "
                           f"{ask('init_weights', 'latest' if which == 'best' else 'best')}, or train that run on")
        return Parent(info, saved.read_weights(info, which) if which else None, which)
    except RnntextError as e:
        raise RunError(f"init_from: {e.message}") from None


def resolve(preset, config_file, overrides) -> Config:
    """A new run's configuration; with init_from, resolved over the parent's architecture and
    token options, any that contradict them refused with one line."""
    path = config_mod.given_in(config_mod.option_layers(preset, config_file, overrides), "train", "init_from", "")
    if not path:
        return config_mod.resolve(preset, config_file, overrides)
    parent = read_parent(path, None).info
    model = dataclasses.replace(parent.model, dropout=AUTO, weight_drop=AUTO)
    data = DataConfig(**{k: v for k, v in parent.data.items() if k in CARRIED})
    recipe = levels.recipe(data.level)  # the level's training recipe, as a new run of that level gets
    train = config_mod.read_preset(recipe).get("train", {}) if recipe else {}
    base = config_mod.merge(Config(data=data, model=model), {"train": train})
    cfg = config_mod.resolve(preset, config_file, overrides, base=base)
    ours = dataclasses.replace(cfg.model, hidden_size=cfg.model.hidden_sizes)
    theirs = dataclasses.replace(parent.model, hidden_size=parent.model.hidden_sizes)
    changed = [(k, getattr(theirs, k), getattr(ours, k)) for k in ARCHITECTURE if getattr(theirs, k) != getattr(ours, k)]
    changed += [(k, getattr(data, k), getattr(cfg.data, k)) for k in TOKEN_OPTIONS if getattr(data, k) != getattr(cfg.data, k)]
    if changed:
        what = "; ".join(f"{k} is {old!r} there, not {new!r}" for k, old, new in changed)
        raise ConfigError(f"init_from: a fine-tuned run keeps the architecture and token options of {path} ({what}): "
                          f"drop {', '.join(ask(k) for k, _, _ in changed)}")
    if cfg.data.max_vocab and cfg.data.max_vocab < len(parent.vocab):
        raise ConfigError(f"max_vocab: {path} has {len(parent.vocab)} tokens, which a fine-tuned run keeps (new ones "
                          f"are added up to max_vocab): drop {ask('max_vocab')}, or give at least {len(parent.vocab)}")
    return cfg


def parent_for(cfg: Config, run: Path, inputs) -> Parent:
    """The parent of a new run, and a dataset input checked against it: before the run directory
    is claimed (which may be the parent's own, and which a refused command leaves as it was)."""
    parent = read_parent(cfg.train.init_from, cfg.train.init_weights)
    if parent.info.path.resolve() == Path(run).resolve():
        raise ConfigError(f"init_from: {run} is the run being trained: give the new run another {ask('output')}")
    if (source := _dataset(inputs)) is not None:
        with source:
            _moved(source, cfg, parent.info.vocab)
    return parent


def _dataset(inputs):
    """The input as an open dataset, when it is one (.h5), else None."""
    from rnntext.data.dataset import is_dataset, open_dataset

    return open_dataset(inputs[0]) if len(inputs) == 1 and is_dataset(inputs[0]) else None


def _moved(source, cfg: Config, vocab):
    """`vocab` extended by a dataset's tokens, and each of its ids there; refused when the dataset
    was prepared with other token options."""
    recorded = source.meta.get("data", {})
    odd = [k for k in TOKEN_OPTIONS if recorded.get(k, getattr(DataConfig, k)) != getattr(cfg.data, k)]
    if odd:
        raise ConfigError(f"{odd[0]}: {source.path} was prepared with {odd[0]} {recorded.get(odd[0])!r}, the run it "
                          f"fine-tunes with {getattr(cfg.data, odd[0])!r}: prepare the text again with the run's "
                          f"options, or give the text itself")
    grown = capped(vocab, levels.of(vocab).extended(vocab, source.vocab.tokens), cfg.data.max_vocab)
    return grown, np.array([grown.id(t) if t in grown else grown.unk_id for t in source.vocab.tokens], np.int64)


def prepare_extended(inputs, cfg: Config, vocab, out: Path) -> None:
    """The run's own dataset `out` in `vocab` extended by the input's new tokens: text is
    prepared so; a dataset (.h5) is mapped into it (when it was prepared with the same token
    options)."""
    from rnntext.data.dataset import prepare_dataset, remap_dataset
    from rnntext.text.read import resolve_sources

    if (source := _dataset(inputs)) is None:
        sources = resolve_sources([str(i) for i in inputs], cfg.data.glob, cfg.data.encoding)
        prepare_dataset(sources, cfg.data, out, force=True, extend=vocab)
        return
    with source:
        remap_dataset(source, *_moved(source, cfg, vocab), out)


def check_data(parent: Parent, info) -> None:
    """The prepared data fits the parent: the same labels, its vocabulary extends the parent's."""
    old, new = parent.info.vocab.tokens, info.vocab.tokens
    if tuple(new[:len(old)]) != tuple(old):
        raise RunError(f"the dataset's vocabulary does not extend {parent.info.path}'s: prepare it again")
    if tuple(info.model.labels) != tuple(parent.info.model.labels):
        raise ConfigError(f"condition_by: {parent.info.path} has the labels {list(parent.info.model.labels)}, the new "
                          f"data {list(info.model.labels)}: a fine-tuned run needs its parent's labels")


def grown(weights: dict[str, np.ndarray], old_size: int, model_cfg, new_size: int, seed: int) -> dict[str, np.ndarray]:
    """The parent's weights for a vocabulary of `new_size` tokens whose first `old_size` are the
    parent's: along every axis whose length differs (the vocabulary axis: rows of the embedding
    and output layer, columns of a one-hot input), the known tokens keep their values and the new
    tokens take a fresh initialisation's (label columns, after the tokens, move along with them)."""
    from rnntext.model.parameters import init_params

    fresh = init_params(model_cfg.without_auto(), new_size, np.random.Generator(np.random.PCG64(seed)))
    out = {}
    for name, new in fresh.items():
        old = np.asarray(weights[name], np.float32)
        if old.ndim != new.ndim:
            raise RunError(f"init_from: {name} has shape {old.shape}, the new model {new.shape}: the run is damaged")
        index = [np.arange(n) if n == m else np.r_[0:old_size, new_size:new_size + n - old_size]
                 for n, m in zip(old.shape, new.shape)]
        new[np.ix_(*index)] = old
        out[name] = new
    return out
