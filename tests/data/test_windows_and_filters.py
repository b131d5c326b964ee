"""Loader options: sliding windows and band-pass filtering at load time."""

from __future__ import annotations

import numpy as np
import pytest

from threekg_lite.data.cinc import load_cinc
from threekg_lite.data.ludb import load_ludb
from threekg_lite.data.preprocess import bandpass
from threekg_lite.data.ptbdb import load_ptbdb


def test_cinc_windows_cover_each_record(data_dir):
    whole = load_cinc(data_dir, duration=30.0, progress=False)  # padded
    win = load_cinc(data_dir, duration=5.0, stride=5.0, progress=False)
    fs = win.fs
    n_file = (whole.meta["n_samples_file"] * fs / whole.meta["fs_file"]).astype(int)
    expected = {r: max(1, 1 + (n - 2500) // 2500) for r, n in zip(whole.record_ids, n_file)}
    counts = win.meta.groupby("record").size().to_dict()
    assert counts == expected
    # every window equals the corresponding slice of the whole (padded) record
    index = {r: i for i, r in enumerate(whole.record_ids)}
    for row in range(len(win)):
        rec = win.record_ids[row]
        start = int(round(win.meta["window_start_s"][row] * fs))
        np.testing.assert_array_equal(
            win.signals[row], whole.signals[index[rec], :, start : start + 2500]
        )
    # ids and labels repeat with the windows
    for row in range(len(win)):
        np.testing.assert_array_equal(
            win.y("scored")[row], whole.y("scored")[index[win.record_ids[row]]]
        )


def test_overlapping_windows_and_frank_leads_cut_alike(data_dir):
    win = load_ptbdb(data_dir, duration=10.0, stride=2.5, progress=False)
    whole = load_ptbdb(data_dir, progress=False)
    assert len(win) == 1 + (38400 - 10000) // 2500
    for row, start_s in enumerate(win.meta["window_start_s"]):
        start = int(round(start_s * 1000))
        np.testing.assert_array_equal(
            win.aux["frank"][row], whole.aux["frank"][0, :, start : start + 10000]
        )
        np.testing.assert_array_equal(win.signals[row], whole.signals[0, :, start : start + 10000])


def test_short_record_gives_one_padded_window(data_dir):
    win = load_ludb(data_dir, records=[1], duration=12.0, stride=12.0, progress=False)
    assert win.signals.shape == (1, 12, 6000)
    assert not win.signals[0, :, 5000:].any()


def test_stride_needs_duration(data_dir):
    with pytest.raises(ValueError, match="stride needs duration"):
        load_ludb(data_dir, records=[1], stride=1.0, progress=False)
    with pytest.raises(ValueError, match="positive"):
        load_ludb(data_dir, records=[1], duration=2.0, stride=0.0, progress=False)


def test_bandpass_at_load_equals_filtering_afterwards(data_dir):
    raw = load_ludb(data_dir, records=[1, 2], progress=False)
    filt = load_ludb(data_dir, records=[1, 2], bandpass=(0.5, 40.0), progress=False)
    np.testing.assert_allclose(filt.signals, bandpass(raw.signals, 500.0, 0.5, 40.0), atol=1e-5)
    # baseline removed: the mean of every lead is near zero after the high-pass
    assert np.abs(filt.signals.mean(axis=-1)).max() < 0.05
