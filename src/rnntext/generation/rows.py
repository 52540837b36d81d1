"""Sampled steps into rows, and rows into text: the one place generated ids become samples.

A generation yields one (B,) array of ids per step, -1 for a stream that has stopped (a
line-mode sample at its end token). `sample_rows` stacks them into one row per sample and
`sample_texts` decodes each row with the model's decode (which drops the stop marks and a
line-mode model's start and end tokens). The Python API, `rnntext sample`, the server and
the novelty judge all call these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def sample_rows(steps: Sequence[np.ndarray], num_samples: int) -> np.ndarray:
    """(num_samples, T) int64 ids from T steps of (num_samples,) ids; (num_samples, 0) for none."""
    if not len(steps):
        return np.zeros((num_samples, 0), np.int64)
    return np.stack(steps, axis=1).astype(np.int64, copy=False)


def sample_texts(decode: Callable[[np.ndarray], str], steps: Sequence[np.ndarray], num_samples: int) -> list[str]:
    """The text of each sample: `decode` (a model's) applied to each row of `sample_rows`."""
    return [decode(row) for row in sample_rows(steps, num_samples)]
