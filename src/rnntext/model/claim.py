"""The run's record: which files in the directory rnntext wrote, and taking a directory.

`.rnntext-run` (JSON, written atomically) names the inputs of the run, its resolved
configuration and every file rnntext writes there. Starting a run over (--force) removes
only files listed there; an input, a file of another program, or anything unlisted is never
removed or replaced, and a command that is refused changes nothing on disk.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import stat
from pathlib import Path

from rnntext.data.atomic import write_text
from rnntext.errors import RunError
from rnntext.faces import ask
from rnntext.model.layout import CHECKPOINTS, LOCK, MANIFEST, MODEL_JSON, NUMBERED, RUN_FILES, TRAINER, WEIGHT_FILES
from rnntext.model.lock import RunLock

MANIFEST_FORMAT = "rnntext-run"
_OWN_TMP = re.compile(r"\.(?P<name>[^/]+)\.[A-Za-z0-9_]{8}\.tmp")  # atomic.atomic_path's temporary names


def manifest_record(inputs: list[str], config: dict) -> dict:
    """A new run's record (plan_claim adds the files): its inputs and resolved configuration."""
    return {"format": MANIFEST_FORMAT, "format_version": 1, "inputs": list(inputs), "config": config}


def read_manifest(run: Path) -> dict | None:
    """The run's record, or None where there is none or it is damaged (nothing is then rnntext's)."""
    path = Path(run) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    ok = (isinstance(raw, dict) and raw.get("format") == MANIFEST_FORMAT
          and isinstance(raw.get("files"), list) and all(isinstance(n, str) for n in raw["files"])
          and isinstance(raw.get("inputs", []), list) and isinstance(raw.get("config", {}), dict))
    return raw if ok else None


def is_own_tmp(name: str, names=RUN_FILES + (MANIFEST,)) -> bool:
    """A temporary file atomic_path makes for one of `names` (left behind by a crash mid-write)."""
    m = _OWN_TMP.fullmatch(name)
    return bool(m) and (m["name"] in names or bool(NUMBERED.fullmatch(m["name"])))


@dataclasses.dataclass
class Claim:
    """What taking a run directory will change, decided before anything changes."""

    run: Path
    remove: list[str]  # rnntext's own files of an earlier run, to remove before starting over
    stale: list[Path]  # rnntext's temporary files left by a crash mid-write
    record: dict  # the manifest to write
    lock: RunLock | None = None  # held from the plan to the end of training (claim_locked)

    def apply(self) -> list[str]:
        """Remove what the claim names, create the directory, write the record; return what was removed."""
        if self.lock is not None:
            self.lock.record()  # from here on this process changes the directory: a refused one names it
        try:
            for path in self.stale:
                unlink_regular(path, self.run)
            for name in self.remove:
                _remove_own(self.run, name)
            self.run.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot prepare the run directory {self.run}: {e.strerror or e}: "
                           f"choose a writable {ask('output')}") from None
        write_text(self.run / MANIFEST, json.dumps(self.record, indent=1, ensure_ascii=False) + "\n")
        return list(self.remove)


def _remove_own(run: Path, name: str) -> None:
    path = run / name
    if name != CHECKPOINTS:
        unlink_regular(path, run)
        return
    for item in path.iterdir() if real_dir(path) else ():  # numbered checkpoints only, nothing else there
        if NUMBERED.fullmatch(item.name) or is_own_tmp(item.name):
            unlink_regular(item, run)
    if real_dir(path) and not any(path.iterdir()):
        path.rmdir()


def real_dir(path: Path) -> bool:
    """A directory itself, not a symbolic link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def regular(path: Path) -> bool:
    """A regular file itself, not a symbolic link to one (nor a folder, a FIFO, a device)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def unlink_regular(path: Path, run: Path | None = None) -> bool:
    """Remove `path` if it is a regular file; anything else (a link, a folder) is left as it is.
    The name is checked inside its opened folder, so a link swapped in between is never followed;
    a folder below the run directory `run` (which may itself be reached through a link, the
    user's -o) is opened only if it is not a link. Whether it was removed."""
    path = Path(path)
    below = run is not None and Path(path.parent) != Path(run)
    try:
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | (os.O_NOFOLLOW if below else 0))
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        if e.errno == errno.ELOOP:  # the folder is a link
            return False
        raise
    try:
        if not stat.S_ISREG(os.stat(path.name, dir_fd=folder, follow_symlinks=False).st_mode):
            return False
        os.unlink(path.name, dir_fd=folder)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(folder)


def own_folder(run: Path, name: str = CHECKPOINTS) -> Path:
    """The run's folder `name`, made where missing; a RunError where it is a link or not a folder
    (rnntext writes and prunes numbered checkpoints only in a folder of its own)."""
    path = Path(run) / name
    try:
        path.mkdir(exist_ok=True)
    except FileExistsError:
        pass
    if not real_dir(path):
        raise RunError(_not_own(path) + ": remove it, or drop " + ask("keep_last"))
    return path


def _not_own(path: Path) -> str:
    if path.is_symlink():
        return f"{path} is a symbolic link (to {os.readlink(path)}); rnntext never writes or removes through a link"
    return f"{path} is not a {'folder' if path.name == CHECKPOINTS else 'regular file'} of rnntext's"


def _check_target(run: Path) -> None:
    if run.is_symlink() and not run.exists():
        raise RunError(f"{run} is a symbolic link to {os.readlink(run)}, which does not exist: "
                       f"create that directory or choose another {ask('output')}")
    if run.exists() and not run.is_dir():
        raise RunError(f"{run} is a file, not a run directory: choose another {ask('output')}")
    folder = run if run.is_dir() else next((p for p in run.absolute().parents if p.exists()), Path("/"))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RunError(f"cannot write to {folder} (read-only or not yours): choose another {ask('output')}")


def _entries(run: Path) -> dict[str, Path]:
    return {p.name: p for p in run.iterdir()} if run.is_dir() else {}


def _owned(run: Path, manifest: dict | None, entries: dict[str, Path]) -> set[str]:
    """Listed in the record and still what rnntext writes there: a plain file (or the checkpoints folder)."""
    listed = set(manifest["files"]) if manifest else set()
    own = {n for n in listed & set(RUN_FILES) if n in entries and regular(entries[n])}
    if CHECKPOINTS in listed and CHECKPOINTS in entries and real_dir(entries[CHECKPOINTS]):
        own.add(CHECKPOINTS)
    return own


def _stale(run: Path, entries: dict[str, Path]) -> list[Path]:
    stale = [p for n, p in entries.items() if is_own_tmp(n) and regular(p)]
    folder = entries.get(CHECKPOINTS)
    if folder is not None and real_dir(folder):
        stale += [p for p in folder.iterdir() if is_own_tmp(p.name) and regular(p)]
    return stale


def _refuse_links(run: Path, names: set[str], entries: dict[str, Path]) -> None:
    """The run would write `names`: none of them may be a symbolic link (or, for a file, a folder)."""
    for name in sorted(names & set(entries)):
        ok = real_dir(entries[name]) if name == CHECKPOINTS else regular(entries[name])
        if not ok:
            raise RunError(_not_own(entries[name]) + ": the run would write there: remove it, or choose another " + ask("output"))


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
    _refuse_links(run, writes - inside, entries)
    if resume and manifest is None:
        if TRAINER not in entries:
            raise RunError(f"{run} holds no rnntext run to resume (no checkpoint, no {MANIFEST}): start one with "
                           f"`rnntext train INPUT -o {run}`")
        owned = {n for n in RUN_FILES if n in entries and regular(entries[n])} - inside  # a run of an older rnntext
        manifest = manifest_record([], {})
    blocked = sorted((inside & writes) - owned)
    if blocked:
        raise RunError(f"{run / blocked[0]} is an input of this command and the run would overwrite it: copy it "
                       f"out of {run}, or choose another {ask('output')}")
    if resume:
        _refuse_foreign(run, writes & set(entries) - owned)
        return Claim(run, [], stale, {**manifest, "files": sorted(owned | writes)})
    mine = owned | {p.name for p in stale if p.parent == run} | ({MANIFEST} if manifest else set()) | {LOCK}
    others = sorted(set(entries) - mine - inside)
    started = any(n in entries for n in WEIGHT_FILES)
    if not force and started:
        raise RunError(f"run directory {run} is not empty (it holds a trained run): pass {ask('resume', True)} to continue it, {ask('force', True)} to start it "
                       f"over (removes only rnntext's own files), or choose another {ask('output')}")
    if not force and others:
        raise RunError(f"run directory {run} is not empty ({', '.join(others[:3])}{' ...' if len(others) > 3 else ''} "
                       f"not written by rnntext): choose another {ask('output')}, or pass {ask('force', True)} to train beside them "
                       f"(they are left as they are)")
    _refuse_foreign(run, writes & set(entries) - owned)
    remove = sorted(owned - inside)
    return Claim(run, remove, stale, {**record, "files": sorted((owned & inside) | writes)})


def claim_locked(run: Path, plan) -> Claim:
    """plan() (a Claim of plan_claim's) under the run directory's lock, which the claim then holds
    (release it with `claim.lock.release()` when training ends). A live process training there is
    refused before anything is read; where there is no lock file yet, the lock is taken once the
    plan has passed (a refused command leaves no trace) and the directory planned again under it."""
    lock = RunLock.held(run) if Path(run).is_dir() else None
    try:
        claim = plan()
        if lock is None:
            lock = RunLock.take(run)
            claim = plan()  # the directory may have changed before the lock was ours
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    claim.lock = lock
    return claim


def _refuse_foreign(run: Path, names: set[str]) -> None:
    if names:
        shown = ", ".join(sorted(names))
        raise RunError(f"{run} holds {shown}, which rnntext has no record of writing, and the run would replace "
                       f"{'it' if len(names) == 1 else 'them'}: move {'it' if len(names) == 1 else 'them'} away, "
                       f"or choose another {ask('output')}")


def refuse_run_file(path, command: str, own: tuple[str, ...] = ()) -> None:
    """Refuse, before anything is written, to write `path` when it is a file of a run directory
    that `command` did not create there (its weights, model.json, record, lock, checkpoints...):
    an export or a prepare never replaces a run's files. `own`: names `command` itself writes in a
    run (`rnntext plot`'s curves.png)."""
    path = Path(path).absolute()
    folder = Path(os.path.realpath(path.parent))
    run, name = (folder.parent, CHECKPOINTS) if folder.name == CHECKPOINTS else (folder, path.name)
    manifest = read_manifest(run) if run.is_dir() else None
    if manifest is not None:
        files = set(manifest["files"]) | {MANIFEST, LOCK}
    elif (run / MODEL_JSON).is_file() or (run / TRAINER).is_file():  # a run of an older rnntext, or a damaged record
        files = {*RUN_FILES, MANIFEST, LOCK, CHECKPOINTS}
    else:
        return
    if name in files and name not in own:
        raise RunError(f"{path} is a file of the run in {run}: {command} never writes over a run's files: "
                       f"choose another {ask('output')}")


def claim_output(path, command: str, force: bool = False, example: str | None = None) -> Path:
    """The file `command` (an export, an import, a page) is to write at `path`, checked before
    anything is written: never a file of a run (refuse_run_file), nor what
    rnntext.data.dataset.check_output refuses (a folder, `example` then named as a file to give
    instead; an existing file without force; a folder it may not write to). Makes its folder."""
    from rnntext.data.dataset import check_output  # h5py: only when a command writes a file

    refuse_run_file(path, command)
    return check_output(path, force, example)
