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
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from rnntext.config import DataConfig, ModelConfig, coerce
from rnntext.data.atomic import write_bytes, write_text
from rnntext.errors import ConfigError, RunError
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
    """Write `name`.safetensors (and model.json) atomically; the weights' header carries a digest of
    the tensors and of the model description they belong to, so damage to either is detected."""
    weights = {k: np.ascontiguousarray(v) for k, v in weights.items()}
    meta = {"sha256": digest(weights), "model_sha256": _model_digest(info.to_json())}
    write_bytes(run / f"{name}.safetensors", st_save(weights, metadata=meta))
    write_text(run / "model.json", json.dumps(info.to_json(), indent=1, ensure_ascii=False) + "\n")


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
        model = ModelConfig(**{k: coerce(ModelConfig, k, v) for k, v in raw["model"].items()})
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
    """Load `model.safetensors` (latest) or `best.safetensors`, checking every name and shape."""
    name = {"latest": "model", "best": "best"}.get(which)
    if name is None:
        raise ConfigError(f"weights: {which!r} is not latest or best")
    path = info.path / f"{name}.safetensors"
    if not path.is_file():
        hint = "no validation improved yet" if which == "best" else "training never finished a checkpoint"
        raise RunError(f"{path} is missing ({hint}): use --weights latest, or train the run")
    weights, meta = load_safetensors(path)
    expected = parameter_shapes(info.model, len(info.vocab))
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
                       f"use --weights best, or train again with a lower --lr")
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
    except (SafetensorError, ValueError, OSError, KeyError, TypeError, AttributeError) as e:
        raise RunError(f"{path} is not a readable safetensors file ({e}): it is truncated or damaged") from None
    if not isinstance(meta, dict):
        raise RunError(f"{path} has a damaged header: the file is damaged")
    recorded = meta.get("sha256")
    if recorded is not None and recorded != digest(tensors, meta.get("trainer", "")):
        raise RunError(f"{path} does not match its recorded checksum: the file is damaged"
                       + (" (restore it from a backup, or start the run over with --force)" if "trainer" in meta else
                          "; train the run again"))
    return tensors, meta


def read_checkpoint(run: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The trainer checkpoint: its tensors and the JSON stored in its header."""
    path = run / "trainer.safetensors"
    if not path.is_file():
        raise RunError(f"{run} has no trainer.safetensors to resume from: start a new run without --resume")
    tensors, meta = load_safetensors(path)
    try:
        state = json.loads(meta.get("trainer", "null"))
    except (ValueError, TypeError):
        state = None
    if not isinstance(state, dict):
        raise RunError(f"{path} has no trainer state in its header: the checkpoint is damaged")
    return tensors, state


def checkpoint_state(run: Path) -> dict | None:
    """The trainer JSON of the run's checkpoint (None without one), checked whole."""
    return read_checkpoint(run)[1] if (run / "trainer.safetensors").is_file() else None


def write_checkpoint(path: Path, tensors: dict[str, np.ndarray], state: dict) -> None:
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    trainer = json.dumps(state)
    meta = {"trainer": trainer, "sha256": digest(tensors, trainer)}
    write_bytes(path, st_save(tensors, metadata=meta))

# -- the run's record: which files in the directory rnntext wrote ------------------------------
#
# `.rnntext-run` (JSON, written atomically) names the inputs of the run, its resolved
# configuration and every file rnntext writes there. Starting a run over (--force) removes
# only files listed there; an input, a file of another program, or anything unlisted is never
# removed or replaced, and a command that is refused changes nothing on disk.

MANIFEST = ".rnntext-run"
MANIFEST_FORMAT = "rnntext-run"
RUN_FILES = ("model.safetensors", "model.json", "best.safetensors", "trainer.safetensors", "trainer.json",
             "config.toml", "metrics.jsonl", "data.h5")
WEIGHT_FILES = ("model.safetensors", "best.safetensors", "trainer.safetensors")
CHECKPOINTS = "checkpoints"
_OWN_TMP = re.compile(r"\.(?P<name>[^/]+)\.[A-Za-z0-9_]{8}\.tmp")  # atomic.atomic_path's temporary names
_NUMBERED = re.compile(r"iter_\d{8}\.safetensors")


def read_manifest(run: Path) -> dict | None:
    """The run's record, or None where there is none or it is damaged (nothing is then rnntext's)."""
    path = Path(run) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = (isinstance(raw, dict) and raw.get("format") == MANIFEST_FORMAT
          and isinstance(raw.get("files"), list) and all(isinstance(n, str) for n in raw["files"])
          and isinstance(raw.get("inputs", []), list) and isinstance(raw.get("config", {}), dict))
    return raw if ok else None


def is_own_tmp(name: str, names=RUN_FILES + (MANIFEST,)) -> bool:
    """A temporary file atomic_path makes for one of `names` (left behind by a crash mid-write)."""
    m = _OWN_TMP.fullmatch(name)
    return bool(m) and (m["name"] in names or bool(_NUMBERED.fullmatch(m["name"])))


@dataclasses.dataclass
class Claim:
    """What taking a run directory will change, decided before anything changes."""

    run: Path
    remove: list[str]  # rnntext's own files of an earlier run, to remove before starting over
    stale: list[Path]  # rnntext's temporary files left by a crash mid-write
    record: dict  # the manifest to write

    def apply(self) -> list[str]:
        """Remove what the claim names, create the directory, write the record; return what was removed."""
        try:
            for path in self.stale:
                path.unlink(missing_ok=True)
            for name in self.remove:
                _remove_own(self.run, name)
            self.run.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot prepare the run directory {self.run}: {e.strerror or e}: "
                           f"choose a writable -o") from None
        write_text(self.run / MANIFEST, json.dumps(self.record, indent=1, ensure_ascii=False) + "\n")
        return list(self.remove)


def _remove_own(run: Path, name: str) -> None:
    path = run / name
    if name != CHECKPOINTS:
        path.unlink(missing_ok=True)
        return
    for item in path.iterdir() if path.is_dir() else ():  # numbered checkpoints only, nothing else there
        if _NUMBERED.fullmatch(item.name) or is_own_tmp(item.name):
            item.unlink()
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()


def _check_target(run: Path) -> None:
    if run.is_symlink() and not run.exists():
        raise RunError(f"{run} is a symbolic link to {os.readlink(run)}, which does not exist: "
                       f"create that directory or choose another -o")
    if run.exists() and not run.is_dir():
        raise RunError(f"{run} is a file, not a run directory: choose another -o")
    folder = run if run.is_dir() else next((p for p in run.absolute().parents if p.exists()), Path("/"))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RunError(f"cannot write to {folder} (read-only or not yours): choose another -o")


def _entries(run: Path) -> dict[str, Path]:
    return {p.name: p for p in run.iterdir()} if run.is_dir() else {}


def _owned(run: Path, manifest: dict | None, entries: dict[str, Path]) -> set[str]:
    """Listed in the record and still what rnntext writes there: a plain file (or the checkpoints folder)."""
    listed = set(manifest["files"]) if manifest else set()
    own = {n for n in listed & set(RUN_FILES) if n in entries and entries[n].is_file() and not entries[n].is_symlink()}
    if CHECKPOINTS in listed and CHECKPOINTS in entries and entries[CHECKPOINTS].is_dir():
        own.add(CHECKPOINTS)
    return own


def _stale(run: Path, entries: dict[str, Path]) -> list[Path]:
    stale = [p for n, p in entries.items() if is_own_tmp(n) and p.is_file()]
    folder = entries.get(CHECKPOINTS)
    if folder is not None and folder.is_dir() and not folder.is_symlink():
        stale += [p for p in folder.iterdir() if is_own_tmp(p.name) and p.is_file()]
    return stale


def plan_claim(run: Path, *, resume: bool, force: bool, inputs, writes: set[str], record: dict) -> Claim:
    """Decide, without changing anything, how this command takes `run`; refuse with a RunError
    that names what is in the way. `inputs` are the paths the command reads (never removed or
    replaced); `writes` the names the run will write there; `record` the new run's manifest."""
    run = Path(run)
    _check_target(run)
    entries = _entries(run)
    manifest = read_manifest(run) if entries else None
    owned, stale = _owned(run, manifest, entries), _stale(run, entries)
    inside = {Path(p).name for p in inputs if Path(p).exists() and Path(p).resolve().parent == run.resolve()}
    if resume and manifest is None:
        if "trainer.safetensors" not in entries:
            raise RunError(f"{run} holds no rnntext run to resume (no checkpoint, no {MANIFEST}): start one with "
                           f"`rnntext train INPUT -o {run}`")
        owned = {n for n in RUN_FILES if n in entries and entries[n].is_file()} - inside  # a run of an older rnntext
        manifest = {"format": MANIFEST_FORMAT, "format_version": 1, "inputs": [], "config": {}}
    blocked = sorted((inside & writes) - owned)
    if blocked:
        raise RunError(f"{run / blocked[0]} is an input of this command and the run would overwrite it: copy it "
                       f"out of {run}, or choose another -o")
    if resume:
        _refuse_foreign(run, writes & set(entries) - owned)
        return Claim(run, [], stale, {**manifest, "files": sorted(owned | writes)})
    mine = owned | {p.name for p in stale if p.parent == run} | ({MANIFEST} if manifest else set())
    others = sorted(set(entries) - mine - inside)
    started = any(n in entries for n in WEIGHT_FILES)
    if not force and started:
        raise RunError(f"run directory {run} is not empty (it holds a trained run): pass --resume to continue it, --force to start it "
                       f"over (removes only rnntext's own files), or choose another -o")
    if not force and others:
        raise RunError(f"run directory {run} is not empty ({', '.join(others[:3])}{' ...' if len(others) > 3 else ''} "
                       f"not written by rnntext): choose another -o, or pass --force to train beside them "
                       f"(they are left as they are)")
    _refuse_foreign(run, writes & set(entries) - owned)
    remove = sorted(owned - inside)
    return Claim(run, remove, stale, {**record, "files": sorted((owned & inside) | writes)})


def _refuse_foreign(run: Path, names: set[str]) -> None:
    if names:
        shown = ", ".join(sorted(names))
        raise RunError(f"{run} holds {shown}, which rnntext has no record of writing, and the run would replace "
                       f"{'it' if len(names) == 1 else 'them'}: move {'it' if len(names) == 1 else 'them'} away, "
                       f"or choose another -o")
