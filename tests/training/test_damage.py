"""Damage any file of a small run directory (or its dataset): `sample`, `eval` and `train --resume`
give the undamaged answer or one line of error with exit status 2, never a traceback, and a
refused command leaves every file as it was."""

import contextlib
import io
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file, save_file

from rnntext.cli import main
from rnntext.data.dataset import open_dataset

TINY = ["--num-layers", "1", "--hidden-size", "8", "--embed-size", "4", "--seq-len", "8", "--batch-size", "2",
        "--sample-every", "0", "--quiet", "--threads", "1", "--eval-every", "0", "--log-every", "1"]
FILES = ["model.json", "model.safetensors", "best.safetensors", "trainer.safetensors", "trainer.json", "config.toml",
         "metrics.jsonl", ".rnntext-run", "data.h5"]
EDITABLE = {"config.toml"}  # a text the user may edit: its [sample] section may change a sample (any answer is fine)
SAMPLE = ["--length", "30", "--seed", "3", "--temperature", "0.8"]


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A trained run (4 iterations, from text, so data.h5 lives in it) and its undamaged answers."""
    root = tmp_path_factory.mktemp("damage")
    corpus = root / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 40)
    run = root / "run"
    assert run_cli("train", corpus, "-o", run, "--max-iters", "4", "--val-frac", "0.1", *TINY)[0] == 0
    answers = {"sample": run_cli("sample", run, *SAMPLE)[1], "eval": run_cli("eval", run, corpus)[1]}
    resumed = root / "resumed"
    shutil.copytree(run, resumed)
    assert run_cli("train", "-o", resumed, "--resume", "--max-iters", "6", "--quiet")[0] == 0
    answers["resume"] = load_file(str(resumed / "model.safetensors"))
    assert answers["sample"].strip() and "loss" in answers["eval"]
    return root, corpus, run, answers


def flip(data: bytes, at: float, mask: int) -> bytes:
    i = min(int(at * len(data)), len(data) - 1)
    return data[:i] + bytes([data[i] ^ mask]) + data[i + 1:]


def retype(value, draw_path: float, replacement):
    """`value` (parsed JSON) with one leaf, chosen by draw_path in [0, 1), replaced."""
    leaves = []

    def walk(node, path):
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else None
        if items is None:
            leaves.append(path)
            return
        for k, v in items:
            walk(v, path + [k])

    walk(value, [])
    path = leaves[min(int(draw_path * len(leaves)), len(leaves) - 1)]
    if not path:
        return replacement
    node = value
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = replacement
    return value


def reshape(path: Path, at: float) -> None:
    """A safetensors file whose tensor is swapped for one of another shape (a consistent file)."""
    tensors = load_file(str(path))
    key = sorted(tensors)[min(int(at * len(tensors)), len(tensors) - 1)]
    tensors[key] = np.zeros(tensors[key].size + 1, tensors[key].dtype)
    save_file(tensors, str(path))


def bf16(path: Path) -> None:
    """The same tensors declared as bfloat16 (what a torch.save in bf16 converted to safetensors holds)."""
    tensors = load_file(str(path))
    header, blob, offset = {}, b"", 0
    for key, value in sorted(tensors.items()):
        raw = (value.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        header[key] = {"dtype": "BF16", "shape": list(value.shape), "data_offsets": [offset, offset + len(raw)]}
        blob, offset = blob + raw, offset + len(raw)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + blob)


def ids_out_of_range(path: Path, at: float) -> None:
    """A dataset with one id beyond the vocabulary, its checksum recomputed (a foreign, consistent file)."""
    with open_dataset(path) as dataset:
        vocab = len(dataset.vocab)
    with h5py.File(path, "r+") as f:
        train = f["train"]
        train[min(int(at * train.shape[0]), train.shape[0] - 1)] = min(vocab, np.iinfo(train.dtype).max)
        del f.attrs["sha256"]


DAMAGE = st.tuples(st.sampled_from(FILES),
                   st.sampled_from(["truncate", "flip", "retype", "reshape", "bf16", "ids"]),
                   st.floats(0, 0.999), st.integers(1, 255),
                   st.sampled_from([["x"], None, "x", -1, 1e308, {}, [], True]))


def damage(run: Path, spec) -> str:
    """Apply one damage; return a description (hypothesis shows it for a failing example)."""
    name, kind, at, mask, replacement = spec
    path = run / name
    data = path.read_bytes()
    if kind == "truncate":
        path.write_bytes(data[:int(at * len(data))])
    elif kind == "retype" and name.endswith((".json", ".rnntext-run")):
        path.write_text(json.dumps(retype(json.loads(data), at, replacement)))
    elif kind == "reshape" and name.endswith(".safetensors"):
        reshape(path, at)
    elif kind == "bf16" and name.endswith(".safetensors"):
        bf16(path)
    elif kind == "ids" and name == "data.h5":
        ids_out_of_range(path, at)
    else:
        path.write_bytes(flip(data, at, mask))
        kind = "flip"
    return f"{kind} {name} at {at:.3f}"


def check(code: int, out: str, err: str, before: dict, after: dict, correct: bool, what: str) -> None:
    assert code in (0, 2), what
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and ": error: " in lines[0], (what, err)
        assert after == before, f"{what}: a refused command changed files"
    else:
        assert correct, f"{what}: exit 0 with a wrong answer: {out[:200]!r}"


def fresh(base, spec) -> tuple[Path, str]:
    root, _, run, _ = base
    target = root / "case"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(run, target)
    return target, damage(target, spec)


FAST = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@FAST
@given(spec=DAMAGE)
def test_sample_and_eval_on_a_damaged_run(base, spec):
    _, corpus, _, answers = base
    run, what = fresh(base, spec)
    before = snapshot(run)
    code, out, err = run_cli("sample", run, *SAMPLE)
    check(code, out, err, before, snapshot(run), out == answers["sample"] or spec[0] in EDITABLE, "sample: " + what)
    code, out, err = run_cli("eval", run, corpus)
    check(code, out, err, before, snapshot(run), out == answers["eval"] or spec[0] in EDITABLE, "eval: " + what)


@settings(FAST, max_examples=25)
@given(spec=DAMAGE)
def test_resume_of_a_damaged_run(base, spec):
    answers = base[3]
    run, what = fresh(base, spec)
    before = snapshot(run)
    code, out, err = run_cli("train", "-o", run, "--resume", "--max-iters", "6", "--quiet")
    correct = code == 0 and all(np.array_equal(v, load_file(str(run / "model.safetensors"))[k])
                                for k, v in answers["resume"].items())
    check(code, out, err, before, snapshot(run), correct, "resume: " + what)
