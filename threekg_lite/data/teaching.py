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

from threekg_lite.data import download as dl
from threekg_lite.data import paths
from threekg_lite.runtime.errors import ChecksumError

DOWNLOAD_ENV_VAR = "THREEKG_DOWNLOAD"
URL_ENV_VAR = "THREEKG_PHYSIONET_URL"
COMPLETE_MARKER = ".teaching-complete"
PARTIAL_MARKER = ".teaching-download"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeachingPart:
    """Records of one database (a key of ``PHYSIONET_DATABASES``) that the chapters read, as
    paths without extension (``"records100/00000/00001_lr"``, ``"data/1"``) or, for CinC, names,
    each with all its files (the database's top-level files always come too); ``used_by``: which
    chapters read it, and how."""

    database: str
    records: tuple[str, ...]
    used_by: str


def ptbxl_record(ecg_id: int, rate: int) -> str:
    """PTB-XL's path of one record: ``records100/00000/00001_lr`` or ``records500/.../_hr``."""
    suffix = {100: "lr", 500: "hr"}[rate]
    return f"records{rate}/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_{suffix}"


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
        tuple(ptbxl_record(i, 100) for i in range(1, 2000))
        + tuple(ptbxl_record(i, 500) for i in range(1, 501)),
        "ecg_id 1-1,999 at 100 Hz (chapters 1, 2, 4, 5) and 1-500 at 500 Hz (chapter 1).",
    ),
    TeachingPart(
        "ludb",
        tuple(f"data/{i}" for i in range(1, 201)),
        "All 200 records with annotations: waves (chapter 1), axes (2), augmentation (3).",
    ),
    TeachingPart(
        "ptbdb",
        ("patient001/s0010_re",),
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


def is_complete(root: paths.PathLike) -> bool:
    """Whether ``root`` holds a finished teaching download with every record's header."""
    root = Path(root)
    if not (root / COMPLETE_MARKER).is_file() or (root / PARTIAL_MARKER).exists():
        return False
    for part in TEACHING_SET:
        folder = root / dl.PHYSIONET_DATABASES[part.database].folder
        by_path = {r for r in part.records if "/" in r}
        if not all((folder / f"{r}.hea").is_file() for r in by_path):
            return False
        by_name = set(part.records) - by_path  # (CinC) wherever the database puts them
        if by_name and not by_name <= {p.stem for p in folder.rglob("*.hea")}:
            return False
    return True


def teaching_data_dir(
    data_dir: paths.PathLike | None = None,
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
    ours = (root / PARTIAL_MARKER).exists() or (root / COMPLETE_MARKER).exists()
    if is_complete(root) or (not ours and paths.available_databases(root)):
        return root
    if not download_allowed(download):
        if ours:
            msg = "%s holds an unfinished teaching-set download and downloading is off (%s=1)"
            logger.warning(msg, root, DOWNLOAD_ENV_VAR)
        return root
    return download_teaching_set(root, base_url=base_url, progress=progress)


def download_teaching_set(
    data_dir: paths.PathLike | None = None,
    *,
    base_url: str | None = None,
    progress: bool = True,
    workers: int = dl.DEFAULT_WORKERS,
) -> Path:
    """Download (or complete) :data:`TEACHING_SET` into the data directory wherever this runs,
    and return the directory (``threekg download teaching``, the book's Pages workflow)."""
    root = paths.data_dir(data_dir)
    if is_complete(root):
        return root
    base_url = base_url or os.environ.get(URL_ENV_VAR) or dl.PHYSIONET_URL
    logger.info("downloading the teaching set from %s into %s", base_url, root)
    root.mkdir(parents=True, exist_ok=True)
    (root / COMPLETE_MARKER).unlink(missing_ok=True)
    (root / PARTIAL_MARKER).write_text(
        f"teaching-set download from {base_url} in progress; run it again to finish it\n",
        encoding="utf-8",
    )
    plans = [
        (part, dl.plan_download(part.database, root, records=part.records, base_url=base_url))
        for part in TEACHING_SET
    ]
    todo = [task for _, plan in plans for task in plan.todo]
    desc = f"teaching set ({len(todo):,} files)"
    try:
        dl.fetch_all(todo, desc, progress=progress, workers=workers)
    except ChecksumError as err:
        # the failing database's sums list may be stale (a changed mirror): fetch it anew
        for _, plan in plans:
            if Path(err.path).is_relative_to(plan.folder):
                (plan.folder / dl.SUMS_FILE).unlink(missing_ok=True)
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
    (root / COMPLETE_MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    (root / PARTIAL_MARKER).unlink()  # last: a crash before it leaves the download unfinished
    return root
