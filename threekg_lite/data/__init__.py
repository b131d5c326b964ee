"""Data: real PhysioNet databases in their official layouts, the prepare-once cache,
preprocessing, downloads, and the synthetic ECG generator. The common entry points are
available from here, each imported on first use so that ``import threekg_lite.data`` stays
fast::

    from threekg_lite.data import load_ptbxl, generate, load_prepared
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_MODULES = {
    "records": ("ECGRecords", "LabelSet"), "ptbxl": ("load_ptbxl",), "cinc": ("load_cinc",),
    "ludb": ("load_ludb", "load_ludb_annotations"), "ptbdb": ("load_ptbdb",),
    "synthetic": ("generate", "Nuisance"), "download": ("download_database",),
    "prepare": ("save_prepared", "load_prepared", "prepare_database", "load_database"),
    "wfdb_io": ("read_ecg",), "paths": ("data_dir", "available_databases"),
    "teaching": ("teaching_data_dir",),
}  # fmt: skip
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = [
    "ECGRecords", "LabelSet", "Nuisance", "available_databases", "data_dir",
    "download_database", "generate", "load_cinc", "load_database", "load_ludb",
    "load_ludb_annotations", "load_prepared", "load_ptbdb", "load_ptbxl", "prepare_database",
    "read_ecg", "save_prepared", "teaching_data_dir",
]  # fmt: skip

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from threekg_lite.data.cinc import load_cinc
    from threekg_lite.data.download import download_database
    from threekg_lite.data.ludb import load_ludb, load_ludb_annotations
    from threekg_lite.data.paths import available_databases, data_dir
    from threekg_lite.data.prepare import (
        load_database,
        load_prepared,
        prepare_database,
        save_prepared,
    )
    from threekg_lite.data.ptbdb import load_ptbdb
    from threekg_lite.data.ptbxl import load_ptbxl
    from threekg_lite.data.records import ECGRecords, LabelSet
    from threekg_lite.data.synthetic import Nuisance, generate
    from threekg_lite.data.teaching import teaching_data_dir
    from threekg_lite.data.wfdb_io import read_ecg


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
