"""`rnntext train --nproc N`: the same command again under torchrun, N processes on this machine."""

from __future__ import annotations

import os
import subprocess
import sys


def without_nproc(argv: list[str]) -> list[str]:
    """The command line less its --nproc N (or --nproc=N): what each of torchrun's processes runs."""
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            out.append(item)
    return out


def run_torchrun(argv: list[str], nproc: int, output: str) -> int:
    """Run `rnntext ARGV` in `nproc` processes under torchrun; its exit status (1 if a process failed)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "rnntext", *without_nproc(argv)]
    code = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}).returncode
    if code not in (0, 130):
        print(f"rnntext train: error: a training process failed (torchrun exit status {code}); the last checkpoint "
              f"is intact: continue with `rnntext train -o {output} --resume --nproc {nproc}`", file=sys.stderr)
        return 1
    return code
