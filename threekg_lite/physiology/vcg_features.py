"""Clinical measurements on the vectorcardiogram (beats, QRS/T boundaries, mean vectors, the
frontal QRS axis, the spatial QRS-T angle), checked against PTB's and LUDB's references.

One record at a time, NumPy: a VCG ``(3, T)`` (Frank axes X left, Y feet, Z back, mV;
:mod:`threekg_lite.vcg`) or a 12-lead ECG ``(12, T)`` in standard lead order (converted by
``method``), at ``fs`` Hz. Beats travel as a beat-window table (:data:`WINDOW_COLUMNS`, from
:func:`delineate_qrs` or :func:`ludb_qrs_windows`): int sample indices, -1 where not found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks

from threekg_lite.data.preprocess import bandpass
from threekg_lite.leads import INDEPENDENT_INDEX
from threekg_lite.runtime.checks import check_choice
from threekg_lite.vcg import Method, check_ecg, ecg_to_vcg, project_to_dipole

if TYPE_CHECKING:
    from threekg_lite.data.records import ECGRecords

WINDOW_COLUMNS: tuple[str, ...] = ("peak", "qrs_onset", "qrs_offset", "t_end")
"""Columns of a beat-window table (sample indices, -1 where unknown)."""

AXIS_CATEGORIES: tuple[str, ...] = (
    "left axis deviation", "horizontal", "normal", "vertical", "right axis deviation",
)  # fmt: skip
"""LUDB's five axis classes, from most superior-left to most rightward."""

AXIS_EDGES_DEG: tuple[float, float, float, float] = (0.0, 30.0, 70.0, 90.0)
"""Lower edges (degrees) of horizontal, normal, vertical and right axis deviation: the
convention of Russian clinical practice, which LUDB's cardiologists (Nizhny Novgorod) follow.
On LUDB's 190 records with one axis label (its QRS boundaries, leads I/aVF net amplitude) these
edges agree with 64 % of the labels, the Western left-deviation edge (-30°) with 55 %: LUDB's
"left axis deviation" has a median axis of about -10° (interquartile range -30° to +17°). A
grid search over all edges reaches 71 % only with an implausible 5°-wide horizontal band."""

DETECT_BAND_HZ: tuple[float, float] = (5.0, 30.0)
"""Pass band for beat detection: keeps the steep QRS, suppresses P, T and baseline wander."""
VELOCITY_BAND_HZ: tuple[float, float] = (2.0, 40.0)
"""Pass band of the VCG whose spatial velocity delineates the QRS. The 2 Hz high-pass takes
the slow T wave's velocity further below the QRS's, so that at fast rates (T close behind
the QRS) the QRS offset does not run into the T wave; on LUDB it changes nothing."""
SIGNAL_BAND_HZ: tuple[float, float] = (0.5, 40.0)
"""Pass band of the VCG used for delineation, velocity and areas."""


def _as_vcg(x: np.ndarray, method: Method = "dower") -> np.ndarray:
    """``(3, T)`` or ``(12, T)`` -> ``(3, T)`` float64 VCG."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] not in (3, 12):
        raise ValueError(f"expected a VCG (3, T) or an ECG (12, T), got shape {x.shape}")
    return x if x.shape[0] == 3 else np.asarray(ecg_to_vcg(x, method))


def _filtered(vcg: np.ndarray, fs: float, band: tuple[float, float]) -> np.ndarray:
    """Zero-phase band-pass, ``high`` clipped below Nyquist. ``(3, T)`` float64."""
    if vcg.shape[-1] <= 3 * 2 * (2 * 4 + 1):  # sosfiltfilt's default padding for order 4
        raise ValueError(f"signal of {vcg.shape[-1]} samples is too short to filter")
    return bandpass(vcg, fs, band[0], min(band[1], 0.45 * fs)).astype(np.float64)


def _isoelectric(vcg: np.ndarray, onset: int, fs: float) -> np.ndarray:
    """``(3,)`` mean VCG over the 20 ms before ``onset`` (the PR segment's end)."""
    lo = max(0, onset - max(1, round(0.02 * fs)))
    return vcg[:, lo:onset].mean(axis=1) if onset > lo else vcg[:, max(onset, 0)]


def detect_beats(
    x: np.ndarray,
    fs: float,
    *,
    method: Method = "dower",
    refractory_s: float = 0.25,
    height_fraction: float = 0.3,
) -> np.ndarray:
    r"""R-peak sample indices, ``(B,)`` int64 increasing, of a VCG ``(3, T)`` or an ECG
    ``(12, T)`` (converted by ``method``), mV.

    Peaks of the 5-30 Hz VCG's magnitude :math:`\sqrt{X^2 + Y^2 + Z^2}` smoothed over 50 ms
    (one hump per QRS even when the loop has several lobes), at least ``refractory_s`` apart
    (>= 0.25 s: 240 bpm) and at least ``height_fraction`` of the median of the maxima of 1.5 s
    segments (one artefact does not raise it, nor one missing beat lower it), each moved to
    the maximum of the 0.5-40 Hz :math:`|VCG|` within +-60 ms: the R peak.
    """
    if refractory_s < 0.25:
        raise ValueError(f"refractory_s must be >= 0.25 s, got {refractory_s}")
    vcg = _as_vcg(x, method)
    magnitude = np.linalg.norm(_filtered(vcg, fs, DETECT_BAND_HZ), axis=0)
    envelope = uniform_filter1d(magnitude, round(0.05 * fs), mode="constant")  # centred mean
    seg = max(1, round(1.5 * fs))
    n_seg = max(1, len(envelope) // seg)
    maxima = [envelope[k * seg : (k + 1) * seg].max() for k in range(n_seg)]
    reference = float(np.median(maxima))
    if reference <= 0:
        return np.zeros(0, dtype=np.int64)
    distance = max(1, round(refractory_s * fs))
    found, _ = find_peaks(envelope, height=height_fraction * reference, distance=distance)
    spatial = np.linalg.norm(_filtered(vcg, fs, SIGNAL_BAND_HZ), axis=0)
    half = round(0.06 * fs)
    lo, hi = np.maximum(found - half, 0), np.minimum(found + half + 1, len(spatial))
    peaks = np.unique([a + int(np.argmax(spatial[a:b])) for a, b in zip(lo, hi)]).astype(np.int64)
    # Refinement can pull two neighbours together: keep the larger of any too-close pair.
    keep: list[int] = []
    for p in map(int, peaks):
        if not keep or p - keep[-1] >= refractory_s * fs:
            keep.append(p)
        elif spatial[p] > spatial[keep[-1]]:
            keep[-1] = p
    return np.asarray(keep, dtype=np.int64)


def spatial_velocity(vcg: np.ndarray, fs: float) -> np.ndarray:
    """``(T,)`` spatial velocity ``|dVCG/dt|`` in mV/s of a ``(3, T)`` VCG: central
    differences of each axis, their Euclidean norm, a 10 ms moving average."""
    d = np.gradient(np.asarray(vcg, dtype=np.float64), axis=-1) * fs
    return uniform_filter1d(np.linalg.norm(d, axis=0), max(1, round(0.01 * fs)), mode="constant")


def _connected_extent(mask: np.ndarray, anchor: int, gap: int) -> tuple[int, int]:
    """First and last index of the run of ``mask`` around (nearest to) ``anchor``, bridging
    gaps <= ``gap``; ``(anchor, anchor)`` when ``mask`` has no ``True``."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return anchor, anchor
    run = np.concatenate([[0], np.cumsum(np.diff(idx) > gap + 1)])  # run number of each index
    members = idx[run == run[np.argmin(np.abs(idx - anchor))]]
    return int(members[0]), int(members[-1])


def delineate_qrs(
    x: np.ndarray,
    fs: float,
    peaks: np.ndarray | Sequence[int] | None = None,
    *,
    method: Method = "dower",
    fraction: float = 0.1,
    t_fraction: float = 0.15,
    gap_s: float = 0.02,
) -> pd.DataFrame:
    r"""QRS onset/offset and T end of each beat of a VCG ``(3, T)`` or ECG ``(12, T)``, mV: a
    beat-window table (``t_end = -1`` where no T wave fits before the record's end). ``peaks``
    default to :func:`detect_beats`. The spatial velocity :math:`v` of the 2-40 Hz VCG
    (:func:`spatial_velocity`) is large only while the QRS loop is drawn: with :math:`v_{max}` its
    maximum within +-60 ms of the peak, the QRS is the run of samples with :math:`v \ge`
    ``fraction`` :math:`v_{max}` around the peak, at most 120 ms before and 180 ms after it, dips
    shorter than ``gap_s`` bridged (a notch, the turn between two lobes). The T wave is looked for
    from QRS offset + 40 ms to :math:`\min(\text{peak} + 0.6\,RR,\ \text{next onset})`: its peak is
    the maximum of :math:`|VCG - VCG_{iso}|` there (the isoelectric vector: mean over the 20 ms
    before QRS onset), its end the first later sample below ``t_fraction`` of that."""
    vcg = _filtered(_as_vcg(x, method), fs, SIGNAL_BAND_HZ)
    n = vcg.shape[1]
    peaks = detect_beats(vcg, fs) if peaks is None else np.asarray(peaks, dtype=np.int64)
    velocity = spatial_velocity(_filtered(vcg, fs, VELOCITY_BAND_HZ), fs)
    before, after, core = round(0.12 * fs), round(0.18 * fs), round(0.06 * fs)
    gap = round(gap_s * fs)
    rows = []
    for p in peaks:
        lo, hi = max(0, p - before), min(n, p + after + 1)
        v_max = velocity[max(0, p - core) : min(n, p + core + 1)].max()
        anchor = int(p) - lo
        onset, offset = _connected_extent(velocity[lo:hi] >= fraction * v_max, anchor, gap)
        rows.append([int(p), lo + min(onset, anchor), lo + max(offset, anchor), -1])
    rr = np.diff(peaks)
    rr = np.append(rr, np.median(rr) if rr.size else fs)  # the last beat: the median, or 1 s
    next_onsets = [row[1] for row in rows[1:]] + [n]
    for row, rr_k, next_onset in zip(rows, rr, next_onsets):
        p, onset, offset, _ = row
        start, stop = offset + round(0.04 * fs), min(int(p + 0.6 * rr_k), next_onset)
        if stop - start < round(0.04 * fs):
            continue
        iso = _isoelectric(vcg, onset, fs)
        mag = np.linalg.norm(vcg[:, start:stop] - iso[:, None], axis=0)
        t_peak = int(np.argmax(mag))
        below = np.flatnonzero(mag[t_peak:] < t_fraction * mag[t_peak])
        if below.size:
            row[3] = start + t_peak + int(below[0])
        elif stop < n:
            row[3] = stop - 1  # the window's end: the next beat comes first
    return pd.DataFrame(rows, columns=list(WINDOW_COLUMNS), dtype=np.int64)


def ludb_qrs_windows(
    annotations: pd.DataFrame,
    fs: float = 500.0,
    lead: str | None = "II",
    *,
    annotation_fs: float = 500.0,
) -> pd.DataFrame:
    """LUDB's manual QRS and T boundaries (:func:`threekg_lite.data.load_ludb_annotations`,
    indices at ``annotation_fs``) as a beat-window table at ``fs``, beats without an annotated
    QRS onset or offset dropped. ``lead``: use this lead's marks; ``None``: the median over
    the leads given, QRS marks of different leads being one beat when their peaks lie within
    100 ms. ``t_end`` is the offset of the T wave before the next QRS (-1 if not annotated)."""
    ann = annotations if lead is None else annotations[annotations["lead"] == lead]
    if ann.empty:
        raise ValueError(f"no annotations for lead {lead!r}")
    qrs = ann[ann["wave"] == "QRS"].sort_values("peak")
    # Group QRS marks of all leads into beats: a new beat where the peak jumps by > 100 ms.
    gap = round(0.1 * annotation_fs)
    beat = np.concatenate([[0], np.cumsum(np.diff(qrs["peak"].to_numpy()) > gap)])
    t_waves = ann[ann["wave"] == "T"]

    def med(values: pd.Series) -> int:
        v = values[values >= 0]
        return int(round(float(v.median()))) if len(v) else -1

    groups = [g for _, g in qrs.groupby(beat)]
    peaks = [med(g["peak"]) for g in groups]
    rows = []
    for g, peak, nxt in zip(groups, peaks, peaks[1:] + [np.inf]):
        t = t_waves[(t_waves["peak"] > peak) & (t_waves["peak"] < nxt)]
        rows.append([peak, med(g["onset"]), med(g["offset"]), med(t["offset"])])
    out = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    out = out[(out[:, 1] >= 0) & (out[:, 2] >= 0)]
    scaled = np.where(out >= 0, np.round(out * fs / annotation_fs), -1)
    return pd.DataFrame(scaled.astype(np.int64), columns=list(WINDOW_COLUMNS))


def _mean_areas(signals: np.ndarray, windows: pd.DataFrame, fs, isoelectric, amplitude=False):
    """QRS and T areas ``(k,)`` of ``(k, T)`` signals, mV·ms, averaged over the beats that have
    the window (NaN if none). ``amplitude``: max + min instead of the QRS area, mV."""
    if missing := [c for c in WINDOW_COLUMNS if c not in windows.columns]:
        raise ValueError(f"windows lack column(s) {missing}; expected {list(WINDOW_COLUMNS)}")
    dt_ms = 1000.0 / fs
    k, n = signals.shape

    def area(a: int, b: int, iso: np.ndarray, amplitude: bool = False) -> np.ndarray:
        if not 0 <= a < b < n:
            return np.full(k, np.nan)
        seg = signals[:, a : b + 1] - iso[:, None]
        return seg.max(1) + seg.min(1) if amplitude else seg.sum(1) * dt_ms

    qrs, t = [], []
    for onset, offset, t_end in windows[["qrs_onset", "qrs_offset", "t_end"]].to_numpy(int):
        iso = _isoelectric(signals, onset, fs) if isoelectric and onset >= 0 else np.zeros(k)
        qrs.append(area(onset, offset, iso, amplitude))
        t.append(area(offset, t_end, iso))
    return tuple(_nanmean_rows(np.asarray(rows).reshape(-1, k)) for rows in (qrs, t))


def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(a).any(axis=1)
    return a[ok].mean(axis=0) if ok.any() else np.full(a.shape[1], np.nan)


def mean_vectors(
    vcg: np.ndarray, windows: pd.DataFrame, fs: float = 500.0, *, isoelectric: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    r"""The mean QRS and T area vectors ``(qrs_vec, t_vec)``, each ``(3,)`` X, Y, Z in mV·ms, of a
    VCG ``(3, T)`` (band-pass it first, e.g. 0.5-40 Hz; an ECG ``(12, T)`` is converted by inverse
    Dower), averaged over a beat-window table:
    :math:`A_{QRS} = \sum_{\text{onset}}^{\text{offset}} (VCG(t) - VCG_{iso})\,\Delta t`, and
    :math:`A_T` likewise from QRS offset to T end (:math:`\Delta t = 1000/f_s` ms,
    :math:`VCG_{iso}` the mean over the 20 ms before QRS onset, 0 with ``isoelectric=False``);
    beats whose window is missing (-1) are skipped (NaN if no beat has the window)."""
    return _mean_areas(_as_vcg(vcg), windows, fs, isoelectric)


def frontal_axis(vcg: np.ndarray, windows: pd.DataFrame, fs: float = 500.0) -> float:
    """Frontal QRS axis in degrees, ``atan2(A_Y, A_X)`` of the mean QRS area vector
    (:func:`mean_vectors`), in (-180, 180]. Clinical convention: 0° = lead I's direction
    (patient's left), +90° = feet (aVF), negative = superior, +-180° = right."""
    qrs, _ = mean_vectors(vcg, windows, fs)
    return float(np.degrees(np.arctan2(qrs[1], qrs[0])))


def frontal_axis_from_leads(
    ecg: np.ndarray,
    windows: pd.DataFrame,
    fs: float = 500.0,
    measure: Literal["area", "amplitude"] = "area",
) -> float:
    r"""Frontal QRS axis in degrees from the net QRS of leads I and aVF (bedside method) of an ECG
    ``(12, T)`` (band-pass it first). A frontal dipole of size :math:`M` at angle :math:`\theta`
    gives :math:`I = M\cos\theta` and :math:`aVF = II - I/2 = \tfrac{\sqrt3}{2} M \sin\theta`, so
    :math:`\theta = \operatorname{atan2}(2\,aVF/\sqrt3,\ I)`, with the net QRS of each lead
    (isoelectric level subtracted) averaged over beats: its ``"area"`` (mV·ms) or ``"amplitude"``,
    the highest plus the lowest value (R height minus Q/S depth, read by eye)."""
    check_ecg(ecg)
    check_choice("measure", measure, ("area", "amplitude"))
    leads = np.asarray(ecg, dtype=np.float64)[[0, 5]]  # I, aVF
    (net_i, net_avf), _ = _mean_areas(leads, windows, fs, True, measure == "amplitude")
    return float(np.degrees(np.arctan2(2.0 * net_avf / np.sqrt(3.0), net_i)))


def axis_category(deg: float | np.ndarray) -> str | np.ndarray:
    """LUDB's axis class of frontal axes (degrees, wrapped to (-180, 180]), vectorised: a ``str``
    for a scalar, else an object array of the same shape; NaN gives ``""``. Bins
    (:data:`AXIS_EDGES_DEG`): left axis deviation ``-90 <= deg < 0``, horizontal ``0 <= deg < 30``,
    normal ``30 <= deg < 70``, vertical ``70 <= deg <= 90``, right axis deviation ``deg > 90`` and
    also the superior-right quadrant (``-180 < deg < -90``, "northwest" or extreme axis), for which
    LUDB has no class."""
    a = np.asarray(deg, dtype=np.float64)
    wrapped = -(np.mod(-a + 180.0, 360.0) - 180.0)  # (-180, 180]
    e0, e1, e2, e3 = AXIS_EDGES_DEG
    bins = [wrapped < -90.0, wrapped < e0, wrapped < e1, wrapped < e2, wrapped <= e3]
    index = np.select(bins, [4, 0, 1, 2, 3], default=4)
    names = np.asarray(AXIS_CATEGORIES + ("",), dtype=object)
    out = names[np.where(np.isnan(a), 5, index)]
    return str(out) if a.ndim == 0 else out


def spatial_qrs_t_angle(qrs_vec: np.ndarray, t_vec: np.ndarray) -> float:
    r"""3-D angle between the mean QRS and T vectors, degrees in [0, 180]: :math:`\arccos`
    of their normalised dot product, computed as :math:`\operatorname{atan2}(|q \times t|,
    q\cdot t)` for accuracy near 0° and 180°."""
    q = np.asarray(qrs_vec, dtype=np.float64).reshape(3)
    t = np.asarray(t_vec, dtype=np.float64).reshape(3)
    return float(np.degrees(np.arctan2(np.linalg.norm(np.cross(q, t)), q @ t)))


def frank_agreement(
    ecg: np.ndarray,
    frank: np.ndarray,
    fs: float,
    methods: Iterable[Method] = ("dower", "kors"),
    band: tuple[float, float] = (0.5, 40.0),
) -> pd.DataFrame:
    """How well each 12-lead -> VCG matrix reproduces measured Frank leads ``(3, T)`` (PTB:
    ``records.aux["frank"][i]``) from the ECG ``(12, T)``, mV, both through the zero-phase
    band-pass ``band``: one row per method and axis (X, Y, Z) with the Pearson ``r`` and the
    RMS error ``rmse_mv``."""
    check_ecg(ecg)
    frank = np.asarray(frank, dtype=np.float64)
    if frank.shape != (3, np.shape(ecg)[-1]):
        raise ValueError(f"frank must be (3, {np.shape(ecg)[-1]}), got {frank.shape}")
    measured = _filtered(frank, fs, band)
    rows = []
    for method in methods:
        rec = _filtered(_as_vcg(ecg, method), fs, band)
        for k, axis in enumerate("XYZ"):
            r = float(np.corrcoef(rec[k], measured[k])[0, 1])
            rmse = float(np.sqrt(np.mean((rec[k] - measured[k]) ** 2)))
            rows.append({"method": method, "axis": axis, "r": r, "rmse_mv": rmse})
    return pd.DataFrame(rows)


def ludb_axis_agreement(
    records: ECGRecords,
    windows: Sequence[pd.DataFrame],
    method: Method | Literal["leads"] = "kors",
    *,
    measure: Literal["area", "amplitude"] = "area",
) -> tuple[float, pd.DataFrame]:
    """Computed frontal-axis class vs LUDB's annotated class (:func:`threekg_lite.data.load_ludb`)
    over the records with exactly one axis label: ``(agreement_rate, confusion)``, the latter counts
    with LUDB's classes as rows (``ludb``), the computed as columns. Each record is band-passed to
    0.5-40 Hz; its axis is :func:`frontal_axis` of the VCG by ``method`` over its beat-window table
    (``windows[i]``, at ``records.fs``) or, with ``method="leads"``, :func:`frontal_axis_from_leads`
    (``measure``). The VCG's frontal plane is not the limb leads' hexaxial frame (Kors' X draws on
    V6 as much as on lead I, inverse Dower's Y mostly on lead II), so the two differ by tens of
    degrees in some records; LUDB's cardiologists read the limb leads: ``"leads"`` agrees better."""
    if len(windows) != len(records):
        raise ValueError(f"{len(windows)} window tables for {len(records)} records")
    labels = records.labels["axis"]
    truth, computed = [], []
    for i in range(len(records)):
        if labels.y[i].sum() != 1:
            continue
        ecg = bandpass(records.signals[i], records.fs, *SIGNAL_BAND_HZ).astype(np.float64)
        if method == "leads":
            deg = frontal_axis_from_leads(ecg, windows[i], records.fs, measure)
        else:
            deg = frontal_axis(_as_vcg(ecg, method), windows[i], records.fs)
        truth.append(labels.names[int(np.argmax(labels.y[i]))])
        computed.append(axis_category(deg))
    if not truth:
        raise ValueError("no record with exactly one axis label")
    rows, cols = (pd.Categorical(v, categories=AXIS_CATEGORIES) for v in (truth, computed))
    confusion = pd.crosstab(rows, cols, rownames=["ludb"], colnames=["computed"], dropna=False)
    rate = float(np.mean(np.asarray(truth, dtype=object) == np.asarray(computed, dtype=object)))
    return rate, confusion


def dipole_energy_fraction(ecg: np.ndarray, method: Method = "dower") -> np.ndarray:
    """Share of the signal energy of the eight independent leads (I, II, V1-V6) of an ECG
    ``(..., 12, T)`` that the dipole explains: ``(...)``, ``1 - |x - Px|^2 / |x|^2`` over
    those leads and time, in [0, 1] for the orthogonal projection (``method="dower"``).
    Band-pass first: baseline wander inflates both terms."""
    check_ecg(ecg)
    idx = list(INDEPENDENT_INDEX)
    x = np.asarray(ecg, dtype=np.float64)[..., idx, :]
    residual = x - np.asarray(project_to_dipole(np.asarray(ecg, np.float64), method))[..., idx, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - np.sum(residual**2, axis=(-2, -1)) / np.sum(x**2, axis=(-2, -1))
