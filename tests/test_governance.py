"""The repository holds code and prose, never data."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_SUFFIXES = {
    ".dat", ".hea", ".mat", ".xyz", ".atr", ".npy", ".npz", ".pt", ".pth", ".ckpt", ".h5",
    ".hdf5", ".parquet", ".edf", ".csv",
}  # fmt: skip


def _tracked() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [line for line in out.splitlines() if line]


def test_no_data_files_are_tracked():
    data = [f for f in _tracked() if Path(f).suffix.lower() in DATA_SUFFIXES]
    assert not data, f"data files tracked in git: {data[:10]}"


def test_no_large_files_are_tracked():
    big = [f for f in _tracked() if (REPO / f).is_file() and (REPO / f).stat().st_size > 500_000]
    assert not big, f"files over 500 kB tracked in git: {big}"
