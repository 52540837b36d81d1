"""model.json and the weights files: what `sample`, `eval` and `serve` load. No torch, no pickle.

model.json holds the architecture, the vocabulary, the tokenizer and normalisation settings
and a format version; model.safetensors (latest) and best.safetensors hold the weights under
PyTorch's parameter names (both engines load them), with a digest of the tensors and of the
model.json they belong to in their header. Every write is atomic (rnntext.data.atomic).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from rnntext.config import DataConfig, ModelConfig
from rnntext.data.atomic import write_bytes, write_text
from rnntext.errors import ConfigError, RunError
from rnntext.faces import ask
from rnntext.model.layout import MODEL_JSON, WEIGHTS
from rnntext.model.parameters import count_parameters, param_shapes
from rnntext.options import coerce
from rnntext.text.levels import vocab_from_json

MODEL_FORMAT = "rnntext-model"
MODEL_FORMAT_VERSION = 1
DATA_KEYS = {f.name for f in dataclasses.fields(DataConfig)}
MAX_PARAMETERS = 2_000_000_000  # refuse absurd model.json sizes before allocating anything


@dataclasses.dataclass
class RunInfo:
    """What model.json says about a run."""

    path: Path
    model: ModelConfig
    vocab: object  # Vocab, WordVocab or BpeVocab
    data: dict
    training: dict
    digest: str | None = None  # of model.json as read (None: built in memory)

    def to_json(self) -> dict:
        return model_json(self.model, self.vocab, self.data, self.training)

    def label_id(self, condition: str | None) -> int | None:
        """The id of a conditioning label; a model with labels needs one."""
        labels = self.model.labels
        if not labels:
            if condition is not None:
                raise ConfigError(f"condition: this model was trained without labels: drop {ask('condition')}")
            return None
        if condition is None:
            raise ConfigError(f"condition: this model was trained with labels: pass {ask('condition', fill='LABEL')}, one of {', '.join(labels)}")
        if condition not in labels:
            raise ConfigError(f"condition: {condition!r} is not a label of this model: use one of {', '.join(labels)}")
        return labels.index(condition)


def model_json(model_cfg: ModelConfig, vocab, data: dict, training: dict) -> dict:
    return {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
            "model": dataclasses.asdict(model_cfg), "vocab": vocab.to_json(), "data": data,
            "training": training}


def write_model(run: Path, info: RunInfo, weights: dict[str, np.ndarray], which: str = "latest") -> None:
    """Write the `which` (latest or best) weights and model.json atomically; the weights' header
    carries a digest of the tensors and of the model description they belong to, so damage to
    either is detected."""
    weights = {k: np.ascontiguousarray(v) for k, v in weights.items()}
    meta = {"sha256": digest(weights), "model_sha256": _model_digest(info.to_json())}
    write_bytes(Path(run) / WEIGHTS[which], st_save(weights, metadata=meta))
    write_text(Path(run) / MODEL_JSON, json.dumps(info.to_json(), indent=1, ensure_ascii=False) + "\n")


def digest(tensors: dict[str, np.ndarray], extra: str = "") -> str:
    """sha256 over names, dtypes, shapes and bytes of `tensors` (in name order) and `extra`."""
    h = hashlib.sha256(extra.encode("utf-8", "surrogatepass"))
    for key in sorted(tensors):
        value = np.ascontiguousarray(tensors[key])
        h.update(f"{key}:{value.dtype.str}:{value.shape}".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def _model_digest(raw: dict) -> str:
    """The part of model.json the weights depend on: architecture, vocabulary, data settings."""
    core = {k: raw.get(k) for k in ("model", "vocab", "data")}
    return hashlib.sha256(json.dumps(core, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def read_info(run: str | Path) -> RunInfo:
    """Read and validate model.json; refuse a missing, damaged, foreign or newer run."""
    run = Path(run)
    if not run.is_dir():
        raise RunError(f"run directory {run} does not exist: train one with `rnntext train TEXT -o {run}`")
    path = run / MODEL_JSON
    if not path.is_file():
        raise RunError(f"{run} has no model.json: it is not a finished rnntext run (train it, or resume with {ask('resume', True)})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # RecursionError: nested thousands deep
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
        model = ModelConfig(**{k: coerce(ModelConfig, k, v, "model") for k, v in raw["model"].items()})
        data = {k: coerce(DataConfig, k, v) if k in DATA_KEYS else v for k, v in dict(raw.get("data", {})).items()}
        training = dict(raw.get("training", {}))
        odd = [k for k in ("iterations", "epoch", "best_val_loss", "elapsed_s", "tokens_seen")
               if not isinstance(training.get(k, 0), (int, float, type(None))) or isinstance(training.get(k), bool)]
        if odd:
            raise TypeError(f"training.{odd[0]} is not a number")
        info = RunInfo(run, model, vocab_from_json(raw["vocab"]), data, training, _model_digest(raw))
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as e:
        raise RunError(f"{path} is damaged or incomplete ({e}): train the run again") from None
    if count_parameters(model, len(info.vocab)) > MAX_PARAMETERS:
        raise RunError(f"{path} describes a model of over {MAX_PARAMETERS:,} parameters: the file is damaged or hostile")
    return info


def read_weights(info: RunInfo, which: str = "latest") -> dict[str, np.ndarray]:
    """Load the latest or the best weights, checking every name and shape."""
    if which not in WEIGHTS:
        raise ConfigError(f"weights: {which!r} is not {' or '.join(WEIGHTS)}")
    path = info.path / WEIGHTS[which]
    if not path.is_file():
        hint = "no validation improved yet" if which == "best" else "training never finished a checkpoint"
        raise RunError(f"{path} is missing ({hint}): use {ask('weights', 'latest')}, or train the run")
    weights, meta = load_safetensors(path)
    expected = param_shapes(info.model, len(info.vocab))
    if set(weights) != set(expected):
        raise RunError(f"{path} does not match model.json (tensors {sorted(set(weights) ^ set(expected))[:3]}): "
                       f"the run is damaged")
    for key, shape in expected.items():
        if weights[key].shape != shape:
            raise RunError(f"{path}: {key} has shape {weights[key].shape}, model.json implies {shape}: the run is damaged")
        if weights[key].dtype.kind != "f":
            raise RunError(f"{path}: {key} holds {weights[key].dtype} values, not floating-point weights: the run is damaged")
    if info.digest and meta.get("model_sha256") not in (None, info.digest):
        raise RunError(f"{path} belongs to another model.json (its architecture, vocabulary or settings differ): "
                       f"the run is damaged; train it again")
    bad = next((k for k, v in weights.items() if not np.isfinite(v).all()), None)
    if bad:
        raise RunError(f"{path}: {bad} holds NaN or infinite values (the training diverged or the file is damaged): "
                       f"use {ask('weights', 'best')}, or train again with a lower {ask('lr')}")
    return weights


SAFETENSORS_DTYPES = {"F16", "F32", "F64", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "BOOL"}


def load_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Tensors and header metadata of a safetensors file; its digest (where recorded) is checked."""
    try:
        data = path.read_bytes()
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + n]) if 8 <= 8 + n <= len(data) else None
        if not isinstance(header, dict):
            raise ValueError("no valid header")
        meta = header.get("__metadata__") or {}
        odd = sorted({v.get("dtype") for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}
                     - SAFETENSORS_DTYPES)
        if odd:
            raise RunError(f"{path} stores {odd[0]} tensors, which rnntext cannot read: convert the weights to "
                           f"float32 (F32), or train the run again")
        tensors = st_load(data)
    except (SafetensorError, ValueError, OSError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise RunError(f"{path} is not a readable safetensors file ({type(e).__name__ if isinstance(e, RecursionError) else e}): "
                       f"it is truncated or damaged") from None
    if not isinstance(meta, dict):
        raise RunError(f"{path} has a damaged header: the file is damaged")
    recorded = meta.get("sha256")
    if recorded is not None and recorded != digest(tensors, meta.get("trainer", "")):
        raise RunError(f"{path} does not match its recorded checksum: the file is damaged"
                       + (f" (restore it from a backup, or start the run over with {ask('force', True)})" if "trainer" in meta else
                          "; train the run again"))
    return tensors, meta


