"""Mixed precision chosen by what the device can do: a GPU of compute capability >= 8.0
(A100, H100, RTX 30xx) trains in bfloat16 autocast, float32's exponent range, so no loss
scaling. Older GPUs (T4 7.5, V100 7.0) have no bfloat16 convolutions in cuDNN: float16
autocast, whose narrow range needs the loss scaled (:func:`grad_scaler`). A CPU: float32.
"""

from __future__ import annotations

import contextlib

import torch

from threekg_lite.runtime.checks import check_choice

AMP_MODES = ("auto", "bf16", "fp16", "off")
"""``"auto"``: by device (:func:`autocast_dtype`); ``"bf16"``, ``"fp16"``: forced;
``"off"``: float32."""


def autocast_dtype(
    device: torch.device | str, amp: str = "auto", capability: tuple[int, int] | None = None
) -> torch.dtype | None:
    """The autocast dtype for ``device`` and ``amp`` (``None``: float32). ``capability``
    (default: the GPU's, asked only for ``"auto"`` on CUDA) lets a CPU test take either branch."""
    device = torch.device(device)
    if check_choice("amp", amp, AMP_MODES) == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp != "auto":
        return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]
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
