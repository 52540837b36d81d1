import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"

# Deterministic CPU math across machines: the suite is sized for two cores.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A small English text file made here (the project ships no third-party text)."""
    line = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n"
    path = tmp_path / "corpus.txt"
    path.write_text(line * 120, encoding="utf-8")
    return path


def shared_corpus(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"../shared/corpora/{name} is not present (it is only on the project's machines)")
    return path
