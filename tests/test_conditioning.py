"""Conditioning (static input): a one-hot label joins every step's input, in every engine."""

import numpy as np
import pytest
import torch

import rnntext
from rnntext import cells
from rnntext.config import ModelConfig
from rnntext.engines.numpy.gradcheck import relative_errors
from rnntext.engines.numpy.network import forward, loss_and_grads
from rnntext.engines.torch.module import RNNLM
from rnntext.generation.runtime import Runtime
from rnntext.model.parameters import init_params

V, B, T = 6, 2, 3


def config(cell, embed):
    return ModelConfig(cell=cell, num_layers=2, hidden_size=(5, 4), embed_size=embed, labels=("a", "b", "c"),
                       dropout=0.0, weight_drop=0.0)


@pytest.mark.parametrize("cell", cells.names())
@pytest.mark.parametrize("embed", [0, 4])
def test_label_gradients_and_parity(cell, embed):
    cfg = config(cell, embed)
    rng = np.random.default_rng(0)
    params = init_params(cfg, V, rng, np.float64)
    params = {k: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    x, y, cond = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T)), rng.integers(0, 3, (B, T))
    errors = relative_errors(params, lambda ps: loss_and_grads(ps, cfg, x, y, cond=cond)[:2], 1e-4)
    assert max(e for _, e in errors) <= 1e-7, errors
    assert params["rnn.weight_ih_l0"].shape == (len(params["rnn.bias_ih_l0"]), (embed or V) + 3)
    model = RNNLM(cfg, V).double()
    model.load_weights({k: torch.from_numpy(v) for k, v in params.items()})
    ours = forward(params, cfg, x, cond=cond)[0]
    theirs = model(torch.from_numpy(x), cond=torch.from_numpy(cond))[0].detach().numpy()
    assert np.abs(ours - theirs).max() < 1e-10


def test_runtime_folds_the_label_into_its_table():
    cfg = config("lstm", 4)
    params = init_params(cfg, V, np.random.default_rng(1), np.float32)
    model = RNNLM(cfg, V).eval()
    model.load_weights({k: torch.from_numpy(v) for k, v in params.items()})
    ids = np.array([1, 4, 2, 0])
    for label in range(3):
        streams = Runtime(cfg, V, params, label).streams(1)
        got = streams.prime(ids)
        want = model(torch.from_numpy(ids[None]), cond=torch.full((1, 4), label))[0][0, -1].detach().numpy()
        assert np.abs(got[0] - want).max() < 1e-5


def test_labels_from_files_end_to_end(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "lower.txt").write_text("the quick brown fox jumps over the lazy dog\n" * 60)
    (folder / "upper.txt").write_text("THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG\n" * 60)
    run = tmp_path / "run"
    rnntext.train(folder, run, condition_by="file", val_frac=0.1, max_iters=250, lr=1e-2, num_layers=1,
                  hidden_size=(48,), embed_size=16, seq_len=20, batch_size=8, sample_every=0, quiet=True,
                  dropout=0.1, weight_drop=0.0)  # 250 steps on 5 KB: light regularisation
    model = rnntext.load(run)
    assert model.info.model.labels == ("lower", "upper")
    text = "the quick brown fox jumps over the lazy dog\n" * 4
    own, other = model.evaluate(text, condition="lower")["loss"], model.evaluate(text, condition="upper")["loss"]
    # the right label predicts the text almost perfectly; the wrong one costs half a nat per character
    assert own < 0.05 and other - own > 0.5
    sample = model.generate("\n", length=40, temperature=0.2, seed=0, condition="upper")
    assert sum(c.isupper() for c in sample) > sum(c.islower() for c in sample)
    with pytest.raises(rnntext.RnntextError, match="one of lower, upper"):
        model.generate(length=5)


def test_tab_labels_in_line_mode(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"{'pos' if i % 2 else 'neg'}\t{'good great fine' if i % 2 else 'bad awful poor'}\n"
                            for i in range(200)))
    data = tmp_path / "d.h5"
    rnntext.prepare(path, data, level="word", lines=True, condition_by="tab", val_frac=0.1)
    from rnntext.data.dataset import open_dataset

    with open_dataset(data) as ds:
        assert ds.labels == ["neg", "pos"]
        segments = ds.segments("train")
        assert segments[:3].tolist() == [[0, 0], [5, 1], [10, 0]]  # <s> w w w </s> per line, labels alternate
    run = tmp_path / "run"
    rnntext.train(data, run, max_iters=120, lr=1e-2, num_layers=1, hidden_size=(32,), embed_size=16, seq_len=8,
                  batch_size=8, sample_every=0, quiet=True)
    model = rnntext.load(run)
    assert model.generate(length=10, temperature=0.1, seed=0, condition="pos") == "good great fine"
    assert model.generate(length=10, temperature=0.1, seed=0, condition="neg") == "bad awful poor"
    bad = tmp_path / "bad.txt"
    bad.write_text("no tab here\n")
    with pytest.raises(rnntext.RnntextError, match="no LABEL<TAB>"):
        rnntext.prepare(bad, tmp_path / "x.h5", condition_by="tab")
