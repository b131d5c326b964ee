"""The views a pretraining run can make, by name: 3KG, its two halves, and the views of the
methods 3KG is compared with (SimCLR's generic time-series set, :mod:`.generic`)."""

from __future__ import annotations

import torch

from threekg_lite.augment import ThreeKG, spatial_only, temporal_only
from threekg_lite.baselines.generic import Augmentation, simclr_ecg
from threekg_lite.runtime.checks import check_choice

AUGMENTATIONS = ("3kg", "3kg-spatial", "3kg-temporal", "generic", "none")
"""Augmentation sets :func:`make_augmentation` knows."""


def make_augmentation(name: str, fs: float) -> Augmentation:
    """The view-making transform of an augmentation set: ``"3kg"`` (:class:`ThreeKG`), its two
    halves, ``"generic"`` (:func:`.generic.simclr_ecg` at ``fs``), or ``"none"`` (the crop)."""
    if check_choice("augmentation", name, AUGMENTATIONS) in ("generic", "none"):
        return simclr_ecg(fs) if name == "generic" else _identity
    return {"3kg": ThreeKG, "3kg-spatial": spatial_only, "3kg-temporal": temporal_only}[name]()


def _identity(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x
