"""From twelve leads to one heart vector: the vectorcardiogram (VCG) and back.

The heart's electrical activity is, to a good approximation, one current dipole whose 3-D
moment (the VCG, axes X, Y, Z in Frank's convention: X to the patient's left, Y to the feet,
Z to the back) turns and grows through each beat. Every ECG lead is then a weighted sum of
X, Y and Z. Only eight leads are independent (I, II, V1-V6; see :mod:`threekg_lite.leads`),
so the maps between the 12-lead ECG and the VCG are:

* **Dower** (VCG -> ECG), ``(12, 3)``: :data:`DOWER` (Dower, Machado & Osborne,
  *Clin. Cardiol.* 1980; the tabulated rows I, II, V1-V6 are :data:`DOWER_8`), with the rows of
  III, aVR, aVL and aVF derived exactly from rows I and II
  (:func:`~threekg_lite.leads.with_derived_leads`; the published rows agree to 0.0005), so
  that every ECG made from a VCG satisfies III = II - I etc. to floating-point precision.
* **Inverse Dower** (ECG -> VCG), ``(3, 8)`` on I, II, V1-V6. Two roundings of it circulate
  in 3KG code: variant A (:data:`INVERSE_DOWER_A`: the 3KG base code, BRAVEHEART) agrees with
  the pseudo-inverse of the Dower matrix to 0.0005, variant B (:data:`INVERSE_DOWER_B`:
  fairseq-signals and its copies) to 0.00095. **threekg_lite uses the exact pseudo-inverse**
  (:data:`INVERSE_DOWER`, computed from :data:`DOWER_8` in float64): then
  ``INVERSE_DOWER @ DOWER_8`` is the identity to machine precision and an ECG made by Dower
  from any VCG maps back to that VCG exactly. Both published variants stay available.
* **Kors** (ECG -> VCG), ``(3, 8)``: :data:`KORS`, the regression matrix of Kors et al. 1990,
  fitted to reproduce measured Frank leads. It is *not* an inverse of Dower.

Round trip ``DOWER @ INVERSE_DOWER`` is the orthogonal projection of the 8 independent leads
onto the 3-D subspace a single dipole can produce (:func:`project_to_dipole`): whatever a real
ECG holds beyond one dipole is removed, even before any augmentation.

Every transform works on NumPy arrays and torch tensors of any leading shape
``(..., 12, T) <-> (..., 3, T)``, keeps dtype and device, and never copies to the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

from threekg_lite.leads import INDEPENDENT_INDEX, LEAD_NAMES, with_derived_leads

if TYPE_CHECKING:
    import torch

ArrayT = TypeVar("ArrayT", np.ndarray, "torch.Tensor")

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
DOWER_8.setflags(write=False)

DOWER: np.ndarray = np.zeros((12, 3))
DOWER[list(INDEPENDENT_INDEX)] = DOWER_8
DOWER = with_derived_leads(DOWER)
"""(12, 3): rows in standard lead order; limb rows III..aVF derived exactly from I and II."""
DOWER.setflags(write=False)

INVERSE_DOWER: np.ndarray = np.linalg.pinv(DOWER_8)
"""(3, 8): ECG (I, II, V1-V6) -> VCG (X, Y, Z), the exact pseudo-inverse of Dower's matrix."""
INVERSE_DOWER.setflags(write=False)

INVERSE_DOWER_A: np.ndarray = np.array(
    [
        [0.156, -0.010, -0.172, -0.074, 0.122, 0.231, 0.239, 0.194],
        [-0.227, 0.887, 0.057, -0.019, -0.106, -0.022, 0.041, 0.048],
        [0.022, 0.102, -0.229, -0.310, -0.246, -0.063, 0.055, 0.108],
    ]
)
"""(3, 8): inverse Dower as tabulated in the 3KG base code and BRAVEHEART (variant A)."""
INVERSE_DOWER_A.setflags(write=False)

INVERSE_DOWER_B: np.ndarray = np.array(
    [
        [0.156, -0.009, -0.172, -0.073, 0.122, 0.231, 0.239, 0.193],
        [-0.227, 0.886, 0.057, -0.019, -0.106, -0.022, 0.040, 0.048],
        [0.021, 0.102, -0.228, -0.310, -0.245, -0.063, 0.054, 0.108],
    ]
)
"""(3, 8): inverse Dower as tabulated in fairseq-signals (variant B, truncated digits)."""
INVERSE_DOWER_B.setflags(write=False)

KORS: np.ndarray = np.array(
    [
        [0.38, -0.07, -0.13, 0.05, -0.01, 0.14, 0.06, 0.54],
        [-0.07, 0.93, 0.06, -0.02, -0.05, 0.06, -0.17, 0.13],
        [0.11, -0.23, -0.43, -0.06, -0.14, -0.20, -0.11, 0.31],
    ]
)
"""(3, 8): Kors regression matrix (Kors et al., Eur. Heart J. 1990), ECG -> VCG."""
KORS.setflags(write=False)

Method = Literal["dower", "dower_a", "dower_b", "kors"]
_TO_VCG = {
    "dower": INVERSE_DOWER,
    "dower_a": INVERSE_DOWER_A,
    "dower_b": INVERSE_DOWER_B,
    "kors": KORS,
}


def ecg_to_vcg_matrix(method: Method = "dower") -> np.ndarray:
    """The ``(3, 12)`` matrix taking a standard-order 12-lead ECG to X, Y, Z.

    Columns of the four derived limb leads (III, aVR, aVL, aVF) are zero: the VCG is computed
    from the eight independent leads only, as every published matrix is.
    """
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
    """The VCG (X, Y, Z) of a 12-lead ECG.

    Parameters
    ----------
    ecg
        ``(..., 12, T)`` in mV, standard lead order; NumPy or torch (any device, float dtype).
    method
        ``"dower"`` (exact inverse of Dower's matrix, default), ``"dower_a"`` / ``"dower_b"``
        (the two published roundings) or ``"kors"`` (Kors' regression).
    lead_names
        Optional names of the leads, checked against the standard order.

    Returns
    -------
    ``(..., 3, T)``, same type, dtype and device.
    """
    check_ecg(ecg, lead_names)
    return _apply(ecg_to_vcg_matrix(method), ecg)


def vcg_to_ecg(vcg: ArrayT) -> ArrayT:
    """The 12-lead ECG of a VCG through Dower's matrix (limb leads exactly consistent).

    Parameters
    ----------
    vcg
        ``(..., 3, T)``: X, Y, Z in mV; NumPy or torch.

    Returns
    -------
    ``(..., 12, T)``, same type, dtype and device.
    """
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
    """What one dipole can explain of an ECG: ``Dower @ inverse(ecg)``, ``(..., 12, T)``.

    The residual ``ecg - project_to_dipole(ecg)`` is the non-dipolar part, which every 3KG
    view loses even at zero rotation and unit scale.
    """
    check_ecg(ecg)
    return _apply(projection_matrix(method), ecg)
