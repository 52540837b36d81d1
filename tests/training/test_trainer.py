import json
import math

import numpy as np
import pytest
from safetensors.numpy import load_file

from rnntext import api, cells
from rnntext.errors import RunError, TrainingError

TINY = dict(cell="lstm", num_layers=2, hidden_size=(24,), embed_size=12, seq_len=10, batch_size=4,
            log_every=5, eval_every=15, sample_every=0, quiet=True, dropout=0.1, threads=1)


def weights(run, name="model"):
    return load_file(str(run / f"{name}.safetensors"))


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_run_directory_contents(tmp_path, corpus, engine):
    run = tmp_path / "run"
    result = api.train(corpus, run, max_iters=20, engine=engine, **TINY)
    assert result.iterations == 20 and result.stopped_by == "max_iters"
    names = {p.name for p in run.iterdir()}
    assert {"model.safetensors", "model.json", "best.safetensors", "trainer.safetensors", "trainer.json",
            "config.toml", "metrics.jsonl", "data.h5"} <= names
    info = json.loads((run / "model.json").read_text())
    assert info["format_version"] == 1 and info["model"]["hidden_size"] == [24]
    assert info["training"]["iterations"] == 20 and info["training"]["engine"] == engine
    assert sorted(weights(run))[:3] == ["embedding.weight", "output.bias", "output.weight"]
    assert weights(run)["rnn.weight_hh_l1"].shape == (96, 24)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["iter"] for x in lines if "train_loss" in x] == [5, 10, 15, 20]
    assert {"val_loss", "val_bpc", "val_accuracy"} <= set(next(x for x in lines if "val_loss" in x))


@pytest.mark.parametrize("engine", ["torch", "numpy"])
@pytest.mark.parametrize("cell", cells.names())
def test_resume_equals_uninterrupted(tmp_path, corpus, cell, engine):
    opts = dict(TINY, cell=cell, checkpoint_every=7, optimizer="adam", engine=engine)
    api.train(corpus, tmp_path / "a", max_iters=40, **opts)
    api.train(corpus, tmp_path / "b", max_iters=23, **opts)  # mid-epoch, after a checkpoint
    api.train(None, tmp_path / "b", resume=True, max_iters=40)
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    for key in wa:
        assert np.abs(wa[key] - wb[key]).max() <= 1e-6, key
    ma = [json.loads(x) for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    mb = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    train_a = [(x["iter"], round(x["train_loss"], 5)) for x in ma if "train_loss" in x]
    train_b = [(x["iter"], round(x["train_loss"], 5)) for x in mb if "train_loss" in x]
    assert train_a == train_b and train_a[-1][0] == 40  # the resumed run also logged 23 (its end)


def test_tiny_model_overfits_200_characters(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("".join(chr(97 + (i * 7 + i // 26) % 26) for i in range(199)) + "\n")
    result = api.train(path, tmp_path / "run", val_frac=0.0, cell="lstm", num_layers=1, hidden_size=(64,),
                       embed_size=16, seq_len=24, batch_size=2, lr=1e-2, max_iters=400, log_every=50,
                       sample_every=0, quiet=True, dropout=0.1, weight_drop=0.0)
    assert result.val is None
    last = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()][-1]
    assert last["train_loss"] < 0.1  # from ln(26) = 3.26; the first symbol after each reset stays a guess


def test_non_empty_run_refused_without_force(tmp_path, corpus):
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="not empty"):
        api.train(corpus, run, max_iters=2, **TINY)
    api.train(corpus, run, force=True, max_iters=2, **TINY)
    assert (run / "notes.txt").read_text() == "mine"  # --force removes only rnntext's files


def test_resume_with_other_architecture_refused(tmp_path, corpus):
    run = tmp_path / "run"
    api.train(corpus, run, max_iters=5, **TINY)
    before = weights(run)
    with pytest.raises(TrainingError, match="hidden_size"):
        api.train(None, run, resume=True, hidden_size=(32,), max_iters=10)
    after = weights(run)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_non_finite_loss_stops_and_keeps_checkpoint(tmp_path, corpus, monkeypatch):
    from rnntext.engines.torch.engine import TorchEngine

    run = tmp_path / "run"
    api.train(corpus, run, max_iters=10, **TINY)
    original = TorchEngine.train_step
    calls = []

    def poisoned(self, x, y, lr, mask=None, cond=None):
        calls.append(1)
        return math.nan if len(calls) > 3 else original(self, x, y, lr, mask, cond)

    monkeypatch.setattr(TorchEngine, "train_step", poisoned)
    with pytest.raises(TrainingError, match="loss became nan at iteration 14.*lower lr or set clip_norm"):
        api.train(None, run, resume=True, max_iters=30)
    assert json.loads((run / "trainer.json").read_text())["iteration"] == 10


def test_time_limit_and_epochs(tmp_path, corpus):
    r = api.train(corpus, tmp_path / "a", epochs=1, **TINY)
    assert r.stopped_by == "epochs" and r.epoch == pytest.approx(1.0)


def test_a_time_limit_spent_before_training_still_leaves_a_model(tmp_path, corpus):
    """A limit that preparing and the size probe used up still trains one step and saves it:
    `sample` works on what `train --time-limit` left (the wheel's demo --time-limit 5 case)."""
    run = tmp_path / "short"
    r = api.train(corpus, run, time_limit=1e-3, **TINY)
    assert (r.stopped_by, r.iterations) == ("time_limit", 1)
    assert len(api.load(run).generate("", length=5, seed=1)) == 5
