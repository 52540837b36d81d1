"""Files are held against what they can hold before they are read: a dataset or a Caffe chunk
whose header claims more than the file has is refused in one line (never hours of fill values or
a MemoryError), arrays read whole must fit in memory, large Caffe chunks are read in blocks, and
configuration or run files nested thousands deep are one line too."""

import h5py
import numpy as np
import pytest

from rnntext import hardware
from rnntext.cli import main
from rnntext.config import DataConfig
from rnntext.data import room
from rnntext.data.dataset import open_dataset, prepare_dataset, segments_ok
from rnntext.interop import caffe
from rnntext.text.read import resolve_sources

TEXT = "".join(f"line {i}: the quick brown fox {i * 7 % 13} jumps.\n" for i in range(60))
TINY = ["--num-layers", "1", "--hidden-size", "8", "--embed-size", "4", "--seq-len", "8", "--batch-size", "2",
        "--sample-every", "0", "--quiet", "--threads", "1", "--eval-every", "0", "--max-iters", "2"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def one_line_error(code, err, *fragments):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


def prepared(tmp_path, name="data.h5", **cfg) -> object:
    src = tmp_path / "in.txt"
    src.write_text(TEXT, encoding="utf-8")
    out = tmp_path / name
    prepare_dataset(resolve_sources([str(src)]), DataConfig(**{"val_frac": 0.1, **cfg}), out, force=True)
    return out


def forged(path, key: str, shape, dtype="u1"):
    """Replace `key` in the HDF5 file by an array that claims `shape` and holds nothing (its chunks never written)."""
    with h5py.File(path, "r+") as f:
        if key in f:
            del f[key]
        f.create_dataset(key, shape=shape, dtype=dtype, chunks=tuple(min(n, 1 << 16) for n in shape))


@pytest.mark.parametrize(("key", "shape", "dtype"), [("train", (10**12,), "u1"), ("train_segments", (10**9, 2), "i8"),
                                                     ("val", (10**10,), "u2")])
def test_a_dataset_that_claims_too_much_is_one_line(tmp_path, capsys, key, shape, dtype):
    data = prepared(tmp_path)
    forged(data, key, shape, dtype)
    assert data.stat().st_size < 100_000
    code, err = run_cli(capsys, "train", data, "-o", tmp_path / "run", *TINY)
    one_line_error(code, err, f"{key} claims", "more than the file", "prepare it again")
    assert not (tmp_path / "run").exists()
    code, err = run_cli(capsys, "export", "caffe-hdf5", data, "-o", tmp_path / "caffe")
    one_line_error(code, err, f"{key} claims")


def test_segments_with_more_rows_than_tokens_are_damaged(tmp_path, capsys):
    data = prepared(tmp_path)
    with h5py.File(data, "r+") as f:
        f["train_segments"] = np.zeros((f["train"].shape[0] + 2, 2), np.int64)
    one_line_error(*run_cli(capsys, "train", data, "-o", tmp_path / "run", *TINY), "label segments are damaged")


def test_a_split_read_whole_must_fit_in_memory(tmp_path, capsys, monkeypatch):
    data = prepared(tmp_path)
    monkeypatch.setattr(hardware, "memory_available", lambda: 1000)  # 1000 bytes left
    code, err = run_cli(capsys, "train", data, "-o", tmp_path / "run", "--batching", "windows", *TINY)
    one_line_error(code, err, "read whole for the windows layout needs", "--batching streams")
    code, err = run_cli(capsys, "train", data, "-o", tmp_path / "run2", *TINY)  # streams: read in blocks
    assert code == 0, err


def test_memory_left_counts_the_address_space_limit(monkeypatch):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = hardware._vm_size()
    resource.setrlimit(resource.RLIMIT_AS, (used + (64 << 20), hard))
    try:
        assert hardware.memory_available() <= 64 << 20
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert room.size(12 * 1024) == "12.0 KiB" and room.size(16 * 10**9) == "14.9 GiB" and room.size(812) == "812 bytes"


def caffe_set(tmp_path, **labels) -> tuple:
    data = prepared(tmp_path, val_frac=0.0, **labels)
    summary = caffe.export_caffe_hdf5(data, tmp_path / "caffe", streams=5, steps=30, windows_per_file=3)
    return data, tmp_path / "caffe" / "list.txt", summary


def test_a_caffe_chunk_that_claims_too_much_is_one_line(tmp_path, capsys):
    _, listing, _ = caffe_set(tmp_path)
    first = listing.parent / listing.read_text().split()[0]
    for key in ("input_sequence", "cont_sequence", "target_sequence"):
        forged(first, key, (40_000, 100_000), "f4" if key != "cont_sequence" else "u1")
    code, err = run_cli(capsys, "prepare", listing, "--from", "caffe-hdf5", "-o", tmp_path / "back.h5")
    one_line_error(code, err, "input_sequence claims 40,000 x 100,000 values (14.9 GiB)", "export the set again")
    assert not (tmp_path / "back.h5").exists()


def test_caffe_chunks_read_in_small_blocks_import_the_same(tmp_path, monkeypatch):
    data, listing, _ = caffe_set(tmp_path)
    whole = caffe.import_caffe_hdf5(listing, tmp_path / "whole.h5", val_frac=0.1)
    monkeypatch.setattr(caffe, "BLOCK_VALUES", 7)  # blocks of 1 column x 7 rows: every seam crossed
    blocks = caffe.import_caffe_hdf5(listing, tmp_path / "blocks.h5", val_frac=0.1)
    assert whole["tokens"] == blocks["tokens"]
    with open_dataset(tmp_path / "whole.h5") as a, open_dataset(tmp_path / "blocks.h5") as b:
        for split in ("train", "val", "test"):
            np.testing.assert_array_equal(a.split(split)[:], b.split(split)[:])
    assert list(caffe._blocks(10, 3)) == [(slice(r, min(10, r + 7)), slice(c, c + 1)) for c in range(3) for r in (0, 7)]
    monkeypatch.undo()
    assert list(caffe._blocks(10, 3)) == [(slice(0, 10), slice(0, 3))]  # a small chunk: one block


def labelled(tmp_path, val_frac=0.0):
    """A dataset of two texts labelled by file name (carroll 0, poe 1)."""
    folder = tmp_path / "texts"
    folder.mkdir()
    for name, line in (("poe", "the raven said nevermore.\n"), ("carroll", "the hatter poured some tea.\n")):
        (folder / f"{name}.txt").write_text(line * 40, encoding="utf-8")
    data = tmp_path / "data.h5"
    prepare_dataset(resolve_sources([str(folder)]), DataConfig(val_frac=val_frac, condition_by="file"), data,
                    force=True)
    return data


def test_segments_ok_is_the_one_check_of_label_segments():
    rows = np.array([[0, 1], [5, 0]], np.int64)  # (K, 2) [start, label id]
    assert segments_ok(rows, 2) and segments_ok(rows, 10, labels=2) and segments_ok(rows.astype(np.uint8), 2)
    assert segments_ok(np.zeros((0, 2), np.int64), 0, labels=1)  # an empty split has no rows
    assert not segments_ok(rows, 1)  # more rows than tokens
    assert not segments_ok(rows, 10, labels=1)  # label id 1 of one label
    assert not segments_ok(np.array([[0, -1]]), 10, labels=2)
    # read with the labels: the starts run from 0 upwards within the text
    assert not segments_ok(rows[::-1], 10, labels=2) and not segments_ok(rows + [1, 0], 10, labels=2)
    assert not segments_ok(np.array([[0, 1], [0, 0]]), 10, labels=2) and not segments_ok(rows, 5, labels=2)
    assert not segments_ok(rows.astype(np.float32), 10) and not segments_ok(rows[:, :1], 10)
    assert not segments_ok(rows.ravel(), 10) and not segments_ok(None, 10) and not segments_ok(rows.tolist(), 10)


@pytest.mark.parametrize("damage", [lambda rows: rows[::-1], lambda rows: rows + [1, 0]])
def test_label_segments_out_of_order_are_damaged(tmp_path, capsys, damage):
    data = labelled(tmp_path)  # a position before the first start would take the last label
    with h5py.File(data, "r+") as f:
        rows = damage(f["train_segments"][()])
        assert len(rows) > 1
        f["train_segments"][...] = rows
    one_line_error(*run_cli(capsys, "train", data, "-o", tmp_path / "run", *TINY), "train split's label segments are damaged")
    assert not (tmp_path / "run" / "model.json").exists()


def test_label_ids_outside_the_labels_are_damaged(tmp_path, capsys):
    data = labelled(tmp_path)
    with h5py.File(data, "r+") as f:
        f["train_segments"][0, 1] = 2  # of the labels carroll, poe
    one_line_error(*run_cli(capsys, "train", data, "-o", tmp_path / "run", *TINY), "train split's label segments are damaged")
    assert not (tmp_path / "run" / "model.json").exists()


@pytest.mark.parametrize("damage", [lambda rows: rows[:0], lambda rows: rows[::-1], lambda rows: rows + [1, 0],
                                    lambda rows: rows + [0, 2], lambda rows: rows.astype(np.float64)])
def test_a_caffe_set_with_damaged_labels_is_refused(tmp_path, damage):
    caffe.export_caffe_hdf5(labelled(tmp_path), tmp_path / "caffe", streams=4, steps=20, windows_per_file=2)
    with h5py.File(tmp_path / "caffe" / "train_00000.h5", "r+") as f:
        rows = damage(f[caffe.SEGMENTS][()])
        del f[caffe.SEGMENTS]
        f[caffe.SEGMENTS] = rows
    with pytest.raises(caffe.DatasetError, match="the labels of the set are damaged"):
        caffe.import_caffe_hdf5(tmp_path / "caffe" / "list.txt", tmp_path / "back.h5")
    assert not (tmp_path / "back.h5").exists()


def test_a_labelled_dataset_keeps_its_labels_through_caffe(tmp_path):
    data = labelled(tmp_path)
    summary = caffe.export_caffe_hdf5(data, tmp_path / "caffe", streams=4, steps=20, windows_per_file=2)
    back = tmp_path / "back.h5"
    caffe.import_caffe_hdf5(tmp_path / "caffe" / "list.txt", back, val_frac=0.2)
    with open_dataset(data) as a, open_dataset(back) as b:
        assert b.labels == a.labels == ["carroll", "poe"] and b.meta["data"]["condition_by"] == "file"
        ids = np.asarray(a.split("train")[:summary["tokens"]], np.int64)
        label_of = lambda rows, n: rows[np.searchsorted(rows[:, 0], np.arange(n), side="right") - 1, 1]  # noqa: E731
        want = label_of(a.segments("train"), len(ids))  # (n,) each position's label in the original
        got = np.concatenate([label_of(b.segments(s), b.size(s)) for s in ("train", "val") if b.size(s)])
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.concatenate([b.split(s)[:] for s in ("train", "val")]), ids)


def nested(levels: int, kind: str) -> str:
    if kind == "tables":
        return "x = " + "{a = " * levels + "1" + "}" * levels + "\n"
    return "x = " + "[" * levels + "]" * levels + "\n"


@pytest.mark.parametrize("kind", ["tables", "arrays"])
def test_deep_toml_is_one_line(tmp_path, capsys, kind):
    deep = tmp_path / "deep.toml"
    deep.write_text(nested(100_000, kind))
    text = tmp_path / "c.txt"
    text.write_text(TEXT)
    code, err = run_cli(capsys, "train", text, "--config", deep, "-o", tmp_path / "run", *TINY)
    one_line_error(code, err, "nests tables or arrays too deeply")
    code, err = run_cli(capsys, "prepare", text, "--config", deep, "-o", tmp_path / "d.h5")
    one_line_error(code, err, "nests tables or arrays too deeply")


def test_a_run_whose_files_nest_thousands_deep_is_one_line_or_works(tmp_path, capsys):
    text = tmp_path / "c.txt"
    text.write_text(TEXT)
    run = tmp_path / "run"
    assert run_cli(capsys, "train", text, "-o", run, *TINY)[0] == 0
    (run / "config.toml").write_text(nested(100_000, "tables"))
    code, err = run_cli(capsys, "sample", run, "--length", "5")  # its [sample] section is unreadable: ignored
    assert code == 0, err
    code, err = run_cli(capsys, "train", "-o", run, "--resume", "--max-iters", "3", "--quiet")
    assert code == 0, err  # the checkpoint holds the configuration
    (run / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    one_line_error(*run_cli(capsys, "sample", run), "model.json is not valid JSON")
    (run / ".rnntext-run").write_text('{"format": ' + "[" * 100_000 + "]" * 100_000 + "}")  # no record, then
    one_line_error(*run_cli(capsys, "train", "-o", run, "--resume", "--max-iters", "4"), "cannot tell which data",
                   "name the dataset or text it was trained on")
