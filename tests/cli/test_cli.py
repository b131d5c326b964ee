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


def test_config_options_take_their_defaults_and_types_from_the_dataclasses(tmp_path):
    from threekg_lite.cli.main import COMPARE_FIELDS, EVAL_FIELDS, PRETRAIN_FIELDS, config_from
    from threekg_lite.evaluate.experiment import ComparisonConfig
    from threekg_lite.evaluate.protocol import EvalConfig
    from threekg_lite.pretrain import PretrainConfig

    parse = build_parser().parse_args
    args = parse(["pretrain", "synthetic", "--out", str(tmp_path)])
    fields = ("steps", *PRETRAIN_FIELDS)
    assert config_from(PretrainConfig, args, fields, crop=2500) == PretrainConfig()
    args = parse(["pretrain", "synthetic", "--out", str(tmp_path), "--seed", "0", "--compile"])
    assert config_from(PretrainConfig, args, fields, crop=2500).compile is True
    args = parse(["evaluate", "synthetic", "--out", str(tmp_path)])
    assert config_from(EvalConfig, args, EVAL_FIELDS) == EvalConfig()
    args = parse(["evaluate", "x", "--out", "r", "--mode", "finetune", "--fractions", "0.5", "1"])
    expected = EvalConfig(mode="finetune", fractions=(0.5, 1))
    assert config_from(EvalConfig, args, EVAL_FIELDS) == expected
    args = parse(["compare", "--out", str(tmp_path / "ref.json")])
    kw = dict(pretrain=PretrainConfig(model="tiny"), evaluation=EvalConfig())
    assert config_from(ComparisonConfig, args, COMPARE_FIELDS, **kw) == ComparisonConfig()
    assert (args.steps, args.batch_size, args.model, args.n_boot) == (300, 64, "tiny", 1000)


def test_quiet_before_or_after_the_command_is_kept():
    parser = build_parser()
    assert parser.parse_args(["-q", "info"]).quiet is True
    assert parser.parse_args(["info", "-q"]).quiet is True
    assert parser.parse_args(["info"]).quiet is False


def test_the_main_module_runs_as_a_script(data_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "threekg_lite.cli.main", "info", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "ptbxl" in proc.stdout
