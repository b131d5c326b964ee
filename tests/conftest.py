"""Shared fixtures: where the real PhysioNet data is.

The tests read the real files (never copies committed to the repository). The data directory
is ``THREEKG_DATA_DIR``, or ``../shared/data`` beside the repository. Where neither exists the
data tests are skipped, unless ``THREEKG_REQUIRE_DATA=1`` (set by ``.ci/run``), which turns a
missing data directory into a failure so that CI can never pass by skipping them.
"""

from __future__ import annotations

import os
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
