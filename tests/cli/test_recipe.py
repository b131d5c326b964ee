"""The full-scale recipe of chapter 5, end to end on a small PTB-XL served from 127.0.0.1:
download (checksummed) -> prepare -> pretrain (the test fold left out) -> evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from physionet_server import FakePhysioNet

from threekg_lite.cli import main
from threekg_lite.data import load_prepared

N_RECORDS = 150  # ecg_id 1-150: every strat_fold, 22 records in fold 10
META = ["LICENSE.txt", "ptbxl_database.csv", "scp_statements.csv"]


PHYSIONET = {
    "ptb-xl/1.0.3": {
        rel: f"ptb-xl/{rel}"
        for rel in META
        + [
            f"records100/00000/{i:05d}_lr.{e}"
            for i in range(1, N_RECORDS + 1)
            for e in ("hea", "dat")
        ]
    }
}


pytestmark = pytest.mark.usefixtures("single_thread")


def test_download_prepare_pretrain_evaluate(physionet: FakePhysioNet, tmp_path: Path, capsys):
    ecg = tmp_path / "ecg"
    base = ["--data-dir", str(ecg)]
    assert main(["-q", "download", "ptbxl", "--n-records", str(N_RECORDS), "--rate", "100",
                 "--base-url", physionet.url, *base]) == 0  # fmt: skip
    assert len(list((ecg / "ptb-xl/records100/00000").glob("*.dat"))) == N_RECORDS

    prepared = tmp_path / "prepared"
    assert main(["-q", "prepare", "ptbxl", "--fs", "100", "--out", str(prepared), *base]) == 0
    folds = load_prepared(prepared).meta["strat_fold"].to_numpy()
    assert len(folds) == N_RECORDS and (folds == 10).sum() > 0

    run = tmp_path / "run"
    assert main(["-q", "pretrain", str(prepared), "--crop", "2", "--model", "tiny",
                 "--steps", "3", "--batch-size", "16", "--out", str(run), "--device", "cpu",
                 *base]) == 0  # fmt: skip
    checkpoint = torch.load(run / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] == 3
    assert checkpoint["data"]["records"] == int((folds != 10).sum())  # the test fold left out

    results = tmp_path / "results.json"
    assert main(["-q", "evaluate", "ptbxl", "--checkpoint", str(run), "--crop", "2",
                 "--fractions", "0.1", "1", "--seeds", "1", "--epochs", "1", "--n-boot", "20",
                 "--out", str(results), "--device", "cpu", *base]) == 0  # fmt: skip
    payload = json.loads(results.read_text())
    assert {r["method"] for r in payload["rows"]} == {"pretrained", "random", "supervised"}
    assert payload["meta"]["sizes"]["test"] == int((folds == 10).sum())
    assert all(np.isfinite(r["auroc"]) for r in payload["rows"])
    assert results.with_suffix(".png").is_file()
    assert "supervised" in capsys.readouterr().out
