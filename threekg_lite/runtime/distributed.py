"""Helpers for ``torchrun`` and DistributedDataParallel that also work without either (rank
0, world size 1, :func:`all_gather_with_grad` returns its input). Importing initialises nothing.

**Why the gathered loss gives the single-process gradient.** Each of the ``W`` ranks gathers
every rank's embeddings and computes the *same* global loss ``L`` (a contrastive loss needs
the whole global batch's negatives). The backward pass sums the ``W`` identical gradients for
slice ``r`` on rank ``r``, ``W · ∂L/∂z_r``; DistributedDataParallel averages over ranks,
dividing by ``W``: ``Σ_r (∂L/∂z_r)(∂z_r/∂θ) = ∂L/∂θ``. No rescaling of the loss is needed.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
"""The environment variables ``torchrun`` sets for each worker."""


def is_distributed() -> bool:
    """Whether ``torch.distributed`` is available and its process group initialised."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's global rank, 0 when not distributed."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """The number of processes, 1 when not distributed."""
    return dist.get_world_size() if is_distributed() else 1


def all_gather_with_grad(t: Tensor) -> Tensor:
    """``(N, ...)`` on every rank -> ``(W * N, ...)``, rank 0's rows first, keeping autograd;
    the backward pass gives each rank the sum of all ranks' gradients for its rows. Every rank
    must hold one shape: they are gathered first (one small collective) to raise a clear
    ``ValueError`` on every rank instead of failing inside the backend or hanging."""
    if t.dim() < 1:
        raise ValueError("all_gather_with_grad needs a tensor with a batch dimension, got 0-D")
    world = world_size()
    if world == 1:
        return t
    shape = torch.tensor(t.shape, dtype=torch.long, device=t.device)  # (t.dim(),)
    shapes = [torch.empty_like(shape) for _ in range(world)]
    dist.all_gather(shapes, shape)
    found = [tuple(s.tolist()) for s in shapes]
    if len(set(found)) > 1:
        listed = ", ".join(f"rank {r}: {s}" for r, s in enumerate(found))
        raise ValueError(
            "all_gather_with_grad needs tensors of one shape on every rank (drop or pad "
            f"the last partial batch, e.g. DistributedSampler(drop_last=True)); got {listed}"
        )
    return _AllGather.apply(t)


class _AllGather(torch.autograd.Function):
    """All-gather whose backward all-reduces (sums) the gradient and keeps this rank's rows."""

    @staticmethod
    def forward(ctx: Any, t: Tensor) -> Tensor:
        parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, t.contiguous())
        ctx.rows = (dist.get_rank() * t.shape[0], (dist.get_rank() + 1) * t.shape[0])
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # sum of every rank's gradient
        return grad[slice(*ctx.rows)]


def _env_int(name: str, default: int | None = None) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def _device_for(local_rank: int, backend: str | None) -> torch.device:
    """``cuda:local_rank`` where CUDA is available and the backend is not gloo (which cannot
    all-gather CUDA tensors), else the CPU."""
    if torch.cuda.is_available() and backend != "gloo":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK={local_rank} but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible: start at most one process per GPU"
            )
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def init_from_env(
    backend: str | None = None, timeout: datetime.timedelta | None = None
) -> tuple[int, int, torch.device]:
    """``(rank, world_size, device)``, initialising the default process group (``env://``)
    from ``torchrun``'s environment when ``WORLD_SIZE > 1`` (one already initialised is kept).
    ``backend`` defaults to ``"nccl"`` where CUDA is available, else ``"gloo"``."""
    local_rank = _env_int("LOCAL_RANK", 0)
    if is_distributed():
        return rank(), world_size(), _device_for(local_rank, dist.get_backend())
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return 0, 1, _device_for(local_rank, backend)
    if missing := [name for name in TORCHRUN_ENV if name not in os.environ]:
        raise ValueError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} not set: "
            "start the processes with torchrun"
        )
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    device = _device_for(local_rank, backend)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, "env://", timeout, world_size=world, rank=_env_int("RANK"))
    return rank(), world_size(), device


def cleanup() -> None:
    """Destroy the default process group, if any, after a barrier: with gloo on torch 2.2-2.3
    a process that tears the group down while another still sends hangs (about 1 run in 3)."""
    if is_distributed():
        dist.barrier()
        dist.destroy_process_group()
