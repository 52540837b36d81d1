"""Training tokens/s of the NumPy engine vs a plain torch nn.LSTM step, same case.

The NumPy lab's scale: one LSTM layer of 128, T=25, B=64, V=65, float32, Adam, clipping at 5.
Each figure is the best of several timed rounds, since other processes share the CPU.
Prints one JSON line. Usage: python benchmarks/numpy_engine.py [--embed-size 0] [--rounds 5]
"""

import argparse
import json
import time

import numpy as np

from rnntext import hardware
from rnntext.config import ModelConfig
from rnntext.engines.numpy.network import loss_and_grads
from rnntext.engines.numpy.optim import clip_grad_norm, make_optimizer
from rnntext.model.parameters import init_params

B, T, V, H = 64, 25, 65, 128


def numpy_step_fn(embed_size, rng):
    cfg = ModelConfig(cell="lstm", num_layers=1, hidden_size=(H,), embed_size=embed_size)
    params = init_params(cfg, V, rng, np.float32)
    opt = make_optimizer("adam")
    state = [None]

    def step(x, y):
        _, grads, state[0] = loss_and_grads(params, cfg, x, y, state[0], train=True, rng=rng)
        clip_grad_norm(grads, 5.0)
        opt.step(params, grads, 2e-3)

    return step


def torch_step_fn(embed_size):
    import torch
    from torch import nn

    embedding = nn.Embedding(V, embed_size) if embed_size else None
    rnn, output = nn.LSTM(embed_size or V, H, batch_first=True), nn.Linear(H, V)
    modules = [m for m in (embedding, rnn, output) if m is not None]
    params = [p for m in modules for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    state = [None]

    def step(x, y):
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        inp = embedding(x) if embedding else nn.functional.one_hot(x, V).float()
        out, s = rnn(inp, state[0])
        state[0] = tuple(t.detach() for t in s)  # truncated BPTT: carry the state, not the graph
        loss = nn.functional.cross_entropy(output(out).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    return step


def tokens_per_second(step, batches, rounds):
    for x, y in batches[:3]:  # warm-up
        step(x, y)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for x, y in batches:
            step(x, y)
        best = min(best, time.perf_counter() - start)
    return len(batches) * B * T / best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--embed-size", type=int, default=0)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))) for _ in range(args.batches)]
    result = {
        "case": f"lstm 1x{H} T={T} B={B} V={V} embed={args.embed_size} float32 adam",
        "numpy_tokens_per_s": round(tokens_per_second(numpy_step_fn(args.embed_size, rng), batches, args.rounds)),
        "torch_tokens_per_s": round(tokens_per_second(torch_step_fn(args.embed_size), batches, args.rounds)),
    }
    import torch

    result["threads"] = torch.get_num_threads()
    print(json.dumps({**result, "machine": hardware.describe()}))


if __name__ == "__main__":
    main()
