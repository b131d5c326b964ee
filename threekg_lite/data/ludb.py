"""LUDB, the Lobachevsky University Electrocardiography Database (Kalyakulina et al., IEEE
Access 2020): 200 ten-second 12-lead ECGs at 500 Hz of 200 subjects, in ``ludb/data/<n>.{hea,dat}``
with ``ludb.csv`` (diagnoses) and per-lead WFDB annotations ``data/<n>.{i,ii,...,v6}``: ``(``
onset, ``p``/``N``/``t`` peak, ``)`` offset of each P wave, QRS complex and T wave.

Each diagnosis column of ``ludb.csv`` (a cell may list several lines) is a label task of
:data:`TASK_COLUMNS`, its classes from the whole table so that subsets line up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from threekg_lite.data.loading import ReadOptions, select_records
from threekg_lite.data.paths import HOW_TO_GET_DATA, PathLike, database_dir, database_file
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.leads import LEAD_NAMES
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError

TASK_COLUMNS: dict[str, str] = {  # label task -> column of ludb.csv
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

WAVES = {"p": "P", "N": "QRS", "t": "T"}  # annotation symbol -> wave name

_AXIS_PREFIX = "Electric axis of the heart:"


def read_ludb_table(folder: PathLike) -> pd.DataFrame:
    """``ludb.csv`` indexed by record number, each diagnosis cell split into a list of strings
    (a line's ``Electric axis of the heart:`` prefix dropped; ages ``>89`` read as 89)."""
    path = database_file(folder, "ludb.csv", "an LUDB")
    table = pd.read_csv(path, dtype=str).rename(columns=lambda c: c.strip())
    missing = [c for c in ("ID", *TASK_COLUMNS.values()) if c not in table.columns]
    if missing:
        raise ECGFormatError(path, f"missing column(s) {missing}")
    table["ID"] = table["ID"].str.strip().astype(int)
    for col in TASK_COLUMNS.values():
        table[col] = table[col].map(_split_cell)
    table["Sex"] = table["Sex"].str.strip()
    table["Age"] = pd.to_numeric(table["Age"].str.strip().str.lstrip(">"), errors="coerce")
    return table.set_index("ID")


def _split_cell(cell: object) -> list[str]:
    lines = cell.splitlines() if isinstance(cell, str) else []
    return [x.strip().rstrip(".").removeprefix(_AXIS_PREFIX).strip() for x in lines if x.strip()]


def ludb_label_sets(table: pd.DataFrame, ids: Iterable[int]) -> dict[str, LabelSet]:
    """Multi-hot label sets of every task for records ``ids``, classes from all of ``table``."""
    ids = list(ids)
    return {
        task: LabelSet.from_rows(sorted(set().union(*table[col])), table.loc[ids, col])
        for task, col in TASK_COLUMNS.items()
    }


def load_ludb(
    data_dir: PathLike | None = None,
    *,
    fs: float = 500.0,
    records: Iterable[int] | None = None,
    **options: Any,
) -> ECGRecords:
    """Load LUDB records (numbers 1-200, default all whose files are present) with the label
    tasks of :data:`TASK_COLUMNS`; ``record_ids`` "1".."200" are also the patient ids (one
    subject each). ``options``: the other reading options of :class:`~.loading.ReadOptions`."""
    opts = ReadOptions(fs, **options)
    folder = database_dir("ludb", data_dir)
    table = read_ludb_table(folder)
    present = [i for i in table.index if (folder / "data" / f"{i}.hea").exists()]
    ids = select_records(records, dict(zip(table.index, table.index)), present, folder / "ludb.csv")
    if not ids:
        raise DataNotFoundError(f"no LUDB records in {folder / 'data'}. {HOW_TO_GET_DATA}")
    res = opts.read([folder / "data" / str(i) for i in ids], "LUDB")
    kept = [ids[i] for i in res.kept]
    rid = np.array([str(i) for i in kept])
    meta = table.loc[kept, ["Sex", "Age"]].rename(columns=str.lower).reset_index(names="record")
    labels = ludb_label_sets(table, kept)
    return opts.records(res, "ludb", [str(i) for i in ids], rid, rid.copy(), labels, meta)


def load_ludb_annotations(
    record: int, data_dir: PathLike | None = None, leads: Iterable[str] = LEAD_NAMES
) -> pd.DataFrame:
    """Cardiologists' wave boundaries of LUDB record ``record`` (1-200) in the standard
    ``leads`` named (``I`` reads ``<n>.i``): one row per wave, ``lead``, ``wave`` (P, QRS, T),
    ``onset``, ``peak``, ``offset`` as sample indices at 500 Hz (-1 where a boundary is not
    annotated, e.g. a wave cut by the record's edge)."""
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
