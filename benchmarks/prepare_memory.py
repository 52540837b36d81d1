"""Preparation memory against line length: `rnntext prepare` on a text with its line breaks and
on the same text as one single line (every line break a space, so the size is the same).

Builds both files (--size-mb each) in a temporary folder by repeating the built-in corpus
(the Python documentation, pydoc_data.topics), prepares each in a child process
(`python -m rnntext prepare`), and prints one JSON line with each child's peak RSS and time,
and the machine. Each peak is that child's own (os.wait4), not RUSAGE_CHILDREN's maximum
over every child so far. --chunk-kb shrinks the reading chunk in the child (the tests use it
to see the effect at a small size); by default the library's own chunk is used.

    .venv/bin/python benchmarks/prepare_memory.py [--size-mb 50] [--level char] [--chunk-kb N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The child: `python -m rnntext ARGS`, with the reading chunk set first when one is given.
CHILD = """
import runpy, sys
chunk = int(sys.argv.pop(1))
if chunk:
    import rnntext.text.read as read
    read.CHUNK_BYTES = read.LONG_RUN = chunk
sys.argv[0] = "rnntext"
runpy.run_module("rnntext", run_name="__main__")
"""


def build_texts(folder: Path, size: int) -> tuple[Path, Path]:
    """lines.txt (the corpus repeated to `size` bytes) and single.txt (the same, line breaks as spaces)."""
    from rnntext.text.read import BUILTIN_CORPORA

    block = BUILTIN_CORPORA["python-docs"][1]().encode("utf-8")
    data = (block * (size // len(block) + 1))[:size].decode("utf-8", "ignore").encode("utf-8")
    lines, single = folder / "lines.txt", folder / "single.txt"
    lines.write_bytes(data)
    single.write_bytes(data.replace(b"\n", b" "))
    return lines, single


def prepare_peak(text: Path, out: Path, level: str = "char", chunk: int = 0) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one `rnntext prepare` child."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1] / "src"),
                                                                       os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(chunk), "prepare", str(text), "-o", str(out),
                             "--level", level, "--force"], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"prepare {text} failed with exit code {proc.returncode}")
    scale = 1 if sys.platform != "darwin" else 1024  # ru_maxrss: KB on Linux, bytes on macOS
    return usage.ru_maxrss / scale / 1024, time.perf_counter() - start


def measure(size: int, level: str = "char", chunk: int = 0) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-prepare-memory-") as tmp:
        lines, single = build_texts(Path(tmp), size)
        got = {name: prepare_peak(path, Path(tmp) / f"{name}.h5", level, chunk)
               for name, path in (("lines", lines), ("single_line", single))}
    return {name: {"peak_rss_mb": round(mb, 1), "seconds": round(s, 2)} for name, (mb, s) in got.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--level", default="char")
    parser.add_argument("--chunk-kb", type=int, default=0, help="reading chunk in KB (0: the library's)")
    args = parser.parse_args()
    from rnntext import hardware
    from rnntext.text import read

    size = int(args.size_mb * 1_000_000)
    got = measure(size, args.level, args.chunk_kb << 10)
    print(json.dumps({"benchmark": "prepare_memory", "level": args.level, "input_bytes": size,
                      "chunk_bytes": args.chunk_kb << 10 or read.CHUNK_BYTES, **got,
                      "single_minus_lines_mb": round(got["single_line"]["peak_rss_mb"] - got["lines"]["peak_rss_mb"], 1),
                      "machine": hardware.describe()}))


if __name__ == "__main__":
    main()
