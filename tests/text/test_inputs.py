"""Inputs as a newcomer gives them: a folder (what was read, what was skipped and why), a file
that is not text (refused with a hint that fits), too little text for the batch (refused
before anything slow), and a word vocabulary shown as words."""

import pytest

import rnntext
from rnntext.cli import main
from rnntext.errors import DatasetError, InputError
from rnntext.text import read
from rnntext.training import autosize

TEXT = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 40


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "texts"
    (root / "more").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "c.txt", "d.txt", "more/e.txt"):
        (root / name).write_text(TEXT)
    (root / "more" / "notes.md").write_text("# notes\n")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (root / "data.txt").write_bytes(b"\x00\x01\x02binary" * 50)  # named .txt, but not text
    return root


def test_a_folder_lists_what_was_read_and_skipped(folder, tmp_path, capsys):
    listing = read.list_directory(folder)
    assert [p.name for p in listing.read] == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]
    assert {why: [p.name for p in paths] for why, paths in listing.skipped.items()} == {
        "binary": ["data.txt"], "not matching --glob '*.txt'": ["image.png", "notes.md"]}
    code, out, _ = run_cli(capsys, "prepare", folder, "-o", tmp_path / "d.h5")
    assert code == 0
    assert out.splitlines()[0] == (f"{folder}: read 5 file(s) (a.txt, b.txt, c.txt, ...); skipped 3: 1 binary "
                                   f"(data.txt); 2 not matching --glob '*.txt' (image.png, more/notes.md)")
    assert out.splitlines()[1] == f"read {5 * len(TEXT):,} characters from 5 source(s)"


@pytest.mark.parametrize("content, says", [
    (b"PK\x03\x04\x14\x00\x00\x00" + bytes(200), "is not text (NUL bytes in its first 1,024 bytes): give text files"),
    # 250 of these 320 bytes are control characters that text does not hold
    (bytes(range(1, 32)) * 10 + b"some words", "is not text (78% control characters in its first 1,024 bytes)"),
    ("utf-16 text".encode("utf-16"), "looks like utf-16 text (NUL bytes and a utf-16 byte-order mark): pass "
                                     "--encoding utf-16"),
])
def test_a_file_that_is_not_text_is_refused_with_a_fitting_hint(tmp_path, capsys, content, says):
    path = tmp_path / "in.txt"
    path.write_bytes(content)
    code, out, err = run_cli(capsys, "prepare", path, "-o", tmp_path / "d.h5")
    assert code == 2 and out == "" and err.startswith(f"rnntext prepare: error: {path} {says}") and err.count("\n") == 1
    assert "--errors replace" not in err and not (tmp_path / "d.h5").exists()
    code, _, err = run_cli(capsys, "train", path, "-o", tmp_path / "run")
    assert code == 2 and says in err and not (tmp_path / "run").exists()  # refused before the run directory


def test_text_with_tabs_escapes_and_other_encodings_passes(tmp_path):
    path = tmp_path / "ok.txt"
    path.write_bytes(b"col\tcol\r\n\x1b[1mbold\x1b[0m\f" + "caf\u00e9 \u4e2d\u6587\n".encode() * 20)
    assert read.binary_reason(path) is None
    wide = tmp_path / "wide.txt"
    wide.write_bytes(("hello\n" * 20).encode("utf-16"))
    assert read.binary_reason(wide) == "NUL bytes" and read.binary_reason(wide, "utf-16") is None
    assert rnntext.prepare(wide, tmp_path / "d.h5", encoding="utf-16", val_frac=0.0)["tokens"] == 120


def test_a_folder_of_binary_files_says_so(tmp_path):
    (tmp_path / "x.txt").write_bytes(bytes(100))
    with pytest.raises(InputError, match=r"has no files matching '\*\.txt' that are text \(1 binary skipped\)"):
        read.resolve_sources([str(tmp_path)])


def test_too_few_tokens_for_the_batch_is_refused_before_the_size_probe(tmp_path, monkeypatch):
    probed = []
    monkeypatch.setattr(autosize, "probe_speed", lambda *a, **k: probed.append(a) or {1: 1e6})
    small = tmp_path / "small.txt"
    small.write_text("a little text, not enough for 32 streams of 50 steps\n" * 10)
    with pytest.raises(DatasetError, match="too few for batch_size 32 x seq_len 50"):
        rnntext.train(small, tmp_path / "run", time_limit=60)
    assert probed == []


def test_a_word_vocabulary_is_shown_as_words(tmp_path, capsys):
    path = tmp_path / "words.txt"
    path.write_text("the cat sat on the mat\n" * 30)
    code, out, _ = run_cli(capsys, "prepare", path, "-o", tmp_path / "d.h5", "--level", "word")
    assert code == 0 and "read 210 words from 1 source(s)" in out  # 6 words and an <eos> a line (the word recipe)
    assert out.splitlines()[2] == "  '<unk> the <eos> cat mat on sat'"  # words, spaced, not run together
