"""The torch sampling path against the NumPy runtime: same logits, same seed -> same text."""

import numpy as np
import pytest
import torch

from rnntext import cells
from rnntext.config import ModelConfig
from rnntext.engines.torch.streams import TorchStreams
from rnntext.errors import ConfigError
from rnntext.generation.rules import Rule
from rnntext.generation.runtime import Runtime

V = 7
CELLS = cells.names()
BF16_TOL = 5e-2  # bf16 keeps 8 bits of mantissa: pre-activations carry ~0.4% relative error


def weights(cfg: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch-named weights of a fresh RNNLM, biases pushed off zero so that a misplaced one shows."""
    from rnntext.engines.torch.module import RNNLM

    torch.manual_seed(seed)
    model = RNNLM(cfg, V)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bias" in name:
                p.add_(torch.rand_like(p) * 0.4 - 0.2)
    return {k: v.numpy().copy() for k, v in model.weights().items()}


def both(cfg, batch, precision="float32"):
    w = weights(cfg)
    return Runtime(cfg, V, w).streams(batch), TorchStreams(cfg, V, w, batch, device="cpu", precision=precision)


PRIME = [1, 4, 0, 6, 2, 2, 5, 3]
CASES = [(cell, layers, embed) for cell in CELLS for layers in (1, 2) for embed in (0, 5)]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("cell,num_layers,embed", CASES)
def test_float32_logits_equal_numpy_runtime(cell, num_layers, embed, batch):
    cfg = ModelConfig(cell=cell, num_layers=num_layers, hidden_size=(6, 5)[:num_layers], embed_size=embed)
    ref, ts = both(cfg, batch)
    assert np.allclose(ts.prime(PRIME), ref.prime(PRIME), atol=1e-5, rtol=0)
    rng = np.random.default_rng(0)
    for _ in range(6):
        ids = rng.integers(0, V, batch)
        assert np.allclose(ts.step(ids), ref.step(ids), atol=1e-5, rtol=0)
    # a second prime once the streams differ goes through all B streams
    assert np.allclose(ts.prime([3, 1]), ref.prime([3, 1]), atol=1e-5, rtol=0)
    ts.reset()
    ref.reset()
    assert np.allclose(ts.prime(PRIME), ref.prime(PRIME), atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", CELLS)
def test_same_seed_same_tokens_as_numpy(cell):
    cfg = ModelConfig(cell=cell, num_layers=2, hidden_size=(16,), embed_size=8)
    ref, ts = both(cfg, 4)
    ref.prime(PRIME)
    ts.prime(PRIME)
    rule = Rule(temperature=1.0)
    got = np.stack(list(ts.generate(300, rule, seed=7)))       # (300, 4)
    want = np.stack(list(ref.generate(300, rule, seed=7)))
    assert got.shape == (300, 4) and len(np.unique(got)) > 3   # really sampling, not stuck
    assert np.array_equal(got, want)


def test_stop_token_and_stream_zero_matches_one_stream():
    cfg = ModelConfig(num_layers=1, hidden_size=(8,), embed_size=4)
    w = weights(cfg)
    one, many = (TorchStreams(cfg, V, w, b, device="cpu") for b in (1, 5))
    one.prime(PRIME)
    many.prime(PRIME)
    rule = Rule(temperature=0.9, top_k=4)
    a = np.stack(list(one.generate(50, rule, seed=3)))[:, 0]
    b = np.stack(list(many.generate(50, rule, seed=3)))[:, 0]
    assert np.array_equal(a, b)
    many.prime(PRIME)
    stop = int(a[0])  # stream 0 stops at once
    out = np.stack(list(many.generate(200, rule, seed=3, stop=stop)))
    assert out[0, 0] == stop and (out[1:, 0] == -1).all()
    for col in out.T:
        if (col == stop).any():
            assert (col[np.argmax(col == stop) + 1:] == -1).all()


@pytest.mark.parametrize("cell", CELLS)
def test_bfloat16_close_to_float32(cell):
    cfg = ModelConfig(cell=cell, num_layers=2, hidden_size=(32,), embed_size=8)
    w = weights(cfg)
    f32, b16 = (TorchStreams(cfg, V, w, 3, device="cpu", precision=p) for p in ("float32", "bfloat16"))
    assert np.abs(b16.prime(PRIME) - f32.prime(PRIME)).max() == 0  # the prime runs in float32
    rng = np.random.default_rng(1)
    for _ in range(20):
        ids = rng.integers(0, V, 3)
        assert np.abs(b16.step(ids) - f32.step(ids)).max() < BF16_TOL
    assert b16.logits.dtype == np.float32 and b16.logits.shape == (3, V)
    tokens = np.stack(list(b16.generate(30, Rule(temperature=0.8), seed=0)))
    assert tokens.shape == (30, 3) and tokens.min() >= 0 and tokens.max() < V


def test_bad_input():
    cfg = ModelConfig(num_layers=1, hidden_size=(4,), embed_size=3)
    with pytest.raises(ConfigError, match="precision"):
        TorchStreams(cfg, V, weights(cfg), 1, device="cpu", precision="float8")
    ts = TorchStreams(cfg, V, weights(cfg), 2, device="cpu")
    with pytest.raises(ValueError, match="prime the streams"):
        next(iter(ts.generate(3, Rule())))
    with pytest.raises(ValueError, match="token ids"):
        ts.prime([V])
    with pytest.raises(ValueError, match="at least one"):
        ts.prime([])


def teacher_forced_nll(streams, ids: np.ndarray) -> float:
    """Mean nats per token of ids[1:] given the tokens before each, fed one at a time (one stream)."""
    logits, total = streams.prime(ids[:1]), 0.0
    for t in range(1, len(ids)):
        z = logits[0].astype(np.float64)
        total += np.log(np.exp(z - z.max()).sum()) + z.max() - z[ids[t]]
        if t + 1 < len(ids):
            logits = streams.step([ids[t]])
    return total / (len(ids) - 1)


def test_bfloat16_sampling_scores_text_within_a_hundredth_of_a_nat_of_float32(tmp_path, corpus):
    """What `auto` may choose for many streams on a CPU with native bf16 (rnntext.options): its
    logits score a text, token by token, within 0.01 nats per token of float32's."""
    import rnntext

    run = tmp_path / "run"
    rnntext.train(corpus, run, max_iters=60, num_layers=2, hidden_size=(64,), embed_size=16, seq_len=32,
                  batch_size=8, sample_every=0, quiet=True)
    model = rnntext.load(run)
    ids = model.encode(corpus.read_text(encoding="utf-8")[:1500])[0]
    scores = {p: teacher_forced_nll(TorchStreams(model.info.model, len(model.vocab), model.weights, 1, device="cpu",
                                                 precision=p), ids) for p in ("float32", "bfloat16")}
    assert scores["float32"] < 2.5  # the model learned something: the comparison means something
    assert 0 < abs(scores["bfloat16"] - scores["float32"]) < 0.01, scores
