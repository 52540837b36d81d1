"""Multi-process training (torchrun, gloo on the CPU): same weights as one process, clean failure, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import rnntext

SRC = Path(__file__).resolve().parents[2] / "src"
OPTS = ["--batch-size", "8", "--seq-len", "20", "--hidden-size", "32", "--embed-size", "16", "--num-layers", "2",
        "--sample-every", "0", "--threads", "1", "--dropout", "0", "--weight-drop", "0", "--quiet",
        "--precision", "float32"]  # bf16 rounds a batch of 8 and two of 4 differently


def cli(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "rnntext", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300, **kw)


@pytest.fixture
def dataset(tmp_path, corpus):
    out = tmp_path / "d.h5"
    rnntext.prepare(corpus, out, val_frac=0.1)
    return out


def test_two_processes_equal_one_with_the_same_global_batch(tmp_path, dataset):
    one = cli("train", dataset, "-o", tmp_path / "one", "--max-iters", 20, "--eval-every", 10, *OPTS)
    assert one.returncode == 0, one.stderr
    two = cli("train", dataset, "-o", tmp_path / "two", "--max-iters", 20, "--eval-every", 10, "--nproc", 2, *OPTS)
    assert two.returncode == 0, two.stderr
    a, b = load_file(str(tmp_path / "one" / "model.safetensors")), load_file(str(tmp_path / "two" / "model.safetensors"))
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) <= 1e-5
    lines = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert len([x for x in lines if "val_loss" in x]) == 2  # rank 0 alone writes metrics
    assert two.stdout.count("20 iterations") == 1  # and speaks


def test_auto_size_and_time_limit_are_decided_once_for_every_rank(tmp_path, dataset):
    """Rank 0 probes the size and its clock ends the run: a rank stopping alone would hang the other."""
    i = OPTS.index("--hidden-size")
    opts = OPTS[:i] + OPTS[i + 2:]  # the auto size
    run = tmp_path / "run"
    done = cli("train", dataset, "-o", run, "--time-limit", 4, "--nproc", 2, "--eval-every", 0, *opts)
    assert done.returncode == 0, done.stderr
    info = json.loads((run / "model.json").read_text())
    chosen = info["model"]["hidden_size"]
    assert chosen[0] in (64, 128, 256) and info["training"]["recipe"]["hidden_size"] == chosen[0]
    weights = load_file(str(run / "model.safetensors"))
    assert weights["rnn.weight_hh_l0"].shape == (4 * chosen[0], chosen[0])


def test_killed_worker_ends_the_job_and_resume_continues(tmp_path, dataset):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rnntext", "train", str(dataset), "-o", str(run), "--max-iters",
                             "100000", "--checkpoint-every", "5", "--eval-every", "0", "--nproc", "2", *OPTS],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while not (run / "trainer.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    workers = subprocess.run(["pgrep", "-f", f"rnntext train {dataset} -o {run}"], capture_output=True, text=True)
    pids = [int(p) for p in workers.stdout.split() if int(p) != proc.pid]
    victim = max(pids)  # a worker, not the launcher
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1].startswith("rnntext train: error: a training process failed")
    done = json.loads((run / "trainer.json").read_text())["iteration"]
    resumed = cli("train", "-o", run, "--resume", "--nproc", 2, "--max-iters", done + 10)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "trainer.json").read_text())["iteration"] == done + 10
