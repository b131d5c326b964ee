"""Metrics of multi-label ECG classification: macro AUROC, bootstrap and paired intervals, AUROC per
group of related classes. Labels are ``(N, C)`` bool or 0/1, scores ``(N, C)`` (only their order
matters). The AUROC of a class is the probability that a random positive scores above a random
negative, ties counting one half; it is defined only for a class with both. The macro AUROC is the
mean over the defined classes (the PTB-XL benchmark's ``macro_auc``, Strodthoff et al. 2021)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from threekg_lite.runtime.checks import check_int, check_labels, seeded_rng

PTBXL_SUBGROUPS: dict[str, tuple[str, ...]] = {
    "normal": ("NORM",),
    "infarction": ("MI",),
    "ST/T": ("STTC",),
    "conduction": ("CD",),
    "hypertrophy": ("HYP",),
}
"""The five PTB-XL diagnostic superclasses, one per group (task ``"superclass"``)."""

CINC_SUBGROUPS: dict[str, tuple[str, ...]] = {
    "rhythm": ("AF", "AFL", "Brady", "NSR", "PAC", "PVC", "SA", "SB", "STach"),
    "conduction": ("IAVB", "CRBBB", "IRBBB", "LAnFB", "LBBB", "LPR", "NSIVCB"),
    "ST/T": ("LQT", "TAb", "TInv"),
    "infarction": ("QAb",),
    "hypertrophy/axis": ("LAD", "RAD"),
    "other": ("LQRSV", "PR"),
}
"""The 24 merged scored classes of the CinC 2020 challenge
(:data:`threekg_lite.data.cinc.SCORED_CLASSES`) in six clinical groups. PAC includes SVPB,
PVC VPB, CRBBB RBBB; LPR (prolonged PR) is the AV-conduction delay IAVB describes; LQT
(prolonged QT) is a repolarisation finding; QAb: pathological Q waves; LAD/RAD: axis
deviation; LQRSV: low QRS voltages; PR: pacing rhythm (set by a device)."""


def _check_inputs(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(y, s)`` as ``(N, C)`` bool and float64; a 1-D pair is one class, ``(N, 1)``."""
    y, s = np.asarray(y_true), np.asarray(scores, dtype=float)
    y, s = (y[:, None] if y.ndim == 1 else y), (s[:, None] if s.ndim == 1 else s)
    if y.shape != s.shape:
        raise ValueError(f"y_true and scores must both be (N, C), got shapes {y.shape}, {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or infinite values: check the model's outputs")
    return check_labels(y, "y_true"), s


def _defined(y: np.ndarray) -> np.ndarray:
    """``(C,)`` bool: classes with both positives and negatives in ``y`` ``(N, C)``."""
    positives = y.sum(axis=0)
    return (positives > 0) & (positives < y.shape[0])


def per_class_auroc(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``(C,)`` AUROC of each class; NaN for a class without both positives and negatives."""
    y, s = _check_inputs(y_true, scores)
    out = np.full(y.shape[1], np.nan)
    for c in np.flatnonzero(_defined(y)):
        out[c] = roc_auc_score(y[:, c], s[:, c])
    return out


def macro_auroc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean AUROC over the defined classes; NaN when none is (check with ``math.isnan``)."""
    per_class = per_class_auroc(y_true, scores)
    defined = per_class[~np.isnan(per_class)]
    return float(defined.mean()) if defined.size else float("nan")


def _weighted_auroc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(B,)`` AUROC of one class (``y``, ``s``: ``(N,)``) under ``(B, N)`` record weights ``w``
    (``w_i``: the times a bootstrap resample drew record ``i``):
    ``AUROC = Σ_{i pos, j neg} w_i w_j ([s_i > s_j] + ½ [s_i = s_j]) / (W_pos W_neg)``. Records
    are sorted by score and grouped by equal score; each group's positive weight meets the
    negative weight of all lower groups, plus half its own. NaN where the weighted positives or
    negatives are zero."""
    order = np.argsort(s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])  # (G,) tie groups
    w_sorted = w[:, order].astype(float)
    pos = np.add.reduceat(w_sorted * y_sorted, starts, axis=1)  # (B, G)
    neg = np.add.reduceat(w_sorted * ~y_sorted, starts, axis=1)  # (B, G)
    below = np.cumsum(neg, axis=1) - neg  # negative weight strictly below each group
    numerator = (pos * (below + 0.5 * neg)).sum(axis=1)
    denominator = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _percentiles(values: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def bootstrap_auroc(
    y_true: np.ndarray,
    scores: np.ndarray,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    alpha: float = 0.05,
) -> tuple[float, float, float]:
    """``(estimate, low, high)``: macro AUROC on all records with a percentile bootstrap
    ``1 - alpha`` interval (``seed``: an int or a Generator, which is advanced). Each
    resample draws N records with replacement; its macro AUROC is the mean over the classes
    defined *in that resample*, and resamples with no defined class are skipped.
    ``ValueError`` when no class is defined on all records, or fewer than half the
    resamples have one (too few positives or negatives to bootstrap)."""
    y, s = _check_inputs(y_true, scores)
    n_boot = check_int("n_boot", n_boot)
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    estimate = macro_auroc(y, s)
    if np.isnan(estimate):
        raise ValueError(
            "no class has both positives and negatives in y_true: the AUROC is undefined"
        )
    values = macro_auroc_resampled(y, s, resample_weights(y.shape[0], n_boot, seed))
    usable = ~np.isnan(values)
    if usable.sum() < n_boot / 2:
        raise ValueError(
            f"only {int(usable.sum())} of {n_boot} resamples have a class with both positives "
            "and negatives: too few records to bootstrap the AUROC"
        )
    return (estimate, *_percentiles(values[usable], alpha))


def resample_weights(n: int, n_boot: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``(n_boot, n)`` bootstrap resamples of ``n`` records as weights: how many times each
    resample drew each record (``n`` draws with replacement per resample). Scoring several
    classifiers under the same weights gives *paired* resamples: the same test records,
    drawn the same number of times, for every classifier."""
    rng = seeded_rng(seed)  # a Generator is used as is (and advanced)
    chunk = max(1, 2_000_000 // max(1, n))  # resamples per draw: bounds the index matrix
    parts = []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(b, n))  # (b, n) record positions
        offsets = (np.arange(b) * n)[:, None]
        parts.append(np.bincount((draws + offsets).ravel(), minlength=b * n).reshape(b, n))
    return np.concatenate(parts) if parts else np.zeros((0, n), np.int64)


def macro_auroc_resampled(
    y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """``(B,)`` macro AUROC under each row of record weights ``(B, N)`` (a resample): the
    mean over the classes defined in it (positive and negative weight); NaN where none is."""
    y, s = _check_inputs(y_true, scores)
    w = np.asarray(weights)
    if w.ndim != 2 or w.shape[1] != y.shape[0]:
        raise ValueError(f"weights must be (B, {y.shape[0]}), got {w.shape}")
    classes = np.flatnonzero(_defined(y))
    if classes.size == 0:
        return np.full(w.shape[0], np.nan)
    auc = np.stack([_weighted_auroc(y[:, c], s[:, c], w) for c in classes], axis=1)
    ok = ~np.isnan(auc)  # (B, C_defined)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(ok, auc, 0.0).sum(axis=1) / count, np.nan)


def paired_difference(
    a: np.ndarray,
    b: np.ndarray,
    a_boot: np.ndarray,
    b_boot: np.ndarray,
    seed: int | np.random.Generator = 0,
    alpha: float = 0.05,
) -> tuple[float, float, float]:
    """``(diff, low, high)``: mean AUROC difference A - B over paired runs, with a ``1 - alpha``
    bootstrap interval.

    ``a``, ``b``: ``(R,)`` AUROC of the runs on all test records; ``a_boot``, ``b_boot``: ``(R, B)``
    the same runs on ``B`` shared test resamples (:func:`resample_weights`,
    :func:`macro_auroc_resampled`). Run ``r`` of A and of B share the labelled subset (label seed),
    the pretraining-seed index and the test records. Each replicate ``j`` resamples the test records
    (column ``j``, the same for both) *and* the runs (with replacement, drawn from ``seed``), so the
    interval covers both the test set's sampling and the spread over pretraining and label seeds."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    a_boot, b_boot = np.asarray(a_boot, float), np.asarray(b_boot, float)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"a and b must be two (R,) arrays of one shape, got {a.shape}, {b.shape}")
    if a_boot.ndim != 2 or a_boot.shape != b_boot.shape or a_boot.shape[0] != a.size:
        raise ValueError(
            f"a_boot and b_boot must be ({a.size}, B), got {a_boot.shape} and {b_boot.shape}"
        )
    runs, n_boot = a_boot.shape
    pick = seeded_rng(seed).integers(0, runs, size=(n_boot, runs))  # (B, R)
    diff_boot = a_boot - b_boot  # (R, B)
    replicate = np.nanmean(diff_boot[pick, np.arange(n_boot)[:, None]], axis=1)  # (B,)
    replicate = replicate[~np.isnan(replicate)]
    if replicate.size < n_boot / 2:
        raise ValueError("fewer than half the resamples define the AUROC of both methods")
    return (float(np.mean(a - b)), *_percentiles(replicate, alpha))


def subgroup_auroc(
    y_true: np.ndarray,
    scores: np.ndarray,
    class_names: Sequence[str],
    groups: Mapping[str, Sequence[str]],
) -> dict[str, float]:
    """Group name -> macro AUROC over its classes among ``class_names`` (the C column
    names; NaN when none of them is defined). Groups with no class there are left out; no
    group at all is a ``ValueError`` (the groups are for another label set)."""
    y, s = _check_inputs(y_true, scores)
    names = list(class_names)
    if len(names) != y.shape[1]:
        raise ValueError(f"{len(names)} class names for {y.shape[1]} label columns")
    column = {name: j for j, name in enumerate(names)}
    out = {}
    for group, members in groups.items():
        cols = [column[m] for m in members if m in column]
        if cols:
            out[group] = macro_auroc(y[:, cols], s[:, cols])
    if not out:
        raise ValueError(
            f"no group has a class among {names[:8]}: the groups are for another label set "
            "(PTBXL_SUBGROUPS for PTB-XL superclasses, CINC_SUBGROUPS for the CinC classes)"
        )
    return out


def subgroups_for(class_names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """:data:`PTBXL_SUBGROUPS` or :data:`CINC_SUBGROUPS`, whichever covers more of
    ``class_names`` (PTB-XL's on a tie); ``{}`` when neither covers any."""

    def covered(table: Mapping[str, tuple[str, ...]]) -> int:
        return len(set(class_names) & {c for members in table.values() for c in members})

    best = max((PTBXL_SUBGROUPS, CINC_SUBGROUPS), key=covered)
    return dict(best) if covered(best) else {}
