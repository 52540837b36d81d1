"""The trainer checkpoint: trainer.safetensors (one self-contained file), trainer.json (a
readable copy of its JSON) and the numbered checkpoints of --keep-last.

trainer.safetensors holds the weights, the optimizer state, the carried hidden state and the
RNG states; its header holds the trainer JSON (step, data position, best validation loss), so
a crash can never pair the weights of one step with the optimizer state of another.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save as st_save

from rnntext.data.atomic import write_bytes, write_text
from rnntext.errors import RunError
from rnntext.faces import ask
from rnntext.model.claim import own_folder, regular, unlink_regular
from rnntext.model.layout import NUMBERED, TRAINER, TRAINER_JSON, has_checkpoint, numbered
from rnntext.model.saved import RunInfo, digest, load_safetensors, write_model


def read_checkpoint(run: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The trainer checkpoint: its tensors and the JSON stored in its header."""
    path = Path(run) / TRAINER
    if not path.is_file():
        raise RunError(f"{run} has no {TRAINER} to resume from: start a new run without {ask('resume', True)}")
    tensors, meta = load_safetensors(path)
    try:
        state = json.loads(meta.get("trainer", "null"))
    except (ValueError, TypeError, RecursionError):
        state = None
    if not isinstance(state, dict):
        raise RunError(f"{path} has no trainer state in its header: the checkpoint is damaged")
    return tensors, state


def checkpoint_state(run: Path) -> dict | None:
    """The trainer JSON of the run's checkpoint (None without one), checked whole."""
    return read_checkpoint(run)[1] if has_checkpoint(run) else None


def write_checkpoint(path: Path, tensors: dict[str, np.ndarray], state: dict) -> None:
    """One checkpoint file, atomically: the tensors, and the state JSON with a digest of both."""
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    trainer = json.dumps(state)
    meta = {"trainer": trainer, "sha256": digest(tensors, trainer)}
    write_bytes(path, st_save(tensors, metadata=meta))


def save(run: Path, info: RunInfo, weights: dict[str, np.ndarray], tensors: dict[str, np.ndarray], state: dict,
         keep_last: int = 0) -> None:
    """A checkpoint of a training run, each file atomic: the trainer file first (then the
    numbered copy, keeping the last `keep_last`), then the latest weights and model.json, then
    trainer.json. Numbered checkpoints live in a folder of the run's own (never a link), and only
    regular files of theirs are pruned."""
    run = Path(run)
    write_checkpoint(run / TRAINER, tensors, state)
    if keep_last:
        folder = own_folder(run)
        write_checkpoint(folder / numbered(int(state["iteration"])), tensors, state)
        for old in sorted(p for p in folder.iterdir() if NUMBERED.fullmatch(p.name) and regular(p))[:-keep_last]:
            unlink_regular(old, run)
    write_model(run, info, weights)
    write_text(run / TRAINER_JSON, json.dumps(state, indent=1, default=str) + "\n")
