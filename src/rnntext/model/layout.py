"""The names of the files in a run directory: every other module asks this package for them."""

from __future__ import annotations

import re
from pathlib import Path

MODEL_JSON = "model.json"  # architecture, vocabulary, tokenizer/normalisation settings, format version
WEIGHTS = {"latest": "model.safetensors", "best": "best.safetensors"}  # --weights latest|best
TRAINER = "trainer.safetensors"  # the checkpoint: weights, optimizer state, carried state, RNG states
TRAINER_JSON = "trainer.json"  # a readable copy of the checkpoint's JSON
CONFIG = "config.toml"  # the resolved configuration
METRICS = "metrics.jsonl"  # one JSON line per logged step and per validation
DATA = "data.h5"  # the dataset a run prepares from text (a run given a dataset reads it in place)
MANIFEST = ".rnntext-run"  # the record of what rnntext wrote here (see claim.py)
LOCK = ".rnntext-lock"  # held by the process training here (see lock.py); never removed
CHECKPOINTS = "checkpoints"  # numbered checkpoints (--keep-last)
TENSORBOARD = "tensorboard"  # --tensorboard event files
CURVES = "curves.png"  # `rnntext plot`'s default output

RUN_FILES = (WEIGHTS["latest"], MODEL_JSON, WEIGHTS["best"], TRAINER, TRAINER_JSON, CONFIG, METRICS, DATA)
WEIGHT_FILES = (WEIGHTS["latest"], WEIGHTS["best"], TRAINER)


NUMBERED = re.compile(r"iter_\d{8}\.safetensors")  # numbered checkpoints, named by numbered()


def numbered(iteration: int) -> str:
    """The name of a numbered checkpoint in CHECKPOINTS."""
    return f"iter_{iteration:08d}.safetensors"


def data_path(run: str | Path) -> Path:
    return Path(run) / DATA


def has_checkpoint(run: str | Path) -> bool:
    """Whether training has written a checkpoint to resume from."""
    return (Path(run) / TRAINER).is_file()
