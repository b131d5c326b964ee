"""Argument checks shared by the whole package: one message for one kind of mistake."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` if it is an integer (not a bool) ``>= minimum``; else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(name: str, value: Any, positive: bool = False) -> float:
    """``value`` if it is finite and ``>= 0`` (``> 0`` if ``positive``); else ``ValueError``."""
    if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise ValueError(f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {value}")
    return value


def seeded_rng(seed: int | np.random.Generator) -> np.random.Generator:
    """A NumPy Generator from an integer seed, or ``seed`` itself if it is one; else
    ``ValueError`` (``None``, fresh entropy, too: every draw must be repeatable)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer, np.random.Generator)):
        raise ValueError(f"seed must be an int or a numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(seed)


def check_labels(y: Any, name: str = "labels", n: int | None = None) -> np.ndarray:
    """``y`` as an ``(N, K)`` bool array (``N = n`` if given); ``ValueError`` unless 2-D,
    with at least one class, and all values 0/1 or booleans."""
    if hasattr(y, "detach"):  # a torch tensor
        y = y.detach().cpu()
    y = np.asarray(y)
    if y.ndim != 2 or (n is not None and y.shape[0] != n):
        rows = "N" if n is None else str(n)
        raise ValueError(f"{name} must be ({rows}, K) (records, classes), got shape {y.shape}")
    if y.shape[1] == 0:
        raise ValueError(f"{name} have no class (K = 0)")
    numeric = np.issubdtype(y.dtype, np.number) or y.dtype == object
    if y.dtype != bool and not (numeric and np.isin(y, (0, 1)).all()):
        raise ValueError(f"{name} must hold only 0/1 or True/False values")
    return y.astype(bool, copy=False)


def check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``allowed``; else ``ValueError`` listing them."""
    if value not in allowed:
        choices = ", ".join(map(repr, allowed[:-1])) + " or " + repr(allowed[-1])
        raise ValueError(f"{name} must be {choices}, got {value!r}")
    return value


def check_batch(
    x: Any, min_length: int = 1, channels: int = 12, dtype_error: type[Exception] = ValueError
) -> None:
    """Raise unless ``x`` is a floating torch tensor ``(B, channels, T >= min_length)``:
    ``TypeError`` for another type, ``dtype_error`` for another dtype, else ``ValueError``."""
    import torch  # here, so that the other checks do not import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor (B, {channels}, T), got {type(x).__name__}")
    shape = tuple(x.shape)
    if x.ndim != 3 or shape[1] != channels:
        if x.ndim != 3:
            hint = f"{x.ndim}-D"
        else:
            hint = "put time last" if shape[2] == channels else f"{shape[1]} channels"
        raise ValueError(f"expected (B, {channels}, T) input, got {shape} ({hint})")
    if shape[2] < min_length:
        raise ValueError(f"input of {shape[2]} samples is too short: it needs T >= {min_length}")
    if not x.is_floating_point():
        raise dtype_error(f"expected a floating-point tensor, got {x.dtype}")
