"""What every database loader shares: its reading options (:class:`ReadOptions`), whose
:meth:`~ReadOptions.read` reads records into one ``(N, 12, T)`` array, and the choice of records
(:func:`select_records`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from tqdm import tqdm

from threekg_lite.data.paths import PathLike
from threekg_lite.data.preprocess import CropMode, crop_or_pad, resample, sliding_windows
from threekg_lite.data.preprocess import bandpass as bandpass_filter
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.data.wfdb_io import ECGRecord, read_ecg
from threekg_lite.runtime.checks import check_choice
from threekg_lite.runtime.errors import ECGFormatError

log = logging.getLogger(__name__)

V = TypeVar("V")


@dataclass
class ReadResult:
    """What :meth:`ReadOptions.read` read: ``signals`` ``(N_kept, 12, T)`` float32 mV and, per row,
    its record's position among the paths (``kept``), that :class:`ECGRecord` without its 12 leads
    (``records``) and its first sample (``starts``); ``problems``: position -> bad leads."""

    signals: np.ndarray
    kept: list[int] = field(default_factory=list)
    records: list[ECGRecord] = field(default_factory=list)
    problems: dict[int, str] = field(default_factory=dict)
    starts: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ReadOptions:
    """How a loader reads its records: the keyword arguments every loader takes, checked when given
    (before any file is read). ``fs``: Hz, other rates resampled (polyphase). ``duration``: seconds
    per record, longer ones cut (``crop``: ``"start"``, ``"center"`` or ``"random"`` with ``rng``),
    shorter ones zero-padded; ``None`` keeps records whole, which needs them all of one length.
    ``stride``: seconds; every record cut into all windows of ``duration``, one row each
    (``meta["window_start_s"]`` says where). ``bandpass``: ``(low, high)`` Hz, a zero-phase
    Butterworth filter before cutting (an edge ``None``: high- or low-pass only). ``on_bad_lead``:
    records with NaN or flat-line leads are dropped (``"drop"``), kept (``"keep"``) or an error
    naming the file (``"raise"``); dropped and kept ones are listed in ``problems``. ``progress``: a
    progress bar."""

    fs: float
    duration: float | None = None
    crop: CropMode = "start"
    rng: np.random.Generator | None = None
    stride: float | None = None
    bandpass: tuple[float | None, float | None] | None = None
    on_bad_lead: Literal["raise", "drop", "keep"] = "drop"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.stride is not None:
            if self.duration is None:
                raise ValueError("stride needs duration: the length of each window in seconds")
            if round(self.stride * self.fs) < 1:
                raise ValueError(
                    f"stride of {self.stride} s is {self.stride * self.fs:g} samples at "
                    f"{self.fs:g} Hz; it must be positive and at least one sample"
                )
        if self.crop not in ("start", "center", "random"):
            raise ValueError(f"unknown crop mode {self.crop!r}; use 'start', 'center' or 'random'")
        cropping = self.duration is not None and self.stride is None
        if self.crop == "random" and cropping and self.rng is None:
            raise ValueError("crop='random' needs rng (a numpy.random.Generator)")
        check_choice("on_bad_lead", self.on_bad_lead, ("raise", "drop", "keep"))

    def read(self, paths: Sequence[PathLike], desc: str, keep_extra: bool = False) -> ReadResult:
        """Read records (paths without extension); ``keep_extra`` keeps their non-ECG signals
        (PTB's Frank leads), resampled and cut alike."""
        fs = self.fs
        length = None if self.duration is None else int(round(self.duration * fs))
        stride = None if self.stride is None else int(round(self.stride * fs))
        res = ReadResult(np.empty((0, 12, length or 0), np.float32))
        out: list[np.ndarray] = []
        block: np.ndarray | None = None
        for i, path in enumerate(tqdm(paths, desc=desc, unit="rec", disable=not self.progress)):
            rec = read_ecg(path, on_bad_lead="raise" if self.on_bad_lead == "raise" else "report")
            if rec.problems:
                res.problems[i] = "; ".join(f"{k}: {v}" for k, v in rec.problems.items())
                if self.on_bad_lead == "drop":
                    continue
            names = list(rec.extra) if keep_extra else []
            # ECG and extra signals go through resampling and cropping together, as one array.
            sig = np.concatenate([rec.signals, *(rec.extra[k][None] for k in names)])
            if rec.fs != fs:
                sig = resample(sig, rec.fs, fs)
            if self.bandpass is not None:
                sig = bandpass_filter(sig, fs, low=self.bandpass[0], high=self.bandpass[1])
            rec.signals = np.empty((12, 0), np.float32)
            if length is not None and sig.shape[-1] != length:
                if stride is None or sig.shape[-1] < length:  # windows: pad short records only
                    sig = crop_or_pad(sig, length, mode=self.crop, rng=self.rng)
            windows = sig[None] if stride is None else sliding_windows(sig, length, stride)
            for w, window in enumerate(windows):
                # copies, so that the rows kept per record do not hold the whole array alive
                extra = {k: window[12 + j].copy() for j, k in enumerate(names)}
                if stride is None:  # one array for all records, filled in place (no stacking)
                    if block is None:
                        block = np.empty((len(paths), 12, window.shape[-1]), dtype=np.float32)
                    if window.shape[-1] == block.shape[-1]:
                        block[len(out)] = window[:12]
                        window = block[len(out)]
                out.append(window[:12])
                res.kept.append(i)
                res.starts.append(w * (stride or 0))
                res.records.append(replace(rec, extra=extra))
        if res.problems:  # expected of real data; in ECGRecords.problems, shown by its repr
            verb = "dropped" if self.on_bad_lead == "drop" else "kept"
            log.info("%s %d record(s) with NaN or flat-line leads", verb, len(res.problems))
        if block is not None and all(s.base is block for s in out):
            res.signals = block[: len(out)]
        elif out:
            lengths = {s.shape[-1] for s in out}
            if len(lengths) > 1:
                raise ECGFormatError(
                    os.path.commonpath([str(p) for p in paths]),
                    f"records have different lengths {sorted(lengths)[:5]} samples; pass "
                    "duration=... to crop or pad them to one length",
                )
            res.signals = np.stack(out)
        return res

    def records(
        self,
        res: ReadResult,
        source: str,
        names: Sequence[str],
        ids: np.ndarray,
        patients: np.ndarray,
        labels: dict[str, LabelSet],
        meta: pd.DataFrame,
        aux: dict[str, np.ndarray] | None = None,
    ) -> ECGRecords:
        """The loader's result from ``res``: ``names`` are the requested records' names (for
        ``problems``); ``meta`` gains ``window_start_s`` when records were cut into windows."""
        if self.stride is not None:
            meta = meta.assign(window_start_s=np.asarray(res.starts, dtype=float) / self.fs)
        problems = {names[i]: p for i, p in res.problems.items()}
        return ECGRecords(
            res.signals, float(self.fs), ids, patients, labels, meta, source, aux or {}, problems
        )


def select_records(
    wanted: Iterable[Any] | None,
    known: Mapping[Any, V],
    default: Iterable[V],
    where: object,
    what: str = "record(s)",
    arg: str = "records",
) -> list[V]:
    """``default`` when ``wanted`` is ``None``, else ``known[w]`` for each ``w`` of ``wanted``,
    in its order; an empty selection, or names not in ``known`` (listed, up to ten), are a
    ``ValueError``."""
    if wanted is None:
        return list(default)
    wanted = list(wanted)
    if not wanted:
        raise ValueError(f"{arg}=[] selects no record")
    unknown = list(dict.fromkeys(w for w in wanted if w not in known))
    if unknown:
        raise ValueError(f"{what} {unknown[:10]} not in {where}")
    return [known[w] for w in wanted]
