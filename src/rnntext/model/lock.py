"""One writer per run directory: the lock a training process holds for its whole life.

The lock is `fcntl.flock` on the file `.rnntext-lock` in the run directory. The kernel drops it
when its process ends, however it ends (a SIGKILL, a crash, a power cut), so a lock left by a
dead process never blocks anyone: there is no stale lock to clean up, and the file is never
removed (removing a lock file lets two processes hold locks on two different files). The
holder writes its PID and command line into the file, so that a process refused can say which
process holds the directory. A refused command only reads the file.

flock is advisory and local: it keeps rnntext processes of one machine apart (on NFS, Linux
maps it to a byte-range lock that the server enforces across clients).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys
from pathlib import Path

from rnntext.errors import RunError
from rnntext.faces import ask
from rnntext.model.layout import LOCK

COMMAND_CHARS = 300  # what the lock file keeps of the holder's command line


class RunLock:
    """A held lock on a run directory (see the module docstring); `release()` or the process's end frees it."""

    def __init__(self, run: Path, fd: int):
        self.run, self.fd = Path(run), fd

    @classmethod
    def held(cls, run: Path) -> RunLock | None:
        """The lock of an existing lock file, taken now; None where there is no lock file yet.
        A RunError naming the holder where a live process holds it."""
        return cls._take(Path(run), create=False)

    @classmethod
    def take(cls, run: Path) -> RunLock:
        """The lock, taken now, creating the directory and the lock file where they are missing."""
        run = Path(run)
        try:
            run.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot create the run directory {run}: {e.strerror or e}: choose a writable {ask('output')}") from None
        return cls._take(run, create=True)

    @classmethod
    def _take(cls, run: Path, create: bool) -> RunLock | None:
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        try:
            fd = os.open(run / LOCK, flags, 0o644)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise RunError(f"{run / LOCK} is a symbolic link: rnntext locks a run directory with a file of its "
                               f"own: remove the link") from None
            raise RunError(f"cannot lock the run directory {run}: {e.strerror or e}: choose a writable {ask('output')}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _holder(fd)
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunError(f"{run} is being written by {holder}: one process trains a run directory at a time: "
                               f"wait until it ends (or stop it), then run this again; nothing was changed") from None
            raise RunError(f"cannot lock the run directory {run}: {e.strerror or e}") from None
        return cls(run, fd)

    def record(self) -> None:
        """Write this process's PID and command line into the lock file (for a refused process to name)."""
        command = " ".join(["rnntext", *sys.argv[1:]] if _is_cli() else [sys.executable, *sys.argv])
        text = f"{os.getpid()}\n{command[:COMMAND_CHARS]}\n".encode("utf-8", "replace")
        with contextlib.suppress(OSError):  # only a message depends on it
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, text, 0)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _is_cli() -> bool:
    return bool(sys.argv) and (sys.argv[0].endswith(("rnntext", "__main__.py")))


def _holder(fd: int) -> str:
    """'process PID (COMMAND)' from the lock file, when that process is alive; else a vaguer phrase."""
    try:
        pid_text, _, command = os.pread(fd, 4096, 0).decode("utf-8", "replace").partition("\n")
        pid = int(pid_text)
        os.kill(pid, 0)  # alive? (the holder may not have written its own line yet)
    except PermissionError:  # alive, another user's
        pass
    except (OSError, ValueError):
        return "another process"
    command = command.strip()
    return f"process {pid}" + (f" ({command})" if command else "")
