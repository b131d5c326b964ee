"""Prepare once, train many times: a database converted into one array file plus a table, since
parsing WFDB headers costs milliseconds a record and reading rows of a ``.npy`` microseconds::

    <name>/
      signals.npy    (N, 12, T) float32 mV (or int16 microvolts with dtype="int16")
      records.csv    record_id, patient_id and the loader's meta columns
      labels.npz     one (N, C) bool matrix per label task
      aux_<k>.npy    extra signals (PTB's Frank leads), if any
      info.json      sampling rate, lead names, class names, source, format version

The folder is written under a temporary name and renamed only when complete, so an interrupted
run never leaves a half-written cache; an existing one is replaced only with ``overwrite``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api.types import is_string_dtype

from threekg_lite.data.paths import DATABASE_FOLDERS, PathLike, default_cache_dir
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.data.synthetic import generate
from threekg_lite.runtime.checks import check_choice
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError

FORMAT_VERSION = 1
INT16_UNITS_PER_MV = 1000.0  # int16 storage: 1 unit = 1 microvolt, range +-32.767 mV


def default_prepared_dir() -> Path:
    """``prepared/`` in the default cache (``~/.cache/threekg-lite``)."""
    return default_cache_dir() / "prepared"


def save_prepared(
    records: ECGRecords,
    path: PathLike,
    *,
    dtype: Literal["float32", "int16"] = "float32",
    overwrite: bool = False,
) -> Path:
    """Write ``records`` as a prepared folder at ``path``, atomically: ``dtype`` ``"float32"``
    (mV) or ``"int16"`` (microvolts, half the size, up to +-32.767 mV). ``overwrite`` replaces
    a prepared folder, never any other."""
    path = Path(path).expanduser()
    check_replaceable(path, overwrite)
    if check_choice("dtype", dtype, ("float32", "int16")) == "float32":
        signals = np.ascontiguousarray(records.signals, dtype=np.float32)
    else:
        scaled = np.round(records.signals * INT16_UNITS_PER_MV)
        if np.nanmax(np.abs(scaled), initial=0) > 32767:
            raise ValueError("signals exceed +-32.767 mV: store them as float32")
        signals = np.nan_to_num(scaled, nan=-32768).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        np.save(tmp / "signals.npy", signals)
        table = pd.DataFrame({"record_id": records.record_ids, "patient_id": records.patient_ids})
        if len(records.meta):
            extra = records.meta.drop(columns=["record_id", "patient_id"], errors="ignore")
            table = pd.concat([table, extra.reset_index(drop=True)], axis=1)
        table.to_csv(tmp / "records.csv", index=False)
        np.savez(tmp / "labels.npz", **{task: ls.y for task, ls in records.labels.items()})
        for name, arr in records.aux.items():
            np.save(tmp / f"aux_{name}.npy", np.ascontiguousarray(arr, dtype=np.float32))
        info: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "source": records.source,
            "fs": records.fs,
            "shape": list(signals.shape),
            "dtype": dtype,
            "units": "mV" if dtype == "float32" else "uV",
            "lead_names": list(records.lead_names),
            "tasks": {task: list(ls.names) for task, ls in records.labels.items()},
            "aux": sorted(records.aux),
            "problems": records.problems,
            "columns": list(table.columns),
            "text_columns": [c for c in table.columns if is_string_dtype(table[c].dtype)],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "info.json").write_text(json.dumps(info, indent=1))
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)  # put the previous folder back
                raise
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def is_prepared(path: PathLike) -> bool:
    """True when ``path`` is a folder written by :func:`save_prepared`."""
    info = Path(path).expanduser() / "info.json"
    try:
        return "format_version" in json.loads(info.read_text())
    except (OSError, ValueError):
        return False


def check_replaceable(path: Path, overwrite: bool) -> None:
    """Raise unless ``path`` is free, or is a prepared folder and ``overwrite`` is set."""
    if not path.exists():
        return
    if not overwrite:
        raise FileExistsError(
            f"{path} exists; pass overwrite=True (--overwrite on the command line) to replace it"
        )
    empty = path.is_dir() and not any(path.iterdir())
    if not (empty or is_prepared(path)):
        raise FileExistsError(
            f"{path} exists and is not a prepared folder (no info.json); refusing to replace it"
        )


def load_prepared(path: PathLike, *, mmap: bool = True) -> ECGRecords:
    """Read a prepared folder: ``signals`` float32 mV, memory-mapped and read-only with
    ``mmap`` (int16 folders converted in memory); ``meta`` from the CSV table, a missing text
    as ``""`` and PTB-XL's ``scp_codes`` as text (:func:`~.ptbxl.parse_scp_codes`)."""
    path = Path(path).expanduser()
    info_path = path / "info.json"
    if not info_path.exists():
        raise DataNotFoundError(f"{path} is not a prepared folder (no info.json)")
    try:
        info = json.loads(info_path.read_text())
    except json.JSONDecodeError as e:
        raise ECGFormatError(info_path, f"unreadable: {e}") from None
    if info.get("format_version") != FORMAT_VERSION:
        raise ECGFormatError(
            info_path,
            f"format version {info.get('format_version')}, this package reads "
            f"{FORMAT_VERSION}: prepare the database again",
        )
    try:
        signals = np.load(path / "signals.npy", mmap_mode="r" if mmap else None)
    except (ValueError, OSError) as e:
        raise ECGFormatError(path / "signals.npy", f"unreadable array: {e}") from None
    if list(signals.shape) != info["shape"]:
        raise ECGFormatError(
            path / "signals.npy", f"shape {signals.shape} differs from info.json's {info['shape']}"
        )
    if info["dtype"] == "int16":
        raw = np.asarray(signals)
        signals = raw.astype(np.float32) / np.float32(INT16_UNITS_PER_MV)
        signals[raw == -32768] = np.nan
    text_columns = info.get("text_columns", ["record_id", "patient_id"])
    # text columns come back as text, empty strings included (not as NaN)
    columns = info.get("columns") or pd.read_csv(path / "records.csv", nrows=0).columns
    text_dtypes = {c: str for c in text_columns}
    empty_is_nan = {c: [""] for c in columns if c not in text_columns}
    table = pd.read_csv(
        path / "records.csv", dtype=text_dtypes, keep_default_na=False, na_values=empty_is_nan
    )
    n = signals.shape[0]
    if len(table) != n:
        raise ECGFormatError(path / "records.csv", f"{len(table)} rows for {n} records")
    with np.load(path / "labels.npz") as z:
        labels = {t: LabelSet(tuple(names), z[t]) for t, names in info["tasks"].items()}
    for t, ls in labels.items():
        if ls.y.shape[0] != n:
            raise ECGFormatError(path / "labels.npz", f"task {t!r}: {ls.y.shape[0]} rows for {n}")
    aux = {k: np.load(path / f"aux_{k}.npy", mmap_mode="r" if mmap else None) for k in info["aux"]}
    return ECGRecords(
        signals=signals,
        fs=float(info["fs"]),
        record_ids=table["record_id"].to_numpy(dtype=str),
        patient_ids=table["patient_id"].to_numpy(dtype=str),
        labels=labels,
        meta=table.drop(columns=["record_id", "patient_id"]),
        source=info["source"],
        aux=aux,
        problems=info.get("problems", {}),
        lead_names=tuple(info["lead_names"]),
    )


def prepare_database(
    database: Literal["ptbxl", "cinc", "ludb", "ptbdb", "synthetic"],
    out: PathLike | None = None,
    *,
    data_dir: PathLike | None = None,
    dtype: Literal["float32", "int16"] = "float32",
    overwrite: bool = False,
    **loader_kwargs: Any,
) -> Path:
    """Load a database with its loader (:func:`load_database`, given ``loader_kwargs``) and
    save it prepared at ``out`` (default ``<prepared dir>/<database>-<fs>hz``)."""
    if out is not None:  # fail before minutes of loading, not after
        out = Path(out).expanduser()
        check_replaceable(out, overwrite)
    records = load_database(database, data_dir=data_dir, **loader_kwargs)
    if out is None:
        out = default_prepared_dir() / f"{database}-{records.fs:g}hz"
    return save_prepared(records, out, dtype=dtype, overwrite=overwrite)


def load_database(database: str, *, data_dir: PathLike | None = None, **kwargs: Any) -> ECGRecords:
    """Load ``database`` (ptbxl, cinc, ludb, ptbdb, synthetic) with its loader, given ``kwargs``."""
    if database == "synthetic":
        return generate(**kwargs)
    if database not in DATABASE_FOLDERS:
        raise ValueError(
            f"unknown database {database!r}; use ptbxl, cinc, ludb, ptbdb or synthetic"
        )
    module = importlib.import_module(f"threekg_lite.data.{database}")
    return getattr(module, f"load_{database}")(data_dir, **kwargs)
