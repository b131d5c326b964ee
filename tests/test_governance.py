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


# ---------------------------------------------------------------- the dependency range


def _requirement_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_minimum_versions_job_installs_the_declared_floors():
    """.ci/minimum.txt pins each runtime dependency at the floor pyproject.toml declares,
    so the job tests the floors users are promised (torch: see the file's note)."""
    import tomllib
    from packaging.version import Version

    declared = {}
    for spec in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        name, _, floor = spec.partition(">=")
        declared[name.strip().lower()] = floor.strip()
    pins = _requirement_pins(REPO / ".ci" / "minimum.txt")
    assert set(declared) <= set(pins), f"not in .ci/minimum.txt: {set(declared) - set(pins)}"
    for name, floor in declared.items():
        if name == "torch":
            continue  # the CI machine's only CPU build; the note in .ci/minimum.txt says why
        assert Version(pins[name]) == Version(floor), f"{name}: pinned {pins[name]}, floor {floor}"
    newest = _requirement_pins(REPO / ".ci" / "newest.txt")
    assert set(declared) <= set(newest), f"not in .ci/newest.txt: {set(declared) - set(newest)}"
    assert all(not v for n, v in newest.items() if n != "torch"), "newest.txt pins a version"


def test_ci_runs_both_ends_of_the_range():
    run = (REPO / ".ci" / "run").read_text()
    assert ".ci/versions minimum" in run and ".ci/versions newest" in run


def test_the_package_exports_the_method_without_importing_torch_first():
    """`from threekg_lite import ThreeKG, Pretrainer, ...` works; a bare `import threekg_lite`
    stays light (no torch) until a method name is used."""
    import sys

    code = (
        "import sys, threekg_lite; assert 'torch' not in sys.modules, 'torch imported'; "
        "from threekg_lite import ecg_to_vcg, vcg_to_ecg, ThreeKG, nt_xent, supcon, "
        "build_model, ContrastiveModel, PretrainConfig, Pretrainer; "
        "import threekg_lite.augment as a; assert ThreeKG is a.ThreeKG; "
        "assert set(threekg_lite.__all__) <= set(dir(threekg_lite)); "
        "import threekg_lite.training as p; assert threekg_lite.Pretrainer is p.Pretrainer"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    import threekg_lite

    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        threekg_lite.nonsense  # noqa: B018
