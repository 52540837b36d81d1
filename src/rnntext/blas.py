"""How many threads NumPy's matrix products use, read and set where NumPy's BLAS is OpenBLAS
(NumPy's wheels ship it), through OpenBLAS's own C functions, as threadpoolctl does; where
the library or its functions are not found, nothing is set and one count is all there is.

Why it matters: a batched evaluation's products are large enough for OpenBLAS to spread over
every core, and on a machine that is busy with something else each product then waits for its
slowest thread (160,000 characters, 2x128 LSTM, 64 streams, 2 cores under a load of 6: 55 s
with 2 threads, 3 s with 1). `evaluate_timed` (rnntext.engines.numpy.engine) times both, and
a generation loop chooses by timing its own steps (rnntext.generation.threads).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from pathlib import Path

# (get, set) function names, for the OpenBLAS builds NumPy's wheels have shipped
NAMES = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
         ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
         ("openblas_get_num_threads", "openblas_set_num_threads"))


@functools.cache
def _functions():
    """OpenBLAS's (get, set) thread functions as NumPy loaded it, or None."""
    import numpy

    root = Path(numpy.__file__).parent
    for lib in [*root.parent.glob("numpy.libs/*openblas*"), *root.glob(".dylibs/*openblas*")]:
        try:
            handle = ctypes.CDLL(str(lib))
        except OSError:
            continue
        for get, set_ in NAMES:
            if hasattr(handle, get) and hasattr(handle, set_):
                getter, setter = getattr(handle, get), getattr(handle, set_)
                getter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
                return getter, setter
    return None


def threads() -> int:
    """NumPy's BLAS threads now (1 where they cannot be read)."""
    found = _functions()
    return max(1, found[0]()) if found else 1


def set_threads(n: int) -> None:
    """NumPy's BLAS uses `n` threads from now on (where it can be set)."""
    found = _functions()
    if found and n >= 1:
        found[1](n)


@contextlib.contextmanager
def limited(n: int):
    """Within the block NumPy's BLAS uses at most `n` threads (where it can be set)."""
    found, before = _functions(), threads()
    if found and n < before:
        found[1](n)
    try:
        yield
    finally:
        if found and n < before:
            found[1](before)
