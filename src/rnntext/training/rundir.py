"""The run directory: what `train` writes and `sample`/`eval` read. No torch, no pickle.

  model.safetensors   latest weights, PyTorch parameter names (both engines load it)
  best.safetensors    the weights with the best validation loss
  model.json          architecture, vocabulary, tokenizer/normalisation settings, format version
  trainer.safetensors one self-contained checkpoint: weights, optimizer state, carried hidden
                      state, RNG states; its header holds the trainer JSON (step, data position,
                      best validation loss), so a crash can never pair weights of one step with
                      optimizer state of another
  trainer.json        a readable copy of that JSON
  config.toml         the resolved configuration;  metrics.jsonl  one line per logged step
Every write is atomic (see rnntext.data.atomic).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from rnntext.config import ModelConfig
from rnntext.data.atomic import write_bytes, write_text
from rnntext.errors import ConfigError, RunError
from rnntext.text.levels import vocab_from_json

MODEL_FORMAT = "rnntext-model"
MODEL_FORMAT_VERSION = 1
MAX_PARAMETERS = 2_000_000_000  # refuse absurd model.json sizes before allocating anything


@dataclasses.dataclass
class RunInfo:
    """What model.json says about a run."""

    path: Path
    model: ModelConfig
    vocab: object  # Vocab, WordVocab or BpeVocab
    data: dict
    training: dict

    def to_json(self) -> dict:
        return model_json(self.model, self.vocab, self.data, self.training)


def model_json(model_cfg: ModelConfig, vocab, data: dict, training: dict) -> dict:
    return {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
            "model": dataclasses.asdict(model_cfg), "vocab": vocab.to_json(), "data": data,
            "training": training}


def parameter_shapes(model_cfg: ModelConfig, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """The shape of every stored tensor, from the architecture alone (the NumPy engine's rule)."""
    from rnntext.engines.numpy.model import param_shapes

    return param_shapes(model_cfg, vocab_size)


def count_parameters(model_cfg: ModelConfig, vocab_size: int) -> int:
    return sum(int(np.prod(s)) for s in parameter_shapes(model_cfg, vocab_size).values())


def write_model(run: Path, info: RunInfo, weights: dict[str, np.ndarray], name: str = "model") -> None:
    """Write `name`.safetensors (and model.json) atomically."""
    write_bytes(run / f"{name}.safetensors", st_save({k: np.ascontiguousarray(v) for k, v in weights.items()}))
    write_text(run / "model.json", json.dumps(info.to_json(), indent=1, ensure_ascii=False) + "\n")


def read_info(run: str | Path) -> RunInfo:
    """Read and validate model.json; refuse a missing, damaged, foreign or newer run."""
    run = Path(run)
    if not run.is_dir():
        raise RunError(f"run directory {run} does not exist: train one with `rnntext train TEXT -o {run}`")
    path = run / "model.json"
    if not path.is_file():
        raise RunError(f"{run} has no model.json: it is not a finished rnntext run (train it, or resume with --resume)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunError(f"{path} is not valid JSON: the run is damaged; train it again") from None
    if not isinstance(raw, dict) or raw.get("format") != MODEL_FORMAT:
        raise RunError(f"{path} is not an rnntext model description")
    version = raw.get("format_version")
    if version != MODEL_FORMAT_VERSION:
        raise RunError(f"{path} has model format version {version}; this rnntext reads version "
                       f"{MODEL_FORMAT_VERSION}: use the rnntext that wrote it, or train again")
    try:
        missing = {f.name for f in dataclasses.fields(ModelConfig)} - set(raw["model"])
        if missing:
            raise KeyError(f"model.{sorted(missing)[0]} is missing")
        model = ModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw["model"].items()})
        info = RunInfo(run, model, vocab_from_json(raw["vocab"]), dict(raw.get("data", {})),
                       dict(raw.get("training", {})))
    except (KeyError, TypeError, ConfigError) as e:
        raise RunError(f"{path} is damaged or incomplete ({e}): train the run again") from None
    if count_parameters(model, len(info.vocab)) > MAX_PARAMETERS:
        raise RunError(f"{path} describes a model of over {MAX_PARAMETERS:,} parameters: the file is damaged or hostile")
    return info


def read_weights(info: RunInfo, which: str = "latest") -> dict[str, np.ndarray]:
    """Load `model.safetensors` (latest) or `best.safetensors`, checking every name and shape."""
    name = {"latest": "model", "best": "best"}.get(which)
    if name is None:
        raise ConfigError(f"weights: {which!r} is not latest or best")
    path = info.path / f"{name}.safetensors"
    if not path.is_file():
        hint = "no validation improved yet" if which == "best" else "training never finished a checkpoint"
        raise RunError(f"{path} is missing ({hint}): use --weights latest, or train the run")
    weights = load_safetensors(path)
    expected = parameter_shapes(info.model, len(info.vocab))
    if set(weights) != set(expected):
        raise RunError(f"{path} does not match model.json (tensors {sorted(set(weights) ^ set(expected))[:3]}): "
                       f"the run is damaged")
    for key, shape in expected.items():
        if weights[key].shape != shape:
            raise RunError(f"{path}: {key} has shape {weights[key].shape}, model.json implies {shape}: the run is damaged")
    return weights


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    try:
        return st_load(path.read_bytes())
    except (SafetensorError, ValueError, OSError) as e:
        raise RunError(f"{path} is not a readable safetensors file ({e}): it is truncated or damaged") from None


def read_checkpoint(run: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The trainer checkpoint: its tensors and the JSON stored in its header."""
    from safetensors import safe_open

    path = run / "trainer.safetensors"
    if not path.is_file():
        raise RunError(f"{run} has no trainer.safetensors to resume from: start a new run without --resume")
    tensors = load_safetensors(path)
    with safe_open(str(path), framework="numpy") as f:
        state = json.loads((f.metadata() or {}).get("trainer", "null"))
    if not isinstance(state, dict):
        raise RunError(f"{path} has no trainer state in its header: the checkpoint is damaged")
    return tensors, state


def write_checkpoint(path: Path, tensors: dict[str, np.ndarray], state: dict) -> None:
    meta = {"trainer": json.dumps(state)}
    write_bytes(path, st_save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=meta))
