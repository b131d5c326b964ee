"""Where the data lives: the ``data_dir`` argument (``--data-dir``), else ``THREEKG_DATA_DIR``,
else the download cache (:func:`default_cache_dir`). Inside it, each database sits in its own
folder in PhysioNet's layout, under one of the names of :data:`DATABASE_FOLDERS`."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from threekg_lite.runtime.errors import DataNotFoundError

PathLike = str | os.PathLike[str]  # a path argument
ENV_VAR = "THREEKG_DATA_DIR"

DATABASE_FOLDERS: dict[str, tuple[str, ...]] = {
    "ptbxl": ("ptb-xl", "ptbxl", "ptb-xl-a-large-publicly-available-electrocardiography-dataset"),
    "ludb": ("ludb", "lobachevsky-university-electrocardiography-database"),
    "cinc": ("cinc2021", "cinc2021-sample", "challenge-2021", "cinc2020", "challenge-2020"),
    "ptbdb": ("ptbdb", "ptbdb-frank"),
}

HOW_TO_GET_DATA = (
    "Point threekg_lite at a folder holding the databases in PhysioNet's layout, either with the "
    "environment variable THREEKG_DATA_DIR=/path/to/data or the data_dir argument (--data-dir on "
    "the command line); or download them with `threekg download ptbxl` (needs internet); or use "
    "the synthetic generator (threekg_lite.data.synthetic), which needs no data at all."
)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/threekg-lite`` or ``~/.cache/threekg-lite`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "threekg-lite"


def data_dir(data_dir: PathLike | None = None) -> Path:
    """The data directory (which need not exist: :func:`database_dir` checks)."""
    chosen = str(data_dir or "") or os.environ.get(ENV_VAR, "")
    return Path(chosen).expanduser() if chosen else default_cache_dir()


def database_dir(database: str, data_dir_: PathLike | None = None) -> Path:
    """The folder of one database inside the data directory (or the directory itself, when
    it is that folder); an error lists the folders tried and how to get the data."""
    if database not in DATABASE_FOLDERS:
        raise ValueError(f"unknown database {database!r}; known: {sorted(DATABASE_FOLDERS)}")
    root = data_dir(data_dir_)
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "does not exist"
        raise DataNotFoundError(f"data directory {root} {problem}. {HOW_TO_GET_DATA}")
    names = DATABASE_FOLDERS[database]
    if root.name in names:
        return root
    found = next((root / name for name in names if (root / name).is_dir()), None)
    if found is not None:
        return found
    raise DataNotFoundError(
        f"no {database} folder in {root} (looked for {', '.join(names)}). {HOW_TO_GET_DATA}"
    )


def database_file(folder: PathLike, name: str, what: str) -> Path:
    """``folder / name``, which must exist: it is how a folder is recognised as ``what``."""
    path = Path(folder) / name
    if not path.exists():
        raise DataNotFoundError(f"{path} is missing: not {what} folder. {HOW_TO_GET_DATA}")
    return path


def available_databases(data_dir_: PathLike | None = None) -> dict[str, Path]:
    """The databases present in the data directory, as ``{key: folder}``; never raises for
    a missing directory: notebooks use it to choose between real and synthetic data."""
    found = {}
    for key in DATABASE_FOLDERS:
        with contextlib.suppress(DataNotFoundError):
            found[key] = database_dir(key, data_dir_)
    return found
