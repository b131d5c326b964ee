"""threekg-lite: 3KG contrastive self-supervised learning of 12-lead ECGs.

The method, importable from here (``from threekg_lite import ThreeKG, nt_xent``), read in
this order: :mod:`~threekg_lite.leads`, :mod:`~threekg_lite.vcg` (``ecg_to_vcg``,
``vcg_to_ecg``), :mod:`~threekg_lite.augment` (``ThreeKG``), :mod:`~threekg_lite.losses`
(``nt_xent``, ``supcon``), :mod:`~threekg_lite.models` (``build_model``), and
:mod:`~threekg_lite.pretrain` (``PretrainConfig``, ``train_step``); ``Pretrainer``
(:mod:`~threekg_lite.training`) runs it. Everything else lives in sub-packages named for
their role.

Importing the package has no side effects: nothing is read, written, seeded or downloaded,
and PyTorch is imported only when one of these names is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from threekg_lite.leads import INDEPENDENT_LEADS, LEAD_NAMES

__version__ = "0.3.0"

_METHOD = {
    "ecg_to_vcg": "vcg",
    "vcg_to_ecg": "vcg",
    "ThreeKG": "augment",
    "nt_xent": "losses",
    "supcon": "losses",
    "build_model": "models",
    "ContrastiveModel": "models",
    "PretrainConfig": "pretrain",
    "train_step": "pretrain",
    "Pretrainer": "training",
}
"""Exported name -> the module that defines it (imported on first use)."""

__all__ = ["LEAD_NAMES", "INDEPENDENT_LEADS", "__version__", *_METHOD]


def __getattr__(name: str) -> Any:
    if name in _METHOD:
        value = getattr(importlib.import_module(f"{__name__}.{_METHOD[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_METHOD))
