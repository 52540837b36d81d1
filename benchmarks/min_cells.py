"""minGRU and minLSTM (Feng et al. 2024) against the LSTM; one JSON line per row, with the machine.

  speed:    tokens/s of torch training through the trainer (random tokens, V 65, embed 64, batch
            32, 2 layers, default precision) at windows T = 50, 200, 800 for mingru, minlstm and
            lstm at equal parameter count: the LSTM is 2 x 256 and each min cell gets the width
            whose total parameters come closest. Each row trains for --seconds and reports the
            median of its per-step tokens/s after the first two steps.
  quality:  tinyshakespeare split 90/5/5, loss on the test block after --time-limit s (default
            600), benchmarks/quality.py's char case: rows mingru and minlstm (the min-chars
            preset, with its cell set), and default (the plain default recipe, LSTM).
            --slow runs the same on the slow speed class: this script again under
            ../shared/tools/as-avx2 --one-core (one core, AVX2 kernels only).
Extra key=value arguments override the recipe of every quality row.

    .venv/bin/python benchmarks/min_cells.py speed [--seconds 25] [--windows 50,200,800]
    .venv/bin/python benchmarks/min_cells.py quality [--time-limit 600] [--rows mingru,minlstm,default] [--slow]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from rnntext import hardware

ROOT = Path(__file__).resolve().parents[1]
SLOW_TOOL = ROOT / ".." / "shared" / "tools" / "as-avx2"
PRESET = "min-chars"
CELLS = ("mingru", "minlstm", "lstm")
REFERENCE = dict(cell="lstm", num_layers=2, hidden_size=(256,), embed_size=64)  # the LSTM the others match


def matched_width(cell: str, vocab_size: int) -> int:
    """The hidden width at which a 2-layer `cell` model has the total parameters closest to REFERENCE's."""
    from rnntext.config import ModelConfig
    from rnntext.model.parameters import count_parameters

    target = count_parameters(ModelConfig(**REFERENCE), vocab_size)
    model = {**REFERENCE, "cell": cell}
    return min(range(16, 4097), key=lambda H: abs(count_parameters(ModelConfig(**{**model, "hidden_size": (H,)}),
                                                                   vocab_size) - target))


def speed_row(data: Path, run: Path, cell: str, window: int, seconds: float) -> dict:
    import rnntext
    from train_throughput import V

    H = matched_width(cell, V)
    rnntext.train(str(data), run, force=True, cell=cell, num_layers=2, hidden_size=(H,), embed_size=64,
                  seq_len=window, batch_size=32, time_limit=seconds, eval_every=0, checkpoint_every=0,
                  log_every=1, sample_every=0, dropout=0.0, weight_drop=0.0, quiet=True)
    steps = [line["tokens_per_s"] for line in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
             if "tokens_per_s" in line]
    model = rnntext.load(run)
    return {"cell": cell, "seq_len": window, "hidden_size": H, "parameters": model.summary()["total_parameters"],
            "steps": len(steps), "tokens_per_s": round(statistics.median(steps[2:] or steps)),
            "precision": default_precision()}


def default_precision() -> str:
    """What the trainer's precision auto runs the matrix products in here."""
    from rnntext.engines.torch.engine import autocast_dtype, pick_device

    return str(autocast_dtype("auto", pick_device("auto")) or "float32").replace("torch.", "")


def speed(args) -> None:
    from train_throughput import V, make_dataset

    machine = hardware.describe()
    tokens = np.random.default_rng(0).integers(0, V, 2_000_000).astype(np.uint8)
    with tempfile.TemporaryDirectory(prefix="min-cells-speed-") as tmp:
        data = Path(tmp) / "data.h5"
        make_dataset(data, tokens)
        for window in (int(w) for w in args.windows.split(",")):
            for cell in args.cells.split(","):
                row = speed_row(data, Path(tmp) / "run", cell, window, args.seconds)
                print(json.dumps({"benchmark": "min_cells", "mode": "speed", **row, "seconds": args.seconds,
                                  "machine": machine}), flush=True)


def quality(args) -> None:
    from quality import CORPORA, overrides, train_and_measure

    options = overrides(args.overrides)
    machine = hardware.describe()
    for label in args.rows.split(","):
        extra = {} if label == "default" else {"preset": PRESET, "cell": label}
        row = train_and_measure("char", CORPORA / "tinyshakespeare.txt", args.time_limit, {**extra, **options}, None)
        print(json.dumps({"benchmark": "min_cells", "mode": "quality", "row": label, **row,
                          "speed_class": "slow (as-avx2 --one-core)" if args.ran_slow else "this machine",
                          "machine": machine}), flush=True)


def rerun_slow(argv: list[str]) -> None:
    """Replace this process by the same command under the slow speed class, if the tool is here."""
    if not SLOW_TOOL.is_file():
        print(f"--slow: {SLOW_TOOL} is absent (it lives beside the project); skipped", file=sys.stderr)
        sys.exit(0)
    rest = [a for a in argv if a != "--slow"]
    os.execv(str(SLOW_TOOL), [str(SLOW_TOOL), "--one-core", sys.executable, str(Path(__file__).resolve()),
                              *rest, "--ran-slow"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("speed", "quality"))
    parser.add_argument("--seconds", type=float, default=25, help="speed: training seconds per row")
    parser.add_argument("--windows", default="50,200,800", help="speed: window lengths T")
    parser.add_argument("--cells", default=",".join(CELLS), help="speed: cells")
    parser.add_argument("--time-limit", type=float, default=600, help="quality: training seconds per row")
    parser.add_argument("--rows", default="mingru,minlstm,default", help="quality: rows")
    parser.add_argument("--slow", action="store_true", help="run under ../shared/tools/as-avx2 --one-core")
    parser.add_argument("--ran-slow", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("overrides", nargs="*", help="quality: key=value options for every row")
    args = parser.parse_intermixed_args()
    if args.slow:
        rerun_slow(sys.argv[1:])
    speed(args) if args.mode == "speed" else quality(args)


if __name__ == "__main__":
    main()
