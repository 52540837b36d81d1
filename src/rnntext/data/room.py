"""What a file can hold and what memory a reader has: checked before anything large is read.

An HDF5 header can claim 10**12 values in a few kilobytes (its chunks never written), and a
reader would then spend hours, or all its memory, on fill values. So an array's claimed size
is held against the file's real size before it is read, and an array read whole against the
memory this process has left.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from rnntext import hardware
from rnntext.errors import DatasetError

MAX_RATIO = 1100  # a compressed HDF5 array holds at most this many times its stored size (deflate: about 1032)


def check_declared(path: Path, f: h5py.File, names, remedy: str = "prepare it again") -> None:
    """The arrays `names` of the open HDF5 file `f` at `path` may not claim more than the file can
    hold: their bytes at most the file's size (a compressed array: MAX_RATIO times it). A header
    can claim 10**12 values in a few kilobytes, which a reader would then spend hours or all
    its memory on; checked before anything is read."""
    real = Path(path).stat().st_size
    for name in names:
        d = f[name]
        claimed = int(np.prod(d.shape, dtype=object)) * d.dtype.itemsize
        filtered = d.id.get_create_plist().get_nfilters() > 0
        if claimed > real * (MAX_RATIO if filtered else 1):
            raise DatasetError(f"{path}: {name} claims {' x '.join(f'{n:,}' for n in d.shape)} values ({size(claimed)}), "
                               f"more than the file ({size(real)}) can hold: the file is damaged (or made to mislead): "
                               f"{remedy}")


def check_room(need: int, what: str, advice: str) -> None:
    """Refuse, before reading, `what` that needs `need` bytes of memory where this process has
    less left (rnntext.hardware.memory_available), saying `advice`."""
    room = hardware.memory_available()
    if room is not None and need > room:
        raise DatasetError(f"{what} needs {size(need)} of memory, more than this process has free ({size(room)}): "
                           f"{advice}")


def size(n: int) -> str:
    """Bytes for people: 812 bytes, 12.0 KiB, 14.9 GiB."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
