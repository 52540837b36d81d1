"""What this machine is: the CPU's model and vector features, native low precision, threads,
the memory a process may still take.

The one place the project asks about hardware: the trainer's precision and thread choices,
the recipe, the tests of hardware features and every benchmark's machine line. The CPU's
features come from /proc/cpuinfo (Linux) and can be overridden for the whole project with
RNNTEXT_CPU_FEATURES, a comma-separated list such as `avx2` (run as a plain AVX2 CPU would:
no AVX-512, no AMX, no native bfloat16) or `avx2,avx512f,avx512_bf16`. Native bfloat16 also
needs oneDNN's agreement (its ISA can be capped with ONEDNN_MAX_CPU_ISA). No torch at import.
"""

from __future__ import annotations

import functools
import os
import platform

ENV_FEATURES = "RNNTEXT_CPU_FEATURES"
REPORTED = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_fp16", "asimd", "sve")
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16")  # x86 and Arm names of native bf16 arithmetic


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key in ("model name", "cpu model") and model is None:
                    model = value.strip()
                elif key in ("flags", "features"):
                    flags.update(value.split())
    except OSError:  # not Linux: the platform's own name, and no features
        pass
    return model or platform.processor() or platform.machine() or "unknown", frozenset(flags)


def cpu_model() -> str:
    return _cpuinfo()[0]


def cpu_features() -> frozenset[str]:
    """The CPU's feature flags, or RNNTEXT_CPU_FEATURES's list where that is set."""
    override = os.environ.get(ENV_FEATURES)
    if override is not None:
        return frozenset(x.strip().lower() for x in override.split(",") if x.strip())
    return _cpuinfo()[1]


def native_bf16() -> bool:
    """Whether bfloat16 matrix products run natively on this CPU: the features say so and
    oneDNN (which runs torch's CPU LSTM and matmul kernels in bf16) agrees."""
    if not any(flag in cpu_features() for flag in BF16_FLAGS):
        return False
    try:
        import torch

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (ImportError, AttributeError, RuntimeError):
        return False


def threads() -> int:
    """Threads torch uses now (its default is one per core this process may run on)."""
    try:
        import torch

        return torch.get_num_threads()
    except ImportError:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def memory_available() -> int | None:
    """Bytes this process may still allocate: the least of the memory the system has available,
    what this process's cgroup (a container's limit) leaves, and what its address-space and data
    limits (ulimit -v, -d) leave; None where none of them can be read."""
    bounds = []
    try:
        with open("/proc/meminfo") as f:
            bounds += [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    bounds += _cgroup_room()
    try:
        import resource

        used = _vm_size()
        for limit in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
            soft = resource.getrlimit(limit)[0]
            if soft != resource.RLIM_INFINITY:
                bounds.append(max(0, soft - used))
    except (ImportError, OSError, ValueError):
        pass
    return min(bounds) if bounds else None


def _cgroup_room() -> list[int]:
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            current = int(f.read())
        return [] if limit == "max" else [max(0, int(limit) - current)]
    except (OSError, ValueError):
        return []


def _vm_size() -> int:
    """This process's virtual memory size in bytes (0 where it cannot be read)."""
    try:
        with open("/proc/self/status") as f:
            return next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")), 0)
    except (OSError, ValueError):
        return 0


def describe() -> dict:
    """The machine line every benchmark prints beside its figures."""
    feats = cpu_features()
    out = {"cpu": cpu_model(), "features": [f for f in REPORTED if f in feats], "native_bf16": native_bf16(),
           "threads": threads(), "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
           else os.cpu_count()}
    for var in (ENV_FEATURES, "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS"):
        if os.environ.get(var):
            out[var] = os.environ[var]
    try:
        import torch

        out["torch"] = torch.__version__
        out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        if torch.cuda.is_available():
            out["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        out["torch"] = None
    return out
