"""A trained run as a self-contained web page: the model generates in the reader's browser.

    export_web("runs/shakespeare", "site/")   # site/index.html, model.js and three scripts

The folder works opened from disk (file://) and from any static host: no server of ours, no
CDN, no fetch() (browsers refuse it on file://). model.js sets one global,
`globalThis.RNNTEXT_MODEL`, holding (and `RNNTEXT_CELLS`, the cell's step from its module):
- the architecture (cell, per-cell gate count, hidden sizes, embedding, labels, tying) and
  the run's [sample] defaults (temperature, length, top-k, top-p; the seed: empty, a fresh one
  each click) and the layers in words ("2 x 256 lstm");
- the weights in PyTorch's layout and names, exactly the tensors of model.safetensors as
  little-endian float32 in one base64 blob, with each tensor's shape and offset (in floats);
  runtime.js unpacks them, so the export is as large as the checkpoint (times 4/3);
- the vocabulary as the project stores it (`vocab.to_json()`: tokens, and for bpe the
  tokenizer JSON with its merges), where generation starts without a prime, the end token of
  a line-mode model and the ids decoding leaves out, and for words each token's spacing
  (no space before, no space after) as `detokenize` spaces it.
runtime.js steps the network with the NumPy runtime's maths and reproduces its seeded
sampling exactly (numpy's SeedSequence and PCG64 ported); levels.js turns text into ids and
back: the helpers the levels share, then each registered level's `js_codec` from its module
(rnntext.text.levels), written by the export as the cell's step is; page.js is the form
around them.
"""

from __future__ import annotations

import base64
import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from rnntext import cells  # the cell's gate count, state parts and JavaScript step
from rnntext.errors import InputError
from rnntext.faces import ask
from rnntext.text import levels  # each level's JavaScript encoder and decoder

FORMAT, FORMAT_VERSION = "rnntext-web", 1
ASSETS = ("index.html", "page.js", "runtime.js")  # copied from rnntext/interop/web/
LEVELS_FILE = "levels.js"  # rnntext/interop/web/levels.js and every level's js_codec
MODEL_FILE = "model.js"
GLOBAL = "RNNTEXT_MODEL"
CELLS_GLOBAL = "RNNTEXT_CELLS"  # the model's cell step (its module's js_step), read by runtime.js


def export_web(run_dir, out_dir, weights: str = "latest", force: bool = False) -> Path:
    """Write the page for the run in `run_dir` into folder `out_dir`; returns its index.html.

    Files of an earlier export in `out_dir` are replaced only with `force`; other files there
    are left alone.
    """
    from rnntext.data.atomic import write_bytes, write_text
    from rnntext.trained import Model

    model = Model.load(run_dir, weights)
    if not cells.get(model.info.model.cell).js_step:
        raise InputError(f"the web page has no step for the cell {model.info.model.cell!r} yet: "
                         f"export this run with `rnntext export onnx` instead")
    if not model.level.js_codec:
        raise InputError(f"the web page cannot read or write {model.level.name}-level text yet: "
                         f"export this run with `rnntext export onnx` instead")
    out = _check_out(Path(out_dir), force)
    spec = web_spec(model, name=Path(run_dir).resolve().name)
    for name in ASSETS:
        write_bytes(out / name, asset(name))
    write_text(out / LEVELS_FILE, levels_script())
    # ensure_ascii: the file is plain ASCII whatever the vocabulary holds (lone surrogates included)
    cell = cells.get(model.info.model.cell)
    step = (f"{{gates: {cell.gates}, parts: {json.dumps(list(cell.state_parts))}, "
            f"recurrent: {json.dumps(cell.recurrent)}, ...{cell.js_step}}}")
    write_text(out / MODEL_FILE, f"globalThis.{CELLS_GLOBAL} = {{{json.dumps(cell.name)}: {step}}};\n"
                                 f"globalThis.{GLOBAL} = {json.dumps(spec, separators=(',', ':'))};\n")
    return out / "index.html"


def levels_script() -> str:
    """levels.js: the shared helpers, then RnnText.LEVELS from the registry (each level's js_codec)."""
    codecs = ",\n".join(f"  {json.dumps(name)}: {levels.get(name).js_codec}" for name in levels.NAMES
                         if levels.get(name).js_codec)
    return asset(LEVELS_FILE).decode("utf-8") + f"\nRnnText.LEVELS = {{\n{codecs},\n}};\n"


def asset(name: str) -> bytes:
    """One of the page's static files, as shipped inside the package."""
    return resources.files("rnntext.interop").joinpath("web", name).read_bytes()


def web_spec(model, name: str = "model") -> dict:
    """Everything model.js holds (see the module docstring), for an `rnntext.trained.Model`."""
    m, vocab = model.info.model, model.vocab
    blob, tensors = weight_blob(model.weights)
    sample = model.sample_config()
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
        "cell": m.cell, "gates": cells.get(m.cell).gates, "hidden": list(m.hidden_sizes), "embed_size": m.embed_size,
        "shape": m.shape(),  # "2 x 256 lstm", as the command line says it
        "labels": list(m.labels), "tie_weights": m.tie_weights, "vocab_size": len(vocab),
        **vocab_spec(vocab),
        "start_ids": [int(i) for i in model.start_ids()], "end_id": model.end_id(), "drop_ids": list(model.hidden_ids()),
        "sample": {"temperature": sample.temperature, "length": sample.length, "top_k": sample.top_k,
                   # str: any size; "" (a fresh seed, -1): the page draws one per click and shows it
                   "top_p": sample.top_p, "seed": "" if sample.seed < 0 else str(sample.seed), "greedy": sample.greedy},
        "tensors": tensors, "weights": base64.b64encode(blob).decode("ascii"),
    }


def weight_blob(weights: dict[str, np.ndarray]) -> tuple[bytes, dict]:
    """The tensors as one little-endian float32 byte string, and {name: {shape, offset}} (offset in floats)."""
    parts, tensors, offset = [], {}, 0
    for key in sorted(weights):
        a = np.ascontiguousarray(weights[key], dtype="<f4")
        tensors[key] = {"shape": list(a.shape), "offset": offset}
        parts.append(a.tobytes())
        offset += a.size
    return b"".join(parts), tensors


def vocab_spec(vocab) -> dict:
    """The vocabulary as stored (`to_json`), and per token (no space before, no space after) for
    the levels whose decode spaces tokens (None for the others)."""
    return {"vocab": vocab.to_json(), "spacing": levels.of(vocab).token_spacing(vocab)}


def _check_out(out: Path, force: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} is a file: give a folder for the page (it gets index.html and its scripts)")
    present = [n for n in (*ASSETS, LEVELS_FILE, MODEL_FILE) if (out / n).exists()]
    if present and not force:
        raise InputError(f"{out} already holds {', '.join(present)}: choose another folder or pass {ask('force', True)} to replace them")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the folder {out}: {e.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to {out}: choose a folder you may write to")
    return out
