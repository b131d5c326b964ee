"""Download PhysioNet databases, whole or some records, resumable and verified against the
``SHA256SUMS.txt`` every PhysioNet database publishes (``wfdb.dl_database`` does neither).

A file present with the right sum is skipped; others are written to ``<file>.part``, resumed
from there after an interruption (``Range``), and renamed only once their sum is right, so no
wrong or partial file ever sits under the final name. A network failure that outlasts
``retries`` stops the download (``DownloadError``); a file with a wrong sum is deleted and the
first ``ChecksumError`` (:mod:`threekg_lite.runtime.errors`) raised once the others are done.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from threekg_lite.data import paths
from threekg_lite.runtime.checks import check_int
from threekg_lite.runtime.errors import ChecksumError, DownloadError

PHYSIONET_URL = "https://physionet.org/files/"
SUMS_FILE = "SHA256SUMS.txt"
CHUNK_SIZE = 1 << 16
DEFAULT_WORKERS = 8  # enough to hide PhysioNet's per-request latency, few enough to be polite
RETRY_BACKOFF_S = 1.0  # retry k waits k * RETRY_BACKOFF_S seconds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseSpec:
    """One PhysioNet database: where it is published, and its folder in the data directory."""

    slug: str
    version: str
    folder: str
    description: str
    licence: str
    records_folder: str = ""  # where the records are: only it and top-level files are fetched

    def url(self, relative_path: str, base_url: str = PHYSIONET_URL) -> str:
        """``{base_url}/{slug}/{version}/{relative_path}``, with the path percent-encoded."""
        path = urllib.parse.quote(relative_path.lstrip("/"))
        return f"{base_url.rstrip('/')}/{self.slug}/{self.version}/{path}"


PHYSIONET_DATABASES: dict[str, DatabaseSpec] = {
    "ptbxl": DatabaseSpec("ptb-xl", "1.0.3", "ptb-xl", "PTB-XL, 21,799 12-lead ECGs of 10 s "
                          "at 100 and 500 Hz with SCP-ECG labels", "CC BY 4.0"),
    "ludb": DatabaseSpec("ludb", "1.0.1", "ludb", "Lobachevsky University ECG Database, 200 "
                         "12-lead ECGs with P/QRS/T delineation", "ODC-By 1.0"),
    "ptbdb": DatabaseSpec("ptbdb", "1.0.0", "ptbdb", "PTB Diagnostic ECG Database, 549 records "
                          "with 12 leads and 3 Frank leads at 1 kHz", "ODC-By 1.0"),
    "cinc2021": DatabaseSpec("challenge-2021", "1.0.3", "cinc2021", "PhysioNet/CinC Challenge "
                             "2021 training sets, SNOMED-CT labels", "CC BY 4.0", "training/"),
    "cinc2020": DatabaseSpec("challenge-2020", "1.0.2", "cinc2020", "PhysioNet/CinC Challenge "
                             "2020 training sets, SNOMED-CT labels", "CC BY 4.0", "training/"),
}  # fmt: skip

_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$")
_PTBXL_RECORD = re.compile(r"^records(100|500)/\d+/(\d+)_(?:lr|hr)$")


class _Interrupted(Exception):
    """A transfer failed in a way worth retrying; the ``.part`` file is kept."""


def sha256_file(path: paths.PathLike) -> str:
    """The SHA-256 of a file's content, as lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_sha256sums(path_or_text: paths.PathLike) -> dict[str, str]:
    """``SHA256SUMS.txt`` (a path, or the text itself) as relative POSIX path -> lowercase sum.
    Blank and ``#`` lines are skipped, ``sha256sum``'s binary marker ``*`` and a leading ``./``
    removed; a malformed line, or a path that is absolute or climbs out with ``..``, is an error."""
    text = path_or_text
    if not isinstance(text, str) or not (text == "" or "\n" in text or _SUMS_LINE.match(text)):
        text = Path(path_or_text).read_text(encoding="utf-8")
    sums: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _SUMS_LINE.match(line.strip())
        if match is None:
            raise ValueError(f"{SUMS_FILE} line {lineno} is not '<sha256> <path>': {line!r}")
        rel = match[2].removeprefix("./")
        if rel.startswith("/") or ".." in PurePosixPath(rel).parts:
            raise ValueError(f"{SUMS_FILE} line {lineno}: unsafe path {rel!r}")
        sums[rel] = match[1].lower()
    return sums


def _natural_key(text: str) -> list[str | int]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


class _MissingRecordsError(ValueError):
    """Records asked for are not in the database's sums list."""


def _select_files(
    name: str,
    files: Sequence[str],
    records: Sequence[str] | None = None,
    n_records: int | None = None,
    rate: int | None = None,
) -> list[str]:
    """The files to download (arguments checked by :func:`plan_download`). A record is the files
    sharing the stem of a ``.hea``; the top-level files of no record always come too."""
    under = PHYSIONET_DATABASES[name].records_folder  # challenge-2020 also holds papers/, sources/
    files = [rel for rel in files if rel.startswith(under) or "/" not in rel]
    groups: dict[str, list[str]] = {}
    for rel in files:
        stem = rel.rpartition(".")[0] if "." in rel.rpartition("/")[2] else rel
        groups.setdefault(stem, []).append(rel)
    groups = {key: group for key, group in groups.items() if f"{key}.hea" in group}
    in_records = {rel for group in groups.values() for rel in group}
    metadata = [rel for rel in files if "/" not in rel and rel not in in_records]
    off_rate = [k for k in groups if rate and (m := _PTBXL_RECORD.match(k)) and int(m[1]) != rate]
    dropped = {rel for key in off_rate for rel in groups.pop(key)}
    if records is None and n_records is None:
        return sorted(set(files) - dropped)
    if n_records is not None:
        if name == "ptbxl":  # ecg_id 1..N, at the rates kept
            keys = [k for k in groups if (m := _PTBXL_RECORD.match(k)) and int(m[2]) <= n_records]
        else:
            keys = sorted(groups, key=_natural_key)[:n_records]
    else:
        if isinstance(records, str):
            records = [records]
        by_name: dict[str, list[str]] = {}
        for key in groups:
            by_name.setdefault(key.rpartition("/")[2], []).append(key)
        wanted = [r.strip().strip("/").removeprefix("./") for r in records or ()]
        found = {r: [r] if r in groups else by_name.get(r, []) for r in wanted}
        keys = [key for r in wanted for key in found[r]]
        missing = [r for r in wanted if not found[r]]
        if missing:
            at_rate = f" at {rate} Hz" if rate is not None else ""
            raise _MissingRecordsError(
                f"record(s) not found in {name}{at_rate} (by path or name, in {SUMS_FILE}): "
                + ", ".join(repr(r) for r in missing)
            )
    return sorted(set(metadata).union(*(groups[k] for k in keys)))


def _fetch(url: str, part: Path, *, timeout: float, on_bytes: Callable[[int], object]) -> None:
    """One HTTP attempt at ``url`` into ``part``, resuming from its size when it exists."""
    from threekg_lite import __version__  # here, not at import time: no import cycle

    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"threekg-lite/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        with err:
            status, reason = err.code, err.reason
        if status == 416 and offset:  # .part already complete (or too long): the sum decides
            return
        if status >= 500 or status == 429:
            raise _Interrupted(f"HTTP {status} {reason}") from None
        raise DownloadError(f"{url}: HTTP {status} {reason}") from None
    except (OSError, http.client.HTTPException) as err:  # URLError, refused, reset, timeout
        raise _Interrupted(str(getattr(err, "reason", err))) from err
    with response:
        content_range = response.headers.get("Content-Range", "")
        if response.status == 206 and not content_range.startswith(f"bytes {offset}-"):
            part.unlink(missing_ok=True)
            raise _Interrupted(f"server answered range {content_range!r}, not from byte {offset}")
        length = response.headers.get("Content-Length")
        received = 0
        with open(part, "ab" if response.status == 206 else "wb") as fh:  # 200: whole file
            while True:
                try:
                    chunk = response.read(CHUNK_SIZE)
                except (OSError, http.client.HTTPException) as err:  # reset, timeout...
                    raise _Interrupted(f"connection lost after {received} bytes: {err!r}") from err
                if not chunk:
                    break
                fh.write(chunk)
                received += len(chunk)
                on_bytes(len(chunk))
    if length is not None and received < int(length):
        raise _Interrupted(f"connection closed after {received} of {length} bytes")


def _download_file(
    url: str,
    dest: Path,
    expected: str | None,
    *,
    timeout: float,
    retries: int,
    on_bytes: Callable[[int], object] = lambda n: None,
) -> None:
    """Download ``url`` to ``dest`` through ``dest.part``; verify; then rename into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    attempt, restarted = 0, False
    while True:
        resumed = part.exists()
        try:
            _fetch(url, part, timeout=timeout, on_bytes=on_bytes)
        except _Interrupted as err:
            if attempt >= retries:
                raise DownloadError(
                    f"{dest}: download from {url} failed after {attempt + 1} attempt(s): {err}. "
                    f"The partial file {part.name} is kept; run the download again to resume it."
                ) from err
            attempt += 1
            time.sleep(RETRY_BACKOFF_S * attempt)
            continue
        if expected is None or (actual := sha256_file(part)) == expected:
            break
        part.unlink()
        if resumed and not restarted:  # a stale .part (another version?): once more from zero
            restarted = True
            continue
        raise ChecksumError(dest, expected, actual)
    os.replace(part, dest)


def _load_sums(
    spec: DatabaseSpec, folder: Path, base_url: str, *, refresh: bool, timeout: float, retries: int
) -> tuple[dict[str, str], bool]:
    """The database's sums, and whether they are the folder's copy (ignored if ``refresh``)."""
    path, sums = folder / SUMS_FILE, {}
    if path.is_file() and not refresh:
        try:
            sums = read_sha256sums(path)
        except (ValueError, UnicodeDecodeError):
            logger.warning("%s is unreadable; downloading it again", path)
    cached = bool(sums)
    if not cached:
        path.with_name(SUMS_FILE + ".part").unlink(missing_ok=True)
        _download_file(spec.url(SUMS_FILE, base_url), path, None, timeout=timeout, retries=retries)
        sums = read_sha256sums(path)
    sums.pop(SUMS_FILE, None)
    return sums, cached


def download_database(
    name: str,
    dest: paths.PathLike | None = None,
    *,
    records: Sequence[str] | None = None,
    n_records: int | None = None,
    rate: int | None = None,
    base_url: str = PHYSIONET_URL,
    progress: bool = True,
    timeout: float = 60.0,
    retries: int = 3,
    workers: int = DEFAULT_WORKERS,
) -> Path:
    """Download a PhysioNet database (a key of :data:`PHYSIONET_DATABASES`, or its slug or folder
    name), or some of its records, into ``dest/<folder>`` and return that folder (the challenges:
    only their ``training/`` records). ``records``: by path (``"patient001/s0010_re"``) or name
    (``"E07938"``), each with all its files, the top-level non-record files (``RECORDS``, ``*.csv``
    ...) always too; or the first ``n_records`` (ptbxl: ``ecg_id`` 1..N; others: natural order);
    ``rate``: ptbxl's 100 or 500 Hz only. A file's URL is ``{base_url}/{slug}/{version}/{path}``.
    ``timeout`` (s) is per connection and read, ``retries`` per file. ``workers`` threads:
    PhysioNet serves one small file per request, so latency, not bandwidth, bounds a one-at-a-time
    download. All of PTB-XL is ~87,000 files (3 GB); files present are re-hashed to be trusted."""
    selection = dict(records=records, n_records=n_records, rate=rate)
    plan = plan_download(
        name, dest, base_url=base_url, timeout=timeout, retries=retries, **selection
    )
    desc = f"{plan.spec.slug} {plan.spec.version}"
    fetch_all(plan.todo, desc, progress=progress, workers=workers, timeout=timeout, retries=retries)
    return plan.folder


@dataclass(frozen=True)
class DownloadPlan:
    """What :func:`download_database` fetches: ``(url, dest, sum)`` per file missing or wrong."""

    spec: DatabaseSpec
    folder: Path
    todo: tuple[tuple[str, Path, str], ...]


def plan_download(
    name: str,
    dest: paths.PathLike | None = None,
    *,
    records: Sequence[str] | None = None,
    n_records: int | None = None,
    rate: int | None = None,
    base_url: str = PHYSIONET_URL,
    timeout: float = 60.0,
    retries: int = 3,
) -> DownloadPlan:
    """The files of a download, without fetching them (arguments as :func:`download_database`): only
    the sums list is downloaded (once: it is kept), and every selected file on disk is hashed."""
    lookup = {a.lower(): k for k, s in PHYSIONET_DATABASES.items() for a in (k, s.slug, s.folder)}
    key = lookup.get(name.lower())
    if key is None:
        raise ValueError(f"unknown database {name!r}; known: {', '.join(PHYSIONET_DATABASES)}")
    if records is not None and n_records is not None:
        raise ValueError("give records or n_records, not both")
    if rate is not None and (key != "ptbxl" or rate not in (100, 500)):
        raise ValueError(f"rate={rate!r}: only ptbxl has a choice of rate, 100 or 500 (Hz)")
    if (n_records is not None and n_records < 0) or retries < 0:
        raise ValueError(f"n_records and retries must be >= 0, got {n_records}, {retries}")
    spec = PHYSIONET_DATABASES[key]
    folder = paths.data_dir(dest) / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    kw = dict(timeout=timeout, retries=retries)
    sums, cached = _load_sums(spec, folder, base_url, refresh=False, **kw)
    try:
        files = _select_files(key, list(sums), records, n_records, rate)
    except _MissingRecordsError:  # a stale local copy of the list?
        if not cached:
            raise
        logger.info("records missing from the local %s; fetching it again", SUMS_FILE)
        sums, _ = _load_sums(spec, folder, base_url, refresh=True, **kw)
        files = _select_files(key, list(sums), records, n_records, rate)
    todo = tuple(
        (spec.url(rel, base_url), folder / rel, sums[rel])
        for rel in files
        if not ((folder / rel).is_file() and sha256_file(folder / rel) == sums[rel])
    )
    logger.info("%s: %d files selected, %d to download", spec.slug, len(files), len(todo))
    return DownloadPlan(spec, folder, todo)


def fetch_all(
    todo: Sequence[tuple[str, Path, str]],
    desc: str,
    *,
    progress: bool = True,
    workers: int = DEFAULT_WORKERS,
    timeout: float = 60.0,
    retries: int = 3,
) -> None:
    """Download every ``(url, dest, sum)`` of ``todo``, ``workers`` at a time, with one progress
    bar of the bytes. A ``DownloadError`` starts no further file (those under way finish)."""
    check_int("workers", workers)
    lock = threading.Lock()
    bar = tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=not progress)

    def count(n: int) -> None:
        with lock:
            bar.update(n)

    failures: list[ChecksumError] = []
    ok = 0
    with bar, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="physionet") as pool:
        kw = dict(timeout=timeout, retries=retries, on_bytes=count)
        futures = [pool.submit(_download_file, *task, **kw) for task in todo]
        try:
            for future in as_completed(futures):
                try:
                    future.result()
                except ChecksumError as err:
                    logger.warning("%s", err)
                    failures.append(err)
                    continue
                with lock:
                    ok += 1
                    bar.set_postfix_str(f"file {ok}/{len(todo)}", refresh=False)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    if failures:
        raise failures[0]
