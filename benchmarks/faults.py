"""Fault injection: a full disk at every kind of write, SIGKILL and SIGTERM at random moments.

Each fault hits a tiny training run (or a prepare). Then the space is freed (the injection
ends) and the run resumed (or the prepare retried), and the result must equal an uninterrupted
run's: the same final weights (to 1e-6) and the same metrics lines for the steps both have
(all but the timing fields). Nothing may be lost on the way: the input, the previous dataset
and the last good version of every run file stay as they were.

* Full disk, in this process: from the Nth write of one kind of file on (dataset, manifest,
  config.toml, metrics.jsonl, model.json, model/best weights, checkpoint, trainer.json), every
  write fails with ENOSPC until the space is freed; at the write itself (half the bytes get
  there first) or at its fsync. The dataset's bytes are written by HDF5 in C, so there a file
  size limit (RLIMIT_FSIZE) makes the real write fail. The library has no hook for any of this.
* Signals: training in a child process gets SIGKILL or SIGTERM at seeded random moments, or
  while a checkpoint is being written (its fsync slowed by a sitecustomize in the child's
  path, written here), each followed by `--resume`, the resumed run itself the next victim.
* A second writer: while a child trains (stopped with SIGSTOP, so that it holds its lock but
  writes nothing), a new train, --force, --resume and --resume with the input are tried: each
  must be refused in one line naming the child, the run unchanged. Then the child is killed:
  its lock must not block the resume that finishes the run.
* Symbolic links: a run's checkpoints/ or weights replaced by a link to a folder of the user's,
  then --force (with and without --keep-last), --resume --keep-last, and exports and a prepare
  over the run's files: each refused or the link left alone, the link's target untouched.
* Early kills: the job line `train TEXT -o RUN --resume ...` (it starts the run when there is
  none) killed in its first moments: at a seeded moment of its first second, once it holds the
  lock, while it writes its record, its dataset or its first checkpoint; then run again, as a
  job script does, until it ends.

    .venv/bin/python benchmarks/faults.py [--kills 6] [--terms 6] [--early 2] [--seed 1]

prints one JSON line: the faults of each kind that ran (`by_kind`: ran and ended equal, or
refused as they must be), files lost, the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import itertools
import json
import os
import pathlib
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
ITERS = 40
TINY = ["--num-layers", "1", "--hidden-size", "16", "--embed-size", "8", "--seq-len", "16", "--batch-size", "4",
        "--dropout", "0.1", "--sample-every", "0", "--quiet", "--threads", "1", "--log-every", "5",
        "--eval-every", "20", "--checkpoint-every", "10"]
KINDS = {"manifest": ".rnntext-run", "config": "config.toml", "metrics": "metrics.jsonl", "model_json": "model.json",
         "weights": "model.safetensors", "best": "best.safetensors", "checkpoint": "trainer.safetensors",
         "trainer_json": "trainer.json"}
TIMING = ("tokens_per_s", "elapsed_s")  # the only fields of a metrics line that may differ
_TMP = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp")  # atomic_path's temporary names
SLOW_FSYNC = """
import os, time
_fsync = os.fsync
def fsync(fd):  # written by benchmarks/faults.py: slow writes, so that a signal can land inside one
    time.sleep(0.15)
    return _fsync(fd)
os.fsync = fsync
"""


def corpus(folder: Path, size: int = 20_000) -> Path:
    """A text made from the built-in corpus (the project ships no third-party text)."""
    from rnntext.text.read import BUILTIN_CORPORA

    path = folder / "corpus.txt"
    path.write_text(BUILTIN_CORPORA["python-docs"][1]()[:size], encoding="utf-8")
    return path


def cli(argv: list) -> tuple[int, str]:
    """`rnntext ARGV` in this process: (exit status, what it wrote to stderr)."""
    from rnntext.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def child(argv: list, env_path: Path | None = None) -> subprocess.Popen:
    """`python -m rnntext ARGV` in a child process (with env_path's sitecustomize first, if given)."""
    path = os.pathsep.join(str(p) for p in (env_path, SRC) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "rnntext", *map(str, argv)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


# -- comparing with an uninterrupted run ------------------------------------------------------

def outcome(run: Path) -> dict:
    """What a finished run left: its weights and its metrics lines without the timing fields."""
    from rnntext.model.records import read_metrics
    from rnntext.model.saved import load_safetensors

    lines = read_metrics(run)
    return {"weights": {name: load_safetensors(run / f"{name}.safetensors")[0]
                        for name in ("model", "best") if (run / f"{name}.safetensors").is_file()},
            "lines": {(r["iter"], "val_loss" in r): {k: v for k, v in r.items() if k not in TIMING} for r in lines},
            "iteration": json.loads((run / "trainer.json").read_text())["iteration"]}


def difference(ref: dict, got: dict, tol: float = 1e-6) -> str:
    """How `got` differs from the uninterrupted run `ref` ("" if it does not): the final
    iteration, the weights (beyond `tol`), the metrics lines of the steps both have."""
    if ref["iteration"] != got["iteration"] or set(ref["weights"]) != set(got["weights"]):
        return f"iteration {got['iteration']} (not {ref['iteration']}), weights {sorted(got['weights'])}"
    for name, tensors in ref["weights"].items():
        other = got["weights"][name]
        worst = max(float(np.abs(tensors[k] - other[k]).max()) for k in tensors)
        if set(tensors) != set(other) or worst > tol:
            return f"{name} weights differ by {worst:.3g}"
    shared = set(ref["lines"]) & set(got["lines"])
    bad = sorted(k for k in shared if not _close(ref["lines"][k], got["lines"][k], tol))
    if bad or len(shared) < len(ref["lines"]) // 2:
        return f"metrics lines differ at {bad[:3]} ({len(shared)} of {len(ref['lines'])} shared)"
    return ""


def _close(a: dict, b: dict, tol: float) -> bool:
    if a.keys() != b.keys():
        return False
    return all(abs(a[k] - b[k]) <= tol * max(1.0, abs(a[k])) if isinstance(a[k], float) else a[k] == b[k] for k in a)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not _TMP.fullmatch(p.name)}


def lost(before: dict[str, bytes], folder: Path) -> int:
    """Files of `before` that are gone or changed in `folder`."""
    now = snapshot(folder) if folder.is_dir() else {}
    return sum(now.get(name) != data for name, data in before.items())


# -- a full disk --------------------------------------------------------------------------------

class DiskFull:
    """From the nth write (phase "write") or fsync (phase "fsync") of the file `name` under `root`
    on, every write under `root` fails with ENOSPC, until the context ends (the space is freed).
    A failing write first writes half its bytes, as a real one may. `before` is what `root` held
    when the disk filled."""

    def __init__(self, root: Path, name: str, nth: int, phase: str = "write"):
        self.root, self.name, self.nth, self.phase = Path(root).resolve(), name, nth, phase
        self.seen, self.full, self.before = 0, False, None

    def _fails(self, path: str | Path, phase: str) -> bool:
        path = Path(path)
        if self.root not in path.parents:
            return False
        if not self.full:
            match = _TMP.fullmatch(path.name)
            if (match["name"] if match else path.name) != self.name or phase != self.phase:
                return False
            self.seen += 1
            if self.seen < self.nth:
                return False
            self.full, self.before = True, snapshot(self.root)
        return True

    def __enter__(self):
        write_bytes, write, fsync = pathlib.Path.write_bytes, os.write, os.fsync
        self._saved = write_bytes, write, fsync

        def failing_write_bytes(path, data):
            if not self._fails(path, "write"):
                return write_bytes(path, data)
            with open(path, "wb") as f:
                f.write(memoryview(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

        def failing_write(fd, data):
            if not self._fails(_fd_path(fd), "write"):
                return write(fd, data)
            write(fd, memoryview(data)[: len(data) // 2])  # a torn line
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def failing_fsync(fd):
            if self._fails(_fd_path(fd), "fsync"):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return fsync(fd)

        pathlib.Path.write_bytes, os.write, os.fsync = failing_write_bytes, failing_write, failing_fsync
        return self

    def __exit__(self, *exc):
        pathlib.Path.write_bytes, os.write, os.fsync = self._saved


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


@contextlib.contextmanager
def file_size_limit(size: int):
    """Writes past `size` bytes of any file fail (EFBIG) in this process, as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def one_line(err: str, *fragments: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and all(f in lines[0] for f in fragments)


def disk_full_in_training(lab: Path, text: Path, ref: dict, kind: str, nth: int, phase: str) -> dict:
    """Train with the disk filling at the nth write of `kind`; free it; resume; compare."""
    run = lab / f"full-{kind}-{nth}-{phase}"
    first = ["train", text, "-o", run, "--max-iters", ITERS, *TINY]
    with DiskFull(run, KINDS[kind], nth, phase) as disk:
        code, err = cli(first)
    result = {"kind": kind, "nth": nth, "phase": phase, "hit": disk.full}
    if not disk.full:
        return result
    result["one_line_error"] = code == 2 and one_line(err, "No space left on device")
    result["lost"] = lost(disk.before, run) + lost(text_snapshot(text), text.parent)
    code, err = cli(["train", "-o", run, "--resume"])
    if code == 2 and "no rnntext run to resume" in err:  # the disk filled before the run was recorded
        code, err = cli(first)
    result["difference"] = difference(ref, outcome(run)) if code == 0 else f"exit {code}: {err.strip()[:200]}"
    return result


def text_snapshot(text: Path) -> dict[str, bytes]:
    return {text.name: text.read_bytes()}


def disk_full_in_prepare(lab: Path, text: Path, fraction: float) -> dict:
    """Prepare over an existing dataset (--force) with the disk filling at `fraction` of the
    dataset's size; the old dataset must stay; a retry must give the uninterrupted dataset."""
    from rnntext.data.dataset import open_dataset

    ref, out = lab / "prepare-ref.h5", lab / f"prepare-{fraction}.h5"
    if not ref.is_file():
        assert cli(["prepare", text, "-o", ref])[0] == 0
    other = lab / "other.txt"
    other.write_text("an older dataset of another text\n" * 50, encoding="utf-8")
    assert cli(["prepare", other, "-o", out, "--force"])[0] == 0
    before = snapshot(lab)
    with file_size_limit(int(ref.stat().st_size * fraction)):
        code, err = cli(["prepare", text, "-o", out, "--force"])
    result = {"kind": "dataset", "fraction": fraction, "hit": code != 0,
              "one_line_error": code == 2 and one_line(err, "File too large", "the previous file is intact"),
              "lost": lost(before, lab)}
    code, _ = cli(["prepare", text, "-o", out, "--force"])
    with open_dataset(ref) as a, open_dataset(out) as b:
        same = a.meta == b.meta and all(np.array_equal(a.split(s)[:], b.split(s)[:]) for s in ("train", "val", "test"))
    result["difference"] = "" if code == 0 and same else f"exit {code}, same dataset: {same}"
    return result


# -- signals --------------------------------------------------------------------------------------

def signal_chain(lab: Path, text: Path, ref: dict, plan: list[tuple[str, str]], rng: random.Random,
                 seconds: float) -> list[dict]:
    """One training run that receives each (signal, when) of `plan` in turn, "when" being
    "random" (a seeded moment within `seconds`) or "write" (while a checkpoint is written); each
    is followed by --resume, and the run is finished and compared at the end."""
    run, inject = lab / f"signals-{len(list(lab.glob('signals-*')))}", lab / "slow"
    inject.mkdir(exist_ok=True)
    (inject / "sitecustomize.py").write_text(SLOW_FSYNC)
    first = ["train", text, "-o", run, "--max-iters", ITERS * 5, *TINY]
    results, seen = [], set()
    for name, when in [*plan, ("", "")]:
        argv = ["train", "-o", run, "--resume"] if (run / ".rnntext-run").is_file() else first
        stale = set(run.glob(".*.tmp"))
        proc = child(argv, inject if when == "write" else None)
        hit = bool(name) and _deliver(proc, run, getattr(signal, name), when, rng, seconds, stale)
        _, err = proc.communicate()
        if not name:
            if proc.returncode != 0:
                raise RuntimeError(f"the final resume of {run} failed: {err.strip()[-300:]}")
            break
        results.append({"signal": name, "when": when, "hit": hit, "returncode": proc.returncode,
                        "mid_write": bool(set(run.glob(".*.tmp")) - stale),  # a temporary file left behind
                        "lost": sum(not (run / n).is_file() or not _readable(run / n) for n in seen)})
        seen |= {p.name for p in (run.iterdir() if run.is_dir() else ()) if p.is_file() and not _TMP.fullmatch(p.name)}
    diff = difference(ref, outcome(run))
    for r in results:
        r["difference"] = diff
    return results


def _deliver(proc: subprocess.Popen, run: Path, signum: int, when: str, rng: random.Random, seconds: float,
             stale: set) -> bool:
    """Send `signum` at the chosen moment; whether the process was still running to get it."""
    if when == "write":  # a checkpoint's temporary file of this session (not one an earlier kill left)
        deadline = time.time() + 60
        while not set(run.glob(".trainer.safetensors.*.tmp")) - stale and proc.poll() is None and time.time() < deadline:
            time.sleep(0.003)
    elif when == "training":  # a seeded moment once this session has logged a line
        logged = _size(run / "metrics.jsonl")
        deadline = time.time() + 60
        while _size(run / "metrics.jsonl") <= logged and proc.poll() is None and time.time() < deadline:
            time.sleep(0.003)
        time.sleep(rng.uniform(0.0, seconds / 3))
    else:  # a seeded moment from the start: importing, preparing, training or saving
        time.sleep(rng.uniform(0.2, seconds))
    if proc.poll() is not None:
        return False
    proc.send_signal(signum)
    return True


@contextlib.contextmanager
def signal_at(moment: str, nth: int, signum: int = signal.SIGTERM):
    """Send this process `signum` at the nth `moment` of training: "backward" (a step's gradients
    computed, its dropout drawn), "step" (the optimizer has stepped, the trainer has not counted
    it yet) or "checkpoint" (as trainer.safetensors is written). Public torch hooks only."""
    import torch

    seen = [0]

    def fire(*_):
        seen[0] += 1
        if seen[0] == nth:
            signal.raise_signal(signum)

    backward, write_bytes, handle = torch.Tensor.backward, pathlib.Path.write_bytes, None
    if moment == "backward":
        torch.Tensor.backward = lambda self, *a, **k: (backward(self, *a, **k), fire())[0]
    elif moment == "step":
        from torch.optim.optimizer import register_optimizer_step_post_hook

        handle = register_optimizer_step_post_hook(fire)
    else:
        def checkpoint_write(path, data):
            if _TMP.fullmatch(path.name) and _TMP.fullmatch(path.name)["name"] == "trainer.safetensors":
                fire()
            return write_bytes(path, data)

        pathlib.Path.write_bytes = checkpoint_write
    try:
        yield seen
    finally:
        torch.Tensor.backward, pathlib.Path.write_bytes = backward, write_bytes
        if handle is not None:
            handle.remove()


def signal_in_process(lab: Path, text: Path, ref: dict, moment: str, nth: int) -> dict:
    """SIGTERM at the nth `moment` (see signal_at) of a training run in this process, then --resume."""
    run = lab / f"sigterm-{moment}-{nth}"
    with signal_at(moment, nth) as seen:
        code, err = cli(["train", text, "-o", run, "--max-iters", ITERS, *TINY])
    result = {"signal": "SIGTERM", "when": moment, "hit": seen[0] >= nth, "returncode": code, "lost": 0}
    before = snapshot(run)
    stopped = json.loads((run / "trainer.json").read_text())["iteration"] if code == 143 else None
    code, err = cli(["train", "-o", run, "--resume"])
    result |= {"stopped_at": stopped, "lost": sum(not (run / n).is_file() for n in before)}
    result["difference"] = difference(ref, outcome(run)) if code == 0 else f"exit {code}: {err.strip()[:200]}"
    return result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _readable(path: Path) -> bool:
    """Whether a run file can be read (safetensors with a matching digest, JSON, TOML, metrics)."""
    from rnntext.config import read_toml
    from rnntext.model.saved import load_safetensors

    try:
        if path.suffix == ".safetensors":
            load_safetensors(path)
        elif path.suffix == ".toml":
            read_toml(path)
        elif path.name in (".rnntext-run", "model.json", "trainer.json"):
            json.loads(path.read_text(encoding="utf-8"))
        return True
    except Exception:  # any failure to read counts: this is what is measured
        return False


# -- a second writer, symbolic links, early kills ------------------------------------------------

def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            return False
        time.sleep(0.003)
    return True


def concurrent_writers(lab: Path, text: Path, ref: dict) -> list[dict]:
    """Other writers beside a live training run (stopped, holding its lock), then its stale lock."""
    run = lab / "writers"
    holder = child(["train", text, "-o", run, "--max-iters", ITERS * 5, *TINY])
    results = []
    try:
        started = wait_for(lambda: (run / "trainer.json").is_file() or holder.poll() is not None)
        holder.send_signal(signal.SIGSTOP)
        time.sleep(0.2)
        before = snapshot(run)
        for kind, argv in (("writer-train", ["train", text, "-o", run, "--hidden-size", "48", *TINY]),
                           ("writer-force", ["train", text, "-o", run, "--force", *TINY]),
                           ("writer-resume", ["train", "-o", run, "--resume"]),
                           ("writer-resume-input", ["train", text, "-o", run, "--resume", *TINY])):
            code, err = cli(argv)
            refused = code == 2 and one_line(err, f"process {holder.pid} (rnntext train", "nothing was changed")
            results.append({"kind": kind, "hit": started, "refused": refused, "lost": lost(before, run),
                            "difference": "" if refused else f"exit {code}: {err.strip()[:200]}"})
        holder.send_signal(signal.SIGKILL)
        holder.wait(60)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    code, err = cli(["train", "-o", run, "--resume"])
    diff = difference(ref, outcome(run)) if code == 0 else f"exit {code}: {err.strip()[:200]}"
    return results + [{"kind": "writer-stale-lock", "hit": True, "lost": 0, "difference": diff}]


def _linked(lab: Path, base: Path, name: str, what: str | None) -> tuple[Path, Path]:
    """A copy of the run `base` whose `what` (checkpoints, model.safetensors, or None: nothing) is
    a link into a folder of the user's (holding a file of a numbered checkpoint's name); (run, folder)."""
    import shutil

    run, mine = lab / f"link-{name}", lab / f"link-{name}-mine"
    shutil.copytree(base, run, symlinks=True)
    mine.mkdir()
    (mine / "iter_00000001.safetensors").write_text("the user's")
    if what == "checkpoints":
        shutil.rmtree(run / "checkpoints")
        (run / "checkpoints").symlink_to(mine)
    elif what is not None:
        (run / what).unlink()
        (run / what).symlink_to(mine / "iter_00000001.safetensors")
    return run, mine


LINK_CASES = {  # name: (what is a link, the command, whether it may run: beside the link, left alone)
    "checkpoints-force-keep": ("checkpoints", ["train", "{text}", "-o", "{run}", "--force", "--keep-last", "1"], False),
    "checkpoints-resume-keep": ("checkpoints", ["train", "-o", "{run}", "--resume", "--keep-last", "1"], False),
    "checkpoints-force": ("checkpoints", ["train", "{text}", "-o", "{run}", "--force", "--max-iters", "3"], True),
    "weights-force": ("model.safetensors", ["train", "{text}", "-o", "{run}", "--force"], False),
    "weights-resume": ("model.safetensors", ["train", "-o", "{run}", "--resume"], False),
    "export-over-weights": (None, ["export", "onnx", "{run}", "-o", "{run}/model.safetensors", "--force"], False),
    "prepare-over-data": (None, ["prepare", "{text}", "-o", "{run}/data.h5", "--force"], False),
}


def symlink_cases(lab: Path, text: Path, quick: bool = False) -> list[dict]:
    """Each of LINK_CASES on a copy of one small run with numbered checkpoints."""
    base = lab / "link-base"
    assert cli(["train", text, "-o", base, "--max-iters", 4, "--keep-last", 1, *TINY])[0] == 0
    results = []
    for name, (what, argv, runs) in list(LINK_CASES.items())[:4 if quick else None]:
        run, mine = _linked(lab, base, name, what)
        before, theirs = snapshot(run), snapshot(mine)
        code, err = cli([a.format(text=text, run=run) if isinstance(a, str) else a for a in argv]
                        + (TINY if argv[0] == "train" and "--force" in argv else []))
        ok = (code == 0 and (run / "checkpoints").is_symlink()) if runs else \
            (code == 2 and one_line(err) and lost(before, run) == 0)
        results.append({"kind": f"link-{name}", "hit": True, "refused": not runs and ok,
                        "target_untouched": lost(theirs, mine) == 0, "lost": lost(theirs, mine),
                        "difference": "" if ok and lost(theirs, mine) == 0 else f"exit {code}: {err.strip()[:200]}"})
    return results


EARLY = ("start", "lock", "record", "prepare", "first-checkpoint")  # when the first session of a job line dies


def early_kill(lab: Path, text: Path, ref: dict, moment: str, rng: random.Random) -> dict:
    """The job line killed (SIGKILL) at `moment` of its first session, then run again until it ends."""
    run, inject = lab / f"early-{moment}-{len(list(lab.glob('early-*')))}", lab / "slow"
    inject.mkdir(exist_ok=True)
    (inject / "sitecustomize.py").write_text(SLOW_FSYNC)
    line = ["train", text, "-o", run, "--resume", "--max-iters", ITERS, *TINY]
    proc = child(line, inject)
    seen = {"start": lambda: False, "lock": lambda: (run / ".rnntext-lock").exists(),
            "record": lambda: any(run.glob(".rnntext-run.*.tmp")), "prepare": lambda: any(run.glob(".data.h5.*.tmp")),
            "first-checkpoint": lambda: any(run.glob(".trainer.safetensors.*.tmp"))}[moment]
    if moment == "start":
        time.sleep(rng.uniform(0.0, 1.0))
        hit = proc.poll() is None
    else:
        hit = wait_for(lambda: seen() or proc.poll() is not None) and proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    left = sorted(p.name for p in run.iterdir()) if run.is_dir() else []
    for _ in range(3):  # the job line again, as a job script runs it, until it ends
        proc = child(line)
        _, err = proc.communicate()
        if proc.returncode == 0:
            break
    diff = difference(ref, outcome(run)) if proc.returncode == 0 else f"exit {proc.returncode}: {err.strip()[-300:]}"
    return {"kind": f"early-{moment}", "hit": hit, "left": left, "lost": 0, "difference": diff}


# -- the whole run -----------------------------------------------------------------------------

def reference(lab: Path, text: Path, iters: int, in_process: bool) -> dict:
    run = lab / f"reference-{iters}-{'in' if in_process else 'child'}"
    if (run / "trainer.json").is_file():  # made once in a lab
        return outcome(run)
    argv = ["train", text, "-o", run, "--max-iters", iters, *TINY]
    if in_process:
        assert cli(argv)[0] == 0
    else:
        proc = child(argv)
        _, err = proc.communicate()
        assert proc.returncode == 0, err
    return outcome(run)


MOMENTS = (("backward", 13), ("step", 27), ("checkpoint", 2))  # SIGTERM inside a step, inside a save
ONCE = ("manifest", "config")  # written once a session; best.safetensors twice in ITERS; the others more


def disk_full_cases(quick: bool) -> list[tuple[str, int, str]]:
    """(kind, nth, phase) of each full-disk fault (metrics lines are appended, not fsynced)."""
    if quick:
        return [(kind, 1 if kind in ONCE else 2, "write") for kind in KINDS] + [("model_json", 1, "write"),
                                                                                  ("checkpoint", 1, "fsync")]
    nths = {kind: (1,) if kind in ONCE else (1, 2) if kind == "best" else (1, 2, 3) for kind in KINDS}
    return [(kind, nth, phase) for kind in KINDS for nth in nths[kind] for phase in ("write", "fsync")
            if not (kind == "metrics" and phase == "fsync")]


def signal_plans(kills: int, terms: int) -> list[list[tuple[str, str]]]:
    """Chains of at most two signals (a SIGKILL, then a SIGTERM to the resumed run), each chain a
    fresh run: SIGKILL at a random moment or while a checkpoint is written, SIGTERM at a random
    moment, while a checkpoint is written or during training."""
    kill = [("SIGKILL", ("random", "write")[i % 2]) for i in range(kills)]
    term = [("SIGTERM", ("random", "write", "training")[i % 3]) for i in range(terms)]
    return [[*k, *t] for k, t in itertools.zip_longest([[x] for x in kill], [[x] for x in term], fillvalue=[])]


def run_all(lab: Path, kills: int, terms: int, seed: int, quick: bool = False, early: int = 2) -> dict:
    text, rng = corpus(lab), random.Random(seed)
    faults = [disk_full_in_prepare(lab, text, f) for f in ((0.5,) if quick else (0.05, 0.5, 0.95))]
    ref = reference(lab, text, ITERS, in_process=True)
    faults += [disk_full_in_training(lab, text, ref, *case) for case in disk_full_cases(quick)]
    faults += [signal_in_process(lab, text, ref, moment, nth) for moment, nth in MOMENTS]
    started = time.monotonic()
    long_ref = reference(lab, text, ITERS * 5, in_process=False)
    seconds = time.monotonic() - started
    for plan in signal_plans(kills, terms):
        faults += signal_chain(lab, text, long_ref, plan, rng, seconds)
    faults += concurrent_writers(lab, text, long_ref)
    faults += symlink_cases(lab, text, quick)
    child_ref = reference(lab, text, ITERS, in_process=False)
    faults += [early_kill(lab, text, child_ref, moment, rng) for moment in EARLY for _ in range(early)]
    return summarise(faults)


def summarise(faults: list[dict]) -> dict:
    ran = [f for f in faults if f["hit"]]
    kinds: dict[str, dict] = {}
    for f in ran:
        key = f.get("kind") or f"{f['signal']}-{f['when']}"
        entry = kinds.setdefault(key, {"ran": 0, "equal" if "refused" not in f else "as_they_must": 0})
        entry["ran"] += 1
        entry["equal" if "refused" not in f else "as_they_must"] += not f["difference"]
    return {"faults": len(ran), "equal": sum(not f["difference"] for f in ran), "by_kind": kinds,
            "files_lost": sum(f["lost"] for f in ran),
            "one_line_errors": sum(bool(f.get("one_line_error")) for f in ran if "one_line_error" in f),
            "disk_full_faults": sum("one_line_error" in f for f in ran),
            "killed_mid_write": sum(bool(f.get("mid_write")) for f in ran),
            "not_equal": [f for f in ran if f["difference"]], "not_reached": [f for f in faults if not f["hit"]]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--terms", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--early", type=int, default=2, help="early kills of each moment (EARLY)")
    parser.add_argument("--quick", action="store_true", help="one full-disk fault per kind, as the tests run")
    args = parser.parse_args()
    from rnntext import hardware

    os.environ["OMP_NUM_THREADS"] = "1"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        result = run_all(Path(tmp), args.kills, args.terms, args.seed, args.quick, args.early)
    print(json.dumps({"benchmark": "faults", **result, "seconds": round(time.monotonic() - started, 1),
                      "machine": hardware.describe()}, default=str))


if __name__ == "__main__":
    main()
