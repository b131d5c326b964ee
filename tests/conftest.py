"""Shared fixtures: where the real PhysioNet data is, and which PTB-XL records it holds.

The tests read the real files (never copies committed to the repository). The data directory
is ``THREEKG_DATA_DIR``, or ``../shared/data`` beside the repository. Where neither exists the
data tests are skipped, unless ``THREEKG_REQUIRE_DATA=1`` (set by ``.ci/run``), which turns a
missing data directory into a failure so that CI can never pass by skipping them.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _find_data_dir() -> Path | None:
    env = os.environ.get("THREEKG_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if (c / "ptb-xl" / "ptbxl_database.csv").exists():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data directory (PTB-XL, LUDB, CinC sample, PTB record)."""
    found = _find_data_dir()
    if found is None:
        msg = "no real data: set THREEKG_DATA_DIR to a folder holding ptb-xl/, ludb/, ..."
        if os.environ.get("THREEKG_REQUIRE_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return found


# ---------------------------------------------------------------------------------------------
# PTB-XL on disk: the shared folder is a partial mirror. Its ptbxl_database.csv is PhysioNet's
# complete table (21,837 rows), while only some records (ecg_id 1-1999 at 100 Hz, 1-500 at
# 500 Hz) are on disk. What the loaders should give is computed here from the files present,
# found by listing the record folders (not through the table's filename columns, which is how
# the loader finds them).


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def ptbxl_csv_rows(data_dir) -> list[dict[str, str]]:
    """Every row of ``ptb-xl/ptbxl_database.csv`` as text (plain ``csv``), in the table's order,
    including the records the mirror does not hold."""
    return _read_csv(data_dir / "ptb-xl" / "ptbxl_database.csv")


@pytest.fixture(scope="session")
def ptbxl_ids_on_disk(data_dir) -> dict[int, set[int]]:
    """Sampling rate (100, 500) -> the ecg_ids whose record (``.hea`` and ``.dat``) is on disk:
    ``records100/*/<id>_lr.*`` and ``records500/*/<id>_hr.*``."""
    out = {}
    for fs, suffix in ((100, "lr"), (500, "hr")):
        folder = data_dir / "ptb-xl" / f"records{fs}"
        out[fs] = {
            int(hea.name.split("_")[0])
            for hea in folder.glob(f"*/*_{suffix}.hea")
            if hea.with_suffix(".dat").exists()
        }
    return out


@pytest.fixture(scope="session")
def ptbxl_rows(ptbxl_csv_rows, ptbxl_ids_on_disk) -> list[dict[str, str]]:
    """The rows of ``ptbxl_database.csv`` whose 100 Hz record is on disk, in the table's order:
    what ``load_ptbxl(fs=100)`` must load."""
    return [r for r in ptbxl_csv_rows if int(r["ecg_id"]) in ptbxl_ids_on_disk[100]]


@pytest.fixture(scope="module")
def single_thread():
    """One thread for torch and for the BLAS under scikit-learn's lbfgs: the fits are tiny,
    and on a shared machine several threads mostly wait for each other."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# A fake PhysioNet on 127.0.0.1 (tests/physionet_server.py), for the download tests. A test
# module that uses it declares what is served as a module-level ``PHYSIONET``:
# ``{"<slug>/<version>": {"<path served>": "<path in the data directory>" or b"<content>"}}``.


@pytest.fixture(scope="module")
def physionet_files(request, tmp_path_factory, data_dir) -> Path:
    """The module's ``PHYSIONET`` layout copied from the real data into
    ``<root>/files/<slug>/<version>/``, each database with its ``SHA256SUMS.txt``; the root."""
    from physionet_server import write_sums

    root = tmp_path_factory.mktemp("physionet")
    for slug_version, files in request.module.PHYSIONET.items():
        folder = root / "files" / slug_version
        for served, source in files.items():
            (folder / served).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, bytes):
                (folder / served).write_bytes(source)
            else:
                shutil.copyfile(data_dir / source, folder / served)
        write_sums(folder)
    return root


@pytest.fixture(scope="module")
def physionet_server(physionet_files):
    """The fake PhysioNet serving :func:`physionet_files`, one per test module."""
    from physionet_server import FakePhysioNet

    with FakePhysioNet(physionet_files) as server:
        yield server


@pytest.fixture
def physionet(physionet_server, monkeypatch):
    """The module's fake PhysioNet with its switches and request log reset, reached with no
    proxy in between and no wait between retries."""
    from physionet_server import connect_directly

    physionet_server.reset()
    connect_directly(monkeypatch)
    return physionet_server
