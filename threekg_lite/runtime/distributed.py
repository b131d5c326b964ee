"""Helpers for ``torchrun`` and DistributedDataParallel that also work without either.

Without an initialised process group every helper behaves as a single process would: rank
0, world size 1, and :func:`all_gather_with_grad` returns its input.

**Why the gathered loss gives the single-process gradient.** A contrastive loss needs the
negatives of the whole global batch, so each of the ``W`` ranks gathers every rank's
embeddings with :func:`all_gather_with_grad` and computes the *same* global loss ``L`` on
them. In the backward pass, the all-gather sends each rank's gradient for slice ``r`` back to
rank ``r`` and sums them: rank ``r`` receives ``W · ∂L/∂z_r`` (``W`` identical copies), and its
parameter gradient is ``W · (∂L/∂z_r)(∂z_r/∂θ)``. DistributedDataParallel then *averages*
parameter gradients over ranks, dividing by ``W``:
``(1/W) Σ_r W · (∂L/∂z_r)(∂z_r/∂θ) = Σ_r (∂L/∂z_r)(∂z_r/∂θ) = ∂L/∂θ``, the gradient a single
process would compute on the whole global batch. No rescaling of the loss is needed.

Importing this module initialises nothing.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = [
    "all_gather_with_grad",
    "cleanup",
    "init_from_env",
    "is_distributed",
    "rank",
    "world_size",
]

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
"""The environment variables ``torchrun`` sets for each worker."""


def is_distributed() -> bool:
    """``True`` iff ``torch.distributed`` is available and its process group initialised."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's global rank, 0 when not distributed."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """The number of processes, 1 when not distributed."""
    return dist.get_world_size() if is_distributed() else 1


def _check_equal_shapes(t: Tensor, world: int) -> None:
    """Raise ``ValueError`` on every rank unless all ranks hold tensors of one shape.

    One small all-gather of each rank's shape, on ``t``'s device (which the backend must
    support). All ranks must pass tensors with the same number of dimensions.
    """
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


def all_gather_with_grad(t: Tensor, check_shapes: bool = True) -> Tensor:
    """Concatenate ``t`` from every rank along dim 0, in rank order, keeping autograd.

    The backward pass sums the gradients that all ranks compute for each slice and returns
    to each rank the sum for its own slice (see the module docstring for why this is right).

    Parameters
    ----------
    t
        ``(N, ...)`` this rank's tensor. Every rank must hold the same shape: ranks with
        different ``N`` are not supported.
    check_shapes
        Gather every rank's shape first (one small extra collective) and raise a clear error
        if they differ, instead of failing inside the backend or hanging.

    Returns
    -------
    Tensor
        ``(W * N, ...)``: rank 0's rows, then rank 1's, ...; ``t`` itself when not
        distributed or with one process.

    Raises
    ------
    ValueError
        If ``t`` is 0-D, or ``check_shapes`` and the ranks' shapes differ (on every rank).
    """
    if t.dim() < 1:
        raise ValueError("all_gather_with_grad needs a tensor with a batch dimension, got 0-D")
    world = world_size()
    if world == 1:
        return t
    if check_shapes:
        _check_equal_shapes(t, world)
    return _AllGather.apply(t)


class _AllGather(torch.autograd.Function):
    """All-gather whose backward all-reduces (sums) the gradient and keeps this rank's rows."""

    @staticmethod
    def forward(ctx: Any, t: Tensor) -> Tensor:  # noqa: D102
        parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, t.contiguous())
        ctx.rows = (dist.get_rank() * t.shape[0], (dist.get_rank() + 1) * t.shape[0])
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # noqa: D102
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # sum of every rank's gradient
        first, last = ctx.rows
        return grad[first:last]


def _env_int(name: str) -> int:
    """The environment variable ``name`` as an integer, or ``ValueError``."""
    value = os.environ[name]
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def _device_for(local_rank: int, backend: str | None) -> torch.device:
    """``cuda:local_rank`` where CUDA is available and the backend is not plain gloo."""
    if torch.cuda.is_available() and backend != "gloo":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK={local_rank} but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible: start at most one process per GPU"
            )
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def init_from_env(
    backend: str | None = None,
    timeout: datetime.timedelta | None = None,
) -> tuple[int, int, torch.device]:
    """Initialise the process group from ``torchrun``'s environment, if there is one.

    With ``WORLD_SIZE > 1`` and the variables in :data:`TORCHRUN_ENV` set, initialise the
    default process group (``env://``), select this process's device and return its place.
    Otherwise (no ``WORLD_SIZE``, or ``WORLD_SIZE=1``) initialise nothing and return
    ``(0, 1, device)``. If a process group is already initialised it is kept and described.

    The device is ``cuda:LOCAL_RANK`` where CUDA is available and ``backend`` is not
    ``"gloo"`` (gloo cannot all-gather CUDA tensors), otherwise the CPU.

    Parameters
    ----------
    backend
        The process group backend; by default ``"nccl"`` where CUDA is available, else
        ``"gloo"``.
    timeout
        Timeout of the process group's collectives; ``None`` for torch's default.

    Returns
    -------
    tuple[int, int, torch.device]
        ``(rank, world_size, device)``.

    Raises
    ------
    ValueError
        If ``WORLD_SIZE > 1`` but another of the variables is missing, or one of them is not
        an integer.
    """
    local_rank = _env_int("LOCAL_RANK") if "LOCAL_RANK" in os.environ else 0
    if is_distributed():
        return rank(), world_size(), _device_for(local_rank, dist.get_backend())
    if "WORLD_SIZE" not in os.environ or _env_int("WORLD_SIZE") <= 1:
        return 0, 1, _device_for(local_rank, backend)
    missing = [name for name in TORCHRUN_ENV if name not in os.environ]
    if missing:
        raise ValueError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} not set: "
            "start the processes with torchrun"
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    device = _device_for(local_rank, backend)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    kwargs = {} if timeout is None else {"timeout": timeout}
    dist.init_process_group(
        backend=backend,
        init_method="env://",
        rank=_env_int("RANK"),
        world_size=_env_int("WORLD_SIZE"),
        **kwargs,
    )
    return rank(), world_size(), device


def cleanup() -> None:
    """Destroy the default process group if one is initialised; otherwise do nothing.

    Every process first waits at a barrier: with gloo on torch 2.2-2.3 a process that tears
    the group down while another still sends hangs now and then (about 1 run in 3).
    """
    if is_distributed():
        dist.barrier()
        dist.destroy_process_group()
