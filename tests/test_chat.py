"""`rnntext chat` replies with a sentence (or a line, or `length` tokens: the `reply` setting), at
most `length` tokens; :help lists the settings with their values, :quit, :q and :exit leave."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import pytest

import rnntext
from helpers import Tmux
from rnntext.cli import main
from rnntext.cli.conversation import end_of_reply

LINE = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pytest.importorskip("torch")
    tmp = tmp_path_factory.mktemp("chat")
    (tmp / "t.txt").write_text(LINE * 120)
    rnntext.train(tmp / "t.txt", tmp / "run", max_iters=150, hidden_size=(32,), embed_size=8, seq_len=32,
                  batch_size=8, lr=1e-2, dropout=0.0, weight_drop=0.0, progress=False)
    return tmp / "run"


def chat(monkeypatch, capsys, run, lines: str, *flags):
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    code = main(["chat", str(run), *map(str, flags)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


@pytest.mark.parametrize("text, reply, end", [
    (" over the dog. a stitch", "sentence", len(" over the dog.")),
    (' she said "go!" and left', "sentence", len(' she said "go!"')),
    (" it ended (at last.) then", "sentence", len(" it ended (at last.)")),
    (" one\n\nanother", "sentence", len(" one")),
    (" one\nline after. more", "sentence", len(" one\nline after.")),  # a wrapped line goes on
    (" pi is 3.14 and", "sentence", None),  # a full stop inside a number ends nothing
    (" no end yet.", "sentence", None),  # a full stop that nothing has followed yet: more may come
    ("\nthe first line\nthe second", "line", len("\nthe first line")),  # the line end it starts with does not count
    (" a line\n", "line", len(" a line")),
    (" a sentence. and more\n", "length", None),
])
def test_where_a_reply_ends(text, reply, end):
    assert end_of_reply(text, reply) == end


def test_a_reply_is_a_sentence_of_the_continuation(monkeypatch, capsys, run):
    code, out, err = chat(monkeypatch, capsys, run, "the quick\nthe quick\nthe quick\n", "--seed", 5)
    assert code == 0 and err == "rnntext chat: seed 5 (--seed 5 gives this conversation again)\n"
    model = rnntext.load(run)
    for k, shown in enumerate(out[:3]):  # reply k samples with seed + k: a sentence of `sample`'s text
        whole = model.generate("the quick", length=200, temperature=0.8, seed=5 + k)
        end = end_of_reply(whole, "sentence")
        assert end is not None and shown == "the quick" + whole[:end]
        assert shown.endswith((".", "!")) and 10 < len(shown) < 200
    assert out[3:] == [""]  # Ctrl-D's line end


def test_length_caps_a_reply_and_reply_length_gives_exactly_that(monkeypatch, capsys, run):
    _, out, _ = chat(monkeypatch, capsys, run, "the\n:reply length\nthe\n:reply line\nthe\n", "--length", 6,
                     "--seed", 1)
    model = rnntext.load(run)
    first = model.generate("the", length=6, temperature=0.8, seed=1)
    assert out[0] == "the" + (first[:end_of_reply(first, "sentence")] if end_of_reply(first, "sentence") else first)
    assert out[1] == "reply = length"
    assert out[2] == "the" + model.generate("the", length=6, temperature=0.8, seed=2)
    assert out[3] == "reply = line" and out[4].startswith("the") and "\n" not in out[4]


@pytest.mark.parametrize("leave", [":quit", ":q", ":exit", "  :quit  "])
def test_quit_leaves(monkeypatch, capsys, run, leave):
    code, out, _ = chat(monkeypatch, capsys, run, f"the\n{leave}\nthe\nthe\n", "--seed", 3)
    assert code == 0 and len(out) == 1 and out[0].startswith("the")  # the lines after :quit are not read


def test_help_lists_every_setting_with_its_value(monkeypatch, capsys, run):
    _, out, _ = chat(monkeypatch, capsys, run, ":help\n:temperature 0.5\n:help\n:quit\n", "--seed", 9)
    assert out[0] == ("type text and press Enter for a reply; settings (:name value): :length 200, :temperature "
                      "0.8, :top-k 0, :top-p 1.0, :greedy off, :seed 9, :beam 0, :repetition-penalty 1.0, "
                      ":reply sentence; :help; :quit or Ctrl-D to leave")
    assert out[1] == "temperature = 0.5" and ":temperature 0.5," in out[2]


def test_a_mistyped_command_is_named(monkeypatch, capsys, run):
    _, out, _ = chat(monkeypatch, capsys, run, ":qiut\n:reply paragraph\n")
    assert out[0].startswith("error: no setting :qiut (did you mean :quit?)")
    assert out[1].startswith("error: reply: 'paragraph' is not one of sentence, line, length")


def test_chat_in_tmux(run, tmp_path):
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed (make test installs it with apt-get where it can)")
    session = f"rnntext-chat-{tmp_path.name}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "30",
                    f"{sys.executable} -m rnntext chat {run} --seed 4; echo EXITED $?; sleep 30"], check=True)

    wait_for = Tmux(session).wait_for

    try:
        assert ":reply sentence; :help; :quit or Ctrl-D to leave" in wait_for(":quit or Ctrl-D to leave")
        subprocess.run(["tmux", "send-keys", "-t", session, "the lazy", "Enter"], check=True)
        shown = wait_for("\nthe lazy")
        reply = next(line for line in shown.splitlines() if line.startswith("the lazy"))
        assert reply.endswith((".", "!")) or len(reply) > 150
        subprocess.run(["tmux", "send-keys", "-t", session, ":help", "Enter"], check=True)
        assert ":seed 4, " in wait_for(":seed 4, ")
        subprocess.run(["tmux", "send-keys", "-t", session, ":quit", "Enter"], check=True)
        assert "EXITED 0" in wait_for("EXITED")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
