"""Where the data lives: the ``data_dir`` argument (``--data-dir``), else ``THREEKG_DATA_DIR``,
else the download cache ``~/.cache/threekg-lite`` (or ``$XDG_CACHE_HOME/threekg-lite``). Inside
it, each database sits in its own folder in PhysioNet's layout, under one of the names of
:data:`DATABASE_FOLDERS`.
"""

from __future__ import annotations

import os
from pathlib import Path

from threekg_lite.runtime.errors import DataNotFoundError

ENV_VAR = "THREEKG_DATA_DIR"

DATABASE_FOLDERS: dict[str, tuple[str, ...]] = {
    "ptbxl": ("ptb-xl", "ptbxl", "ptb-xl-a-large-publicly-available-electrocardiography-dataset"),
    "ludb": ("ludb", "lobachevsky-university-electrocardiography-database"),
    "cinc": ("cinc2021", "cinc2021-sample", "challenge-2021", "cinc2020", "challenge-2020"),
    "ptbdb": ("ptbdb", "ptbdb-frank"),
}

HOW_TO_GET_DATA = (
    "Point threekg_lite at a folder holding the databases in PhysioNet's layout, either with "
    "the environment variable THREEKG_DATA_DIR=/path/to/data or the data_dir argument "
    "(--data-dir on the command line); or download them with `threekg download ptbxl` "
    "(needs internet); or use the synthetic generator (threekg_lite.data.synthetic), which "
    "needs no data at all."
)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/threekg-lite`` or ``~/.cache/threekg-lite`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "threekg-lite"


def data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data directory (which need not exist: :func:`database_dir` checks)."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR, "")
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


def database_dir(database: str, data_dir_: str | os.PathLike[str] | None = None) -> Path:
    """The folder of one database inside the data directory (or the directory itself, when
    it is that folder); an error lists the folders tried and how to get the data."""
    if database not in DATABASE_FOLDERS:
        raise ValueError(f"unknown database {database!r}; known: {sorted(DATABASE_FOLDERS)}")
    root = data_dir(data_dir_)
    if not root.exists():
        raise DataNotFoundError(f"data directory {root} does not exist. {HOW_TO_GET_DATA}")
    if not root.is_dir():
        raise DataNotFoundError(f"data directory {root} is not a folder. {HOW_TO_GET_DATA}")
    names = DATABASE_FOLDERS[database]
    if root.name in names:
        return root
    for name in names:
        candidate = root / name
        if candidate.is_dir():
            return candidate
    raise DataNotFoundError(
        f"no {database} folder in {root} (looked for {', '.join(names)}). {HOW_TO_GET_DATA}"
    )


def database_file(folder: str | os.PathLike[str], name: str, what: str) -> Path:
    """``folder / name``, which must exist: it is how a folder is recognised as ``what``."""
    path = Path(folder) / name
    if not path.exists():
        raise DataNotFoundError(f"{path} is missing: not {what} folder. {HOW_TO_GET_DATA}")
    return path


def available_databases(data_dir_: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """The databases present in the data directory, as ``{key: folder}``; never raises for
    a missing directory: notebooks use it to choose between real and synthetic data."""
    found = {}
    for key in DATABASE_FOLDERS:
        try:
            found[key] = database_dir(key, data_dir_)
        except DataNotFoundError:
            pass
    return found
