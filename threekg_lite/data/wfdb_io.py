"""Reading WFDB records fast and safely.

``wfdb.rdrecord`` is the reference reader, but it spends most of its time (about 6 ms of a
6.2 ms read of a 12 x 5000 record) parsing the header with pandas; the samples themselves
take 0.07 ms with ``np.fromfile`` (``../shared/reference/performance.md``). Every 12-lead
database used here stores its samples in WFDB *format 16* (little-endian int16, leads
interleaved), optionally after a byte offset (``16+24``: the CinC ``.mat`` files, whose
MATLAB v4 header is 24 bytes long). For those, :func:`read_record` parses the header with a
few string splits and reads the samples with ``np.fromfile``; any other storage format goes
through ``wfdb.rdrecord``. The tests check both paths against ``wfdb.rdrecord`` on every
record of the shared data.

Before returning anything, the reader checks what a damaged or unusual file would get wrong
and raises :class:`~threekg_lite.runtime.errors.ECGFormatError` naming the file: a missing or
truncated signal file, a header whose sample or lead count disagrees with the data, unknown
or missing lead names, fewer than 12 leads, and (on request) NaN or flat-line leads.

Header syntax (PhysioNet's ``header(5)``)::

    record line:  name[/segments] n_sig [fs[/counter_fs[(base)]] [n_samples [time [date]]]]
    signal line:  file format[xSPF][:skew][+offset] [gain[(baseline)][/units] [adc_res
                  [adc_zero [init_value [checksum [block_size [description]]]]]]]
    comment:      # free text (labels in PTB-XL-derived and CinC headers)

A physical value is ``(digital - baseline) / gain``; baseline defaults to ``adc_zero`` and a
gain of 0 means the WFDB default of 200 units per mV. In format 16 the digital value -32768
marks a missing sample (NaN).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from threekg_lite.data.lead_names import FRANK_LEADS, lead_order
from threekg_lite.leads import LEAD_NAMES
from threekg_lite.runtime.errors import ECGFormatError

WFDB_NAN_16 = -32768
DEFAULT_GAIN = 200.0

_SIGNAL_FORMAT = re.compile(
    r"^(?P<fmt>\d+)(?:x(?P<spf>\d+))?(?::(?P<skew>\d+))?(?:\+(?P<offset>\d+))?$"
)
_GAIN = re.compile(r"^(?P<gain>[-+\d.eE]+)(?:\((?P<baseline>[-+\d]+)\))?(?:/(?P<units>.+))?$")


class SignalSpec(NamedTuple):
    """One signal line of a header."""

    file_name: str
    fmt: int
    byte_offset: int
    gain: float
    baseline: int
    units: str
    name: str
    simple: bool = True
    """One sample per frame and no skew: what the ``np.fromfile`` path reads."""


@dataclass(frozen=True)
class Header:
    """A parsed WFDB header (single-segment records only)."""

    path: Path
    record_name: str
    n_sig: int
    fs: float
    n_samples: int | None
    signals: tuple[SignalSpec, ...]
    comments: tuple[str, ...] = field(default=())

    @property
    def sig_names(self) -> list[str]:
        return [s.name for s in self.signals]

    @property
    def fast_path(self) -> bool:
        """True when every signal is plain format 16 (one sample per frame, no skew), which
        ``np.fromfile`` reads; anything else goes through ``wfdb.rdrecord``."""
        return all(s.fmt == 16 and s.simple for s in self.signals)


def _header_path(record: str | os.PathLike[str]) -> Path:
    name = os.fspath(record)
    return Path(name if name.endswith(".hea") else name + ".hea")


def parse_header(record: str | os.PathLike[str]) -> Header:
    """Parse the ``.hea`` file of a record (path with or without ``.hea``).

    Tolerates the older CinC 2020 form (Georgia ``E*`` records) whose record line names the
    ``.mat`` file instead of the record, which ``wfdb.rdrecord`` rejects.

    Raises
    ------
    ECGFormatError
        Missing file, multi-segment record, malformed lines, or a lead count that disagrees
        with the number of signal lines.
    """
    path = _header_path(record)
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("latin-1")
    except FileNotFoundError:
        raise ECGFormatError(path, "header file not found") from None
    lines = text.splitlines()
    comments = tuple(ln.lstrip("#").strip() for ln in lines if ln.lstrip().startswith("#"))
    body = [ln.split() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        raise ECGFormatError(path, "empty header (no record line)")
    rec = body[0]
    if len(rec) < 2:
        raise ECGFormatError(path, f"record line {' '.join(rec)!r} has no signal count")
    if "/" in rec[0]:
        raise ECGFormatError(path, "multi-segment records are not supported")
    record_name = rec[0][:-4] if rec[0].endswith(".mat") else rec[0]
    try:
        n_sig = int(rec[1])
        fs = float(rec[2].split("/")[0]) if len(rec) > 2 else 250.0
        n_samples = int(rec[3]) if len(rec) > 3 else None
    except ValueError:
        raise ECGFormatError(path, f"malformed record line {' '.join(rec)!r}") from None
    sig_lines = body[1:]
    if len(sig_lines) != n_sig:
        raise ECGFormatError(
            path, f"record line declares {n_sig} signals but {len(sig_lines)} signal lines follow"
        )
    specs = []
    for i, f in enumerate(sig_lines):
        spec = None
        if len(f) > 8:  # the usual complete line: parse each distinct form once
            rest = _cached_spec(f[1], f[2], f[4], tuple(f[8:]))
            if rest is not None:
                spec = SignalSpec(f[0], *rest)
        specs.append(spec if spec is not None else _parse_signal_line(path, i, f))
    signals = tuple(specs)
    return Header(path, record_name, n_sig, fs, n_samples, signals, comments)


def _parse_signal_line(path: Path, index: int, fields: list[str]) -> SignalSpec:
    if len(fields) < 2:
        raise ECGFormatError(path, f"signal line {index + 1} has no storage format")
    fmt_field = fields[1]
    if fmt_field == "16":  # the common case, without a regular expression
        fmt, offset, simple = 16, 0, True
    else:
        m = _SIGNAL_FORMAT.match(fmt_field)
        if m is None:
            raise ECGFormatError(path, f"signal line {index + 1}: unreadable format {fmt_field!r}")
        fmt, offset = int(m["fmt"]), int(m["offset"] or 0)
        simple = int(m["spf"] or 1) == 1 and int(m["skew"] or 0) == 0
    gain, baseline, units = DEFAULT_GAIN, None, "mV"
    if len(fields) > 2:
        g = _GAIN.match(fields[2])
        if g is None:
            raise ECGFormatError(path, f"signal line {index + 1}: unreadable gain {fields[2]!r}")
        try:
            gain = float(g["gain"]) or DEFAULT_GAIN
            baseline = int(g["baseline"]) if g["baseline"] is not None else None
        except ValueError:
            raise ECGFormatError(
                path, f"signal line {index + 1}: unreadable gain {fields[2]!r}"
            ) from None
        units = g["units"] or "mV"
    try:
        adc_zero = int(fields[4]) if len(fields) > 4 else 0
    except ValueError:
        raise ECGFormatError(
            path, f"signal line {index + 1}: unreadable ADC zero {fields[4]!r}"
        ) from None
    name = " ".join(fields[8:]) if len(fields) > 8 else f"sig{index}"
    return SignalSpec(
        fields[0],
        fmt,
        offset,
        gain,
        adc_zero if baseline is None else baseline,
        units,
        name,
        simple,
    )


@functools.lru_cache(maxsize=4096)
def _cached_spec(fmt: str, gain: str, adc_zero: str, name: tuple[str, ...]) -> tuple | None:
    """Signal lines repeat across a database but for the file name: parse each form once.

    Returns the :class:`SignalSpec` fields after ``file_name``, or ``None`` if unreadable.
    """
    try:
        fields = ["", fmt, gain, "0", adc_zero, "", "", "", *name]
        return tuple(_parse_signal_line(Path("."), 0, fields))[1:]
    except (ECGFormatError, ValueError):
        return None  # the caller parses again, uncached, for an error naming the header


def _units_to_mv(units: str) -> float:
    u = units.strip().lower()
    if u in ("mv", ""):
        return 1.0
    if u in ("uv", "µv", "μv"):
        return 1e-3
    if u == "v":
        return 1e3
    raise ValueError(f"unsupported units {units!r}")


def read_signals(header: Header) -> np.ndarray:
    """All signals of a record in physical units of mV, ``(n_sig, T)`` float32.

    Format-16 records are read with ``np.fromfile``; others with ``wfdb.rdrecord``.

    Raises
    ------
    ECGFormatError
        Signal file missing or truncated, or its size disagrees with the header.
    """
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
            raise ECGFormatError(
                fpath, f"signal file named in {header.path.name} is missing"
            ) from None
        n_in_file = len(idx)
        frame = 2 * n_in_file
        available = size - offset
        if n_samples is None:
            if available % frame:
                raise ECGFormatError(
                    fpath, f"size {size} B is not whole frames of {n_in_file} leads"
                )
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
        if file_name.endswith(".mat") and offset >= 20:
            _check_mat_v4(fpath, n_in_file, n_samples)
        digital = np.fromfile(fpath, dtype="<i2", count=n_samples * n_in_file, offset=offset)
        digital = digital.reshape(n_samples, n_in_file)  # (T, n_in_file), as stored
        if out is None:
            out = np.empty((header.n_sig, n_samples), dtype=np.float32)
        specs = [header.signals[i] for i in idx]
        try:
            scale = np.array([_units_to_mv(s.units) / s.gain for s in specs], dtype=np.float32)
        except ValueError as e:
            raise ECGFormatError(header.path, str(e)) from None
        base = np.array([s.baseline for s in specs], dtype=np.float32)
        # Transpose while converting; per-lead arithmetic then runs along the long,
        # contiguous time axis (broadcasting along the 12-lead axis is several times slower).
        phys = digital.T.astype(np.float32, order="C")  # (n_in_file, T), C-contiguous
        if base.any():
            phys -= base[:, None]
        phys *= scale[:, None]
        if (digital == WFDB_NAN_16).any():
            phys[digital.T == WFDB_NAN_16] = np.nan
        if idx == list(range(header.n_sig)):
            out = phys
        else:
            out[idx] = phys
    assert out is not None
    return out


def _check_mat_v4(fpath: str | os.PathLike[str], n_rows: int, n_cols: int) -> None:
    """Check a MATLAB v4 matrix header against the WFDB header's shape."""
    head = np.fromfile(fpath, dtype="<i4", count=5)
    if head.size < 5:
        raise ECGFormatError(fpath, "truncated MATLAB header")
    mrows, ncols = int(head[1]), int(head[2])
    if (mrows, ncols) != (n_rows, n_cols):
        raise ECGFormatError(
            fpath,
            f"MATLAB matrix is {mrows} x {ncols} but the header describes {n_rows} signals x "
            f"{n_cols} samples",
        )


def _read_with_wfdb(header: Header) -> np.ndarray:
    import wfdb

    record_path = str(header.path.with_suffix(""))
    try:
        rec = wfdb.rdrecord(record_path, physical=True)
    except Exception as e:  # wfdb raises many types; name the file
        raise ECGFormatError(header.path, f"wfdb could not read the record: {e}") from e
    sig = rec.p_signal.T.astype(np.float32)
    for i, s in enumerate(header.signals):
        try:
            sig[i] *= _units_to_mv(s.units)
        except ValueError as e:
            raise ECGFormatError(header.path, f"signal {s.name!r}: {e}") from None
    return sig


BadLeadPolicy = Literal["raise", "report", "ignore"]


@functools.lru_cache(maxsize=256)
def _layout(names: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[tuple[str, int], ...]]:
    """Rows of the 12 leads in standard order, and ``(name, row)`` of the other signals.

    Headers of one database name their signals alike, so this runs once per naming scheme.

    Raises
    ------
    ValueError
        Fewer than 12 ECG leads, unknown or duplicated lead names.
    """
    ecg_idx = [i for i, n in enumerate(names) if n.strip().lower() not in FRANK_LEADS]
    if len(ecg_idx) < 12:
        raise ValueError(
            f"{len(ecg_idx)} ECG lead(s) {[names[i] for i in ecg_idx]}; a 12-lead ECG "
            f"needs {list(LEAD_NAMES)}"
        )
    try:
        order = lead_order([names[i] for i in ecg_idx])
    except ValueError as e:
        raise ValueError(str(e).split(": ", 1)[-1]) from None
    extra = tuple((names[i].strip().lower(), i) for i in range(len(names)) if i not in ecg_idx)
    return tuple(ecg_idx[j] for j in order), extra


def bad_leads(signals: np.ndarray, names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Leads that hold NaN or are flat (constant), as ``{lead: problem}``.

    Parameters
    ----------
    signals
        ``(n_leads, T)``.
    """
    problems: dict[str, str] = {}
    if not signals.shape[-1]:
        return problems
    # max - min is NaN for a lead holding NaN, and 0 for a flat one: two passes find both.
    # (np.nanmax would warn "All-NaN slice" on a lead that is entirely missing.)
    span = signals.max(axis=-1) - signals.min(axis=-1)
    suspect = np.flatnonzero(~(span > 0))
    for i in suspect:
        n_nan = int(np.isnan(signals[i]).sum())
        if n_nan:
            problems[names[i]] = f"{n_nan} NaN sample(s)"
        else:
            problems[names[i]] = f"flat line at {float(signals[i, 0]):.3f} mV"
    return problems


@dataclass
class ECGRecord:
    """One 12-lead record read from disk, leads in standard order.

    Attributes
    ----------
    signals
        ``(12, T)`` float32 mV.
    fs
        Sampling rate (Hz) of the file.
    header
        The parsed header (comments hold labels in CinC and LUDB files).
    extra
        The measured Frank leads ``vx, vy, vz`` by name, ``(T,)`` each, when the record has
        them (PTB). Any other signal name besides the 12 standard leads is an error.
    problems
        NaN or flat-line leads found (empty when clean).
    """

    signals: np.ndarray
    fs: float
    header: Header
    extra: dict[str, np.ndarray]
    problems: dict[str, str]


def read_ecg(
    record: str | os.PathLike[str],
    *,
    expected_fs: float | None = None,
    on_bad_lead: BadLeadPolicy = "raise",
) -> ECGRecord:
    """Read one 12-lead record (path without extension, or the ``.hea`` path).

    Parameters
    ----------
    record
        Record path, e.g. ``.../records100/00000/00001_lr``.
    expected_fs
        If given, a record at another sampling rate is an error (resample explicitly with
        :func:`threekg_lite.data.preprocess.resample` instead).
    on_bad_lead
        NaN or flat-line leads: ``"raise"`` an :class:`ECGFormatError`, ``"report"`` them in
        :attr:`ECGRecord.problems`, or ``"ignore"`` them (not even checked).

    Returns
    -------
    ECGRecord
        ``signals`` is ``(12, T)`` float32 mV in standard lead order.
    """
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
    if rows == tuple(range(12)):
        signals = raw[:12]  # the 12 leads come first, in standard order: a view, no copy
    else:
        signals = np.ascontiguousarray(raw[list(rows)])
    extra = {name: raw[i] for name, i in extra_rows}
    problems: dict[str, str] = {}
    if on_bad_lead != "ignore":
        problems = bad_leads(signals, LEAD_NAMES)
        if problems and on_bad_lead == "raise":
            listed = "; ".join(f"{k}: {v}" for k, v in problems.items())
            raise ECGFormatError(
                header.path,
                f"bad lead(s): {listed} (pass on_bad_lead='report' to keep the record and "
                "see the problems, or let the loader drop it)",
            )
    return ECGRecord(signals, header.fs, header, extra, problems)
