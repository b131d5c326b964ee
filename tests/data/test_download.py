"""Tests of threekg_lite.data.download against a fake PhysioNet on 127.0.0.1 (no internet)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import socket
from pathlib import Path

import pytest
from physionet_server import (
    FakePhysioNet,
    count_concurrent_downloads,
)

from threekg_lite.data import download as dl
from threekg_lite.runtime.errors import ChecksumError, DownloadError

TIMEOUT = 5.0

PTBXL_100 = [f"records100/00000/{i:05d}_lr" for i in range(1, 6)]
PTBXL_500 = [f"records500/00000/{i:05d}_hr" for i in range(1, 3)]
PTBXL_META = ["LICENSE.txt", "ptbxl_database.csv", "scp_statements.csv"]
LUDB_META = ["LICENSE.txt", "RECORDS", "ludb.csv"]
LUDB_EXT = ["avf", "avl", "avr", "dat", "hea", "i", "ii", "iii"] + [f"v{i}" for i in range(1, 7)]
CINC = {"training/georgia/g8": ["E07938"], "training/cpsc_2018/g1": ["A0689"]}
# challenge-2020 1.0.2's layout: training/<source>/g<k>/ with a RECORDS file per group, beside
# papers/ and sources/, which are not training data.
CINC2020 = {"training/ptb-xl/g7": ["HR06001", "HR06002"], "training/georgia/g8": ["E07500"]}
PHYSIONET = {  # a small copy of the shared data, served by the conftest's fake PhysioNet
    "ptb-xl/1.0.3": {
        rel: f"ptb-xl/{rel}"
        for rel in PTBXL_META + [f"{r}.{e}" for r in PTBXL_100 + PTBXL_500 for e in ("hea", "dat")]
    },
    "ludb/1.0.1": {n: f"ludb/{n}" for n in LUDB_META}
    | {f"data/{r}.{e}": f"ludb/data/{r}.{e}" for r in ("1", "2") for e in LUDB_EXT},
    "ptbdb/1.0.0": {
        f"patient001/s0010_re.{e}": f"ptbdb-frank/s0010_re.{e}" for e in ("hea", "dat", "xyz")
    }
    | {"RECORDS": b"patient001/s0010_re\n"},
    "challenge-2021/1.0.3": {
        f"{folder}/{name}.{e}": f"cinc2021-sample/{name}.{e}"
        for folder, names in CINC.items()
        for name in names
        for e in ("hea", "mat")
    },
    "challenge-2020/1.0.2": {
        f"{folder}/{name}.{e}": f"cinc2021-sample/{name}.{e}"
        for folder, names in CINC2020.items()
        for name in names
        for e in ("hea", "mat")
    }
    | {f"{folder}/RECORDS": "\n".join(names).encode() + b"\n" for folder, names in CINC2020.items()}
    | {
        "LICENSE.txt": b"Creative Commons Attribution 4.0 International Public License\n",
        "papers/2020ChallengePaper.pdf": b"%PDF-1.4 not training data\n",
        "sources/team/HR06001.hea": b"an entry's copy of a record: not training data\n",
        "sources/team/HR06001.mat": b"\x00" * 64,
    },
}


def fetch(physionet: FakePhysioNet, name: str, dest: Path, **kwargs: object) -> Path:
    kwargs = {"progress": False, "timeout": TIMEOUT, "base_url": physionet.url} | kwargs
    return dl.download_database(name, dest, **kwargs)  # type: ignore[arg-type]


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def assert_same_as_served(
    physionet_files: Path, slug_version: str, folder: Path, sums: bool = True
) -> None:
    for rel in files_under(folder) - (set() if sums else {"SHA256SUMS.txt"}):
        assert (folder / rel).read_bytes() == (
            physionet_files / "files" / slug_version / rel
        ).read_bytes()


# --- helpers and registry -------------------------------------------------------------------


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    for name, data in {"empty": b"", "small": b"abc", "big": bytes(range(256)) * 20_000}.items():
        (tmp_path / name).write_bytes(data)
        assert dl.sha256_file(tmp_path / name) == hashlib.sha256(data).hexdigest()
        assert dl.sha256_file(str(tmp_path / name)) == hashlib.sha256(data).hexdigest()


def test_read_sha256sums_text_and_path(tmp_path: Path, data_dir: Path) -> None:
    a, b = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
    text = f"# comment\n\n{a.upper()} records/x.hea\n{b}  *./LICENSE.txt\n"
    expected = {"records/x.hea": a, "LICENSE.txt": b}
    assert dl.read_sha256sums(text) == expected
    assert dl.read_sha256sums(f"{a} one/line.dat") == {"one/line.dat": a}
    assert dl.read_sha256sums("") == {}
    (tmp_path / "SUMS.txt").write_text(text)
    assert dl.read_sha256sums(tmp_path / "SUMS.txt") == expected
    assert dl.read_sha256sums(str(tmp_path / "SUMS.txt")) == expected
    if (data_dir / "ptb-xl/SHA256SUMS.txt").is_file():  # PhysioNet's own list parses
        real = dl.read_sha256sums(data_dir / "ptb-xl/SHA256SUMS.txt")
        assert real["ptbxl_database.csv"].startswith("cd9bf4e6") and len(real) > 400
    with pytest.raises(ValueError, match="line 1"):
        dl.read_sha256sums("not a sum\nx\n")
    with pytest.raises(ValueError, match="unsafe"):
        dl.read_sha256sums(f"{a} ../escape.txt\n")


def test_registry_and_urls() -> None:
    expected = {
        "ptbxl": ("ptb-xl", "1.0.3", "ptb-xl"),
        "ludb": ("ludb", "1.0.1", "ludb"),
        "ptbdb": ("ptbdb", "1.0.0", "ptbdb"),
        "cinc2021": ("challenge-2021", "1.0.3", "cinc2021"),
        "cinc2020": ("challenge-2020", "1.0.2", "cinc2020"),
    }
    got = {k: (s.slug, s.version, s.folder) for k, s in dl.PHYSIONET_DATABASES.items()}
    assert got == expected
    spec = dl.PHYSIONET_DATABASES["ptbxl"]
    assert spec.licence and spec.description
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.version = "9"  # type: ignore[misc]
    url = "https://physionet.org/files/ptb-xl/1.0.3/records100/00000/00001_lr.hea"
    assert spec.url("records100/00000/00001_lr.hea") == url
    assert spec.url("/records100/00000/00001_lr.hea", "https://physionet.org/files") == url
    assert spec.url("a b.txt", "http://h/x//") == "http://h/x/ptb-xl/1.0.3/a%20b.txt"


# --- whole databases, idempotence -------------------------------------------------------------


def test_whole_database_then_second_call_is_a_no_op(physionet, physionet_files, data_dir, tmp_path):
    folder = fetch(physionet, "ptbdb", tmp_path)
    assert folder == tmp_path / "ptbdb"
    assert files_under(folder) == {
        "SHA256SUMS.txt",
        "RECORDS",
        "patient001/s0010_re.hea",
        "patient001/s0010_re.dat",
        "patient001/s0010_re.xyz",
    }
    assert_same_as_served(physionet_files, "ptbdb/1.0.0", folder)
    assert (folder / "patient001/s0010_re.dat").read_bytes() == (
        data_dir / "ptbdb-frank/s0010_re.dat"
    ).read_bytes()
    assert len(physionet.requests) == 5
    physionet.reset()
    assert fetch(physionet, "ptbdb", tmp_path) == folder
    assert physionet.requests == []  # nothing downloaded, not even the sums list
    (folder / "RECORDS").unlink()
    (folder / "patient001/s0010_re.hea").write_text("damaged")
    fetch(physionet, "ptbdb", tmp_path)
    assert sorted(r.path.rsplit("/", 1)[1] for r in physionet.requests) == [
        "RECORDS",
        "s0010_re.hea",
    ]
    assert_same_as_served(physionet_files, "ptbdb/1.0.0", folder)


def test_default_dest_is_the_data_dir(physionet: FakePhysioNet, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("THREEKG_DATA_DIR", str(tmp_path / "env"))
    folder = dl.download_database("ptbdb", base_url=physionet.url, progress=False, timeout=TIMEOUT)
    assert folder == tmp_path / "env" / "ptbdb"
    assert (folder / "patient001/s0010_re.xyz").is_file()


def test_progress_bar(physionet: FakePhysioNet, tmp_path, capsys) -> None:
    fetch(physionet, "ptbdb", tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "ptbdb 1.0.0" in err and "file 4/4" in err


# --- subsets ----------------------------------------------------------------------------------


def _ptbxl(records: list[str]) -> set[str]:
    return {"SHA256SUMS.txt", *PTBXL_META} | {f"{r}.{e}" for r in records for e in ("hea", "dat")}


def test_ptbxl_n_records_and_rate(
    physionet: FakePhysioNet, physionet_files: Path, tmp_path
) -> None:
    folder = fetch(physionet, "ptbxl", tmp_path / "a", n_records=3, rate=100)
    assert files_under(folder) == _ptbxl(PTBXL_100[:3])
    assert_same_as_served(physionet_files, "ptb-xl/1.0.3", folder)
    folder = fetch(physionet, "ptbxl", tmp_path / "b", n_records=2)
    assert files_under(folder) == _ptbxl(PTBXL_100[:2] + PTBXL_500)
    folder = fetch(physionet, "ptbxl", tmp_path / "c", rate=500)
    assert files_under(folder) == _ptbxl(PTBXL_500)
    folder = fetch(physionet, "ptbxl", tmp_path / "d", n_records=0)
    assert files_under(folder) == _ptbxl([])


def test_records_by_name_or_path(physionet: FakePhysioNet, physionet_files: Path, tmp_path) -> None:
    folder = fetch(physionet, "ludb", tmp_path, records=["1"])
    assert files_under(folder) == {"SHA256SUMS.txt", *LUDB_META} | {f"data/1.{e}" for e in LUDB_EXT}
    assert_same_as_served(physionet_files, "ludb/1.0.1", folder)
    folder = fetch(physionet, "ludb", tmp_path / "n", n_records=1)
    assert "data/1.v6" in files_under(folder) and "data/2.hea" not in files_under(folder)
    folder = fetch(physionet, "ptbdb", tmp_path, records=["patient001/s0010_re"])
    assert len(files_under(folder)) == 5
    folder = fetch(physionet, "ptbxl", tmp_path, records=["00002_lr", "records500/00000/00001_hr"])
    assert files_under(folder) == _ptbxl([PTBXL_100[1], PTBXL_500[0]])
    folder = fetch(physionet, "challenge-2021", tmp_path, records="E07938")
    assert folder == tmp_path / "cinc2021"
    assert files_under(folder) == {
        "SHA256SUMS.txt",
        "training/georgia/g8/E07938.hea",
        "training/georgia/g8/E07938.mat",
    }


def test_unknown_database_record_or_arguments(physionet: FakePhysioNet, tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown database 'mitdb'.*ptbxl"):
        fetch(physionet, "mitdb", tmp_path)
    with pytest.raises(ValueError, match="rate"):
        fetch(physionet, "ludb", tmp_path, rate=500)
    with pytest.raises(ValueError, match="rate"):
        fetch(physionet, "ptbxl", tmp_path, rate=250)
    with pytest.raises(ValueError, match="not both"):
        fetch(physionet, "ludb", tmp_path, records=["1"], n_records=1)
    with pytest.raises(ValueError, match=">= 0"):
        fetch(physionet, "ludb", tmp_path, n_records=-1)
    assert physionet.requests == [] and not any(tmp_path.iterdir())  # checked before any request
    with pytest.raises(ValueError, match="'nosuchrecord'"):
        fetch(physionet, "ludb", tmp_path, records=["1", "nosuchrecord"])
    with pytest.raises(ValueError, match="'00001_lr'.*500 Hz|500 Hz.*'00001_lr'"):
        fetch(physionet, "ptbxl", tmp_path, records=["00001_lr"], rate=500)
    assert not (tmp_path / "ludb" / "data").exists()  # nothing but the sums list fetched


def test_incomplete_local_sums_list_is_fetched_again(physionet: FakePhysioNet, tmp_path) -> None:
    folder = tmp_path / "ptb-xl"
    folder.mkdir()
    served_sums = physionet.root / "files/ptb-xl/1.0.3/SHA256SUMS.txt"
    shutil.copyfile(served_sums, folder / "SHA256SUMS.txt")
    lines = (folder / "SHA256SUMS.txt").read_text().splitlines(keepends=True)
    (folder / "SHA256SUMS.txt").write_text("".join(ln for ln in lines if "00004" not in ln))
    fetch(physionet, "ptbxl", tmp_path, records=["00004_lr"])
    assert (folder / "records100/00000/00004_lr.dat").is_file()
    assert (folder / "SHA256SUMS.txt").read_bytes() == served_sums.read_bytes()


# --- failures ---------------------------------------------------------------------------------


def test_wrong_checksum_keeps_nothing_and_other_files_are_done(
    physionet, physionet_files, tmp_path
) -> None:
    physionet.wrong_sums = {"/files/ludb/1.0.1/data/1.dat"}
    with pytest.raises(ChecksumError) as info:
        fetch(physionet, "ludb", tmp_path, records=["1", "2"])
    bad = tmp_path / "ludb/data/1.dat"
    assert info.value.path == str(bad) and str(bad) in str(info.value)
    assert info.value.expected == "0" * 64
    assert info.value.actual == dl.sha256_file(physionet_files / "files/ludb/1.0.1/data/1.dat")
    assert not bad.exists() and not bad.with_name("1.dat.part").exists()
    files = files_under(tmp_path / "ludb")
    assert len(files) == 1 + len(LUDB_META) + 2 * len(LUDB_EXT) - 1
    assert not any(f.endswith(".part") for f in files)
    assert_same_as_served(
        physionet_files, "ludb/1.0.1", tmp_path / "ludb", sums=False
    )  # sums: falsified


def test_cut_connection_is_resumed_within_the_call(physionet, physionet_files, tmp_path) -> None:
    url = "/files/ptbdb/1.0.0/patient001/s0010_re.dat"
    physionet.cut_after = {url: 100_000}
    folder = fetch(physionet, "ptbdb", tmp_path, retries=2)
    assert_same_as_served(physionet_files, "ptbdb/1.0.0", folder)
    assert [r.range for r in physionet.requests_for(url)] == [None, "bytes=100000-"]
    assert not any(f.endswith(".part") for f in files_under(folder))


def test_cut_connection_without_retries_resumes_on_the_next_call(
    physionet, physionet_files, tmp_path
):
    url = "/files/ptbdb/1.0.0/patient001/s0010_re.dat"
    final = tmp_path / "ptbdb/patient001/s0010_re.dat"
    final.parent.mkdir(parents=True)
    final.write_bytes(b"an older file, kept until a verified one replaces it")
    physionet.cut_after = {url: 12_345}
    with pytest.raises(DownloadError, match=r"s0010_re\.dat.*run the download again to resume"):
        fetch(physionet, "ptbdb", tmp_path, retries=0)
    part = final.with_name("s0010_re.dat.part")
    assert part.stat().st_size == 12_345
    assert final.read_bytes().startswith(b"an older file")
    fetch(physionet, "ptbdb", tmp_path, retries=0)
    assert [r.range for r in physionet.requests_for(url)] == [None, "bytes=12345-"]
    assert (
        final.read_bytes()
        == (physionet_files / "files/ptbdb/1.0.0/patient001/s0010_re.dat").read_bytes()
    )
    assert not part.exists()


def test_server_ignoring_range_still_gives_the_right_file(
    physionet, physionet_files, tmp_path
) -> None:
    url = "/files/ptbdb/1.0.0/patient001/s0010_re.dat"
    physionet.ignore_range = True
    physionet.cut_after = {url: 5_000}
    folder = fetch(physionet, "ptbdb", tmp_path, retries=1)
    assert [r.range for r in physionet.requests_for(url)] == [None, "bytes=5000-"]
    assert_same_as_served(physionet_files, "ptbdb/1.0.0", folder)


def test_stale_or_complete_part_files(physionet, physionet_files, tmp_path) -> None:
    src = physionet_files / "files/ptbdb/1.0.0/patient001"
    folder = tmp_path / "ptbdb/patient001"
    folder.mkdir(parents=True)
    # a .part of another file: the resumed file is wrong, so it is downloaded again from zero
    (folder / "s0010_re.dat.part").write_bytes(b"x" * 1000)
    # a .part already complete: the physionet answers 416 and the .part is verified and kept
    shutil.copyfile(src / "s0010_re.xyz", folder / "s0010_re.xyz.part")
    fetch(physionet, "ptbdb", tmp_path, retries=0)
    assert_same_as_served(physionet_files, "ptbdb/1.0.0", tmp_path / "ptbdb")
    dat = physionet.requests_for("s0010_re.dat")
    assert [r.range for r in dat] == ["bytes=1000-", None]
    assert [r.range for r in physionet.requests_for("s0010_re.xyz")] == ["bytes=230400-"]


def test_http_error_names_url_and_status(physionet: FakePhysioNet, tmp_path) -> None:
    with pytest.raises(DownloadError, match=r"http://127\.0\.0\.1:\d+/nothere/ptbdb/.*HTTP 404"):
        fetch(physionet, "ptbdb", tmp_path, base_url=physionet.url.replace("/files/", "/nothere/"))
    assert not (tmp_path / "ptbdb/SHA256SUMS.txt").exists()


def test_unreachable_server_and_timeout(physionet: FakePhysioNet, tmp_path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match="SHA256SUMS.txt.*2 attempt"):
        fetch(physionet, "ptbdb", tmp_path, base_url=f"http://127.0.0.1:{port}/files/", retries=1)
    physionet.stall_s = 3.0
    with pytest.raises(DownloadError, match="resume"):
        fetch(physionet, "ptbdb", tmp_path, retries=0, timeout=0.3)


# --- end to end: download from the fake PhysioNet, then load with the package's loaders -------


def test_downloaded_databases_load_like_the_originals(physionet, data_dir, tmp_path) -> None:
    import numpy as np

    from threekg_lite.data.cinc import load_cinc
    from threekg_lite.data.ludb import load_ludb
    from threekg_lite.data.ptbdb import load_ptbdb
    from threekg_lite.data.ptbxl import load_ptbxl

    fetch(physionet, "ptbxl", tmp_path, n_records=5, rate=100)
    got = load_ptbxl(tmp_path, fs=100, progress=False)  # loads the records present
    want = load_ptbxl(data_dir, fs=100, ecg_ids=range(1, 6), progress=False)
    np.testing.assert_array_equal(got.signals, want.signals)
    np.testing.assert_array_equal(got.y("superclass"), want.y("superclass"))

    fetch(physionet, "ludb", tmp_path, records=["1", "2"])
    np.testing.assert_array_equal(
        load_ludb(tmp_path, progress=False).signals,
        load_ludb(data_dir, records=[1, 2], progress=False).signals,
    )

    fetch(physionet, "ptbdb", tmp_path)  # nested patient001/ layout with a RECORDS file
    ptb = load_ptbdb(tmp_path, progress=False)
    assert ptb.meta["record"].tolist() == ["patient001/s0010_re"]
    np.testing.assert_array_equal(
        ptb.aux["frank"], load_ptbdb(data_dir, progress=False).aux["frank"]
    )

    fetch(physionet, "cinc2021", tmp_path)  # training/<source>/... folders, searched recursively
    cinc = load_cinc(tmp_path / "cinc2021", progress=False)
    names = sorted(n for names in CINC.values() for n in names)
    assert sorted(cinc.record_ids) == names
    ref = load_cinc(data_dir, records=list(cinc.record_ids), progress=False)
    np.testing.assert_array_equal(cinc.signals, ref.signals)


def test_cinc2020_is_its_training_records_and_loads_without_a_warning(
    physionet, data_dir, tmp_path
) -> None:
    """challenge-2020 1.0.2's layout: a download, whole or by name or by count, fetches its
    ``training/`` records and top-level files, never papers/ or sources/; ``load_cinc`` reads
    ``training/`` only. The records served are the shared 2021 copies (gain 1000, which 1.0.2
    is believed to carry: book/data.md), so they load as those, with no warning."""
    import warnings

    import numpy as np

    from threekg_lite.data.cinc import load_cinc

    top = {"LICENSE.txt", "SHA256SUMS.txt"}
    folder = fetch(physionet, "cinc2020", tmp_path)
    records = [
        f"{d}/{n}.{e}" for d, names in CINC2020.items() for n in names for e in ("hea", "mat")
    ]
    groups = [f"{d}/RECORDS" for d in CINC2020]
    assert files_under(folder) == {*top, *records, *groups}
    assert not any("sources" in r.path or "papers" in r.path for r in physionet.requests)
    (folder / "sources/team").mkdir(parents=True)  # a record's copy outside training/, as an
    for ext in ("hea", "mat"):  # older whole download left it: not read
        shutil.copyfile(
            folder / f"training/ptb-xl/g7/HR06001.{ext}", folder / f"sources/team/HR06001.{ext}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_cinc(folder, progress=False)
    names = sorted(n for names in CINC2020.values() for n in names)
    assert sorted(got.record_ids) == names
    want = load_cinc(data_dir, records=list(got.record_ids), progress=False)
    np.testing.assert_array_equal(got.signals, want.signals)

    hr, first = "training/ptb-xl/g7/HR06001", "training/georgia/g8/E07500"  # first: by path
    for i, (selection, record) in enumerate(
        [({"records": ["HR06001"]}, hr), ({"records": [hr]}, hr), ({"n_records": 1}, first)]
    ):  # by name, by path, the first one: training records, never the copy in sources/
        got_files = files_under(fetch(physionet, "cinc2020", tmp_path / str(i), **selection))
        assert got_files == top | {f"{record}.hea", f"{record}.mat"}


def test_cli_download(physionet, tmp_path, capsys) -> None:
    from threekg_lite.cli import main

    rc = main(
        ["-q", "download", "ludb", "--records", "2", "--data-dir", str(tmp_path),
         "--base-url", physionet.url]
    )  # fmt: skip
    assert rc == 0
    assert (tmp_path / "ludb/data/2.dat").exists()
    assert "ludb:" in capsys.readouterr().out


@pytest.mark.parametrize("workers", [1, 3])
def test_files_are_fetched_workers_at_a_time(
    physionet, physionet_files, tmp_path, workers, monkeypatch
):
    """Several files are in flight at once, never more than ``workers``."""
    counts = count_concurrent_downloads(monkeypatch)
    physionet.stall_s = 0.1
    folder = fetch(physionet, "ptbdb", tmp_path, workers=workers)
    assert_same_as_served(physionet_files, "ptbdb/1.0.0", folder)
    assert counts["max"] == workers  # 4 files after the sums list: the pool fills up


def test_workers_must_be_a_positive_integer(physionet, tmp_path) -> None:
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        fetch(physionet, "ptbdb", tmp_path, workers=0)
