"""PTB-XL (Wagner et al., *Scientific Data* 2020) in its PhysioNet layout: ``ptbxl_database.csv``
(ecg_id, patient_id, scp_codes, strat_fold, ...), ``scp_statements.csv`` (SCP code -> class)
and ``records100/00000/00001_lr`` / ``records500/.../00001_hr`` (10 s at 100 / 500 Hz).

A record carries a class when one of its ``scp_codes`` of that class has a likelihood >=
``min_likelihood`` (default 0, as in the benchmark of Strodthoff et al. 2021). Tasks:
``superclass`` (5), ``subclass`` (23), ``diagnostic`` (44), ``form`` (19), ``rhythm`` (12),
their classes from ``scp_statements.csv`` so that subsets line up.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from threekg_lite.data.loading import ReadOptions, select_records
from threekg_lite.data.paths import HOW_TO_GET_DATA, PathLike, database_dir, database_file
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
RATE_FOLDERS = {100: "filename_lr", 500: "filename_hr"}
_META_COLUMNS = [
    "age", "sex", "height", "weight", "heart_axis", "strat_fold", "scp_codes", "report",
    "baseline_drift", "static_noise", "burst_noise", "electrodes_problems", "pacemaker",
]  # fmt: skip


def read_ptbxl_database(folder: PathLike, parse_codes: bool = True) -> pd.DataFrame:
    """``ptbxl_database.csv`` indexed by ``ecg_id``, ``scp_codes`` parsed into dicts unless
    ``parse_codes=False`` (:func:`parse_scp_codes` parses them later)."""
    path = database_file(folder, "ptbxl_database.csv", "a PTB-XL")
    db = pd.read_csv(path, index_col="ecg_id")
    return parse_scp_codes(db, path) if parse_codes else db


def parse_scp_codes(db: pd.DataFrame, path: PathLike = "ptbxl_database.csv") -> pd.DataFrame:
    """``db`` with its ``scp_codes`` column parsed from text into ``{code: likelihood}`` dicts."""
    try:
        codes = db["scp_codes"].apply(ast.literal_eval)
    except (ValueError, SyntaxError) as e:
        raise ECGFormatError(path, f"unreadable scp_codes column: {e}") from None
    return db.assign(scp_codes=codes)


def ptbxl_label_sets(
    scp_codes: Iterable[dict[str, float]], statements: pd.DataFrame, min_likelihood: float = 0.0
) -> dict[str, LabelSet]:
    """Task -> ``(N, C)`` label set of the five PTB-XL tasks, from one ``{code: likelihood}``
    dict per record and ``scp_statements.csv`` (indexed by SCP code)."""
    diag = statements[statements["diagnostic"] == 1]
    subclasses = tuple(sorted(diag["diagnostic_subclass"].unique()))
    tasks = {  # task: (classes, code -> class, or None where the codes are the classes)
        "superclass": (SUPERCLASSES, diag["diagnostic_class"].to_dict()),
        "subclass": (subclasses, diag["diagnostic_subclass"].to_dict()),
        "diagnostic": (tuple(diag.index), None),
        "form": (tuple(statements.index[statements["form"] == 1]), None),
        "rhythm": (tuple(statements.index[statements["rhythm"] == 1]), None),
    }
    kept = [[c for c, p in rec.items() if p >= min_likelihood] for rec in scp_codes]
    out = {}
    for task, (names, to_class) in tasks.items():
        rows = kept if to_class is None else ([to_class.get(c) for c in k] for k in kept)
        out[task] = LabelSet.from_rows(names, rows)
    return out


def load_ptbxl(
    data_dir: PathLike | None = None,
    *,
    fs: float = 100,
    ecg_ids: Iterable[int] | None = None,
    folds: Iterable[int] | None = None,
    min_likelihood: float = 0.0,
    **options: Any,
) -> ECGRecords:
    """Load PTB-XL records (``ecg_ids``, default every row whose files are present, so a partial
    download loads what it has; ``folds``: these ``strat_fold`` only) with their label tasks.
    ``fs`` 100 or 500 reads ``records100/`` or ``records500/``, other rates are resampled from
    500 Hz; ``options``: the other reading options of :class:`~.loading.ReadOptions`.
    ``record_ids`` are the ``ecg_id``; ``meta`` holds ``strat_fold``, age, sex, quality columns."""
    opts = ReadOptions(fs, **options)
    folder = database_dir("ptbxl", data_dir)
    db = read_ptbxl_database(folder, parse_codes=False)  # parsed below, for the rows kept
    statements = pd.read_csv(database_file(folder, "scp_statements.csv", "a PTB-XL"), index_col=0)
    csv = folder / "ptbxl_database.csv"
    known = dict(zip(db.index, db.index))
    db = db.loc[select_records(ecg_ids, known, db.index, csv, "ecg_id(s)", "ecg_ids")]
    if folds is not None:
        folds = list(folds)
        db = db[db["strat_fold"].isin(folds)]
        if len(db) == 0:
            raise ValueError(f"the selection (ecg_ids, folds={folds}) leaves no PTB-XL record")
    file_fs = fs if fs in RATE_FOLDERS else 500
    column = RATE_FOLDERS[file_fs]
    files = [os.path.join(folder, name) for name in db[column]]
    present = np.array([os.path.exists(f + ".hea") for f in files], dtype=bool)
    if ecg_ids is not None and not present.all():
        raise DataNotFoundError(
            f"{(~present).sum()} requested PTB-XL record(s) at {file_fs} Hz are missing from "
            f"{folder} (e.g. ecg_id {db.index[~present][:5].tolist()}). {HOW_TO_GET_DATA}"
        )
    db = db[present]
    if len(db) == 0:
        raise DataNotFoundError(f"no PTB-XL records at {file_fs} Hz in {folder}. {HOW_TO_GET_DATA}")
    res = opts.read([f for f, ok in zip(files, present) if ok], f"PTB-XL {fs:g} Hz")
    requested = db.index.astype(str).to_numpy()
    db = parse_scp_codes(db.iloc[res.kept], csv)
    ids = db.index.astype(str).to_numpy()
    meta = db[[c for c in _META_COLUMNS if c in db.columns]].reset_index()
    meta["filename"] = db[column].to_numpy()
    patients = db["patient_id"].map(lambda p: str(int(p)) if pd.notna(p) else "").to_numpy()
    patients = np.where(patients == "", ids, patients)
    labels = ptbxl_label_sets(db["scp_codes"], statements, min_likelihood)
    return opts.records(res, "ptbxl", requested, ids, patients, labels, meta)
