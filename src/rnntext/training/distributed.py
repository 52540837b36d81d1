"""Multi-process training with torch.distributed, as torchrun launches it.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; `setup()` then joins the process group (nccl on
CUDA, gloo on the CPU). Each rank reads its own block of the B streams, DistributedDataParallel
averages the gradients, and only rank 0 writes checkpoints, metrics and samples. Without those
variables everything here is a no-op and training is single-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def streams(self, batch_size: int) -> tuple[int, int]:
        """This rank's [lo, hi) block of the global batch's streams."""
        from rnntext.errors import ConfigError

        if batch_size % self.size:
            raise ConfigError(f"batch_size: {batch_size} streams do not split evenly over {self.size} processes: "
                              f"use a multiple of {self.size}")
        per = batch_size // self.size
        return self.rank * per, (self.rank + 1) * per


SINGLE = World()


def setup(device: str = "auto") -> World:
    """Join the process group when launched by torchrun; a single process otherwise."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE
    import torch
    import torch.distributed as dist

    world = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    cuda = device != "cpu" and torch.cuda.is_available()
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(world.local_rank)
        dist.init_process_group("nccl" if cuda else "gloo")
    return world


def barrier(world: World) -> None:
    if world.size > 1:
        import torch.distributed as dist

        dist.barrier()


def broadcast_int(world: World, value: int) -> int:
    """Rank 0's value on every rank (a decision that must be the same everywhere)."""
    if world.size == 1:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.broadcast(t, 0)
    return int(t.item())


def teardown(world: World) -> None:
    if world.size > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
