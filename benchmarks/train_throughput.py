"""The trainer's overhead: its tokens/s against a bare PyTorch loop on the same work.

Reference case (issue 3): 2x256 LSTM, embedding 64, vocabulary 65, T=100, B=64, Adam,
clipping by norm 5. Both run in this process on the same random token stream, alternating
in rounds so that machine noise hits both alike; prints one JSON line with both figures and
their ratio (target: at least 1.0). The ratio compares the same float32 work on the same
threads: the trainer is given the bare loop's thread count (torch's default). Beside it:
`trainer_auto_threads_tokens_per_s`, the trainer left to choose its threads (its first steps
run on all the cores while it measures what other processes use; on an idle machine it keeps
that count, and only where they use a quarter of a core or more does it time fewer threads
too: run this under ../shared/tools/busy-core to see that trial), with `auto_threads_first`,
each round's first choice as the run's record keeps it (`trial`, `other_cores`, tokens/s by
count), and `trainer_default_tokens_per_s`, its default precision (auto: bfloat16 autocast on
CPUs with AMX or AVX512-BF16).

    .venv/bin/python benchmarks/train_throughput.py [--iters 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from rnntext import hardware

V, E, H, L, T, B = 65, 64, 256, 2, 100, 64


def bare_loop(tokens: np.ndarray, iters: int, threads: int) -> float:
    """What a user would write by hand: nn.LSTM, Adam, clip, carried state, on torch's default
    thread count (`threads`: a trainer left to choose may have changed it)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    emb, rnn, out = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H, L, batch_first=True), torch.nn.Linear(H, V)
    params = [*emb.parameters(), *rnn.parameters(), *out.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    L_stream = (len(tokens) - 1) // B
    streams = torch.from_numpy(tokens[: B * L_stream + 1].astype(np.int64))
    x_all = streams[:-1].view(B, L_stream)
    y_all = streams[1:B * L_stream + 1].view(B, L_stream)
    state, start = None, time.perf_counter()
    for i in range(iters):
        x, y = x_all[:, i * T:(i + 1) * T], y_all[:, i * T:(i + 1) * T]
        h, state = rnn(emb(x), state)
        loss = torch.nn.functional.cross_entropy(out(h).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        state = tuple(s.detach() for s in state)
        loss.item()
    return iters * B * T / (time.perf_counter() - start)


def trainer_loop(data: Path, run: Path, iters: int, precision: str = "float32", threads: int = 0,
                 choices: list | None = None) -> float:
    """The trainer's tokens/s over `iters` steps; the run's thread choices (if any) go to `choices`."""
    import rnntext

    rnntext.train(str(data), run, force=True, optimizer="adam", lr=2e-3, num_layers=L, hidden_size=(H,),
                  embed_size=E, seq_len=T, batch_size=B, max_iters=iters, eval_every=0, checkpoint_every=0, dropout=0.0, weight_drop=0.0,
                  log_every=iters, sample_every=0, quiet=True, precision=precision, threads=threads)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    if choices is not None:
        choices.extend(json.loads((run / "model.json").read_text())["training"].get("threads") or [None])
    return lines[-1]["tokens_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iters", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    machine = hardware.describe()  # before any run changes torch's thread count
    tokens = np.random.default_rng(0).integers(0, V, B * T * (args.iters + 2) + 1).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.h5"
        make_dataset(data, tokens)
        bare, ours, auto, default, first = [], [], [], [], []
        threads = torch.get_num_threads()  # the bare loop's
        for _ in range(args.rounds):
            bare.append(bare_loop(tokens, args.iters, threads))
            ours.append(trainer_loop(data, Path(tmp) / "run", args.iters, threads=threads))
            chosen: list = []
            auto.append(trainer_loop(data, Path(tmp) / "run", args.iters, choices=chosen))
            first.append(chosen[0])
            default.append(trainer_loop(data, Path(tmp) / "run", args.iters, "auto"))
    b, o = max(bare), max(ours)
    print(json.dumps({"benchmark": "train_throughput", "machine": machine, "case": "2x256 LSTM, embed 64, V=65, T=100, B=64, Adam",
                      "iters": args.iters, "bare_tokens_per_s": round(b), "trainer_tokens_per_s": round(o),
                      "ratio": round(o / b, 3), "trainer_auto_threads_tokens_per_s": round(max(auto)),
                      "auto_threads_ratio": round(max(auto) / b, 3), "auto_threads_first": first,
                      "trainer_default_tokens_per_s": round(max(default)),
                      "threads": threads}))


def make_dataset(path: Path, tokens: np.ndarray) -> None:
    """A prepared dataset holding `tokens` as its train split (written the way prepare does)."""
    from rnntext.data.dataset import FORMAT, FORMAT_VERSION

    vocab = {"level": "char", "tokens": [chr(32 + i) for i in range(V)]}
    with h5py.File(path, "w") as f:
        f.attrs["format"], f.attrs["format_version"] = FORMAT, FORMAT_VERSION
        f.attrs["meta"] = json.dumps({"vocab": vocab, "data": {}, "sources": ["random"],
                                      "counts": {"train": len(tokens), "val": 0, "test": 0}})
        f["train"] = tokens
        f.create_dataset("val", shape=(0,), dtype=np.uint8)
        f.create_dataset("test", shape=(0,), dtype=np.uint8)


if __name__ == "__main__":
    main()
