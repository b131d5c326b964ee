"""The views a pretraining run can make, by name: 3KG, its two halves, and the views of the
methods 3KG is compared with (SimCLR's generic time-series set, :mod:`.generic`)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from threekg_lite.augment import ThreeKG, spatial_only, temporal_only
from threekg_lite.baselines.generic import simclr_ecg

AUGMENTATIONS = ("3kg", "3kg-spatial", "3kg-temporal", "generic", "none")
"""Augmentation sets :func:`make_augmentation` knows."""

Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def make_augmentation(name: str, fs: float) -> Augmentation:
    """The view-making transform of an augmentation set.

    ``"3kg"``: rotation, scaling and time mask (:class:`~threekg_lite.augment.ThreeKG`);
    ``"3kg-spatial"``/``"3kg-temporal"``: its two halves; ``"generic"``: the SimCLR
    time-series set (:func:`~threekg_lite.baselines.generic.simclr_ecg`, needs ``fs``);
    ``"none"``: the crop itself.
    """
    if name == "3kg":
        return ThreeKG()
    if name == "3kg-spatial":
        return spatial_only()
    if name == "3kg-temporal":
        return temporal_only()
    if name == "generic":
        return simclr_ecg(fs)
    if name == "none":
        return _identity
    raise ValueError(f"unknown augmentation {name!r}; use one of {', '.join(AUGMENTATIONS)}")


def _identity(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x
