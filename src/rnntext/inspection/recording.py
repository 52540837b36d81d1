"""What a trained model computes inside, token by token, over a text.

The text is read as the model reads it (a line-mode model's lines wrapped in their start and end
tokens; with no text, the run's own validation split), then stepped through the network in
windows of WINDOW tokens with the state carried, on the NumPy engine or on torch (both compute
the same arrays, float32). Per token it keeps the id, the text the token adds, every array that
the cell exposes in every layer (rnntext.cells.base: `exposes`; "layer0.h", "layer1.c", ...),
the likeliest next tokens and the probability the model gave the token that came next.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from rnntext import cells
from rnntext.errors import ConfigError, InputError
from rnntext.inspection.names import array_name
from rnntext.options import choose_engine

WINDOW = 1024  # tokens stepped at a time, the state carried between windows
TOP = 5  # likeliest next tokens kept per position
MAX_TOKENS = 20_000  # read at most this many tokens unless told otherwise
ENGINES = ("auto", "numpy", "torch")  # auto: numpy, the reference engine (no torch needed)


@dataclass
class Activations:
    """Per token of a text, what the model computed. `acts["layer1.c"][:, 37]` is unit 37 of
    layer 1's cell state at every position (after reading that position's token)."""

    ids: np.ndarray  # (T,) the tokens read
    pieces: list[str]  # (T,) the text each token adds: "" for a byte inside a character and for a
    #                    line-mode start token, a line end for a line-mode end token
    arrays: dict[str, np.ndarray]  # name -> (T, H_layer) float32, name = "layer{k}.{exposed}"
    top_ids: np.ndarray  # (T, TOP) the likeliest tokens to come next after each position
    top_probs: np.ndarray  # (T, TOP) their probabilities
    next_prob: np.ndarray  # (T,) the probability given to the token that came next; NaN at the end
    total: int = 0  # tokens in the whole text: more than T when only its start was read
    source: dict = field(default_factory=dict)  # {"split", "dataset"} when the run's own split was read

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def names(self) -> list[str]:
        return list(self.arrays)

    def __len__(self) -> int:
        return len(self.ids)

    def head(self, n: int) -> Activations:
        """The first n positions."""
        return Activations(self.ids[:n], self.pieces[:n], {k: v[:n] for k, v in self.arrays.items()},
                           self.top_ids[:n], self.top_probs[:n], self.next_prob[:n], self.total, self.source)

    @classmethod
    def join(cls, parts: list[Activations], total: int, source: dict) -> Activations:
        return cls(np.concatenate([p.ids for p in parts]), [s for p in parts for s in p.pieces],
                   {k: np.concatenate([p.arrays[k] for p in parts]) for k in parts[0].arrays},
                   *(np.concatenate([getattr(p, a) for p in parts]) for a in ("top_ids", "top_probs", "next_prob")),
                   total, source)


def read_ids(model, text: str | None, unknown: str = "error", max_tokens: int | None = MAX_TOKENS):
    """(ids, source) of `text`, or of the run's validation split (its test split when it has none)
    when text is None; source names the split ({} for a text). Checks max_tokens, which the
    caller reads up to."""
    from rnntext.scoring import split_ids

    if max_tokens is not None and max_tokens < 2:
        raise ConfigError(f"max_tokens: {max_tokens} is too few: read at least 2 tokens")
    if text is None:
        ids, source = split_ids(model.info.training.get("dataset"), ("val", "test"), purpose="inspect")
    else:
        if not text.strip():
            raise InputError("the text to inspect is empty: give a passage of the kind the model was trained on")
        ids, _ = model.encode(model.level.as_lines(text) if model.lines else text, unknown)
        source = {}
    if len(ids) < 2:
        raise InputError(f"the text to inspect has {len(ids)} known token(s): give a longer passage")
    return ids, source


def activations(model, text: str | None = None, engine: str = "auto", condition=None, unknown: str = "error",
                max_tokens: int | None = MAX_TOKENS) -> Activations:
    """Everything the model computes over `text` (see the module docstring) in one Activations."""
    ids, source = read_ids(model, text, unknown, max_tokens)
    return Activations.join(list(windows(model, ids, engine, condition, max_tokens)), len(ids), source)


def windows(model, ids: np.ndarray, engine: str = "auto", condition=None,
            limit: int | None = None) -> Iterator[Activations]:
    """Activations of the first `limit` of ids (T,) (all without a limit), WINDOW tokens at a time,
    the state carried from window to window; the token after the last is known where ids go on."""
    step = _engine(engine)(model, model.label_id(condition))
    decoder, line_end = model.decoder(), model.end_id()  # line mode: a start token shows nothing, an end a line end
    stop = len(ids) if limit is None else min(limit, len(ids))
    for start in range(0, stop, WINDOW):
        part = ids[start:min(start + WINDOW, stop)]
        arrays, logits = step(part)  # {name: (t, H)}, (t, V)
        probs = _softmax(logits)
        top = _top(probs, min(TOP, probs.shape[1]))
        following = ids[start + 1:start + 1 + len(part)]
        next_prob = np.full(len(part), np.nan)
        next_prob[:len(following)] = probs[np.arange(len(following)), following]
        pieces = ["\n" if i == line_end else decoder.feed([i]) for i in part]
        yield Activations(part, pieces, arrays, top, np.take_along_axis(probs, top, 1), next_prob)


def _top(probs: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k largest of each row of probs (t, V), largest first (argpartition: V may be 50,000 words)."""
    some = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(probs, some, 1), axis=1, kind="stable")
    return np.take_along_axis(some, order, 1)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _engine(engine: str):
    if engine not in ENGINES:
        raise ConfigError(f"engine: {engine!r} is not one of {', '.join(ENGINES)}")
    if choose_engine(engine) != "torch":  # one stream, a token at a time: the NumPy runtime's work
        return NumpySteps
    from rnntext.inspection.torch_steps import TorchSteps

    return TorchSteps


class NumpySteps:
    """The NumPy engine's forward pass over one window at a time, its caches read for the gates."""

    def __init__(self, model, label: int | None):
        from rnntext.engines.numpy.network import zero_state

        self.cfg, self.label = model.info.model, label
        self.params = {k: np.asarray(v, np.float32) for k, v in model.weights.items()}
        self.cell = cells.get(self.cfg.cell)
        self.state = zero_state(self.cfg, 1)

    def __call__(self, ids: np.ndarray):
        from rnntext.engines.numpy.network import forward

        cond = None if self.label is None else np.full((1, len(ids)), self.label)
        logits, self.state, cache = forward(self.params, self.cfg, ids[None], self.state, cond=cond)
        layers = cache["layers"]
        arrays = {}
        for k, layer in enumerate(layers):
            out = layers[k + 1]["inp"] if k + 1 < len(layers) else cache["top"]  # (t, 1, H): no dropout here
            for name, a in self.cell.numpy_internals(out, layer["cell"]).items():
                arrays[array_name(k, name)] = np.array(a[:, 0], np.float32)  # a copy: the cache goes
        return arrays, logits[0]
