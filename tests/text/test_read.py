import pytest

from rnntext.config import DataConfig
from rnntext.errors import InputError
from rnntext.text.read import read_all, resolve_sources


def test_builtin_python_docs():
    text = read_all(["python-docs"], DataConfig())
    assert 300_000 < len(text) < 2_000_000
    assert "for" in text and "def" in text


def test_directory_is_recursive_with_glob(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("one\n")
    (tmp_path / "two.txt").write_text("two\n")
    (tmp_path / "skip.md").write_text("skip\n")
    assert read_all([tmp_path], DataConfig()) == "one\ntwo\n"
    assert read_all([tmp_path], DataConfig(glob="*.md")) == "skip\n"


def test_normalisation_order(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("Cafe\u0301 ÀB-12!\n", encoding="utf-8")
    # NFC first (e + combining acute -> é), then lowercase, then keep, then max_chars
    cfg = DataConfig(nfc=True, lowercase=True, keep="[a-zé ]", max_chars=6)
    assert read_all([path], cfg) == "café b"  # à is dropped by keep, then 6 kept
    assert read_all([path], DataConfig(lowercase=True, keep="[a-z]")) == "cafeb"
    assert read_all([path], DataConfig(nfc=True)) == "Café ÀB-12!\n"


def test_invalid_utf8_names_file_and_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"hello \xff world")
    with pytest.raises(InputError, match=r"bad.txt is not valid utf-8 at byte 6"):
        read_all([path], DataConfig())
    assert read_all([path], DataConfig(errors="replace")) == "hello \ufffd world"


def test_missing_input_and_empty_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        resolve_sources([str(tmp_path / "nope.txt")])
    with pytest.raises(InputError, match="no files matching"):
        resolve_sources([str(tmp_path)])
