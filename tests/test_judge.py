import importlib.util
import json
import struct

import numpy as np
import pytest

from rnntext import api
from rnntext.errors import ConfigError, InputError, RunError
from rnntext.judge import model_novelty, novelty

TINY = dict(cell="lstm", num_layers=1, hidden_size=(24,), embed_size=12, seq_len=10, batch_size=4,
            log_every=5, eval_every=15, sample_every=0, quiet=True, threads=1, max_iters=30)
TEXT = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 60


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny char-level and one tiny word-level run, 30 iterations each."""
    root = tmp_path_factory.mktemp("judge")
    (root / "text.txt").write_text(TEXT, encoding="utf-8")
    api.train(root / "text.txt", root / "char", **TINY)
    api.train(root / "text.txt", root / "word", level="word", **TINY)
    return root


def training_text(rng, size=2000):
    return "".join(rng.choice(list("abcdefghij "), size))


def test_samples_copied_from_training_text_are_not_novel():
    text = training_text(np.random.default_rng(0))
    result = novelty([text[100:600], text[1000:1500]], text, "char")
    assert result == {"novel_share": 0.0, "ngrams": 2 * 481, "novel": 0, "n": 20, "unit": "char"}


def test_random_strings_are_novel():
    rng = np.random.default_rng(1)
    text = training_text(rng)
    samples = ["".join(rng.choice(list("abcdefghij "), 300)) for _ in range(3)]  # 11**20 possible 20-grams
    result = novelty(samples, text, "byte")
    assert result["ngrams"] == 3 * 281
    assert result["novel_share"] == 1.0


def test_mix_gives_exact_share():
    text = training_text(np.random.default_rng(2))
    copied = text[50:80]  # 11 windows, all in the text
    foreign = "ZZZZZZZZZZZZZZZZZZZZZZZZZ"  # 6 windows, none in the text
    half = text[200:215] + "#" * 10  # 6 windows, each reaching into the '#'s
    short = text[:19]  # shorter than n: no window at all
    result = novelty([copied, foreign, half, short], text, "char")
    assert (result["ngrams"], result["novel"]) == (23, 12)
    assert result["novel_share"] == pytest.approx(12 / 23)


def test_word_level_five_grams():
    text = "the cat sat on the mat today and the dog sat on the rug"
    samples = ["the cat sat on the mat",  # 2 five-grams, both in the text
               "the dog sat on the mat"]  # "the dog sat on the" seen, "dog sat on the mat" not
    result = novelty(samples, text, "word")
    assert result == {"novel_share": 0.25, "ngrams": 4, "novel": 1, "n": 5, "unit": "word"}


def test_n_overrides_the_default():
    result = novelty(["abcx", "zzz"], "xxabcyy", "char", n=3)
    assert (result["ngrams"], result["novel"], result["n"]) == (3, 2, 3)  # abc seen; bcx, zzz new
    assert novelty(["cat sat"], "a cat sat", "word", n=2)["novel_share"] == 0.0


def test_no_ngram_or_bad_level_is_an_error():
    with pytest.raises(InputError, match="n-gram"):
        novelty(["short"], "a longer training text", "char")
    with pytest.raises(ConfigError, match="level: 'letters' is not one of"):
        novelty(["x"], "x", "letters")


@pytest.mark.parametrize("level,n", [("char", 20), ("word", 5)])
def test_model_novelty_on_a_tiny_model(runs, level, n):
    model = api.load(runs / level)
    result = model_novelty(model, num_samples=3, length=60, seed=0)
    assert (result["n"], result["unit"]) == (n, level)
    assert len(result["samples"]) == 3
    assert result["ngrams"] == 3 * (60 - n + 1)  # no line mode: every sample is 60 tokens long
    assert 0.0 <= result["novel_share"] <= 1.0
    assert result["novel"] == round(result["novel_share"] * result["ngrams"])
    if level == "char":  # the same answer as judging the texts directly
        again = novelty(result["samples"], TEXT, "char")
        assert again["novel"] == result["novel"]
    assert model_novelty(model, num_samples=3, length=60, seed=0) == result  # seeded


def test_model_novelty_without_the_dataset(runs, tmp_path):
    model = api.load(runs / "char")
    model.info.training["dataset"] = str(tmp_path / "gone.h5")
    with pytest.raises(RunError, match="gone.h5.*is gone"):
        model_novelty(model, num_samples=1, length=30)


def test_plot_run_writes_a_png(runs, tmp_path):
    pytest.importorskip("matplotlib")
    from rnntext.training.plot import plot_run

    out = plot_run(runs / "char")
    assert out == runs / "char" / "curves.png"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1200, 450)
    assert 20_000 < len(data) < 1_000_000  # drawn, not blank
    other = plot_run(runs / "char", tmp_path / "other.png")
    assert other.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((runs / "char").glob(".*.tmp"))  # the atomic write left nothing behind


def test_plot_run_refuses_missing_or_empty_metrics(tmp_path):
    from rnntext.training.plot import plot_run

    with pytest.raises(RunError, match="metrics.jsonl does not exist"):
        plot_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(RunError, match="no training or validation lines"):
        plot_run(tmp_path)
    assert not (tmp_path / "curves.png").exists()


def test_tensorboard_writer_writes_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rnntext.training.tensorboard import TensorBoardWriter

    with TensorBoardWriter(tmp_path) as writer:
        writer.log({"iter": 10, "epoch": 0.1, "lr": 0.002, "train_loss": 3.5, "tokens_per_s": 1000.0, "elapsed_s": 1.0})
        writer.log({"iter": 20, "lr": 0.001, "train_loss": 3.0, "tokens_per_s": 1200.0, "elapsed_s": 2.0})
        writer.log({"iter": 20, "val_loss": 3.2, "val_accuracy": 0.25, "val_bpc": 4.6, "best": True})
    files = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert len(files) == 1
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss/train")] == [(10, 3.5), (20, 3.0)]
    assert [(e.step, round(e.value, 4)) for e in events.Scalars("val/bpc")] == [(20, 4.6)]
    assert "best" not in json.dumps(events.Tags()["scalars"])


def test_cli_novelty_plot_and_tensorboard(tmp_path, capsys):
    import json

    import rnntext
    from rnntext.cli import main

    pytest.importorskip("matplotlib")
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 200)
    run = tmp_path / "run"
    rnntext.train(text, run, max_iters=20, eval_every=10, log_every=5, num_layers=1, hidden_size=(16,),
                  embed_size=8, seq_len=16, batch_size=4, sample_every=0, quiet=True,
                  tensorboard=importlib.util.find_spec("tensorboard") is not None)
    assert main(["eval", str(run), "--novelty", "--samples", "3", "--length", "60", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ngrams"] == 3 * (60 - 20 + 1) and 0 <= result["novel_share"] <= 1
    assert main(["plot", str(run), "-o", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if importlib.util.find_spec("tensorboard"):
        assert list((run / "tensorboard").glob("events.out.tfevents.*"))
