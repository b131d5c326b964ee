"""PhysioNet/Computing in Cardiology Challenge 2020/2021 training data (Perez Alday et al. 2020;
Reyna et al. 2021): one ``<record>.hea`` + ``<record>.mat`` pair per ECG, in any folder tree
(``training/<source>/<group>/`` in the official releases). Labels are SNOMED-CT codes on the
header's ``#Dx:`` line; ``#Age:`` and ``#Sex:`` lines give demographics.

The 2020 challenge scored 27 diagnoses, three pairs of which count as one
(``dx_mapping_scored.csv`` of the challenge's evaluation code):

* complete RBBB 713427006 = RBBB 59118001,
* PAC 284470004 = supraventricular premature beats 63593006,
* PVC 427172004 = ventricular premature beats 17338001.

Merged, they give the 24 classes of :data:`SCORED_CLASSES` (each pair under its first
abbreviation: CRBBB, PAC, PVC). The older 2020 headers of the Georgia records (``E*.hea``),
whose first line names ``E00001.mat`` rather than the record and which ``wfdb.rdrecord``
rejects, load as they are.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from threekg_lite.data.loading import OnBadLead, read_records, window_meta
from threekg_lite.data.paths import HOW_TO_GET_DATA, database_dir
from threekg_lite.data.preprocess import CropMode, amplitude_span
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
"""The 27 scored diagnoses of the 2020 challenge with equivalent pairs merged: 24 classes."""

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
"""The nine labels of the CPSC 2018 data, as the first 2020 challenge release wrote them on
the ``#Dx:`` line (``#Dx: AF``), and the SNOMED-CT codes its later releases use for them
(the per-source counts of ``dx_mapping_scored.csv`` and ``dx_mapping_unscored.csv`` tie each
to its code: CPSC's PVC and its ST changes are not among the scored classes)."""

WRONG_2020_GAINS: dict[str, float] = {"HR": 200.0, "E": 4880.0, "S": 2_000_000.0}
"""Header gains (ADC units per mV) of 2020-era copies of challenge records that disagree
with the 2021 release of the same samples, which is 1000 for all of them: PTB-XL (``HR*``),
Georgia (``E*``) and PTB (``S*``) records. Read faithfully, such a copy comes out 5 x,
1 / 4.88 x or 1 / 2000 x its amplitude; :func:`load_cinc` reads it at 1000 and says so."""

CHALLENGE_GAIN = 1000.0
"""ADC units per mV of every record of the 2021 challenge release."""

PLAUSIBLE_SPAN_MV = (0.1, 8.0)
"""Bounds of :func:`~threekg_lite.data.preprocess.amplitude_span` (median over the leads of
the 0.5-99.5 % range after a 0.5-40 Hz band-pass) outside which a record's amplitude is
reported as implausible. On the 2,352 real records of the shared data (PTB-XL, the CinC
sample, LUDB) it lies between 0.35 and 3.6 mV."""


def dx_codes(text: str, path: str | os.PathLike[str] = "<header>") -> list[str]:
    """The SNOMED-CT codes of a ``#Dx:`` value: ``"164889003,59118001"`` as it is, the CPSC
    abbreviations of :data:`CPSC_ABBREVIATIONS` mapped (``"AF,RBBB"``).

    Raises
    ------
    ECGFormatError
        Naming the file, for a label that is neither a SNOMED-CT code nor a known
        abbreviation: its record would otherwise lose that label silently.
    """
    codes = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        if token.isdigit():
            codes.append(token)
        elif token in CPSC_ABBREVIATIONS:
            codes.append(CPSC_ABBREVIATIONS[token])
        else:
            raise ECGFormatError(
                path,
                f"#Dx label {token!r} is neither a SNOMED-CT code nor one of the CPSC "
                f"abbreviations {sorted(CPSC_ABBREVIATIONS)}; convert it to its SNOMED-CT "
                "code (the challenge's dx_mapping_scored.csv / dx_mapping_unscored.csv)",
            )
    return codes


def wrong_2020_gain(name: str, gains: Iterable[float]) -> float | None:
    """The header gain to undo when record ``name``'s gains are all those that 2020-era copies
    of its source carry (:data:`WRONG_2020_GAINS`), else ``None``."""
    gains = set(gains)
    for prefix, wrong in WRONG_2020_GAINS.items():
        if name.startswith(prefix) and gains == {wrong}:
            return wrong
    return None


def find_cinc_records(folder: str | os.PathLike[str]) -> list[Path]:
    """All record paths (without extension) under ``folder`` that have a ``.hea`` and ``.mat``."""
    heads = sorted(Path(folder).rglob("*.hea"))
    return [h.with_suffix("") for h in heads if h.with_suffix(".mat").exists()]


def parse_header_comments(comments: Iterable[str], lower: bool = False) -> dict[str, str]:
    """``key: value`` header comment lines as a dict, e.g. ``{"Age": "65", "Sex": "Female",
    "Dx": "164889003,164909002"}`` (keys lower-cased with ``lower=True``)."""
    out: dict[str, str] = {}
    for line in comments:
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().lower() if lower else key.strip()] = value.strip()
    return out


def scored_labels(dx_codes: Iterable[Iterable[str]]) -> LabelSet:
    """Multi-hot ``(N, 24)`` labels over :data:`SCORED_CLASSES` from per-record SNOMED-CT codes."""
    names = tuple(abbr for abbr, _, _ in SCORED_CLASSES)
    col = {name: j for j, name in enumerate(names)}
    rows = list(dx_codes)
    y = np.zeros((len(rows), len(names)), dtype=bool)
    for n, codes in enumerate(rows):
        for code in codes:
            cls = _CODE_TO_CLASS.get(code.strip())
            if cls is not None:
                y[n, col[cls]] = True
    return LabelSet(names, y)


def load_cinc(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    fs: float = 500.0,
    duration: float | None = 10.0,
    crop: CropMode = "start",
    rng: np.random.Generator | None = None,
    stride: float | None = None,
    bandpass: tuple[float | None, float | None] | None = None,
    records: Iterable[str] | None = None,
    on_bad_lead: OnBadLead = "drop",
    progress: bool = True,
) -> ECGRecords:
    """Load CinC 2020/2021-format records with the 24 merged scored classes.

    Parameters
    ----------
    data_dir
        The data directory holding a ``cinc2021``/``cinc2021-sample``/``cinc2020`` folder, or
        that folder itself; searched recursively for ``.hea`` + ``.mat`` pairs.
    fs
        Target sampling rate (Hz); records at other rates (INCART 257 Hz, PTB 1000 Hz) are
        resampled.
    records
        Record names to load (e.g. ``["E07938", "HR12083"]``); default all.
    duration, crop, rng, stride, bandpass, on_bad_lead, progress
        Reading options shared by every loader: see
        :func:`threekg_lite.data.loading.read_records`.

    Returns
    -------
    ECGRecords
        Label task ``"scored"`` (24 classes); ``meta`` with age, sex, all Dx codes, the
        original sampling rate and length, and the source (from the record's prefix: ``A``
        CPSC, ``Q`` CPSC-extra, ``I`` INCART, ``S`` PTB, ``HR`` PTB-XL, ``E`` Georgia,
        ``JS`` Chapman-Shaoxing/Ningbo).
    """
    folder = database_dir("cinc", data_dir)
    paths = find_cinc_records(folder)
    if records is not None:
        by_name = {p.name: p for p in paths}
        wanted = list(records)
        unknown = [r for r in wanted if r not in by_name]
        if unknown:
            raise ValueError(f"record(s) {unknown[:10]} not found under {folder}")
        paths = [by_name[r] for r in wanted]
        if not paths:
            raise ValueError("records=[] selects no record")
    if not paths:
        raise DataNotFoundError(f"no .hea/.mat record pairs under {folder}. {HOW_TO_GET_DATA}")
    res = read_records(
        paths,
        fs=fs,
        duration=duration,
        crop=crop,
        rng=rng,
        stride=stride,
        bandpass=bandpass,
        on_bad_lead=on_bad_lead,
        progress=progress,
        desc="CinC records",
    )
    problems = {paths[i].name: p for i, p in res.problems.items()}
    rows, regained = [], []
    for row, rec in enumerate(res.records):
        info = parse_header_comments(rec.header.comments)
        name = rec.header.path.stem
        wrong = wrong_2020_gain(name, (sig.gain for sig in rec.header.signals))
        if wrong is not None:  # read at gain `wrong`: rescale to the release's 1000 per mV
            res.signals[row] *= np.float32(wrong / CHALLENGE_GAIN)
            regained.append(f"{name} ({wrong:g})")
        rows.append(
            {
                "record": name,
                "source": _source_of(name),
                "age": pd.to_numeric(info.get("Age"), errors="coerce"),
                "sex": info.get("Sex", ""),
                "dx": ",".join(dx_codes(info.get("Dx", ""), rec.header.path)),
                "fs_file": rec.fs,
                "n_samples_file": rec.header.n_samples,
            }
        )
    if regained:
        warnings.warn(
            f"{len(regained)} record(s) under {folder} carry the header gain of 2020-era "
            f"copies of their source (ADC units per mV), whose samples the 2021 release "
            f"stores at {CHALLENGE_GAIN:g}; read at {CHALLENGE_GAIN:g}: "
            + ", ".join(regained[:10])
            + (" ..." if len(regained) > 10 else ""),
            stacklevel=2,
        )
    _check_amplitudes(res.signals, float(fs), [r["record"] for r in rows], folder)
    meta = pd.DataFrame(rows)
    ids = meta["record"].to_numpy(dtype=str) if len(meta) else np.array([], dtype=str)
    dx = [d.split(",") if d else [] for d in meta.get("dx", [])]
    return ECGRecords(
        signals=res.signals,
        fs=float(fs),
        record_ids=ids,
        patient_ids=ids.copy(),
        labels={"scored": scored_labels(dx)},
        meta=window_meta(meta, res, fs, stride),
        source="cinc",
        problems=problems,
    )


def _check_amplitudes(signals: np.ndarray, fs: float, names: list[str], folder: Path) -> None:
    """Warn, naming them, about records whose amplitude is outside :data:`PLAUSIBLE_SPAN_MV`
    (a gain that the header gets wrong by a large factor)."""
    if not len(signals):
        return
    span = amplitude_span(signals, fs)
    low, high = PLAUSIBLE_SPAN_MV
    odd = [f"{names[i]} ({span[i]:.3g} mV)" for i in np.flatnonzero((span < low) | (span > high))]
    if odd:
        warnings.warn(
            f"{len(odd)} record(s) under {folder} have an implausible amplitude (median lead "
            f"range outside {low:g}-{high:g} mV; real ECGs: about 0.3-4 mV): check their "
            "header gains: " + ", ".join(odd[:10]) + (" ..." if len(odd) > 10 else ""),
            stacklevel=3,
        )


_SOURCES = (
    ("HR", "PTB-XL"), ("JS", "Chapman-Shaoxing/Ningbo"), ("A", "CPSC"), ("Q", "CPSC-extra"),
    ("I", "INCART"), ("S", "PTB"), ("E", "Georgia"),
)  # fmt: skip


def _source_of(name: str) -> str:
    for prefix, source in _SOURCES:
        if name.startswith(prefix):
            return source
    return "unknown"
