"""Reading many records into one ``(N, 12, T)`` array: the loop every loader shares."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from tqdm import tqdm

from threekg_lite.data.preprocess import (
    CropMode,
    crop_or_pad,
    resample,
    sliding_windows,
)
from threekg_lite.data.preprocess import (
    bandpass as bandpass_filter,
)
from threekg_lite.data.wfdb_io import ECGRecord, read_ecg
from threekg_lite.runtime.errors import ECGFormatError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

OnBadLead = Literal["raise", "drop", "keep"]


@dataclass
class ReadResult:
    """What :func:`read_many` read.

    Attributes
    ----------
    signals
        ``(N_kept, 12, T)`` float32 mV.
    kept
        For each row of ``signals``, the position (into the requested paths) of its record
        (repeated when a record yields several sliding windows).
    records
        For each row, the :class:`ECGRecord` it came from, with its signals dropped to save
        memory (header, comments and that row's extra signals remain).
    starts
        For each row, its first sample within the (resampled) record: the window start with
        ``stride``, else 0.
    problems
        Position -> problem for every record with NaN or flat-line leads (dropped under
        ``on_bad_lead="drop"``, kept under ``"keep"``).
    """

    signals: np.ndarray
    kept: list[int]
    records: list[ECGRecord]
    problems: dict[int, str] = field(default_factory=dict)
    starts: list[int] = field(default_factory=list)


def read_many(
    paths: Sequence[str | os.PathLike[str]],
    *,
    fs: float | None = None,
    length: int | None = None,
    crop: CropMode = "start",
    rng: np.random.Generator | None = None,
    on_bad_lead: OnBadLead = "drop",
    bandpass: tuple[float | None, float | None] | None = None,
    stride: int | None = None,
    keep_extra: bool = False,
    progress: bool = True,
    desc: str = "reading records",
) -> ReadResult:
    """Read records into one array, resampled to ``fs`` and cut or padded to ``length``.

    Parameters
    ----------
    paths
        Record paths (without extension).
    fs
        Target sampling rate in Hz; ``None`` keeps the files' rate, which must then be the same
        for every record.
    length
        Samples per record at the target rate; ``None`` requires all records to have the same
        length (an error lists the lengths found otherwise).
    crop
        How longer records are cut (see :func:`~threekg_lite.data.preprocess.crop_or_pad`).
    on_bad_lead
        Records with NaN or flat-line leads: ``"raise"`` (error naming the file and leads),
        ``"drop"`` (left out), or ``"keep"``; dropped and kept ones are listed in
        :attr:`ReadResult.problems` and logged.
    bandpass
        ``(low, high)`` cut-offs in Hz of a zero-phase Butterworth filter applied to the whole
        record after resampling and before cutting (``None`` for either edge: high- or
        low-pass only); ``None``: no filter.
    stride
        With ``length``: cut every record into all windows of ``length`` samples starting
        ``stride`` samples apart (a record shorter than one window is padded to one); each
        window becomes a row. ``crop`` is then unused.
    keep_extra
        Keep the non-ECG signals of each record (e.g. PTB's Frank leads), resampled alike.
    """
    if stride is not None and (length is None or stride <= 0):
        raise ValueError(f"stride={stride} needs a positive stride and a window length")
    if crop not in ("start", "center", "random"):
        raise ValueError(f"unknown crop mode {crop!r}; use 'start', 'center' or 'random'")
    if crop == "random" and length is not None and stride is None and rng is None:
        raise ValueError("crop='random' needs rng (a numpy.random.Generator)")
    if on_bad_lead not in ("raise", "drop", "keep"):
        raise ValueError(f"on_bad_lead must be 'raise', 'drop' or 'keep', got {on_bad_lead!r}")
    policy = "raise" if on_bad_lead == "raise" else "report"
    out: list[np.ndarray] = []
    kept: list[int] = []
    records: list[ECGRecord] = []
    problems: dict[int, str] = {}
    starts: list[int] = []
    rates: set[float] = set()
    block: np.ndarray | None = None
    for i, path in enumerate(tqdm(paths, desc=desc, unit="rec", disable=not progress)):
        rec = read_ecg(path, on_bad_lead=policy)
        if rec.problems:
            problems[i] = "; ".join(f"{k}: {v}" for k, v in rec.problems.items())
            if on_bad_lead == "drop":
                continue
        rates.add(rec.fs)
        names = list(rec.extra) if keep_extra else []
        # ECG and extra signals go through resampling and cropping together, as one array.
        if names:
            sig = np.concatenate([rec.signals] + [rec.extra[k][None] for k in names])
        else:
            sig = rec.signals
        if fs is not None and rec.fs != fs:
            sig = resample(sig, rec.fs, fs)
        if bandpass is not None:
            sig = bandpass_filter(sig, fs or rec.fs, low=bandpass[0], high=bandpass[1])
        rec.signals = np.empty((12, 0), np.float32)
        if stride is not None and length is not None:
            if sig.shape[-1] < length:
                sig = crop_or_pad(sig, length)
            for w, window in enumerate(sliding_windows(sig, length, stride)):
                out.append(window[:12])
                kept.append(i)
                starts.append(w * stride)
                extra = {k: window[12 + j].copy() for j, k in enumerate(names)}
                records.append(dataclasses.replace(rec, extra=extra))
            continue
        if length is not None and sig.shape[-1] != length:
            sig = crop_or_pad(sig, length, mode=crop, rng=rng)
        # copies, so that the rows kept per record do not hold the whole array alive
        rec.extra = {k: sig[12 + j].copy() for j, k in enumerate(names)}
        if block is None:  # one array for all records, filled in place (no stacking copy)
            block = np.empty((len(paths), 12, sig.shape[-1]), dtype=np.float32)
        if sig.shape[-1] == block.shape[-1]:
            block[len(out)] = sig[:12]
            sig = block[len(out)]
        out.append(sig[:12])
        kept.append(i)
        starts.append(0)
        records.append(rec)
    if problems:  # expected of real data; listed in ECGRecords.problems and shown by its repr
        verb = "dropped" if on_bad_lead == "drop" else "kept"
        log.info("%s %d record(s) with NaN or flat-line leads", verb, len(problems))
    if fs is None and len(rates) > 1:
        raise ECGFormatError(
            os.path.commonpath([str(p) for p in paths]),
            f"records have different sampling rates {sorted(rates)}; pass fs=... to resample",
        )
    if not out:
        return ReadResult(
            np.empty((0, 12, length or 0), np.float32), kept, records, problems, starts
        )
    if stride is None and block is not None and all(s.base is block for s in out):
        return ReadResult(block[: len(out)], kept, records, problems, starts)
    lengths = {s.shape[-1] for s in out}
    if len(lengths) > 1:
        raise ECGFormatError(
            os.path.commonpath([str(p) for p in paths]),
            f"records have different lengths {sorted(lengths)[:5]} samples; pass length=... "
            "(or duration=... to a loader) to crop or pad them to one length",
        )
    return ReadResult(np.stack(out), kept, records, problems, starts)


def window_stride(stride_s: float | None, duration_s: float | None, fs: float) -> int | None:
    """A loader's ``stride`` (seconds) in samples; it needs ``duration`` (the window length)."""
    if stride_s is None:
        return None
    if duration_s is None:
        raise ValueError("stride needs duration: the length of each window in seconds")
    samples = int(round(stride_s * fs))
    if samples < 1:
        raise ValueError(
            f"stride of {stride_s} s is {stride_s * fs:g} samples at {fs:g} Hz; "
            "it must be positive and at least one sample"
        )
    return samples


def window_meta(
    meta: pd.DataFrame, res: ReadResult, fs: float, stride: float | None
) -> pd.DataFrame:
    """Add ``window_start_s`` to a loader's meta table when records were cut into windows."""
    if stride is not None:
        meta = meta.copy()
        meta["window_start_s"] = np.asarray(res.starts, dtype=float) / fs
    return meta


def read_records(
    paths: Sequence[str | os.PathLike[str]],
    *,
    fs: float,
    duration: float | None = None,
    crop: CropMode = "start",
    rng: np.random.Generator | None = None,
    stride: float | None = None,
    bandpass: tuple[float | None, float | None] | None = None,
    on_bad_lead: OnBadLead = "drop",
    progress: bool = True,
    keep_extra: bool = False,
    desc: str = "reading records",
) -> ReadResult:
    """:func:`read_many` with times in seconds: what every database loader calls.

    The loaders (``load_ptbxl``, ``load_cinc``, ``load_ludb``, ``load_ptbdb``) share these
    parameters, documented here once:

    Parameters
    ----------
    fs
        Target sampling rate in Hz; records at other rates are resampled (polyphase filter).
    duration
        Seconds per record: longer records are cut (``crop``), shorter ones zero-padded at
        the end. ``None`` keeps records whole, which works only when all have one length.
    crop
        Which part of a longer record to keep: ``"start"``, ``"center"`` or ``"random"``
        (offsets drawn from ``rng``, a ``numpy.random.Generator``).
    stride
        With ``duration``: cut each record into all windows of ``duration`` seconds starting
        ``stride`` seconds apart, one row per window (ids and labels repeated;
        ``meta["window_start_s"]`` says where each starts). Default: one crop per record.
    bandpass
        ``(low, high)`` in Hz: zero-phase Butterworth band-pass of each whole record before
        cutting (either edge ``None``: high- or low-pass only). Default: no filter.
    on_bad_lead
        Records with NaN or flat-line leads: ``"drop"`` (default), ``"raise"`` (an error
        naming the file and leads) or ``"keep"``; dropped and kept ones are listed in the
        result's ``problems``.
    progress
        Show a progress bar.
    """
    return read_many(
        paths,
        fs=fs,
        length=None if duration is None else int(round(duration * fs)),
        crop=crop,
        rng=rng,
        on_bad_lead=on_bad_lead,
        bandpass=bandpass,
        stride=window_stride(stride, duration, fs),
        keep_extra=keep_extra,
        progress=progress,
        desc=desc,
    )
