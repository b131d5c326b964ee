"""Splits and labelled subsets: PTB-XL's folds on the real shared data (checked against the
database's own CSV read with ``csv``), seeded patient-disjoint splits and label fractions on
small synthetic record sets, and the CinC / PTB-XL id matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from threekg_lite.data import generate
from threekg_lite.data.ptbxl import load_ptbxl
from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.data.splits import (
    Split,
    deduplicate,
    label_fraction,
    normalise_record_id,
    patient_split,
    ptbxl_split,
)


def _records(patient_ids, y: np.ndarray | None = None, meta: pd.DataFrame | None = None):
    """A tiny ECGRecords: random (N, 12, 10) signals with the given patients and labels."""
    n = len(patient_ids)
    rng = np.random.default_rng(123)
    labels = {}
    if y is not None:
        labels["dx"] = LabelSet(tuple(f"c{j}" for j in range(y.shape[1])), y.astype(bool))
    return ECGRecords(
        signals=rng.normal(size=(n, 12, 10)).astype(np.float32),
        fs=1.0,
        record_ids=np.array([f"r{i}" for i in range(n)]),
        patient_ids=np.asarray(patient_ids, dtype=str),
        labels=labels,
        meta=meta if meta is not None else pd.DataFrame(),
    )


# =============================================================================================
# Split and PTB-XL's folds


@pytest.fixture(scope="module")
def ptbxl(data_dir):
    return load_ptbxl(data_dir, fs=100, progress=False)


def test_ptbxl_split_follows_strat_fold(ptbxl, ptbxl_rows, ptbxl_csv_rows):
    # ptbxl_rows (conftest.py): the rows of the complete official table whose 100 Hz record is
    # on disk. The premise: a partial mirror, the table lists more records than are present.
    assert len(ptbxl_rows) == 1999 < len(ptbxl_csv_rows)
    split = ptbxl_split(ptbxl)
    fold = {r["ecg_id"]: int(r["strat_fold"]) for r in ptbxl_rows}
    for name, folds in (("train", set(range(1, 9))), ("val", {9}), ("test", {10})):
        idx = getattr(split, name)
        assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)
        assert {fold[rid] for rid in ptbxl.record_ids[idx]} == folds
        expected = sorted(int(r["ecg_id"]) for r in ptbxl_rows if int(r["strat_fold"]) in folds)
        assert sorted(ptbxl.record_ids[idx].astype(int)) == expected
    assert sum(split.sizes().values()) == len(ptbxl) == 1999
    # patient-disjoint, checked twice: by the method and against the CSV's patient ids
    split.check_disjoint(ptbxl)
    patient = {r["ecg_id"]: r["patient_id"] for r in ptbxl_rows}
    sets = [{patient[rid] for rid in ptbxl.record_ids[idx]} for idx in split.parts().values()]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])


def test_ptbxl_split_of_partial_data(ptbxl):
    folds = ptbxl.meta["strat_fold"].to_numpy()
    no_val = ptbxl.subset(folds != 9)
    split = ptbxl_split(no_val)
    assert split.val.size == 0 and "no validation" in split.description
    assert len(split.train) + len(split.test) == len(no_val)
    with pytest.raises(ValueError, match=r"fold\(s\) \[10\] \(test\)"):
        ptbxl_split(ptbxl.subset(folds != 10))
    with pytest.raises(ValueError, match="train"):
        ptbxl_split(ptbxl.subset(folds >= 9))


def test_ptbxl_split_needs_strat_fold(ptbxl):
    small = ptbxl.subset(np.arange(20))
    no_fold = _records(small.patient_ids, meta=small.meta.drop(columns="strat_fold"))
    with pytest.raises(ValueError, match="no 'strat_fold' column"):
        ptbxl_split(no_fold)
    with pytest.raises(ValueError, match="no 'strat_fold' column"):
        ptbxl_split(_records(small.patient_ids))
    bad = _records(small.patient_ids, meta=small.meta.assign(strat_fold=11))
    with pytest.raises(ValueError, match="not folds 1-10"):
        ptbxl_split(bad)


def test_check_disjoint_catches_shared_patients_and_repeats():
    rec = _records(["a", "a", "b", "c", "d"])
    Split([0, 1], [2], [3, 4]).check_disjoint(rec)
    with pytest.raises(ValueError, match="patient 'a'"):
        Split([0], [1, 2], [3, 4]).check_disjoint(rec)
    with pytest.raises(ValueError, match="more than once"):
        Split([0, 1], [2], [2, 3]).check_disjoint(rec)
    with pytest.raises(ValueError, match="outside"):
        Split([0, 1], [2], [3, 5]).check_disjoint(rec)
    with pytest.raises(ValueError, match="integer positions"):
        Split(np.array([True, False]), [], [])


# =============================================================================================
# patient_split


@pytest.fixture(scope="module")
def clinic() -> ECGRecords:
    """About 320 records of 160 patients (1-3 records each) with 4 classes, one on 3 patients."""
    rng = np.random.default_rng(7)
    patients = np.repeat([f"p{i:03d}" for i in range(160)], rng.integers(1, 4, size=160))
    _, inverse = np.unique(patients, return_inverse=True)
    y = np.zeros((len(patients), 4), dtype=bool)
    y[:, 0] = rng.random(len(patients)) < 0.5  # common, per record
    y[:, 1] = np.isin(inverse, rng.choice(160, 40, replace=False))  # per patient
    y[:, 2] = np.isin(inverse, rng.choice(160, 8, replace=False))
    y[:, 3] = np.isin(inverse, [5, 77, 150])  # rare: 3 patients
    return _records(patients, y)


def test_patient_split_is_disjoint_and_near_fractions(clinic):
    split = patient_split(clinic, (0.6, 0.2, 0.2), seed=3)
    split.check_disjoint(clinic)
    every = np.sort(np.concatenate(list(split.parts().values())))
    np.testing.assert_array_equal(every, np.arange(len(clinic)))
    sizes = np.array(list(split.sizes().values())) / len(clinic)
    np.testing.assert_allclose(sizes, [0.6, 0.2, 0.2], atol=0.05)


def test_patient_split_is_deterministic_per_seed(clinic):
    a, b = patient_split(clinic, seed=11), patient_split(clinic, seed=11)
    c = patient_split(clinic, seed=12)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.test, c.test)
    g1 = patient_split(clinic, seed=np.random.default_rng(5))
    g2 = patient_split(clinic, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(g1.train, g2.train)


@pytest.mark.parametrize("seed", range(5))
def test_patient_split_spreads_classes(clinic, seed):
    split = patient_split(clinic, seed=seed, task="dx")
    split.check_disjoint(clinic)
    y = clinic.y("dx")
    for name in ("train", "val", "test"):  # every class has >= 3 patients here
        assert y[getattr(split, name)].any(axis=0).all(), name
    sizes = np.array(list(split.sizes().values())) / len(clinic)
    np.testing.assert_allclose(sizes, [0.7, 0.15, 0.15], atol=0.05)


def test_patient_split_moves_patients_taken_by_rarer_classes():
    # class 0's three patients each also carry a class of their own (classes 1-3), which
    # sends all three to train first; the repair step must still put class 0 in test
    patients = [f"p{i}" for i in range(60)]
    y = np.zeros((60, 4), dtype=bool)
    y[:3, 0] = True
    y[[0, 1, 2], [1, 2, 3]] = True
    rec = _records(patients, y)
    for seed in range(3):
        split = patient_split(rec, seed=seed, task="dx")
        assert y[split.train, 0].any() and y[split.test, 0].any()


def test_patient_split_warns_when_classes_cannot_all_be_spread():
    # three classes on pairs of three patients, train and test only: an odd cycle
    y = np.zeros((30, 3), dtype=bool)
    y[[0, 1], 0] = y[[0, 2], 1] = y[[1, 2], 2] = True
    rec = _records([f"p{i}" for i in range(30)], y)
    with pytest.warns(UserWarning, match="could not place"):
        patient_split(rec, (0.5, 0.0, 0.5), seed=0, task="dx")


def test_patient_split_rejects_bad_input(clinic):
    for fractions in [(0.5, 0.5), (0.7, 0.2, 0.2), (0.0, 0.5, 0.5), (0.5, 0.5, 0.0)]:
        with pytest.raises(ValueError, match="fractions"):
            patient_split(clinic, fractions)
    with pytest.raises(ValueError, match="at least one patient per part"):
        patient_split(_records(["a", "a", "b"]))
    with pytest.raises(ValueError, match="got no record"):  # 3 patients, 70/15/15 %
        patient_split(_records(["a", "b", "c"]))
    with pytest.raises(KeyError, match="no label task"):
        patient_split(clinic, task="nope")


# =============================================================================================
# label_fraction


@pytest.fixture(scope="module")
def y_train() -> np.ndarray:
    rng = np.random.default_rng(0)
    freq = np.array([0.5, 0.2, 0.05, 0.01, 0.003])
    return rng.random((1000, 5)) < freq  # (1000, 5), the rarest class on ~3 records


def test_label_fraction_size_and_coverage(y_train):
    for fraction, size in ((0.1, 100), (0.05, 50), (0.01, 10)):
        idx = label_fraction(y_train, fraction, seed=0)
        assert len(idx) == size and idx.dtype == np.int64
        assert np.all(np.diff(idx) > 0)
        assert y_train[idx].any(axis=0).all()
    idx = label_fraction(y_train, 0.05, seed=1, min_per_class=2)
    assert (y_train[idx].sum(axis=0) >= np.minimum(2, y_train.sum(axis=0))).all()


def test_label_fraction_determinism(y_train):
    a = label_fraction(y_train, 0.05, seed=4)
    np.testing.assert_array_equal(a, label_fraction(y_train, 0.05, seed=4))
    assert not np.array_equal(a, label_fraction(y_train, 0.05, seed=5))
    g = label_fraction(y_train, 0.05, seed=np.random.default_rng(4))
    np.testing.assert_array_equal(g, label_fraction(y_train, 0.05, seed=np.random.default_rng(4)))


def test_label_fraction_one_is_everything(y_train):
    np.testing.assert_array_equal(label_fraction(y_train, 1.0, seed=0), np.arange(1000))


def test_label_fraction_tiny_subset_rounds_up_to_one():
    y = np.eye(4, dtype=bool)[np.arange(200) % 4]
    y[:, 1:] = False  # one class only
    assert len(label_fraction(y, 0.001, seed=0)) == 1


def test_label_fraction_fallback_when_classes_need_more_records():
    y = np.eye(5, dtype=bool)[np.arange(50) % 5]  # (50, 5), one class per record
    with pytest.warns(UserWarning, match="needs 5"):
        idx = label_fraction(y, 0.01, seed=0)  # 1 % of 50 = 1 record asked
    assert len(idx) == 5 and y[idx].any(axis=0).all()
    with pytest.raises(ValueError, match="needs 5"):
        label_fraction(y, 0.01, seed=0, strict=True)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan"), "0.1", True])
def test_label_fraction_rejects_bad_fractions(y_train, fraction):
    with pytest.raises(ValueError, match="fraction"):
        label_fraction(y_train, fraction, seed=0)


def test_label_fraction_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"y_train must be \(N, K\)"):
        label_fraction(np.ones(10, dtype=bool), 0.5, seed=0)
    with pytest.raises(ValueError, match="0/1"):
        label_fraction(np.full((10, 2), 0.3), 0.5, seed=0)
    with pytest.raises(ValueError, match="min_per_class"):
        label_fraction(np.ones((10, 2), dtype=bool), 0.5, seed=0, min_per_class=-1)


# =============================================================================================
# deduplicate


def test_normalise_record_id():
    assert normalise_record_id("cinc", "HR00042") == "ptbxl:42"
    assert normalise_record_id("ptbxl", "42") == "ptbxl:42"
    assert normalise_record_id("ptbxl", "00042_lr") == "ptbxl:42"
    assert normalise_record_id("cinc", "E00042") == "cinc:E00042"
    assert normalise_record_id("ludb", "42") == "ludb:42"
    assert normalise_record_id("pool", "cinc:HR00042") == "ptbxl:42"
    assert normalise_record_id("", "ptbxl:42") == "ptbxl:42"
    with pytest.raises(ValueError, match="no 'source:' prefix"):
        normalise_record_id("", "42")


def test_deduplicate_matches_cinc_to_ptbxl():
    cinc = np.array(["HR00042", "HR00043", "E00042", "JS00001", "HR12083"])
    mask = deduplicate(cinc, ["42", "12083", "7"], pretrain_source="cinc", test_source="ptbxl")
    np.testing.assert_array_equal(mask, [True, False, False, False, True])


def test_deduplicate_pooled_ids():
    pool = np.array(["ptbxl:42", "cinc:HR00042", "cinc:HR00007", "ludb:42", "cinc:E00042"])
    mask = deduplicate(pool, np.array(["42", "43"]), test_source="ptbxl")
    np.testing.assert_array_equal(mask, [True, True, False, False, False])
    np.testing.assert_array_equal(deduplicate(pool, ["ludb:42"]), [0, 0, 0, 1, 0])
    assert not deduplicate(pool, [], test_source="ptbxl").any()
    with pytest.raises(ValueError, match="test_source"):
        deduplicate(pool, ["42"])


@pytest.mark.parametrize("seed", [None, True, 2.5, "1", [1, 2]])
def test_a_seed_other_than_an_int_or_a_generator_is_refused(seed):
    """Splits and labelled subsets must be repeatable: no fresh entropy, no bool or list."""
    records = generate(20, fs=100, duration=2, seed=0)
    with pytest.raises(ValueError, match="seed must be an int"):
        patient_split(records, seed=seed)
    with pytest.raises(ValueError, match="seed must be an int"):
        label_fraction(records.y("diagnosis"), 0.5, seed)
