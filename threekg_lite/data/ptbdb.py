"""PTB Diagnostic ECG Database (Bousseljot et al. 1995): 549 records of 290 subjects at 1 kHz
with the 12 leads *and the measured Frank leads vx, vy, vz* (in ``patient001/s0010_re.xyz``
beside the ``.dat``; ``RECORDS`` lists them): the reference for a VCG reconstructed from 12
leads. A folder of records without the ``patientNNN/`` level (``ptbdb-frank/``) works too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from threekg_lite.data.cinc import parse_header_comments
from threekg_lite.data.lead_names import FRANK_LEADS
from threekg_lite.data.loading import ReadOptions, select_records
from threekg_lite.data.paths import HOW_TO_GET_DATA, PathLike, database_dir
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError


def find_ptbdb_records(folder: PathLike) -> list[Path]:
    """Record paths (no extension) under ``folder``, from ``RECORDS`` if present, else by search."""
    folder = Path(folder)
    listing = folder / "RECORDS"
    if listing.exists():
        return [folder / n for n in listing.read_text().split() if (folder / f"{n}.hea").exists()]
    return sorted(h.with_suffix("") for h in folder.rglob("*.hea"))


def load_ptbdb(
    data_dir: PathLike | None = None,
    *,
    fs: float = 1000.0,
    records: Iterable[str] | None = None,
    **options: Any,
) -> ECGRecords:
    """Load PTB Diagnostic records (``records``: names ``"s0010_re"`` or paths
    ``"patient001/s0010_re"``, default all): ``signals`` ``(N, 12, T)`` and ``aux["frank"]``
    ``(N, 3, T)`` (vx, vy, vz), both mV and aligned; label task ``"admission"`` (reason for
    admission); ``meta`` with age, sex and the header's clinical fields. ``options``: the other
    reading options of :class:`~.loading.ReadOptions`."""
    opts = ReadOptions(fs, **options)
    folder = database_dir("ptbdb", data_dir)
    found = find_ptbdb_records(folder)
    known = {p.name: p for p in found}
    known |= {str(p.relative_to(folder)).replace(os.sep, "/"): p for p in found}
    paths = select_records(records, known, found, folder)
    if not paths:
        raise DataNotFoundError(f"no PTB records in {folder}. {HOW_TO_GET_DATA}")
    res = opts.read(paths, "PTB", keep_extra=True)
    frank, rows = [], []
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
    ids = np.array([paths[i].name for i in res.kept])
    patients = np.array([r["patient"] or rid for r, rid in zip(rows, ids)])
    reasons = tuple(sorted({r["admission"] for r in rows if r["admission"]}))
    labels = {"admission": LabelSet.from_rows(reasons, ([r["admission"]] for r in rows))}
    empty = np.empty((0, 3, res.signals.shape[-1]), np.float32)
    aux = {"frank": np.stack(frank) if frank else empty}
    names = [p.name for p in paths]
    return opts.records(res, "ptbdb", names, ids, patients, labels, pd.DataFrame(rows), aux)
