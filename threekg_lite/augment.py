"""The 3KG view: rotate and scale the heart's vector, project back, mask time. Batched.

For each ECG ``x`` of a batch ``(B, 12, T)`` and each view (Gopal et al. 2021; the choices
on which public implementations disagree are parameters, see ``3kg-method.md``):

1. **Rotation** ``R = R_a R_b R_c``: one angle per axis, ``U[-max_angle, max_angle]``
   (45° by default), the elementary rotations about X, Y and Z multiplied in a random order
   per ECG (``axis_order="random"``, the 3KG base code) or in the fixed order ``Rx Ry Rz``
   (``"xyz"``; fairseq-signals' scipy ``from_euler("zyx")``, extrinsic, is this product).
2. **Scaling** ``S = diag(s_x, s_y, s_z)``: magnitudes ``U[1, max_scale]`` (1.5 by default),
   each inverted with probability 1/2 (``scale_law="log_symmetric"``, the base code) or not
   (``"enlarge"``, fairseq-signals).
3. **Back to 12 leads**, as one ``(12, 12)`` matrix per ECG:

   * ``projection="project"`` (the paper's formula): ``M = D S R D⁺``, with ``D`` Dower's
     matrix and ``D⁺`` its exact pseudo-inverse (:mod:`threekg_lite.vcg`); the view keeps only
     the dipolar part of the ECG, even at ``R = S = I``;
   * ``projection="residual"``: ``M = I + D (S R - I) D⁺``: the original plus the change the
     transform makes to its dipole, exactly ``x`` at ``R = S = I``.

   Then III, aVR, aVL and aVF are recomputed from I and II (folded into ``M``), so every
   view satisfies the limb-lead identities exactly.
4. **Time mask**: in every lead independently, ``floor(mask_ratio * T)`` consecutive
   samples (50 % by default) from a uniform random start, wrapping around the end, are set
   to zero, after the projection.

On a CPU (float32/float64) the product and the mask run fused in one compiled loop
(:mod:`threekg_lite.fused`, numba) that writes each view sample once. Elsewhere (a GPU,
half precision) all B matrices are applied with one batched matrix product on the data's
device and dtype, and the mask is built without index arithmetic over ``(B, 12, T)``:
every possible circular mask of one length is a shifted copy of one pattern, so each
lead's keep-row (0 where masked, 1 elsewhere) is *gathered* from a strided view of all
``T`` shifts of a doubled pattern and multiplied in place (on a CPU in blocks of
:data:`CPU_CHUNK` ECGs, so that each block's product is masked while still in cache).
Randomness comes only from the injected ``torch.Generator``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch

from .dower import DOWER
from .leads import LEAD_NAMES
from .vcg import ecg_to_vcg_matrix

ScaleLaw = Literal["log_symmetric", "enlarge"]
AxisOrder = Literal["random", "xyz"]
Projection = Literal["project", "residual"]
Backend = Literal["auto", "torch", "fused"]

# The six orders of three axes; "xyz" is order 0.
_ORDERS = torch.tensor([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])


def _limb_matrix() -> np.ndarray:
    """``(12, 12)``: keeps I, II, V1-V6 and recomputes III, aVR, aVL, aVF from I and II."""
    m = np.eye(12)
    m[2:6] = 0.0
    m[2, [0, 1]] = [-1.0, 1.0]  # III = II - I
    m[3, [0, 1]] = [-0.5, -0.5]  # aVR = -(I + II) / 2
    m[4, [0, 1]] = [1.0, -0.5]  # aVL = I - II / 2
    m[5, [0, 1]] = [-0.5, 1.0]  # aVF = II - I / 2
    return m


LIMB = _limb_matrix()
_TO_VCG = ecg_to_vcg_matrix("dower")  # (3, 12), exact pseudo-inverse on I, II, V1-V6
CPU_CHUNK = 16
"""ECGs per block on a CPU: each block's product is masked while still in cache."""


@functools.lru_cache(maxsize=8)
def _constants(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``LIMB @ D`` (12, 3), ``D⁺`` (3, 12) and ``LIMB`` (12, 12), float64, on ``device``."""
    limb = torch.from_numpy(LIMB.copy()).to(device)
    limb_d = torch.from_numpy(LIMB @ np.array(DOWER)).to(device)
    return limb_d, torch.from_numpy(_TO_VCG.copy()).to(device), limb


class ViewParams(NamedTuple):
    """The random draws behind a batch of views (all on the batch's device).

    Attributes
    ----------
    angles
        ``(B, 3)`` rotation angles about X, Y, Z in radians.
    order
        ``(B, 3)`` axis indices (0 = X, 1 = Y, 2 = Z): ``R = R[order[0]] R[order[1]] R[order[2]]``.
    scales
        ``(B, 3)`` scale factors of X, Y, Z.
    mask_start
        ``(B, 12)`` first masked sample of each lead (int64), or ``None`` without a mask.
    mask_length
        Masked samples per lead, ``floor(mask_ratio * T)``.
    matrices
        ``(B, 12, 12)`` the spatial transform applied (float64).
    """

    angles: torch.Tensor
    order: torch.Tensor
    scales: torch.Tensor
    mask_start: torch.Tensor | None
    mask_length: int
    matrices: torch.Tensor


def rotation_matrices(angles: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Rotation matrices from angles about X, Y, Z composed in a given axis order.

    Parameters
    ----------
    angles
        ``(B, 3)`` radians, about X, Y and Z.
    order
        ``(B, 3)`` int, a permutation of (0, 1, 2) per row.

    Returns
    -------
    ``(B, 3, 3)``: ``R[order[0]] @ R[order[1]] @ R[order[2]]``, orthogonal with determinant 1.
    """
    c, s = torch.cos(angles), torch.sin(angles)  # (B, 3)
    one, zero = torch.ones_like(c[:, 0]), torch.zeros_like(c[:, 0])
    rx = torch.stack([one, zero, zero, zero, c[:, 0], -s[:, 0], zero, s[:, 0], c[:, 0]], -1)
    ry = torch.stack([c[:, 1], zero, s[:, 1], zero, one, zero, -s[:, 1], zero, c[:, 1]], -1)
    rz = torch.stack([c[:, 2], -s[:, 2], zero, s[:, 2], c[:, 2], zero, zero, zero, one], -1)
    elementary = torch.stack([rx, ry, rz], 1).reshape(-1, 3, 3, 3)  # (B, axis, 3, 3)
    pick = order.to(angles.device).long()[:, :, None, None].expand(-1, -1, 3, 3)
    r = torch.gather(elementary, 1, pick)  # (B, 3, 3, 3) in multiplication order
    return r[:, 0] @ r[:, 1] @ r[:, 2]


def spatial_matrices(
    rotation: torch.Tensor, scales: torch.Tensor, projection: Projection = "project"
) -> torch.Tensor:
    """The ``(B, 12, 12)`` matrices of the 3KG spatial transform (float64).

    Parameters
    ----------
    rotation
        ``(B, 3, 3)``.
    scales
        ``(B, 3)``.
    projection
        ``"project"``: ``LIMB D S R D⁺``; ``"residual"``: ``LIMB (I + D (S R - I) D⁺)``.
    """
    limb_d, d_inv, limb = _constants(rotation.device)
    sr = scales.double()[:, :, None] * rotation.double()  # (B, 3, 3) = S @ R
    if projection == "project":
        return limb_d @ sr @ d_inv  # LIMB D S R D⁺
    if projection == "residual":
        eye3 = torch.eye(3, dtype=torch.float64, device=rotation.device)
        return limb + limb_d @ (sr - eye3) @ d_inv  # LIMB (I + D (S R - I) D⁺)
    raise ValueError(f"projection must be 'project' or 'residual', got {projection!r}")


@functools.lru_cache(maxsize=16)
def _keep_shifts(
    length: int, n_samples: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """``(n_samples, n_samples)`` strided view (no copy) of a doubled keep-pattern: row ``k``
    is 0 on the ``length`` samples from ``(n_samples - k) % n_samples`` on (circularly), 1
    elsewhere. Every circular mask of one length is one of its rows."""
    pattern = torch.ones(2 * n_samples, dtype=dtype, device=device)
    pattern[:length] = 0
    pattern[n_samples : n_samples + length] = 0
    return pattern.unfold(0, n_samples, 1)[:n_samples]


def circular_mask_rows(start: torch.Tensor, length: int, n_samples: int) -> torch.Tensor:
    """Circular time masks: True on ``length`` samples from each start (wrapping), else False.

    Parameters
    ----------
    start
        ``(N,)`` int, first masked sample of each row, in ``[0, n_samples)``.
    length
        Masked samples per row, ``0 <= length < n_samples``.

    Returns
    -------
    ``(N, n_samples)`` bool on ``start``'s device, gathered from the rows of
    :func:`_keep_shifts` (no index arithmetic over the whole array).
    """
    shifts = _keep_shifts(length, n_samples, torch.float32, start.device)
    return shifts.index_select(0, (n_samples - start.reshape(-1)) % n_samples) == 0


@dataclass(frozen=True)
class ThreeKG:
    """The 3KG augmentation: ``view = mask(M x)`` with a random spatial matrix ``M`` per ECG.

    Parameters
    ----------
    max_angle_deg
        Rotation angles are uniform in ``[-max_angle_deg, max_angle_deg]`` about each axis;
        in ``[0, 180]``.
    max_scale
        Scale magnitudes are uniform in ``[1, max_scale]``; ``>= 1``.
    scale_law
        ``"log_symmetric"``: each magnitude inverted with probability 1/2 (shrink or grow);
        ``"enlarge"``: never inverted.
    axis_order
        ``"random"`` (one of the six orders per ECG) or ``"xyz"`` (``R = Rx Ry Rz``).
    projection
        ``"project"`` (``D S R D⁺``, the paper's formula) or ``"residual"``.
    mask_ratio
        Fraction of each lead zeroed, in ``[0, 1)``.
    spatial, temporal
        Apply the rotation/scaling and the time mask; the 3KG ablations switch one off.

    Call it with a batch ``(B, 12, T)`` and a ``torch.Generator`` for one view per ECG;
    :meth:`views` gives several independent views.
    """

    max_angle_deg: float = 45.0
    max_scale: float = 1.5
    scale_law: ScaleLaw = "log_symmetric"
    axis_order: AxisOrder = "random"
    projection: Projection = "project"
    mask_ratio: float = 0.5
    spatial: bool = True
    temporal: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_angle_deg <= 180.0:
            raise ValueError(f"max_angle_deg must be in [0, 180], got {self.max_angle_deg}")
        if not self.max_scale >= 1.0:
            raise ValueError(f"max_scale must be >= 1, got {self.max_scale}")
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1), got {self.mask_ratio}")
        if self.scale_law not in ("log_symmetric", "enlarge"):
            raise ValueError(
                f"scale_law must be 'log_symmetric' or 'enlarge', got {self.scale_law!r}"
            )
        if self.axis_order not in ("random", "xyz"):
            raise ValueError(f"axis_order must be 'random' or 'xyz', got {self.axis_order!r}")
        if self.projection not in ("project", "residual"):
            raise ValueError(f"projection must be 'project' or 'residual', got {self.projection!r}")

    def sample(
        self, batch: int, n_samples: int, generator: torch.Generator, device: torch.device | str
    ) -> ViewParams:
        """Draw the parameters of ``batch`` views of length ``n_samples`` (on ``device``)."""
        gen_device = generator.device
        u = torch.rand(batch, 10, generator=generator, device=gen_device, dtype=torch.float64)
        angles = (2 * u[:, 0:3] - 1) * math.radians(self.max_angle_deg)
        magnitude = 1 + u[:, 3:6] * (self.max_scale - 1)
        if self.scale_law == "log_symmetric":
            scales = torch.where(u[:, 6:9] < 0.5, 1 / magnitude, magnitude)
        else:
            scales = magnitude
        if self.axis_order == "random":
            order = _ORDERS.to(gen_device)[(u[:, 9] * 6).long().clamp(max=5)]
        else:
            order = _ORDERS[0].to(gen_device).expand(batch, 3)
        if not self.spatial:
            angles, scales = torch.zeros_like(angles), torch.ones_like(scales)
        length = int(math.floor(self.mask_ratio * n_samples)) if self.temporal else 0
        start = None
        if length > 0:
            start = torch.randint(
                0, n_samples, (batch, 12), generator=generator, device=gen_device
            ).to(device)
        angles, order, scales = angles.to(device), order.to(device), scales.to(device)
        matrices = spatial_matrices(rotation_matrices(angles, order), scales, self.projection)
        return ViewParams(angles, order, scales, start, length, matrices)

    def apply(
        self,
        x: torch.Tensor,
        params: ViewParams,
        out: torch.Tensor | None = None,
        backend: Backend = "auto",
    ) -> torch.Tensor:
        """One view of each ECG from given parameters: ``(B, 12, T) -> (B, 12, T)``.

        ``out``, a tensor of ``x``'s shape, dtype and device that does not share memory with
        ``x``, receives the views (a training loop can reuse one buffer per view and spare
        the allocator; on a CPU a fresh 30 MB buffer costs page faults on every call).
        """
        return self.apply_views(x, [params], None if out is None else [out], backend)[0]

    def apply_views(
        self,
        x: torch.Tensor,
        params: Sequence[ViewParams],
        out: Sequence[torch.Tensor] | None = None,
        backend: Backend = "auto",
    ) -> list[torch.Tensor]:
        """Several views of each ECG from given parameters, in one pass over ``x``.

        ``out``: one buffer per view (see :meth:`apply`), or ``None`` for new tensors.
        ``backend``:

        * ``"fused"``: the compiled CPU loop of :mod:`threekg_lite.fused` (float32/float64
          on a CPU, numba installed; an error otherwise), which writes each sample of a
          view once, product and mask together;
        * ``"torch"``: one batched matrix product and an in-place mask per view (any
          device and dtype); on a CPU in blocks of :data:`CPU_CHUNK` ECGs, each read from
          memory once and masked while in cache;
        * ``"auto"``: ``"fused"`` where it applies, else ``"torch"``.

        The two agree to rounding (the sums run in another order); a masked sample is 0
        with ``"fused"`` even where the product is NaN or infinite.
        """
        _check_batch(x)
        b, _, t = x.shape
        for p in params:
            if p.matrices.shape[0] != b:
                raise ValueError(
                    f"params were drawn for {p.matrices.shape[0]} ECGs, the batch has {b}"
                )
        if out is not None and len(out) != len(params):
            raise ValueError(f"got {len(out)} output buffers for {len(params)} views")
        if backend not in ("auto", "torch", "fused"):
            raise ValueError(f"backend must be 'auto', 'torch' or 'fused', got {backend!r}")
        outs = [_check_out(o, x) for o in out] if out is not None else None
        outs = outs or [torch.empty_like(x) for _ in params]
        if backend != "torch" and _fused_applies(x, params, required=backend == "fused"):
            from .fused import fused_views

            starts = [p.mask_start for p in params]
            lengths = [p.mask_length for p in params]
            fused_views(x, [p.matrices for p in params], starts, lengths, outs)
            return outs
        matrices = [p.matrices.to(x.dtype) for p in params]
        masks = []  # per view: (keep-rows of every shift, which row each lead uses) or None
        for p in params:
            if p.mask_start is not None and p.mask_length > 0:
                shifts = _keep_shifts(p.mask_length, t, x.dtype, x.device)
                masks.append((shifts, (t - p.mask_start) % t))  # rows: (B, 12)
            else:
                masks.append(None)
        step = CPU_CHUNK if x.device.type == "cpu" else b
        keep = None
        if any(m is not None for m in masks):
            keep = torch.empty(min(step, b) * 12, t, dtype=x.dtype, device=x.device)
        for i in range(0, b, step):  # on a CPU, blocks small enough to stay in cache
            x_block = x[i : i + step]
            for m, mask, o in zip(matrices, masks, outs):
                block = torch.bmm(m[i : i + step], x_block, out=o[i : i + step])
                if mask is not None:
                    shifts, rows = mask
                    index = rows[i : i + step].reshape(-1)
                    block_keep = torch.index_select(shifts, 0, index, out=keep[: index.numel()])
                    block.mul_(block_keep.view(block.shape))
        return outs

    def __call__(
        self,
        x: torch.Tensor,
        generator: torch.Generator,
        return_params: bool = False,
        out: torch.Tensor | None = None,
        backend: Backend = "auto",
    ) -> torch.Tensor | tuple[torch.Tensor, ViewParams]:
        """One random view of each ECG in ``x`` ``(B, 12, T)``; same shape, dtype, device.

        With ``return_params=True``, also the :class:`ViewParams` drawn; with ``out``, the
        view is written there (see :meth:`apply`).
        """
        _check_batch(x)
        params = self.sample(x.shape[0], x.shape[-1], generator, x.device)
        out = self.apply(x, params, out=out, backend=backend)
        return (out, params) if return_params else out

    def views(
        self,
        x: torch.Tensor,
        generator: torch.Generator,
        n: int = 2,
        out: Sequence[torch.Tensor] | None = None,
        backend: Backend = "auto",
    ) -> list[torch.Tensor]:
        """``n`` independent views of each ECG (two for contrastive learning), made in one
        pass over ``x`` (:meth:`apply_views`); equal to ``n`` successive calls with the same
        generator. ``out``: one buffer per view, or ``None``."""
        _check_batch(x)
        params = [self.sample(x.shape[0], x.shape[-1], generator, x.device) for _ in range(n)]
        return self.apply_views(x, params, out, backend)


def _fused_applies(x: torch.Tensor, params: Sequence[ViewParams], required: bool) -> bool:
    """Whether the fused CPU loop can make these views; with ``required``, why not."""
    reason = None
    try:
        from . import fused
    except ImportError as exc:  # numba missing or broken: torch operations do the work
        reason = f"numba could not be imported ({exc})"
    else:
        if not fused.applies(x, [p.matrices for p in params]):
            reason = (
                "it needs a float32/float64 batch on the CPU and 3KG matrices "
                f"(zero in the III, aVR, aVL, aVF columns); got {x.dtype} on {x.device}"
            )
    if reason is not None and required:
        raise ValueError(f"backend='fused' cannot make these views: {reason}")
    return reason is None


def _check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor (B, 12, T), got {type(x).__name__}")
    if x.ndim != 3 or x.shape[1] != 12:
        hint = " (put time last)" if x.ndim == 3 and x.shape[-1] == 12 else ""
        raise ValueError(
            f"expected a batch of shape (B, 12, T) with leads {list(LEAD_NAMES)}, "
            f"got {tuple(x.shape)}{hint}"
        )
    if not x.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {x.dtype}")


def _check_out(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"out must be a torch.Tensor, got {type(out).__name__}")
    if out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
        raise ValueError(
            f"out must match the batch: expected {tuple(x.shape)} {x.dtype} on {x.device}, "
            f"got {tuple(out.shape)} {out.dtype} on {out.device}"
        )
    if not out.is_contiguous():
        raise ValueError("out must be contiguous")
    if out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
        raise ValueError("out must not share memory with the input (the view reads all leads)")
    return out


def spatial_only(**kwargs: object) -> ThreeKG:
    """3KG ablation: rotation and scaling, no time mask."""
    return ThreeKG(temporal=False, **kwargs)  # type: ignore[arg-type]


def temporal_only(**kwargs: object) -> ThreeKG:
    """3KG ablation: time mask only (with the original leads, no projection)."""
    return ThreeKG(spatial=False, projection="residual", **kwargs)  # type: ignore[arg-type]
