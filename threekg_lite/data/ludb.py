"""LUDB, the Lobachevsky University Electrocardiography Database (Kalyakulina et al., IEEE
Access 2020): 200 ten-second 12-lead ECGs at 500 Hz from 200 subjects, with cardiologists'
diagnoses and per-lead wave boundaries. Official layout::

    ludb/
      ludb.csv                 ID, Sex, Age, Rhythms, Electric axis of the heart, ...
      RECORDS                  data/1 ... data/200
      data/<n>.{hea,dat}       signals (leads named i, ii, iii, avr, ... v6)
      data/<n>.{i,ii,...,v6}   WFDB annotations of one lead: ``(`` onset, ``p``/``N``/``t``
                               peak, ``)`` offset for each P wave, QRS complex and T wave

Each diagnosis column of ``ludb.csv`` (a cell may list several lines) becomes a label task:
``rhythm``, ``axis``, ``conduction``, ``extrasystole``, ``hypertrophy``, ``pacing``,
``ischemia``, ``repolarization``, ``other``. Class lists come from the whole table, so that
subsets line up.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from threekg_lite.data.loading import OnBadLead, read_records, window_meta
from threekg_lite.data.paths import HOW_TO_GET_DATA, database_dir
from threekg_lite.data.preprocess import CropMode
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.leads import LEAD_NAMES
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError

TASK_COLUMNS: dict[str, str] = {
    "rhythm": "Rhythms",
    "axis": "Electric axis of the heart",
    "conduction": "Conduction abnormalities",
    "extrasystole": "Extrasystolies",
    "hypertrophy": "Hypertrophies",
    "pacing": "Cardiac pacing",
    "ischemia": "Ischemia",
    "repolarization": "Non-specific repolarization abnormalities",
    "other": "Other states",
}
"""Label task -> column of ``ludb.csv``."""

WAVES = {"p": "P", "N": "QRS", "t": "T"}
"""Annotation symbol -> wave name."""

_AXIS_PREFIX = "Electric axis of the heart:"


def read_ludb_table(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """``ludb.csv`` indexed by record number, each diagnosis cell split into a list of strings."""
    path = Path(folder) / "ludb.csv"
    if not path.exists():
        raise DataNotFoundError(f"{path} is missing: not an LUDB folder. {HOW_TO_GET_DATA}")
    table = pd.read_csv(path, dtype=str).rename(columns=lambda c: c.strip())
    missing = [c for c in ("ID", *TASK_COLUMNS.values()) if c not in table.columns]
    if missing:
        raise ECGFormatError(path, f"missing column(s) {missing}")
    table["ID"] = table["ID"].str.strip().astype(int)
    for col in TASK_COLUMNS.values():
        table[col] = table[col].map(_split_cell)
    table["axis"] = table[TASK_COLUMNS["axis"]].map(
        lambda v: [x.removeprefix(_AXIS_PREFIX).strip() for x in v]
    )
    table["Sex"] = table["Sex"].str.strip()
    table["Age"] = pd.to_numeric(table["Age"].str.strip().str.lstrip(">"), errors="coerce")
    return table.set_index("ID")


def _split_cell(cell: object) -> list[str]:
    if not isinstance(cell, str):
        return []
    return [line.strip().rstrip(".") for line in cell.splitlines() if line.strip()]


def ludb_label_sets(table: pd.DataFrame, ids: Iterable[int]) -> dict[str, LabelSet]:
    """Multi-hot label sets of every task for the records ``ids``.

    Class lists come from all of ``table``, so that label sets of subsets line up.
    """
    ids = list(ids)
    out = {}
    for task, col in TASK_COLUMNS.items():
        source = "axis" if task == "axis" else col
        names = tuple(sorted({v for values in table[source] for v in values}))
        index = {n: j for j, n in enumerate(names)}
        y = np.zeros((len(ids), len(names)), dtype=bool)
        for row, rid in enumerate(ids):
            for v in table.at[rid, source]:
                y[row, index[v]] = True
        out[task] = LabelSet(names, y)
    return out


def load_ludb(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    fs: float = 500.0,
    records: Iterable[int] | None = None,
    duration: float | None = None,
    crop: CropMode = "start",
    rng: np.random.Generator | None = None,
    stride: float | None = None,
    bandpass: tuple[float | None, float | None] | None = None,
    on_bad_lead: OnBadLead = "drop",
    progress: bool = True,
) -> ECGRecords:
    """Load LUDB records with their diagnosis label sets.

    Parameters
    ----------
    data_dir
        Data directory holding ``ludb/`` (or the LUDB folder itself).
    fs
        Target rate in Hz (the files are 500 Hz).
    records
        Record numbers (1-200); default all whose files are present.
    duration, crop, rng, stride, bandpass, on_bad_lead, progress
        Reading options shared by every loader: see
        :func:`threekg_lite.data.loading.read_records`.

    Returns
    -------
    ECGRecords
        ``record_ids`` "1".."200" (one subject each, so also the patient ids); label tasks of
        :data:`TASK_COLUMNS`; ``meta`` with sex and age.
    """
    folder = database_dir("ludb", data_dir)
    table = read_ludb_table(folder)
    if records is None:
        ids = [i for i in table.index if (folder / "data" / f"{i}.hea").exists()]
    else:
        ids = list(records)
        if not ids:
            raise ValueError("records=[] selects no record")
        unknown = sorted(set(ids) - set(table.index))
        if unknown:
            raise ValueError(f"record(s) {unknown[:10]} not in {folder / 'ludb.csv'}")
    if not ids:
        raise DataNotFoundError(f"no LUDB records in {folder / 'data'}. {HOW_TO_GET_DATA}")
    res = read_records(
        [folder / "data" / str(i) for i in ids],
        fs=fs,
        duration=duration,
        crop=crop,
        rng=rng,
        stride=stride,
        bandpass=bandpass,
        on_bad_lead=on_bad_lead,
        progress=progress,
        desc="LUDB",
    )
    problems = {str(ids[i]): p for i, p in res.problems.items()}
    ids = [ids[i] for i in res.kept]
    rid = np.array([str(i) for i in ids])
    meta = pd.DataFrame(
        {"record": ids, "sex": table.loc[ids, "Sex"].to_numpy(), "age": table.loc[ids, "Age"]}
    ).reset_index(drop=True)
    return ECGRecords(
        signals=res.signals,
        fs=float(fs),
        record_ids=rid,
        patient_ids=rid.copy(),
        labels=ludb_label_sets(table, ids),
        meta=window_meta(meta, res, fs, stride),
        source="ludb",
        problems=problems,
    )


def load_ludb_annotations(
    record: int, data_dir: str | os.PathLike[str] | None = None, leads: Iterable[str] = LEAD_NAMES
) -> pd.DataFrame:
    """Cardiologists' wave boundaries of one LUDB record.

    Parameters
    ----------
    record
        Record number, 1-200.
    leads
        Standard lead names whose annotation files to read (``I`` reads ``<n>.i``).

    Returns
    -------
    pandas.DataFrame
        One row per wave: ``lead``, ``wave`` (P, QRS, T), ``onset``, ``peak``, ``offset`` as
        sample indices at 500 Hz (-1 where a boundary is not annotated, e.g. a wave cut by
        the record's edge).
    """
    import wfdb

    folder = database_dir("ludb", data_dir) / "data"
    rows = []
    for lead in leads:
        ext = lead.lower()
        path = folder / f"{record}.{ext}"
        if not path.exists():
            raise DataNotFoundError(f"{path}: LUDB annotation file missing. {HOW_TO_GET_DATA}")
        try:
            ann = wfdb.rdann(str(folder / str(record)), ext)
        except Exception as e:
            raise ECGFormatError(path, f"unreadable annotation file: {e}") from e
        symbols, samples = ann.symbol, ann.sample
        for k, sym in enumerate(symbols):
            if sym not in WAVES:
                continue
            onset = int(samples[k - 1]) if k > 0 and symbols[k - 1] == "(" else -1
            offset = int(samples[k + 1]) if k + 1 < len(symbols) and symbols[k + 1] == ")" else -1
            rows.append((lead, WAVES[sym], onset, int(samples[k]), offset))
    return pd.DataFrame(rows, columns=["lead", "wave", "onset", "peak", "offset"])
