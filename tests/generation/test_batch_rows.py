"""Batches whose streams come and go (a server's): row-wise products, copied streams, per-row rules."""

import numpy as np
import pytest
import torch

from rnntext import cells
from rnntext.config import ModelConfig
from rnntext.engines.torch.module import RNNLM
from rnntext.generation.rules import RowSampler, Rule, Sampler
from rnntext.generation.runtime import Runtime

V = 29


def runtime(cell: str, hidden=(33, 17)) -> Runtime:
    cfg = ModelConfig(cell=cell, num_layers=len(hidden), hidden_size=hidden, embed_size=5)
    torch.manual_seed(0)
    weights = {k: v.detach().numpy().copy() for k, v in RNNLM(cfg, V).weights().items()}
    return Runtime(cfg, V, weights)


@pytest.mark.parametrize("cell", cells.names())
def test_a_rowwise_batch_steps_each_stream_as_a_lone_stream_bit_for_bit(cell):
    rt = runtime(cell)
    rng = np.random.default_rng(1)
    lone = [rt.streams(1) for _ in range(6)]
    for j, s in enumerate(lone):
        s.prime(rng.integers(0, V, 2 + j))
    # Streams join and leave between steps: rows 0-2, then 0-4 (two joined), then 3, 4 and 1.
    plans = [[0, 1, 2], [0, 1, 2, 3, 4], [3, 4, 1]]
    batch, members = None, []
    for plan in plans:
        grown = rt.streams(len(plan), rowwise=True)
        for at, j in enumerate(plan):
            if j in members:
                grown.copy_streams([at], batch, [members.index(j)])
            else:
                grown.copy_streams([at], lone[j], [0])
        batch, members = grown, plan
        for _ in range(40):
            ids = rng.integers(0, V, len(plan))
            want = np.concatenate([lone[j].step(ids[at:at + 1]) for at, j in enumerate(plan)])
            np.testing.assert_array_equal(batch.step(ids), want)  # equal, not close


def test_copy_streams_broadcasts_one_primed_stream():
    rt = runtime("lstm")
    one = rt.streams(1)
    one.prime([3, 1, 4])
    batch = rt.streams(4, rowwise=True)
    batch.copy_streams(slice(1, 4), one, np.zeros(3, np.int64))
    np.testing.assert_array_equal(batch.logits[1:], np.repeat(one.logits, 3, axis=0))
    assert not batch.logits[0].any()
    np.testing.assert_array_equal(batch.step(np.array([0, 2, 2, 2]))[1:], np.repeat(one.step([2]), 3, axis=0))


def test_row_sampler_draws_for_each_row_what_sampler_draws_for_it_alone():
    rng = np.random.default_rng(0)
    rules = [Rule(), Rule(temperature=0.5, top_k=3), Rule(top_p=0.6), Rule(greedy=True), Rule(temperature=0),
             Rule(temperature=3.0, top_k=5, top_p=0.9), Rule(top_k=1), Rule(top_k=V), Rule(top_k=40),
             Rule(top_p=1e-9), Rule(temperature=0.01)]
    for trial in range(400):
        chosen = [rules[i] for i in rng.integers(0, len(rules), rng.integers(1, 9))]
        logits = rng.normal(0, 3, (len(chosen), V)).astype(np.float32)
        if trial % 4 == 0:
            logits[:, ::3] = logits[:, :1]  # ties: broken by the lower id, as Sampler does
        u = rng.random(len(chosen))
        u[0] = 0.0 if trial % 5 == 0 else u[0]
        want = [Sampler(rule, 1, V)(logits[b:b + 1], u[b:b + 1])[0] for b, rule in enumerate(chosen)]
        np.testing.assert_array_equal(RowSampler(chosen, V)(logits, u), want)
