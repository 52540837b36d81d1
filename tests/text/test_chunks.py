"""Reading in chunks gives the very dataset that reading whole gives, at every level, wherever
the chunks fall (inside a UTF-8 sequence, between \\r and \\n, inside a word); and the memory of
preparing one long line stays that of the same text with line breaks."""

import json
import runpy
from pathlib import Path

import h5py
import numpy as np
import pytest

from rnntext.config import DataConfig
from rnntext.data.dataset import prepare_dataset
from rnntext.errors import InputError
from rnntext.text import read
from rnntext.text.read import resolve_sources

# Multibyte characters of 2, 3 and 4 bytes, Windows line ends, indented and blank lines, runs of
# spaces and tabs, words with joiners ("don't", "3.14", "state-of-the-art"), PTB tags, a
# decomposed é (NFC joins it), Greek capitals with a final sigma (lowercasing reads context),
# Hangul jamo that NFC composes over three characters, and long words.
TEXT = ("Café déjà vu: 中文字符 and 😀 emoji, don't panic at 3.14 or 10,000 state-of-the-art <unk> N.\r\n"
        "    indented line\twith\ttabs   and   runs of spaces ...   !!\r\n"
        "\r\n"
        "ΟΔΟΣ ΣΟΦΟΣ' ΑΣ. caf\u0065\u0301 \u1100\u1161\u11a8 \u1100\u1161 supercalifragilisticexpialidocious\n"
        "antidisestablishmentarianism, pneumonoultramicroscopicsilicovolcanoconiosis.\r\n") * 6
SIZES = (1, 2, 3, 5, 7, 11, 64)  # bytes read at a time; every byte boundary is one for some size
CASES = {
    "char": dict(level="char", nfc=True, lowercase=True),
    "byte": dict(level="byte"),
    "word": dict(level="word"),
    "word-eos": dict(level="word", eos=True, nfc=True),
    "word-space": dict(level="word", word_mode="space", lowercase=True),
    "bpe": dict(level="bpe", vocab_size=300),
}


def dataset(tmp_path: Path, text: str | bytes, name: str, **options) -> dict:
    """Every array and the metadata of the dataset prepared from `text`."""
    source = tmp_path / "in.txt"
    source.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    out = tmp_path / f"{name}.h5"
    prepare_dataset(resolve_sources([str(source)]), DataConfig(val_frac=0.1, test_frac=0.1, **options), out,
                    force=True)
    with h5py.File(out, "r") as f:
        meta = json.loads(f.attrs["meta"])
        return {"vocab": meta["vocab"], "counts": meta["counts"], **{key: f[key][:].tolist() for key in f}}


def test_the_sizes_cut_where_it_hurts():
    data = TEXT.encode("utf-8")
    inside_char = {i for i in range(1, len(data)) if data[i] & 0xC0 == 0x80}  # before a continuation byte
    crlf = {i + 1 for i in range(len(data) - 1) if data[i:i + 2] == b"\r\n"}
    in_word = {i for i in range(1, len(data)) if data[i - 1:i + 1].isalpha()}
    for kind in (inside_char, crlf, in_word):
        assert all(any(cut % size == 0 for cut in kind) for size in SIZES[:-1])


@pytest.mark.parametrize("lines", [False, True], ids=["stream", "lines"])
@pytest.mark.parametrize("case", list(CASES))
def test_chunked_reading_gives_the_whole_readings_dataset(tmp_path, monkeypatch, case, lines):
    if case == "bpe":
        pytest.importorskip("tokenizers")
    options = {**CASES[case], "lines": lines}
    whole = dataset(tmp_path, TEXT, "whole", **options)
    assert len(whole["train"]) > 100
    for size in SIZES:
        monkeypatch.setattr(read, "CHUNK_BYTES", size)
        assert dataset(tmp_path, TEXT, f"chunked{size}", **options) == whole, size


def test_tab_labels_are_read_whole_lines(tmp_path, monkeypatch):
    text = "".join(f"{label}\t{line}\r\n" for label, line in zip("abab" * 3, TEXT.split("\n")))
    whole = dataset(tmp_path, text, "whole", condition_by="tab")
    monkeypatch.setattr(read, "CHUNK_BYTES", 3)
    chunked = dataset(tmp_path, text, "chunked", condition_by="tab")
    assert chunked == whole and len(whole["train_segments"]) > 4


# No whitespace at all: the cut must fall elsewhere once LONG_RUN characters are held. Σ next to
# case-ignorable characters, decomposed accents, three-part Hangul and a cedilla that composes
# with the c across five overlay marks are where it must not.
RUN = ("中文ΟΔΟΣ'Β·ΣΑ.Σ\u0301Σ\u1100\u1161\u11a8e\u0301\u0327ﾀﾞ9ΑΣ\u200d" + "c" + "\u0336" * 5 + "\u0327") * 40


@pytest.mark.parametrize("options", [dict(nfc=True, lowercase=True), dict(lowercase=True), dict(nfc=True), {}],
                         ids=["nfc-lower", "lower", "nfc", "plain"])
def test_a_run_without_whitespace_is_cut_where_nothing_can_tell(tmp_path, monkeypatch, options):
    whole = dataset(tmp_path, RUN, "whole", **options)
    monkeypatch.setattr(read, "LONG_RUN", 16)
    for size in SIZES:
        monkeypatch.setattr(read, "CHUNK_BYTES", size)
        assert dataset(tmp_path, RUN, f"chunked{size}", **options) == whole, size


def test_chunks_stay_bounded_on_one_long_line(tmp_path, monkeypatch):
    path = tmp_path / "one.txt"
    path.write_text("word " * 5000 + "x" * 3000, encoding="utf-8")  # one line, then a 3000-character word
    monkeypatch.setattr(read, "CHUNK_BYTES", 1000)
    monkeypatch.setattr(read, "LONG_RUN", 2000)
    chunks = [c for _, c in read.iter_text(resolve_sources([str(path)]), DataConfig())]
    assert "".join(chunks) == path.read_text()
    assert max(map(len, chunks)) <= 3000 and len(chunks) >= 25
    assert all(c.endswith("word") for c in chunks[:-3])  # cut before the space, never inside a word


def test_line_mode_refuses_a_line_longer_than_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "captions.txt"
    path.write_text("a short caption\nanother one\n" + "word " * 400 + "\nlast\n", encoding="utf-8")
    monkeypatch.setattr(read, "CHUNK_BYTES", 64)
    monkeypatch.setattr(read, "LONG_RUN", 1000)
    with pytest.raises(InputError, match=r"captions.txt: line 3 is longer than 1,000 characters: lines=True"):
        prepare_dataset(resolve_sources([str(path)]), DataConfig(lines=True), tmp_path / "d.h5")
    assert not (tmp_path / "d.h5").exists()
    monkeypatch.setattr(read, "LONG_RUN", 4000)
    prepare_dataset(resolve_sources([str(path)]), DataConfig(lines=True), tmp_path / "d.h5")


def test_one_long_line_takes_no_more_memory_than_lines(tmp_path):
    # 4 MB read 1 MB at a time: reading the single line whole (or 4 chunks at once, as an
    # earlier version did) would show as 60-100 MB more.
    benchmark = runpy.run_path(str(Path(__file__).resolve().parents[2] / "benchmarks" / "prepare_memory.py"))
    got = benchmark["measure"](4_000_000, "char", 1 << 20)
    lines, single = got["lines"]["peak_rss_mb"], got["single_line"]["peak_rss_mb"]
    assert single <= lines + 16, got
    assert np.isfinite(lines) and lines > 20  # a real measurement of a Python process
