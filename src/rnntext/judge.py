"""Novelty: how much of a model's output is new rather than copied from its training text.

torch-rnn's novel_substrings idea: cut samples into n-grams (20 characters, or 5 words) and
count those that occur nowhere in the training text. A share near 0 means the model recites
its corpus (the overfitting the Keras lab warns about); near 1 means it writes its own text.
NumPy and stdlib only: a trained model can be judged on a machine without torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnntext.errors import InputError, RunError
from rnntext.text import levels

CHUNK = 1 << 22  # training windows hashed at a time: bounds memory (~100 MB) for any corpus size


def novelty(samples: Sequence[str], training_text: str, level: str, n: int | None = None) -> dict:
    """Share of the samples' n-grams that never occur in `training_text`.

    char, byte and bpe levels compare `n` characters (default 20); word level compares `n`
    whitespace-separated tokens (default 5). N-grams never span two samples.
    Returns {"novel_share", "ngrams", "novel", "n", "unit"}.
    """
    home = levels.get(level)
    n = home.novelty_n if n is None else n
    if home.novelty_by_token:
        index: dict[str, int] = {}
        train = np.array([index.setdefault(t, len(index)) for t in training_text.split()], np.int64)
        rows = [np.array([index.get(t, -1) for t in s.split()], np.int64) for s in samples]
    else:
        train, rows = _code_points(training_text), [_code_points(s) for s in samples]
    return _novelty_of_ids(rows, train, n, home.novelty_unit)


NOVELTY_SAMPLES = 10  # samples drawn by default: enough n-grams for a stable share


def model_novelty(model, n: int | None = None, condition: str | None = None, **options) -> dict:
    """Sample from a loaded model (rnntext.load) and measure novelty against the train split
    of the dataset the run was trained on. `options` are the sampling options
    (rnntext.sampling.SampleConfig: length, temperature, seed, ...); num_samples defaults to
    NOVELTY_SAMPLES. Also returns the samples' text under "samples" and the seed they were drawn
    with under "seed"."""
    from rnntext.data.batches import read_whole
    from rnntext.data.dataset import open_dataset

    home = levels.of(model.vocab)
    path = model.info.training.get("dataset")
    if not path:
        raise RunError(f"{model.info.path}/model.json does not say which dataset the run was trained on: "
                       f"novelty needs its training text")
    if not Path(path).is_file():
        raise RunError(f"the dataset this run was trained on, {path}, is gone: novelty needs its training text; "
                       f"prepare it again at that path with the run's settings")
    cfg = model.sampling(**{"num_samples": NOVELTY_SAMPLES, **options})  # built once, handed on
    steps = [ids for _, ids in model.steps(cfg, condition)]
    texts = model.decode_steps(steps, cfg.num_samples)
    with open_dataset(path) as dataset:
        train_ids = read_whole(dataset.split("train"), "train", "novelty", "measure novelty against a smaller "
                                                                        "dataset")
        if home.novelty_by_token and steps:
            # Compare token ids, not re-tokenized text: detokenizing and splitting again is not
            # exact ("do n't" shows as "don't"), and the ids are what the model saw.
            hidden = np.asarray(model.hidden_ids(), np.int64)
            keep = [row[(row >= 0) & ~np.isin(row, hidden)] for row in np.stack(steps, axis=1)]
            result = _novelty_of_ids(keep, train_ids, home.novelty_n if n is None else n, home.novelty_unit)
        else:
            result = novelty(texts, dataset.vocab.decode(train_ids), home.name, n)
    return {**result, "seed": cfg.seed, "samples": texts}


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.int64)


def _novelty_of_ids(rows: Sequence[np.ndarray], train: np.ndarray, n: int, unit: str) -> dict:
    """Count the rows' n-grams (as symbol ids) that occur nowhere in `train`."""
    if n < 1:
        raise InputError(f"n: n-grams need n >= 1, got {n}")
    hashes = [_window_hashes(r, n) for r in rows]
    sample = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    if sample.size == 0:
        raise InputError(f"the samples hold no {n}-{unit} n-gram: sample more ({unit}s) or lower n")
    found = _found_in(sample, train, n)
    novel = int(sample.size - found.sum())
    return {"novel_share": novel / sample.size, "ngrams": int(sample.size), "novel": novel, "n": n, "unit": unit}


def _found_in(sample: np.ndarray, train: np.ndarray, n: int) -> np.ndarray:
    """For each sample hash, whether some window of `train` has it. The training text is
    hashed in chunks and looked up in the (small) sorted sample set: memory stays bounded."""
    unique, inverse = np.unique(sample, return_inverse=True)
    seen = np.zeros(unique.size, bool)
    for lo in range(0, max(len(train) - n + 1, 0), CHUNK):
        h = _window_hashes(train[lo:lo + CHUNK + n - 1], n)
        pos = np.searchsorted(unique, h)
        ok = pos < unique.size
        pos, h = pos[ok], h[ok]
        seen[pos[unique[pos] == h]] = True
    return seen[inverse.ravel()]


def _window_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit hash of every length-n window of ids: (len - n + 1,) uint64.

    Each symbol is scrambled (splitmix64) and weighted by a random per-position odd constant,
    summed modulo 2**64. Unlike a plain polynomial hash this has no structured collisions;
    a chance collision (about 1e-10 for a 1 MB corpus) could only make a novel n-gram look seen.
    """
    count = len(ids) - n + 1
    if count <= 0:
        return np.zeros(0, np.uint64)
    mixed = _splitmix(ids.astype(np.uint64))
    weights = np.random.default_rng(12345).integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    out = np.zeros(count, np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            out += mixed[k:k + count] * weights[k]  # wraps modulo 2**64 by design
    return out


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))
