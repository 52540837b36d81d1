"""The run's record: which files in the directory rnntext wrote, and taking a directory.

`.rnntext-run` (JSON, written atomically) names the inputs of the run, its resolved
configuration and every file rnntext writes there. Starting a run over (--force) removes
only files listed there; an input, a file of another program, or anything unlisted is never
removed or replaced, and a command that is refused changes nothing on disk.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

from rnntext.data.atomic import write_text
from rnntext.errors import RunError
from rnntext.faces import ask
from rnntext.model.layout import CHECKPOINTS, MANIFEST, NUMBERED, RUN_FILES, TRAINER, WEIGHT_FILES

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
    except (OSError, ValueError):
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
                           f"choose a writable {ask('output')}") from None
        write_text(self.run / MANIFEST, json.dumps(self.record, indent=1, ensure_ascii=False) + "\n")
        return list(self.remove)


def _remove_own(run: Path, name: str) -> None:
    path = run / name
    if name != CHECKPOINTS:
        path.unlink(missing_ok=True)
        return
    for item in path.iterdir() if path.is_dir() else ():  # numbered checkpoints only, nothing else there
        if NUMBERED.fullmatch(item.name) or is_own_tmp(item.name):
            item.unlink()
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()


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
        if TRAINER not in entries:
            raise RunError(f"{run} holds no rnntext run to resume (no checkpoint, no {MANIFEST}): start one with "
                           f"`rnntext train INPUT -o {run}`")
        owned = {n for n in RUN_FILES if n in entries and entries[n].is_file()} - inside  # a run of an older rnntext
        manifest = manifest_record([], {})
    blocked = sorted((inside & writes) - owned)
    if blocked:
        raise RunError(f"{run / blocked[0]} is an input of this command and the run would overwrite it: copy it "
                       f"out of {run}, or choose another {ask('output')}")
    if resume:
        _refuse_foreign(run, writes & set(entries) - owned)
        return Claim(run, [], stale, {**manifest, "files": sorted(owned | writes)})
    mine = owned | {p.name for p in stale if p.parent == run} | ({MANIFEST} if manifest else set())
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


def _refuse_foreign(run: Path, names: set[str]) -> None:
    if names:
        shown = ", ".join(sorted(names))
        raise RunError(f"{run} holds {shown}, which rnntext has no record of writing, and the run would replace "
                       f"{'it' if len(names) == 1 else 'them'}: move {'it' if len(names) == 1 else 'them'} away, "
                       f"or choose another {ask('output')}")
