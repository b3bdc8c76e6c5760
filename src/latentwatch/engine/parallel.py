"""Data-parallel training with ``torch.distributed``: who this process is, and the few
collectives the streaming fit needs (none of them pickles anything).

Under ``torchrun --nproc-per-node N`` every process has ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` in its environment; :func:`context` then starts the process group (gloo on
the CPU, NCCL when the training device is CUDA, each rank on ``cuda:LOCAL_RANK``).
Without them it is a single process, and every collective here is the identity.
Objects cross processes as JSON bytes in a uint8 tensor (:func:`broadcast_json`), the same
rule as the model files: no pickle.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from typing import Any

import torch

# How long a rank waits for the others (the statistics pass of a large dataset runs on
# rank 0 while the others wait).
TIMEOUT = datetime.timedelta(hours=6)


@dataclass(frozen=True)
class Context:
    """This process in the training job.

    Attributes
    ----------
    rank, world_size, local_rank : int
    device : str
        Where this rank trains.
    started : bool
        Whether this call started the process group (and :func:`finish` ends it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    started: bool = False

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that reads the statistics, validates and writes files."""
        return self.rank == 0


def from_environment() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's variables ((0, 1, 0) without)."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def context(device: str) -> Context:
    """This process's context, starting the process group under torchrun.

    Parameters
    ----------
    device : str
        The resolved training device (``"cpu"``, ``"cuda"``, ``"cuda:1"``): CUDA gives
        NCCL and the rank's own GPU, anything else gloo.

    Examples
    --------
    >>> context("cpu").world_size  # a single process
    1
    """
    rank, world, local = from_environment()
    if world <= 1:
        return Context(device=device)
    cuda = torch.device(device).type == "cuda"
    if cuda:
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
    started = False
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT)
        started = True
    return Context(rank, world, local, device, started)


def finish(ctx: Context) -> None:
    """End the process group this context started."""
    if ctx.started and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def _collective_device(ctx: Context) -> torch.device:
    return torch.device(ctx.device if torch.device(ctx.device).type == "cuda" else "cpu")


def broadcast_json(ctx: Context, value: Any = None) -> Any:
    """Rank 0's JSON-serialisable ``value`` on every rank (the argument elsewhere is
    ignored)."""
    if not ctx.distributed:
        return value
    device = _collective_device(ctx)
    data = json.dumps(value).encode() if ctx.main else b""
    size = torch.tensor([len(data)], dtype=torch.int64, device=device)
    torch.distributed.broadcast(size, 0)
    buffer = (torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device) if ctx.main
              else torch.empty(int(size.item()), dtype=torch.uint8, device=device))
    torch.distributed.broadcast(buffer, 0)
    return json.loads(bytes(buffer.cpu().numpy()).decode())


def all_have(ctx: Context, flag: bool) -> bool:
    """Whether ``flag`` holds on every rank (to stop an epoch when one rank runs out of
    batches, so that no rank waits on a gradient the others never send)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([1 if flag else 0], dtype=torch.int32, device=_collective_device(ctx))
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MIN)
    return bool(value.item())


def all_sum(ctx: Context, values: list[float]) -> list[float]:
    """Element-wise sums over the ranks."""
    if not ctx.distributed:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=_collective_device(ctx))
    torch.distributed.all_reduce(tensor)
    return [float(v) for v in tensor.cpu()]


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        torch.distributed.barrier()
