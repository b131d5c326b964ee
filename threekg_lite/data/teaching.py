"""The teaching set: the small part of PhysioNet the chapters read, downloaded once when needed.

On a machine with the databases (``THREEKG_DATA_DIR``, ``--data-dir``, the shared data of CI)
nothing here touches the network. In Google Colab, or wherever downloading is switched on, with
no database in the data directory, :func:`teaching_data_dir` downloads :data:`TEACHING_SET` from
PhysioNet into the data directory (default: the user cache) with
:func:`~threekg_lite.data.download.download_database`, so every file is checked against
PhysioNet's SHA-256 sums. A chapter starts with::

    from threekg_lite.data.teaching import teaching_data_dir

    root = teaching_data_dir(data_dir or None)
    available = available_databases(root)

Where no download is allowed and no data is found, the folder is returned as it is, and the
chapters fall back to the synthetic generator.

Bookkeeping, in the data directory:

``.teaching-download``
    Written before the download starts, removed once it is complete. While it is there the
    folder holds a teaching download of ours, not a user's data, so the next call completes it
    (files already verified are skipped; partial files are resumed).
``.teaching-complete``
    Written at the end: JSON naming, per database, the version and the records fetched. While it
    is there and every record of :data:`TEACHING_SET` is present, a call returns at once: no
    HTTP request, no file re-hashed.

Nothing here runs at import time, and nothing is imported from Colab.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

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
"""``1`` (or ``true``, ``yes``, ``on``) allows the download anywhere, ``0`` (or ``false``,
``no``, ``off``) forbids it even in Colab; unset or anything else: allowed only in Colab."""
URL_ENV_VAR = "THREEKG_PHYSIONET_URL"
"""A PhysioNet mirror, ``{base}/{slug}/{version}/{path}`` as :data:`PHYSIONET_URL`."""
COMPLETE_MARKER = ".teaching-complete"
PARTIAL_MARKER = ".teaching-download"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeachingPart:
    """Records of one database that the chapters read.

    Attributes
    ----------
    database
        A key of :data:`~threekg_lite.data.download.PHYSIONET_DATABASES`.
    records
        Record paths inside the database folder, without extension, as in PhysioNet's
        ``RECORDS`` (``"records100/00000/00001_lr"``, ``"data/1"``, ``"patient001/s0010_re"``).
        Each comes with all its files (header, signals, annotations); the database's top-level
        files (``RECORDS``, ``LICENSE.txt``, tables) always come too.
    used_by
        Which chapters read it, and how.
    """

    database: str
    records: tuple[str, ...]
    used_by: str

    @property
    def folder(self) -> str:
        """The database's folder inside the data directory (``ptb-xl``, ``ludb``, ``ptbdb``)."""
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
"""The 156 records of the CinC 2020/2021 sample the book was written on (CPSC ``A*``,
Georgia ``E*``, PTB-XL ``HR*``, Chapman-Shaoxing and Ningbo ``JS*``), by name: the
download finds each one's path in the challenge's ``SHA256SUMS.txt``."""

TEACHING_SET: tuple[TeachingPart, ...] = (
    TeachingPart(
        "ptbxl",
        tuple(ptbxl_record(i, 100) for i in PTBXL_IDS_100)
        + tuple(ptbxl_record(i, 500) for i in PTBXL_IDS_500),
        "ecg_id 1-1,999 at 100 Hz and 1-500 at 500 Hz. Chapter 1 loads ids 1-500 at 500 Hz "
        "(the lead identities) and the 100 Hz records (label counts); chapter 2 the 100 Hz "
        "records (dipole energy); chapters 4 and 5 the 100 Hz records (pretraining pool, "
        "k-NN probe, label-efficiency split, test fold 10). Plus ptbxl_database.csv and "
        "scp_statements.csv.",
    ),
    TeachingPart(
        "ludb",
        tuple(f"data/{i}" for i in LUDB_IDS),
        "All 200 records with their P/QRS/T annotations (the whole database). Chapter 1 loads "
        "them all and plots the waves of record 1; chapter 2 compares the electrical axis of "
        "every record with LUDB's (records 1-60 in fast mode); chapter 3 augments record 1.",
    ),
    TeachingPart(
        "ptbdb",
        PTBDB_RECORDS,
        "patient001/s0010_re, 12 leads with the measured Frank leads vx, vy, vz at 1 kHz: "
        "chapter 1 plots them, chapter 2 compares VCGs reconstructed from 12 leads with them.",
    ),
    TeachingPart(
        "cinc2021",
        CINC_RECORDS,
        "The 156 challenge records of CINC_RECORDS: chapter 1 shows their labels, chapter 2 "
        "their dipole energy, chapters 4 and 5 add them to the pretraining pool.",
    ),
)
"""What the chapters need, about 9,000 files: PTB-XL ecg_id 1-1,999 at 100 Hz and 1-500 at
500 Hz, LUDB complete (200 records with annotations), the PTB Diagnostic record with Frank
leads and 156 CinC challenge records, plus each database's top-level files (PTB-XL's full
``ptbxl_database.csv`` and the challenge's ``SHA256SUMS.txt`` are several MB each). The files
are fetched several at a time, with one progress bar for the whole set."""


def in_colab() -> bool:
    """Whether this runs in Google Colab: ``google.colab`` is loaded (Colab's kernel imports
    it at start), or Colab's ``COLAB_RELEASE_TAG`` is set (a script run from a Colab cell).

    Imports nothing.
    """
    return "google.colab" in sys.modules or bool(os.environ.get("COLAB_RELEASE_TAG"))


def download_allowed(download: bool | None = None) -> bool:
    """``download`` when given; else ``THREEKG_DOWNLOAD`` when it says yes or no; else
    :func:`in_colab`."""
    if download is not None:
        return bool(download)
    env = os.environ.get(DOWNLOAD_ENV_VAR, "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    return in_colab()


def is_complete(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` holds a finished teaching download with every record of
    :data:`TEACHING_SET` (checked by the headers' presence, without reading them; a record
    given by name is looked for anywhere in its database's folder)."""
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
    """The data directory the chapters should read, after downloading the teaching set if needed.

    Parameters
    ----------
    data_dir
        As :func:`threekg_lite.data.paths.data_dir`: the argument, else ``THREEKG_DATA_DIR``,
        else the user cache (``~/.cache/threekg-lite``).
    download
        Allow the download: True or False; None (default) allows it in Colab or when
        ``THREEKG_DOWNLOAD=1`` (``THREEKG_DOWNLOAD=0`` forbids it even in Colab).
    base_url
        The PhysioNet mirror; default ``THREEKG_PHYSIONET_URL``, else
        ``https://physionet.org/files/``.
    progress
        Show download progress bars.

    Returns
    -------
    pathlib.Path
        The data directory, unchanged when

        * it holds a complete teaching download (no request made);
        * it holds any database not downloaded here (the user's data, used as it is);
        * downloading is not allowed (it may then be empty or missing: the chapters use
          synthetic data);

        otherwise after downloading :data:`TEACHING_SET` into it (or completing an earlier,
        interrupted download).

    Raises
    ------
    DownloadError, ChecksumError
        From :func:`~threekg_lite.data.download.download_database`, when a download was allowed
        and failed: the chapters do not fall back silently then. Calling again resumes; after a
        checksum error the database's sums list is fetched again.
    """
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
    url = base_url or os.environ.get(URL_ENV_VAR) or PHYSIONET_URL
    _download_teaching_set(root, url, progress=progress)
    return root


def download_teaching_set(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    base_url: str | None = None,
    progress: bool = True,
    workers: int = DEFAULT_WORKERS,
) -> Path:
    """Download (or complete) :data:`TEACHING_SET` into the data directory, wherever this
    runs, and return the directory: ``threekg download teaching``, and the book's Pages
    workflow before it builds the book. A complete teaching download is left as it is."""
    root = paths.data_dir(data_dir)
    if not is_complete(root):
        url = base_url or os.environ.get(URL_ENV_VAR) or PHYSIONET_URL
        _download_teaching_set(root, url, progress=progress, workers=workers)
    return root


def _download_teaching_set(
    root: Path, base_url: str, *, progress: bool, workers: int = DEFAULT_WORKERS
) -> None:
    logger.info("downloading the teaching set from %s into %s", base_url, root)
    root.mkdir(parents=True, exist_ok=True)
    (root / COMPLETE_MARKER).unlink(missing_ok=True)
    (root / PARTIAL_MARKER).write_text(
        f"teaching-set download from {base_url} in progress; run it again to finish it\n",
        encoding="utf-8",
    )
    plans = []
    for part in TEACHING_SET:
        plan = plan_download(part.database, root, records=part.records, base_url=base_url)
        plans.append((part, plan))
    todo = [task for _, plan in plans for task in plan.todo]
    desc = f"teaching set ({len(todo):,} files)"
    try:
        with tqdm(
            unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=not progress
        ) as bar:
            fetch_all(todo, bar, workers=workers)
    except ChecksumError as err:
        # The failing database's sums list may be the wrong one (a changed mirror): fetch it
        # again next time.
        for _, plan in plans:
            if Path(err.path).is_relative_to(plan.folder):
                (plan.folder / SUMS_FILE).unlink(missing_ok=True)
        raise
    fetched = {}
    for part, plan in plans:
        spec = PHYSIONET_DATABASES[part.database]
        fetched[part.database] = {
            "folder": plan.folder.relative_to(root).as_posix(),
            "slug": spec.slug,
            "version": spec.version,
            "records": list(part.records),
        }
    marker = {"base_url": base_url, "databases": fetched}
    tmp = root / f"{COMPLETE_MARKER}.tmp"
    tmp.write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, root / COMPLETE_MARKER)
    (root / PARTIAL_MARKER).unlink()
