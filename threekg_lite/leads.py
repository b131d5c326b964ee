"""The twelve standard ECG leads: names, order, and the exact derived-lead identities.

Standard order (as in PTB-XL, CinC 2020/2021 and LUDB)::

    I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6

Only eight of them are independent: I, II and V1-V6. The other four limb leads follow from
Einthoven's and Goldberger's definitions (all potentials against Wilson's central terminal
cancel out)::

    III = II - I        aVR = -(I + II) / 2
    aVL = I - II / 2    aVF = II - I / 2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:  # torch is imported by the code that hands us tensors, not by us
    import torch

LEAD_NAMES: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip
"""The twelve leads in standard order."""

INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
"""The eight linearly independent leads, in the order used by the VCG matrices."""

INDEPENDENT_INDEX: tuple[int, ...] = (0, 1, 6, 7, 8, 9, 10, 11)
"""Positions of :data:`INDEPENDENT_LEADS` within :data:`LEAD_NAMES`."""

ArrayT = TypeVar("ArrayT", np.ndarray, "torch.Tensor")


def derived_limb_leads(lead_i: ArrayT, lead_ii: ArrayT) -> tuple[ArrayT, ArrayT, ArrayT, ArrayT]:
    """``(III, aVR, aVL, aVF)`` from leads I and II ``(..., T)`` (NumPy or torch), exactly."""
    return (
        lead_ii - lead_i,
        -(lead_i + lead_ii) / 2,
        lead_i - lead_ii / 2,
        lead_ii - lead_i / 2,
    )


def with_derived_leads(ecg: ArrayT) -> ArrayT:
    """A copy of ``ecg`` ``(..., 12, T)`` (NumPy or torch) with III, aVR, aVL, aVF derived
    from I and II."""
    if ecg.shape[-2] != 12:
        raise ValueError(f"expected 12 leads on axis -2, got shape {tuple(ecg.shape)}")
    out = ecg.copy() if isinstance(ecg, np.ndarray) else ecg.clone()
    for row, lead in zip(range(2, 6), derived_limb_leads(ecg[..., 0, :], ecg[..., 1, :])):
        out[..., row, :] = lead
    return out


LIMB: np.ndarray = with_derived_leads(np.eye(12))
"""(12, 12): keeps I, II, V1-V6 and recomputes III, aVR, aVL, aVF from I and II
(``LIMB @ ecg == with_derived_leads(ecg)``)."""
LIMB.setflags(write=False)
