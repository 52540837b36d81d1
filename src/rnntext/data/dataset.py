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
import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from rnntext.data.atomic import FailLater, atomic_path
from rnntext.data.room import check_declared, check_room
from rnntext.errors import DatasetError, InputError
from rnntext.faces import ask
from rnntext.text import gutenberg, levels
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


def check_output(out: str | Path, force: bool = False, example: str | None = None) -> Path:
    """Refuse an output path that is a directory (naming `example`, a dataset's name by default,
    as a file to give instead), unwritable, or an existing file without force."""
    out = Path(out)
    if out.is_dir():
        raise InputError(f"output {out} is a directory: give a file name such as {out / (example or 'data.h5')}")
    if out.exists() and not force:
        raise InputError(f"output {out} already exists: choose another name or pass {ask('force', True)} to replace it")
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


def prepare_dataset(sources, data_cfg, out: str | Path, force: bool = False, extend=None) -> dict:
    """Read `sources`, build the vocabulary, encode into `out`; return a summary dict. `extend`: a
    vocabulary to extend by the text's new tokens instead (fine-tuning, rnntext.text.levels)."""
    out = check_output(out, force)
    if any(s.path is not None and s.path.resolve() == out.resolve() for s in sources):
        raise InputError(f"output {out} is also an input: the text would be replaced by the dataset: "
                         f"choose another {ask('output')}")
    gutenberg.tell(sources, data_cfg)
    labels: dict[str, int] = {}
    try:
        texts = _texts(_pieces(sources, data_cfg), labels)
        vocab, total = levels.build(data_cfg, texts) if extend is None else \
            levels.of(extend).extend(extend, data_cfg, texts)
        vocab = vocab if extend is None else capped(extend, vocab, data_cfg.max_vocab)
    except UnicodeError as e:  # a codec's own complaint (utf-16 without a byte-order mark, ...)
        raise InputError(f"cannot read the input as {data_cfg.encoding}: {e}: pass {ask('encoding')} with "
                         f"the right codec") from None
    if total == 0:
        what = f"after filtering (check {ask('keep')} and {ask('max_chars')})" if data_cfg.keep or data_cfg.max_chars else ""
        raise InputError(f"input is empty {what}: give text with at least a few characters".replace("  ", " "))
    sizes = split_sizes(total, data_cfg.val_frac, data_cfg.test_frac)
    if sizes["train"] < 2:
        raise InputError(f"train split would hold {sizes['train']} tokens: give more text or smaller {ask('val_frac')}/{ask('test_frac')}")
    for name, frac in (("val", data_cfg.val_frac), ("test", data_cfg.test_frac)):
        if frac > 0 and sizes[name] < 2:
            raise InputError(f"{name} split would hold {sizes[name]} tokens: give more text or a larger {ask(name + '_frac')} (or 0)")
    meta = {
        "vocab": vocab.to_json(),
        "data": dataclasses.asdict(data_cfg),
        "sources": [s.name for s in sources],
        "counts": sizes,
        "labels": list(labels),
    }
    dtype = id_dtype(len(vocab))
    with atomic_path(out) as tmp, _hdf5_writer(tmp) as (f, disk):
        dsets = _start(f, meta, sizes, dtype)
        segments = _encode_into(dsets, sizes, vocab, _pieces(sources, data_cfg), labels)
        if labels:
            for name, rows in segments.items():
                f[f"{name}_segments"] = np.array(rows, dtype=np.int64).reshape(-1, 2)
        _finish(f, disk, dsets, out)
    return {"path": str(out), "tokens": total, "vocab_size": len(vocab), "splits": sizes,
            "vocab": vocab, "dtype": dtype.name, "sources": len(sources)}


def _start(f, meta: dict, sizes: dict[str, int], dtype) -> dict:
    """Write the header of a new dataset file `f`; return its empty splits."""
    f.attrs["format"] = FORMAT
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["meta"] = json.dumps(meta, ensure_ascii=False)
    return {name: f.create_dataset(name, shape=(n,), dtype=dtype, chunks=(min(n, 1 << 20),) if n else None)
            for name, n in sizes.items()}


def _finish(f, disk, dsets: dict, out: Path) -> None:
    """Flush a dataset being written and record each split's digest, read back from the file."""
    f.flush()
    disk.check()  # before reading back what may never have reached the disk
    f.attrs["sha256"] = json.dumps({name: _scan(d, name, out)[2] for name, d in dsets.items()})


@contextmanager
def _hdf5_writer(tmp: Path):
    """An HDF5 file written through FailLater: a full disk is raised after HDF5 has closed the
    file cleanly (and inside atomic_path, so the target stays intact)."""
    with open(tmp, "r+b", buffering=0) as raw:
        disk = FailLater(raw)
        with h5py.File(disk, "w") as f:
            yield f, disk
        disk.check()


def remap_dataset(source: Dataset, vocab, id_map: np.ndarray, out: str | Path, block: int = 1 << 22) -> None:
    """A copy of `source` in `out` whose ids are mapped through `id_map` (source id -> id in
    `vocab`) and whose vocabulary is `vocab`: a dataset moved into a fine-tuned run's extended
    vocabulary. Label segments and settings are kept; read and written a block at a time."""
    out = check_output(out, force=True)
    sizes = {name: source.size(name) for name in SPLITS}
    with atomic_path(out) as tmp, _hdf5_writer(tmp) as (f, disk):
        dsets = _start(f, {**source.meta, "vocab": vocab.to_json()}, sizes, id_dtype(len(vocab)))
        for name, d in dsets.items():
            for lo in range(0, sizes[name], block):
                d[lo:lo + block] = id_map[np.asarray(source.split(name)[lo:lo + block], np.int64)]
            if (rows := source.segments(name)) is not None:
                f[f"{name}_segments"] = rows
        _finish(f, disk, dsets, out)


def capped(vocab, grown, max_vocab: int):
    """Fine-tuning: `grown` (`vocab` with new tokens appended, most frequent first) cut to
    `max_vocab` tokens in all where its level maps unknown tokens (unk_id: the words left out
    become <unk>), so that a run's max_vocab is true of its vocabulary."""
    if not max_vocab or len(grown) <= max_vocab or not hasattr(grown, "unk_id"):
        return grown
    return levels.of(vocab).extended(vocab, grown.tokens[len(vocab):max_vocab])


def _pieces(sources, data_cfg):
    """(label or None, text) pieces, line-wrapped in line mode: the same on both passes.

    condition_by file labels each input by its file name (a built-in corpus by its name);
    tab takes each line's label from before its first tab.
    """
    wrap = (lambda t: levels.as_lines(t, data_cfg.level)) if data_cfg.lines else (lambda t: t)
    whole_lines = data_cfg.lines or data_cfg.condition_by == "tab"  # a line is a sample, or has a label
    for source, chunk in iter_text(sources, data_cfg, whole_lines):
        if data_cfg.condition_by == "none":
            yield None, wrap(chunk)
        elif data_cfg.condition_by == "file":
            yield Path(source.name).stem, wrap(chunk)
        else:
            yield from _tab_pieces(source, chunk, wrap)


def _tab_pieces(source, chunk, wrap):
    run_label, run_lines = None, []
    for line in chunk.split("\n"):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab or not label.strip():
            raise InputError(f"{source.name}: the line {line[:40]!r} has no LABEL<TAB> in front: "
                             f"{ask('condition_by', 'tab')} needs one on every line")
        if label != run_label and run_lines:
            yield run_label, wrap("\n".join(run_lines) + "\n")
            run_lines = []
        run_label = label
        run_lines.append(text)
    if run_lines:
        yield run_label, wrap("\n".join(run_lines) + "\n")


def _texts(pieces, labels: dict[str, int]):
    """The texts of the pieces, noting each new label (in order of first appearance)."""
    for label, text in pieces:
        if label is not None:
            labels.setdefault(label, len(labels))
        yield text


def _encode_into(dsets: dict, sizes: dict[str, int], vocab, pieces, labels: dict[str, int]) -> dict:
    """Write the ids of the pieces into the contiguous splits, in order; return each split's
    label segments as [start, label id] rows (positions within the split)."""
    bounds, start = [], 0
    for name in SPLITS:
        bounds.append((name, start, start + sizes[name]))
        start += sizes[name]
    segments: dict[str, list] = {name: [] for name in SPLITS}
    pos = 0
    for label, text in pieces:
        ids = levels.encode(vocab, text).astype(dsets["train"].dtype)  # (N,)
        for name, lo, hi in bounds:
            a, b = max(lo, pos), min(hi, pos + len(ids))
            if a < b:
                dsets[name][a - lo:b - lo] = ids[a - pos:b - pos]
                rows = segments[name]
                if label is not None and (not rows or rows[-1][1] != labels[label]):
                    rows.append([a - lo, labels[label]])
        pos += len(ids)
    return segments


def _scan(data, name: str, path=None, block: int = 1 << 22):
    """(min, max, sha256) of a 1-D id dataset, read block by block (never whole)."""
    h, lo, hi = hashlib.sha256(), 0, 0
    try:
        for start in range(0, data.shape[0], block):
            part = np.asarray(data[start:start + block])
            h.update(part.astype("<u4" if part.dtype.kind == "u" else "<i8").tobytes())
            lo, hi = min(lo, int(part.min())), max(hi, int(part.max()))
    except (OSError, RuntimeError, ValueError) as e:
        raise DatasetError(f"{path}: the {name} split cannot be read ({e}): the file is damaged; prepare it again") from None
    return lo, hi, h.hexdigest()


def _recorded_sums(f) -> dict:
    try:
        sums = json.loads(f.attrs.get("sha256", "{}"))
    except (ValueError, TypeError):
        sums = None
    return sums if isinstance(sums, dict) else {name: None for name in SPLITS}


def is_dataset(path) -> bool:
    """Whether `path` is an HDF5 file (by its signature; a dataset may be larger than memory)."""
    try:
        with open(path, "rb") as f:
            return Path(path).is_file() and f.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


@dataclasses.dataclass
class Dataset:
    """An open prepared dataset; `split(name)` is a lazily sliced h5py dataset."""

    path: Path
    file: h5py.File
    meta: dict
    vocab: object  # Vocab, WordVocab or BpeVocab

    def split(self, name: str):
        return self.file[name]

    @property
    def labels(self) -> list[str]:
        return list(self.meta.get("labels", []))

    def segments(self, name: str):
        """Label segments of a split: (K, 2) rows [start, label id], or None without labels (read
        whole: at most one row per token of the split, checked when the file was opened)."""
        key = f"{name}_segments"
        if key not in self.file:
            return None
        rows = self.file[key]
        check_room(rows.size * 8, f"{self.path}: {key}", "train on a machine with more memory")
        return np.asarray(rows[:])

    def check_ids(self) -> None:
        """Read every split once (in blocks): ids must lie in the vocabulary, label segments in
        range, and the data must match the checksums written by `prepare`."""
        recorded = _recorded_sums(self.file)
        for name in SPLITS:
            data = self.file[name]
            if data.dtype.kind not in "ui":
                raise DatasetError(f"{self.path}: the {name} split holds {data.dtype} values, not token ids: "
                                   f"the file is damaged; prepare it again")
            lo, hi, checksum = _scan(data, name, self.path)
            if data.shape[0] and (lo < 0 or hi >= len(self.vocab)):
                raise DatasetError(f"{self.path}: the {name} split holds token id {hi if hi >= len(self.vocab) else lo},"
                                   f" outside the vocabulary of {len(self.vocab)}: the file is damaged; prepare it again")
            if name in recorded and recorded[name] != checksum:
                raise DatasetError(f"{self.path}: the {name} split does not match its recorded checksum: the file "
                                   f"is damaged; prepare it again")
            rows = self.segments(name)
            if rows is not None and not segments_ok(rows, data.shape[0], max(1, len(self.labels))):
                raise DatasetError(f"{self.path}: the {name} split's label segments are damaged; prepare it again")

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
    except (OSError, RuntimeError, ValueError):
        raise DatasetError(f"{path} is not an HDF5 file (or not a readable one): give a file written by `rnntext prepare`") from None
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
        labels, data = meta.get("labels", []), meta.get("data", {})
        if not isinstance(data, dict) or not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise TypeError("meta.data or meta.labels")
        for name in SPLITS:
            if name not in f or f[name].ndim != 1:
                raise DatasetError(f"{path} lacks the {name!r} split: the file is damaged; prepare it again")
        check_declared(path, f, [k for k in f if isinstance(f[k], h5py.Dataset)])
        _check_segments(path, f)
    except (KeyError, ValueError, TypeError, AttributeError, OSError, RuntimeError, RecursionError):
        f.close()
        raise DatasetError(f"{path} has damaged metadata: prepare it again") from None
    except DatasetError:
        f.close()
        raise
    return Dataset(path, f, meta, vocab)


def _check_segments(path: Path, f: h5py.File) -> None:
    """Each split's label segments, by their shape and type only (nothing read yet)."""
    for name in SPLITS:
        key = f"{name}_segments"
        if key in f and not segments_ok(f[key], f[name].shape[0]):
            raise DatasetError(f"{path}: the {name} split's label segments are damaged; prepare it again")


def segments_ok(rows, n: int, labels: int | None = None) -> bool:
    """Whether `rows` (an h5py dataset or an array) can be the label segments of a text of `n`
    tokens: (K, 2) integer rows [start, label id], at most one per token (K <= n). With
    `labels`, the rows are read too: the starts must run from 0 upwards within the text (a
    position's label is its last segment's at or before it) and the label ids lie in
    0..labels-1."""
    if not isinstance(rows, (h5py.Dataset, np.ndarray)) or rows.ndim != 2 or rows.shape[1] != 2 \
            or rows.dtype.kind not in "iu" or rows.shape[0] > n:
        return False
    if labels is None or not rows.shape[0]:
        return True
    starts, ids = np.asarray(rows[:], np.int64).T  # (K,) each
    return bool(starts[0] == 0 and (np.diff(starts) > 0).all() and starts[-1] < n
                and ids.min() >= 0 and ids.max() < labels)
