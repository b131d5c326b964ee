"""Contrastive losses: SimCLR's NT-Xent and its supervised (same-id) variant, and accuracy.

The two views of a batch, ``z1`` and ``z2`` of shape ``(N, D)``, are L2-normalised and
stacked into ``z`` of shape ``(2N, D)``: row ``i`` and row ``i + N`` are the two views of item
``i`` (twins). With ``s = z zᵀ / τ`` (cosine similarities over a temperature ``τ``), the loss
of an anchor ``i`` and one of its positives ``p`` is

    l(i, p) = -log( exp(s_ip) / Σ_{a ≠ i} exp(s_ia) ),

the denominator running over all ``2N - 1`` other rows (Chen et al. 2020, NT-Xent).

* Without ids (SimCLR), each anchor's only positive is its twin, and the loss is the mean of
  ``l(i, twin(i))`` over the ``2N`` anchors.
* With ids (3KG, from SupCon's ``L_out``, Khosla et al. 2020), every other row whose item has
  the same id (record or patient) as the anchor is a positive. Each anchor's loss is the mean
  of ``l(i, p)`` over its positives ``P(i)``; the loss is the mean over anchors. With all ids
  distinct, ``P(i)`` is the twin alone and the two losses are equal.

Everything is computed in float32, or in float64 for float64 input: half-precision
embeddings (bf16, fp16) are cast up before normalising, so the softmax never runs in them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from threekg_lite.runtime.checks import check_float

__all__ = ["NTXentLoss", "contrastive_accuracy", "nt_xent", "supcon"]


def _check_views(z1: Tensor, z2: Tensor) -> None:
    """``ValueError`` unless ``z1``, ``z2`` are floating ``(N, D)``, one shape and device."""
    for name, z in (("z1", z1), ("z2", z2)):
        if not isinstance(z, Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(z).__name__}")
        if z.dim() != 2:
            raise ValueError(f"{name} must be 2-D (N, D), got shape {tuple(z.shape)}")
        if not z.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {z.dtype}")
    if z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape (N, D), got {tuple(z1.shape)} "
            f"and {tuple(z2.shape)}"
        )
    if 0 in z1.shape:
        raise ValueError(f"z1 and z2 are empty: need N >= 1 and D >= 1, got {tuple(z1.shape)}")
    if z1.device != z2.device:
        raise ValueError(f"z1 and z2 are on different devices: {z1.device} and {z2.device}")


def _check_temperature(temperature: float) -> float:
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number, got {temperature!r}") from None
    return check_float("temperature", t, positive=True)


def _check_ids(ids: Tensor, n: int, device: torch.device) -> Tensor:
    if not isinstance(ids, Tensor):
        raise ValueError(f"ids must be a torch.Tensor or None, got {type(ids).__name__}")
    if ids.dim() != 1 or ids.shape[0] != n:
        raise ValueError(f"ids must have shape (N,) = ({n},), got {tuple(ids.shape)}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"ids must be an integer tensor (record or patient ids), got {ids.dtype}")
    return ids.to(device)


def _unit(*zs: Tensor) -> Tensor:
    """The rows of ``zs`` stacked and L2-normalised, in float32 or float64 (module docstring)."""
    dtype = torch.float64 if zs[0].dtype == torch.float64 else torch.float32
    return F.normalize(torch.cat([z.to(dtype) for z in zs]), dim=1)


def _twin_index(n: int, device: torch.device) -> Tensor:
    """``(2N,)``: the row of each row's twin in the stacked batch, ``(i + N) mod 2N``."""
    return torch.arange(2 * n, device=device).roll(n)


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.1, ids: Tensor | None = None) -> Tensor:
    """NT-Xent loss ``()`` of two views ``(N, D)`` (row ``i`` of ``z1`` and of ``z2`` are a
    positive pair; ``N = 1`` gives exactly 0). With ``ids`` ``(N,)`` (record or patient), every
    other view of an item with the anchor's id is a positive too (module docstring)."""
    _check_views(z1, z2)
    t = _check_temperature(temperature)
    n = z1.shape[0]
    z = _unit(z1, z2)  # (2N, D)
    if ids is not None:  # (2N,): both views share the item's id
        return _supcon_unit(z, _check_ids(ids, n, z.device).repeat(2), t)
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = (z @ z.T / t).masked_fill(self_mask, float("-inf"))  # (2N, 2N)
    return F.cross_entropy(logits, _twin_index(n, z.device))


def supcon(z: Tensor, ids: Tensor, temperature: float = 0.1) -> Tensor:
    """Supervised-contrastive loss ``()`` of ``M`` embeddings ``(M, D)`` grouped by ids ``(M,)``.

    The general form of :func:`nt_xent` with ids, for any number of views per item (e.g.
    views of ``k`` crops of one record); every id must occur at least twice.
    ``nt_xent(z1, z2, t, ids) == supcon(cat([z1, z2]), ids.repeat(2), t)``."""
    _check_views(z, z)
    t = _check_temperature(temperature)
    ids = _check_ids(ids, z.shape[0], z.device)
    if (torch.unique(ids, return_counts=True)[1] < 2).any():
        raise ValueError("every id must occur at least twice: an anchor needs a positive")
    return _supcon_unit(_unit(z), ids, t)


def _supcon_unit(z: Tensor, ids: Tensor, t: float) -> Tensor:
    """SupCon of unit rows ``z`` ``(M, D)`` with ids ``(M,)``, each id at least twice."""
    self_mask = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    logits = (z @ z.T / t).masked_fill(self_mask, float("-inf"))  # (M, M)
    positive = (ids[:, None] == ids[None, :]) & ~self_mask  # (M, M)
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)  # (M, M)
    # torch.where, not a product: log_prob is -inf on the diagonal, and 0 * -inf is nan.
    pos_sum = torch.where(positive, log_prob, torch.zeros_like(log_prob)).sum(dim=1)  # (M,)
    return -(pos_sum / positive.sum(dim=1)).mean()


@torch.no_grad()
def contrastive_accuracy(
    z1: Tensor, z2: Tensor, topk: tuple[int, ...] = (1, 5)
) -> dict[str, float]:
    """Fraction of anchors whose twin is among their ``k`` most similar other views.

    Each of the ``2N`` stacked views ``(N, D)`` is an anchor; its candidates are the ``2N - 1``
    other views, ranked by cosine similarity. It is top-``k`` correct iff fewer than ``k``
    candidates are *strictly* more similar than its twin (ties favour the twin). Returns
    ``{"top1": ..., "top5": ...}``, one fraction per ``k``."""
    _check_views(z1, z2)
    for k in topk:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"every k in topk must be a positive integer, got {k!r}")
    n = z1.shape[0]
    z = _unit(z1, z2)  # (2N, D)
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = (z @ z.T).masked_fill(self_mask, float("-inf"))  # (2N, 2N)
    twin_sim = sim.gather(1, _twin_index(n, z.device)[:, None])  # (2N, 1)
    n_better = (sim > twin_sim).sum(dim=1)  # (2N,): the twin is never > itself
    return {f"top{k}": (n_better < k).double().mean().item() for k in topk}


class NTXentLoss(nn.Module):
    """:func:`nt_xent` as a module holding its temperature ``τ > 0``."""

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = _check_temperature(temperature)

    def forward(self, z1: Tensor, z2: Tensor, ids: Tensor | None = None) -> Tensor:
        """Loss of two ``(N, D)`` views, with optional ``(N,)`` ids; see :func:`nt_xent`."""
        return nt_xent(z1, z2, temperature=self.temperature, ids=ids)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
