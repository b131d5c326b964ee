"""The 3KG view on a CPU in one pass: product and time mask fused in a compiled loop.

Made with ``torch`` operations, a view costs two passes over memory (the batched matrix
product writes the view, the mask reads and writes it again) and the product runs MKL's
small-matrix code. Here each view sample is written once, as soon as it is computed:

``out[b, l, t] = sum_k M[b, l, k] x[b, k, t]`` if ``t`` is outside lead ``l``'s mask, else 0,

with the sum over the 8 independent leads only (I, II, V1-V6): the 3KG matrices read
nothing from III, aVR, aVL and aVF (their columns are exactly zero, see
:func:`threekg_lite.augment.spatial_matrices`), so a sample costs 8 multiply-adds, not 12.
When every matrix goes through the dipole, ``M = A D⁺`` (the paper's projection mode:
``A = LIMB D S R``, ``(12, 3)``), the VCG ``v = D⁺ x`` of an ECG is computed once for all
its views and a sample costs 3 multiply-adds: ``out[b, l, t] = A[b, l] . v[b, :, t]``.
All views of an ECG are made while its leads are in cache. The loop is compiled by numba
(``cache=True``: once per machine, in ``__pycache__`` or numba's user cache) for float32
and float64; :mod:`threekg_lite.augment` uses it on a CPU when it applies and falls back
to ``torch`` operations otherwise (other dtypes, other devices, numba missing).

Importing this module imports numba; :mod:`threekg_lite.augment` does so only when it
first makes a view on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import torch

from .dower import DOWER_8
from .vcg import ecg_to_vcg_matrix

INDEPENDENT = (0, 1, 6, 7, 8, 9, 10, 11)
"""Indices of I, II, V1-V6 in the standard lead order: the columns a 3KG matrix uses."""
DERIVED = (2, 3, 4, 5)
"""Indices of III, aVR, aVL, aVF: their columns of a 3KG matrix are zero."""
_TO_VCG_8 = ecg_to_vcg_matrix("dower")[:, list(INDEPENDENT)]  # (3, 8): D⁺ on I, II, V1-V6
_TO_VCG_8_T = torch.from_numpy(_TO_VCG_8.copy())  # the same, float64 tensor
_D8 = torch.tensor(np.asarray(DOWER_8), dtype=torch.float64)  # (8, 3): Dower on I, II, V1-V6


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _views_kernel(x, coef, start, length, outs):  # pragma: no cover - compiled
    """x (B, 12, T); coef (V, B, 12, 8); start (V, B, 12) int64; length (V,) int64;
    outs: V arrays (B, 12, T)."""
    n_ecg, n_leads, n_samples = x.shape
    for b in range(n_ecg):
        for v in range(len(outs)):
            out = outs[v]
            masked = length[v]
            for lead in range(n_leads):
                s = start[v, b, lead]
                c0 = coef[v, b, lead, 0]
                c1 = coef[v, b, lead, 1]
                c2 = coef[v, b, lead, 2]
                c3 = coef[v, b, lead, 3]
                c4 = coef[v, b, lead, 4]
                c5 = coef[v, b, lead, 5]
                c6 = coef[v, b, lead, 6]
                c7 = coef[v, b, lead, 7]
                for t in range(n_samples):
                    value = (
                        c0 * x[b, 0, t]
                        + c1 * x[b, 1, t]
                        + c2 * x[b, 6, t]
                        + c3 * x[b, 7, t]
                        + c4 * x[b, 8, t]
                        + c5 * x[b, 9, t]
                        + c6 * x[b, 10, t]
                        + c7 * x[b, 11, t]
                    )
                    since = t - s
                    if since < 0:
                        since += n_samples
                    out[b, lead, t] = value if since >= masked else 0.0


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract"})
def _dipole_kernel(x, to_vcg, coef, start, length, outs):  # pragma: no cover - compiled
    """x (B, 12, T); to_vcg (3, 8) on I, II, V1-V6; coef (V, B, 12, 3); start (V, B, 12)
    int64; length (V,) int64; outs: V arrays (B, 12, T)."""
    n_ecg, n_leads, n_samples = x.shape
    vcg = np.empty((3, n_samples), dtype=x.dtype)
    for b in range(n_ecg):
        for axis in range(3):
            p0 = to_vcg[axis, 0]
            p1 = to_vcg[axis, 1]
            p2 = to_vcg[axis, 2]
            p3 = to_vcg[axis, 3]
            p4 = to_vcg[axis, 4]
            p5 = to_vcg[axis, 5]
            p6 = to_vcg[axis, 6]
            p7 = to_vcg[axis, 7]
            for t in range(n_samples):
                vcg[axis, t] = (
                    p0 * x[b, 0, t]
                    + p1 * x[b, 1, t]
                    + p2 * x[b, 6, t]
                    + p3 * x[b, 7, t]
                    + p4 * x[b, 8, t]
                    + p5 * x[b, 9, t]
                    + p6 * x[b, 10, t]
                    + p7 * x[b, 11, t]
                )
        for v in range(len(outs)):
            out = outs[v]
            masked = length[v]
            for lead in range(n_leads):
                s = start[v, b, lead]
                a0 = coef[v, b, lead, 0]
                a1 = coef[v, b, lead, 1]
                a2 = coef[v, b, lead, 2]
                for t in range(n_samples):
                    value = a0 * vcg[0, t] + a1 * vcg[1, t] + a2 * vcg[2, t]
                    since = t - s
                    if since < 0:
                        since += n_samples
                    out[b, lead, t] = value if since >= masked else 0.0


def through_dipole(matrices: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """``(V, B, 12, 3)`` factors ``A`` with ``M = A D⁺`` for every view's ``(B, 12, 12)``
    matrix ``M`` (float64), or ``None`` if one of them does not factor so (to 1e-12 of its
    largest entry): ``A = M[:, :, independent] @ D_8``, as ``D⁺ D_8 = I``."""
    independent = list(INDEPENDENT)
    factors = []
    for m in matrices:
        m8 = m.double()[:, :, independent]  # (B, 12, 8)
        a = m8 @ _D8.to(m8.device)  # (B, 12, 3)
        error = (a @ _TO_VCG_8_T.to(m8.device) - m8).abs()
        if m8.numel() and float(error.max()) > 1e-12 * float(m8.abs().max()):
            return None
        factors.append(a)
    return torch.stack(factors)


def applies(x: torch.Tensor, matrices: Sequence[torch.Tensor]) -> bool:
    """Whether :func:`fused_views` can make these views: ``x`` ``(B, 12, T)`` float32 or
    float64 on the CPU, and every ``(B, 12, 12)`` matrix zero in the derived-lead columns."""
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return False
    return all(not bool(m[:, :, list(DERIVED)].any()) for m in matrices)


def fused_views(
    x: torch.Tensor,
    matrices: Sequence[torch.Tensor],
    starts: Sequence[torch.Tensor | None],
    lengths: Sequence[int],
    outs: Sequence[torch.Tensor],
) -> None:
    """Write ``mask(M_v x)`` into ``outs[v]`` for every view ``v``, in one pass over ``x``.

    Parameters
    ----------
    x
        ``(B, 12, T)`` float32 or float64 on the CPU.
    matrices
        Per view, ``(B, 12, 12)`` spatial matrices whose derived-lead columns are zero
        (checked by :func:`applies`; the caller checks).
    starts
        Per view, ``(B, 12)`` first masked sample of each lead, or ``None`` for no mask.
    lengths
        Per view, masked samples per lead (0 for none).
    outs
        Per view, a contiguous ``(B, 12, T)`` tensor of ``x``'s dtype, not sharing memory
        with ``x``; overwritten.
    """
    b = x.shape[0]
    x_np = x.detach().contiguous().numpy()
    start = torch.stack(
        [
            torch.zeros(b, 12, dtype=torch.int64) if s is None else s.to("cpu", torch.int64)
            for s in starts
        ]
    ).numpy()
    length = np.array([0 if s is None else n for s, n in zip(starts, lengths)], dtype=np.int64)
    out_np = tuple(o.numpy() for o in outs)
    factors = through_dipole(matrices)
    if factors is not None:
        coef = factors.to(x.dtype).numpy()
        to_vcg = _TO_VCG_8.astype(x_np.dtype)
        _dipole_kernel(x_np, to_vcg, coef, start, length, out_np)
    else:
        independent = list(INDEPENDENT)
        coef = torch.stack([m[:, :, independent] for m in matrices]).to(x.dtype).numpy()
        _views_kernel(x_np, coef, start, length, out_np)
