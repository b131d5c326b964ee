"""Edge cases found in review: each test pins a bug that once existed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

from threekg_lite.cli import main
from threekg_lite.data import prepare as prep
from threekg_lite.data.ludb import load_ludb, read_ludb_table
from threekg_lite.data.paths import database_dir
from threekg_lite.data.ptbxl import load_ptbxl
from threekg_lite.data.synthetic import generate
from threekg_lite.data.wfdb_io import parse_header, read_ecg
from threekg_lite.leads import LEAD_NAMES
from threekg_lite.runtime.errors import ECGFormatError

# --- prepared folders -------------------------------------------------------------------


def test_overwrite_never_deletes_a_folder_that_is_not_prepared(tmp_path):
    precious = tmp_path / "data"
    precious.mkdir()
    (precious / "record.dat").write_bytes(b"\x00" * 10)
    with pytest.raises(FileExistsError, match="not a prepared folder"):
        prep.save_prepared(generate(2, fs=100), precious, overwrite=True)
    assert (precious / "record.dat").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    prep.save_prepared(generate(2, fs=100), empty, overwrite=True)  # an empty folder is fine
    assert prep.is_prepared(empty)


def test_home_directory_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    prep.save_prepared(generate(2, fs=100), "~/cache/syn")
    assert (tmp_path / "cache/syn/info.json").exists()
    assert not (tmp_path / "~").exists()
    assert len(prep.load_prepared("~/cache/syn")) == 2


def test_prepare_database_checks_the_output_before_loading(tmp_path, monkeypatch):
    out = tmp_path / "out"
    prep.save_prepared(generate(2, fs=100), out)

    def boom(*a, **k):
        raise AssertionError("loaded although the output exists")

    monkeypatch.setattr(prep, "load_database", boom)
    with pytest.raises(FileExistsError, match="overwrite"):
        prep.prepare_database("synthetic", out, n=2)


def test_prepared_row_counts_are_checked(tmp_path):
    out = prep.save_prepared(generate(3, fs=100), tmp_path / "syn")
    lines = (out / "records.csv").read_text().splitlines()
    (out / "records.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ECGFormatError, match="records.csv: 2 rows for 3 records"):
        prep.load_prepared(out)


# --- reader -------------------------------------------------------------------------------


def _write_record(folder: Path, fmt_field: str | None = None, units: str = "mV") -> Path:
    sig = np.random.default_rng(0).normal(size=(500, 12))
    wfdb.wrsamp("r", fs=500, units=[units] * 12, sig_name=list(LEAD_NAMES), p_signal=sig,
                fmt=["16"] * 12, write_dir=str(folder))  # fmt: skip
    if fmt_field is not None:
        hea = folder / "r.hea"
        lines = hea.read_text().splitlines()
        lines = [
            ln.replace(" 16 ", f" {fmt_field} ", 1) if ln.endswith(" V1") else ln for ln in lines
        ]
        hea.write_text("\n".join(lines) + "\n")
    return folder / "r"


def test_skewed_signals_go_through_wfdb(tmp_path):
    rec = _write_record(tmp_path, "16:3")
    assert not parse_header(rec).fast_path
    got = read_ecg(rec, on_bad_lead="report")
    want = wfdb.rdrecord(str(rec)).p_signal.T
    np.testing.assert_allclose(got.signals, want, atol=1e-6, equal_nan=True)


def test_plain_format_16_uses_the_fast_path(tmp_path):
    assert parse_header(_write_record(tmp_path)).fast_path


def test_wfdb_fallback_errors_name_the_file(tmp_path):
    rec = _write_record(tmp_path)
    hea = tmp_path / "r.hea"
    text = hea.read_text().replace(" 16 ", " 16:1 ").replace("/mV", "/NU")
    hea.write_text(text)
    with pytest.raises(ECGFormatError, match=r"r\.hea.*unsupported units"):
        read_ecg(rec)


# --- loaders ------------------------------------------------------------------------------


def test_ludb_age_over_89_is_kept(data_dir):
    table = read_ludb_table(database_dir("ludb", data_dir))
    assert table["Age"].notna().all()
    raw = (database_dir("ludb", data_dir) / "ludb.csv").read_text()
    if ">89" in raw:
        assert (table["Age"] == 89).any()


def test_empty_selections_are_value_errors(data_dir):
    with pytest.raises(ValueError, match="ecg_ids=\\[\\] selects no record"):
        load_ptbxl(data_dir, ecg_ids=[], progress=False)
    with pytest.raises(ValueError, match="leaves no PTB-XL record"):
        load_ptbxl(data_dir, ecg_ids=[1, 2], folds=[10], progress=False)
    with pytest.raises(ValueError, match="selects no record"):
        load_ludb(data_dir, records=[], progress=False)


def test_crop_options_are_checked_before_reading(data_dir):
    with pytest.raises(ValueError, match="needs rng"):
        load_ludb(data_dir, records=[1], duration=5.0, crop="random", progress=False)
    with pytest.raises(ValueError, match="unknown crop mode"):
        load_ludb(data_dir, records=[1], crop="middle", progress=False)
    with pytest.raises(ValueError, match="at least one sample"):
        load_ludb(data_dir, records=[1], duration=2.0, stride=0.0001, progress=False)


def test_subset_with_no_records():
    rec = generate(3, fs=100)
    assert len(rec.subset([])) == 0
    assert len(rec.subset(np.zeros(3, bool))) == 0


# --- package and command line ---------------------------------------------------------------


def test_importing_the_package_does_not_import_torch():
    code = (
        "import sys, threekg_lite, threekg_lite.data, threekg_lite.viz.plotting; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_quiet_flag_after_the_subcommand_and_synthetic_only_flags(tmp_path, capsys):
    out = tmp_path / "syn"
    assert main(["prepare", "synthetic", "--n", "2", "--fs", "100", "--out", str(out), "-q"]) == 0
    assert json.loads((out / "info.json").read_text())["shape"] == [2, 12, 1000]
    assert main(["prepare", "ludb", "--n", "5", "--out", str(tmp_path / "l")]) == 1
    assert "synthetic data only" in capsys.readouterr().err
