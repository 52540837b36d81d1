"""A run directory has one writer (a lock a live training process holds), clean-ups never go
through a symbolic link, no other command writes over a run's files, and --resume starts a run
that is not there yet when the command names its input."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from helpers import TINY, one_line_error, run_cli
from rnntext.errors import RunError
from rnntext.model import checkpoint, claim, saved
from rnntext.model.lock import RunLock

SRC = Path(__file__).resolve().parents[2] / "src"


def snapshot(folder: Path) -> dict:
    """Every file below `folder` (links as links), but the lock file, which only names its holder."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(folder))] = ("link", os.readlink(p))
        elif p.is_file() and p.name != ".rnntext-lock":
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


def test_a_live_writer_refuses_every_other_and_a_killed_one_blocks_nothing(tmp_path, capsys, corpus):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    holder = subprocess.Popen([sys.executable, "-m", "rnntext", "train", str(corpus), "-o", str(run), "--max-iters",
                               "1000000", "--checkpoint-every", "20", *TINY], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (run / "trainer.json").exists() and time.time() < deadline and holder.poll() is None:
            time.sleep(0.05)
        holder.send_signal(signal.SIGSTOP)  # holds the lock, writes nothing: what the others do is seen alone
        time.sleep(0.3)  # a write in flight lands
        before = snapshot(run)
        assert (run / ".rnntext-lock").read_text().split("\n")[0] == str(holder.pid)
        for argv in (["train", corpus, "-o", run, "--hidden-size", "48", "--max-iters", "5"],
                     ["train", "-o", run, "--resume"],
                     ["train", corpus, "-o", run, "--force", *TINY],
                     ["train", corpus, "-o", run, "--resume", *TINY]):
            code, _, err = run_cli(capsys, *argv)
            one_line_error(code, err, f"is being written by process {holder.pid} (rnntext train {corpus} -o {run}",
                           "nothing was changed")
        assert snapshot(run) == before
        holder.send_signal(signal.SIGKILL)  # the kernel drops its lock
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    saved = checkpoint.read_checkpoint(run)[1]["iteration"]  # (trainer.json, written after it, may lag)
    code, out, err = run_cli(capsys, "train", "-o", run, "--resume", "--max-iters", saved + 3, "--quiet")
    assert code == 0 and out.startswith(f"{saved + 3} iterations"), err
    assert (run / ".rnntext-lock").read_text().split("\n")[0] == str(os.getpid())  # the last holder, this process


def test_the_lock_is_one_per_directory_in_one_process_too(tmp_path):
    with RunLock.take(tmp_path / "r") as first:
        first.record()
        with pytest.raises(RunError, match=f"process {os.getpid()}"):
            RunLock.held(tmp_path / "r")
    with RunLock.held(tmp_path / "r") as again:  # released: free again
        assert again is not None
    assert RunLock.held(tmp_path / "elsewhere") is None


@pytest.fixture
def kept(tmp_path, capsys, corpus) -> tuple[Path, Path]:
    """A run with numbered checkpoints, and a folder of the user's holding a file of their name."""
    run, mine = tmp_path / "run", tmp_path / "mine"
    assert run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "4", "--checkpoint-every", "2",
                   "--keep-last", "1", *TINY)[0] == 0
    mine.mkdir()
    (mine / "iter_00000001.safetensors").write_text("the user's")
    return run, mine


def test_a_symlinked_checkpoints_folder_is_refused_or_left_alone(kept, capsys, corpus):
    run, mine = kept
    for old in (run / "checkpoints").iterdir():
        old.unlink()
    (run / "checkpoints").rmdir()
    (run / "checkpoints").symlink_to(mine)
    before, theirs = snapshot(run), snapshot(mine)
    for argv in (["train", corpus, "-o", run, "--force", "--keep-last", "1", *TINY],
                 ["train", "-o", run, "--resume", "--keep-last", "1"]):
        code, _, err = run_cli(capsys, *argv)
        one_line_error(code, err, f"{run / 'checkpoints'} is a symbolic link (to {mine})", "never writes or removes")
        assert snapshot(run) == before and snapshot(mine) == theirs
    code, out, err = run_cli(capsys, "train", corpus, "-o", run, "--force", "--max-iters", "2", *TINY)
    assert code == 0, err
    assert "checkpoints" not in out.splitlines()[0].rsplit("): ", 1)[1].split(", ")  # trained beside it, left alone
    assert (run / "checkpoints").is_symlink() and snapshot(mine) == theirs


def test_a_symlinked_run_file_is_refused_and_its_target_untouched(kept, capsys, corpus):
    run, mine = kept
    target = mine / "weights.bin"
    target.write_bytes(b"the user's weights")
    (run / "model.safetensors").unlink()
    (run / "model.safetensors").symlink_to(target)
    before = snapshot(run)
    for argv in (["train", corpus, "-o", run, "--force", *TINY], ["train", "-o", run, "--resume"]):
        code, _, err = run_cli(capsys, *argv)
        one_line_error(code, err, "model.safetensors is a symbolic link")
    assert snapshot(run) == before and target.read_bytes() == b"the user's weights"


def test_a_checkpoint_folder_swapped_for_a_link_mid_run_is_never_written_through(kept, tmp_path):
    run, mine = kept
    tensors, state = checkpoint.read_checkpoint(run)
    info = saved.read_info(run)
    weights = load_file(str(run / "model.safetensors"))
    for old in (run / "checkpoints").iterdir():
        old.unlink()
    (run / "checkpoints").rmdir()
    (run / "checkpoints").symlink_to(mine)
    with pytest.raises(RunError, match="symbolic link"):
        checkpoint.save(run, info, weights, tensors, {**state, "iteration": 9}, keep_last=1)
    assert sorted(p.name for p in mine.iterdir()) == ["iter_00000001.safetensors"]
    assert not claim.unlink_regular(run / "checkpoints" / "iter_00000001.safetensors", run)
    assert (mine / "iter_00000001.safetensors").read_text() == "the user's"


@pytest.mark.parametrize("argv", [
    ["export", "onnx", "{run}", "-o", "{run}/model.safetensors", "--force"],
    ["export", "onnx", "{run}", "-o", "{run}/checkpoints/iter_00000004.safetensors", "--force"],
    ["prepare", "{corpus}", "-o", "{run}/model.json", "--force"],
    ["prepare", "{corpus}", "-o", "{run}/data.h5", "--force"],
    ["plot", "{run}", "-o", "{run}/trainer.json"],
    ["inspect", "{run}", "--text", "the fox", "-o", "{run}/.rnntext-run", "--force"],
], ids=["onnx-weights", "onnx-checkpoint", "prepare-model-json", "prepare-data", "plot", "inspect"])
def test_no_other_command_writes_over_a_run_file(kept, capsys, corpus, argv):
    run, _ = kept
    before = snapshot(run)
    code, _, err = run_cli(capsys, *[a.format(run=run, corpus=corpus) for a in argv])
    one_line_error(code, err, "is a file of the run in", "never writes over a run's files")
    assert snapshot(run) == before


def test_resume_starts_a_run_that_is_not_there_and_then_resumes_it(tmp_path, capsys, corpus):
    ref, run = tmp_path / "ref", tmp_path / "new" / "run"
    common = ["--max-iters", "6", "--checkpoint-every", "3", "--lr", "0.01", *TINY]
    assert run_cli(capsys, "train", corpus, "-o", ref, *common)[0] == 0
    code, out, err = run_cli(capsys, "train", corpus, "-o", run, "--resume", *common)  # the job line, first time
    assert code == 0 and out.startswith("6 iterations"), err
    want, got = load_file(str(ref / "model.safetensors")), load_file(str(run / "model.safetensors"))
    assert all(np.array_equal(want[k], got[k]) for k in want)
    code, out, err = run_cli(capsys, "train", corpus, "-o", run, "--resume", *common, "--max-iters", "8")  # again:
    # now it resumes
    assert code == 0 and out.startswith("8 iterations"), err
    code, _, err = run_cli(capsys, "train", "-o", tmp_path / "empty", "--resume", *TINY)
    one_line_error(code, err, "no rnntext run to resume", "give the text to train on beside --resume, and it starts the run there")
    assert not (tmp_path / "empty").exists()
