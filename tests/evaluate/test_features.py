"""The pretext-task experiments: view pairs, the timing signature, twin retrieval and the
heart-rate share of similarity, against references written from their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from threekg_lite.baselines import make_augmentation
from threekg_lite.data import generate
from threekg_lite.evaluate.features import (
    heart_rate_similarity,
    heart_rates,
    timing_signature,
    twin_pairs,
    twin_retrieval,
)


def identity(x, generator):
    return x


@pytest.fixture(scope="module")
def records():
    return generate(24, fs=100, duration=10, seed=1)


def test_same_crop_pairs_are_one_window_and_cross_pairs_two_disjoint_windows(records):
    x = np.asarray(records.signals, dtype=np.float32)
    a, b = twin_pairs(x, 300, identity, torch.Generator().manual_seed(0), same_crop=True)
    assert torch.equal(a, b) and a.shape == (24, 12, 300)
    a, b = twin_pairs(x, 300, identity, torch.Generator().manual_seed(0), same_crop=False)
    for i in range(24):  # each view is a window of its record; the two do not overlap
        starts = []
        for view in (a[i], b[i]):
            hits = [s for s in range(1000 - 300 + 1) if np.array_equal(x[i, :, s : s + 300], view)]
            assert hits
            starts.append(hits[0])
        assert abs(starts[0] - starts[1]) >= 300


def test_pairs_need_room_for_two_windows(records):
    with pytest.raises(ValueError, match="2 crop\\(s\\) of 600 samples do not fit"):
        twin_pairs(records.signals, 600, identity, torch.Generator(), same_crop=False)


def test_timing_signature_follows_its_definition():
    x = np.random.default_rng(0).normal(size=(3, 12, 50))
    got = timing_signature(x, fs=100, smooth_s=0.03)
    slope = np.abs(np.diff(x, axis=-1)).mean(axis=1)
    expected = np.stack([np.convolve(s, np.ones(3) / 3, mode="same") for s in slope])
    expected -= expected.mean(axis=1, keepdims=True)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_timing_signature_ignores_lead_mixing_amplitude_but_not_a_shift(records):
    x = np.asarray(records.signals[:1], dtype=np.float64)
    sig = timing_signature(x, 100)
    assert np.allclose(timing_signature(3.0 * x, 100), sig)
    shifted = np.roll(x, 37, axis=-1)
    assert float((timing_signature(shifted, 100) @ sig.T)[0, 0]) < 0.9


def test_twin_retrieval_counts_rows_whose_nearest_is_their_twin():
    a = np.eye(4)
    assert twin_retrieval(a, a) == 1.0
    assert twin_retrieval(a, a[[1, 0, 2, 3]]) == 0.5
    with pytest.raises(ValueError, match="one shape"):
        twin_retrieval(a, a[:3])


def test_timing_alone_finds_same_crop_twins_of_3kg_views(records):
    """The shortcut in miniature: 3KG views of one crop share their beat timing."""
    aug = make_augmentation("3kg", 100.0)
    x = records.signals
    same = twin_pairs(x, 400, aug, torch.Generator().manual_seed(0), same_crop=True)
    cross = twin_pairs(x, 400, aug, torch.Generator().manual_seed(0), same_crop=False)
    hit_same = twin_retrieval(*(timing_signature(v, 100) for v in same))
    hit_cross = twin_retrieval(*(timing_signature(v, 100) for v in cross))
    assert hit_same > 0.8 and hit_cross < hit_same


def test_heart_rate_similarity_is_the_spearman_of_pairs():
    rng = np.random.default_rng(0)
    f, hr = rng.normal(size=(6, 4)), np.array([60, 70, np.nan, 80, 95, 61.0])
    keep = [0, 1, 3, 4, 5]
    unit = f[keep] / np.linalg.norm(f[keep], axis=1, keepdims=True)
    sims, diffs = [], []
    for p in range(5):
        for q in range(p + 1, 5):
            sims.append(unit[p] @ unit[q])
            diffs.append(-abs(hr[keep][p] - hr[keep][q]))
    assert heart_rate_similarity(f, hr) == pytest.approx(spearmanr(sims, diffs).statistic)


def test_heart_rates_of_synthetic_records_are_plausible(records):
    hr = heart_rates(records.signals[:6], 100.0)
    assert np.isfinite(hr).all() and ((hr > 30) & (hr < 200)).all()
