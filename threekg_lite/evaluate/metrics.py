"""Evaluation metrics for multi-label ECG classification: macro AUROC, its bootstrap interval,
AUROC per group of related classes, and mean and spread over seeds.

The AUROC of one class is the probability that a randomly chosen positive record scores
higher than a randomly chosen negative one, ties counting one half. It is defined only when
the class has both positives and negatives; the macro AUROC is the mean over the classes for
which it is defined (the PTB-XL benchmark's ``macro_auc``, Strodthoff et al. 2021).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

__all__ = [
    "CINC_SUBGROUPS",
    "PTBXL_SUBGROUPS",
    "bootstrap_auroc",
    "macro_auroc",
    "macro_auroc_resampled",
    "paired_difference",
    "resample_weights",
    "mean_and_spread",
    "per_class_auroc",
    "subgroup_auroc",
]

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
(:data:`threekg_lite.data.cinc.SCORED_CLASSES`) in six clinical groups:

================  =====================================================================
group             classes
================  =====================================================================
rhythm            AF, AFL, Brady, NSR (sinus rhythm), PAC (and SVPB), PVC (and VPB),
                  SA (sinus arrhythmia), SB (sinus bradycardia), STach (sinus tachycardia)
conduction        IAVB, CRBBB (and RBBB), IRBBB, LAnFB, LBBB, LPR (prolonged PR: the
                  AV-conduction delay IAVB describes), NSIVCB
ST/T              TAb (T wave abnormal), TInv (T wave inversion), LQT (prolonged QT, a
                  repolarisation finding)
infarction        QAb (pathological Q waves)
hypertrophy/axis  LAD, RAD (left / right axis deviation)
other             LQRSV (low QRS voltages), PR (pacing rhythm, set by a device)
================  =====================================================================
"""


def _check_inputs(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(y, s)`` as ``(N, C)`` bool and float64; a 1-D pair is one class, ``(N, 1)``."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if s.ndim == 1:
        s = s[:, None]
    if y.ndim != 2 or y.shape != s.shape:
        raise ValueError(
            f"y_true and scores must both be (N, C), got shapes {np.shape(y_true)} and "
            f"{np.shape(scores)}"
        )
    if y.dtype != bool:
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y_true must hold only 0/1 or True/False labels")
        y = y.astype(bool)
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or infinite values: check the model's outputs")
    return y, s


def _defined(y: np.ndarray) -> np.ndarray:
    """``(C,)`` bool: classes with both positives and negatives in ``y`` ``(N, C)``."""
    positives = y.sum(axis=0)
    return (positives > 0) & (positives < y.shape[0])


def per_class_auroc(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of each class.

    Parameters
    ----------
    y_true
        ``(N, C)`` bool or 0/1 labels.
    scores
        ``(N, C)`` scores (logits or probabilities: only their order matters).

    Returns
    -------
    numpy.ndarray
        ``(C,)`` float64, NaN for classes without both positives and negatives.
    """
    y, s = _check_inputs(y_true, scores)
    out = np.full(y.shape[1], np.nan)
    for c in np.flatnonzero(_defined(y)):
        out[c] = roc_auc_score(y[:, c], s[:, c])
    return out


def macro_auroc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean AUROC over the classes that have both positives and negatives.

    Parameters
    ----------
    y_true
        ``(N, C)`` bool or 0/1 labels.
    scores
        ``(N, C)`` scores.

    Returns
    -------
    float
        The macro AUROC, or NaN when no class is defined (callers check with ``math.isnan``).
    """
    per_class = per_class_auroc(y_true, scores)
    defined = per_class[~np.isnan(per_class)]
    return float(defined.mean()) if defined.size else float("nan")


def _weighted_auroc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUROC of one class under record weights, for many weightings at once.

    With weight ``w_i`` for record ``i`` (the number of times a bootstrap resample drew it),
    ``AUROC = Σ_{i pos, j neg} w_i w_j ([s_i > s_j] + ½ [s_i = s_j]) / (W_pos W_neg)``.
    Records are sorted by score and grouped by equal score; each group's positive weight
    meets the negative weight of all lower groups, plus half its own.

    Parameters
    ----------
    y
        ``(N,)`` bool labels.
    s
        ``(N,)`` scores.
    w
        ``(B, N)`` non-negative weights.

    Returns
    -------
    numpy.ndarray
        ``(B,)`` AUROC, NaN where the weighted positives or negatives are zero.
    """
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


def bootstrap_auroc(
    y_true: np.ndarray,
    scores: np.ndarray,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    alpha: float = 0.05,
) -> tuple[float, float, float]:
    """Macro AUROC with a percentile bootstrap confidence interval.

    Each resample draws N records with replacement; its macro AUROC is the mean over the
    classes defined in that resample (others are skipped), and resamples with no defined class
    are skipped. The interval is the ``alpha/2`` and ``1 - alpha/2`` percentiles of the
    resamples' values. Resamples are computed as record weights, many at a time.

    Parameters
    ----------
    y_true
        ``(N, C)`` bool or 0/1 labels.
    scores
        ``(N, C)`` scores.
    n_boot
        Number of resamples (>= 1).
    seed
        An int, or a ``numpy.random.Generator`` (which is advanced).
    alpha
        One minus the interval's coverage, in (0, 1): 0.05 gives a 95 % interval.

    Returns
    -------
    tuple of float
        ``(estimate, low, high)``: the macro AUROC on all records and the interval's bounds.

    Raises
    ------
    ValueError
        If no class is defined on the full set, or fewer than half the resamples have a
        defined class (too few positives or negatives to bootstrap).
    """
    y, s = _check_inputs(y_true, scores)
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    estimate = macro_auroc(y, s)
    if np.isnan(estimate):
        raise ValueError(
            "no class has both positives and negatives in y_true: the AUROC is undefined"
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n_boot = int(n_boot)
    values = macro_auroc_resampled(y, s, resample_weights(y.shape[0], n_boot, rng))
    usable = ~np.isnan(values)
    if usable.sum() < n_boot / 2:
        raise ValueError(
            f"only {int(usable.sum())} of {n_boot} resamples have a class with both positives "
            "and negatives: too few records to bootstrap the AUROC"
        )
    values = values[usable]
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return estimate, float(low), float(high)


def resample_weights(n: int, n_boot: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``(n_boot, n)`` bootstrap resamples of ``n`` records as weights: how many times each
    resample drew each record (``n`` draws with replacement per resample).

    Scoring several classifiers under the same weights gives *paired* resamples: the same
    test records, drawn the same number of times, for every classifier.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
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
    """``(B,)`` macro AUROC under each row of record weights ``(B, N)`` (a resample).

    Each resample's value is the mean over the classes defined in it (both positive and
    negative weight); NaN where no class is.
    """
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
    """Mean AUROC difference of two methods over paired runs, with a bootstrap interval.

    Run ``r`` of method A is paired with run ``r`` of method B: the same labelled subset
    (label seed) and the same pretraining-seed index, scored on the same test records. The
    estimate is the mean over runs of ``auroc_A - auroc_B``. Each bootstrap replicate ``j``
    resamples the test records (the same resample for both methods: column ``j`` of the
    ``*_boot`` arrays, from :func:`resample_weights` and :func:`macro_auroc_resampled`)
    *and* the runs (with replacement), so the interval covers both the test set's sampling
    and the spread over pretraining and label seeds.

    Parameters
    ----------
    a, b
        ``(R,)`` AUROC of the paired runs on all test records.
    a_boot, b_boot
        ``(R, B)`` the same runs' AUROC on ``B`` shared test resamples.
    seed
        Draws the resampled runs.
    alpha
        One minus the coverage: 0.05 gives a 95 % interval.

    Returns
    -------
    tuple of float
        ``(diff, low, high)``.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    a_boot, b_boot = np.asarray(a_boot, float), np.asarray(b_boot, float)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"a and b must be two (R,) arrays of one shape, got {a.shape}, {b.shape}")
    if a_boot.ndim != 2 or a_boot.shape != b_boot.shape or a_boot.shape[0] != a.size:
        raise ValueError(
            f"a_boot and b_boot must be ({a.size}, B), got {a_boot.shape} and {b_boot.shape}"
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    runs, n_boot = a_boot.shape
    pick = rng.integers(0, runs, size=(n_boot, runs))  # (B, R): runs drawn per replicate
    diff_boot = a_boot - b_boot  # (R, B)
    replicate = np.nanmean(diff_boot[pick, np.arange(n_boot)[:, None]], axis=1)  # (B,)
    replicate = replicate[~np.isnan(replicate)]
    if replicate.size < n_boot / 2:
        raise ValueError("fewer than half the resamples define the AUROC of both methods")
    low, high = np.percentile(replicate, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(np.mean(a - b)), float(low), float(high)


def subgroup_auroc(
    y_true: np.ndarray,
    scores: np.ndarray,
    class_names: Sequence[str],
    groups: Mapping[str, Sequence[str]],
) -> dict[str, float]:
    """Macro AUROC within each group of classes.

    Parameters
    ----------
    y_true
        ``(N, C)`` bool or 0/1 labels.
    scores
        ``(N, C)`` scores.
    class_names
        The C class names, in column order.
    groups
        Group name -> class names, e.g. :data:`PTBXL_SUBGROUPS` or :data:`CINC_SUBGROUPS`.

    Returns
    -------
    dict
        Group name -> macro AUROC over its classes present in ``class_names`` (NaN when none
        of them has both positives and negatives). Groups with no class in ``class_names``
        are left out.

    Raises
    ------
    ValueError
        If ``class_names`` does not match the columns, or no group has a class among them.
    """
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


def mean_and_spread(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``) of results over seeds.

    Parameters
    ----------
    values
        ``(K,)`` one result per seed, K >= 1; the spread of one value is 0.

    Returns
    -------
    tuple of float
        ``(mean, std)``.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("values contain NaN or infinity: drop failed runs before averaging")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def subgroups_for(class_names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The subgroup table that fits a label set: :data:`PTBXL_SUBGROUPS` or
    :data:`CINC_SUBGROUPS`, whichever covers more of ``class_names``; ``{}`` when neither
    covers any (subgroup AUROC is then not reported)."""
    names = set(class_names)
    best: dict[str, tuple[str, ...]] = {}
    covered = 0
    for table in (PTBXL_SUBGROUPS, CINC_SUBGROUPS):
        n = len(names & {c for members in table.values() for c in members})
        if n > covered:
            best, covered = dict(table), n
    return best
