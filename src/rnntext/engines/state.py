"""The carried hidden state as checkpoint tensors, the same for both engines.

A state is a list per layer of h, or of a tuple of the cell's state parts (LSTM's (h, c); see
rnntext.cells); in a checkpoint it is the arrays `hidden.{layer}.{part}`, part 0 being h.
`convert` turns each array to or from the engine's own kind (a torch tensor on a device, a
NumPy copy, one rank's streams).
"""

from __future__ import annotations


def state_tensors(state, convert) -> dict:
    """{"hidden.k.j": convert(t)} for every layer k and part j of `state` (None: no entries)."""
    return {f"hidden.{k}.{j}": convert(t)
            for k, s in enumerate(state or []) for j, t in enumerate(s if isinstance(s, tuple) else (s,))}


def state_from_tensors(tensors: dict, convert):
    """The state stored by `state_tensors`, each array passed through `convert`; None if absent."""
    layers = sorted({int(k.split(".")[1]) for k in tensors if k.startswith("hidden.")})
    parts = [[convert(tensors[f"hidden.{k}.{j}"]) for j in range(_count(tensors, k))] for k in layers]
    return [tuple(p) if len(p) > 1 else p[0] for p in parts] or None


def _count(tensors: dict, k: int) -> int:
    """How many parts layer k's state has: hidden.k.0, hidden.k.1, ... while present."""
    j = 0
    while f"hidden.{k}.{j}" in tensors:
        j += 1
    return j
