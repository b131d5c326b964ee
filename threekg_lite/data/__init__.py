"""Data: real PhysioNet databases in their official layouts, the prepare-once cache,
preprocessing, downloads, and the synthetic ECG generator. The common entry points are here,
each imported on first use so that ``import threekg_lite.data`` stays fast::

    from threekg_lite.data import load_ptbxl, generate, load_prepared
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "records": ("ECGRecords", "LabelSet"),
    "ptbxl": ("load_ptbxl",),
    "cinc": ("load_cinc",),
    "ludb": ("load_ludb", "load_ludb_annotations"),
    "ptbdb": ("load_ptbdb",),
    "synthetic": ("generate", "Nuisance"),
    "download": ("download_database",),
    "prepare": ("save_prepared", "load_prepared", "prepare_database", "load_database"),
    "wfdb_io": ("read_ecg",),
    "paths": ("data_dir", "available_databases"),
    "teaching": ("teaching_data_dir",),
}  # module -> the names it exports from here
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
