"""Atomic file writes: a temporary file beside the target, fsync, then rename.

A reader (or a resumed run after a crash) sees either the old file or the new one, never a
half-written one. Used for datasets, weights, JSON and TOML files.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rnntext.errors import RnntextError
from rnntext.faces import ask


class WriteError(RnntextError):
    """A file could not be written (disk full, permission lost); the previous version is intact."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path` atomically.

    Any OSError (disk full, permission lost) becomes a WriteError and leaves `path` as it was.
    """
    path = Path(path)
    tmp = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a run is as readable as any file
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        raise WriteError(f"cannot write {path}: {e.strerror or e}; the previous file is intact: "
                         f"free space or fix permissions, then run again (training: {ask('resume', True)})") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append_line(path: str | Path, line: str) -> None:
    """Append one line so that the file holds it whole or not at all.

    A failed or short write (a full disk) is cut off again and becomes a WriteError; a torn last
    line left by an earlier crash is cut off before appending, so no two records share a line.
    """
    path, data = Path(path), line.encode("utf-8")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)  # never through a link
    except OSError as e:
        raise WriteError(f"cannot write {path}: {e.strerror or e}: free space or fix permissions, then run again "
                         f"(training: {ask('resume', True)})") from None
    try:
        size = _whole_lines(fd)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(28, "No space left on device (short write)")
        except OSError as e:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise WriteError(f"cannot write {path}: {e.strerror or e}; the lines before are intact: free space "
                             f"or fix permissions, then run again (training: {ask('resume', True)})") from None
    finally:
        os.close(fd)


def _whole_lines(fd: int) -> int:
    """The file's size after cutting off a last line that has no newline."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    tail = os.pread(fd, min(size, 1 << 20), max(0, size - (1 << 20)))
    cut = size - len(tail) + tail.rfind(b"\n") + 1 if b"\n" in tail else (0 if size <= 1 << 20 else size)
    os.ftruncate(fd, cut)
    return cut


class FailLater:
    """A binary file for a writer that cannot survive a failing write: HDF5 leaves a dataset
    half-closed when a write fails at close and crashes the process later (h5py's fileobj
    driver calls these methods). The first OSError of a write, truncate or flush is kept, later
    writes are skipped, reads of what was lost come back as zeros, so the writer finishes
    cleanly; `check()` then raises the error (inside atomic_path: a WriteError, the target intact)."""

    def __init__(self, raw):
        self.raw, self.error = raw, None  # raw: an unbuffered binary file (open(..., buffering=0))

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def _keep(self, call, *args):
        if self.error is None:
            try:
                return call(*args)
            except OSError as e:
                self.error = e
        return None

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while self.error is None and done < len(view):
            n = self._keep(self.raw.write, view[done:])
            if n == 0:
                self.error = OSError(errno.ENOSPC, "No space left on device (short write)")
            done += n or 0
        return len(view)

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.error is not None and size > len(data):
            data += bytes(size - len(data))
        return data

    def truncate(self, size: int) -> int:
        self._keep(self.raw.truncate, size)
        return size

    def flush(self) -> None:
        self._keep(self.raw.flush)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()
