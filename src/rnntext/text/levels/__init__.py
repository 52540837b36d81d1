"""The token levels, one module each: char, byte, word, bpe.

Everything that differs by level lives in that level's module (a `Level` instance named
LEVEL there): building and reading its vocabulary, encoding, line mode's start and end
tokens, streaming decode, the loss measure it reports, and the smaller choices. Code outside
this package asks `get(name)` and never tests a level's name. A new level is a new module
here (a Level subclass and its LEVEL) and its name in NAMES.

This module imports nothing heavy: rnntext.config takes its choices from NAMES.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence

from rnntext.errors import ConfigError, RunError

NAMES = ("char", "byte", "word", "bpe")  # the --level choices, in the order help shows them


def get(name: str):
    """The Level called `name` (its module is imported on first use)."""
    if name not in NAMES:
        raise ConfigError(f"level: {name!r} is not one of {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}").LEVEL


def of(vocab):
    """The Level of a vocabulary."""
    return get(vocab.level)


def recipe(name: str) -> str | None:
    """The preset runs of this level start from (None: the defaults), for any name."""
    return get(name).recipe if name in NAMES else None


def line_tokens(name: str) -> tuple[str, str]:
    """Line mode's start and end tokens at this level."""
    level = get(name)
    return level.line_start, level.line_end


def vocab_from_json(data: dict):
    """The vocabulary a dataset or model.json stores, of the level `data['level']` names."""
    name = data.get("level") if isinstance(data, dict) else None
    if not isinstance(name, str) or name not in NAMES:
        raise RunError(f"vocabulary JSON has unknown level {name!r}: the file is damaged or from a newer rnntext")
    return get(name).from_json(data)


def build(data_cfg, chunks: Iterable[str]):
    """The vocabulary of the (already line-wrapped) chunks and the number of tokens in them."""
    return get(data_cfg.level).build(data_cfg, chunks)


def as_lines(chunk: str, level: str) -> str:
    """Each non-empty line of `chunk` wrapped in the level's start and end tokens."""
    return get(level).as_lines(chunk)


def encode(vocab, text: str):
    """Ids of text (one chunk): (N,) int64; -1 marks unknown symbols at char/byte level, <unk>
    at word level."""
    return of(vocab).encode(vocab, text)


def lookup_tokens(vocab, text: str):
    """Ids of text with -1 for unknowns at every level, and the unknown symbols or words."""
    return of(vocab).lookup_tokens(vocab, text)


def encode_with(vocab, text: str, unknown: str = "error"):
    """Ids of `text` and how many symbols (or words) were unknown, under the policy `unknown`:
    error (a one-line InputError naming them), skip, or replace:C (C, itself in the vocabulary)."""
    from rnntext.errors import InputError
    from rnntext.faces import ask

    level = of(vocab)
    ids, missing = level.lookup_tokens(vocab, text)
    bad = ids < 0
    if not bad.any():
        return ids, 0
    if unknown == "error":
        shown = level.join_unknown(missing)[:60]
        raise InputError(f"{len(missing)} {level.unit}(s) are not in the model's vocabulary: {shown!r}; "
                         f"pass {ask('unknown', 'skip')} or {ask('unknown', 'replace:' + level.replacement_hint)}")
    if unknown == "skip":
        return ids[~bad], int(bad.sum())
    token = unknown.split(":", 1)[1]
    if token not in vocab:
        raise ConfigError(f"unknown: the replacement {token!r} is not in the vocabulary either")
    ids[bad] = vocab.id(token)
    return ids, int(bad.sum())


def decode_ids(vocab, ids: Iterable[int], drop: Iterable[int] = ()) -> str:
    """Text of generated ids: negative ids (a stream that had stopped) and `drop` are left out."""
    drop = frozenset(int(i) for i in drop)
    ids = ids.tolist() if hasattr(ids, "tolist") else [int(i) for i in ids]  # Python ints: a NumPy row at once
    return vocab.decode([i for i in ids if i >= 0 and i not in drop])


def decode_steps(vocab, steps: Sequence, count: int, drop: Iterable[int] = ()) -> list[str]:
    """The texts of `count` sampled streams from their steps: one (count,) id array per step (or
    a (steps, count) array), -1 once a stream has stopped (what rnntext.generation.runtime.generate yields). The one place sampled
    ids become text; `drop` holds ids never shown (line mode's start and end tokens)."""
    import numpy as np

    if len(steps) == 0:
        return [""] * count
    if isinstance(steps, np.ndarray) and steps.ndim == 2:  # already (steps, count)
        grid = steps.T
    else:
        grid = np.stack([np.asarray(s).reshape(-1) for s in steps], axis=1)  # (count, steps)
    return [decode_ids(vocab, row, drop) for row in grid]


def decoder(vocab, drop: Iterable[int] = ()):
    """A StreamDecoder for one stream of ids of `vocab`: `.feed(ids) -> str`, `.flush() -> str`."""
    return of(vocab).decoder(vocab, drop)


__all__ = ["NAMES", "as_lines", "build", "decode_ids", "decode_steps", "decoder", "encode", "get", "line_tokens",
           "lookup_tokens", "of", "recipe", "vocab_from_json"]
