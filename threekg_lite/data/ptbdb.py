"""PTB Diagnostic ECG Database (Bousseljot et al. 1995): 549 records of 290 subjects at 1000 Hz,
each with the 12 standard leads **and the three measured Frank leads vx, vy, vz**. That makes
it the reference for checking a VCG reconstructed from 12 leads (inverse Dower, Kors) against a
measured one. Official layout::

    ptbdb/
      RECORDS                         patient001/s0010_re, ...
      patient001/s0010_re.hea         15 signals: i ... v6 in .dat, vx vy vz in .xyz
      patient001/s0010_re.{dat,xyz}

A folder holding records without the ``patientNNN/`` level (as ``ptbdb-frank/`` in the shared
data) works too. The header's comments give age, sex and the clinical summary; the
``Reason for admission`` line is kept as a one-task label set.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from threekg_lite.data.cinc import parse_header_comments
from threekg_lite.data.lead_names import FRANK_LEADS
from threekg_lite.data.loading import OnBadLead, read_records, window_meta
from threekg_lite.data.paths import HOW_TO_GET_DATA, database_dir
from threekg_lite.data.preprocess import CropMode
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError


def find_ptbdb_records(folder: str | os.PathLike[str]) -> list[Path]:
    """Record paths (no extension) under ``folder``, from ``RECORDS`` if present, else by search."""
    folder = Path(folder)
    listing = folder / "RECORDS"
    if listing.exists():
        names = [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]
        return [folder / n for n in names if (folder / f"{n}.hea").exists()]
    return sorted(h.with_suffix("") for h in folder.rglob("*.hea"))


def load_ptbdb(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    fs: float = 1000.0,
    records: Iterable[str] | None = None,
    duration: float | None = None,
    crop: CropMode = "start",
    rng: np.random.Generator | None = None,
    stride: float | None = None,
    bandpass: tuple[float | None, float | None] | None = None,
    on_bad_lead: OnBadLead = "drop",
    progress: bool = True,
) -> ECGRecords:
    """Load PTB Diagnostic records: 12 leads in ``signals``, Frank leads in ``aux["frank"]``.

    Parameters
    ----------
    data_dir
        The data directory holding ``ptbdb/`` (or ``ptbdb-frank/``), or that folder itself.
    fs
        Target rate in Hz (the files are 1000 Hz).
    records
        Record names (``"s0010_re"``) or paths (``"patient001/s0010_re"``); default all.
    duration, crop, rng, stride, bandpass, on_bad_lead, progress
        Reading options shared by every loader: see
        :func:`threekg_lite.data.loading.read_records`.

    Returns
    -------
    ECGRecords
        ``signals`` ``(N, 12, T)`` and ``aux["frank"]`` ``(N, 3, T)`` (vx, vy, vz), both mV,
        aligned sample by sample; label task ``"admission"`` (reason for admission);
        ``meta`` with age, sex and the header's clinical fields.
    """
    folder = database_dir("ptbdb", data_dir)
    paths = find_ptbdb_records(folder)
    if records is not None:
        wanted = list(records)
        by_key = {p.name: p for p in paths} | {
            str(p.relative_to(folder)).replace(os.sep, "/"): p for p in paths
        }
        unknown = [r for r in wanted if r not in by_key]
        if unknown:
            raise ValueError(f"record(s) {unknown[:10]} not found under {folder}")
        paths = [by_key[r] for r in wanted]
        if not paths:
            raise ValueError("records=[] selects no record")
    if not paths:
        raise DataNotFoundError(f"no PTB records in {folder}. {HOW_TO_GET_DATA}")
    res = read_records(
        paths,
        fs=fs,
        duration=duration,
        crop=crop,
        rng=rng,
        stride=stride,
        bandpass=bandpass,
        on_bad_lead=on_bad_lead,
        keep_extra=True,
        progress=progress,
        desc="PTB",
    )
    frank = []
    rows = []
    for rec in res.records:
        missing = [k for k in FRANK_LEADS if k not in rec.extra]
        if missing:
            raise ECGFormatError(rec.header.path, f"no measured Frank lead(s) {missing}")
        frank.append(np.stack([rec.extra[k] for k in FRANK_LEADS]))
        info = parse_header_comments(rec.header.comments, lower=True)
        rows.append(
            {
                "record": str(rec.header.path.with_suffix("").relative_to(folder)),
                "patient": rec.header.path.parent.name if rec.header.path.parent != folder else "",
                "age": pd.to_numeric(info.get("age"), errors="coerce"),
                "sex": info.get("sex", ""),
                "admission": info.get("reason for admission", ""),
                "acute_infarction": info.get("acute infarction (localization)", ""),
                "n_samples_file": rec.header.n_samples,
            }
        )
    meta = pd.DataFrame(rows)
    ids = np.array([p.name for p in (paths[i] for i in res.kept)])
    patients = np.array([r["patient"] or rid for r, rid in zip(rows, ids)])
    reasons = tuple(sorted({r["admission"] for r in rows if r["admission"]}))
    y = np.array([[r["admission"] == c for c in reasons] for r in rows], dtype=bool).reshape(
        len(rows), len(reasons)
    )
    return ECGRecords(
        signals=res.signals,
        fs=float(fs),
        record_ids=ids,
        patient_ids=patients,
        labels={"admission": LabelSet(reasons, y)},
        meta=window_meta(meta, res, fs, stride),
        source="ptbdb",
        aux={
            "frank": np.stack(frank)
            if frank
            else np.empty((0, 3, res.signals.shape[-1]), np.float32)
        },
        problems={paths[i].name: p for i, p in res.problems.items()},
    )
