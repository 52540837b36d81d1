"""Training steps and evaluation sums, as the trainer uses them."""

import numpy as np
import pytest

from rnntext.config import ModelConfig
from rnntext.engines.numpy.engine import evaluate_batch, train_step
from rnntext.engines.numpy.optim import make_optimizer
from rnntext.model.parameters import init_params

TEXT = "the quick brown fox jumps over the lazy dog. " * 2


def test_a_tiny_model_overfits_a_short_string():
    vocab = sorted(set(TEXT))
    ids = np.array([vocab.index(c) for c in TEXT])
    x, y = ids[None, :-1], ids[None, 1:]
    cfg = ModelConfig(cell="lstm", num_layers=1, hidden_size=(32,), embed_size=8, dropout=0.1)
    rng = np.random.default_rng(0)
    params = init_params(cfg, len(vocab), rng, np.float32)
    opt = make_optimizer("adam")
    first = None
    for _ in range(150):
        loss, norm, _ = train_step(params, cfg, opt, x, y, None, 1e-2, clip_norm=5.0, rng=rng)
        first = first or loss
        assert np.isfinite(norm)
    nll, count, correct, _ = evaluate_batch(params, cfg, x, y)
    assert first > 2.5 and nll / count < 0.3 and correct / count > 0.9


def test_evaluate_batch_counts_only_unmasked_tokens():
    cfg = ModelConfig(cell="gru", num_layers=1, hidden_size=(4,), embed_size=0)
    params = init_params(cfg, 5, np.random.default_rng(1), np.float64)
    x = np.array([[1, 2, 3]])
    mask = np.array([[1, 1, 0]])
    nll, count, correct, _ = evaluate_batch(params, cfg, x, x, mask=mask)
    nll2, count2, _, _ = evaluate_batch(params, cfg, x[:, :2], x[:, :2])
    assert count == 2 and nll == pytest.approx(nll2, rel=1e-12) and 0 <= correct <= 2
