"""Word level, line mode and window batching end to end (the TensorFlow, captions, Keras labs)."""

import json

import numpy as np
import pytest

import rnntext
from helpers import Tmux
from rnntext.cli import main

SMALL = dict(num_layers=1, hidden_size=(32,), embed_size=16, seq_len=8, batch_size=4, sample_every=0, quiet=True)
SENTENCES = ["the cat sat on the mat .", "a dog ran to the park !", "the bird sang ( loudly ) ."] * 40


@pytest.fixture
def words(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("\n".join(SENTENCES) + "\n")
    return path


def test_word_level_train_sample_eval(tmp_path, words, capsys):
    run = tmp_path / "run"
    rnntext.train(words, run, level="word", eos=True, max_iters=60, lr=0.01, **SMALL)
    model = rnntext.load(run)
    assert model.vocab.level == "word" and model.vocab.tokens[0] == "<unk>" and "<eos>" in model.vocab
    assert model.vocab.tokens[1] == "the"  # the most frequent word ranks first after the specials
    text = model.generate("the cat", length=12, seed=0)
    assert "  " not in text and " ." not in text  # detokenized: no space before punctuation
    assert main(["eval", str(run), str(words), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tokens"] == 120 * 8 - 1  # 7 tokens and <eos> per line, less the first
    assert result["bpc"] is None and result["perplexity"] < 20 and result["unknown"] == 0
    assert main(["sample", str(run), "--prime", "the zebra", "--length", "3"]) == 2
    assert "'zebra'" in capsys.readouterr().err


def test_line_mode_samples_end_at_the_end_token(tmp_path, words):
    run = tmp_path / "run"
    rnntext.train(words, run, level="word", lines=True, max_iters=150, lr=0.01, **dict(SMALL, seq_len=12))
    model = rnntext.load(run)
    end = model.end_id()
    steps = [ids for _, ids in model.stream_ids(length=30, num_samples=5, seed=1)]
    grid = np.stack(steps, axis=1)
    for row in grid:
        kept = row[row >= 0]
        assert kept[-1] == end and (kept[:-1] != end).all()  # stops at the end token, once
    texts = model.generate(num_samples=5, length=30, seed=1)
    assert len(texts) == 5 and all("</s>" not in t and "<s>" not in t for t in texts)
    shown = {"the cat sat on the mat.", "a dog ran to the park!", "the bird sang (loudly)."}  # detokenized
    assert sum(t in shown for t in texts) >= 3  # a tiny model reproduces its lines


def test_windows_resume_exactly(tmp_path, corpus):
    opts = dict(SMALL, batching="windows", stride=3, checkpoint_every=5, dropout=0.0)
    rnntext.train(corpus, tmp_path / "a", max_iters=24, **opts)
    rnntext.train(corpus, tmp_path / "b", max_iters=13, **opts)
    rnntext.train(None, tmp_path / "b", resume=True, max_iters=24)
    a, b = rnntext.load(tmp_path / "a").weights, rnntext.load(tmp_path / "b").weights
    assert all(np.abs(a[k] - b[k]).max() <= 1e-6 for k in a)


@pytest.fixture
def word_run(tmp_path, words):
    run = tmp_path / "run"
    rnntext.train(words, run, level="word", eos=False, max_iters=60, lr=0.01, **SMALL)  # one line per answer
    return run


def test_chat_piped(word_run):
    import subprocess
    import sys

    script = "the cat\n:length 4\n:temperature 0\nthe zebra sat\n:temperature -2\n"
    out = subprocess.run([sys.executable, "-m", "rnntext", "chat", str(word_run)], input=script, text=True,
                         capture_output=True, timeout=60)
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr
    assert lines[0].startswith("the cat") and len(lines[0].split()) > 2
    assert lines[1:3] == ["length = 4", "temperature = 0.0"]
    assert lines[3] == "(not in the vocabulary, left out: zebra)"
    assert lines[4].startswith("the sat") and len(rnntext.load(word_run).vocab.tokenize(lines[4])) == 2 + 4
    assert lines[5].startswith("error: temperature")


def test_chat_in_tmux(word_run, tmp_path):
    import shutil
    import subprocess
    import sys

    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed (make test installs it with apt-get where it can)")
    session = f"rnntext-chat-{tmp_path.name}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "300", "-y", "20",
                    f"{sys.executable} -m rnntext chat {word_run} --seed 0; echo EXITED $?; sleep 30"],
                   check=True)  # seed 0: a continuation that starts with a word (a fresh seed may start with ".")

    wait_for = Tmux(session).wait_for

    try:
        assert "Ctrl-D to leave" in wait_for("Ctrl-D to leave")
        subprocess.run(["tmux", "send-keys", "-t", session, "the bird", "Enter"], check=True)
        shown = wait_for("\nthe bird ", timeout=30)  # the answer, under the typed "> the bird"
        assert "> the bird" in shown and any(line.startswith("the bird ") for line in shown.splitlines())
        subprocess.run(["tmux", "send-keys", "-t", session, "C-d"], check=True)
        assert "EXITED 0" in wait_for("EXITED")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
