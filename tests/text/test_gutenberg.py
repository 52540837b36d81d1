"""Project Gutenberg's header and licence are left out of a text that carries their markers, said
in one line with the counts, and kept on request; a text without the markers is read whole.
The texts here are made up for the test (the project ships no third-party text)."""

from __future__ import annotations

import logging

import pytest

import rnntext
from rnntext.cli import main
from rnntext.config import DataConfig
from rnntext.data.dataset import open_dataset
from rnntext.text import read
from rnntext.text.gutenberg import body as gutenberg_body
from rnntext.text.read import read_all

HEADER = ("The Project Gutenberg eBook of A Made-Up Tale\n\n"
          "Release date: a day of some year [eBook #0]\n"
          "Words of a header that is not part of the tale: #@#@\n\n")
START = "*** START OF THE PROJECT GUTENBERG EBOOK A MADE-UP TALE ***\n"
BOOK = "".join(f"The tale goes on, line {i}, and the fox runs over the hill again.\n" for i in range(300))
END = "*** END OF THE PROJECT GUTENBERG EBOOK A MADE-UP TALE ***\n"
LICENCE = "".join(f"Made-up licence words, part {i}: copyright, trademark, refund & such.\n" for i in range(40))
WRAPPED = HEADER + START + BOOK + END + LICENCE


def written(tmp_path, text: str, name: str = "tale.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def tokens(h5) -> int:
    with open_dataset(h5) as ds:
        return sum(ds.size(s) for s in ("train", "val", "test"))


def test_prepare_leaves_out_the_header_and_licence_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="rnntext"):
        summary = rnntext.prepare(path := written(tmp_path, WRAPPED), tmp_path / "data.h5")
    assert summary["tokens"] == len(BOOK) == tokens(tmp_path / "data.h5")
    assert "#" not in summary["vocab"] and "&" not in summary["vocab"]  # only the header and licence have them
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: left out Project Gutenberg's header ({len(HEADER + START):,} characters) and licence "
        f"({len(END + LICENCE):,} characters); keep_gutenberg=True keeps them"]


def test_the_command_line_says_it_with_the_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(logging.root, "handlers", [])  # as in a fresh process: the command line's own handler
    assert main(["prepare", str(written(tmp_path, WRAPPED)), "-o", str(tmp_path / "data.h5")]) == 0
    err = capsys.readouterr().err
    assert f"licence ({len(END + LICENCE):,} characters); --keep-gutenberg keeps them" in err
    assert main(["prepare", str(tmp_path / "tale.txt"), "-o", str(tmp_path / "all.h5"), "--keep-gutenberg"]) == 0
    assert "Gutenberg" not in capsys.readouterr().err and tokens(tmp_path / "all.h5") == len(WRAPPED)


def test_keep_gutenberg_keeps_the_whole_file(tmp_path):
    summary = rnntext.prepare(written(tmp_path, WRAPPED), tmp_path / "data.h5", keep_gutenberg=True)
    assert summary["tokens"] == len(WRAPPED) and "#" in summary["vocab"]


@pytest.mark.parametrize("text", [BOOK, "*** START OF something else ***\n" + BOOK,
                                  BOOK + "The end of the project, said the Gutenberg scholar.\n"])
def test_a_text_without_the_markers_is_read_whole(tmp_path, text, caplog):
    with caplog.at_level(logging.WARNING, logger="rnntext"):
        assert rnntext.prepare(written(tmp_path, text), tmp_path / "data.h5")["tokens"] == len(text)
    assert gutenberg_body(tmp_path / "tale.txt") is None and not caplog.records


def test_train_from_text_leaves_them_out_too(tmp_path):
    rnntext.train(written(tmp_path, WRAPPED), tmp_path / "run", max_iters=1, hidden_size=(8,), embed_size=4,
                  batch_size=2, seq_len=8, progress=False)
    assert tokens(tmp_path / "run" / "data.h5") == len(BOOK)
    assert "#" not in rnntext.load(tmp_path / "run").vocab


def test_the_cut_is_the_same_for_any_chunk_size(tmp_path, monkeypatch):
    path = written(tmp_path, WRAPPED.replace("\n", "\r\n"))  # Windows line ends too
    whole = read_all([str(path)], DataConfig())
    monkeypatch.setattr(read, "CHUNK_BYTES", 7)
    assert read_all([str(path)], DataConfig()) == whole == BOOK
    assert read_all([str(path)], DataConfig(keep_gutenberg=True)) == WRAPPED


@pytest.mark.parametrize("start, end", [
    ("*** START OF THIS PROJECT GUTENBERG EBOOK A MADE-UP TALE ***\n", "*** END OF THIS PROJECT GUTENBERG EBOOK ***\n"),
    ("***START OF THE PROJECT GUTENBERG EBOOK A MADE-UP TALE***\n", "***END OF THE PROJECT GUTENBERG EBOOK***\n"),
    ("*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n",
     "End of the Project Gutenberg EBook of A Made-Up Tale\n"),
    ("*** START OF THE PROJECT GUTENBERG EBOOK ***\n", "End of Project Gutenberg's A Made-Up Tale, by Nobody\n"),
])
def test_the_common_variants_of_the_markers(tmp_path, start, end):
    body = gutenberg_body(written(tmp_path, HEADER + start + BOOK + end + LICENCE))
    assert (body.header, body.licence) == (len(HEADER + start), len(end + LICENCE))
    assert read_all([str(tmp_path / "tale.txt")], DataConfig()) == BOOK


def test_one_marker_leaves_out_its_own_part(tmp_path):
    assert read_all([str(written(tmp_path, HEADER + START + BOOK))], DataConfig()) == BOOK
    assert read_all([str(written(tmp_path, BOOK + END + LICENCE))], DataConfig()) == BOOK
    assert gutenberg_body(tmp_path / "tale.txt").header == 0


def test_an_end_line_before_the_start_is_not_the_end(tmp_path):
    text = "End of the Project Gutenberg preface, said the header.\n" + START + BOOK + END + LICENCE
    assert read_all([str(written(tmp_path, text))], DataConfig()) == BOOK
