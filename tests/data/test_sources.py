"""Pretraining data: ``load_source`` (one named source, a prepared folder, or the pool of the
real databases), ``concat_records`` and ``real_or_synthetic``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from threekg_lite.data import generate
from threekg_lite.data.ludb import load_ludb
from threekg_lite.data.prepare import save_prepared
from threekg_lite.data.records import LabelSet
from threekg_lite.data.sources import (
    POOL_DATABASES,
    SOURCES,
    concat_records,
    load_source,
    real_or_synthetic,
)
from threekg_lite.runtime.errors import DataNotFoundError


@pytest.fixture(scope="module")
def two_sets():
    a = generate(4, fs=100, duration=2, seed=0)
    b = dataclasses.replace(generate(3, fs=100, duration=2, seed=1), source="other")
    return a, b


def test_concat_prefixes_ids_and_joins_signals(two_sets):
    a, b = two_sets
    joined = concat_records([a, b])
    assert len(joined) == 7 and joined.source == "pool"
    assert joined.fs == 100 and joined.n_samples == 200
    np.testing.assert_array_equal(joined.signals, np.concatenate([a.signals, b.signals]))
    assert list(joined.record_ids[:4]) == [f"synthetic:{r}" for r in a.record_ids]
    assert list(joined.record_ids[4:]) == [f"other:{r}" for r in b.record_ids]
    assert list(joined.patient_ids[4:]) == [f"other:{p}" for p in b.patient_ids]
    assert len(set(joined.record_ids)) == 7  # "syn00000" is in both sets, prefixes differ
    assert list(joined.meta["source"]) == ["synthetic"] * 4 + ["other"] * 3
    assert concat_records([a, b], source="mine").source == "mine"


def test_concat_of_two_synthetic_sets_keeps_labels_with_equal_tasks():
    a, b = generate(4, fs=100, duration=2, seed=0), generate(3, fs=100, duration=2, seed=1)
    joined = concat_records([a, b])
    assert all(r.startswith("synthetic:") for r in joined.record_ids)
    assert set(joined.labels) == set(a.labels) == {"diagnosis", "rhythm", "morphology"}
    for task in a.labels:
        assert joined.labels[task].names == a.labels[task].names
        np.testing.assert_array_equal(joined.y(task), np.concatenate([a.y(task), b.y(task)]))


def test_concat_drops_tasks_not_shared_with_the_same_classes(two_sets):
    a, b = two_sets
    names = b.labels["rhythm"].names
    relabelled = dict(b.labels)
    relabelled["rhythm"] = LabelSet(tuple(reversed(names)), b.labels["rhythm"].y)
    del relabelled["morphology"]
    joined = concat_records([a, dataclasses.replace(b, labels=relabelled)])
    assert set(joined.labels) == {"diagnosis"}


@pytest.mark.parametrize(("fs", "duration"), [(50, 4), (100, 3)])
def test_concat_refuses_other_rate_or_length_naming_both(two_sets, fs, duration):
    a, _ = two_sets
    c = dataclasses.replace(generate(2, fs=fs, duration=duration, seed=2), source="odd")
    with pytest.raises(ValueError, match="cannot join odd at .* with synthetic at 100 Hz x 200"):
        concat_records([a, c])


def test_concat_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="nothing to join"):
        concat_records([])


def test_synthetic_source():
    records = load_source("synthetic", fs=100, duration=2, n_synthetic=5, seed=3)
    assert records.signals.shape == (5, 12, 200) and records.source == "synthetic"
    same = generate(5, fs=100, duration=2, seed=3)
    np.testing.assert_array_equal(records.signals, same.signals)


def test_prepared_folder_is_used_as_it_is(tmp_path):
    records = generate(6, fs=50, duration=3, seed=0)
    folder = save_prepared(records, tmp_path / "prepared")
    loaded = load_source(str(folder), fs=500, duration=10)  # its own rate and length win
    assert loaded.fs == 50 and loaded.signals.shape == (6, 12, 150)
    np.testing.assert_array_equal(np.asarray(loaded.signals), records.signals)
    assert list(loaded.record_ids) == list(records.record_ids)
    assert loaded.source == "synthetic"


def test_unknown_source_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown source 'ptb-xl'") as e:
        load_source("ptb-xl")
    for name in SOURCES:
        assert name in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="exists but holds no prepared data"):
        load_source(str(tmp_path / "empty"))


def test_pool_joins_the_real_databases(data_dir):
    pool = load_source("pool", data_dir=data_dir, fs=100, duration=10, progress=False)
    assert pool.source == "pool" and pool.fs == 100
    assert pool.signals.shape == (len(pool), 12, 1000)
    assert pool.signals.dtype == np.float32 and np.isfinite(pool.signals).all()
    prefixes = [r.split(":", 1)[0] for r in pool.record_ids]
    assert set(prefixes) == set(POOL_DATABASES) == {"ptbxl", "cinc", "ludb"}
    assert len(set(pool.record_ids)) == len(pool)  # unique across databases
    assert all(p.split(":", 1)[0] == s for p, s in zip(pool.patient_ids, prefixes))
    assert list(pool.meta["source"]) == prefixes


def test_pool_without_any_database_is_data_not_found(tmp_path):
    with pytest.raises(DataNotFoundError, match="no database of ptbxl, cinc, ludb found in") as e:
        load_source("pool", data_dir=tmp_path, progress=False)
    assert str(tmp_path) in str(e.value)
    with pytest.raises(DataNotFoundError):
        load_source("ptbxl", data_dir=tmp_path, progress=False)


# ---------------------------------------------------------------- held-out PTB-XL folds


def test_ptbxl_source_leaves_out_fold_10_unless_told_otherwise(
    data_dir, ptbxl_rows, ptbxl_csv_rows
):
    # ptbxl_rows (conftest.py): the rows of the complete table whose 100 Hz record is on disk
    fold = {int(r["ecg_id"]): int(r["strat_fold"]) for r in ptbxl_rows}
    fold10 = {i for i, f in fold.items() if f == 10}
    assert len(ptbxl_csv_rows) > len(fold) == 1999  # the premise: a partial mirror
    assert len(fold10) > 0 and set(fold.values()) == set(range(1, 11))
    default = load_source("ptbxl", data_dir=data_dir, fs=100, progress=False)
    everything = load_source("ptbxl", data_dir=data_dir, fs=100, exclude_folds=(), progress=False)
    everything_ids = {int(r) for r in everything.record_ids}
    assert everything_ids == set(fold)  # every record on disk loads, and only those
    assert len(everything) - len(default) == len(fold10)
    assert 10 not in set(default.meta["strat_fold"])
    assert set(everything.meta["strat_fold"]) == set(range(1, 11))
    ids = {int(r) for r in default.record_ids}
    assert ids == everything_ids - fold10
    assert everything_ids - ids == fold10
    nine = load_source("ptbxl", data_dir=data_dir, fs=100, exclude_folds=(9, 10), progress=False)
    assert set(nine.meta["strat_fold"]) == set(range(1, 9))
    assert {int(r) for r in nine.record_ids} == {i for i, f in fold.items() if f <= 8}


def test_cinc_source_drops_the_copies_of_held_out_ptbxl_records(
    data_dir, ptbxl_csv_rows, ptbxl_ids_on_disk, caplog
):
    import logging

    fold = {f"HR{int(r['ecg_id']):05d}": int(r["strat_fold"]) for r in ptbxl_csv_rows}
    everything = load_source("cinc", data_dir=data_dir, fs=100, exclude_folds=(), progress=False)
    copies = [r for r in everything.record_ids if r.startswith("HR")]
    # the premise: the CinC sample's 27 PTB-XL copies (HR number = ecg_id) are all listed in
    # PTB-XL's complete table, though none of their records is in the partial PTB-XL mirror:
    # their folds come from the table alone
    assert len(copies) == 27 and all(c in fold for c in copies)
    assert not {int(c[2:]) for c in copies} & ptbxl_ids_on_disk[100]
    in_fold10 = {c for c in copies if fold[c] == 10}
    assert 0 < len(in_fold10) < len(copies)  # some copies are in the test fold, some not
    with caplog.at_level(logging.INFO, logger="threekg_lite.data.sources"):
        cinc = load_source("cinc", data_dir=data_dir, fs=100, progress=False)
    # by default the copies of fold 10 go; every other record (copies included) stays, in order
    keep = np.array([r not in in_fold10 for r in everything.record_ids])
    assert list(cinc.record_ids) == list(everything.record_ids[keep])
    np.testing.assert_array_equal(cinc.signals, everything.signals[keep])
    logged = [r for r in caplog.records if r.name == "threekg_lite.data.sources"]
    # the table lists every copy: no warning (about copies missing from the table or else)
    assert [r.getMessage() for r in logged if r.levelno >= logging.WARNING] == []
    assert [r.getMessage() for r in logged] == [
        f"dropped {len(in_fold10)} CinC copies of held-out PTB-XL records"
    ]
    # other excluded folds are looked up the same way
    five_ten = load_source("cinc", data_dir=data_dir, fs=100, exclude_folds=(5, 10), progress=False)
    gone = {c for c in copies if fold[c] in (5, 10)}
    assert len(gone) > len(in_fold10)
    assert list(five_ten.record_ids) == [r for r in everything.record_ids if r not in gone]


def fake_cinc(ids=("HR00042", "HR00043", "HR99999", "A0001")):
    from threekg_lite.data.records import ECGRecords

    n = len(ids)
    return ECGRecords(
        signals=np.zeros((n, 12, 20), np.float32),
        fs=100.0,
        record_ids=np.array(ids),
        patient_ids=np.array(ids),
        source="cinc",
    )


def fake_ptbxl_table(root, folds):
    """A data directory whose PTB-XL table lists only ``folds`` (ecg_id -> strat_fold)."""
    (root / "ptb-xl").mkdir(parents=True)
    lines = ["ecg_id,patient_id,strat_fold"] + [f"{i},{i},{f}" for i, f in folds.items()]
    (root / "ptb-xl" / "ptbxl_database.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize(
    ("fold_of_42", "folds", "kept"),
    [
        (10, {10}, ["HR00043", "HR99999", "A0001"]),
        (5, {10}, ["HR00042", "HR00043", "HR99999", "A0001"]),
        (10, {3}, ["HR00042", "HR99999", "A0001"]),
        (10, {3, 10}, ["HR99999", "A0001"]),
    ],
)
def test_cinc_copies_of_held_out_ptbxl_records_are_dropped(
    tmp_path, caplog, fold_of_42, folds, kept
):
    import logging

    from threekg_lite.data.sources import _without_folds

    root = fake_ptbxl_table(tmp_path, {42: fold_of_42, 43: 3})
    with caplog.at_level(logging.WARNING, logger="threekg_lite.data.sources"):
        out = _without_folds(fake_cinc(), "cinc", folds, root)
    assert list(out.record_ids) == kept
    assert len(out.signals) == len(kept)
    # HR99999 is not in the table: its fold is unknown, it is kept, and a warning says so
    assert any(
        "1 CinC records are copies of PTB-XL records missing" in r.getMessage()
        for r in caplog.records
    )


def test_cinc_without_ptbxl_copies_or_without_the_ptbxl_table(tmp_path, caplog):
    import logging

    from threekg_lite.data.sources import _without_folds

    plain = fake_cinc(("A0001", "E00002"))
    assert _without_folds(plain, "cinc", {10}, tmp_path / "nowhere") is plain  # no copies
    (tmp_path / "empty").mkdir()
    with caplog.at_level(logging.WARNING, logger="threekg_lite.data.sources"):
        out = _without_folds(fake_cinc(), "cinc", {10}, tmp_path / "empty")
    assert len(out) == 4
    assert any(
        "3 CinC records are PTB-XL copies, but PTB-XL's table is not in the data "
        "directory" in r.getMessage()
        for r in caplog.records
    )


def test_load_source_applies_exclude_folds_to_cinc_and_the_pool(tmp_path, monkeypatch):
    import pandas as pd

    import threekg_lite.data.sources as pool
    from threekg_lite.data.records import ECGRecords

    root = fake_ptbxl_table(tmp_path, {42: 10, 43: 3, 99999: 7})
    ptbxl = ECGRecords(
        signals=np.zeros((2, 12, 20), np.float32),
        fs=100.0,
        record_ids=np.array(["42", "43"]),
        patient_ids=np.array(["42", "43"]),
        meta=pd.DataFrame({"strat_fold": [10, 3]}),
        source="ptbxl",
    )

    def fake_load(name, data_dir, fs, duration, bandpass, progress):
        if name == "ludb":
            raise DataNotFoundError("no ludb here")
        return {"ptbxl": ptbxl, "cinc": fake_cinc()}[name]

    monkeypatch.setattr(pool, "_load_real", fake_load)
    cinc = load_source("cinc", data_dir=root)
    assert list(cinc.record_ids) == ["HR00043", "HR99999", "A0001"]
    assert len(load_source("cinc", data_dir=root, exclude_folds=())) == 4
    assert list(load_source("ptbxl", data_dir=root).record_ids) == ["43"]
    joined = load_source("pool", data_dir=root)
    assert list(joined.record_ids) == ["ptbxl:43", "cinc:HR00043", "cinc:HR99999", "cinc:A0001"]
    joined = load_source("pool", data_dir=root, exclude_folds=(3, 7))
    assert list(joined.record_ids) == ["ptbxl:42", "cinc:HR00042", "cinc:A0001"]


@pytest.mark.parametrize(
    ("options", "folds"),
    [([], [10]), (["--exclude-folds"], []), (["--exclude-folds", "9", "10"], [9, 10])],
)
def test_pretrain_exclude_folds_option(options, folds, tmp_path, monkeypatch, capsys):
    import threekg_lite.data.sources as pool
    from threekg_lite.cli import build_parser, main

    args = ["pretrain", "ptbxl", "--out", str(tmp_path / "run"), *options]
    assert build_parser().parse_args(args).exclude_folds == folds
    seen = {}

    def refuse(source, **kwargs):  # what the command passes on; no training
        seen.update(kwargs, source=source)
        raise ValueError("stop here")

    monkeypatch.setattr(pool, "load_source", refuse)
    assert main(args) == 1
    assert "stop here" in capsys.readouterr().err
    assert seen["source"] == "ptbxl" and seen["exclude_folds"] == tuple(folds)


@pytest.mark.parametrize("value", ["11", "0", "x"])
def test_pretrain_exclude_folds_must_be_ptbxl_folds(value, tmp_path, capsys):
    from threekg_lite.cli import build_parser

    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(
            ["pretrain", "ptbxl", "--out", str(tmp_path), "--exclude-folds", value]
        )
    assert e.value.code == 2
    assert "argument --exclude-folds: invalid" in capsys.readouterr().err


# --- real_or_synthetic: what a chapter shows -------------------------------------------------


def test_real_or_synthetic_loads_the_database_when_present(data_dir):
    got = real_or_synthetic("ludb", data_dir, n_synthetic=5, records=[1, 2], progress=False)
    want = load_ludb(data_dir, records=[1, 2], progress=False)
    assert got.source == "ludb"
    np.testing.assert_array_equal(got.signals, want.signals)
    got = real_or_synthetic(
        "ptbxl", data_dir, n_synthetic=5, fs=100, duration=5.0, ecg_ids=[1, 2], progress=False
    )
    assert got.source == "ptbxl" and got.fs == 100 and got.signals.shape == (2, 12, 500)


def test_real_or_synthetic_falls_back_to_the_generator_with_its_seed(tmp_path):
    """Without the database: the generator's records at that rate and length, and the
    loader's own options (``ecg_ids``, ``progress``) are not passed to it."""
    got = real_or_synthetic(
        "ptbxl", tmp_path, n_synthetic=3, seed=7, fs=100, ecg_ids=[1], progress=False
    )
    want = generate(3, fs=100, duration=10.0, seed=7)
    assert got.source == "synthetic" and len(got) == 3
    np.testing.assert_array_equal(got.signals, want.signals)
    short = real_or_synthetic("pool", tmp_path / "missing", n_synthetic=2, fs=100, duration=2)
    assert short.source == "synthetic" and short.signals.shape == (2, 12, 200)


def test_real_or_synthetic_pool_joins_what_is_present(data_dir):
    pool = real_or_synthetic("pool", data_dir, n_synthetic=5, fs=100, duration=5.0, progress=False)
    assert pool.source == "pool"
    assert set(pool.meta["source"]) == set(POOL_DATABASES)
