"""Preparation speed and memory: `rnntext prepare` on a large text made by repeating a corpus.

Builds a text of --size-mb megabytes by repeating ../shared/corpora/tinyshakespeare.txt, runs
`rnntext prepare` on it in a child process, and prints one JSON line with the seconds and the
child's peak RSS. Issue targets on the 2-core machine: 100 MB in at most 15 s and 1.5 GB;
2 GB with peak RSS under 1 GB.

    .venv/bin/python benchmarks/prepare.py [--size-mb 100] [--level char]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnntext import hardware

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "tinyshakespeare.txt"


def build_text(path: Path, size_mb: int) -> int:
    block = CORPUS.read_bytes()
    target = size_mb * 1_000_000
    with open(path, "wb") as f:
        written = 0
        while written < target:
            piece = block[: target - written]
            f.write(piece)
            written += len(piece)
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--level", default="char")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        text, out = Path(tmp) / "big.txt", Path(tmp) / "big.h5"
        size = build_text(text, args.size_mb)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnntext", "prepare", str(text), "-o", str(out), "--level", args.level],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps({"benchmark": "prepare", "machine": hardware.describe(), "level": args.level, "input_bytes": size, "seconds": round(seconds, 2),
                          "peak_rss_mb": round(peak_kb / 1024, 1), "output_bytes": out.stat().st_size}))


if __name__ == "__main__":
    main()
