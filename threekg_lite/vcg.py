"""From twelve leads to one heart vector: the vectorcardiogram (VCG) and back.

The heart's electrical activity is, to a good approximation, one current dipole whose 3-D
moment (the VCG; Frank's axes: X to the patient's left, Y to the feet, Z to the back) turns
and grows through each beat. Every lead is a weighted sum of X, Y and Z, and only eight
leads are independent (I, II, V1-V6), so:

* **Dower** (VCG -> ECG), :data:`DOWER` ``(12, 3)``: Dower, Machado & Osborne 1980, its limb
  rows derived from rows I and II (the published ones agree to 0.0005): every ECG made from
  a VCG obeys the limb-lead identities exactly.
* **Inverse Dower** (ECG -> VCG), ``(3, 8)``: the exact pseudo-inverse :data:`INVERSE_DOWER`,
  so that a VCG survives the round trip exactly; the roundings that circulate in 3KG code,
  :data:`INVERSE_DOWER_A` and :data:`INVERSE_DOWER_B`, are within 0.0005 and 0.00095 of it.
* **Kors** (ECG -> VCG), :data:`KORS` ``(3, 8)``: a regression fitted to measured Frank
  leads (Kors et al. 1990), *not* an inverse of Dower.

``DOWER @ INVERSE_DOWER`` is the orthogonal projection onto what one dipole can produce
(:func:`project_to_dipole`). Every transform takes NumPy arrays or torch tensors
``(..., 12, T) <-> (..., 3, T)`` and keeps their dtype and device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from threekg_lite.leads import INDEPENDENT_INDEX, LEAD_NAMES, ArrayT, with_derived_leads

if TYPE_CHECKING:
    import torch

DOWER_8: np.ndarray = np.array(
    [
        [0.632, -0.235, 0.059],  # I
        [0.235, 1.066, -0.132],  # II
        [-0.515, 0.157, -0.917],  # V1
        [0.044, 0.164, -1.387],  # V2
        [0.882, 0.098, -1.277],  # V3
        [1.213, 0.127, -0.601],  # V4
        [1.125, 0.127, -0.086],  # V5
        [0.831, 0.076, 0.230],  # V6
    ]
)
"""(8, 3): Dower's rows I, II, V1-V6; columns X, Y, Z."""

DOWER: np.ndarray = np.zeros((12, 3))
DOWER[list(INDEPENDENT_INDEX)] = DOWER_8
DOWER = with_derived_leads(DOWER)
"""(12, 3): rows in standard lead order; limb rows III..aVF derived exactly from I and II."""

INVERSE_DOWER: np.ndarray = np.linalg.pinv(DOWER_8)
"""(3, 8): ECG (I, II, V1-V6) -> VCG (X, Y, Z), the exact pseudo-inverse of Dower's matrix."""

INVERSE_DOWER_A: np.ndarray = np.array(
    [
        [0.156, -0.010, -0.172, -0.074, 0.122, 0.231, 0.239, 0.194],
        [-0.227, 0.887, 0.057, -0.019, -0.106, -0.022, 0.041, 0.048],
        [0.022, 0.102, -0.229, -0.310, -0.246, -0.063, 0.055, 0.108],
    ]
)
"""(3, 8): inverse Dower as tabulated in the 3KG base code and BRAVEHEART (variant A)."""

INVERSE_DOWER_B: np.ndarray = np.array(
    [
        [0.156, -0.009, -0.172, -0.073, 0.122, 0.231, 0.239, 0.193],
        [-0.227, 0.886, 0.057, -0.019, -0.106, -0.022, 0.040, 0.048],
        [0.021, 0.102, -0.228, -0.310, -0.245, -0.063, 0.054, 0.108],
    ]
)
"""(3, 8): inverse Dower as tabulated in fairseq-signals (variant B, truncated digits)."""

KORS: np.ndarray = np.array(
    [
        [0.38, -0.07, -0.13, 0.05, -0.01, 0.14, 0.06, 0.54],
        [-0.07, 0.93, 0.06, -0.02, -0.05, 0.06, -0.17, 0.13],
        [0.11, -0.23, -0.43, -0.06, -0.14, -0.20, -0.11, 0.31],
    ]
)
"""(3, 8): Kors regression matrix (Kors et al., Eur. Heart J. 1990), ECG -> VCG."""

for _matrix in (DOWER_8, DOWER, INVERSE_DOWER, INVERSE_DOWER_A, INVERSE_DOWER_B, KORS):
    _matrix.setflags(write=False)

Method = Literal["dower", "dower_a", "dower_b", "kors"]
_TO_VCG = {
    "dower": INVERSE_DOWER,
    "dower_a": INVERSE_DOWER_A,
    "dower_b": INVERSE_DOWER_B,
    "kors": KORS,
}


def ecg_to_vcg_matrix(method: Method = "dower") -> np.ndarray:
    """The ``(3, 12)`` matrix taking a standard-order 12-lead ECG to X, Y, Z; the columns of
    III, aVR, aVL, aVF are zero (every published matrix uses the eight independent leads)."""
    try:
        m8 = _TO_VCG[method]
    except KeyError:
        raise ValueError(f"unknown method {method!r}; use one of {sorted(_TO_VCG)}") from None
    m12 = np.zeros((3, 12))
    m12[:, list(INDEPENDENT_INDEX)] = m8
    return m12


def check_ecg(x: np.ndarray | torch.Tensor, lead_names: Sequence[str] | None = None) -> None:
    """A clear ``ValueError`` unless ``x`` is ``(..., 12, T)`` in standard lead order (checked
    against ``lead_names``, any case, when they are known)."""
    shape = tuple(x.shape)
    if len(shape) < 2 or shape[-2] != 12:
        hint = " It looks like (T, 12): put time last." if shape and shape[-1] == 12 else ""
        if len(shape) >= 2 and shape[-2] in (8, 11):
            hint = " A lead is missing; all 12 standard leads are needed."
        raise ValueError(
            f"expected an ECG of shape (..., 12, T) with leads {list(LEAD_NAMES)}, "
            f"got shape {shape}.{hint}"
        )
    if lead_names is not None:
        names = [n.strip().lower() for n in lead_names]
        if names != [n.lower() for n in LEAD_NAMES]:
            missing = [n for n in LEAD_NAMES if n.lower() not in names]
            detail = f"missing {missing}" if missing else "same leads in another order"
            raise ValueError(
                f"leads {list(lead_names)} are not in the standard order {list(LEAD_NAMES)} "
                f"({detail}); reorder them first (threekg_lite.data.lead_names.lead_order)"
            )


def _apply(matrix: np.ndarray, x: ArrayT) -> ArrayT:
    """``matrix @ x`` over the second-to-last axis, for NumPy or torch, keeping dtype/device."""
    if isinstance(x, np.ndarray):
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        return np.matmul(matrix.astype(dtype), x.astype(dtype, copy=False))
    import torch

    dtype = x.dtype if x.is_floating_point() else torch.float64
    m = torch.from_numpy(np.array(matrix)).to(device=x.device, dtype=dtype)  # a writable copy
    return torch.matmul(m, x.to(dtype))


def ecg_to_vcg(
    ecg: ArrayT, method: Method = "dower", lead_names: Sequence[str] | None = None
) -> ArrayT:
    """The VCG ``(..., 3, T)`` (X, Y, Z) of an ECG ``(..., 12, T)`` in mV, NumPy or torch, by
    ``method`` ``"dower"`` (the exact inverse), ``"dower_a"``/``"dower_b"`` (the published
    roundings) or ``"kors"``; ``lead_names``, if known, are checked against the standard order."""
    check_ecg(ecg, lead_names)
    return _apply(ecg_to_vcg_matrix(method), ecg)


def vcg_to_ecg(vcg: ArrayT) -> ArrayT:
    """The ECG ``(..., 12, T)`` of a VCG ``(..., 3, T)`` (X, Y, Z in mV) through Dower's
    matrix; NumPy or torch."""
    shape = tuple(vcg.shape)
    if len(shape) < 2 or shape[-2] != 3:
        hint = " It looks like (T, 3): put time last." if shape and shape[-1] == 3 else ""
        raise ValueError(f"expected a VCG of shape (..., 3, T) (X, Y, Z), got {shape}.{hint}")
    return _apply(DOWER, vcg)


def projection_matrix(method: Method = "dower") -> np.ndarray:
    """``(12, 12)``: ECG -> VCG by ``method`` -> ECG by Dower. With ``"dower"`` it is the
    orthogonal projection of I, II, V1-V6 onto the dipole subspace (rank 3, idempotent)."""
    return DOWER @ ecg_to_vcg_matrix(method)


def project_to_dipole(ecg: ArrayT, method: Method = "dower") -> ArrayT:
    """What one dipole can explain of an ECG ``(..., 12, T)``: ``Dower @ inverse(ecg)``. The
    residual ``ecg - project_to_dipole(ecg)`` is the non-dipolar part, which every 3KG view
    loses even at zero rotation and unit scale."""
    check_ecg(ecg)
    return _apply(projection_matrix(method), ecg)
