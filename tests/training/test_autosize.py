"""The auto model size (hidden_size 0) and the training precision option."""

import json
from dataclasses import replace

import pytest

from rnntext.config import Config, ModelConfig
from rnntext.training import autosize


@pytest.mark.parametrize("model", [ModelConfig(), ModelConfig(cell="gru", num_layers=3, embed_size=0),
                                   ModelConfig(embed_size=128, tie_weights=True, labels=("a", "b"))])
def test_recurrent_parameters_match_the_torch_model(model):
    from rnntext.engines.torch.model import RNNLM

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


def test_with_a_time_limit_the_largest_size_that_gets_enough_epochs(monkeypatch):
    probed = []

    def fake_speed(cfg, vocab_size, hidden, budget_s=1.0):
        probed.append(hidden)
        return 4e9 / hidden ** 2  # 64: 977k tokens/s ... 1024: 3.8k tokens/s

    monkeypatch.setattr(autosize, "probe_speed", fake_speed)
    cfg = Config()
    cfg = replace(cfg, train=replace(cfg.train, time_limit=100.0))
    # 1M tokens, 10 epochs in 100 s need 100k tokens/s: 4e9/h^2 >= 1e5 -> h <= 200 -> 128
    size, why = autosize.choose_hidden_size(cfg, 65, 1_000_000)
    assert size == 128 and why["rule"] == "data and time" and set(why["tokens_per_s"]) == set(probed)
    assert len(probed) <= 3  # bisection over the 6 sizes the data allows (64..768), not all of them
    long = replace(cfg, train=replace(cfg.train, time_limit=2000.0))  # 5k tokens/s suffice: h <= 894 -> 768
    assert autosize.choose_hidden_size(long, 65, 1_000_000)[0] == 768
    assert autosize.choose_hidden_size(long, 65, 800_000)[0] == 512  # the data caps it: 2x768 has 7.3M > 6.4M


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
    assert info["training"]["auto_size"]["rule"] == "data and time"
    assert set(info["training"]["auto_size"]["tokens_per_s"]) == {"64"}
    rnntext.train(None, run, resume=True, max_iters=4, quiet=True, sample_every=0)
    assert read_toml(run / "config.toml")["model"]["hidden_size"] == [64]
    assert rnntext.load(run).info.model.hidden_sizes == (64,)
    fixed = tmp_path / "fixed"
    rnntext.train(corpus, fixed, max_iters=1, num_layers=1, hidden_size=(24,), embed_size=8, seq_len=8, batch_size=4,
                  sample_every=0, quiet=True, time_limit=30)
    assert read_toml(fixed / "config.toml")["model"]["hidden_size"] == [24]
    assert "auto_size" not in json.loads((fixed / "model.json").read_text())["training"]


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
