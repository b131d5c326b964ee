"""Damaged and unusual input: copies of real records, damaged in tmp_path, must give an error
that names the file and says what is wrong (or, for NaN and flat leads, follow the chosen
policy); prepared folders are never overwritten by accident nor left half-written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from threekg_lite.data import prepare
from threekg_lite.data.cinc import load_cinc
from threekg_lite.data.prepare import load_prepared, save_prepared
from threekg_lite.data.ptbxl import load_ptbxl
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.data.wfdb_io import read_ecg
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError

PTBXL_RECORD = "ptb-xl/records100/00000/00001_lr"
CINC_RECORD = "cinc2021-sample/A0689"


def _copy_record(src: Path, dst_dir: Path, exts: tuple[str, ...]) -> Path:
    dst_dir.mkdir(parents=True, exist_ok=True)
    for ext in exts:
        shutil.copyfile(src.with_suffix(f".{ext}"), dst_dir / f"{src.name}.{ext}")
    return dst_dir / src.name


@pytest.fixture
def ptbxl_copy(data_dir, tmp_path) -> Path:
    """A copy of PTB-XL 00001_lr (12 x 1000 at 100 Hz, leads in standard order)."""
    return _copy_record(data_dir / PTBXL_RECORD, tmp_path, ("hea", "dat"))


@pytest.fixture
def cinc_copy(data_dir, tmp_path) -> Path:
    """A copy of CinC A0689 (.hea + MATLAB v4 .mat, 12 x 5000 at 500 Hz)."""
    return _copy_record(data_dir / CINC_RECORD, tmp_path, ("hea", "mat"))


def _hea(record: Path) -> Path:
    return record.with_suffix(".hea")


def _edit_header(record: Path, edit) -> None:
    lines = _hea(record).read_text().splitlines()
    _hea(record).write_text("\n".join(edit(lines)) + "\n")


def _replace_name(lines: list[str], old: str, new: str) -> list[str]:
    return [ln.rsplit(" ", 1)[0] + f" {new}" if ln.endswith(f" {old}") else ln for ln in lines]


def _raises_naming(path: Path, *fragments: str, exc=ECGFormatError, call=None):
    """Run ``call``, expect ``exc`` whose message holds ``path`` and every fragment."""
    with pytest.raises(exc) as err:
        call()
    message = str(err.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return err.value


# ---------------------------------------------------------------------------------------------
# signal files


def test_intact_copy_reads(ptbxl_copy, data_dir):
    np.testing.assert_array_equal(
        read_ecg(ptbxl_copy).signals, read_ecg(data_dir / PTBXL_RECORD).signals
    )


def test_truncated_dat(ptbxl_copy):
    dat = ptbxl_copy.with_suffix(".dat")
    data = dat.read_bytes()
    dat.write_bytes(data[: len(data) - 100])
    err = _raises_naming(dat, "truncated", "00001_lr.hea", call=lambda: read_ecg(ptbxl_copy))
    assert err.path == str(dat)


def test_missing_dat(ptbxl_copy):
    dat = ptbxl_copy.with_suffix(".dat")
    dat.unlink()
    _raises_naming(dat, "missing", call=lambda: read_ecg(ptbxl_copy))


def test_missing_header(tmp_path):
    _raises_naming(
        tmp_path / "nothing.hea", "not found", call=lambda: read_ecg(tmp_path / "nothing")
    )


def test_header_promises_more_samples_than_the_data(ptbxl_copy):
    _edit_header(ptbxl_copy, lambda ls: [ls[0].replace(" 1000", " 1001"), *ls[1:]])
    _raises_naming(
        ptbxl_copy.with_suffix(".dat"), "truncated", "1001", call=lambda: read_ecg(ptbxl_copy)
    )


def test_header_promises_fewer_samples_than_the_data(ptbxl_copy):
    _edit_header(ptbxl_copy, lambda ls: [ls[0].replace(" 1000", " 999"), *ls[1:]])
    _raises_naming(
        ptbxl_copy.with_suffix(".dat"), "disagree", "999", call=lambda: read_ecg(ptbxl_copy)
    )


@pytest.mark.parametrize("n_sig", [11, 13])
def test_record_line_signal_count_disagrees(ptbxl_copy, n_sig):
    _edit_header(ptbxl_copy, lambda ls: [ls[0].replace(" 12 ", f" {n_sig} "), *ls[1:]])
    _raises_naming(
        _hea(ptbxl_copy),
        f"declares {n_sig} signals",
        "12 signal lines",
        call=lambda: read_ecg(ptbxl_copy),
    )


@pytest.mark.parametrize(
    "line_edit,fragment",
    [
        (lambda f: f[:4] + ["abc"] + f[5:], "signal line 3"),  # adc_zero not a number
        (lambda f: f[:2] + ["x/mV"] + f[3:], "gain"),
        (lambda f: f[:1] + ["16+x"] + f[2:], "format"),
        (lambda f: f[:2] + ["1000.0(a)/mV"] + f[3:], "gain"),
        (lambda f: f[:2] + ["e(-)/mV"] + f[3:], "signal line 3: unreadable gain"),
        (lambda f: f[:2] + ["1000/kV"] + f[3:], "units"),
    ],
)
def test_malformed_signal_line(ptbxl_copy, line_edit, fragment):
    def edit(lines):
        fields = lines[3].split()
        lines[3] = " ".join(line_edit(fields))
        return lines

    _edit_header(ptbxl_copy, edit)
    _raises_naming(_hea(ptbxl_copy), fragment, call=lambda: read_ecg(ptbxl_copy))


def test_malformed_record_line(ptbxl_copy):
    _edit_header(ptbxl_copy, lambda ls: ["00001_lr 12 hundred 1000", *ls[1:]])
    _raises_naming(_hea(ptbxl_copy), "malformed record line", call=lambda: read_ecg(ptbxl_copy))


# ---------------------------------------------------------------------------------------------
# leads


def test_unknown_lead_name(ptbxl_copy):
    _edit_header(ptbxl_copy, lambda ls: _replace_name(ls, "V6", "V7"))
    err = _raises_naming(_hea(ptbxl_copy), "V7", "unknown", call=lambda: read_ecg(ptbxl_copy))
    assert err.path == str(_hea(ptbxl_copy))


def test_duplicated_lead(ptbxl_copy):
    _edit_header(ptbxl_copy, lambda ls: _replace_name(ls, "V6", "V5"))
    _raises_naming(_hea(ptbxl_copy), "V5", "twice", call=lambda: read_ecg(ptbxl_copy))


def test_record_with_11_leads(ptbxl_copy):
    dat = ptbxl_copy.with_suffix(".dat")
    digital = np.fromfile(dat, dtype="<i2").reshape(1000, 12)
    digital[:, :11].tofile(dat)  # drop V6
    _edit_header(ptbxl_copy, lambda ls: [ls[0].replace(" 12 ", " 11 "), *ls[1:12]])
    _raises_naming(_hea(ptbxl_copy), "11 ECG lead(s)", "V6", call=lambda: read_ecg(ptbxl_copy))


def test_mat_header_shape_disagrees(cinc_copy, data_dir):
    np.testing.assert_array_equal(
        read_ecg(cinc_copy).signals, read_ecg(data_dir / CINC_RECORD).signals
    )
    mat = cinc_copy.with_suffix(".mat")
    raw = bytearray(mat.read_bytes())
    assert np.frombuffer(bytes(raw[:20]), "<i4").tolist()[1:3] == [12, 5000]
    raw[8:12] = np.array([4999], "<i4").tobytes()  # columns (samples) in the MATLAB header
    mat.write_bytes(bytes(raw))
    _raises_naming(mat, "MATLAB matrix is 12 x 4999", "5000", call=lambda: read_ecg(cinc_copy))


def test_truncated_mat(cinc_copy):
    mat = cinc_copy.with_suffix(".mat")
    mat.write_bytes(mat.read_bytes()[:1000])
    _raises_naming(mat, "truncated", call=lambda: read_ecg(cinc_copy))


def _write_lead(record: Path, lead_col: int, values) -> np.ndarray:
    dat = record.with_suffix(".dat")
    digital = np.fromfile(dat, dtype="<i2").reshape(-1, 12)
    digital[:, lead_col] = values
    digital.tofile(dat)
    return digital


def test_nan_lead(ptbxl_copy):
    _write_lead(ptbxl_copy, 2, -32768)  # lead III entirely missing
    _raises_naming(
        _hea(ptbxl_copy), "III", "1000 NaN", "on_bad_lead", call=lambda: read_ecg(ptbxl_copy)
    )
    rec = read_ecg(ptbxl_copy, on_bad_lead="report")
    assert list(rec.problems) == ["III"]
    assert "1000 NaN" in rec.problems["III"]
    assert np.isnan(rec.signals[2]).all()
    assert not np.isnan(np.delete(rec.signals, 2, axis=0)).any()
    assert read_ecg(ptbxl_copy, on_bad_lead="ignore").problems == {}


def test_partly_nan_lead(ptbxl_copy):
    dat = ptbxl_copy.with_suffix(".dat")
    digital = np.fromfile(dat, dtype="<i2").reshape(-1, 12)
    digital[100:110, 7] = -32768  # V2
    digital.tofile(dat)
    _raises_naming(_hea(ptbxl_copy), "V2", "10 NaN", call=lambda: read_ecg(ptbxl_copy))
    assert list(read_ecg(ptbxl_copy, on_bad_lead="report").problems) == ["V2"]


def test_every_lead_nan(ptbxl_copy):
    _write_lead(ptbxl_copy, slice(None), -32768)
    rec = read_ecg(ptbxl_copy, on_bad_lead="report")
    assert len(rec.problems) == 12


def test_flat_lead(ptbxl_copy):
    _write_lead(ptbxl_copy, 8, 123)  # V3 at 0.123 mV
    _raises_naming(_hea(ptbxl_copy), "V3", "flat", call=lambda: read_ecg(ptbxl_copy))
    rec = read_ecg(ptbxl_copy, on_bad_lead="report")
    assert list(rec.problems) == ["V3"]
    assert "0.123" in rec.problems["V3"]


def test_expected_fs_names_both_rates(ptbxl_copy):
    _raises_naming(
        _hea(ptbxl_copy), "100 Hz", "500 Hz", call=lambda: read_ecg(ptbxl_copy, expected_fs=500)
    )


# ---------------------------------------------------------------------------------------------
# a loader on a small damaged copy of the PTB-XL layout


@pytest.fixture
def ptbxl_layout(data_dir, tmp_path) -> Path:
    """``<tmp>/ptb-xl`` with the two tables and records 1-5 at 100 Hz; record 3 has a NaN lead."""
    src = data_dir / "ptb-xl"
    dst = tmp_path / "data" / "ptb-xl"
    dst.mkdir(parents=True)
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        shutil.copyfile(src / name, dst / name)
    for i in range(1, 6):
        rel = Path("records100/00000") / f"{i:05d}_lr"
        _copy_record(src / rel, (dst / rel).parent, ("hea", "dat"))
    _write_lead(dst / "records100/00000/00003_lr", 4, -32768)  # aVL
    return dst


def test_loader_drops_bad_records(ptbxl_layout, data_dir):
    rec = load_ptbxl(ptbxl_layout.parent, progress=False)
    assert list(rec.record_ids) == ["1", "2", "4", "5"]
    assert list(rec.problems) == ["3"]
    assert "aVL" in rec.problems["3"] and "NaN" in rec.problems["3"]
    real = load_ptbxl(data_dir, ecg_ids=[1, 2, 4, 5], progress=False)
    np.testing.assert_array_equal(rec.signals, real.signals)
    np.testing.assert_array_equal(rec.y("superclass"), real.y("superclass"))


def test_loader_raise(ptbxl_layout):
    bad = ptbxl_layout / "records100/00000/00003_lr.hea"
    _raises_naming(
        bad,
        "aVL",
        call=lambda: load_ptbxl(ptbxl_layout.parent, on_bad_lead="raise", progress=False),
    )


def test_loader_keep(ptbxl_layout):
    rec = load_ptbxl(ptbxl_layout, on_bad_lead="keep", progress=False)  # the folder itself
    assert list(rec.record_ids) == ["1", "2", "3", "4", "5"]
    assert list(rec.problems) == ["3"]
    assert np.isnan(rec.signals[2, 4]).all()
    assert not np.isnan(rec.signals[[0, 1, 3, 4]]).any()


def test_loader_bad_policy(ptbxl_layout):
    with pytest.raises(ValueError, match="on_bad_lead"):
        load_ptbxl(ptbxl_layout, on_bad_lead="ignore", progress=False)


def test_loader_does_not_drop_damaged_files(ptbxl_layout):
    """The policies are about NaN and flat leads: a truncated file is an error even under
    "drop" and "keep" (under "raise", record 3's NaN lead comes first)."""
    dat = ptbxl_layout / "records100/00000/00004_lr.dat"
    dat.write_bytes(dat.read_bytes()[:-2])
    for policy in ("drop", "keep"):
        _raises_naming(
            dat,
            "truncated",
            call=lambda p=policy: load_ptbxl(ptbxl_layout, on_bad_lead=p, progress=False),
        )


def test_loader_unreadable_scp_codes(ptbxl_layout):
    csv_path = ptbxl_layout / "ptbxl_database.csv"
    text = csv_path.read_text().replace("{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}", "{'NORM': 1", 1)
    csv_path.write_text(text)
    _raises_naming(csv_path, "scp_codes", call=lambda: load_ptbxl(ptbxl_layout, progress=False))


def test_layout_without_records(ptbxl_layout):
    shutil.rmtree(ptbxl_layout / "records100")
    _raises_naming(
        ptbxl_layout,
        "no PTB-XL records",
        "THREEKG_DATA_DIR",
        exc=DataNotFoundError,
        call=lambda: load_ptbxl(ptbxl_layout, progress=False),
    )


def test_empty_and_wrong_data_dirs(data_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    _raises_naming(
        empty,
        "ptb-xl",
        "THREEKG_DATA_DIR",
        exc=DataNotFoundError,
        call=lambda: load_ptbxl(empty, progress=False),
    )
    wrong = data_dir / "ludb"  # a real folder, but of another database
    _raises_naming(
        wrong, "ptb-xl", exc=DataNotFoundError, call=lambda: load_ptbxl(wrong, progress=False)
    )
    cinc = tmp_path / "cinc2021"
    cinc.mkdir()
    _raises_naming(
        cinc, ".hea/.mat", exc=DataNotFoundError, call=lambda: load_cinc(tmp_path, progress=False)
    )


# ---------------------------------------------------------------------------------------------
# prepared folders: never overwritten by accident, never half-written


def _small_records(seed: int = 0, n: int = 4) -> ECGRecords:
    rng = np.random.default_rng(seed)
    return ECGRecords(
        signals=rng.normal(size=(n, 12, 50)).astype(np.float32),
        fs=100.0,
        record_ids=np.array([f"r{i}" for i in range(n)]),
        patient_ids=np.array([f"p{i // 2}" for i in range(n)]),
        labels={"task": LabelSet(("a", "b"), rng.random((n, 2)) < 0.5)},
        meta=pd.DataFrame({"age": np.arange(n) + 40}),
        source="test",
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_existing_folder_is_not_overwritten(tmp_path):
    target = save_prepared(_small_records(0), tmp_path / "prep")
    before = _snapshot(target)
    with pytest.raises(FileExistsError, match="overwrite=True") as err:
        save_prepared(_small_records(1), target)
    assert str(target) in str(err.value)
    assert _snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prep"]


def test_existing_unrelated_folder_is_not_touched(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        save_prepared(_small_records(), target)
    assert _snapshot(target) == {"notes.txt": b"keep me"}


@pytest.mark.parametrize("existing", [True, False])
def test_failure_while_writing_leaves_nothing_half_written(tmp_path, monkeypatch, existing):
    target = tmp_path / "prep"
    if existing:
        save_prepared(_small_records(0), target)
    before = _snapshot(target) if existing else None

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="simulated"):
        save_prepared(_small_records(1), target, overwrite=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["prep"] if existing else [])
    if existing:
        assert _snapshot(target) == before
        np.testing.assert_array_equal(load_prepared(target).signals, _small_records(0).signals)


def test_failure_while_swapping_keeps_the_old_folder(tmp_path, monkeypatch):
    """If the new folder cannot be moved into place, the old one is still where it was."""
    target = save_prepared(_small_records(0), tmp_path / "prep")
    before = _snapshot(target)
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".prep.tmp"):
            raise OSError("rename failed (simulated)")
        return real_replace(src, dst)

    monkeypatch.setattr(prepare.os, "replace", replace)
    with pytest.raises(OSError, match="simulated"):
        save_prepared(_small_records(1), target, overwrite=True)
    monkeypatch.undo()
    assert _snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prep"]


def test_interrupt_while_writing(tmp_path, monkeypatch):
    target = tmp_path / "prep"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_prepared(_small_records(), target)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def prepared(tmp_path) -> Path:
    return save_prepared(_small_records(), tmp_path / "prep")


def test_missing_info_json(prepared):
    (prepared / "info.json").unlink()
    _raises_naming(
        prepared, "info.json", exc=DataNotFoundError, call=lambda: load_prepared(prepared)
    )


def test_corrupt_info_json(prepared):
    info = prepared / "info.json"
    info.write_text(info.read_text()[:40])
    _raises_naming(info, "unreadable", call=lambda: load_prepared(prepared))


def test_wrong_format_version(prepared):
    info = prepared / "info.json"
    content = json.loads(info.read_text())
    content["format_version"] = 99
    info.write_text(json.dumps(content))
    _raises_naming(
        info,
        "format version 99",
        "prepare the database again",
        call=lambda: load_prepared(prepared),
    )


@pytest.mark.parametrize("mmap", [True, False])
def test_signals_shape_disagrees(prepared, mmap):
    np.save(prepared / "signals.npy", np.zeros((3, 12, 50), np.float32))
    _raises_naming(
        prepared / "signals.npy",
        "(3, 12, 50)",
        "[4, 12, 50]",
        call=lambda: load_prepared(prepared, mmap=mmap),
    )


@pytest.mark.parametrize("mmap", [True, False])
def test_truncated_signals_npy(prepared, mmap):
    path = prepared / "signals.npy"
    path.write_bytes(path.read_bytes()[:500])
    _raises_naming(path, "unreadable", call=lambda: load_prepared(prepared, mmap=mmap))
