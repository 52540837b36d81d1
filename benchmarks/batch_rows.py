"""What the server's row-wise batch costs against the plain batch, as one JSON line.

    python benchmarks/batch_rows.py [--hidden 128 512] [--batch 64] [--steps 200]

The NumPy runtime's steps per second, in tokens (streams x steps): one stream, a plain batch
(matrix-matrix products) and a row-wise batch (one matrix-vector product per stream: what
`rnntext serve` steps, so that each request's text is independent of the others), for a
2-layer LSTM of each hidden size with random weights (65 tokens, embedding 32): the best of 7
rounds that measure each in turn.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from rnntext import hardware
from rnntext.config import ModelConfig
from rnntext.generation.runtime import Runtime

V = 65


def tokens_per_s(variants: dict, steps: int, rounds: int = 7) -> dict:
    """{name: tokens per second} of each Streams in `variants`, measured in turn, best of `rounds`
    (interleaved, so that a busy moment of the machine does not fall on one variant only)."""
    best = dict.fromkeys(variants, float("inf"))
    for streams in variants.values():
        streams.prime([1, 2, 3])
    for _ in range(rounds):
        for name, streams in variants.items():
            ids = np.zeros(streams.B, np.int64)
            n = steps if streams.B == 1 else max(10, steps // 8)
            start = time.perf_counter()
            for _ in range(n):
                streams.step(ids)
            best[name] = min(best[name], (time.perf_counter() - start) / (n * streams.B))
    return {name: round(1 / t) for name, t in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    results = {}
    for H in args.hidden:
        cfg = ModelConfig(cell="lstm", num_layers=2, hidden_size=(H,), embed_size=32)
        shapes = {"embedding.weight": (V, 32), "output.weight": (V, H), "output.bias": (V,)}
        for k, D in enumerate((32, H)):
            shapes |= {f"rnn.weight_ih_l{k}": (4 * H, D), f"rnn.weight_hh_l{k}": (4 * H, H),
                       f"rnn.bias_ih_l{k}": (4 * H,), f"rnn.bias_hh_l{k}": (4 * H,)}
        weights = {name: rng.normal(0, 0.1, shape).astype(np.float32) for name, shape in shapes.items()}
        runtime = Runtime(cfg, V, weights)
        variants = {"one_stream": runtime.streams(1), "plain_batch": runtime.streams(args.batch),
                    "rowwise_batch": runtime.streams(args.batch, rowwise=True)}
        results[f"lstm_2x{H}"] = tokens_per_s(variants, args.steps)
    print(json.dumps({"benchmark": "batch_rows", "machine": hardware.describe(), "batch": args.batch,
                      "tokens_per_s": results}))


if __name__ == "__main__":
    main()
