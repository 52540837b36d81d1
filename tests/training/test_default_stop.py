"""A run given no stopping rule ends by itself: after PATIENCE validations without improvement,
at CAP_ITERS iterations at the latest, and it says so when it starts."""

import io
from dataclasses import replace

import pytest

import rnntext
from rnntext.config import Config, read_toml
from rnntext.progress import TrainDisplay
from rnntext.training import stopping

TINY = dict(num_layers=1, hidden_size=(16,), embed_size=8, seq_len=8, batch_size=4, sample_every=0)


def _train(**values) -> Config:
    cfg = Config()
    return replace(cfg, train=replace(cfg.train, **values))


def test_the_default_applies_only_without_a_rule():
    cfg, applied = stopping.default_stopping(Config(), validates=True)
    assert applied and (cfg.train.max_iters, cfg.train.early_stop) == (stopping.CAP_ITERS, stopping.PATIENCE) == (20_000, 3)
    for given in (dict(time_limit=60.0), dict(max_iters=100), dict(epochs=2.0)):
        assert stopping.default_stopping(_train(**given), validates=True) == (_train(**given), False)
    cfg, applied = stopping.default_stopping(_train(early_stop=7), validates=True)  # a patience of one's own stays
    assert applied and (cfg.train.max_iters, cfg.train.early_stop) == (20_000, 7)
    cfg, applied = stopping.default_stopping(Config(), validates=False)  # nothing to be patient about: the cap only
    assert applied and (cfg.train.max_iters, cfg.train.early_stop) == (20_000, 0)


def test_a_run_without_a_rule_says_so_records_it_and_stops_at_the_cap(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(stopping, "CAP_ITERS", 7)
    out = io.StringIO()
    result = rnntext.train(corpus, tmp_path / "run", progress=TrainDisplay(mode="lines", out=out), eval_every=100,
                           **TINY)
    assert result.iterations == 7 and result.stopped_by == "max_iters"
    assert out.getvalue().splitlines()[1].endswith(
        "stops when validation loss has not improved for 3 validations (every 100 iterations) or at 7 iterations "
        "(the default: no --time-limit, --max-iters or --epochs was given)")
    train = read_toml(tmp_path / "run" / "config.toml")["train"]
    assert (train["max_iters"], train["early_stop"]) == (7, 3)  # a resume keeps them


def test_the_patience_stops_a_run_whose_validation_stopped_improving(tmp_path, corpus, monkeypatch):
    from rnntext.engines.torch.engine import TorchEngine

    # every validation after the first scores the same: no improvement, three times, then the stop
    monkeypatch.setattr(TorchEngine, "evaluate", lambda self, batches, max_batches: (20.0, 1, 10))
    result = rnntext.train(corpus, tmp_path / "run", eval_every=2, **TINY)
    assert result.stopped_by == "early_stop" and result.iterations == 8  # validations at 2 (best), 4, 6, 8


@pytest.mark.parametrize("given", [dict(max_iters=3), dict(time_limit=30.0, max_iters=3)])
def test_a_given_rule_is_kept_as_given(tmp_path, corpus, given):
    result = rnntext.train(corpus, tmp_path / "run", **TINY, **given)
    assert result.iterations == 3 and result.stopped_by == "max_iters"
    train = read_toml(tmp_path / "run" / "config.toml")["train"]
    assert (train["max_iters"], train["early_stop"]) == (3, 0)
