"""Learning curves of the initialisation rules: validation loss after 100, 300, 1,000 and 3,000
iterations, one JSON line per row, with the machine.

Curves are in iterations (equal work), so they do not depend on the machine's speed, only on
its arithmetic (float32 here: --precision float32 for every row).

  char-adam: the first 160,000 characters of tinyshakespeare (5% validation), 2x128 LSTM,
             embedding 64, no dropout, Adam 2e-3 at a constant rate, clip 5, batch 32, T 100
  char-sgd:  the same with SGD at learning rate 1
  word-adam: words of the first 90% of ptb.valid's lines (the rest validation), 2x128 LSTM,
             embedding 64, Adam 2e-3, clip 5, batch 32, T 35
  word-sgd:  the same with SGD at learning rate 20 and clip 0.25 (pytorch/examples' settings)
  sequel:    the char-adam case for 600 iterations, scored in bits per character on the last
             5% of the whole file (a text the run never saw), beside a plain nn.LSTM loop with
             PyTorch's own initialisation given the same data order and settings

    .venv/bin/python benchmarks/init.py char-adam [--iters 3000] [--rows uniform,default,default-fb0]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np

import rnntext
from rnntext import hardware

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
POINTS = (100, 300, 1000, 3000)
ROWS = {"uniform": dict(init="uniform", forget_bias=1.0), "default": dict(init="default", forget_bias=1.0),
        "default-fb0": dict(init="default", forget_bias=0.0), "uniform-fb0": dict(init="uniform", forget_bias=0.0)}
CHAR = dict(num_layers=2, hidden_size=(128,), embed_size=64, dropout=0.0, weight_drop=0.0, optimizer="adam",
            lr=2e-3, lr_schedule="constant", clip_norm=5.0, batch_size=32, seq_len=100, precision="float32")
CASES = {
    "char-adam": CHAR,
    "char-sgd": {**CHAR, "optimizer": "sgd", "lr": 1.0},
    "word-adam": {**CHAR, "level": "word", "word_mode": "space", "eos": True, "seq_len": 35},
    "word-sgd": {**CHAR, "level": "word", "word_mode": "space", "eos": True, "seq_len": 35, "optimizer": "sgd",
                 "lr": 20.0, "clip_norm": 0.25},
}


def corpus(case: str, tmp: Path) -> tuple[Path, dict]:
    if case.startswith("word"):
        return CORPORA / "ptb.valid.txt", {"val_frac": 0.1}
    path = tmp / "novel.txt"
    path.write_text((CORPORA / "tinyshakespeare.txt").read_text()[:160_000])
    return path, {"val_frac": 0.05}


def curve(case: str, row: str, iters: int, tmp: Path) -> dict:
    text, split = corpus(case, tmp)
    run = tmp / f"{case}-{row}"
    rnntext.train(str(text), run, max_iters=iters, eval_every=100, eval_tokens=0, log_every=100, sample_every=0,
                  checkpoint_every=0, quiet=True, seed=1234, **{**CASES[case], **split, **ROWS[row]})
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    val = {r["iter"]: r["val_loss"] for r in records if "val_loss" in r}
    train = [r["train_loss"] for r in records if "train_loss" in r]
    return {"case": case, "row": row, **ROWS[row], "iterations": iters,
            "val_loss": {str(p): round(val[p], 4) for p in POINTS if p in val},
            "train_loss_last_100": round(train[-1], 4)}


def sequel(row: str, tmp: Path) -> dict:
    """The rerunnable case: 600 iterations, scored on the last 5% of the whole file."""
    whole = (CORPORA / "tinyshakespeare.txt").read_text()
    text, split = corpus("char-adam", tmp)
    run = tmp / f"sequel-{row}"
    if row == "plain":
        return plain_loop(text, whole[int(0.95 * len(whole)):])
    rnntext.train(str(text), run, max_iters=600, eval_every=0, log_every=50, sample_every=0, quiet=True,
                  seed=1234, **{**CHAR, **split, **ROWS[row]})
    scores = rnntext.load(run).evaluate(whole[int(0.95 * len(whole)):])
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return {"case": "sequel", "row": row, **ROWS[row], "iterations": 600, "sequel_bpc": round(scores["bpc"], 4),
            "train_loss_last_50": round([r["train_loss"] for r in records if "train_loss" in r][-1], 4)}


def plain_loop(text: Path, test: str) -> dict:
    """A plain PyTorch loop with PyTorch's own initialisation (embedding N(0,1), nn.LSTM's
    uniform, nn.Linear's), the same streams, carried state, Adam and clipping."""
    from plain_loop import score_plain, train_plain

    raw = text.read_text()
    index = {c: i for i, c in enumerate(sorted(set(raw)))}
    train = np.array([index[c] for c in raw[: int(0.95 * len(raw))]])  # the same 5% validation split
    modules, _, losses = train_plain(train, len(index), E=64, H=128, B=32, T=100, lr=2e-3, optimizer="adam",
                                     iters=600)
    nll, _ = score_plain(modules, np.array([index[c] for c in test if c in index]))
    return {"case": "sequel", "row": "plain", "init": "pytorch", "iterations": 600,
            "sequel_bpc": round(nll / math.log(2), 4), "train_loss_last_50": round(float(np.mean(losses[-50:])), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=(*CASES, "sequel"))
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--rows", default="uniform,default,default-fb0")
    args = parser.parse_args()
    machine = hardware.describe()
    with tempfile.TemporaryDirectory(prefix="init-") as tmp:
        for row in args.rows.split(","):
            out = sequel(row, Path(tmp)) if args.case == "sequel" else curve(args.case, row, args.iters, Path(tmp))
            print(json.dumps({"benchmark": "init", **out, "machine": machine}), flush=True)


if __name__ == "__main__":
    main()
