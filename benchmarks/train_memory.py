"""Training memory against dataset size: peak RSS training on a 1 MB and a large dataset.

Training reads its batches from the HDF5 file a block at a time, so the peak RSS should not
grow with the dataset (issue 3: a 1 GB dataset at most 200 MB above a 1 MB one). Each case
trains 30 iterations of the reference model in a child process; prints one JSON line.

    .venv/bin/python benchmarks/train_memory.py [--large-mb 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

from rnntext import hardware

sys.path.insert(0, str(Path(__file__).parent))
from train_throughput import V, make_dataset  # noqa: E402

CHILD = """
import resource, sys, rnntext
rnntext.train(sys.argv[1], sys.argv[2], force=True, max_iters=30, eval_every=0, checkpoint_every=0, sample_every=0,
              quiet=True, hidden_size=(256,), embed_size=64)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_mb(data: Path, run: Path) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, str(data), str(run)], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024


def big_dataset(path: Path, megabytes: int) -> None:
    """Random ids written in pieces, so that making it needs little memory either."""
    make_dataset(path, np.zeros(2, np.uint8))
    n, rng = megabytes * 1_000_000, np.random.default_rng(0)
    with h5py.File(path, "a") as f:
        del f["train"]
        d = f.create_dataset("train", shape=(n,), dtype=np.uint8, chunks=(min(n, 1 << 20),))
        for lo in range(0, n, 50_000_000):
            d[lo:lo + 50_000_000] = rng.integers(0, V, min(50_000_000, n - lo), dtype=np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large-mb", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.h5", Path(tmp) / "large.h5"
        big_dataset(small, 1)
        big_dataset(large, args.large_mb)
        a, b = peak_mb(small, Path(tmp) / "r1"), peak_mb(large, Path(tmp) / "r2")
    print(json.dumps({"benchmark": "train_memory", "machine": hardware.describe(), "peak_rss_mb_1mb": round(a, 1),
                      f"peak_rss_mb_{args.large_mb}mb": round(b, 1), "difference_mb": round(b - a, 1)}))


if __name__ == "__main__":
    main()
