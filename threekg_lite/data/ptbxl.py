"""PTB-XL (Wagner et al., *Scientific Data* 2020) in its official PhysioNet layout::

    ptb-xl/
      ptbxl_database.csv     one row per ECG: ecg_id, patient_id, scp_codes, strat_fold, ...
      scp_statements.csv     SCP-ECG code -> diagnostic / form / rhythm, class, subclass
      records100/00000/00001_lr.{hea,dat}   100 Hz, 10 s
      records500/00000/00001_hr.{hea,dat}   500 Hz, 10 s

Labels. ``scp_codes`` holds a dict ``{code: likelihood}``. A record carries a class when it has
a code of that class with likelihood >= ``min_likelihood`` (default 0: any likelihood, as in
the PTB-XL benchmark of Strodthoff et al. 2021). The label tasks are:

``superclass``   5 diagnostic superclasses NORM, MI, STTC, CD, HYP
``subclass``     23 diagnostic subclasses
``diagnostic``   44 diagnostic statements
``form``         19 form statements
``rhythm``       12 rhythm statements

The class lists come from ``scp_statements.csv`` (all classes, even those absent from the
records loaded, so that label matrices of different subsets line up).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from threekg_lite.data.loading import OnBadLead, read_records, window_meta
from threekg_lite.data.paths import HOW_TO_GET_DATA, database_dir
from threekg_lite.data.preprocess import CropMode
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
RATE_FOLDERS = {100: "filename_lr", 500: "filename_hr"}
_META_COLUMNS = [
    "age", "sex", "height", "weight", "heart_axis", "strat_fold", "scp_codes", "report",
    "baseline_drift", "static_noise", "burst_noise", "electrodes_problems", "pacemaker",
]  # fmt: skip


def read_scp_statements(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """``scp_statements.csv`` indexed by SCP code."""
    path = Path(folder) / "scp_statements.csv"
    if not path.exists():
        raise DataNotFoundError(f"{path} is missing: not a PTB-XL folder. {HOW_TO_GET_DATA}")
    return pd.read_csv(path, index_col=0)


def read_ptbxl_database(folder: str | os.PathLike[str], parse_codes: bool = True) -> pd.DataFrame:
    """``ptbxl_database.csv`` indexed by ``ecg_id``, with ``scp_codes`` parsed into dicts
    (left as text with ``parse_codes=False``; :func:`parse_scp_codes` parses them later)."""
    path = Path(folder) / "ptbxl_database.csv"
    if not path.exists():
        raise DataNotFoundError(f"{path} is missing: not a PTB-XL folder. {HOW_TO_GET_DATA}")
    db = pd.read_csv(path, index_col="ecg_id")
    return parse_scp_codes(db, path) if parse_codes else db


def parse_scp_codes(db: pd.DataFrame, path: str | os.PathLike[str] = "ptbxl_database.csv"):
    """``db`` with its ``scp_codes`` column parsed from text into ``{code: likelihood}`` dicts."""
    try:
        codes = db["scp_codes"].apply(ast.literal_eval)
    except (ValueError, SyntaxError) as e:
        raise ECGFormatError(path, f"unreadable scp_codes column: {e}") from None
    return db.assign(scp_codes=codes)


def ptbxl_label_sets(
    scp_codes: Iterable[dict[str, float]], statements: pd.DataFrame, min_likelihood: float = 0.0
) -> dict[str, LabelSet]:
    """Multi-hot label matrices of the five PTB-XL tasks.

    Parameters
    ----------
    scp_codes
        One ``{code: likelihood}`` dict per record (N of them).
    statements
        ``scp_statements.csv`` indexed by code.

    Returns
    -------
    dict
        Task -> :class:`LabelSet` with ``y`` of shape ``(N, C)``.
    """
    diag = statements[statements["diagnostic"] == 1]
    tasks: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
        "superclass": (SUPERCLASSES, diag["diagnostic_class"].to_dict()),
        "subclass": (
            tuple(sorted(diag["diagnostic_subclass"].unique())),
            diag["diagnostic_subclass"].to_dict(),
        ),
        "diagnostic": (tuple(diag.index), {c: c for c in diag.index}),
        "form": (
            tuple(statements.index[statements["form"] == 1]),
            {c: c for c in statements.index[statements["form"] == 1]},
        ),
        "rhythm": (
            tuple(statements.index[statements["rhythm"] == 1]),
            {c: c for c in statements.index[statements["rhythm"] == 1]},
        ),
    }
    codes = list(scp_codes)
    out = {}
    for task, (names, code_to_class) in tasks.items():
        col = {name: j for j, name in enumerate(names)}
        y = np.zeros((len(codes), len(names)), dtype=bool)
        for n, rec in enumerate(codes):
            for code, likelihood in rec.items():
                cls = code_to_class.get(code)
                if cls is not None and likelihood >= min_likelihood:
                    y[n, col[cls]] = True
        out[task] = LabelSet(names, y)
    return out


def load_ptbxl(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    fs: float = 100,
    ecg_ids: Iterable[int] | None = None,
    folds: Iterable[int] | None = None,
    min_likelihood: float = 0.0,
    duration: float | None = None,
    crop: CropMode = "start",
    rng: np.random.Generator | None = None,
    stride: float | None = None,
    bandpass: tuple[float | None, float | None] | None = None,
    on_bad_lead: OnBadLead = "drop",
    progress: bool = True,
) -> ECGRecords:
    """Load PTB-XL records with their labels.

    Parameters
    ----------
    data_dir
        The data directory holding ``ptb-xl/`` (or the PTB-XL folder itself); default
        ``THREEKG_DATA_DIR`` (see :mod:`threekg_lite.data.paths`).
    fs
        100 or 500 reads ``records100/`` or ``records500/`` as they are. Any other rate is
        resampled from the 500 Hz files.
    ecg_ids
        Which records; default all rows of ``ptbxl_database.csv`` whose files are present (so a
        partial download loads what it has).
    folds
        Keep only these ``strat_fold`` values (1-10; 1-8 train, 9 validation, 10 test in the
        PTB-XL benchmark).
    min_likelihood
        Minimum SCP likelihood for a code to count (0-100).
    duration, crop, rng, stride, bandpass, on_bad_lead, progress
        Reading options shared by every loader: see
        :func:`threekg_lite.data.loading.read_records`.

    Returns
    -------
    ECGRecords
        ``signals`` ``(N, 12, T)`` float32 mV; ``record_ids`` are ``ecg_id`` as strings;
        label tasks superclass, subclass, diagnostic, form, rhythm; ``meta`` with ``ecg_id``,
        ``strat_fold``, age, sex and the quality columns.
    """
    folder = database_dir("ptbxl", data_dir)
    db = read_ptbxl_database(folder, parse_codes=False)  # parsed below, for the rows kept
    statements = read_scp_statements(folder)
    if ecg_ids is not None:
        wanted = list(ecg_ids)
        unknown = sorted(set(wanted) - set(db.index))
        if unknown:
            raise ValueError(f"ecg_id(s) {unknown[:10]} not in {folder / 'ptbxl_database.csv'}")
        db = db.loc[wanted]
    if folds is not None:
        folds = list(folds)
        db = db[db["strat_fold"].isin(folds)]
    if (ecg_ids is not None or folds is not None) and len(db) == 0:
        raise ValueError(f"the selection (ecg_ids, folds={folds}) leaves no PTB-XL record")
    file_fs = fs if fs in RATE_FOLDERS else 500
    column = RATE_FOLDERS[file_fs]
    root = str(folder)
    files = [os.path.join(root, name) for name in db[column]]
    present = np.array([os.path.exists(f + ".hea") for f in files], dtype=bool)
    if ecg_ids is not None and not present.all():
        missing = db.index[~present][:5].tolist()
        raise DataNotFoundError(
            f"{(~present).sum()} requested PTB-XL record(s) at {file_fs} Hz are missing from "
            f"{folder} (e.g. ecg_id {missing}). {HOW_TO_GET_DATA}"
        )
    db = db[present]
    if len(db) == 0:
        raise DataNotFoundError(f"no PTB-XL records at {file_fs} Hz in {folder}. {HOW_TO_GET_DATA}")
    res = read_records(
        [f for f, ok in zip(files, present) if ok],
        fs=fs,
        duration=duration,
        crop=crop,
        rng=rng,
        stride=stride,
        bandpass=bandpass,
        on_bad_lead=on_bad_lead,
        progress=progress,
        desc=f"PTB-XL {fs:g} Hz",
    )
    requested = db.index.astype(str).to_numpy()
    problems = {requested[i]: p for i, p in res.problems.items()}
    db = parse_scp_codes(db.iloc[res.kept], folder / "ptbxl_database.csv")
    ids = db.index.astype(str).to_numpy()
    meta = db[[c for c in _META_COLUMNS if c in db.columns]].reset_index()
    meta["filename"] = db[column].to_numpy()
    patients = db["patient_id"].map(lambda p: str(int(p)) if pd.notna(p) else "").to_numpy()
    patients = np.where(patients == "", ids, patients)
    return ECGRecords(
        signals=res.signals,
        fs=float(fs),
        record_ids=ids,
        patient_ids=patients,
        labels=ptbxl_label_sets(db["scp_codes"], statements, min_likelihood),
        meta=window_meta(meta, res, fs, stride),
        source="ptbxl",
        problems=problems,
    )
