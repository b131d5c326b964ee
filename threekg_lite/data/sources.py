"""Pretraining data: one named source, or several databases pooled into one record set.
Contrastive pretraining needs no labels, only many ECGs at one sampling rate and length."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from threekg_lite.data.paths import PathLike, available_databases, database_dir
from threekg_lite.data.paths import data_dir as resolve_data_dir
from threekg_lite.data.prepare import is_prepared, load_database, load_prepared
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.data.splits import normalise_record_id
from threekg_lite.data.synthetic import generate
from threekg_lite.runtime.errors import DataNotFoundError

log = logging.getLogger(__name__)

SOURCES = ("synthetic", "ptbxl", "cinc", "ludb", "pool")  # or the path of a prepared folder
POOL_DATABASES = ("ptbxl", "cinc", "ludb")  # what "pool" joins, where present


def concat_records(parts: Sequence[ECGRecords], source: str = "pool") -> ECGRecords:
    """Join record sets of one sampling rate and length into one. Ids are prefixed with each
    part's source (``"ptbxl:1"``) so that they stay unique; labels are kept for the tasks all
    parts have with the same classes, ``meta`` for the columns all share, plus ``source``."""
    if not parts:
        raise ValueError("nothing to join: no record sets given")
    fs, t = parts[0].fs, parts[0].n_samples
    for p in parts:
        if p.fs != fs or p.n_samples != t:
            raise ValueError(
                f"cannot join {p.source or 'records'} at {p.fs:g} Hz x {p.n_samples} samples "
                f"with {parts[0].source or 'records'} at {fs:g} Hz x {t} samples; load them "
                "at one rate and duration"
            )

    def prefixed(p: ECGRecords, ids: np.ndarray) -> np.ndarray:
        return np.char.add(f"{p.source}:" if p.source else "", ids.astype(str))

    labels = {
        k: LabelSet(ls.names, np.concatenate([p.labels[k].y for p in parts]))
        for k, ls in parts[0].labels.items()
        if all(k in p.labels and p.labels[k].names == ls.names for p in parts)
    }
    metas = [p.meta.assign(source=p.source or "") if len(p.meta) else None for p in parts]
    if all(m is not None for m in metas):
        common = [c for c in metas[0].columns if all(c in m.columns for m in metas)]
        meta = pd.concat([m[common] for m in metas], ignore_index=True)
    else:
        meta = pd.DataFrame({"source": np.concatenate([[p.source] * len(p) for p in parts])})
    return ECGRecords(
        signals=np.concatenate([p.signals for p in parts]),
        fs=fs,
        record_ids=np.concatenate([prefixed(p, p.record_ids) for p in parts]),
        patient_ids=np.concatenate([prefixed(p, p.patient_ids) for p in parts]),
        labels=labels,
        meta=meta,
        source=source,
    )


def load_source(
    source: str,
    *,
    data_dir: PathLike | None = None,
    fs: float = 500.0,
    duration: float = 10.0,
    n_synthetic: int = 1000,
    seed: int = 0,
    bandpass: tuple[float | None, float | None] | None = None,
    exclude_folds: Sequence[int] = (10,),
    progress: bool = True,
) -> ECGRecords:
    """Records to pretrain on, ``(N, 12, round(fs * duration))`` float32 mV: ``"synthetic"``,
    ``"ptbxl"``, ``"cinc"``, ``"ludb"``, ``"pool"`` (those of :data:`POOL_DATABASES` found,
    joined), or a folder written by ``threekg prepare`` (its own rate and length).

    ``exclude_folds``: PTB-XL folds never to pretrain on, by default 10, the benchmark's test
    fold. The CinC data contain all of PTB-XL (``HR<ecg_id>``): those copies are dropped too,
    looked up in ``ptbxl_database.csv`` (without it they cannot be, and a warning says so)."""
    folds = set(exclude_folds or ())
    if source not in SOURCES:
        path = Path(source).expanduser()
        if is_prepared(path):
            records = load_prepared(path)
            return _without_folds(records, records.source, folds, data_dir)
        raise ValueError(
            f"unknown source {source!r}: use one of {', '.join(SOURCES)} or the path of a "
            "folder written by `threekg prepare`"
            + (f" ({path} exists but holds no prepared data)" if path.exists() else "")
        )
    if source == "synthetic":
        return generate(n_synthetic, fs=fs, duration=duration, seed=seed)
    parts = []
    for name in POOL_DATABASES if source == "pool" else (source,):
        try:
            part = _load_real(
                name, data_dir, fs=fs, duration=duration, bandpass=bandpass, progress=progress
            )
        except DataNotFoundError:
            if source != "pool":
                raise
            continue
        parts.append(_without_folds(part, name, folds, data_dir))
    if not parts:
        raise DataNotFoundError(
            f"no database of {', '.join(POOL_DATABASES)} found in {resolve_data_dir(data_dir)}; "
            "download one (`threekg download ptbxl --n-records 500`) or use source 'synthetic'"
        )
    return parts[0] if len(parts) == 1 else concat_records(parts)


def real_or_synthetic(
    database: str,
    data_dir: PathLike | None = None,
    *,
    n_synthetic: int,
    seed: int = 0,
    fs: float = 500.0,
    duration: float | None = None,
    **options: Any,
) -> ECGRecords:
    """``database``'s records when the data directory holds it, else ``n_synthetic`` records
    of the synthetic generator (``seed``; ``fs``; ``duration`` or 10 s): what a chapter shows
    on real data where there is some. ``database``: one of :data:`POOL_DATABASES`, ``"ptbdb"``
    or ``"pool"`` (:func:`load_source`, if any of them is present); ``options`` go to its
    loader only (``progress``, ``bandpass``, ``ecg_ids``, ...; for ``"pool"``: those of
    :func:`load_source`). ``records.source`` says which came back (``"synthetic"``)."""
    wanted = POOL_DATABASES if database == "pool" else (database,)
    if not set(wanted) & set(available_databases(data_dir)):
        return generate(n_synthetic, fs=fs, duration=duration or 10.0, seed=seed)
    timing = {"fs": fs} | ({} if duration is None else {"duration": duration})
    if database == "pool":
        return load_source("pool", data_dir=data_dir, seed=seed, **timing, **options)
    return load_database(database, data_dir=data_dir, **timing, **options)


def _without_folds(
    records: ECGRecords, name: str, folds: set[int], data_dir: PathLike | None
) -> ECGRecords:
    """``records`` less the PTB-XL records of ``folds`` (PTB-XL itself, or CinC's copies);
    records of other databases unchanged."""
    if not folds or name not in ("ptbxl", "cinc"):
        return records
    if name == "ptbxl":
        return records.subset(~records.meta["strat_fold"].isin(folds).to_numpy())
    ids = [normalise_record_id("cinc", r) for r in records.record_ids]
    copies = [i for i in ids if i.startswith("ptbxl:")]
    if not copies:
        return records
    try:
        from threekg_lite.data.ptbxl import read_ptbxl_database

        db = read_ptbxl_database(database_dir("ptbxl", data_dir), parse_codes=False)
    except DataNotFoundError:
        log.warning(
            "%d CinC records are PTB-XL copies, but PTB-XL's table is not in the data "
            "directory: cannot tell which belong to the held-out folds %s; kept them",
            len(copies),
            sorted(folds),
        )
        return records
    held_out = {f"ptbxl:{i}" for i in db.index[db["strat_fold"].isin(folds)]}
    listed = {f"ptbxl:{i}" for i in db.index}
    unknown = [i for i in copies if i not in listed]
    if unknown:
        log.warning(
            "%d CinC records are copies of PTB-XL records missing from the data directory's "
            "ptbxl_database.csv, so it is not PhysioNet's complete table (which lists every "
            "record, even in a partial download): their fold is unknown; kept them",
            len(unknown),
        )
    keep = np.array([i not in held_out for i in ids])
    if not keep.all():
        log.info("dropped %d CinC copies of held-out PTB-XL records", int((~keep).sum()))
    return records.subset(keep)


def _load_real(name: str, data_dir: PathLike | None, **options: Any) -> ECGRecords:
    """:func:`~.prepare.load_database` for :func:`load_source` (replaced in tests)."""
    return load_database(name, data_dir=data_dir, **options)
