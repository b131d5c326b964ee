"""Pretraining data: ``load_source`` (one named source, a prepared folder, or the pool of the
real databases) and ``concat_records``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from threekg_lite.data import generate
from threekg_lite.data.pool import POOL_DATABASES, SOURCES, concat_records, load_source
from threekg_lite.data.prepare import save_prepared
from threekg_lite.data.records import LabelSet
from threekg_lite.errors import DataNotFoundError


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
