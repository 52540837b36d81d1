import json
import math

import pytest

from rnntext.config import TrainConfig
from rnntext.training.schedules import Plateau, lr_at


def test_schedules():
    assert lr_at(TrainConfig(lr=0.1), 999, 9) == 0.1
    assert lr_at(TrainConfig(lr=0.1, lr_schedule="step", lr_gamma=0.5, lr_step=3), 0, 7) == pytest.approx(0.025)
    exp = TrainConfig(lr=1.0, lr_schedule="exp", lr_gamma=0.97, lr_decay_start=10)
    assert lr_at(exp, 0, 10) == 1.0 and lr_at(exp, 0, 12) == pytest.approx(0.97 ** 2)
    inv = TrainConfig(lr=0.001, lr_schedule="inv", lr_gamma=1e-5, lr_power=0.75)  # the Caffe lab
    assert lr_at(inv, 6000, 0) == pytest.approx(0.001 * (1 + 0.06) ** -0.75)
    cos = TrainConfig(lr=1.0, lr_schedule="cosine", warmup_iters=10, cosine_iters=100, lr_min=0.1)
    assert lr_at(cos, 0, 0) == pytest.approx(0.1)  # warm-up from lr/10
    assert lr_at(cos, 60, 0) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_at(cos, 10_000, 0) == pytest.approx(0.1)


def test_plateau_divides_after_patience():
    p = Plateau(TrainConfig(lr_schedule="plateau", lr_gamma=0.25, lr_patience=1))
    for loss in (3.0, 2.0, 2.5, 2.4):
        p.observe(loss)
    assert p.scale == 0.25 and p.best == 2.0


def test_the_cosine_follows_the_time_budget_and_a_resume_continues_it(tmp_path, corpus):
    import rnntext
    from rnntext.config import read_toml

    run = tmp_path / "run"
    rnntext.train(corpus, run, lr=0.01, max_iters=30, num_layers=1, hidden_size=(8,), embed_size=4, seq_len=8,
                  batch_size=4, sample_every=0, quiet=True, log_every=10)
    assert read_toml(run / "config.toml")["train"]["cosine_iters"] == 0  # auto without a time limit: constant
    lrs = [json.loads(x)["lr"] for x in (run / "metrics.jsonl").read_text().splitlines() if "lr" in json.loads(x)]
    assert lrs == [0.01, 0.01, 0.01]
    assert json.loads((run / "trainer.json").read_text())["budget"] == {"scheduled_s": 0.0}  # no time was scheduled
    timed = tmp_path / "timed"
    rnntext.train(corpus, timed, lr=0.01, time_limit=3, num_layers=1, hidden_size=(8,), embed_size=4, threads=1,
                  seq_len=8, batch_size=4, sample_every=0, quiet=True, log_every=5, eval_every=0)
    assert read_toml(timed / "config.toml")["train"]["cosine_iters"] == 0  # nothing is fitted or recorded but time
    lrs = [json.loads(x)["lr"] for x in (timed / "metrics.jsonl").read_text().splitlines() if "lr" in json.loads(x)]
    assert lrs[0] > 0.009 and lrs[-1] < 0.002 and all(a >= b for a, b in zip(lrs, lrs[1:]))
    first = json.loads((timed / "trainer.json").read_text())["budget"]["scheduled_s"]
    assert 1.0 < first < 3.0
    rnntext.train(None, timed, resume=True, time_limit=4)  # the whole is now about first + 3 s
    resumed = [json.loads(x)["lr"] for x in (timed / "metrics.jsonl").read_text().splitlines()
               if "lr" in json.loads(x)][len(lrs):]
    assert resumed and resumed[0] < 0.01 * 0.9  # not back at the peak: the schedule continues from its share
    assert resumed[-1] < resumed[0]
    assert json.loads((timed / "trainer.json").read_text())["budget"]["scheduled_s"] > first
