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

   In both, III, aVR, aVL and aVF obey the limb-lead identities exactly.
4. **Time mask**: in every lead, ``floor(mask_ratio * T)`` consecutive samples (50 %) from
   a uniform random start, wrapping around the end, are set to zero.

One batched matrix product makes the views on the data's device and dtype. Randomness comes
only from the injected ``torch.Generator``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch

from threekg_lite.leads import LIMB
from threekg_lite.runtime.checks import check_batch, check_choice
from threekg_lite.vcg import DOWER, ecg_to_vcg_matrix

ScaleLaw = Literal["log_symmetric", "enlarge"]
AxisOrder = Literal["random", "xyz"]
Projection = Literal["project", "residual"]

# The six orders of three axes; "xyz" is order 0.
_ORDERS = torch.tensor([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])

_TO_VCG = ecg_to_vcg_matrix("dower")  # (3, 12), exact pseudo-inverse on I, II, V1-V6


@functools.lru_cache(maxsize=8)
def _constants(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``D`` (12, 3; its limb rows already obey the identities), ``D⁺`` (3, 12) and ``LIMB``
    (12, 12), float64, on ``device``."""
    return tuple(torch.tensor(np.array(m), device=device) for m in (DOWER, _TO_VCG, LIMB))


class ViewParams(NamedTuple):
    """The random draws behind a batch of views (all on the batch's device)."""

    angles: torch.Tensor  # (B, 3) radians about X, Y, Z
    order: torch.Tensor  # (B, 3) axes (0 = X): R = R[order[0]] R[order[1]] R[order[2]]
    scales: torch.Tensor  # (B, 3) scale factors of X, Y, Z
    mask_start: torch.Tensor | None  # (B, 12) first masked sample per lead; None: no mask
    mask_length: int  # masked samples per lead, floor(mask_ratio * T)
    matrices: torch.Tensor  # (B, 12, 12) the spatial transform (float64)


def rotation_matrices(angles: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``(B, 3, 3)`` rotations ``R[order[0]] @ R[order[1]] @ R[order[2]]`` from ``angles``
    ``(B, 3)`` (radians about X, Y, Z) and ``order`` ``(B, 3)`` (a permutation of 0, 1, 2)."""
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
    """``(B, 12, 12)`` float64 from rotations ``(B, 3, 3)`` and scales ``(B, 3)``:
    ``"project"``: ``D S R D⁺``; ``"residual"``: ``LIMB (I + D (S R - I) D⁺)``."""
    d, d_inv, limb = _constants(rotation.device)
    sr = scales.double()[:, :, None] * rotation.double()  # (B, 3, 3) = S @ R
    check_choice("projection", projection, ("project", "residual"))
    if projection == "project":
        return d @ sr @ d_inv  # D S R D⁺
    eye3 = torch.eye(3, dtype=torch.float64, device=rotation.device)
    return limb + d @ (sr - eye3) @ d_inv  # LIMB (I + D (S R - I) D⁺)


def circular_mask_rows(start: torch.Tensor, length: int, n_samples: int) -> torch.Tensor:
    """``(..., n_samples)`` bool, True on the ``length`` samples from each ``start`` ``(...,)``
    (int in ``[0, n_samples)``), wrapping around the end."""
    t = torch.arange(n_samples, device=start.device)
    first, end = start[..., None], start[..., None] + length
    return ((t >= first) & (t < end)) | (t < end - n_samples)  # the run, and its wrapped part


@dataclass(frozen=True)
class ThreeKG:
    """The 3KG augmentation: ``view = mask(M x)`` with a random spatial matrix ``M`` per ECG.

    Parameters
    ----------
    max_angle_deg, max_scale, scale_law, axis_order, projection, mask_ratio
        As in steps 1-4 of the module docstring; angles in ``[0, 180]``, ``max_scale >= 1``,
        ``mask_ratio`` in ``[0, 1)``.
    spatial, temporal
        Apply the rotation/scaling and the time mask; the 3KG ablations switch one off.
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
        check_choice("scale_law", self.scale_law, ("log_symmetric", "enlarge"))
        check_choice("axis_order", self.axis_order, ("random", "xyz"))
        check_choice("projection", self.projection, ("project", "residual"))

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
            start = torch.randint(0, n_samples, (batch, 12), generator=generator, device=gen_device)
            start = start.to(device)
        angles, order, scales = angles.to(device), order.to(device), scales.to(device)
        matrices = spatial_matrices(rotation_matrices(angles, order), scales, self.projection)
        return ViewParams(angles, order, scales, start, length, matrices)

    def apply(self, x: torch.Tensor, params: ViewParams) -> torch.Tensor:
        """One view of each ECG from given parameters: ``(B, 12, T) -> (B, 12, T)``."""
        check_batch(x, min_length=0, dtype_error=TypeError)
        if params.matrices.shape[0] != x.shape[0]:
            raise ValueError(
                f"params were drawn for {params.matrices.shape[0]} ECGs, the batch has {x.shape[0]}"
            )
        view = params.matrices.to(x.dtype) @ x  # (B, 12, 12) @ (B, 12, T)
        if params.mask_start is not None and params.mask_length > 0:
            masked = circular_mask_rows(params.mask_start, params.mask_length, x.shape[-1])
            view = view.masked_fill(masked, 0.0)
        return view

    def __call__(
        self, x: torch.Tensor, generator: torch.Generator, return_params: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, ViewParams]:
        """One random view of each ECG in ``x`` ``(B, 12, T)``; same shape, dtype, device (and,
        with ``return_params=True``, the :class:`ViewParams` drawn)."""
        check_batch(x, min_length=0, dtype_error=TypeError)
        params = self.sample(x.shape[0], x.shape[-1], generator, x.device)
        out = self.apply(x, params)
        return (out, params) if return_params else out

    def views(self, x: torch.Tensor, generator: torch.Generator, n: int = 2) -> list[torch.Tensor]:
        """``n`` independent views of each ECG (two for contrastive learning); equal to ``n``
        successive calls with the same generator."""
        return [self(x, generator) for _ in range(n)]


def spatial_only(**kwargs: object) -> ThreeKG:
    """3KG ablation: rotation and scaling, no time mask."""
    return ThreeKG(temporal=False, **kwargs)  # type: ignore[arg-type]


def temporal_only(**kwargs: object) -> ThreeKG:
    """3KG ablation: time mask only (with the original leads, no projection)."""
    return ThreeKG(spatial=False, projection="residual", **kwargs)  # type: ignore[arg-type]
