"""Argument checks shared by the whole package: one message for one kind of mistake."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` if it is an integer (not a bool) ``>= minimum``; else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


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
    if y.dtype != bool:
        if not np.issubdtype(y.dtype, np.number) or not np.isin(y, (0, 1)).all():
            raise ValueError(f"{name} must hold only 0/1 or True/False values")
        y = y.astype(bool)
    return y


def check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``allowed``; else ``ValueError`` listing them."""
    if value not in allowed:
        choices = ", ".join(map(repr, allowed[:-1])) + " or " + repr(allowed[-1])
        raise ValueError(f"{name} must be {choices}, got {value!r}")
    return value
