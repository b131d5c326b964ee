"""The fast WFDB reader (threekg_lite.data.wfdb_io) against independent references.

Every record of the shared data is read twice, once by ``read_ecg`` and once by a reference:
``wfdb.rdrecord`` for the records it can read, and ``scipy.io.loadmat(...)["val"] / 1000`` for
the Georgia ``E*`` records whose old-style headers ``wfdb.rdrecord`` rejects. The header-syntax
tests write small records whose physical values follow from the WFDB formula
``(digital - baseline) / gain`` computed here, not by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

from threekg_lite.data.wfdb_io import parse_header, read_ecg, read_signals
from threekg_lite.runtime.errors import ECGFormatError

STANDARD = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
# Written out by hand (not taken from threekg_lite.leads): how files spell the 12 leads.
SPELLING = {
    "i": "I", "ii": "II", "iii": "III", "avr": "aVR", "avl": "aVL", "avf": "aVF",
    "v1": "V1", "v2": "V2", "v3": "V3", "v4": "V4", "v5": "V5", "v6": "V6",
}  # fmt: skip
FRANK = ("vx", "vy", "vz")


def _records(folder: Path, pattern: str) -> list[Path]:
    return sorted(h.with_suffix("") for h in folder.glob(pattern))


def _by_standard_name(signals: np.ndarray, names: list[str]) -> np.ndarray:
    """``(12, T)`` rows of ``signals`` (``(n_sig, T)``) in standard order, by name."""
    canon = [SPELLING.get(n.strip().lower()) for n in names]
    return np.stack([signals[canon.index(lead)] for lead in STANDARD])


def _compare_with_wfdb(paths: list[Path], *, extra: tuple[str, ...] = ()) -> list[str]:
    """Read each record with read_ecg and wfdb.rdrecord; return the mismatches found."""
    failures = []
    for path in paths:
        ref = wfdb.rdrecord(str(path), physical=True)
        expected = _by_standard_name(ref.p_signal.T, ref.sig_name)
        rec = read_ecg(path, on_bad_lead="ignore")
        if rec.signals.dtype != np.float32 or rec.signals.shape != (12, ref.sig_len):
            failures.append(f"{path.name}: {rec.signals.dtype} {rec.signals.shape}")
            continue
        if rec.fs != ref.fs or rec.header.n_samples != ref.sig_len:
            failures.append(f"{path.name}: fs {rec.fs} vs {ref.fs}")
        if not np.allclose(rec.signals, expected, rtol=2e-6, atol=2e-6, equal_nan=True):
            worst = np.nanmax(np.abs(rec.signals - expected))
            failures.append(f"{path.name}: signals differ by up to {worst:g} mV")
        ref_names = [n.lower() for n in ref.sig_name]
        if sorted(rec.extra) != sorted(extra):
            failures.append(f"{path.name}: extra signals {sorted(rec.extra)}")
        for name in extra:
            if name in rec.extra and not np.allclose(
                rec.extra[name], ref.p_signal[:, ref_names.index(name)], rtol=2e-6, atol=2e-6
            ):
                failures.append(f"{path.name}: extra signal {name} differs")
    return failures


# ---------------------------------------------------------------------------------------------
# every record of the shared data


def test_ptbxl_100hz_every_record_matches_wfdb(data_dir):
    paths = _records(data_dir / "ptb-xl" / "records100", "*/*.hea")
    assert len(paths) == 1999
    assert _compare_with_wfdb(paths) == []


def test_ptbxl_500hz_every_record_matches_wfdb(data_dir):
    paths = _records(data_dir / "ptb-xl" / "records500", "*/*.hea")
    assert len(paths) == 500
    assert _compare_with_wfdb(paths) == []


def test_ludb_every_record_matches_wfdb(data_dir):
    paths = _records(data_dir / "ludb" / "data", "*.hea")
    assert len(paths) == 200
    assert _compare_with_wfdb(paths) == []


def test_cinc_non_georgia_every_record_matches_wfdb(data_dir):
    paths = [p for p in _records(data_dir / "cinc2021-sample", "*.hea") if p.name[0] != "E"]
    assert len(paths) == 156 - 60
    assert _compare_with_wfdb(paths) == []


def test_ptb_record_with_frank_leads_matches_wfdb(data_dir):
    path = data_dir / "ptbdb-frank" / "s0010_re"
    assert _compare_with_wfdb([path], extra=FRANK) == []
    rec = read_ecg(path)
    assert rec.fs == 1000
    assert rec.signals.shape == (12, 38400)
    for name in FRANK:
        assert rec.extra[name].shape == (38400,)
        assert rec.extra[name].dtype == np.float32


def test_lead_order_is_canonical_when_file_order_differs(data_dir, tmp_path):
    """A copy of a record with its signal lines shuffled reads the same, row by row."""
    src = data_dir / "ptb-xl" / "records100" / "00000" / "00001_lr"
    lines = (src.with_suffix(".hea")).read_text().splitlines()
    record_line, signal_lines = lines[0], lines[1:13]
    perm = [11, 3, 0, 7, 5, 1, 9, 2, 10, 4, 8, 6]
    digital = np.fromfile(src.with_suffix(".dat"), dtype="<i2").reshape(-1, 12)
    digital[:, perm].astype("<i2").tofile(tmp_path / "00001_lr.dat")
    shuffled = [signal_lines[j] for j in perm]
    (tmp_path / "00001_lr.hea").write_text("\n".join([record_line, *shuffled]) + "\n")
    original = read_ecg(src).signals
    reordered = read_ecg(tmp_path / "00001_lr").signals
    np.testing.assert_array_equal(reordered, original)
    # and the first row really is lead I as the file spells it (not the file's first line)
    assert shuffled[0].split()[-1] == "V6"
    np.testing.assert_allclose(reordered[0], digital[:, 0] / 1000.0, rtol=1e-6)


def test_georgia_headers_are_rejected_by_wfdb(data_dir):
    """Documents the quirk the fast reader works around (data README)."""
    path = data_dir / "cinc2021-sample" / "E00271"
    assert path.with_suffix(".hea").read_text().split()[0] == "E00271.mat"
    with pytest.raises(Exception):  # noqa: B017 - wfdb raises its own HeaderSyntaxError
        wfdb.rdrecord(str(path))


def test_georgia_every_record_matches_loadmat(data_dir):
    paths = _records(data_dir / "cinc2021-sample", "E*.hea")
    assert len(paths) == 60
    failures = []
    for path in paths:
        val = scipy.io.loadmat(str(path.with_suffix(".mat")))["val"]
        assert val.dtype == np.int16 and val.shape[0] == 12
        text = path.with_suffix(".hea").read_text().splitlines()
        n_sig, fs, n_samples = (float(x) for x in text[0].split()[1:4])
        names = [ln.split()[-1] for ln in text[1 : 1 + int(n_sig)]]
        expected = _by_standard_name(val / 1000.0, names)
        rec = read_ecg(path, on_bad_lead="ignore")
        if rec.fs != fs or not rec.signals.shape == expected.shape == (12, int(n_samples)):
            failures.append(f"{path.name}: {rec.fs} Hz, {rec.signals.shape}")
        elif not np.allclose(rec.signals, expected, rtol=2e-6, atol=1e-6):
            failures.append(f"{path.name}: differs from loadmat(...)['val'] / 1000")
        if rec.header.record_name != path.name:
            failures.append(f"{path.name}: record name {rec.header.record_name!r}")
    assert failures == []


# ---------------------------------------------------------------------------------------------
# header syntax, on small records written here


def _write(
    folder: Path,
    name: str,
    digital: np.ndarray,
    signal_fields: list[str],
    *,
    record_line: str | None = None,
    comments: tuple[str, ...] = (),
    prefix: bytes = b"",
    file_name: str | None = None,
) -> Path:
    """Write ``digital`` (n_sig, T) int16 interleaved, and a header with one line per signal.

    ``signal_fields[i]`` is what follows the file name on signal line i (format, gain, ...).
    """
    file_name = file_name or f"{name}.dat"
    n_sig, t = digital.shape
    (folder / file_name).write_bytes(prefix + digital.T.astype("<i2").tobytes())
    lines = [record_line or f"{name} {n_sig} 500 {t}"]
    lines += [f"{file_name} {fields}" for fields in signal_fields]
    lines += [f"#{c}" for c in comments]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return folder / name


@pytest.fixture
def digital() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(-3000, 3000, size=(12, 250)).astype(np.int16)


GAIN_CASES = [
    # (gain field, adc_zero, expected gain, expected baseline, mV per unit)
    ("1000.0(0)/mV", 0, 1000.0, 0, 1.0),
    ("500(12)/mV", 7, 500.0, 12, 1.0),  # explicit baseline wins over adc_zero
    ("500/mV", 7, 500.0, 7, 1.0),  # no baseline: adc_zero
    ("250", -3, 250.0, -3, 1.0),  # no units: mV
    ("0/mV", 0, 200.0, 0, 1.0),  # gain 0 means the default 200
    ("2000(5)/uV", 0, 2000.0, 5, 1e-3),  # microvolts, converted to mV
    ("2(1)/V", 0, 2.0, 1, 1e3),  # volts, converted to mV
    ("1000/mv", 0, 1000.0, 0, 1.0),  # lower-case units as in the CinC PTB-XL headers
]


@pytest.mark.parametrize("gain_field,adc_zero,gain,baseline,per_unit", GAIN_CASES)
def test_gain_baseline_units(tmp_path, digital, gain_field, adc_zero, gain, baseline, per_unit):
    fields = [f"16 {gain_field} 16 {adc_zero} 0 0 0 {lead}" for lead in STANDARD]
    path = _write(tmp_path, "rec", digital, fields)
    header = parse_header(path)
    assert all(s.gain == gain and s.baseline == baseline for s in header.signals)
    expected = (digital.astype(np.float64) - baseline) / gain * per_unit
    np.testing.assert_allclose(read_signals(header), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(read_ecg(path).signals, expected, rtol=1e-6, atol=1e-9)
    # wfdb agrees (in the file's units)
    ref = wfdb.rdrecord(str(path))
    np.testing.assert_allclose(ref.p_signal.T * per_unit, expected, rtol=1e-6, atol=1e-9)


def test_signal_line_with_format_only_uses_default_gain(tmp_path, digital):
    path = _write(tmp_path, "rec", digital[:3], ["16", "16", "16"])
    header = parse_header(path)
    assert [s.gain for s in header.signals] == [200.0] * 3
    assert [s.baseline for s in header.signals] == [0] * 3
    assert header.sig_names == ["sig0", "sig1", "sig2"]
    np.testing.assert_allclose(read_signals(header), digital[:3] / 200.0, rtol=1e-6)


def test_record_line_without_sample_count_uses_file_size(tmp_path, digital):
    fields = [f"16 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD]
    path = _write(tmp_path, "rec", digital, fields, record_line="rec 12 360")
    header = parse_header(path)
    assert header.n_samples is None and header.fs == 360.0
    rec = read_ecg(path)
    assert rec.signals.shape == (12, 250)
    np.testing.assert_allclose(rec.signals, digital / 1000.0, rtol=1e-6)


@pytest.mark.parametrize("file_name", ["rec.dat", "rec.mat"])
def test_byte_offset_16_plus_24(tmp_path, digital, file_name):
    """``16+24``: 24 bytes before the samples (the MATLAB v4 header of the CinC .mat files)."""
    n_sig, t = digital.shape
    if file_name.endswith(".mat"):  # a real MATLAB v4 header for an int16 matrix named "val"
        prefix = np.array([30, n_sig, t, 0, 4], dtype="<i4").tobytes() + b"val\0"
    else:  # any 24 bytes: they must be skipped, not read as samples
        prefix = b"\x7f" * 24
    assert len(prefix) == 24
    fields = [f"16+24 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD]
    path = _write(tmp_path, "rec", digital, fields, prefix=prefix, file_name=file_name)
    header = parse_header(path)
    assert {s.byte_offset for s in header.signals} == {24}
    assert {s.fmt for s in header.signals} == {16}
    np.testing.assert_allclose(read_ecg(path).signals, digital / 1000.0, rtol=1e-6)
    if file_name.endswith(".mat"):
        val = scipy.io.loadmat(str(tmp_path / file_name))["val"]
        np.testing.assert_array_equal(val, digital)
    else:
        np.testing.assert_allclose(wfdb.rdrecord(str(path)).p_signal.T, digital / 1000.0)


def test_comments_are_collected_and_not_signal_lines(tmp_path, digital):
    fields = [f"16 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD]
    path = _write(tmp_path, "rec", digital, fields, comments=("Age: 56", " Dx: 1,2", "#x"))
    text = path.with_suffix(".hea").read_text().splitlines()
    # a comment and a blank line between the record line and the signal lines
    text[1:1] = ["# inserted: yes", ""]
    path.with_suffix(".hea").write_text("\n".join(text) + "\n")
    header = parse_header(path)
    assert header.n_sig == 12 and len(header.signals) == 12
    assert header.comments == ("inserted: yes", "Age: 56", "Dx: 1,2", "x")
    assert header.sig_names == list(STANDARD)


def test_description_with_spaces_is_one_name(tmp_path, digital):
    names = ["lead I", "lead II", "lead III"]
    fields = [f"16 1000/mV 16 0 0 0 0 {n}" for n in names]
    path = _write(tmp_path, "rec", digital[:3], fields)
    assert parse_header(path).sig_names == names


def test_real_headers_parse_as_written(data_dir):
    """Header fields against the header text, split here by hand."""
    for rel in (
        "ptb-xl/records100/00000/00001_lr",
        "ptb-xl/records500/00000/00007_hr",
        "ludb/data/1",
        "cinc2021-sample/E00271",
        "cinc2021-sample/HR03961",
        "ptbdb-frank/s0010_re",
    ):
        path = data_dir / rel
        lines = [ln.split() for ln in path.with_suffix(".hea").read_text().splitlines()]
        body = [f for f in lines if f and not f[0].startswith("#")]
        header = parse_header(path)
        assert header.n_sig == int(body[0][1]) == len(header.signals)
        assert header.fs == float(body[0][2])
        assert header.n_samples == int(body[0][3])
        for spec, fields in zip(header.signals, body[1:]):
            assert spec.file_name == fields[0]
            gain_text = fields[2].split("/")[0]
            gain = float(gain_text.split("(")[0])
            baseline = int(gain_text.split("(")[1][:-1]) if "(" in gain_text else int(fields[4])
            assert (spec.gain, spec.baseline) == (gain, baseline), rel
            assert spec.byte_offset == (24 if "+24" in fields[1] else 0)
            assert spec.name == " ".join(fields[8:])
    ptb = parse_header(data_dir / "ptbdb-frank" / "s0010_re")
    assert {s.file_name for s in ptb.signals} == {"s0010_re.dat", "s0010_re.xyz"}
    assert "reason for admission: myocardial infarction" in [c.lower() for c in ptb.comments]


# ---------------------------------------------------------------------------------------------
# NaN sentinel


def test_nan_sentinel_becomes_nan(tmp_path, digital):
    digital = digital.copy()
    digital[2, [0, 5, 249]] = -32768
    digital[7, 100] = -32768
    digital[0, 1] = -32767  # one above the sentinel: a real value
    fields = [f"16 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD]
    path = _write(tmp_path, "rec", digital, fields)
    sig = read_signals(parse_header(path))
    missing = digital == -32768
    assert np.array_equal(np.isnan(sig), missing)
    np.testing.assert_allclose(sig[~missing], digital[~missing] / 1000.0, rtol=1e-6)
    assert sig[0, 1] == pytest.approx(-32.767)
    # wfdb agrees on where the NaN are
    assert np.array_equal(np.isnan(wfdb.rdrecord(str(path)).p_signal.T), missing)
    rec = read_ecg(path, on_bad_lead="report")
    assert set(rec.problems) == {"III", "V2"}
    assert "3 NaN" in rec.problems["III"] and "1 NaN" in rec.problems["V2"]


# ---------------------------------------------------------------------------------------------
# storage formats other than 16 go through wfdb


def test_other_storage_format_reads_through_wfdb(tmp_path, digital):
    d = (digital // 4).T.astype(np.int64)  # format 212 holds 12-bit samples
    wfdb.wrsamp(
        "rec212",
        fs=250,
        units=["mV"] * 12,
        sig_name=list(STANDARD),
        d_signal=d,
        fmt=["212"] * 12,
        adc_gain=[200.0] * 12,
        baseline=[0] * 12,
        write_dir=str(tmp_path),
    )
    header = parse_header(tmp_path / "rec212")
    assert not header.fast_path
    rec = read_ecg(tmp_path / "rec212")
    np.testing.assert_allclose(rec.signals, d.T / 200.0, rtol=1e-6)
    assert rec.fs == 250


def test_expected_fs(data_dir):
    path = data_dir / "ptb-xl" / "records100" / "00000" / "00001_lr"
    assert read_ecg(path, expected_fs=100).fs == 100
    with pytest.raises(ECGFormatError, match="100 Hz, expected 500 Hz"):
        read_ecg(path, expected_fs=500)
