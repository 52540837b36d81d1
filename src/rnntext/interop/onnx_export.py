"""ONNX export of a trained run: a one-step model for deployment runtimes (onnxruntime, ...).

Graph (B is a dynamic batch axis; H_k the size of layer k, V the vocabulary):
  inputs   ids (B,) int64;  a model trained with labels (--condition-by): label (B,) int64, the
           index of each stream's label in the metadata's `labels`;  per layer k and state part
           of the cell: h_l{k} (B, H_k) float32, and c_l{k} (B, H_k) for LSTM (the parts are the
           cell's `state_parts`, rnntext.cells)
  outputs  logits (B, V) float32;  per layer k: h_l{k}_out (B, H_k) (and c_l{k}_out for LSTM)
One tensor per layer and state part, in layer order (h_l0, c_l0, h_l1, c_l1, ...), whatever the
sizes: stacks of unequal layers (the TensorFlow lab's 1024 and 512) need no other layout, and a
caller feeds each `*_out` back as the input of the same name, zeros to start. Dropout is off.

The file carries what a program needs to turn text into ids and back without rnntext, as the
model's metadata (ONNX metadata_props; onnxruntime: `session.get_modelmeta().custom_metadata_map`),
each value a JSON text: `tokens` (id -> token), `vocab` (the vocabulary as model.json holds it),
`level`, `model` (the architecture), `data` (how the training text was read and normalised),
`sample` (the run's sampling settings: prime, temperature, length, ...), `state` (the state
inputs in order), `labels` (the label names, [] without), `start_ids` (where sampling starts
without a prime), `end_id` (line mode's end token, or null) and `format` (rnntext-onnx and its
version).

It uses torch's TorchScript exporter (`dynamo=False`): it needs only `onnx` beside torch and
exports a small model in well under a second. The torch.export-based exporter also needs
onnxscript and onnx-ir, took 1.3-4.3 s per model here, and is not needed for this graph.
"""

from __future__ import annotations

import warnings

import numpy as np

from rnntext import cells
from rnntext.errors import ConfigError
from rnntext.extras import missing
from rnntext.model.claim import claim_output
from rnntext.trained import Model

TOLERANCE = 1e-4  # max abs logits difference accepted against the torch engine
METADATA_VERSION = 1  # of the metadata's keys and their meaning


def state_names(model_cfg) -> list[str]:
    """The state inputs in graph order: h_l0 (c_l0) h_l1 (c_l1) ...; outputs add `_out`."""
    parts = cells.get(model_cfg.cell).state_parts
    return [f"{part}_l{k}" for k in range(len(model_cfg.hidden_sizes)) for part in parts]


def export_onnx(run_dir, out_path, weights: str = "latest", opset: int = 17, force: bool = False,
                verify: bool = True) -> dict:
    """Write the run's one-step model to `out_path`; with onnxruntime installed and `verify`, check it
    against the torch engine on a few steps. Returns a summary (inputs, outputs, max_abs_diff)."""
    torch, onnx = _require("torch"), _require("onnx")
    if not 9 <= opset <= 23:  # one-hot input needs OneHot (opset 9); torch 2.13's exporter stops at 23
        raise ConfigError(f"opset: {opset} is outside the supported 9..23 (17 suits most runtimes)")
    out = claim_output(out_path, "export onnx", force, example="model.onnx")
    loaded = Model.load(run_dir, weights)
    info, model = loaded.info, _torch_model(loaded)
    names = state_names(info.model)
    inputs = input_names(info.model)
    example = tuple(torch.zeros(2, dtype=torch.int64) for _ in inputs[:-len(names) or None]) + \
        tuple(_zero_state(info.model, 2, torch.zeros))  # batch 2
    outputs = ["logits", *(f"{n}_out" for n in names)]
    from rnntext.data.atomic import atomic_path

    with atomic_path(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices; the graph is checked below
        torch.onnx.export(_one_step(model), example, str(tmp), dynamo=False, opset_version=opset,
                          input_names=inputs, output_names=outputs,
                          dynamic_axes={n: {0: "batch"} for n in [*inputs, *outputs]})
        graph = onnx.load(str(tmp))
        onnx.helper.set_model_props(graph, metadata(loaded))
        onnx.save(graph, str(tmp))
        onnx.checker.check_model(str(tmp))
    diff = verify_onnx(loaded, out) if verify and _has("onnxruntime") else None
    if diff is not None and not diff < TOLERANCE:
        raise RuntimeError(f"the ONNX model differs from the torch engine by {diff:.3g} (> {TOLERANCE}): a bug")
    return {"path": str(out), "opset": opset, "cell": info.model.cell, "vocab_size": len(info.vocab),
            "inputs": inputs, "outputs": outputs, "max_abs_diff": diff}


def input_names(model_cfg) -> list[str]:
    """The graph's inputs in order: ids, the label of a labelled model, then the state."""
    return ["ids", *(["label"] if model_cfg.labels else []), *state_names(model_cfg)]


def metadata(model) -> dict[str, str]:
    """The vocabulary and settings of `model` (an rnntext.trained.Model) as the ONNX file's metadata
    (see the module's description)."""
    import dataclasses
    import json

    sample = {k: v for k, v in dataclasses.asdict(model.sample_config()).items()
              if k not in ("seed", "engine", "device", "precision", "num_samples", "top_probs")}
    values = {"format": {"name": "rnntext-onnx", "version": METADATA_VERSION}, "level": model.vocab.level,
              "tokens": list(model.vocab.tokens), "vocab": model.vocab.to_json(),
              "model": dataclasses.asdict(model.info.model), "data": model.info.data, "sample": sample,
              "state": state_names(model.info.model), "labels": list(model.info.model.labels),
              "start_ids": [int(i) for i in model.start_ids()],
              "end_id": model.end_id()}
    return {key: json.dumps(value, ensure_ascii=False) for key, value in values.items()}


def verify_onnx(run, onnx_path, weights: str = "latest", steps: int = 4, batch: int = 3, seed: int = 0) -> float:
    """Step the ONNX model and the torch engine on the same random ids; the max abs logits difference.
    `run`: a run directory (its `weights`) or a loaded rnntext.trained.Model. The batch differs from
    the export example's so the dynamic axis is exercised too."""
    torch, ort = _require("torch"), _require("onnxruntime")
    loaded = run if hasattr(run, "weights") else Model.load(run, weights)
    info, model = loaded.info, _torch_model(loaded)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = state_names(info.model)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, len(info.vocab), (batch, steps))  # (B, T)
    label = rng.integers(0, max(1, len(info.model.labels)), batch)  # (B,) each stream's label
    given = {"label": label} if info.model.labels else {}
    cond = torch.from_numpy(label[:, None]) if info.model.labels else None  # (B, 1)
    state = dict(zip(names, _zero_state(info.model, batch, lambda *s: np.zeros(s, np.float32))))
    ref_state, worst = None, 0.0
    for t in range(steps):
        logits, *new = session.run(None, {"ids": ids[:, t], **given, **state})  # (B, V), then states
        with torch.no_grad():
            ref, ref_state = model(torch.from_numpy(ids[:, t:t + 1]), ref_state, cond)  # (B, 1, V)
        worst = max(worst, float(np.abs(logits - ref[:, 0].numpy()).max()))
        state = dict(zip(names, new))
    return worst


def _one_step(model):
    """Wrap RNNLM as ids (B,), the label (B,) of a labelled model, flat states (B, H_k) -> logits
    (B, V), new flat states."""
    import torch

    cell = cells.get(model.cfg.cell)
    per, labelled = len(cell.state_parts), bool(model.cfg.labels)

    class OneStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, ids, *rest):
            cond, flat = (rest[0].unsqueeze(1), rest[1:]) if labelled else (None, rest)
            layers = [flat[i:i + per] for i in range(0, len(flat), per)]
            state = [cell.layer_state(s.unsqueeze(0) for s in layer) for layer in layers]
            logits, new = self.model(ids.unsqueeze(1), state, cond)  # (B, 1, V); states (1, B, H_k)
            new_flat = [s.squeeze(0) for layer in new for s in cell.parts(layer)]
            return (logits[:, 0], *new_flat)

    return OneStep().eval()


def _zero_state(model_cfg, batch: int, zeros) -> list:
    per = len(cells.get(model_cfg.cell).state_parts)
    return [zeros(batch, H) for H in model_cfg.hidden_sizes for _ in range(per)]


def _torch_model(model):
    """The torch engine's RNNLM holding an rnntext.trained.Model's weights (dropout off, as deployed)."""
    from rnntext.engines.torch.module import RNNLM

    return RNNLM.trained(model.info.model, len(model.vocab), model.weights)


def _require(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise missing("onnx", f"ONNX export ({name})") from None


def _has(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
