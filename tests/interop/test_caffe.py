import json

import h5py
import numpy as np
import pytest

from rnntext.config import DataConfig
from rnntext.data.dataset import open_dataset, prepare_dataset
from rnntext.errors import ConfigError, DatasetError, InputError, RnntextError, RunError
from rnntext.interop.caffe import export_caffe_hdf5, import_caffe_hdf5
from rnntext.text.read import resolve_sources

TEXT = "".join(f"line {i}: the quick brown fox {i * 7 % 13} jumps.\n" for i in range(60))  # 2,000+ chars


def prepared(tmp_path, text=TEXT, **cfg):
    src = tmp_path / "in.txt"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "data.h5"
    prepare_dataset(resolve_sources([str(src)]), DataConfig(**{"val_frac": 0.0, **cfg}), out, force=True)
    return out


def all_ids(path):
    with open_dataset(path) as ds:
        return np.concatenate([ds.split(s)[:] for s in ("train", "val", "test")]).astype(np.int64), ds


def read_set(folder):
    names = (folder / "list.txt").read_text().split()
    arrays = {}
    for key in ("input_sequence", "cont_sequence", "target_sequence"):
        parts = []
        for name in names:
            with h5py.File(folder / name, "r") as f:
                parts.append(f[key][()])
        arrays[key] = np.concatenate(parts)  # (rows, N), chunks follow each other along time
    return names, arrays


def test_export_layout_dtypes_and_cont_flags(tmp_path):
    data = prepared(tmp_path)
    ids, _ = all_ids(data)
    N, T = 5, 30
    summary = export_caffe_hdf5(data, tmp_path / "caffe", streams=N, steps=T, windows_per_file=4)
    names, a = read_set(tmp_path / "caffe")
    W = (len(ids) - 1) // (N * T)
    S = W * T
    assert summary["windows"] == W and summary["files"] == len(names) == -(-W // 4) > 1
    assert summary["dropped"] == len(ids) - (N * S + 1) < N * T
    assert a["input_sequence"].shape == (S, N) and a["input_sequence"].dtype == np.float32
    assert a["target_sequence"].dtype == np.float32 and a["cont_sequence"].dtype == np.uint8
    for j in range(N):  # stream j is the j-th contiguous block; targets shifted by one
        np.testing.assert_array_equal(a["input_sequence"][:, j], ids[j * S:(j + 1) * S])
        np.testing.assert_array_equal(a["target_sequence"][:, j], ids[j * S + 1:(j + 1) * S + 1])
    expected_cont = np.ones((S, N), np.uint8)
    expected_cont[0] = 0  # a fresh state at each stream's first step, and only there
    np.testing.assert_array_equal(a["cont_sequence"], expected_cont)
    vocab = json.loads((tmp_path / "caffe" / "vocab.json").read_text(encoding="utf-8"))
    _, ds = all_ids(data)
    assert vocab == {t: i for i, t in enumerate(ds.vocab.tokens)}


@pytest.mark.parametrize("level", ["char", "word"])
def test_round_trip_preserves_every_id(tmp_path, level):
    data = prepared(tmp_path, level=level)
    ids, ds = all_ids(data)
    summary = export_caffe_hdf5(data, tmp_path / "caffe", streams=3, steps=7, windows_per_file=2)
    back = import_caffe_hdf5(tmp_path / "caffe" / "list.txt", tmp_path / "back.h5", val_frac=0.1)
    got, ds2 = all_ids(tmp_path / "back.h5")
    assert len(got) == summary["tokens"] == len(ids) - summary["dropped"]
    np.testing.assert_array_equal(got, ids[:len(got)])  # only the tail short of a window is dropped
    assert ds2.vocab.to_json() == ds.vocab.to_json()
    assert back["splits"]["val"] == int(len(got) * 0.1) and ds2.meta["data"]["level"] == level


def test_import_the_labs_own_files(tmp_path):
    """The lab's script: one file, all cont 1, float32 ids, a sorted char dictionary, relative list entry."""
    text = "alice was beginning to get very tired of sitting by her sister. " * 8
    chars = sorted(set(text))
    char_to_int = {c: i for i, c in enumerate(chars)}
    N, L = 4, (len(text) - 1) // 4
    inp = np.array([[char_to_int[text[i * L + j]] for j in range(L)] for i in range(N)], np.float32).T
    tgt = np.array([[char_to_int[text[i * L + j + 1]] for j in range(L)] for i in range(N)], np.float32).T
    with h5py.File(tmp_path / "wonderland.hdf5", "w") as f:
        f.create_dataset("input_sequence", data=inp)
        f.create_dataset("cont_sequence", data=np.ones_like(inp, np.uint8))
        f.create_dataset("target_sequence", data=tgt)
    (tmp_path / "wonderland_hdf5_list.txt").write_text("wonderland.hdf5")
    (tmp_path / "wonderland_dict.json").write_text(json.dumps(char_to_int))
    with pytest.raises(DatasetError, match="--vocab FILE"):
        import_caffe_hdf5(tmp_path / "wonderland_hdf5_list.txt", tmp_path / "back.h5")
    import_caffe_hdf5(tmp_path / "wonderland_hdf5_list.txt", tmp_path / "back.h5", val_frac=0.0,
                      vocab_file=tmp_path / "wonderland_dict.json")
    got, ds = all_ids(tmp_path / "back.h5")
    assert ds.vocab.decode(got) == text[:N * L + 1] and ds.vocab.level == "char"


def test_export_refuses_bad_requests(tmp_path):
    data = prepared(tmp_path)
    with pytest.raises(InputError, match="lower --streams or --steps"):
        export_caffe_hdf5(data, tmp_path / "a", streams=250, steps=200)
    assert not (tmp_path / "a").exists()  # nothing made before the checks pass
    with pytest.raises(ConfigError, match="must be 1 or more"):
        export_caffe_hdf5(data, tmp_path / "a", streams=0)
    with pytest.raises(ConfigError, match="split"):
        export_caffe_hdf5(data, tmp_path / "a", split="dev")
    with pytest.raises(DatasetError, match="does not exist"):
        export_caffe_hdf5(tmp_path / "nope.h5", tmp_path / "a")
    export_caffe_hdf5(data, tmp_path / "a", streams=2, steps=5)
    with pytest.raises(InputError, match="not empty"):
        export_caffe_hdf5(data, tmp_path / "a", streams=2, steps=5)


def test_force_replaces_the_set_without_stale_chunks(tmp_path):
    data = prepared(tmp_path)
    export_caffe_hdf5(data, tmp_path / "a", streams=2, steps=5, windows_per_file=1)
    (tmp_path / "a" / "notes.md").write_text("mine")
    (tmp_path / "a" / "mine.h5").write_text("a file of the user's that the old list names")
    with open(tmp_path / "a" / "list.txt", "a") as f:
        f.write("mine.h5\n")
    summary = export_caffe_hdf5(data, tmp_path / "a", streams=2, steps=5, windows_per_file=100, force=True)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        ["list.txt", "vocab.json", "notes.md", "mine.h5", *(f"train_{i:05d}.h5" for i in range(summary["files"]))])


def test_failed_export_leaves_no_list_and_no_chunks(tmp_path, monkeypatch):
    data = prepared(tmp_path)
    import rnntext.interop.caffe as caffe

    real = caffe.write_text

    def failing(path, text):
        if path.name == "list.txt":
            raise OSError("disk full")
        real(path, text)

    monkeypatch.setattr(caffe, "write_text", failing)
    with pytest.raises(OSError):
        export_caffe_hdf5(data, tmp_path / "a", streams=2, steps=5, windows_per_file=1)
    assert not list((tmp_path / "a").glob("*.h5")) and not (tmp_path / "a" / "list.txt").exists()


def exported(tmp_path):
    export_caffe_hdf5(prepared(tmp_path), tmp_path / "c", streams=2, steps=5, windows_per_file=3)
    return tmp_path / "c"


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "vocab.json").unlink(), "vocab.json is missing"),
    (lambda d: (d / "vocab.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "vocab.json").write_text('{"a": 0, "b": 2}'), "distinct id 0..V-1"),
    (lambda d: (d / "vocab.json").write_text('{"a": 1, "b": 0}'), "disagrees with the vocabulary"),
    (lambda d: (d / "list.txt").write_text(""), "names no HDF5 files"),
    (lambda d: (d / "list.txt").write_text("gone.h5\n"), "gone.h5, which does not exist"),
    (lambda d: (d / "train_00000.h5").write_text("not hdf5"), "is not an HDF5 file"),
    (lambda d: _edit(d, lambda f: f.__delitem__("cont_sequence")), "lacks cont_sequence"),
    (lambda d: _edit(d, lambda f: _replace(f, "input_sequence", lambda a: a[:, :1])), "of one shape"),
    (lambda d: _edit(d, lambda f: _replace(f, "target_sequence", lambda a: a + 0.5)), "not ids"),
    (lambda d: _edit(d, lambda f: _replace(f, "target_sequence", lambda a: a[::-1])), "shifted by one"),
    (lambda d: _edit(d, lambda f: _replace(f, "cont_sequence", lambda a: a * 2)), "other than 0 and 1"),
    (lambda d: (d / "list.txt").write_text("train_00001.h5\ntrain_00000.h5\n"), "shifted by one"),
])
def test_import_refuses_foreign_or_damaged_sets(tmp_path, damage, message):
    folder = exported(tmp_path)
    damage(folder)
    with pytest.raises(RnntextError, match=message):
        import_caffe_hdf5(folder / "list.txt", tmp_path / "back.h5")
    assert not (tmp_path / "back.h5").exists() and not list(tmp_path.glob(".back.h5.*"))


def test_import_refuses_missing_list_hdf5_list_and_existing_output(tmp_path):
    folder = exported(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        import_caffe_hdf5(folder / "nope.txt", tmp_path / "back.h5")
    with pytest.raises(DatasetError, match="give the list file"):
        import_caffe_hdf5(folder / "train_00000.h5", tmp_path / "back.h5")
    (tmp_path / "back.h5").write_text("keep me")
    with pytest.raises(InputError, match="force=True"):
        import_caffe_hdf5(folder / "list.txt", tmp_path / "back.h5")
    assert (tmp_path / "back.h5").read_text() == "keep me"


def test_import_never_writes_over_a_run_file(tmp_path):
    folder, run = exported(tmp_path), tmp_path / "run"
    run.mkdir()
    (run / "model.json").write_text("{}")  # a run (of an older rnntext: no record): data.h5 is its file
    (run / "data.h5").write_bytes(b"the run's")
    with pytest.raises(RunError, match="prepare --from caffe-hdf5 never writes over a run's files"):
        import_caffe_hdf5(folder / "list.txt", run / "data.h5", force=True)
    assert (run / "data.h5").read_bytes() == b"the run's" and sorted(p.name for p in run.iterdir()) == [
        "data.h5", "model.json"]


def _edit(folder, change):
    with h5py.File(folder / "train_00000.h5", "r+") as f:
        change(f)


def _replace(f, name, fn):
    data = fn(f[name][()])
    del f[name]
    f.create_dataset(name, data=data)
