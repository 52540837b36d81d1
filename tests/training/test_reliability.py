"""Crashes, failing writes and Ctrl-C lose nothing; bad and hostile files are refused."""

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from rnntext import api
from rnntext.data.atomic import WriteError
from rnntext.errors import RunError
from rnntext.model import checkpoint
from rnntext.model.checkpoint import read_checkpoint

TINY = ["--num-layers", "1", "--hidden-size", "32", "--embed-size", "8", "--seq-len", "10", "--batch-size", "4",
        "--sample-every", "0", "--quiet", "--threads", "1", "--eval-every", "0", "--dropout", "0.1"]
SRC = Path(__file__).resolve().parents[2] / "src"


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "rnntext", *map(str, args)]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}


@pytest.fixture
def dataset(tmp_path, corpus) -> Path:
    out = tmp_path / "data.h5"
    api.prepare(corpus, out)
    return out


SLOW_FSYNC = """
import os, time
_fsync = os.fsync
def fsync(fd):  # injected by the test: make checkpoint writes slow so that kills land inside them
    time.sleep(0.15)
    return _fsync(fd)
os.fsync = fsync
"""


def test_sigkill_at_random_moments_loses_nothing(tmp_path, dataset):
    iters = 400
    common = [dataset, "--max-iters", iters, "--checkpoint-every", 20, *TINY]
    subprocess.run(cli("train", "-o", tmp_path / "ref", *common), env=env(), check=True, stdout=subprocess.DEVNULL)
    (tmp_path / "inject").mkdir()
    (tmp_path / "inject" / "sitecustomize.py").write_text(SLOW_FSYNC)
    slow = {**env(), "PYTHONPATH": f"{tmp_path / 'inject'}{os.pathsep}{SRC}"}
    run, rng, kills, mid_write = tmp_path / "run", random.Random(7), 0, 0
    while True:
        resume = (run / "trainer.safetensors").exists()
        proc = subprocess.Popen(cli("train", "-o", run, *common, "--resume" if resume else "--force"), env=slow,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if kills < 10 and kills % 2:  # every other kill waits for a write in progress
            deadline = time.time() + 30
            while not any(run.glob(".*.tmp")) and proc.poll() is None and time.time() < deadline:
                time.sleep(0.005)
        elif kills < 10:
            time.sleep(rng.uniform(1.0, 2.5))
        if kills < 10 and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, err = proc.communicate()
        mid_write += any(run.glob(".*.tmp"))  # a temporary file left behind: killed during a write
        if (run / "trainer.safetensors").exists():
            read_checkpoint(run)  # never half-written: always loads
            load_file(str(run / "model.safetensors"))
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, err
    assert kills == 10 and mid_write >= 3
    ref, got = load_file(str(tmp_path / "ref" / "model.safetensors")), load_file(str(run / "model.safetensors"))
    for key in ref:
        assert np.abs(ref[key] - got[key]).max() <= 1e-6, key
    assert json.loads((run / "trainer.json").read_text())["iteration"] == iters
    print(f"kills survived: {kills}, of which during a write: {mid_write}")


def test_ctrl_c_saves_a_checkpoint(tmp_path, dataset):
    run = tmp_path / "run"
    proc = subprocess.Popen(cli("train", dataset, "-o", run, "--max-iters", 10**6, "--checkpoint-every", 50, *TINY),
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60  # (the CLI restores Python's SIGINT handler even if this runs as a background job)
    while not (run / "trainer.json").exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert len(out.strip().splitlines()) == 1 and out.startswith("interrupted: checkpoint saved at iteration")
    saved = int(out.split("iteration ")[1].split(";")[0])
    assert json.loads((run / "trainer.json").read_text())["iteration"] == saved > 0


def test_failing_write_keeps_previous_checkpoint(tmp_path, dataset, monkeypatch):
    run, calls = tmp_path / "run", []
    original = checkpoint.write_checkpoint

    def failing(path, tensors, state):
        calls.append(state["iteration"])
        if len(calls) > 1:
            import rnntext.data.atomic as atomic
            monkeypatch.setattr(atomic.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))
        return original(path, tensors, state)

    monkeypatch.setattr(checkpoint, "write_checkpoint", failing)
    with pytest.raises(WriteError, match="No space left on device.*intact"):
        api.train(dataset, run, max_iters=20, checkpoint_every=5, eval_every=0, num_layers=1, hidden_size=(16,),
                  embed_size=8, seq_len=8, batch_size=2, sample_every=0, quiet=True)
    monkeypatch.undo()
    tensors, state = read_checkpoint(run)
    assert state["iteration"] == 5 and not list(run.glob(".*.tmp"))


@pytest.fixture
def trained(tmp_path, dataset) -> Path:
    run = tmp_path / "run"
    api.train(dataset, run, max_iters=4, eval_every=0, num_layers=1, hidden_size=(16,), embed_size=8, seq_len=8,
              batch_size=2, sample_every=0, quiet=True)
    return run


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing_key", "absurd_size", "newer", "not_json",
                                    "wrong_shape"])
def test_damaged_run_files_are_refused(trained, damage, capsys):
    from rnntext.cli import main

    info_path, weights_path = trained / "model.json", trained / "model.safetensors"
    info = json.loads(info_path.read_text())
    if damage == "truncated":
        weights_path.write_bytes(weights_path.read_bytes()[:500])
    elif damage == "garbage":
        weights_path.write_bytes(os.urandom(4000))
    elif damage == "missing_key":
        del info["model"]["cell"]
    elif damage == "absurd_size":
        info["model"]["hidden_size"] = [1_000_000_000]
    elif damage == "newer":
        info["format_version"] = 99
    elif damage == "wrong_shape":
        info["model"]["hidden_size"] = [17]
    if damage in ("missing_key", "absurd_size", "newer", "wrong_shape"):
        info_path.write_text(json.dumps(info))
    if damage == "not_json":
        info_path.write_text("{not json")
    before = snapshot(trained)
    assert main(["info", str(trained)]) == 2
    with pytest.raises(RunError):
        api.load(trained)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) <= 1
    assert snapshot(trained) == before


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARK}",))


MARK = "/tmp/rnntext-pickle-payload-ran"


def test_planted_pickle_never_runs(trained):
    Path(MARK).unlink(missing_ok=True)
    (trained / "model.safetensors").write_bytes(pickle.dumps({"rnn.weight_ih_l0": Payload()}))
    (trained / "trainer.safetensors").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(RunError, match="not a readable safetensors file"):
        api.load(trained)
    with pytest.raises(RunError):
        api.train(None, trained, resume=True, max_iters=8)
    assert not Path(MARK).exists()


def test_no_pickle_in_the_source():
    pattern = ("import pickle", "pickle.load", "torch.load(", "allow_pickle=True", "import dill", "joblib.load")
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        for p in pattern:
            assert p not in text, f"{path} contains {p!r}"


def test_binary_directory_given_as_text(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "a.txt").write_bytes(bytes(range(256)) * 4)
    from rnntext.errors import InputError

    with pytest.raises(InputError, match=r"has no files matching '\*\.txt' that are text \(1 binary skipped\)"):
        api.prepare(folder, tmp_path / "d.h5")
    assert not (tmp_path / "d.h5").exists()
