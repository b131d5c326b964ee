"""Mixed precision chosen by what the device can do.

A GPU of compute capability 8.0 or newer (A100, H100, RTX 30xx and later) trains in
bfloat16 autocast: float32's exponent range, so no loss scaling. Older GPUs (the T4 of a
free Colab runtime is 7.5, a V100 7.0) have no bfloat16 convolutions in cuDNN; they train in
float16 autocast, whose narrow range needs the loss scaled up before the backward pass and
the gradients scaled back before the update (:func:`grad_scaler`). A CPU trains in float32.
"""

from __future__ import annotations

import contextlib

import torch

AMP_MODES = ("auto", "bf16", "fp16", "off")
"""``"auto"``: by device (:func:`autocast_dtype`); ``"bf16"``, ``"fp16"``: forced;
``"off"``: float32."""


def autocast_dtype(
    device: torch.device | str,
    amp: str = "auto",
    capability: tuple[int, int] | None = None,
) -> torch.dtype | None:
    """The autocast dtype for ``device`` (``None``: float32, no autocast).

    Parameters
    ----------
    device
        Where the model runs.
    amp
        One of :data:`AMP_MODES`.
    capability
        The GPU's compute capability; default asked from the device (only for ``"auto"`` on
        CUDA). Given, it lets a CPU test take either branch.
    """
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {amp!r}")
    device = torch.device(device)
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        return torch.float16
    if capability is None:
        capability = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if tuple(capability) >= (8, 0) else torch.float16


def grad_scaler(device: torch.device | str, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """A loss scaler, enabled only for float16 autocast (a no-op pass-through otherwise)."""
    return torch.amp.GradScaler(torch.device(device).type, enabled=dtype == torch.float16)


def autocast(device: torch.device | str, dtype: torch.dtype | None):
    """``torch.autocast`` to ``dtype`` on ``device``'s type; a no-op context for ``None``."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)
