"""Runs for the inspection tests, written directly (no training): random weights of the project's
initialisation for every cell, and an LSTM built by hand whose cell 0 counts open brackets."""

from pathlib import Path

import numpy as np
import pytest

from rnntext.config import ModelConfig
from rnntext.model.parameters import init_params
from rnntext.model.saved import RunInfo, write_model
from rnntext.text.levels.symbols import build_vocab

# A code-like text: nested brackets, quotes, lines of different lengths.
LINES = ['print("hello (world)")', "x = [a, (b + c) * d]", "def f(y):", '    return {"k": [y, (y * 2)]}',
         "z = f((1 + 2) * [3])", '# a "quoted" remark', "w = g(h(i(j)))", ""]
TEXT = "\n".join(LINES * 12)


def write_run(root: Path, name: str, cfg: ModelConfig, vocab, weights: dict, training: dict | None = None,
              data: dict | None = None) -> Path:
    """A run directory as `train` writes it: model.json (with `training` and `data`) and the weights."""
    run = root / name
    run.mkdir()
    write_model(run, RunInfo(run, cfg, vocab, data or {}, training or {}), weights)
    return run


def random_run(root: Path, cell: str, seed: int = 0, scale: float = 1.0, text: str = TEXT, **options) -> Path:
    """A 2-layer `cell` model (6 and 5 units) over the characters of `text`, its initial weights
    times `scale` (livelier activations)."""
    vocab = build_vocab("char", [text])[0]
    cfg = ModelConfig(cell=cell, dropout=0.0, weight_drop=0.0, **{"num_layers": 2, "hidden_size": (6, 5),
                                                                  "embed_size": 4, **options})
    weights = {k: v * scale for k, v in init_params(cfg, len(vocab), np.random.default_rng(seed)).items()}
    return write_run(root, f"{cell}-{seed}", cfg, vocab, weights)


def bracket_run(root: Path, text: str = TEXT, name: str = "brackets") -> Path:
    """A one-layer LSTM of 3 units over one-hot characters, built by hand: its input, forget and
    output gates are open (bias 20: sigmoid = 1 in float32) and unit 0's candidate g is +1 on an
    opening bracket, -1 on a closing one and 0 otherwise, so its cell state c is the bracket
    depth. Units 1 and 2 have small random weights."""
    vocab = build_vocab("char", [text])[0]
    V, H = len(vocab), 3
    cfg = ModelConfig(cell="lstm", dropout=0.0, weight_drop=0.0, num_layers=1, hidden_size=(H,), embed_size=0)
    rng = np.random.default_rng(1)
    w = {k: (0.3 * rng.standard_normal(v.shape)).astype(np.float32)
         for k, v in init_params(cfg, V, rng).items()}
    for block in (0, 1, 3):  # i, f, o of unit 0 always open
        w["rnn.weight_ih_l0"][block * H] = 0
        w["rnn.weight_hh_l0"][block * H] = 0
        w["rnn.bias_ih_l0"][block * H], w["rnn.bias_hh_l0"][block * H] = 20, 0
    g = 2 * H  # unit 0's candidate row
    w["rnn.weight_ih_l0"][g] = w["rnn.weight_hh_l0"][g] = w["rnn.bias_ih_l0"][g] = w["rnn.bias_hh_l0"][g] = 0
    for ch, sign in zip("([{)]}", (20, 20, 20, -20, -20, -20)):
        if ch in vocab:
            w["rnn.weight_ih_l0"][g, vocab.id(ch)] = sign
    return write_run(root, name, cfg, vocab, w)


@pytest.fixture
def run_of(tmp_path):
    """run_of(cell, **options): a random-weight run of that cell in tmp_path."""
    return lambda cell, **options: random_run(tmp_path, cell, **options)
