"""Tests of threekg_lite.data.teaching: the chapters' data, downloaded once from a fake PhysioNet
on 127.0.0.1 (no internet), or taken as it is when present or when no download is allowed."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from physionet_server import (
    FakePhysioNet,
    count_concurrent_downloads,
)

from threekg_lite.data import download as dl
from threekg_lite.data import teaching
from threekg_lite.data.paths import available_databases
from threekg_lite.runtime.errors import ChecksumError

TINY_SET = (
    teaching.TeachingPart(
        "ptbxl",
        tuple(teaching.ptbxl_record(i, 100) for i in (1, 2, 3)) + (teaching.ptbxl_record(1, 500),),
        "test",
    ),
    teaching.TeachingPart("ludb", ("data/1",), "test"),
    teaching.TeachingPart("ptbdb", ("patient001/s0010_re",), "test"),
    teaching.TeachingPart("cinc2021", ("E00271",), "test"),
)
LUDB_EXT = ["avf", "avl", "avr", "dat", "hea", "i", "ii", "iii"] + [f"v{i}" for i in range(1, 7)]
ENV = ("THREEKG_DOWNLOAD", "THREEKG_DATA_DIR", "THREEKG_PHYSIONET_URL", "COLAB_RELEASE_TAG")


PHYSIONET = {  # the tiny teaching set and a few records beyond it
    "ptb-xl/1.0.3": {
        rel: f"ptb-xl/{rel}"
        for rel in ["LICENSE.txt", "ptbxl_database.csv", "scp_statements.csv"]
        + [
            f"{record}.{ext}"
            for record in [teaching.ptbxl_record(i, 100) for i in range(1, 5)]
            + [teaching.ptbxl_record(i, 500) for i in (1, 2)]
            for ext in ("hea", "dat")
        ]
    },
    "ludb/1.0.1": {n: f"ludb/{n}" for n in ("LICENSE.txt", "RECORDS", "ludb.csv")}
    | {f"data/{r}.{e}": f"ludb/data/{r}.{e}" for r in ("1", "2") for e in LUDB_EXT},
    "ptbdb/1.0.0": {
        f"patient001/s0010_re.{e}": f"ptbdb-frank/s0010_re.{e}" for e in ("hea", "dat", "xyz")
    }
    | {"RECORDS": b"patient001/s0010_re\npatient001/s0014lre\n"},
    "challenge-2021/1.0.3": {  # served as PhysioNet does, asked for by name
        f"training/georgia/g1/{name}.{e}": f"cinc2021-sample/{name}.{e}"
        for name in ("E00271", "E01137")
        for e in ("hea", "mat")
    }
    | {"LICENSE.txt": b"CC-BY 4.0\n"},
}


@pytest.fixture
def server(physionet: FakePhysioNet, monkeypatch: pytest.MonkeyPatch) -> FakePhysioNet:
    """The fake PhysioNet (conftest), reset; the tiny teaching set; no Colab or download
    settings."""
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(teaching, "TEACHING_SET", TINY_SET)
    return physionet


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_in_colab_and_download_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert teaching.in_colab() is False
    assert teaching.download_allowed() is False
    assert teaching.download_allowed(True) is True
    monkeypatch.setenv("THREEKG_DOWNLOAD", "1")
    assert teaching.download_allowed() is True
    assert teaching.download_allowed(False) is False
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert teaching.in_colab() is True
    monkeypatch.setenv("THREEKG_DOWNLOAD", "0")  # an explicit no wins even in Colab
    assert teaching.download_allowed() is False
    monkeypatch.delenv("THREEKG_DOWNLOAD")
    assert teaching.download_allowed() is True
    monkeypatch.delitem(sys.modules, "google.colab")
    assert teaching.in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101-060000_RC00")
    assert teaching.in_colab() is True


def test_teaching_set_names_records_of_the_shared_data(data_dir: Path) -> None:
    """The real set: right counts, and every record exists in the shared copy of PhysioNet's
    layout and is selected by download_database's own record matching (no download)."""
    parts = {part.database: part for part in teaching.TEACHING_SET}
    assert set(parts) == {"ptbxl", "ludb", "ptbdb", "cinc2021"}
    assert all(part.used_by for part in parts.values())
    ptbxl = parts["ptbxl"].records
    assert len(ptbxl) == len(set(ptbxl)) == 1999 + 500
    assert {r for r in ptbxl if r.startswith("records100/")} == {
        f"records100/{i // 1000 * 1000:05d}/{i:05d}_lr" for i in range(1, 2000)
    }
    assert {r for r in ptbxl if r.startswith("records500/")} == {
        f"records500/00000/{i:05d}_hr" for i in range(1, 501)
    }
    assert teaching.ptbxl_record(1234, 500) == "records500/01000/01234_hr"
    assert parts["ludb"].records == tuple(f"data/{i}" for i in range(1, 201))
    assert parts["ptbdb"].records == ("patient001/s0010_re",)

    cinc = data_dir / "cinc2021-sample"
    assert set(parts["cinc2021"].records) == {p.stem for p in cinc.glob("*.hea")}
    assert len(parts["cinc2021"].records) == 156

    shared = {
        "cinc2021": (cinc, lambda r: r, ("hea", "mat")),
        "ptbxl": (data_dir / "ptb-xl", lambda r: r, ("hea", "dat")),
        "ludb": (data_dir / "ludb", lambda r: r, LUDB_EXT),
        "ptbdb": (data_dir / "ptbdb-frank", lambda r: r.rpartition("/")[2], ("hea", "dat", "xyz")),
    }
    for name, part in parts.items():
        folder, local, exts = shared[name]
        wanted = [f"{local(r)}.{e}" for r in part.records for e in exts]
        missing = [f for f in wanted if not (folder / f).is_file()]
        assert missing == [], f"{name}: {missing[:5]}"
        # download_database's selection on a listing of the database finds exactly these records
        listing = ["LICENSE.txt", "RECORDS"]
        if name == "ptbdb":  # the shared copy has no patientNNN/ level
            listing += [f"patient001/s0010_re.{e}" for e in exts] + ["patient002/s0015lre.hea"]
        elif name == "cinc2021":  # PhysioNet's layout: training/<source>/gN/<record>
            source = {"A": "cpsc_2018", "E": "georgia", "H": "ptb-xl", "J": "ningbo"}
            listing += [
                f"training/{source[p.name[0]]}/g1/{p.name}"
                for p in folder.glob("*.*")
                if p.suffix in (".hea", ".mat")
            ] + ["training/georgia/g1/E00001.hea"]
        else:
            listing += [p.relative_to(folder).as_posix() for p in folder.rglob("*.*")]
        chosen = dl._select_files(name, listing, records=list(part.records))
        records = {f.rpartition(".")[0] for f in chosen if "/" in f}
        if name == "cinc2021":
            records = {r.rpartition("/")[2] for r in records}
        assert records == set(part.records)


def test_data_present_is_returned_without_a_request(server, data_dir, tmp_path) -> None:
    # a copy: a faulty implementation must never write into the shared data
    own = tmp_path / "own"
    shutil.copytree(data_dir / "ptbdb-frank", own / "ptbdb-frank")
    before = files_under(own)
    assert teaching.teaching_data_dir(own, download=True, base_url=server.url) == own
    assert files_under(own) == before
    # a folder with only one (empty) database folder is the user's data too
    (tmp_path / "ludb").mkdir()
    assert teaching.teaching_data_dir(tmp_path / "ludb", download=True, base_url=server.url) == (
        tmp_path / "ludb"
    )
    assert files_under(tmp_path / "ludb") == set()
    assert server.requests == []


def test_no_download_allowed_returns_the_folder_as_it_is(server, tmp_path, monkeypatch) -> None:
    empty = tmp_path / "empty"
    assert teaching.teaching_data_dir(empty, base_url=server.url) == empty
    assert not empty.exists()
    monkeypatch.setenv("THREEKG_DATA_DIR", str(tmp_path / "env"))  # the default comes from paths
    assert teaching.teaching_data_dir(download=False, base_url=server.url) == tmp_path / "env"
    assert server.requests == []
    assert available_databases(empty) == {}


def test_download_once_then_no_request(
    server, physionet_files, data_dir, tmp_path, monkeypatch
) -> None:
    from threekg_lite.data.ludb import load_ludb, load_ludb_annotations
    from threekg_lite.data.ptbdb import load_ptbdb
    from threekg_lite.data.ptbxl import load_ptbxl

    monkeypatch.setenv("THREEKG_DOWNLOAD", "1")
    monkeypatch.setenv("THREEKG_PHYSIONET_URL", server.url)  # base_url from the environment
    root = teaching.teaching_data_dir(tmp_path, progress=False)
    assert root == tmp_path
    assert set(available_databases(root)) == {"ptbxl", "ludb", "ptbdb", "cinc"}
    expected = {
        "ptb-xl": {"LICENSE.txt", "ptbxl_database.csv", "scp_statements.csv"}
        | {f"{r}.{e}" for r in TINY_SET[0].records for e in ("hea", "dat")},
        "ludb": {"LICENSE.txt", "RECORDS", "ludb.csv"} | {f"data/1.{e}" for e in LUDB_EXT},
        "ptbdb": {"RECORDS"} | {f"patient001/s0010_re.{e}" for e in ("hea", "dat", "xyz")},
        "cinc2021": {"LICENSE.txt"} | {f"training/georgia/g1/E00271.{e}" for e in ("hea", "mat")},
    }
    versions = {
        "ptb-xl": "ptb-xl/1.0.3",
        "ludb": "ludb/1.0.1",
        "ptbdb": "ptbdb/1.0.0",
        "cinc2021": "challenge-2021/1.0.3",
    }
    assert files_under(root) == {teaching.COMPLETE_MARKER} | {
        f"{db}/{rel}" for db, rels in expected.items() for rel in rels | {"SHA256SUMS.txt"}
    }
    for db, rels in expected.items():
        for rel in rels:
            assert (root / db / rel).read_bytes() == (
                physionet_files / "files" / versions[db] / rel
            ).read_bytes()
    n_files = sum(len(rels) + 1 for rels in expected.values())
    assert len(server.requests) == n_files
    marker = json.loads((root / teaching.COMPLETE_MARKER).read_text())
    assert marker["base_url"] == server.url
    assert marker["databases"]["ptbxl"]["records"] == list(TINY_SET[0].records)
    assert marker["databases"]["ludb"] == {
        "folder": "ludb",
        "slug": "ludb",
        "version": "1.0.1",
        "records": ["data/1"],
    }

    # the package's loaders read what came down as they read the shared data
    got = load_ptbxl(root, fs=100, progress=False)
    want = load_ptbxl(data_dir, fs=100, ecg_ids=[1, 2, 3], progress=False)
    np.testing.assert_array_equal(got.signals, want.signals)
    np.testing.assert_array_equal(got.y("superclass"), want.y("superclass"))
    assert load_ptbxl(root, fs=500, progress=False).record_ids.tolist() == ["1"]
    ludb = load_ludb(root, progress=False)
    assert ludb.record_ids.tolist() == ["1"]
    np.testing.assert_array_equal(
        ludb.signals, load_ludb(data_dir, records=[1], progress=False).signals
    )
    assert len(load_ludb_annotations(1, root, leads=["II"])) > 0
    ptb = load_ptbdb(root, progress=False)
    assert ptb.meta["record"].tolist() == ["patient001/s0010_re"]
    from threekg_lite.data.cinc import load_cinc

    cinc = load_cinc(root, progress=False)
    assert cinc.record_ids.tolist() == ["E00271"]
    np.testing.assert_array_equal(
        cinc.signals, load_cinc(data_dir, records=["E00271"], progress=False).signals
    )
    frank = load_ptbdb(data_dir, progress=False).aux["frank"]
    np.testing.assert_array_equal(ptb.aux["frank"], frank)

    # a second call, even with download=True, makes no request
    server.reset()
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert teaching.teaching_data_dir(root, download=True, progress=False) == root
    assert server.requests == []
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before

    # a record lost: the folder is ours (marker), so the next call fetches just that record
    (root / "ludb/data/1.hea").unlink()
    assert not teaching.is_complete(root)
    teaching.teaching_data_dir(root, progress=False)
    assert [r.path for r in server.requests] == ["/files/ludb/1.0.1/data/1.hea"]
    assert teaching.is_complete(root)


def test_wrong_checksum_propagates_and_leaves_no_complete_marker(
    server, physionet_files, tmp_path
) -> None:
    bad = "/files/ludb/1.0.1/data/1.dat"
    server.wrong_sums = {bad}
    with pytest.raises(ChecksumError) as info:
        teaching.teaching_data_dir(tmp_path, download=True, base_url=server.url, progress=False)
    assert info.value.path == str(tmp_path / "ludb/data/1.dat")
    assert not (tmp_path / teaching.COMPLETE_MARKER).exists()
    assert (tmp_path / teaching.PARTIAL_MARKER).exists()
    assert not teaching.is_complete(tmp_path)
    files = files_under(tmp_path)
    assert "ludb/data/1.dat" not in files and not any(f.endswith(".part") for f in files)
    assert "ludb/SHA256SUMS.txt" not in files  # the wrong list is not kept
    assert "ptbdb/RECORDS" in files and "ptb-xl/SHA256SUMS.txt" in files  # the rest is done

    # with downloads off, the unfinished folder is returned as it is, without a request
    server.reset()
    assert teaching.teaching_data_dir(tmp_path, download=False, base_url=server.url) == tmp_path
    assert server.requests == []
    # the next allowed call completes it, without fetching again what was verified
    teaching.teaching_data_dir(tmp_path, download=True, base_url=server.url, progress=False)
    fetched = sorted(r.path for r in server.requests)
    assert "/files/ptb-xl/1.0.3/records100/00000/00001_lr.dat" not in fetched
    assert bad in fetched and "/files/ludb/1.0.1/SHA256SUMS.txt" in fetched
    assert fetched == sorted([bad, "/files/ludb/1.0.1/SHA256SUMS.txt"])  # nothing else again
    assert teaching.is_complete(tmp_path)
    assert not (tmp_path / teaching.PARTIAL_MARKER).exists()
    assert (tmp_path / "ludb/data/1.dat").read_bytes() == (
        physionet_files / bad.lstrip("/")
    ).read_bytes()


def test_exported_from_the_data_package() -> None:
    from threekg_lite import data

    assert data.teaching_data_dir is teaching.teaching_data_dir


def test_cli_downloads_the_teaching_set_in_parallel_with_one_bar(
    server, tmp_path, capsys, monkeypatch
):
    """`threekg download teaching` (the Pages workflow's step): every file of the set,
    several at a time, one progress bar for all databases; a second call requests nothing."""
    from threekg_lite.cli import main

    counts = count_concurrent_downloads(monkeypatch)
    server.stall_s = 0.05
    args = ["download", "teaching", "--data-dir", str(tmp_path), "--base-url", server.url]
    assert main([*args, "--workers", "4"]) == 0
    assert teaching.is_complete(tmp_path)
    assert counts["max"] == 4
    err = capsys.readouterr().err
    assert err.count("teaching set (") >= 1 and "ptb-xl 1.0.3" not in err  # one bar, not one per db
    server.reset()
    assert main(["-q", *args]) == 0
    assert server.requests == []
    with pytest.raises(SystemExit):
        main(["download", "teaching", "--workers", "0"])
