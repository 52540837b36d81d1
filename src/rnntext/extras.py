"""The optional parts of rnntext (pyproject.toml's extras) and the command that adds one.

A feature whose packages are missing raises `missing(extra, what)`: one line naming the
packages and the command that installs them into the Python that is running now
(`sys.executable -m pip`, so the right environment whichever way rnntext was started),
pinned by the checkout's constraints.txt when rnntext runs from a checkout, as `make` installs.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from rnntext.errors import MissingExtra

EXTRAS = {  # extra -> what it installs, as a message names it
    "serve": "FastAPI and uvicorn",
    "plot": "matplotlib",
    "onnx": "onnx (and onnxruntime to check the export)",
    "bpe": "the tokenizers package",
    "tensorboard": "the tensorboard package",
}
CHECKOUT = Path(__file__).resolve().parents[2]  # the repository, when rnntext runs from its src/


def install_command(extra: str) -> str:
    """`PYTHON -m pip install [-c constraints.txt] 'rnntext[EXTRA]'` for the running Python; paths
    inside the current folder are shown relative to it."""
    words = [_shown(Path(sys.executable)), "-m", "pip", "install"]
    constraints = CHECKOUT / "constraints.txt"
    if constraints.is_file() and (CHECKOUT / "pyproject.toml").is_file():
        words += ["-c", _shown(constraints)]
    return " ".join(map(shlex.quote, words)) + f" 'rnntext[{extra}]'"


def missing(extra: str, what: str) -> MissingExtra:
    """The error for `what` (a feature: "plotting") when extra `extra`'s packages do not import."""
    return MissingExtra(f"{what} needs {EXTRAS[extra]}: {install_command(extra)}")


def _shown(path: Path) -> str:
    """`path` relative to the current folder when it is inside it (.venv/bin/python), else whole.
    The interpreter's own path is kept as it was started (a venv's python is a symlink)."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)
