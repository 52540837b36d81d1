"""Generation speed: the naive nn.LSTM loop against the NumPy runtime, as one JSON line.

    python benchmarks/sampling.py [--quick] [--no-cli]
    python benchmarks/sampling.py --by-streams    # what rnntext.options.SAMPLING_SPEEDS holds

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
  torch.multinomial: the loop that char-rnn tutorials write; `speedup_vs_naive` divides by it;
- `torch_chars_per_s`: the torch engine's TorchStreams (LSTM), float32 and bfloat16, one stream
  and 256 streams, through the same generate loop and host-side sampler as the NumPy runtime;
  `torch_prime_10k_s` is its prime (the fused torch.lstm kernel, float32);
- `bf16_vs_fp32`: how far bfloat16 strays from float32 on the same inputs: 256 streams fed the
  float32 path's own sampled tokens for 1000 steps (teacher forcing), the fraction of
  (stream, step) whose argmax differs, the largest absolute logit difference and the logits'
  standard deviation for scale; and one free-running greedy stream of 1000 characters in each
  precision: the first step where the texts part and the fraction of characters that differ.
  Random weights give flat logits (near-ties), so a trained model disagrees less often.
- `cli`: `rnntext sample RUN --length 50000` in a fresh process (a run directory written here
  with the same weights), start-up included: characters per second over the whole wall time
  and the time from the process's start to the first generated character on its stdout; and
  `--num-samples 256 --length 2000` with the default engine and precision.

Beside each speed stands the limit it implies (`limit`): the weight bytes one character reads
(a step reads every weight once, for all B streams together), the measured read bandwidth of
one core over a working set of the weights' size (`bandwidth`: where a step finds its weights),
the ceiling that gives in characters per second, and the fraction of it reached. A path that
runs on several cores can pass the one-core ceiling; a batch of 256 is bound by arithmetic
long before it is by bandwidth, so its fraction is small.
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

from rnntext import hardware
from rnntext.config import ModelConfig
from rnntext.generation.rules import Rule
from rnntext.generation.runtime import Runtime

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


def one_core_bandwidth(nbytes: int, seconds: float = 0.3) -> float:
    """Bytes per second one core reads from a float32 array of `nbytes`, read again and again as
    a generation step reads its weights (from the caches where they fit): the best of many
    passes of a vectorised reduction (NumPy runs it on this one thread)."""
    a = np.random.default_rng(0).random(max(1, nbytes // 4), np.float32)
    a.max()
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(4):
            a.max()
        best = max(best, 4 * a.nbytes / (time.perf_counter() - start))
    return best


def weight_bytes(runtime: Runtime) -> int:
    """Bytes of weights one step reads: every packed matrix once, plus one table row per stream."""
    p = runtime.packed
    return p.rec0.nbytes + sum(m.nbytes for m in p.stacked) + p.out.nbytes + p.table[0].nbytes


def torch_weight_bytes(runtime: Runtime, precision: str) -> int:
    """The torch path's: its recurrent products in `precision`, the output layer in float32."""
    p, size = runtime.packed, {"float32": 4, "bfloat16": 2, "float16": 2}[precision]
    return (p.rec0.size + sum(m.size for m in p.stacked)) * size + p.out.nbytes + p.table[0].nbytes


def limit(chars_per_s: float, step_bytes: int, batch: int, bandwidth: float) -> dict:
    """A speed beside its bandwidth ceiling: weight bytes per character, the ceiling, the fraction."""
    per_char = step_bytes / batch
    ceiling = bandwidth / per_char
    return {"chars_per_s": round(chars_per_s), "weight_bytes_per_char": round(per_char),
            "ceiling_chars_per_s": round(ceiling), "fraction": round(chars_per_s / ceiling, 3)}


def chars_per_second(streams, seconds: float) -> float:
    """Characters per second in total from `streams` (the NumPy runtime's or TorchStreams)."""
    batch = streams.B
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
from rnntext.generation.rules import Rule
from rnntext.generation.runtime import Runtime
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


CLI_LENGTH, CLI_MANY, CLI_MANY_LENGTH = 50_000, 256, 2000


def write_run(root: Path, weights: dict[str, np.ndarray]) -> Path:
    """A run directory holding `weights` (model.json and model.safetensors), as training leaves one."""
    from rnntext.model.saved import RunInfo, write_model
    from rnntext.text.levels import vocab_from_json

    vocab = vocab_from_json({"level": "char", "tokens": ["\n"] + [chr(32 + i) for i in range(V - 1)]})
    run = root / "run"
    run.mkdir()
    write_model(run, RunInfo(run, ModelConfig(), vocab, {}, {}), weights)
    return run


def cli_seconds(run: Path, *flags: str) -> tuple[float, float]:
    """(seconds to the first byte on stdout, seconds to the end) of `rnntext sample RUN FLAGS` in a
    fresh process, reading its stdout unbuffered; the best of three (the first warms the file cache)."""
    cmd = [sys.executable, "-m", "rnntext", "sample", str(run), "--seed", "1", *flags]
    best = (float("inf"), float("inf"))
    for _ in range(3):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        first = None
        while proc.stdout.read(65536):
            first = first or time.perf_counter() - start
        if proc.wait():
            raise RuntimeError(f"{' '.join(cmd)} exited with status {proc.returncode}")
        best = min(best, (first, time.perf_counter() - start), key=lambda t: t[1])
    return best


def cli(weights, runtime: Runtime, bandwidth: float) -> dict:
    """The command line, start-up included: one stream of CLI_LENGTH, and CLI_MANY streams."""
    with tempfile.TemporaryDirectory() as tmp:
        run = write_run(Path(tmp), weights)
        first, wall = cli_seconds(run, "--length", str(CLI_LENGTH))
        _, many = cli_seconds(run, "--length", str(CLI_MANY_LENGTH), "--num-samples", str(CLI_MANY))
    step = weight_bytes(runtime)
    return {"one_stream": {"length": CLI_LENGTH, "wall_s": round(wall, 3), "first_char_s": round(first, 3),
                           **limit(CLI_LENGTH / wall, step, 1, bandwidth)},
            "many_streams": {"streams": CLI_MANY, "length": CLI_MANY_LENGTH, "wall_s": round(many, 3),
                             **limit(CLI_MANY * CLI_MANY_LENGTH / many, step, CLI_MANY, bandwidth)}}


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


def torch_chars_per_second(weights, batch: int, precision: str, seconds: float) -> float:
    from rnntext.engines.torch.streams import TorchStreams

    streams = TorchStreams(ModelConfig(), V, weights, batch, device="cpu", precision=precision)
    return chars_per_second(streams, seconds)


def torch_prime_seconds(weights, length: int = 10_000) -> float:
    from rnntext.engines.torch.streams import TorchStreams

    ids = np.random.default_rng(0).integers(0, V, length)
    streams = TorchStreams(ModelConfig(), V, weights, 1, device="cpu")
    streams.prime(ids[:100])
    streams.reset()
    start = time.perf_counter()
    streams.prime(ids)
    return time.perf_counter() - start


def bf16_divergence(weights, steps: int = 1000, batch: int = 256) -> dict:
    """bfloat16 against float32 on the same inputs (teacher forced) and free-running greedy."""
    from rnntext.engines.torch.streams import TorchStreams

    make = lambda b, p: TorchStreams(ModelConfig(), V, weights, b, device="cpu", precision=p)  # noqa: E731
    prime = np.random.default_rng(0).integers(0, V, 100)
    f32, b16 = make(batch, "float32"), make(batch, "bfloat16")
    f32.prime(prime)
    b16.prime(prime)
    disagree, worst, spread = 0, 0.0, []
    for ids in f32.generate(steps, Rule(temperature=0.8), seed=0):
        disagree += int((f32.logits.argmax(1) != b16.logits.argmax(1)).sum())
        worst = max(worst, float(np.abs(f32.logits - b16.logits).max()))
        spread.append(float(f32.logits.std()))
        b16.step(ids)
    texts = []
    for precision in ("float32", "bfloat16"):
        one = make(1, precision)
        one.prime(prime)
        texts.append(np.concatenate(list(one.generate(steps, Rule(greedy=True)))))
    differ = texts[0] != texts[1]
    return {"teacher_forced_argmax_disagreement": round(disagree / (steps * batch), 5),
            "max_abs_logit_diff": round(worst, 4), "logit_std": round(float(np.mean(spread)), 4),
            "greedy_first_divergence_step": int(np.argmax(differ)) if differ.any() else None,
            "greedy_chars_differing": round(float(differ.mean()), 4)}


STREAMS = (1, 4, 16, 32, 64, 128, 256)


def by_streams(seconds: float) -> dict:
    """Characters per second in total of every sampling path by streams side by side: the table
    sampling's auto rule reads (rnntext.options.SAMPLING_SPEEDS, one per kind of CPU)."""
    weights = random_weights(ModelConfig())
    runtime = Runtime(ModelConfig(), V, weights)
    table = {"numpy float32": {b: round(chars_per_second(runtime.streams(b), seconds)) for b in STREAMS}}
    for precision in ("float32", "bfloat16"):
        table[f"torch {precision}"] = {b: round(torch_chars_per_second(weights, b, precision, seconds)) for b in STREAMS}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (a smoke test)")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line measures")
    parser.add_argument("--by-streams", action="store_true", help="only every path's speed by streams")
    args = parser.parse_args()
    seconds = 0.3 if args.quick else 2.0
    if args.by_streams:
        print(json.dumps({"machine": hardware.describe(), "benchmark": "sampling by streams",
                          "model": "lstm 2x256, V=65, embed 64", "chars_per_s": by_streams(seconds)}))
        return
    lstm_weights = random_weights(ModelConfig())
    lstm = Runtime(ModelConfig(), V, lstm_weights)
    bandwidth = one_core_bandwidth(weight_bytes(lstm))
    bandwidths = {"weights_size_gb_s": round(bandwidth / 1e9, 1), "working_set_bytes": weight_bytes(lstm),
                  "dram_gb_s": round(one_core_bandwidth(256 << 20) / 1e9, 1)}
    command_line = None if args.no_cli else cli(lstm_weights, lstm, bandwidth)
    ttfc, ttfc_wall = time_to_first_char(lstm_weights)
    single, batch, prime = {}, {}, {}
    for cell in CELLS:
        cfg = ModelConfig(cell=cell)
        runtime = lstm if cell == "lstm" else Runtime(cfg, V, random_weights(cfg))
        step = weight_bytes(runtime)
        single[cell] = limit(chars_per_second(runtime.streams(1), seconds), step, 1, bandwidth)
        batch[cell] = limit(chars_per_second(runtime.streams(256), seconds), step, 256, bandwidth)
        prime[cell] = round(prime_seconds(runtime), 3)
    naive = naive_torch(lstm_weights, seconds)
    fast = {p: {str(b): limit(torch_chars_per_second(lstm_weights, b, p, seconds), torch_weight_bytes(lstm, p), b,
                              bandwidth) for b in (1, 256)}
            for p in ("float32", "bfloat16")}
    divergence = bf16_divergence(lstm_weights, 200 if seconds < 1 else 1000)
    print(json.dumps({"machine": hardware.describe(),
        "benchmark": "sampling", "model": "lstm 2x256, V=65, embed 64", "bandwidth": bandwidths,
        "cli": command_line,
        "single_chars_per_s": single, "batch256_chars_per_s": batch, "prime_10k_s": prime,
        "ttfc_runtime_s": round(ttfc, 3), "ttfc_runtime_process_wall_s": round(ttfc_wall, 3),
        "naive_torch_chars_per_s": round(naive),
        "speedup_vs_naive": {"single": round(single["lstm"]["chars_per_s"] / naive, 1),
                             "batch256": round(batch["lstm"]["chars_per_s"] / naive, 1)},
        "torch_chars_per_s": fast, "torch_prime_10k_s": round(torch_prime_seconds(lstm_weights), 3),
        "torch_threads": _torch_threads(),
        "torch_speedup_vs_naive": {p: round(fast[p]["256"]["chars_per_s"] / naive, 1) for p in fast},
        "bf16_vs_fp32": divergence,
    }))


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
