"""The teaching set: the small part of PhysioNet the chapters read, downloaded once when needed.

Where the data directory holds a database, nothing here touches the network. In Colab, or
wherever downloading is on, :func:`teaching_data_dir` downloads :data:`TEACHING_SET` into it;
elsewhere the chapters fall back to synthetic data. ``.teaching-download`` marks a download
under way (so the folder is ours to complete, not a user's data); ``.teaching-complete``
(JSON: versions and records) marks it done, after which a call makes no request at all.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from threekg_lite.data import paths
from threekg_lite.data.download import (
    DEFAULT_WORKERS,
    PHYSIONET_DATABASES,
    PHYSIONET_URL,
    SUMS_FILE,
    fetch_all,
    plan_download,
)
from threekg_lite.runtime.errors import ChecksumError

DOWNLOAD_ENV_VAR = "THREEKG_DOWNLOAD"
URL_ENV_VAR = "THREEKG_PHYSIONET_URL"
COMPLETE_MARKER = ".teaching-complete"
PARTIAL_MARKER = ".teaching-download"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeachingPart:
    """Records of one database (a key of ``PHYSIONET_DATABASES``) that the chapters read, as
    paths without extension (``"records100/00000/00001_lr"``, ``"data/1"``) or, for CinC,
    names; each comes with all its files, and the database's top-level files always come too.
    ``used_by``: which chapters read it, and how."""

    database: str
    records: tuple[str, ...]
    used_by: str

    @property
    def folder(self) -> str:
        """The database's folder inside the data directory."""
        return PHYSIONET_DATABASES[self.database].folder


def ptbxl_record(ecg_id: int, rate: int) -> str:
    """PTB-XL's path of one record: ``records100/00000/00001_lr`` or ``records500/.../_hr``."""
    suffix = {100: "lr", 500: "hr"}[rate]
    return f"records{rate}/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_{suffix}"


PTBXL_IDS_100 = range(1, 2000)
PTBXL_IDS_500 = range(1, 501)
LUDB_IDS = range(1, 201)
PTBDB_RECORDS = ("patient001/s0010_re",)
CINC_RECORDS = (
    "A0689", "A1041", "A2712", "A5215",
    "E00271", "E01137", "E03823", "E05526", "E06320", *(f"E{i:05d}" for i in range(7500, 7550)),
    "E07938", "E09141", "E09314", "E09657", "E10256",
    "HR03961", *(f"HR{i:05d}" for i in range(6000, 6010)), "HR07911", "HR07968", "HR08040",
    "HR08883", "HR09008", "HR09589", "HR09739", "HR09764", "HR09959", "HR11165", "HR12083",
    "HR13792", "HR14287", "HR15935", "HR17691", "HR19293",
    "JS01048", "JS01560", "JS02990", "JS03291", "JS05282", "JS05457", "JS06908", "JS07875",
    "JS09740", "JS11438", "JS13888", "JS13938", "JS14622", "JS17194", "JS17272", "JS19852",
    *(f"JS{i:05d}" for i in range(20000, 20020)), "JS20052", "JS20409", "JS21298", "JS21341",
    "JS22627", "JS23463", "JS23847", "JS23925", "JS24290", "JS24580", "JS26689", "JS27538",
    "JS27602", "JS29662", "JS30970", "JS31542", "JS32776", "JS35823", "JS36330", "JS36785",
    "JS36889", "JS37192", "JS37196", "JS37205", "JS37867", "JS37915", "JS38062", "JS40383",
    "JS42161",
)  # fmt: skip
"""The 156 records of the CinC sample the book was written on, by name (the download finds
each one's path in the challenge's ``SHA256SUMS.txt``)."""

TEACHING_SET: tuple[TeachingPart, ...] = (
    TeachingPart(
        "ptbxl",
        tuple(ptbxl_record(i, 100) for i in PTBXL_IDS_100)
        + tuple(ptbxl_record(i, 500) for i in PTBXL_IDS_500),
        "ecg_id 1-1,999 at 100 Hz (chapters 1, 2, 4, 5) and 1-500 at 500 Hz (chapter 1).",
    ),
    TeachingPart(
        "ludb",
        tuple(f"data/{i}" for i in LUDB_IDS),
        "All 200 records with annotations: waves (chapter 1), axes (2), augmentation (3).",
    ),
    TeachingPart(
        "ptbdb",
        PTBDB_RECORDS,
        "Measured Frank leads: plotted (chapter 1), against reconstructed VCGs (chapter 2).",
    ),
    TeachingPart(
        "cinc2021",
        CINC_RECORDS,
        "Labels (chapter 1), dipole energy (2), the pretraining pool (4, 5).",
    ),
)
"""What the chapters need, about 9,000 files (PTB-XL's full ``ptbxl_database.csv`` and the
challenge's ``SHA256SUMS.txt`` are several MB each), fetched with one progress bar."""


def in_colab() -> bool:
    """Whether this runs in Google Colab: ``google.colab`` is loaded (Colab's kernel imports
    it at start) or ``COLAB_RELEASE_TAG`` is set (a script run from a cell). Imports nothing."""
    return "google.colab" in sys.modules or bool(os.environ.get("COLAB_RELEASE_TAG"))


def download_allowed(download: bool | None = None) -> bool:
    """``download`` when given; else ``THREEKG_DOWNLOAD`` when it says yes (``1``, ``true``,
    ``yes``, ``on``) or no (``0``, ...); else :func:`in_colab`."""
    if download is not None:
        return bool(download)
    env = os.environ.get(DOWNLOAD_ENV_VAR, "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    return in_colab()


def is_complete(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` holds a finished teaching download with every record's header."""
    root = Path(root)
    if not (root / COMPLETE_MARKER).is_file() or (root / PARTIAL_MARKER).exists():
        return False
    for part in TEACHING_SET:
        folder = root / part.folder
        by_name = None  # records given by name (CinC) sit wherever the database puts them
        for record in part.records:
            if "/" in record:
                if not (folder / f"{record}.hea").is_file():
                    return False
                continue
            if by_name is None:
                by_name = {p.stem for p in folder.rglob("*.hea")}
            if record not in by_name:
                return False
    return True


def teaching_data_dir(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool | None = None,
    base_url: str | None = None,
    progress: bool = True,
) -> Path:
    """The data directory (:func:`~.paths.data_dir`) after downloading the teaching set into
    it when it holds neither a complete teaching download nor a user's database and
    :func:`download_allowed`. A failed download raises: the chapters do not fall back
    silently then; calling again resumes."""
    root = paths.data_dir(data_dir)
    if is_complete(root):
        return root
    ours = (root / PARTIAL_MARKER).exists() or (root / COMPLETE_MARKER).exists()
    if not ours and paths.available_databases(root):
        return root
    if not download_allowed(download):
        if ours:
            logger.warning(
                "%s holds an unfinished teaching-set download and downloading is off "
                "(set %s=1 to finish it)",
                root,
                DOWNLOAD_ENV_VAR,
            )
        return root
    _download_teaching_set(root, base_url, progress=progress)
    return root


def download_teaching_set(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    base_url: str | None = None,
    progress: bool = True,
    workers: int = DEFAULT_WORKERS,
) -> Path:
    """Download (or complete) :data:`TEACHING_SET` into the data directory wherever this runs,
    and return the directory (``threekg download teaching``, the book's Pages workflow)."""
    root = paths.data_dir(data_dir)
    if not is_complete(root):
        _download_teaching_set(root, base_url, progress=progress, workers=workers)
    return root


def _download_teaching_set(
    root: Path, base_url: str | None, *, progress: bool, workers: int = DEFAULT_WORKERS
) -> None:
    base_url = base_url or os.environ.get(URL_ENV_VAR) or PHYSIONET_URL
    logger.info("downloading the teaching set from %s into %s", base_url, root)
    root.mkdir(parents=True, exist_ok=True)
    (root / COMPLETE_MARKER).unlink(missing_ok=True)
    (root / PARTIAL_MARKER).write_text(
        f"teaching-set download from {base_url} in progress; run it again to finish it\n",
        encoding="utf-8",
    )
    plans = [
        (part, plan_download(part.database, root, records=part.records, base_url=base_url))
        for part in TEACHING_SET
    ]
    todo = [task for _, plan in plans for task in plan.todo]
    try:
        fetch_all(todo, f"teaching set ({len(todo):,} files)", progress=progress, workers=workers)
    except ChecksumError as err:
        # The failing database's sums list may be the wrong one (a changed mirror): fetch it
        # again next time.
        for _, plan in plans:
            if Path(err.path).is_relative_to(plan.folder):
                (plan.folder / SUMS_FILE).unlink(missing_ok=True)
        raise
    fetched = {
        part.database: {
            "folder": plan.folder.relative_to(root).as_posix(),
            "slug": plan.spec.slug,
            "version": plan.spec.version,
            "records": list(part.records),
        }
        for part, plan in plans
    }
    marker = {"base_url": base_url, "databases": fetched}
    tmp = root / f"{COMPLETE_MARKER}.tmp"
    tmp.write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, root / COMPLETE_MARKER)
    (root / PARTIAL_MARKER).unlink()
