"""`rnntext eval RUN` with no text scores the run's own test split (or validation split), and
evaluation reads many streams at once while scoring every token exactly once."""

import json

import numpy as np
import pytest

import rnntext
from rnntext import blas, scoring
from rnntext.cli import main
from rnntext.data.batches import TextBatches
from rnntext.data.dataset import open_dataset

TINY = dict(num_layers=1, hidden_size=(32,), embed_size=8, seq_len=16, batch_size=8, sample_every=0, lr=1e-2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    text = tmp / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 120)
    rnntext.train(text, tmp / "test", max_iters=30, test_frac=0.1, **TINY)
    rnntext.train(text, tmp / "val", max_iters=30, **TINY)
    return tmp


@pytest.mark.parametrize("name, split", [("test", "test"), ("val", "val")])
def test_eval_without_text_scores_the_runs_own_split(runs, capsys, name, split):
    run = runs / name
    model = rnntext.load(run)
    result = model.evaluate()
    with open_dataset(runs / name / "data.h5") as dataset:
        ids = np.asarray(dataset.split(split)[:])
        text = dataset.vocab.decode(ids)
    assert result["split"] == split and result["tokens"] == len(ids) - 1 and result["unknown"] == 0
    same = model.evaluate(text)  # the split's text, as a file: the same score
    assert same["loss"] == pytest.approx(result["loss"], abs=1e-9) and same["accuracy"] == result["accuracy"]
    assert main(["eval", str(run), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["split"] == split and row["loss"] == pytest.approx(result["loss"]) and row["dataset"].endswith("data.h5")
    assert main(["eval", str(run)]) == 0
    assert f"tokens of the {split} split of " in capsys.readouterr().out


def test_eval_says_when_the_dataset_is_gone(runs, tmp_path, capsys):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(runs / "val", moved)
    info = json.loads((moved / "model.json").read_text())
    info["training"]["dataset"] = str(tmp_path / "nowhere.h5")
    (moved / "model.json").write_text(json.dumps(info))
    assert main(["eval", str(moved)]) == 2
    assert "is not there: name the text to evaluate on" in capsys.readouterr().err


def test_the_streams_score_every_token_once():
    ids = np.arange(10_001) % 97
    b = TextBatches(ids, 128, None, 64, 128)
    assert b.B == 19  # 10,000 targets: each stream scores at least 4 x warm-up (512) of them
    pairs = []
    for i in range(len(b)):
        x, y, mask, _ = b.batch(i)
        keep = np.ones_like(x, bool) if mask is None else mask.astype(bool)
        pairs += list(zip(x[keep], y[keep]))
    assert sorted(pairs) == sorted(zip(ids[:-1], ids[1:]))  # every (token, next token) once
    assert TextBatches(ids[:600], 128, None, 64, 128).B == 1  # a short text: one stream
    big = TextBatches(np.zeros(160_001, np.int64), 128, None, 64, 128)
    assert big.B == 64 and len(big) == 21  # 160,000 tokens in 21 windows of 64 streams (one stream: 1,250)


def test_many_streams_score_as_one_stream_does(runs, monkeypatch):
    model = rnntext.load(runs / "val")
    text = "the lazy dog jumps over a quick brown fox. nine stitches in time save the dog!\n" * 40
    batched = model.evaluate(text, precision="float32")  # bfloat16's own noise is not what is measured here
    monkeypatch.setattr(scoring, "EVAL_STREAMS", 1)
    one = model.evaluate(text, precision="float32")
    assert batched["tokens"] == one["tokens"] == len(text) - 1
    assert batched["loss"] == pytest.approx(one["loss"], rel=1e-4) and batched["accuracy"] == pytest.approx(
        one["accuracy"], abs=2e-3)
    monkeypatch.setattr(scoring, "EVAL_WARMUP", 0)
    monkeypatch.setattr(scoring, "EVAL_STREAMS", 64)
    cold = model.evaluate(text, precision="float32")  # without the warm-up each stream starts cold: further off
    assert abs(cold["loss"] - one["loss"]) > abs(batched["loss"] - one["loss"])


def test_blas_threads_can_be_limited_and_come_back():
    before = blas.threads()
    with blas.limited(1):
        assert blas.threads() == 1
    assert blas.threads() == before


def test_the_engines_give_the_same_score(runs, capsys):
    from rnntext import hardware
    from rnntext.errors import ConfigError

    model = rnntext.load(runs / "val")
    text = "the lazy dog jumps over a quick brown fox. nine stitches in time save the dog!\n" * 40
    on_torch, on_numpy = model.evaluate(text, precision="float32"), model.evaluate(text, engine="numpy")
    assert on_torch["tokens"] == on_numpy["tokens"] == len(text) - 1
    assert on_torch["loss"] == pytest.approx(on_numpy["loss"], rel=1e-5)  # both float32
    assert on_torch["accuracy"] == pytest.approx(on_numpy["accuracy"], abs=1e-3)
    assert on_torch["precision"] == on_numpy["precision"] == "float32"
    auto = model.evaluate(text)  # torch, autocast as training's validation: bfloat16 where it is native
    if hardware.native_bf16():
        low = model.evaluate(text, precision="bfloat16")
        assert auto == low and auto["precision"] == "bfloat16"
        assert low["loss"] == pytest.approx(on_numpy["loss"], rel=3e-3) and low["loss"] != on_torch["loss"]
    else:
        assert auto == on_torch
        with pytest.raises(ConfigError, match="bfloat16 training needs a CPU with native bf16"):
            model.evaluate(text, precision="bfloat16")
    assert main(["eval", str(runs / "val"), "--engine", "numpy", "--precision", "bfloat16"]) == 2
    err = capsys.readouterr().err.strip()
    assert "the numpy engine computes in float32: drop --precision or use --engine torch" in err
    assert "\n" not in err
