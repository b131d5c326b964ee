"""Reading WFDB records fast and safely. The 12-lead databases store samples in WFDB *format 16*
(int16, leads interleaved; CinC ``.mat`` files after a 24-byte MATLAB v4 header, ``16+24``), read
here by ``np.fromfile`` after a header parsed with string splits; other formats fall back to
``wfdb.rdrecord``, which parses headers with pandas: 3.2 ms a PTB-XL record against 0.4 ms here
(the tests compare both on every record of the shared data). Whatever a damaged or unusual file
would get wrong (missing or truncated data, a header that disagrees with it, unknown, missing or
too few leads, and on request NaN or flat-line leads) is an ``ECGFormatError`` naming the file.

Header syntax (PhysioNet's ``header(5)``): a record line ``name n_sig [fs[/counter]
[n_samples ...]]`` and per signal ``file format[xSPF][:skew][+offset] [gain[(baseline)][/units]
[adc_res [adc_zero [init [checksum [block_size [description]]]]]]]``. A physical value is
``(digital - baseline) / gain``, baseline defaulting to ``adc_zero`` and gain 0 meaning 200
per mV; -32768 marks a missing sample in format 16.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from threekg_lite.data.lead_names import FRANK_LEADS, lead_order
from threekg_lite.data.paths import PathLike
from threekg_lite.leads import LEAD_NAMES
from threekg_lite.runtime.errors import ECGFormatError

WFDB_NAN_16 = -32768
DEFAULT_GAIN = 200.0

_SIGNAL_FORMAT = re.compile(
    r"^(?P<fmt>\d+)(?:x(?P<spf>\d+))?(?::(?P<skew>\d+))?(?:\+(?P<offset>\d+))?$"
)
_GAIN = re.compile(r"^(?P<gain>[-+\d.eE]+)(?:\((?P<baseline>[-+\d]+)\))?(?:/(?P<units>.+))?$")


class SignalSpec(NamedTuple):
    """One signal line of a header; ``simple``: one sample per frame and no skew."""

    file_name: str
    fmt: int
    byte_offset: int
    gain: float
    baseline: int
    units: str
    name: str
    simple: bool = True


@dataclass(frozen=True)
class Header:
    """A parsed WFDB header (single-segment records only)."""

    path: Path
    record_name: str
    n_sig: int
    fs: float
    n_samples: int | None
    signals: tuple[SignalSpec, ...]
    comments: tuple[str, ...] = ()

    @property
    def sig_names(self) -> list[str]:
        return [s.name for s in self.signals]

    @property
    def fast_path(self) -> bool:
        """Every signal is plain format 16, which ``np.fromfile`` reads."""
        return all(s.fmt == 16 and s.simple for s in self.signals)


def parse_header(record: PathLike) -> Header:
    """Parse the ``.hea`` file of a record (path with or without ``.hea``), also in the older
    CinC 2020 form (Georgia ``E*``) whose record line names the ``.mat`` file instead of the
    record, which ``wfdb.rdrecord`` rejects. Multi-segment records are an error."""
    name = os.fspath(record)
    path = Path(name if name.endswith(".hea") else name + ".hea")
    try:
        lines = path.read_bytes().decode("latin-1").splitlines()
    except FileNotFoundError:
        raise ECGFormatError(path, "header file not found") from None
    comments = tuple(ln.lstrip("#").strip() for ln in lines if ln.lstrip().startswith("#"))
    body = [ln.split() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        raise ECGFormatError(path, "empty header (no record line)")
    rec, *sig_lines = body
    if len(rec) < 2:
        raise ECGFormatError(path, f"record line {' '.join(rec)!r} has no signal count")
    if "/" in rec[0]:
        raise ECGFormatError(path, "multi-segment records are not supported")
    record_name = rec[0].removesuffix(".mat")
    try:
        n_sig = int(rec[1])
        fs = float(rec[2].split("/")[0]) if len(rec) > 2 else 250.0
        n_samples = int(rec[3]) if len(rec) > 3 else None
    except ValueError:
        raise ECGFormatError(path, f"malformed record line {' '.join(rec)!r}") from None
    if len(sig_lines) != n_sig:
        raise ECGFormatError(
            path, f"record line declares {n_sig} signals but {len(sig_lines)} signal lines follow"
        )
    specs = []
    for i, f in enumerate(sig_lines):
        if len(f) < 2:
            raise ECGFormatError(path, f"signal line {i + 1} has no storage format")
        gain, adc_zero = (f[k] if len(f) > k else None for k in (2, 4))
        try:
            rest = _signal_fields(f[1], gain, adc_zero, " ".join(f[8:]) or f"sig{i}")
        except ValueError as e:
            raise ECGFormatError(path, f"signal line {i + 1}: {e}") from None
        specs.append(SignalSpec(f[0], *rest))
    return Header(path, record_name, n_sig, fs, n_samples, tuple(specs), comments)


@functools.lru_cache(maxsize=4096)
def _signal_fields(fmt: str, gain: str | None, adc_zero: str | None, name: str) -> tuple:
    """The :class:`SignalSpec` fields after ``file_name``, from a signal line's format, gain
    and ADC zero fields and its description; ``ValueError`` saying which is unreadable.
    Cached: signal lines repeat across a database but for the file name."""
    m = _SIGNAL_FORMAT.match(fmt)
    if m is None:
        raise ValueError(f"unreadable format {fmt!r}")
    simple = int(m["spf"] or 1) == 1 and int(m["skew"] or 0) == 0
    value, baseline, units = DEFAULT_GAIN, None, "mV"
    if gain is not None:
        g = _GAIN.match(gain)
        try:
            value = float(g["gain"]) or DEFAULT_GAIN
            baseline = None if g["baseline"] is None else int(g["baseline"])
        except (TypeError, ValueError):  # TypeError: g is None, no match at all
            raise ValueError(f"unreadable gain {gain!r}") from None
        units = g["units"] or "mV"
    try:
        zero = int(adc_zero or 0)
    except ValueError:
        raise ValueError(f"unreadable ADC zero {adc_zero!r}") from None
    baseline = zero if baseline is None else baseline
    return int(m["fmt"]), int(m["offset"] or 0), value, baseline, units, name, simple


_MV_PER_UNIT = {"mv": 1.0, "": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}


def _mv_per_unit(sig: SignalSpec, header: Header) -> float:
    units = sig.units.strip().lower()
    if units not in _MV_PER_UNIT:
        raise ECGFormatError(header.path, f"signal {sig.name!r}: unsupported units {sig.units!r}")
    return _MV_PER_UNIT[units]


def read_signals(header: Header) -> np.ndarray:
    """All signals of a record, ``(n_sig, T)`` float32 mV."""
    if not header.fast_path:
        return _read_with_wfdb(header)
    folder = os.path.dirname(header.path)  # plain strings: pathlib costs add up per record
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(header.signals):
        groups.setdefault(s.file_name, []).append(i)
    n_samples = header.n_samples
    out: np.ndarray | None = None
    for file_name, idx in groups.items():
        fpath = os.path.join(folder, file_name)
        offset = header.signals[idx[0]].byte_offset
        try:
            size = os.stat(fpath).st_size
        except FileNotFoundError:
            problem = f"signal file named in {header.path.name} is missing"
            raise ECGFormatError(fpath, problem) from None
        n_in_file = len(idx)
        frame = 2 * n_in_file
        available = size - offset
        if n_samples is None:
            if available % frame:
                problem = f"size {size} B is not whole frames of {n_in_file} leads"
                raise ECGFormatError(fpath, problem)
            n_samples = available // frame
        expected = n_samples * frame
        if available < expected:
            raise ECGFormatError(
                fpath,
                f"truncated: {size} B on disk, but {header.path.name} promises {n_samples} samples "
                f"x {n_in_file} signals x 2 B + {offset} B offset = {expected + offset} B",
            )
        if available > expected:
            raise ECGFormatError(
                fpath,
                f"{size} B on disk holds {available // frame} samples per signal, but "
                f"{header.path.name} says {n_samples}: header and data disagree",
            )
        if file_name.endswith(".mat") and offset >= 20:  # a MATLAB v4 matrix: check its shape
            head = np.fromfile(fpath, dtype="<i4", count=5)
            if head.size < 5:
                raise ECGFormatError(fpath, "truncated MATLAB header")
            if (head[1], head[2]) != (n_in_file, n_samples):
                raise ECGFormatError(
                    fpath,
                    f"MATLAB matrix is {head[1]} x {head[2]} but the header describes "
                    f"{n_in_file} signals x {n_samples} samples",
                )
        digital = np.fromfile(fpath, dtype="<i2", count=n_samples * n_in_file, offset=offset)
        digital = digital.reshape(n_samples, n_in_file)  # (T, n_in_file), as stored
        specs = [header.signals[i] for i in idx]
        scale = np.array([_mv_per_unit(s, header) / s.gain for s in specs], dtype=np.float32)
        base = np.array([s.baseline for s in specs], dtype=np.float32)
        # Transpose while converting; per-lead arithmetic then runs along the long,
        # contiguous time axis (broadcasting along the 12-lead axis is several times slower).
        phys = digital.T.astype(np.float32, order="C")  # (n_in_file, T), C-contiguous
        if base.any():
            phys -= base[:, None]
        phys *= scale[:, None]
        if (digital == WFDB_NAN_16).any():
            phys[digital.T == WFDB_NAN_16] = np.nan
        if len(groups) == 1:  # all signals in one file
            return phys
        if out is None:
            out = np.empty((header.n_sig, n_samples), dtype=np.float32)
        out[idx] = phys
    assert out is not None
    return out


def _read_with_wfdb(header: Header) -> np.ndarray:
    import wfdb

    try:
        rec = wfdb.rdrecord(str(header.path.with_suffix("")), physical=True)
    except Exception as e:  # wfdb raises many types; name the file
        raise ECGFormatError(header.path, f"wfdb could not read the record: {e}") from e
    scale = np.array([_mv_per_unit(s, header) for s in header.signals], dtype=np.float32)
    return rec.p_signal.T.astype(np.float32) * scale[:, None]


BadLeadPolicy = Literal["raise", "report", "ignore"]


@functools.lru_cache(maxsize=256)
def _layout(names: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[tuple[str, int], ...]]:
    """Rows of the 12 leads in standard order, and ``(name, row)`` of the other signals
    (cached: the headers of one database name their signals alike)."""
    ecg_idx = [i for i, n in enumerate(names) if n.strip().lower() not in FRANK_LEADS]
    try:
        order = lead_order([names[i] for i in ecg_idx])
    except ValueError as e:
        raise ValueError(str(e).split(": ", 1)[-1]) from None
    extra = tuple((names[i].strip().lower(), i) for i in range(len(names)) if i not in ecg_idx)
    return tuple(ecg_idx[j] for j in order), extra


def bad_leads(signals: np.ndarray, names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Leads of ``(n_leads, T)`` signals that hold NaN or are flat, as ``{lead: problem}``."""
    problems: dict[str, str] = {}
    if not signals.shape[-1]:
        return problems
    # max - min is NaN for a lead holding NaN, and 0 for a flat one: two passes find both.
    # (np.nanmax would warn "All-NaN slice" on a lead that is entirely missing.)
    span = signals.max(axis=-1) - signals.min(axis=-1)
    for i in np.flatnonzero(~(span > 0)):
        n_nan = int(np.isnan(signals[i]).sum())
        flat = f"flat line at {float(signals[i, 0]):.3f} mV"
        problems[names[i]] = f"{n_nan} NaN sample(s)" if n_nan else flat
    return problems


@dataclass
class ECGRecord:
    """One 12-lead record read from disk: ``signals`` ``(12, T)`` float32 mV in standard lead
    order, ``fs`` (Hz) of the file, its parsed ``header`` (comments hold labels in CinC and LUDB
    files), ``extra`` the measured Frank leads ``vx, vy, vz`` ``(T,)`` where the record has them
    (PTB), and ``problems`` the NaN or flat-line leads found."""

    signals: np.ndarray
    fs: float
    header: Header
    extra: dict[str, np.ndarray]
    problems: dict[str, str]


def read_ecg(
    record: PathLike, *, expected_fs: float | None = None, on_bad_lead: BadLeadPolicy = "raise"
) -> ECGRecord:
    """Read one 12-lead record (path without extension, or the ``.hea`` path). ``expected_fs``:
    a record at another rate is an error (resample explicitly instead); ``on_bad_lead``: NaN or
    flat-line leads are an error (``"raise"``), listed in ``problems`` (``"report"``) or not
    even checked (``"ignore"``)."""
    header = parse_header(record)
    if expected_fs is not None and abs(header.fs - expected_fs) > 1e-6:
        raise ECGFormatError(
            header.path,
            f"sampling rate {header.fs:g} Hz, expected {expected_fs:g} Hz; "
            "resample it (fs=... in the loaders) or load the matching folder",
        )
    try:
        rows, extra_rows = _layout(tuple(header.sig_names))
    except ValueError as e:
        raise ECGFormatError(header.path, str(e)) from None
    raw = read_signals(header)
    # usually the 12 leads come first, in standard order: a view then, no copy
    signals = raw[:12] if rows == tuple(range(12)) else np.ascontiguousarray(raw[list(rows)])
    extra = {name: raw[i] for name, i in extra_rows}
    problems = {} if on_bad_lead == "ignore" else bad_leads(signals, LEAD_NAMES)
    if problems and on_bad_lead == "raise":
        listed = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise ECGFormatError(
            header.path,
            f"bad lead(s): {listed} (pass on_bad_lead='report' to keep the record and see the "
            "problems, or let the loader drop it)",
        )
    return ECGRecord(signals, header.fs, header, extra, problems)
