"""Prepared folders (threekg_lite.data.prepare): what is saved is what is loaded back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from threekg_lite.data.prepare import (
    default_prepared_dir,
    load_prepared,
    prepare_database,
    save_prepared,
)
from threekg_lite.data.ptbdb import load_ptbdb
from threekg_lite.data.ptbxl import load_ptbxl
from threekg_lite.data.records import ECGRecords

IDS = list(range(1, 21))


@pytest.fixture(scope="module")
def ptbxl20(data_dir) -> ECGRecords:
    return load_ptbxl(data_dir, ecg_ids=IDS, progress=False)


def _with_nan(records: ECGRecords) -> ECGRecords:
    signals = records.signals.copy()
    signals[2, 5, 10:20] = np.nan
    signals[7, 0, :] = np.nan
    return ECGRecords(
        signals=signals,
        fs=records.fs,
        record_ids=records.record_ids,
        patient_ids=records.patient_ids,
        labels=records.labels,
        meta=records.meta,
        source=records.source,
        problems={"3": "aVF: 10 NaN sample(s)", "8": "I: 1000 NaN sample(s)"},
    )


def _assert_same_except_signals(loaded: ECGRecords, original: ECGRecords) -> None:
    assert loaded.fs == original.fs
    assert loaded.source == original.source
    assert loaded.lead_names == original.lead_names
    assert list(loaded.record_ids) == list(original.record_ids)
    assert list(loaded.patient_ids) == list(original.patient_ids)
    assert loaded.problems == original.problems
    assert list(loaded.labels) == list(original.labels)
    for task, ls in original.labels.items():
        assert loaded.labels[task].names == ls.names
        np.testing.assert_array_equal(loaded.labels[task].y, ls.y)
        assert loaded.labels[task].y.dtype == bool
    # meta goes through a CSV file: same columns, same values as text (an empty string comes
    # back as NaN, as pandas reads an empty CSV cell)
    assert list(loaded.meta.columns) == list(original.meta.columns)
    pd.testing.assert_frame_equal(_as_text(loaded.meta), _as_text(original.meta))


def _as_text(meta: pd.DataFrame) -> pd.DataFrame:
    """Every value as its text, a missing one (NaN, None, "") as "" (pandas 2 and 3 alike)."""
    meta = meta.reset_index(drop=True).astype(object)
    return meta.apply(lambda col: col.map(lambda v: "" if pd.isna(v) else str(v)))


def test_float32_round_trip_is_exact(ptbxl20, tmp_path):
    path = save_prepared(ptbxl20, tmp_path / "p")
    assert path == tmp_path / "p"
    on_disk = np.load(path / "signals.npy")
    assert on_disk.dtype == np.float32 and on_disk.shape == (20, 12, 1000)
    loaded = load_prepared(path)
    assert loaded.signals.dtype == np.float32
    np.testing.assert_array_equal(loaded.signals, ptbxl20.signals)
    _assert_same_except_signals(loaded, ptbxl20)
    info = json.loads((path / "info.json").read_text())
    assert info["fs"] == 100.0 and info["shape"] == [20, 12, 1000] and info["dtype"] == "float32"
    assert set(info["tasks"]) == {"superclass", "subclass", "diagnostic", "form", "rhythm"}


def test_meta_numbers_survive(ptbxl20, tmp_path):
    loaded = load_prepared(save_prepared(ptbxl20, tmp_path / "p"))
    np.testing.assert_array_equal(loaded.meta["ecg_id"], IDS)
    np.testing.assert_array_equal(loaded.meta["strat_fold"], ptbxl20.meta["strat_fold"])
    np.testing.assert_array_equal(loaded.meta["age"], ptbxl20.meta["age"])


def test_int16_round_trip(ptbxl20, tmp_path):
    original = _with_nan(ptbxl20)
    path = save_prepared(original, tmp_path / "p16", dtype="int16")
    on_disk = np.load(path / "signals.npy")
    assert on_disk.dtype == np.int16
    # independent: microvolts, rounded, with -32768 for NaN
    x = original.signals.astype(np.float64) * 1000
    expected = np.where(np.isnan(x), -32768, np.round(np.nan_to_num(x))).astype(np.int16)
    np.testing.assert_array_equal(on_disk, expected)
    assert (path / "signals.npy").stat().st_size < 0.6 * original.signals.nbytes
    loaded = load_prepared(path)
    assert loaded.signals.dtype == np.float32
    nan = np.isnan(original.signals)
    assert nan.sum() == 10 + 1000
    np.testing.assert_array_equal(np.isnan(loaded.signals), nan)
    err = np.abs(loaded.signals[~nan].astype(np.float64) - original.signals[~nan])
    assert err.max() <= 0.0005 + 1e-6  # 0.5 microvolt (plus float32 rounding)
    assert err.max() > 0  # it is a lossy format: the check above is not vacuous
    _assert_same_except_signals(loaded, original)


def test_int16_out_of_range(ptbxl20, tmp_path):
    big = ptbxl20.subset([0, 1])
    big.signals[1, 3, 7] = 40.0  # mV
    with pytest.raises(ValueError, match="float32"):
        save_prepared(big, tmp_path / "big", dtype="int16")
    assert not (tmp_path / "big").exists()
    big.signals[1, 3, 7] = -32.7674  # rounds to -32767: still in range
    assert load_prepared(save_prepared(big, tmp_path / "ok", dtype="int16")).signals[
        1, 3, 7
    ] == pytest.approx(-32.767)


def test_bad_dtype(ptbxl20, tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        save_prepared(ptbxl20, tmp_path / "x", dtype="float16")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_mmap_and_whole_read_are_identical(ptbxl20, tmp_path, dtype):
    path = save_prepared(_with_nan(ptbxl20), tmp_path / "p", dtype=dtype)
    mapped = load_prepared(path, mmap=True)
    whole = load_prepared(path, mmap=False)
    np.testing.assert_array_equal(mapped.signals, whole.signals)
    if dtype == "float32":
        assert isinstance(mapped.signals, np.memmap) and not mapped.signals.flags.writeable
        assert not isinstance(whole.signals, np.memmap) and whole.signals.flags.writeable
    for task in whole.labels:
        np.testing.assert_array_equal(mapped.y(task), whole.y(task))
    np.testing.assert_array_equal(mapped.record_ids, whole.record_ids)


def test_aux_frank_leads_round_trip(data_dir, tmp_path):
    ptb = load_ptbdb(data_dir, duration=5, progress=False)
    assert ptb.aux["frank"].shape == (1, 3, 5000)
    path = save_prepared(ptb, tmp_path / "ptb")
    for mmap in (True, False):
        loaded = load_prepared(path, mmap=mmap)
        assert list(loaded.aux) == ["frank"]
        np.testing.assert_array_equal(loaded.aux["frank"], ptb.aux["frank"])
        np.testing.assert_array_equal(loaded.signals, ptb.signals)
        _assert_same_except_signals(loaded, ptb)


def test_subset_of_loaded_prepared(ptbxl20, tmp_path):
    loaded = load_prepared(save_prepared(ptbxl20, tmp_path / "p"))
    part = loaded.subset([3, 1])
    np.testing.assert_array_equal(part.signals, ptbxl20.signals[[3, 1]])
    assert list(part.record_ids) == ["4", "2"]


def test_prepare_database_equals_loader(ptbxl20, data_dir, tmp_path):
    out = prepare_database(
        "ptbxl", tmp_path / "ptbxl-100", data_dir=data_dir, ecg_ids=IDS, progress=False
    )
    loaded = load_prepared(out)
    np.testing.assert_array_equal(loaded.signals, ptbxl20.signals)
    _assert_same_except_signals(loaded, ptbxl20)


def test_prepare_database_default_folder(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = prepare_database("ptbdb", data_dir=data_dir, duration=2, fs=500, progress=False)
    assert out == default_prepared_dir() / "ptbdb-500hz"
    assert out == tmp_path / "cache" / "threekg-lite" / "prepared" / "ptbdb-500hz"
    assert load_prepared(out).signals.shape == (1, 12, 1000)


def test_overwrite_replaces(ptbxl20, data_dir, tmp_path):
    out = tmp_path / "prep"
    prepare_database("ptbxl", out, data_dir=data_dir, ecg_ids=IDS, progress=False)
    with pytest.raises(FileExistsError):
        prepare_database("ptbxl", out, data_dir=data_dir, ecg_ids=[5, 6], progress=False)
    assert len(load_prepared(out)) == 20
    prepare_database(
        "ptbxl",
        out,
        data_dir=data_dir,
        ecg_ids=[5, 6],
        overwrite=True,
        progress=False,
        dtype="int16",
    )
    loaded = load_prepared(out)
    assert list(loaded.record_ids) == ["5", "6"]
    np.testing.assert_allclose(loaded.signals, ptbxl20.signals[[4, 5]], atol=0.0005 + 1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prep"]  # no old or temporary folder
    assert sorted(p.name for p in out.iterdir()) == [
        "info.json",
        "labels.npz",
        "records.csv",
        "signals.npy",
    ]


def test_records_without_meta_or_labels(tmp_path):
    rng = np.random.default_rng(1)
    rec = ECGRecords(
        signals=rng.normal(size=(3, 12, 20)).astype(np.float32),
        fs=50.0,
        record_ids=np.array(["a", "007", "c"]),
        patient_ids=np.array(["1", "1", "02"]),
    )
    loaded = load_prepared(save_prepared(rec, tmp_path / "p"))
    np.testing.assert_array_equal(loaded.signals, rec.signals)
    assert list(loaded.record_ids) == ["a", "007", "c"]  # strings stay strings
    assert list(loaded.patient_ids) == ["1", "1", "02"]
    assert loaded.labels == {} and loaded.aux == {}
