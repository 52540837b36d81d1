import h5py
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rnntext.config import DataConfig
from rnntext.data.batches import StreamBatches
from rnntext.data.dataset import id_dtype, open_dataset, prepare_dataset, split_sizes
from rnntext.errors import DatasetError, InputError
from rnntext.text.read import resolve_sources


def prepare(tmp_path, text, **cfg):
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "data.h5"
    return prepare_dataset(resolve_sources([str(path)]), DataConfig(**cfg), out, force=True), out


# what a text file holds: any character but the C0 controls that mark a binary file (NUL and the
# like: rnntext.text.read.binary_reason refuses those)
BINARY_MARKS = "".join(map(chr, [*range(0, 9), *range(14, 27), *range(28, 32), 127]))


@settings(max_examples=30, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=BINARY_MARKS), min_size=40,
               max_size=300))
@example("0" * 38 + "\r\n")  # Windows line ends become one "\n": the dataset holds the normalised text
@example("a\rb\r\n\r\r\n" * 8)  # a lone "\r" is kept; only the pair is a line end
def test_dataset_round_trip(tmp_path_factory, text):
    tmp_path = tmp_path_factory.mktemp("ds")
    summary, out = prepare(tmp_path, text, val_frac=0.1, test_frac=0.1)
    normalised = text.replace("\r\n", "\n")
    with open_dataset(out) as ds:
        ids = np.concatenate([ds.split(s)[:] for s in ("train", "val", "test")])
        assert ds.vocab.decode(ids) == normalised
        assert ds.split("train").dtype == id_dtype(len(ds.vocab))
        sizes = split_sizes(len(normalised), 0.1, 0.1)
        assert [ds.size(s) for s in ("train", "val", "test")] == list(sizes.values())


def test_split_boundaries_are_contiguous(tmp_path):
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    summary, out = prepare(tmp_path, text, val_frac=0.05, test_frac=0.1)
    assert summary["splits"] == {"train": 850, "val": 50, "test": 100}
    with open_dataset(out) as ds:
        assert ds.vocab.decode(ds.split("val")[:]) == text[850:900]
        assert ds.vocab.decode(ds.split("test")[:]) == text[900:]


def test_smallest_dtype():
    assert id_dtype(256) == np.uint8 and id_dtype(257) == np.uint16 and id_dtype(70000) == np.uint32


def test_stream_batches_targets_shift_inputs(tmp_path):
    text = "abcdefghij" * 50
    _, out = prepare(tmp_path, text, val_frac=0.0)
    with open_dataset(out) as ds:
        tokens = ds.split("train")[:].astype(np.int64)
        batches = StreamBatches(ds.split("train"), batch_size=4, seq_len=7)
        L = (len(tokens) - 1) // 4
        assert len(batches) == L // 7
        for i in (0, 1, len(batches) - 1):
            x, y, mask, _ = batches.batch(i)
            assert mask is None
            assert x.shape == y.shape == (4, 7)
            for b in range(4):
                start = b * L + i * 7
                assert x[b].tolist() == tokens[start:start + 7].tolist()
                assert y[b].tolist() == tokens[start + 1:start + 8].tolist()


def test_too_small_split_names_it(tmp_path):
    _, out = prepare(tmp_path, "abcdefghij" * 5, val_frac=0.0)
    with open_dataset(out) as ds, pytest.raises(DatasetError, match="train split has 50 tokens.*smaller batch_size"):
        StreamBatches(ds.split("train"), batch_size=8, seq_len=10)


def test_bad_inputs_leave_nothing(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    out = tmp_path / "o.h5"
    with pytest.raises(InputError, match="empty"):
        prepare_dataset(resolve_sources([str(empty)]), DataConfig(), out)
    with pytest.raises(InputError, match="empty after filtering"):
        prepare(tmp_path, "abc", keep="[0-9]")
    assert not out.exists() and not list(tmp_path.glob(".*tmp"))
    with pytest.raises(InputError, match="is a directory"):
        prepare_dataset(resolve_sources([str(empty)]), DataConfig(), tmp_path)


def test_existing_output_is_kept_and_foreign_files_refused(tmp_path):
    _, out = prepare(tmp_path, "hello world " * 20)
    before = out.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        prepare_dataset(resolve_sources([str(tmp_path / "in.txt")]), DataConfig(), out)
    assert out.read_bytes() == before
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["input_sequence"] = np.zeros((3, 2))
    with pytest.raises(DatasetError, match="another tool"):
        open_dataset(foreign)
    text = tmp_path / "t.h5"
    text.write_text("not hdf5")
    with pytest.raises(DatasetError, match="not an HDF5 file"):
        open_dataset(text)
