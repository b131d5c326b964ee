"""PhysioNet/Computing in Cardiology Challenge 2020/2021 data (Perez Alday et al. 2020; Reyna et
al. 2021): ``<record>.hea`` + ``.mat`` pairs in a folder tree (its ``training/`` only, if it has
one), SNOMED-CT codes on the header's ``#Dx:`` line. The 2020 challenge scored 27 diagnoses, three
pairs of which count as one (its ``dx_mapping_scored.csv``): merged, the 24 classes of
:data:`SCORED_CLASSES`. The old 2020 Georgia headers (``E*.hea``), which name ``E00001.mat`` and
which ``wfdb.rdrecord`` rejects, load as they are.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from threekg_lite.data.loading import ReadOptions, select_records
from threekg_lite.data.paths import HOW_TO_GET_DATA, PathLike, database_dir
from threekg_lite.data.preprocess import amplitude_span
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError

# (abbreviation, SNOMED-CT codes scored as this class, description), challenge 2020 order.
SCORED_CLASSES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("IAVB", ("270492004",), "1st degree AV block"),
    ("AF", ("164889003",), "atrial fibrillation"),
    ("AFL", ("164890007",), "atrial flutter"),
    ("Brady", ("426627000",), "bradycardia"),
    ("CRBBB", ("713427006", "59118001"), "complete right bundle branch block (and RBBB)"),
    ("IRBBB", ("713426002",), "incomplete right bundle branch block"),
    ("LAnFB", ("445118002",), "left anterior fascicular block"),
    ("LAD", ("39732003",), "left axis deviation"),
    ("LBBB", ("164909002",), "left bundle branch block"),
    ("LQRSV", ("251146004",), "low QRS voltages"),
    ("NSIVCB", ("698252002",), "nonspecific intraventricular conduction disorder"),
    ("PR", ("10370003",), "pacing rhythm"),
    ("PAC", ("284470004", "63593006"), "premature atrial contraction (and SVPB)"),
    ("PVC", ("427172004", "17338001"), "premature ventricular contractions (and VPB)"),
    ("LPR", ("164947007",), "prolonged PR interval"),
    ("LQT", ("111975006",), "prolonged QT interval"),
    ("QAb", ("164917005",), "Q wave abnormal"),
    ("RAD", ("47665007",), "right axis deviation"),
    ("SA", ("427393009",), "sinus arrhythmia"),
    ("SB", ("426177001",), "sinus bradycardia"),
    ("NSR", ("426783006",), "sinus rhythm"),
    ("STach", ("427084000",), "sinus tachycardia"),
    ("TAb", ("164934002",), "T wave abnormal"),
    ("TInv", ("59931005",), "T wave inversion"),
)

_CODE_TO_CLASS = {code: abbr for abbr, codes, _ in SCORED_CLASSES for code in codes}

CPSC_ABBREVIATIONS: dict[str, str] = {
    "Normal": "426783006",  # sinus rhythm
    "AF": "164889003",  # atrial fibrillation
    "I-AVB": "270492004",  # 1st degree AV block
    "LBBB": "164909002",  # left bundle branch block
    "RBBB": "59118001",  # right bundle branch block
    "PAC": "284470004",  # premature atrial contraction
    "PVC": "164884008",  # ventricular ectopics (the challenge's code for CPSC's PVC; unscored)
    "STD": "429622005",  # ST depression (unscored)
    "STE": "164931005",  # ST elevation (unscored)
}
"""The CPSC 2018 labels as the first 2020 release wrote them (``#Dx: AF``), and the codes its
later releases use (tied by the per-source counts of the challenge's ``dx_mapping_*.csv``)."""

WRONG_2020_GAINS: dict[str, float] = {"HR": 200.0, "E": 4880.0, "S": 2_000_000.0}
"""Header gains (ADC units per mV) of copies of the first 2020 PTB-XL (``HR*``), Georgia (``E*``)
and PTB (``S*``) tarballs, corrected to 1000 in August 2020 (challenge-2021 has 1000 throughout);
read faithfully, the amplitude is 5 x, 1 / 4.88 x or 1 / 2000 x."""

CHALLENGE_GAIN = 1000.0  # ADC units per mV in challenge-2021 (and 2020 1.0.2, book/data.md)

PLAUSIBLE_SPAN_MV = (0.1, 8.0)
"""Bounds (mV) of an :func:`~.preprocess.amplitude_span` reported as implausible; on the 2,352
real records of the shared data (PTB-XL, the CinC sample, LUDB) it lies in 0.35-3.6 mV."""

_SOURCES = (
    ("HR", "PTB-XL"), ("JS", "Chapman-Shaoxing/Ningbo"), ("A", "CPSC"), ("Q", "CPSC-extra"),
    ("I", "INCART"), ("S", "PTB"), ("E", "Georgia"),
)  # fmt: skip


def dx_codes(text: str, path: PathLike = "<header>") -> list[str]:
    """The SNOMED-CT codes of a ``#Dx:`` value, CPSC abbreviations (``"AF,RBBB"``) mapped. Any
    other label is an error naming the file: its record would otherwise lose it silently."""
    codes = []
    for token in filter(None, (t.strip() for t in text.split(","))):
        if not (token.isdigit() or token in CPSC_ABBREVIATIONS):
            raise ECGFormatError(
                path,
                f"#Dx label {token!r} is neither a SNOMED-CT code nor one of the CPSC "
                f"abbreviations {sorted(CPSC_ABBREVIATIONS)}; convert it to its SNOMED-CT "
                "code (the challenge's dx_mapping_scored.csv / dx_mapping_unscored.csv)",
            )
        codes.append(CPSC_ABBREVIATIONS.get(token, token))
    return codes


def wrong_2020_gain(name: str, gains: Iterable[float]) -> float | None:
    """The gain to undo when all of record ``name``'s gains are those 2020-era copies of its
    source carry (:data:`WRONG_2020_GAINS`), else ``None``."""
    gains = set(gains)
    wrong = [g for p, g in WRONG_2020_GAINS.items() if name.startswith(p) and gains == {g}]
    return wrong[0] if wrong else None


def find_cinc_records(folder: PathLike) -> list[Path]:
    """Paths (no extension) of ``.hea`` + ``.mat`` pairs in ``folder/training``, else ``folder``."""
    root = Path(folder) / "training" if (Path(folder) / "training").is_dir() else Path(folder)
    heads = sorted(root.rglob("*.hea"))
    return [h.with_suffix("") for h in heads if h.with_suffix(".mat").exists()]


def parse_header_comments(comments: Iterable[str], lower: bool = False) -> dict[str, str]:
    """``key: value`` header comment lines as a dict (keys lower-cased with ``lower=True``)."""
    pairs = (line.partition(":") for line in comments)
    return {(k.lower() if lower else k).strip(): v.strip() for k, sep, v in pairs if sep}


def scored_labels(dx_codes: Iterable[Iterable[str]]) -> LabelSet:
    """Multi-hot ``(N, 24)`` labels over :data:`SCORED_CLASSES` from per-record SNOMED-CT codes."""
    rows = ([_CODE_TO_CLASS.get(c.strip()) for c in codes] for codes in dx_codes)
    return LabelSet.from_rows([abbr for abbr, _, _ in SCORED_CLASSES], rows)


def load_cinc(
    data_dir: PathLike | None = None,
    *,
    fs: float = 500.0,
    duration: float | None = 10.0,
    records: Iterable[str] | None = None,
    **options: Any,
) -> ECGRecords:
    """Load CinC 2020/2021 records (``records``: names, default all) with the 24 merged scored
    classes, resampled to ``fs`` (INCART is 257 Hz, PTB 1 kHz); ``options``: the other reading
    options of :class:`~.loading.ReadOptions`. ``meta``: age, sex, Dx codes, the file's rate and
    length, the source (from the name's prefix: ``A`` CPSC, ``Q`` CPSC-extra, ``I`` INCART, ``S``
    PTB, ``HR`` PTB-XL, ``E`` Georgia, ``JS`` Chapman-Shaoxing/Ningbo). Wrong 2020-era header gains
    are read as 1000 per mV, with a warning."""
    opts = ReadOptions(fs, duration, **options)
    folder = database_dir("cinc", data_dir)
    found = find_cinc_records(folder)
    paths = select_records(records, {p.name: p for p in found}, found, folder)
    if not paths:
        raise DataNotFoundError(f"no .hea/.mat record pairs under {folder}. {HOW_TO_GET_DATA}")
    res = opts.read(paths, "CinC records")
    rows, dx, regained = [], [], []
    for row, rec in enumerate(res.records):
        info = parse_header_comments(rec.header.comments)
        name = rec.header.path.stem
        wrong = wrong_2020_gain(name, (sig.gain for sig in rec.header.signals))
        if wrong is not None:  # read at gain `wrong`: rescale to the release's 1000 per mV
            res.signals[row] *= np.float32(wrong / CHALLENGE_GAIN)
            regained.append(f"{name} ({wrong:g})")
        dx.append(dx_codes(info.get("Dx", ""), rec.header.path))
        rows.append(
            {
                "record": name,
                "source": next((s for p, s in _SOURCES if name.startswith(p)), "unknown"),
                "age": pd.to_numeric(info.get("Age"), errors="coerce"),
                "sex": info.get("Sex", ""),
                "dx": ",".join(dx[-1]),
                "fs_file": rec.fs,
                "n_samples_file": rec.header.n_samples,
            }
        )
    _warn(
        f"{len(regained)} record(s) under {folder} carry the header gain of 2020-era "
        f"copies of their source (ADC units per mV), whose samples PhysioNet's releases "
        f"store at {CHALLENGE_GAIN:g}; read at {CHALLENGE_GAIN:g}: ",
        regained,
    )
    span = amplitude_span(res.signals, float(fs))  # far off for a header gain wrong by far
    low, high = PLAUSIBLE_SPAN_MV
    odd = np.flatnonzero((span < low) | (span > high))
    _warn(
        f"{odd.size} record(s) under {folder} have an implausible amplitude (median lead range "
        f"outside {low:g}-{high:g} mV; real ECGs: about 0.3-4 mV): check their header gains: ",
        [f"{rows[i]['record']} ({span[i]:.3g} mV)" for i in odd],
    )
    ids = np.array([r["record"] for r in rows], dtype=str)
    names, labels = [p.name for p in paths], {"scored": scored_labels(dx)}
    return opts.records(res, "cinc", names, ids, ids.copy(), labels, pd.DataFrame(rows))


def _warn(text: str, items: list[str]) -> None:
    """A warning for the caller of :func:`load_cinc` listing up to ten ``items``, if any."""
    if items:
        warnings.warn(text + ", ".join(items[:10]) + (" ..." if items[10:] else ""), stacklevel=3)
