"""The Caffe LSTM lab's HDF5 stream format, written from and read into our prepared dataset.

Layout (what the Caffe lab's `create_text_gen_dataset.py` wrote and its HDF5Data layer reads):
  DIR/list.txt        one HDF5 chunk file per line, in order (the layer's `source`)
  DIR/vocab.json      the character dictionary, {"a": 0, "b": 1, ...} (token -> id)
  DIR/train_00000.h5  input_sequence, cont_sequence, target_sequence, each (rows, N)
N parallel streams are the columns; stream j is the j-th contiguous block of the text, so the
streams read column by column, one after another, give the text back. target_sequence is
input_sequence shifted one step along the text. cont_sequence is 0 at the first step of each
stream (LSTM state reset) and 1 everywhere else. Chunk files follow each other along time:
HDF5Data serves rows in order (batch_size = T gives one T x N window per iteration).

Dtypes are the Caffe lab's: input and target float32 (Caffe blobs are float; the Embed layer casts
the float id back to an index, exact below 2**24), cont uint8 (the Caffe lab's choice; Caffe's HDF5
loader accepts integer classes and converts them to float on read).

Export keeps whole windows only: of n ids, the first N * T * W + 1 (W = (n - 1) // (N * T))
are written and the tail of fewer than N * T ids is dropped (the summary counts it). Each
chunk carries our vocabulary and data settings in an attribute (Caffe ignores it) so word and
BPE sets come back exactly; the Caffe lab's own files without it import as character level.
A labelled split (--condition-by) keeps its labels: their names in that attribute, and its
label segments ([start, label id] rows along the text) as `rnntext_segments` in the first chunk;
an import gives each split of the new dataset its part of them.

Import checks every chunk's claimed shape against its file's size before reading it, and reads
it a block of rows and columns at a time, so a chunk of any size imports in bounded memory.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import h5py
import numpy as np

from rnntext.config import DataConfig
from rnntext.data.atomic import atomic_path, write_text
from rnntext.data.dataset import (
    FORMAT,
    FORMAT_VERSION,
    SPLITS,
    id_dtype,
    open_dataset,
    segments_ok,
    split_sizes,
)
from rnntext.data.room import check_declared, check_room
from rnntext.errors import ConfigError, DatasetError, InputError, RnntextError
from rnntext.faces import ask
from rnntext.model.claim import claim_output
from rnntext.text.levels import char, vocab_from_json

INPUT, CONT, TARGET = "input_sequence", "cont_sequence", "target_sequence"
LIST_NAME, VOCAB_NAME, META_ATTR = "list.txt", "vocab.json", "rnntext_meta"
SEGMENTS = "rnntext_segments"  # a labelled split's [start, label id] rows, in the first chunk (Caffe reads only its tops)
BLOCK_VALUES = 1 << 22  # values of a chunk read at a time on import (about 100 MB with their copies)
FLOAT_EXACT = 1 << 24  # float32 holds every integer up to 2**24 exactly
CHUNK_NAME = re.compile(r"(train|val|test)_\d{5}\.h5")  # only files named so are ever removed
TOKENS_PER_FILE = 1 << 21  # ~18 MB per chunk: HDF5Data loads one whole chunk at a time


def export_caffe_hdf5(dataset_path, out_dir, streams: int = 250, steps: int = 200, split: str = "train",
                      force: bool = False, windows_per_file: int | None = None) -> dict:
    """Write `split` of a prepared dataset as the Caffe lab's chunked T x N stream files; return a summary."""
    if streams < 1 or steps < 1 or (windows_per_file is not None and windows_per_file < 1):
        raise ConfigError(f"streams ({streams}), steps ({steps}) and windows_per_file ({windows_per_file}) "
                          f"must be 1 or more")
    if split not in SPLITS:
        raise ConfigError(f"split: {split!r} is not one of {', '.join(SPLITS)}")
    with open_dataset(dataset_path) as ds:
        vocab, ids, n = ds.vocab, ds.split(split), ds.size(split)
        if len(vocab) > FLOAT_EXACT:
            raise DatasetError(f"vocabulary of {len(vocab)} tokens is too large for float32 ids (at most {FLOAT_EXACT})")
        windows = max(n - 1, 0) // (streams * steps)
        if windows < 1:
            raise InputError(f"the {split} split holds {n} tokens; {streams} streams x {steps} steps need at least "
                             f"{streams * steps + 1}: lower --streams or --steps")
        per_file = windows_per_file or max(1, TOKENS_PER_FILE // (streams * steps))
        check_room(steps * per_file * streams * 9, f"a chunk of {streams} streams x {steps * per_file} steps",
                   "lower --streams, --steps or --windows-per-file")
        out_dir, old_names = _claim_out_dir(out_dir, force)
        meta = json.dumps({"vocab": ds.meta["vocab"], "data": ds.meta.get("data", {}), "labels": ds.labels},
                          ensure_ascii=False)
        dictionary = json.dumps({token: i for i, token in enumerate(vocab.tokens)}, ensure_ascii=False) + "\n"
        rows = ds.segments(split)
        kept_rows = rows[rows[:, 0] <= streams * windows * steps] if rows is not None else None  # (K, 2)
        names = _write_set(ids, out_dir, split, streams, windows * steps, steps * per_file, meta, dictionary,
                           kept_rows)
    for stale in set(old_names) - set(names):
        (out_dir / stale).unlink(missing_ok=True)
    kept = streams * windows * steps + 1
    return {"path": str(out_dir / LIST_NAME), "files": len(names), "streams": streams, "steps": steps,
            "windows": windows, "tokens": kept, "dropped": n - kept, "vocab_size": len(vocab)}


def _claim_out_dir(out_dir, force: bool) -> tuple[Path, list[str]]:
    """Make `out_dir`; refuse a non-empty one without force. With force the old list goes first,
    so until the new list is written the folder names no set at all (never a mixed one)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output {out_dir} is a file: give a folder for the Caffe files")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise InputError(f"output folder {out_dir} is not empty: choose another or pass --force to replace the set")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the folder {out_dir}: {e.strerror}") from None
    old_list, old_names = out_dir / LIST_NAME, []
    if old_list.is_file():
        old_names = [name for name in old_list.read_text(errors="replace").split() if CHUNK_NAME.fullmatch(name)]
        old_list.unlink()
    return out_dir, old_names


def _write_set(ids, out_dir: Path, split: str, N: int, S: int, rows_per_file: int, meta: str,
               dictionary: str, segments=None) -> list[str]:
    """Chunk files of `rows_per_file` time steps each, vocab.json, then the list (the commit point).
    ids: (n,) lazy h5py dataset; S steps per stream; segments: (K, 2) label rows or None. A
    failure removes the chunks this call wrote."""
    names: list[str] = []
    try:
        for r0 in range(0, S, rows_per_file):
            r1 = min(S, r0 + rows_per_file)
            inputs, targets = np.empty((r1 - r0, N), np.float32), np.empty((r1 - r0, N), np.float32)  # (rows, N)
            for j in range(N):
                seg = ids[j * S + r0:j * S + r1 + 1]  # (rows + 1,): one more for the last target
                inputs[:, j], targets[:, j] = seg[:-1], seg[1:]
            cont = np.ones((r1 - r0, N), np.uint8)  # (rows, N)
            if r0 == 0:
                cont[0] = 0  # each stream starts here with a fresh state
            names.append(f"{split}_{len(names):05d}.h5")
            with atomic_path(out_dir / names[-1]) as tmp, h5py.File(tmp, "w") as f:
                f.create_dataset(INPUT, data=inputs)
                f.create_dataset(CONT, data=cont)
                f.create_dataset(TARGET, data=targets)
                if segments is not None and r0 == 0:
                    f.create_dataset(SEGMENTS, data=np.asarray(segments, np.int64).reshape(-1, 2))
                f.attrs[META_ATTR] = meta
        write_text(out_dir / VOCAB_NAME, dictionary)
        write_text(out_dir / LIST_NAME, "".join(f"{name}\n" for name in names))
    except BaseException:
        for name in names:
            (out_dir / name).unlink(missing_ok=True)
        raise
    return names


def import_caffe_hdf5(list_file, out_path, val_frac: float = 0.05, test_frac: float = 0.0, force: bool = False,
                      vocab_file=None) -> dict:
    """Read a Caffe stream set into our dataset format. The dictionary is `vocab_file`, by default
    vocab.json beside the list (the Caffe lab called it wonderland_dict.json: pass that)."""
    list_file = Path(list_file)
    paths = _read_list(list_file)
    S, N, meta = _scan(paths)
    vocab = _read_vocab(Path(vocab_file) if vocab_file else list_file.parent / VOCAB_NAME, meta, list_file)
    data_cfg = _data_config(meta.get("data") or {"level": vocab.level}, val_frac, test_frac)
    total = N * S + 1
    sizes = split_sizes(total, data_cfg.val_frac, data_cfg.test_frac)
    for name in ("train", *(s for s in ("val", "test") if getattr(data_cfg, f"{s}_frac") > 0)):
        if sizes[name] < 2:
            raise InputError(f"{name} split would hold {sizes[name]} tokens: lower {ask('val_frac')}/{ask('test_frac')}")
    out = claim_output(out_path, "prepare --from caffe-hdf5", force)
    labels, segments = _labels(paths[0], meta, total)
    file_meta = {"vocab": vocab.to_json(), "data": dataclasses.asdict(data_cfg),
                 "sources": [str(list_file)], "counts": sizes, "labels": labels}
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"], f.attrs["format_version"] = FORMAT, FORMAT_VERSION
        f.attrs["meta"] = json.dumps(file_meta, ensure_ascii=False)
        dsets = {name: f.create_dataset(name, shape=(k,), dtype=id_dtype(len(vocab))) for name, k in sizes.items()}
        _copy_streams(paths, _Splits(dsets, sizes), S, N, len(vocab))
        for name, rows in _split_segments(segments, sizes).items():
            f[f"{name}_segments"] = rows
    return {"path": str(out), "tokens": total, "vocab_size": len(vocab), "splits": sizes, "vocab": vocab,
            "files": len(paths), "streams": N, "steps": S}


def _read_list(list_file: Path) -> list[Path]:
    """The chunk paths: relative names resolve beside the list file, then (as Caffe does) in the CWD."""
    if not list_file.is_file():
        raise DatasetError(f"list file {list_file} does not exist: give the .txt that names the HDF5 chunk files")
    if h5py.is_hdf5(list_file):
        raise DatasetError(f"{list_file} is an HDF5 file: give the list file (.txt) that names the chunk files")
    try:
        lines = [line.strip() for line in list_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise DatasetError(f"{list_file} is not a text list of HDF5 files: give the Caffe lab's list .txt") from None
    if not lines:
        raise DatasetError(f"{list_file} names no HDF5 files: write one chunk path per line")
    paths = []
    for line in lines:
        found = [p for p in (list_file.parent / line, Path(line)) if p.is_file()]
        if not found:
            raise DatasetError(f"{list_file} names {line}, which does not exist beside it or in the working folder")
        paths.append(found[0])
    return paths


def _scan(paths: list[Path]) -> tuple[int, int, dict]:
    """Check every chunk's datasets and shapes; return total rows S, streams N and our metadata if any."""
    rows, widths, meta = 0, set(), {}
    for path in paths:
        with _open_chunk(path) as f:
            check_declared(path, f, (INPUT, CONT, TARGET), "export the set again")
            shapes = {name: f[name].shape for name in (INPUT, CONT, TARGET)}
            if len(set(shapes.values())) != 1 or len(shapes[INPUT]) != 2:
                raise DatasetError(f"{path}: {INPUT}, {CONT} and {TARGET} must be T x N arrays of one shape, got {shapes}")
            rows += shapes[INPUT][0]
            widths.add(shapes[INPUT][1])
            if not meta and META_ATTR in f.attrs:
                meta = _parse_meta(path, f.attrs[META_ATTR])
    if len(widths) != 1 or rows == 0 or 0 in widths:
        raise DatasetError(f"the chunks of {paths[0].parent} disagree on the number of streams ({sorted(widths)}) "
                           f"or hold no steps: they are not one set")
    return rows, widths.pop(), meta


def _open_chunk(path: Path) -> h5py.File:
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise DatasetError(f"{path} is not an HDF5 file: the list must name the Caffe HDF5 chunks") from None
    missing = [name for name in (INPUT, CONT, TARGET) if name not in f or not isinstance(f[name], h5py.Dataset)]
    if missing:
        f.close()
        raise DatasetError(f"{path} lacks {', '.join(missing)}: it is not a Caffe character-stream chunk")
    return f


def _parse_meta(path: Path, raw) -> dict:
    try:
        meta = json.loads(raw)
        if isinstance(meta, dict) and isinstance(meta.get("vocab"), dict):
            return meta
    except (TypeError, ValueError):
        pass
    raise DatasetError(f"{path} has a damaged {META_ATTR} attribute: export the set again")


def _read_vocab(path: Path, meta: dict, list_file: Path):
    """The vocabulary: vocab.json (token -> id, ids 0..V-1); our attribute, if present, must agree."""
    if not path.is_file():
        raise DatasetError(f"{path} is missing: put the Caffe lab's character dictionary (JSON, character -> id) "
                           f"there, beside {list_file.name}, or name it with --vocab FILE")
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DatasetError(f"{path} is not valid JSON: give the Caffe lab's character dictionary") from None
    if (not isinstance(mapping, dict) or not mapping
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in mapping.values())
            or sorted(mapping.values()) != list(range(len(mapping)))):
        raise DatasetError(f"{path} must map each token to a distinct id 0..V-1 (the Caffe lab's char_to_int)")
    tokens = tuple(sorted(mapping, key=mapping.get))  # ordered by id
    try:
        vocab = vocab_from_json(meta["vocab"]) if meta else char.LEVEL.vocab_of(tokens)
    except RnntextError as e:
        raise DatasetError(f"{path}: {e.message}") from None
    if tuple(vocab.tokens) != tokens:
        raise DatasetError(f"{path} disagrees with the vocabulary stored in the chunks: it belongs to another set")
    return vocab


def _data_config(data: dict, val_frac: float, test_frac: float) -> DataConfig:
    known = {f.name for f in dataclasses.fields(DataConfig)}
    base = {k: v for k, v in data.items() if k in known}
    return DataConfig(**{**base, "val_frac": val_frac, "test_frac": test_frac})


@dataclasses.dataclass
class _Splits:
    """Writes ids at global text positions into the contiguous train/val/test datasets."""

    dsets: dict
    sizes: dict

    def write(self, pos: int, ids: np.ndarray) -> None:
        lo = 0
        for name in SPLITS:
            hi = lo + self.sizes[name]
            a, b = max(lo, pos), min(hi, pos + len(ids))
            if a < b:
                self.dsets[name][a - lo:b - lo] = ids[a - pos:b - pos]
            lo = hi


def _copy_streams(paths: list[Path], out: _Splits, S: int, N: int, V: int) -> None:
    """Stream j, step r is text position j * S + r; the last target ends the text at N * S.
    Checks on the way that targets are the inputs shifted by one along the whole text. Each chunk
    is read a block of rows and columns at a time (`_blocks`); `last` holds each stream's latest
    target, `first` each stream's first input."""
    r0, last, first = 0, np.zeros(N, np.int64), np.zeros(N, np.int64)
    for path in paths:
        with _open_chunk(path) as f:
            rows = f[INPUT].shape[0]
            for rs, cs in _blocks(rows, N):
                inputs, targets = _ids(path, f, INPUT, rs, cs, V), _ids(path, f, TARGET, rs, cs, V)  # (r, c)
                if not np.isin(f[CONT][rs, cs], (0, 1)).all():
                    raise DatasetError(f"{path}: {CONT} holds values other than 0 and 1: the file is damaged or "
                                       f"foreign")
                at = r0 + rs.start  # the step of the block's first row
                if not (targets[:-1] == inputs[1:]).all() or (at and not (last[cs] == inputs[0]).all()):
                    _not_contiguous(path)
                if at == 0:
                    first[cs] = inputs[0]
                for j in range(cs.start, cs.stop):
                    out.write(j * S + at, inputs[:, j - cs.start])
                last[cs] = targets[-1]
        r0 += rows
    if not (last[:-1] == first[1:]).all():  # stream j's last target is stream j+1's first input
        _not_contiguous(paths[-1])
    out.write(N * S, last[-1:])


def _blocks(rows: int, N: int):
    """(row slice, column slice) blocks of a rows x N chunk, about BLOCK_VALUES values each, columns
    outermost so that each stream's rows come in order."""
    width = min(N, max(1, BLOCK_VALUES // max(rows, 1)))
    height = min(rows, max(1, BLOCK_VALUES // width))
    for c in range(0, N, width):
        for r in range(0, rows, height):
            yield slice(r, min(rows, r + height)), slice(c, min(N, c + width))


def _ids(path: Path, f: h5py.File, name: str, rs: slice, cs: slice, V: int) -> np.ndarray:
    a = f[name][rs, cs]  # (rows, columns) float32 in the Caffe lab's files
    if a.dtype.kind not in "fiu" or (a.size and (((a != np.floor(a)) | (a < 0) | (a >= V)).any())):
        raise DatasetError(f"{path}: {name} holds values that are not ids 0..{V - 1} of vocab.json: "
                           f"the dictionary belongs to another set")
    return a.astype(np.int64)


def _labels(path: Path, meta: dict, total: int) -> tuple[list[str], np.ndarray | None]:
    """The set's labels and label segments along its text (first chunk), checked; ([], None) without."""
    labels = meta.get("labels") or []
    if not labels:
        return [], None
    with _open_chunk(path) as f:
        rows = f[SEGMENTS] if SEGMENTS in f else None
        ok = (isinstance(labels, list) and all(isinstance(x, str) for x in labels)
              and segments_ok(rows, total, len(labels)) and rows.shape[0] > 0)
        segments = np.asarray(rows[:], np.int64) if ok else None
    if segments is None:
        raise DatasetError(f"{path}: the labels of the set are damaged ({SEGMENTS}, {META_ATTR}): export it again")
    return labels, segments


def _split_segments(segments: np.ndarray | None, sizes: dict) -> dict:
    """Each split's label segments (positions within the split) from the text's (K, 2), or {}."""
    if segments is None:
        return {}
    out, lo = {}, 0
    for name in SPLITS:
        hi = lo + sizes[name]
        if hi > lo:
            inside = segments[(segments[:, 0] > lo) & (segments[:, 0] < hi)]
            at_start = segments[np.searchsorted(segments[:, 0], lo, side="right") - 1, 1]
            out[name] = np.vstack([[[0, at_start]], inside - [lo, 0]]).astype(np.int64)
        lo = hi
    return out


def _not_contiguous(path: Path) -> None:
    raise DatasetError(f"{path}: {TARGET} is not {INPUT} shifted by one along one text cut into streams: "
                       f"rnntext imports only that layout (the Caffe lab's); check the order of the list file")
