"""The prepared dataset: one HDF5 file of token ids per split, vocabulary and settings as JSON.

Layout (format version 1):
  attrs  format = "rnntext-dataset", format_version = 1, meta = JSON {vocab, data, sources, counts}
  train, val, test   1-D token ids, the smallest unsigned dtype that fits the vocabulary

Splits are contiguous blocks, train first, then val, then test (as char-rnn and torch-rnn).
Readers slice the h5py datasets and never load a split whole. Preparation makes two passes
over the input (vocabulary, then encoding) so memory stays bounded for any corpus size.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np

from rnntext.data.atomic import atomic_path
from rnntext.errors import DatasetError, InputError
from rnntext.text import levels
from rnntext.text.read import iter_text

FORMAT = "rnntext-dataset"
FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")


def id_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype that holds every id."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise DatasetError(f"vocabulary of {vocab_size} tokens is too large")


def split_sizes(total: int, val_frac: float, test_frac: float) -> dict[str, int]:
    """Contiguous split sizes: train gets what val and test leave."""
    val, test = int(total * val_frac), int(total * test_frac)
    return {"train": total - val - test, "val": val, "test": test}


def check_output(out: str | Path, force: bool = False) -> Path:
    """Refuse an output path that is a directory, unwritable, or an existing file without force."""
    out = Path(out)
    if out.is_dir():
        raise InputError(f"output {out} is a directory: give a file name such as {out / 'data.h5'}")
    if out.exists() and not force:
        raise InputError(f"output {out} already exists: choose another name or pass --force to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the folder {out.parent}: {e.strerror}") from None
    if not _writable(out.parent):
        raise InputError(f"cannot write to {out.parent}: choose a folder you may write to")
    return out


def _writable(folder: Path) -> bool:
    import os

    return os.access(folder, os.W_OK | os.X_OK)


def prepare_dataset(sources, data_cfg, out: str | Path, force: bool = False) -> dict:
    """Read `sources`, build the vocabulary, encode into `out`; return a summary dict."""
    out = check_output(out, force)
    vocab, total = levels.build(data_cfg, _chunks(sources, data_cfg))
    if total == 0:
        what = "after filtering (check --keep and --max-chars)" if data_cfg.keep or data_cfg.max_chars else ""
        raise InputError(f"input is empty {what}: give text with at least a few characters".replace("  ", " "))
    sizes = split_sizes(total, data_cfg.val_frac, data_cfg.test_frac)
    if sizes["train"] < 2:
        raise InputError(f"train split would hold {sizes['train']} tokens: give more text or smaller --val-frac/--test-frac")
    for name, frac in (("val", data_cfg.val_frac), ("test", data_cfg.test_frac)):
        if frac > 0 and sizes[name] < 2:
            raise InputError(f"{name} split would hold {sizes[name]} tokens: give more text or a larger --{name}-frac (or 0)")
    meta = {
        "vocab": vocab.to_json(),
        "data": dataclasses.asdict(data_cfg),
        "sources": [s.name for s in sources],
        "counts": sizes,
    }
    dtype = id_dtype(len(vocab))
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["meta"] = json.dumps(meta, ensure_ascii=False)
            dsets = {name: f.create_dataset(name, shape=(n,), dtype=dtype, chunks=(min(n, 1 << 20),) if n else None)
                     for name, n in sizes.items()}
            _encode_into(dsets, sizes, vocab, _chunks(sources, data_cfg))
    return {"path": str(out), "tokens": total, "vocab_size": len(vocab), "splits": sizes,
            "vocab": vocab, "dtype": dtype.name, "sources": len(sources)}


def _chunks(sources, data_cfg):
    """The normalised text chunks, line-wrapped in line mode: the same on both passes."""
    for _, chunk in iter_text(sources, data_cfg):
        yield levels.as_lines(chunk, data_cfg.level) if data_cfg.lines else chunk


def _encode_into(dsets: dict, sizes: dict[str, int], vocab, chunks) -> None:
    """Write the ids of `chunks` into the contiguous splits, in order."""
    bounds, start = [], 0
    for name in SPLITS:
        bounds.append((name, start, start + sizes[name]))
        start += sizes[name]
    pos = 0
    for chunk in chunks:
        ids = levels.encode(vocab, chunk).astype(dsets["train"].dtype)  # (N,)
        for name, lo, hi in bounds:
            a, b = max(lo, pos), min(hi, pos + len(ids))
            if a < b:
                dsets[name][a - lo:b - lo] = ids[a - pos:b - pos]
        pos += len(ids)


@dataclasses.dataclass
class Dataset:
    """An open prepared dataset; `split(name)` is a lazily sliced h5py dataset."""

    path: Path
    file: h5py.File
    meta: dict
    vocab: object  # Vocab, WordVocab or BpeVocab

    def split(self, name: str):
        return self.file[name]

    def size(self, name: str) -> int:
        return int(self.file[name].shape[0])

    def close(self) -> None:
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_dataset(path: str | Path) -> Dataset:
    """Open and validate a prepared dataset; foreign or damaged files raise DatasetError."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset {path} does not exist: create it with `rnntext prepare TEXT -o {path}`")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise DatasetError(f"{path} is not an HDF5 file: give a file written by `rnntext prepare`") from None
    try:
        if f.attrs.get("format") != FORMAT:
            raise DatasetError(f"{path} is an HDF5 file from another tool: prepare it with `rnntext prepare` "
                               f"(Caffe files: `rnntext prepare --from caffe-hdf5 LIST.txt`)")
        version = int(f.attrs.get("format_version", -1))
        if version != FORMAT_VERSION:
            raise DatasetError(f"{path} has dataset format version {version}; this rnntext reads {FORMAT_VERSION}: "
                               f"prepare the data again")
        meta = json.loads(f.attrs["meta"])
        vocab = levels.vocab_from_json(meta["vocab"])
        for name in SPLITS:
            if name not in f or f[name].ndim != 1:
                raise DatasetError(f"{path} lacks the {name!r} split: the file is damaged; prepare it again")
    except (KeyError, ValueError, TypeError):
        f.close()
        raise DatasetError(f"{path} has damaged metadata: prepare it again") from None
    except DatasetError:
        f.close()
        raise
    return Dataset(path, f, meta, vocab)
