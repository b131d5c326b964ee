"""Metrics against references written here from the definitions: the AUROC as the share of
positive-negative pairs ranked correctly (ties one half), bootstrap intervals on cases with a
known answer, and the subgroup maps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from threekg_lite.data.cinc import SCORED_CLASSES
from threekg_lite.data.ptbxl import SUPERCLASSES
from threekg_lite.evaluate.metrics import (
    CINC_SUBGROUPS,
    PTBXL_SUBGROUPS,
    _weighted_auroc,
    bootstrap_auroc,
    macro_auroc,
    per_class_auroc,
    subgroup_auroc,
)


def pair_auroc(y: np.ndarray, s: np.ndarray) -> float:
    """Share of (positive, negative) pairs with the positive scored higher; ties count 1/2."""
    pos, neg = s[y.astype(bool)], s[~y.astype(bool)]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def test_auroc_matches_pair_definition_with_ties():
    rng = np.random.default_rng(0)
    y = rng.random((300, 6)) < [0.5, 0.3, 0.1, 0.05, 0.02, 0.6]
    s = rng.integers(0, 5, size=(300, 6)) / 4 + 0.3 * y  # many ties, some signal
    expected = [pair_auroc(y[:, c], s[:, c]) for c in range(6)]
    np.testing.assert_allclose(per_class_auroc(y, s), expected, rtol=0, atol=1e-12)
    assert math.isclose(macro_auroc(y.astype(int), s), float(np.mean(expected)), abs_tol=1e-12)


def test_undefined_classes_are_skipped():
    rng = np.random.default_rng(1)
    y = rng.random((50, 4)) < 0.4
    y[:, 1] = False  # no positive
    y[:, 3] = True  # no negative
    s = rng.normal(size=(50, 4))
    per_class = per_class_auroc(y, s)
    assert np.isnan(per_class[[1, 3]]).all() and not np.isnan(per_class[[0, 2]]).any()
    expected = (pair_auroc(y[:, 0], s[:, 0]) + pair_auroc(y[:, 2], s[:, 2])) / 2
    assert math.isclose(macro_auroc(y, s), expected)
    assert math.isnan(macro_auroc(np.zeros((5, 2), dtype=bool), np.zeros((5, 2))))


def test_perfect_and_reversed_scores():
    y = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=bool)
    s = y + np.array([[0.1], [0.2], [0.3], [0.4]])
    assert macro_auroc(y, s) == 1.0
    assert macro_auroc(y, -s) == 0.0


def test_bad_metric_inputs():
    with pytest.raises(ValueError, match="shapes"):
        macro_auroc(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="0/1"):
        macro_auroc(np.full((4, 2), 2), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        macro_auroc(np.eye(2), np.array([[0.0, np.nan], [1.0, 0.0]]))


# =============================================================================================
# bootstrap


def test_weighted_auroc_equals_auroc_of_repeated_records():
    rng = np.random.default_rng(2)
    y = rng.random(40) < 0.3
    s = rng.integers(0, 6, size=40).astype(float)  # ties
    w = rng.integers(0, 4, size=(5, 40))
    got = _weighted_auroc(y, s, w)
    for b in range(5):
        assert math.isclose(got[b], pair_auroc(np.repeat(y, w[b]), np.repeat(s, w[b])))
    no_pos = np.where(y, 0, 1)[None, :]
    assert np.isnan(_weighted_auroc(y, s, no_pos)).all()


def _reference_bootstrap(y, s, n_boot, seed):
    """Macro AUROC of each resample, drawn as ``bootstrap_auroc`` draws them (one batch of
    ``rng.integers(0, N, (B, N))``), from the pair definition; classes a resample lacks
    positives or negatives of are skipped, and resamples with no class left."""
    n = len(y)
    draws = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    values = []
    for d in draws:
        yb, sb = y[d], s[d]
        aucs = [pair_auroc(yb[:, c], sb[:, c]) for c in range(y.shape[1]) if 0 < yb[:, c].sum() < n]
        if aucs:
            values.append(np.mean(aucs))
    return values


@pytest.mark.parametrize("case", ["three classes", "one rare class"])
def test_bootstrap_matches_explicit_resampling(case):
    rng = np.random.default_rng(7)
    if case == "three classes":
        y = rng.random((60, 3)) < [0.4, 0.2, 0.03]  # the last class is often absent
        s = rng.random((60, 3)) + 0.3 * y
    else:
        y = np.array([[True], [False], [False], [False]])  # some resamples lack the positive
        s = np.array([[0.4], [0.1], [0.5], [0.3]])
    values = _reference_bootstrap(y, s, 200, seed=8)
    assert len(values) > 100
    for alpha in (0.05, 0.2):
        lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        estimate, low, high = bootstrap_auroc(y, s, n_boot=200, seed=8, alpha=alpha)
        assert math.isclose(low, lo) and math.isclose(high, hi)
        assert estimate == macro_auroc(y, s)


def test_bootstrap_needs_half_the_resamples_usable():
    # two records, one positive: a resample is usable only if it draws both (probability 1/2)
    y, s = np.array([[True], [False]]), np.array([[0.7], [0.2]])
    outcomes = set()
    for seed in range(8):
        usable = len(_reference_bootstrap(y, s, 1, seed)) == 1
        outcomes.add(usable)
        if usable:
            assert bootstrap_auroc(y, s, n_boot=1, seed=seed) == (1.0, 1.0, 1.0)
        else:
            with pytest.raises(ValueError, match="only 0 of 1 resamples"):
                bootstrap_auroc(y, s, n_boot=1, seed=seed)
    assert outcomes == {True, False}


def test_bootstrap_of_perfect_scores_is_one():
    rng = np.random.default_rng(3)
    y = rng.random((200, 3)) < 0.3
    s = y + rng.random((200, 3)) * 0.5
    assert bootstrap_auroc(y, s, n_boot=200, seed=0) == (1.0, 1.0, 1.0)


def test_bootstrap_of_random_scores_covers_half_and_narrows():
    rng = np.random.default_rng(4)
    widths = []
    for n in (100, 2500):
        y = rng.random((n, 2)) < 0.4
        s = rng.random((n, 2))
        estimate, low, high = bootstrap_auroc(y, s, n_boot=400, seed=1)
        assert estimate == macro_auroc(y, s)
        assert low <= 0.5 <= high and low < estimate < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2.5  # about 1/sqrt(25) = 1/5 of it


def test_bootstrap_is_deterministic_per_seed():
    rng = np.random.default_rng(5)
    y = rng.random((150, 3)) < 0.2
    s = rng.random((150, 3)) + 0.2 * y
    a = bootstrap_auroc(y, s, n_boot=300, seed=9)
    assert a == bootstrap_auroc(y, s, n_boot=300, seed=9)
    assert a[1:] != bootstrap_auroc(y, s, n_boot=300, seed=10)[1:]


def test_bootstrap_errors():
    y = np.array([[1], [0], [1], [0]], dtype=bool)
    s = np.array([[0.9], [0.1], [0.8], [0.2]])
    with pytest.raises(ValueError, match="undefined"):
        bootstrap_auroc(np.zeros((4, 1), dtype=bool), s)
    for kwargs, match in (({"n_boot": 0}, "n_boot"), ({"alpha": 1.0}, "alpha")):
        with pytest.raises(ValueError, match=match):
            bootstrap_auroc(y, s, **kwargs)


# =============================================================================================
# subgroups


def test_subgroup_auroc_picks_the_right_classes():
    rng = np.random.default_rng(6)
    y = rng.random((100, 5)) < 0.4
    s = rng.random((100, 5))
    s[:, 0] = y[:, 0]  # NORM perfect
    s[:, 1] = -y[:, 1].astype(float)  # MI reversed
    got = subgroup_auroc(y, s, SUPERCLASSES, PTBXL_SUBGROUPS)
    assert list(got) == ["normal", "infarction", "ST/T", "conduction", "hypertrophy"]
    assert got["normal"] == 1.0 and got["infarction"] == 0.0
    assert got["ST/T"] == pair_auroc(y[:, 2], s[:, 2])
    assert got["hypertrophy"] == pair_auroc(y[:, 4], s[:, 4])
    # a group of two classes is their mean; groups absent from the classes are left out
    names = ("AF", "SB", "QAb")
    mixed = subgroup_auroc(y[:, :3], s[:, :3], names, CINC_SUBGROUPS)
    assert set(mixed) == {"rhythm", "infarction"}
    assert mixed["rhythm"] == (1.0 + 0.0) / 2 and mixed["infarction"] == got["ST/T"]
    with pytest.raises(ValueError, match="no group"):
        subgroup_auroc(y, s, SUPERCLASSES, CINC_SUBGROUPS)
    with pytest.raises(ValueError, match="class names"):
        subgroup_auroc(y, s, SUPERCLASSES[:4], PTBXL_SUBGROUPS)


def test_every_class_is_in_exactly_one_subgroup():
    members = [m for group in CINC_SUBGROUPS.values() for m in group]
    assert sorted(members) == sorted(abbr for abbr, _, _ in SCORED_CLASSES)
    assert len(members) == len(set(members)) == 24
    ptbxl = [m for group in PTBXL_SUBGROUPS.values() for m in group]
    assert sorted(ptbxl) == sorted(SUPERCLASSES)


# ---------------------------------------------------------------- resamples and paired differences


def _auroc_reference(y, s, w):
    """Weighted AUROC straight from the definition: pairs of (positive, negative) records,
    each pair weighted by how often the resample drew both."""
    num = den = 0.0
    for i in range(len(y)):
        for j in range(len(y)):
            if y[i] and not y[j]:
                pair = w[i] * w[j]
                num += pair * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0)
                den += pair
    return num / den if den else float("nan")


def test_macro_auroc_resampled_equals_the_definition():
    from threekg_lite.evaluate.metrics import macro_auroc_resampled, resample_weights

    rng = np.random.default_rng(0)
    y = rng.random((30, 3)) < 0.4
    s = np.round(rng.random((30, 3)), 1)  # ties on purpose
    w = resample_weights(30, 20, seed=1)
    assert w.shape == (20, 30) and (w.sum(axis=1) == 30).all()
    got = macro_auroc_resampled(y, s, w)
    for b in range(20):
        per_class = [_auroc_reference(y[:, c], s[:, c], w[b]) for c in range(3)]
        assert math.isclose(got[b], np.nanmean(per_class), rel_tol=1e-12)


def test_unit_weights_give_the_plain_macro_auroc():
    from threekg_lite.evaluate.metrics import macro_auroc, macro_auroc_resampled

    rng = np.random.default_rng(2)
    y, s = rng.random((40, 4)) < 0.3, rng.random((40, 4))
    assert math.isclose(macro_auroc_resampled(y, s, np.ones((1, 40)))[0], macro_auroc(y, s))


def test_paired_difference_of_a_method_with_itself_is_exactly_zero():
    from threekg_lite.evaluate.metrics import paired_difference

    a = np.array([0.7, 0.72, 0.69])
    boot = np.random.default_rng(0).random((3, 100))
    assert paired_difference(a, a, boot, boot) == (0.0, 0.0, 0.0)


def test_paired_difference_is_the_mean_difference_and_covers_a_constant_shift():
    from threekg_lite.evaluate.metrics import paired_difference

    rng = np.random.default_rng(3)
    b = rng.random(6)
    b_boot = rng.random((6, 400))
    diff, low, high = paired_difference(b + 0.05, b, b_boot + 0.05, b_boot)
    assert math.isclose(diff, 0.05) and math.isclose(low, 0.05) and math.isclose(high, 0.05)


def test_pairing_narrows_the_interval_of_correlated_methods():
    """Two methods that share the test-set noise: the paired interval excludes 0 where the
    two methods' own intervals overlap."""
    from threekg_lite.evaluate.metrics import paired_difference

    rng = np.random.default_rng(4)
    shared = rng.normal(0, 0.03, size=(5, 1000))  # the test resample moves both alike
    a_boot = 0.72 + shared + rng.normal(0, 0.003, (5, 1000))
    b_boot = 0.70 + shared + rng.normal(0, 0.003, (5, 1000))
    diff, low, high = paired_difference(a_boot.mean(1), b_boot.mean(1), a_boot, b_boot, seed=0)
    assert 0 < low < diff < high
    a_low, b_high = np.percentile(a_boot.mean(0), 2.5), np.percentile(b_boot.mean(0), 97.5)
    assert a_low < b_high  # unpaired, the intervals overlap


def test_paired_difference_rejects_mismatched_runs():
    from threekg_lite.evaluate.metrics import paired_difference

    with pytest.raises(ValueError, match="one shape"):
        paired_difference(np.ones(3), np.ones(2), np.ones((3, 5)), np.ones((2, 5)))


def test_labels_of_any_0_1_representation_and_one_class_in_either_shape():
    """Labels from pandas' mixed columns come as object arrays; one class may be ``(N,)`` or
    ``(N, 1)`` on either side: all give the AUROC of the pair definition."""
    rng = np.random.default_rng(3)
    y = np.array([0, 1] * 10)
    s = rng.normal(size=20) + y
    expected = pair_auroc(y, s)
    for labels in (y.astype(object), y.astype(bool).astype(object), y.astype(float)):
        assert macro_auroc(labels, s) == pytest.approx(expected)
    assert macro_auroc(y, s[:, None]) == pytest.approx(expected)
    assert macro_auroc(y[:, None], s) == pytest.approx(expected)
    with pytest.raises(ValueError, match="only 0/1"):
        macro_auroc(np.array(["0", "1"] * 10, dtype=object), s)
