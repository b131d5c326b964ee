"""The ``threekg`` command line: info, prepare, and clear errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from threekg_lite.cli import build_parser, main
from threekg_lite.data.prepare import load_prepared


def test_help_lists_the_subcommands():
    text = build_parser().format_help()
    for command in ("info", "download", "prepare"):
        assert command in text


def test_console_script_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "threekg_lite.cli", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "prepare" in proc.stdout


def test_info_lists_databases(data_dir, capsys):
    assert main(["info", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    for key in ("ptbxl", "ludb", "cinc", "ptbdb"):
        assert f"{key} " in out or f"{key}  " in out
    assert "not found" not in out


def test_info_on_missing_folder_says_how_to_get_data(tmp_path, capsys):
    assert main(["info", "--data-dir", str(tmp_path / "nothing")]) == 0
    assert "THREEKG_DATA_DIR" in capsys.readouterr().out


def test_prepare_real_database(data_dir, tmp_path):
    out = tmp_path / "ludb"
    assert main(["-q", "prepare", "ludb", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    rec = load_prepared(out)
    assert rec.signals.shape == (200, 12, 5000) and rec.source == "ludb"


def test_prepare_synthetic_and_refuse_to_overwrite(tmp_path, capsys):
    out = tmp_path / "syn"
    args = ["prepare", "synthetic", "--n", "8", "--fs", "100", "--out", str(out)]
    assert main(args) == 0
    rec = load_prepared(out)
    assert rec.signals.shape == (8, 12, 1000)
    before = np.asarray(rec.signals).copy()
    assert main(args) == 1  # exists
    assert "--overwrite" in capsys.readouterr().err
    np.testing.assert_array_equal(np.asarray(load_prepared(out).signals), before)
    assert main([*args, "--overwrite", "--seed", "1"]) == 0


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["prepare", "ptbxl", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no ptbxl folder" in err and "THREEKG_DATA_DIR" in err


def test_bad_arguments_exit_with_usage():
    with pytest.raises(SystemExit) as e:
        main(["prepare", "nosuchdb"])
    assert e.value.code == 2
