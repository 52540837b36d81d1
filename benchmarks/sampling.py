"""Generation speed: the naive nn.LSTM loop against the NumPy runtime, as one JSON line.

    python benchmarks/sampling.py [--quick]

The reference model is issue 7's: a 2x256 LSTM, 65 tokens, embedding 64, random weights
(speed does not depend on what was learned). Measured, in this order (torch is imported last,
so that its thread pool cannot disturb the NumPy paths):
- `ttfc_runtime_s`: a fresh Python process that imports rnntext.generation, loads the weights
  from a safetensors file, builds the runtime, primes one token and samples one character
  (in-process seconds, and the process's whole wall time with interpreter start-up);
- `single_chars_per_s`: one stream, temperature 0.8, per cell type;
- `batch256_chars_per_s`: 256 streams in one batch, characters per second in total, per cell;
- `prime_10k_s`: a 10,000-token prime, per cell;
- `naive_torch_chars_per_s`: nn.LSTM called with sequence length 1 per character, softmax and
  torch.multinomial: the loop that char-rnn tutorials write; `speedup_vs_naive` divides by it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnntext.config import ModelConfig
from rnntext.generation import Rule, Runtime

V, E, H = 65, 64, 256
CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def random_weights(cfg: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch-named weights drawn like PyTorch's default init, U(-1/sqrt(H), 1/sqrt(H))."""
    rng = np.random.default_rng(seed)
    gates = {"lstm": 4, "gru": 3}.get(cfg.cell, 1)
    u = lambda shape, s: rng.uniform(-s, s, shape).astype(np.float32)  # noqa: E731
    weights = {"embedding.weight": rng.standard_normal((V, cfg.embed_size)).astype(np.float32)}
    d = cfg.embed_size
    for k, h in enumerate(cfg.hidden_sizes):
        s = h ** -0.5
        weights |= {f"rnn.weight_ih_l{k}": u((gates * h, d), s), f"rnn.weight_hh_l{k}": u((gates * h, h), s),
                    f"rnn.bias_ih_l{k}": u((gates * h,), s), f"rnn.bias_hh_l{k}": u((gates * h,), s)}
        d = h
    weights |= {"output.weight": u((V, d), d ** -0.5), "output.bias": u((V,), d ** -0.5)}
    return weights


def chars_per_second(runtime: Runtime, batch: int, seconds: float) -> float:
    streams = runtime.streams(batch)
    streams.prime([0])
    rule, n = Rule(temperature=0.8), max(50, int(12000 * seconds / batch ** 0.5))
    for _ in streams.generate(50, rule, seed=1):  # warm the caches and the BLAS threads
        pass
    start = time.perf_counter()
    for _ in streams.generate(n, rule, seed=2):
        pass
    return n * batch / (time.perf_counter() - start)


def prime_seconds(runtime: Runtime, length: int = 10_000) -> float:
    ids = np.random.default_rng(0).integers(0, V, length)
    streams = runtime.streams(1)
    streams.prime(ids[:100])
    streams.reset()
    start = time.perf_counter()
    streams.prime(ids)
    return time.perf_counter() - start


TTFC = """
import time
start = time.perf_counter()
from safetensors.numpy import load_file
from rnntext.config import ModelConfig
from rnntext.generation import Rule, Runtime
streams = Runtime(ModelConfig(), {V}, load_file({path!r})).streams(1)
streams.prime([0])
next(iter(streams.generate(1, Rule(temperature=0.8))))
print(time.perf_counter() - start)
"""


def time_to_first_char(weights: dict[str, np.ndarray]) -> tuple[float, float]:
    """(in-process seconds, whole-process wall seconds) for import + load + build + first char."""
    from safetensors.numpy import save_file

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "model.safetensors")
        save_file(weights, path)
        code = TTFC.format(V=V, path=path)
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # warm the file cache
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        return float(out.stdout), time.perf_counter() - start


def naive_torch(weights: dict[str, np.ndarray], seconds: float) -> float:
    """nn.LSTM, one character per call: the baseline issue 7 measured at about 370 chars/s."""
    import torch
    from torch import nn

    embed, lstm, out = nn.Embedding(V, E), nn.LSTM(E, H, num_layers=2), nn.Linear(H, V)
    with torch.no_grad():
        embed.weight.copy_(torch.from_numpy(weights["embedding.weight"]))
        for name, p in lstm.named_parameters():
            p.copy_(torch.from_numpy(weights[f"rnn.{name}"]))
        out.weight.copy_(torch.from_numpy(weights["output.weight"]))
        out.bias.copy_(torch.from_numpy(weights["output.bias"]))
        x, state, n = torch.zeros(1, 1, dtype=torch.long), None, 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            y, state = lstm(embed(x), state)
            probs = torch.softmax(out(y[0, 0]) / 0.8, dim=-1)
            x = torch.multinomial(probs, 1).view(1, 1)
            n += 1
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (a smoke test)")
    seconds = 0.3 if parser.parse_args().quick else 2.0
    lstm_weights = random_weights(ModelConfig())
    ttfc, ttfc_wall = time_to_first_char(lstm_weights)
    single, batch, prime = {}, {}, {}
    for cell in CELLS:
        cfg = ModelConfig(cell=cell)
        runtime = Runtime(cfg, V, lstm_weights if cell == "lstm" else random_weights(cfg))
        single[cell] = round(chars_per_second(runtime, 1, seconds))
        batch[cell] = round(chars_per_second(runtime, 256, seconds))
        prime[cell] = round(prime_seconds(runtime), 3)
    naive = naive_torch(lstm_weights, seconds)
    print(json.dumps({
        "benchmark": "sampling", "model": "lstm 2x256, V=65, embed 64",
        "single_chars_per_s": single, "batch256_chars_per_s": batch, "prime_10k_s": prime,
        "ttfc_runtime_s": round(ttfc, 3), "ttfc_runtime_process_wall_s": round(ttfc_wall, 3),
        "naive_torch_chars_per_s": round(naive),
        "speedup_vs_naive": {"single": round(single["lstm"] / naive, 1), "batch256": round(batch["lstm"] / naive, 1)},
    }))


if __name__ == "__main__":
    main()
