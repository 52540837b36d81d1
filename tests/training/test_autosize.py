"""The auto model size (hidden_size 0) and the training precision option."""

import json
from dataclasses import replace

import pytest

from rnntext.config import Config, ModelConfig
from rnntext.training import autosize


@pytest.mark.parametrize("model", [ModelConfig(), ModelConfig(cell="gru", num_layers=3, embed_size=0),
                                   ModelConfig(embed_size=128, tie_weights=True, labels=("a", "b"))])
def test_recurrent_parameters_match_the_torch_model(model):
    from rnntext.engines.torch.module import RNNLM

    cfg = Config(model=model)
    h = 128 if model.tie_weights else 96
    expected = sum(p.numel() for name, p in RNNLM(replace(model, hidden_size=(h,)), 70).named_parameters()
                   if name.startswith("rnn."))
    assert autosize.recurrent_parameters(cfg, 70, h) == expected
    gates = {"lstm": 4, "gru": 3}[model.cell]  # per layer: G*H x (input + H) weights and two G*H biases
    inputs = ((model.embed_size or 70) + len(model.labels), h, h)[:model.num_layers]
    assert expected == sum(gates * h * (d + h + 2) for d in inputs)


def test_without_a_time_limit_the_data_decides_up_to_256():
    cfg = Config()
    assert autosize.choose_hidden_size(cfg, 65, 5_000)[0] == 64  # even 2x64 (67k recurrent) is too big: the smallest
    assert autosize.choose_hidden_size(cfg, 65, 100_000)[0] == 128  # 2x128 has 231k <= 8 x 100k; 2x256 has 856k
    assert autosize.choose_hidden_size(cfg, 65, 50_000_000)[0] == 256  # no time limit: at most the old default


def _speeds(monkeypatch, tokens_per_s):
    """Make the probe report `tokens_per_s(hidden)` and record which sizes it was asked for."""
    probed = []

    def fake_speed(cfg, vocab_size, hidden, budget_s=1.0):
        probed.append(hidden)
        return {1: tokens_per_s(hidden)}

    monkeypatch.setattr(autosize, "probe_speed", fake_speed)
    return probed


def _limited(seconds: float, batch_size: int = 32) -> Config:
    cfg = Config()
    return replace(cfg, train=replace(cfg.train, time_limit=seconds, batch_size=batch_size))


def test_with_a_time_limit_the_largest_size_that_gets_the_epochs_it_needs(monkeypatch):
    probed = _speeds(monkeypatch, lambda h: 4e9 / h ** 2)  # 64: 977k tokens/s ... 1024: 3.8k tokens/s
    # 1M tokens in 100 s: 2x128 (0.23 parameters per token, light) needs 5 epochs: 50k tokens/s,
    # and gets 244k; 2x256 (0.86, light) needs 50k and gets 61k; 2x384 (1.9) gets 27k
    size, why = autosize.choose_hidden_size(_limited(100.0), 65, 1_000_000)
    assert size == 256 and why["rule"] == "data and time" and set(why["tokens_per_s"]) == set(probed)
    assert len(probed) <= 3  # bisection over the 6 sizes the data allows (64..768), not all of them
    # 2000 s: 2x768 (7.3 per token, heavy) needs 10 epochs = 5k tokens/s and gets 6.8k
    assert autosize.choose_hidden_size(_limited(2000.0), 65, 1_000_000)[0] == 768
    assert autosize.choose_hidden_size(_limited(2000.0), 65, 800_000)[0] == 512  # the data caps it: 2x768 has 7.3M


@pytest.mark.parametrize("scale, expected", [(2.6, 384), (1.0, 256), (0.3, 128)])
def test_a_slower_machine_gets_a_smaller_model(monkeypatch, scale, expected):
    # 1M training characters, 600 s; speeds of one AVX2 core in float32 (the probe's figures at
    # batch 64 x 50 steps on the project's AMD EPYC), then a machine 2.6 times as fast (two
    # cores with native bf16) and one 3.3 times slower
    one_avx2_core = {64: 70_000, 128: 35_000, 256: 11_400, 384: 6_000, 512: 3_500, 768: 1_700, 1024: 1_000}
    _speeds(monkeypatch, lambda h: one_avx2_core[h] * scale)
    assert autosize.choose_hidden_size(_limited(600.0), 65, 1_000_000)[0] == expected


@pytest.mark.parametrize("ratio, epochs, expected", [
    (3.3, None, (0.25, 0.2)), (5.9, 50.0, (0.25, 0.2)), (1.9, 9.0, (0.2, 0.1)), (0.86, 6.0, (0.1, 0.0)),
    (0.2, 20.0, (0.1, 0.0)), (4.0, 1.5, (0.0, 0.0))])
def test_regularisation_follows_parameters_per_token_and_epochs(ratio, epochs, expected):
    assert autosize.regularisation(ratio, epochs) == expected


def test_resolve_fills_only_the_auto_values(monkeypatch):
    _speeds(monkeypatch, lambda h: 30_000 * (256 / h) ** 2)  # 2x384: 8 epochs in 600 s; 2x512: 4.5
    cfg, why = autosize.resolve(_limited(600.0), 65, 1_000_000)
    assert cfg.model.hidden_size == (384,) and why["hidden_size"] == 384
    assert (cfg.model.dropout, cfg.model.weight_drop) == (0.2, 0.1) == (why["dropout"], why["weight_drop"])
    assert why["recurrent_params_per_token"] == pytest.approx(1.874, abs=1e-3)
    given = replace(_limited(600.0), model=ModelConfig(hidden_size=(512,), dropout=0.5))
    cfg, why = autosize.resolve(given, 65, 1_000_000)
    assert (cfg.model.hidden_size, cfg.model.dropout, cfg.model.weight_drop) == ((512,), 0.5, 0.2)
    assert "hidden_size" not in why and why["weight_drop"] == 0.2  # 2x512 is 3.3 per token: heavy


def test_tied_weights_take_the_embedding_size():
    cfg = Config(model=ModelConfig(embed_size=200, tie_weights=True))
    assert autosize.choose_hidden_size(cfg, 65, 10_000_000)[0] == 200


def test_a_run_records_the_chosen_size_and_resumes_with_it(tmp_path, corpus):
    import rnntext
    from rnntext.config import read_toml

    run = tmp_path / "run"
    rnntext.train(corpus, run, max_iters=2, num_layers=1, embed_size=8, seq_len=8, batch_size=4, sample_every=0,
                  quiet=True, time_limit=30)
    chosen = read_toml(run / "config.toml")["model"]["hidden_size"]
    info = json.loads((run / "model.json").read_text())
    # ~8,400 training characters: 8 x 8.4k = 67k recurrent parameters allow 1x64 (19k), not 1x128 (71k)
    assert chosen == [64] and info["model"]["hidden_size"] == [64]
    assert info["training"]["recipe"]["rule"] == "data and time"
    assert set(info["training"]["recipe"]["tokens_per_s"]) == {"64"}
    rnntext.train(None, run, resume=True, max_iters=4, quiet=True, sample_every=0)
    assert read_toml(run / "config.toml")["model"]["hidden_size"] == [64]
    assert rnntext.load(run).info.model.hidden_sizes == (64,)
    fixed = tmp_path / "fixed"
    rnntext.train(corpus, fixed, max_iters=1, num_layers=1, hidden_size=(24,), embed_size=8, seq_len=8, batch_size=4,
                  sample_every=0, quiet=True, time_limit=30)
    assert read_toml(fixed / "config.toml")["model"]["hidden_size"] == [24]
    recipe = json.loads((fixed / "model.json").read_text())["training"]["recipe"]
    assert "hidden_size" not in recipe and "tokens_per_s" not in recipe  # a given size is not probed
    assert read_toml(fixed / "config.toml")["model"]["dropout"] == recipe["dropout"] >= 0  # auto was resolved
    given = tmp_path / "given"
    rnntext.train(corpus, given, max_iters=1, num_layers=1, hidden_size=(24,), embed_size=8, seq_len=8, batch_size=4,
                  sample_every=0, quiet=True, dropout=0.3, weight_drop=0.0)
    recipe = json.loads((given / "model.json").read_text())["training"]["recipe"]  # what it runs with, and
    assert not {"rule", "hidden_size", "dropout", "tokens_per_s"} & set(recipe)  # nothing left for auto to choose
    assert recipe["model"]["dropout"] == 0.3 and recipe["model"]["hidden_sizes"] == [24]


def test_precision_choices(tmp_path, corpus):
    import torch

    import rnntext
    from rnntext.engines.torch.engine import autocast_dtype, fast_low_precision_cpu
    from rnntext.errors import ConfigError

    cpu = torch.device("cpu")
    native = fast_low_precision_cpu(torch.bfloat16)
    assert autocast_dtype("float32", cpu) is None
    assert autocast_dtype("auto", cpu) == (torch.bfloat16 if native else None)
    if native:
        assert autocast_dtype("bfloat16", cpu) == torch.bfloat16
    else:
        with pytest.raises(ConfigError, match="needs a CPU with native bf16"):
            autocast_dtype("bfloat16", cpu)
    with pytest.raises(ConfigError, match="float16 training needs CUDA"):
        autocast_dtype("float16", cpu)
    with pytest.raises(ConfigError, match="numpy engine computes in float32"):
        rnntext.train(corpus, tmp_path / "np", engine="numpy", precision="bfloat16", max_iters=1, quiet=True)
    with pytest.raises(ConfigError, match="float16 training needs CUDA"):
        rnntext.train(corpus, tmp_path / "half", precision="float16", device="cpu", max_iters=1, quiet=True)
    assert not (tmp_path / "np").exists() and not (tmp_path / "half").exists()  # refused before anything is written


def test_bfloat16_training_learns_and_keeps_a_float32_state(tmp_path, corpus):
    from safetensors.numpy import load_file

    import rnntext
    from rnntext import hardware
    from rnntext.cli import main

    run = tmp_path / "bf16"
    if not hardware.native_bf16():  # a plain AVX2 CPU: one line, status 2, nothing written
        assert main(["train", str(corpus), "-o", str(run), "--precision", "bfloat16", "--max-iters", "1"]) == 2
        assert not run.exists()
        return
    result = rnntext.train(corpus, run, precision="bfloat16", max_iters=60, num_layers=1, hidden_size=(32,),
                           embed_size=8, seq_len=16, batch_size=4, lr=0.02, sample_every=0, quiet=True, eval_every=60)
    assert result.best_val_loss < 2.0  # from ln(27) = 3.3 for this 27-symbol text
    tensors = load_file(str(run / "trainer.safetensors"))
    hidden = [v for k, v in tensors.items() if k.startswith("hidden.")]
    assert hidden and all(v.dtype.name == "float32" for v in hidden)


class _Contended:
    """A torch CPU engine on a 2-core machine with one core taken: a step on 2 threads waits for
    the thread that shares its core (given step times, a fake clock); every fifth step is slowed
    tenfold by the other process whatever the count."""

    name = "torch"

    def __init__(self, clock, threads, step_s):
        import types

        self.device = types.SimpleNamespace(type="cpu")
        self.clock, self.threads, self.step_s, self.steps = clock, threads, step_s, 0

    def reset_state(self):
        pass

    def train_step(self, x, y, lr, mask, cond):
        self.steps += 1
        self.clock.now += self.step_s[self.threads[-1]] * (10 if self.steps % 5 == 0 else 1)
        return 1.0


def _contended(monkeypatch, step_s):
    from rnntext.training import threads, trainer

    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    fake, counts = Clock(), [2]
    monkeypatch.setattr(autosize, "clock", fake)
    monkeypatch.setattr(threads, "_default", [2])
    monkeypatch.setattr(threads, "set_threads", counts.append)
    monkeypatch.setattr(trainer, "make_engine", lambda cfg, vocab_size, world=None: _Contended(fake, counts, step_s))
    return counts


def test_the_probe_times_every_thread_count_and_a_slow_step_does_not_decide(monkeypatch):
    cfg = _limited(600.0)  # batch 32 x 50: 1,600 tokens a step
    counts = _contended(monkeypatch, {2: 0.5, 1: 0.016})  # 2 threads beside a busy core: 31 times slower
    speeds = autosize.probe_speed(cfg, 65, 64, budget_s=1.0)
    assert counts[1:] == [1, 2]  # one thread first (on a busy machine the fast one), then all the cores
    assert speeds[1] == pytest.approx(1600 / 0.016)  # the median: the step slowed tenfold does not count
    assert speeds[2] <= 1600 / 0.5 * 1.001  # cut short after one step twice as slow as one thread


def test_a_probe_under_contention_chooses_what_training_on_one_thread_can_do(monkeypatch):
    # 1M tokens, 600 s, one core taken: 2 threads crawl (20 times slower), 1 thread runs at one
    # core's speed; the size must be the one that speed affords (2x256), not what 2 threads would (2x64)
    one_core = {64: 0.008, 128: 0.03, 256: 0.09, 384: 0.19, 512: 0.33, 768: 0.8}  # seconds a step
    counts = _contended(monkeypatch, None)
    from rnntext.training import trainer

    def engine(cfg, vocab_size, world=None):
        h = cfg.model.hidden_size[0]
        return _Contended(autosize.clock, counts, {1: one_core[h], 2: 20 * one_core[h]})

    monkeypatch.setattr(trainer, "make_engine", engine)
    size, why = autosize.choose_hidden_size(_limited(600.0), 65, 1_000_000)
    assert size == 256 and why["probe_threads"][256] == 1
    assert why["tokens_per_s"][256] == round(1600 / 0.09)
    passes = autosize.passes(_limited(600.0), why["tokens_per_s"][256], 570.0, 1_000_000)
    assert 5 <= passes < 10.2  # what the plan will say: one core's 17,800 tokens/s for the time left


def test_validation_takes_its_share_of_the_time_in_the_passes_predicted():
    cfg = _limited(600.0)  # validation every 500 iterations of 1,600 tokens, at most 200,000 tokens scored
    assert autosize.passes(cfg, 10_000, 100.0, 1_000_000) == pytest.approx(1.0)
    assert autosize.passes(cfg, 10_000, 100.0, 1_000_000, val_tokens=80_000) == pytest.approx(1 / 1.05)
    assert autosize.passes(cfg, 10_000, 100.0, 1_000_000, val_tokens=10**7) == pytest.approx(1 / 1.125)


# Tokens per second the probe measured on the project's AMD EPYC (batch x 50 steps, dropout and
# weight drop on): two cores with AVX-512 bf16, and the same as one AVX2 core in float32
# (../shared/tools/as-avx2 --one-core); 64 and 1024 extrapolated.
NATIVE = {32: {64: 300_000, 128: 120_000, 256: 37_000, 384: 23_700, 512: 18_200, 768: 8_800, 1024: 5_000},
          64: {64: 420_000, 128: 170_000, 256: 59_300, 384: 34_600, 512: 21_900, 768: 11_100, 1024: 6_500}}
ONE_AVX2_CORE = {32: {64: 120_000, 128: 48_700, 256: 17_800, 384: 8_200, 512: 4_800, 768: 2_100, 1024: 1_200},
                 64: {64: 130_000, 128: 57_800, 256: 16_000, 384: 8_000, 512: 5_000, 768: 2_200, 1024: 1_300}}


def _by_batch(monkeypatch, table):
    probed = []

    def fake_speed(cfg, vocab_size, hidden, budget_s=1.0):
        probed.append((cfg.train.batch_size, hidden))
        return {1: table[cfg.train.batch_size][hidden]}

    def fake_batches(cfg, vocab_size, hidden, batches, budget_s=1.0):
        probed.extend((b, hidden) for b in batches)
        return {b: table[b][hidden] for b in batches}

    monkeypatch.setattr(autosize, "probe_speed", fake_speed)
    monkeypatch.setattr(autosize, "probe_batches", fake_batches)
    return probed


@pytest.mark.parametrize("table, expected", [(NATIVE, (64, 512, 0.25, 0.2)), (ONE_AVX2_CORE, (32, 256, 0.1, 0.0))])
def test_a_faster_machine_buys_a_larger_batch_and_with_it_a_larger_model(monkeypatch, table, expected):
    # tinyshakespeare's 1M training characters in 600 s (benchmarks/quality.py char): two cores
    # with native bf16 get 1.6 times the tokens at batch 64 (at 2x256, the middle size the data
    # allows), so 2x512 passes over the data the 10 times its heavy regularisation needs; one
    # AVX2 core gets fewer tokens at 64, keeps 32, and affords 2x256
    probed = _by_batch(monkeypatch, table)
    cfg, why = autosize.resolve(_limited(600.0, batch_size=0), 65, 1_000_000)
    got = (cfg.train.batch_size, cfg.model.hidden_sizes[0], cfg.model.dropout, cfg.model.weight_drop)
    assert got == expected
    assert why["batch_probed_at"] == 256 and probed[:2] == [(32, 256), (64, 256)]
    assert {b for b, _ in probed[2:]} == {expected[0]}  # the sizes are probed at the chosen batch


def test_the_batch_stays_small_without_a_time_limit_or_without_the_data_for_it(monkeypatch):
    probed = _by_batch(monkeypatch, NATIVE)
    unlimited = replace(Config(), train=replace(Config().train, batch_size=0))
    assert autosize.choose_batch(unlimited, 65, 1_000_000) == (32, {})
    # 64 streams of 50 steps need 100 windows an epoch: 320,000 training tokens
    assert autosize.choose_batch(_limited(600.0, batch_size=0), 65, 300_000) == (32, {})
    assert probed == []
    assert autosize.choose_batch(_limited(600.0, batch_size=0), 65, 330_000)[0] == 64


def test_a_batch_that_does_not_pay_enough_is_not_taken(monkeypatch):
    table = {32: {256: 20_000}, 64: {256: 24_000}}  # 1.2 times the tokens: half the steps for 20% more text
    _by_batch(monkeypatch, table)
    given = replace(_limited(600.0, batch_size=0), model=ModelConfig(hidden_size=(256,)))
    assert autosize.choose_batch(given, 65, 1_000_000) == (32, {"batch_size": 32, "batch_probed_at": 256,
                                                              "batch_tokens_per_s": {32: 20_000, 64: 24_000}})


def test_the_batches_are_timed_in_turn_so_a_burst_of_load_falls_on_both(monkeypatch):
    # another process is busy for a stretch of the probe: timed one after the other, batch 64
    # would take the burst alone and lose; alternating, both see it alike and 64 wins as it should
    counts = _contended(monkeypatch, None)
    from rnntext.training import trainer

    class Bursty(_Contended):
        def train_step(self, x, y, lr, mask, cond):
            B = x.shape[0]
            burst = 3 if 6 <= self.steps < 10 else 1
            self.steps += 1
            self.clock.now += (0.040 if B == 32 else 0.050) * burst
            return 1.0

    monkeypatch.setattr(trainer, "make_engine", lambda cfg, vocab_size, world=None: Bursty(autosize.clock, counts, {}))
    speeds = autosize.probe_batches(_limited(600.0), 65, 256, (32, 64), budget_s=2.0)
    assert speeds[64] / speeds[32] == pytest.approx(2 * 0.040 / 0.050)  # 1.6: the medians skip the burst alike
