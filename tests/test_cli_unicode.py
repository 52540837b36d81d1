"""Text that is not UTF-8 on the command line or on chat's input: one line that says so, never a traceback.

Python hands bytes that are not UTF-8 in argv (and in stdin under a C locale) over as lone
surrogates ("surrogateescape"): "th\\udcff" is what `--prime $'th\\xff'` arrives as.
"""

import io
import sys

import pytest

import rnntext
from rnntext.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unicode")
    text = tmp / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 40)
    out = tmp / "run"
    rnntext.train(text, out, max_iters=5, num_layers=1, hidden_size=(16,), embed_size=8, seq_len=16, batch_size=4,
                  sample_every=0, quiet=True)
    return out


@pytest.mark.parametrize("prime, where", [("th\udcff", "byte 0xff at character 2"),
                                          ("\ud800the", "U+D800 (a lone surrogate) at character 0")])
@pytest.mark.parametrize("unknown", ["error", "skip"])
def test_a_prime_that_is_not_utf8(run, capsys, prime, where, unknown):
    code = main(["sample", str(run), "--prime", prime, "--length", "5", "--unknown", unknown])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"rnntext sample: error: prime: in --prime, {where} is not valid UTF-8: "
                                        f"pass UTF-8 text (is the terminal set to UTF-8?)"]


def test_a_prime_file_that_is_not_utf8(run, tmp_path, capsys):
    bad = tmp_path / "p.txt"
    bad.write_bytes(b"the \xed\xa0\x80")  # a surrogate encoded as UTF-8 bytes is not UTF-8 either
    code = main(["sample", str(run), "--prime-file", str(bad), "--length", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "not valid UTF-8 at byte 4" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_chat_answers_a_line_that_is_not_utf8_and_goes_on(run, capsys, monkeypatch, errors):
    # strict: a UTF-8 locale's stdin; surrogateescape: a C locale's.
    raw = b"the\n\xffthe q\n:temperature \xff\nthe\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors=errors))
    code = main(["chat", str(run), "--length", "5", "--seed", "40"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert code == 0
    assert "error: byte 0xff at character 0 is not valid UTF-8: type UTF-8 text" in lines
    assert any(line.startswith("error: temperature: ") for line in lines)
    # two replies, at seeds 40 and 41 (reply k of a chat samples at seed + k; refused lines are no reply)
    model = rnntext.load(run)
    replies = ["the" + model.generate("the", length=5, temperature=0.8, seed=s, unknown="skip") for s in (40, 41)]
    first = out.index(replies[0] + "\n")
    assert out.index(replies[1] + "\n", first + len(replies[0]) + 1) > first  # in that order
