"""What an encoder can use to find the twin view: experiments on the pretext task.

Contrastive pretraining asks the encoder to pick, among the views in a batch, the other view
of the same ECG. When both views come from the *same* crop, they share the exact time of
every beat: rotation, scaling and masking change the leads and blank out stretches, but a
QRS complex stays at the same sample in both. A feature that only knows *when* something
happens, and nothing of the waveform, can then solve the task. This module measures that:
:func:`twin_pairs` (two views of one crop, or of two windows whose beat timing differs),
:func:`timing_signature` (such a morphology-blind feature), :func:`twin_retrieval` (the
pretext task as a test) and :func:`heart_rate_similarity` (how much of an encoder's
similarity between *different* records follows their heart rates).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from threekg_lite.evaluate.features import unit_rows


def twin_pairs(
    signals: np.ndarray | torch.Tensor,
    crop: int,
    augment: Any,
    generator: torch.Generator,
    same_crop: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views ``(N, 12, crop)`` of every record of ``(N, 12, T)`` mV by ``augment``
    (``(x, generator) -> view``, e.g. :func:`threekg_lite.baselines.make_augmentation`);
    ``generator`` is the only source of randomness (crop places and views).

    ``same_crop=True``: both views of one random crop; ``False``: one view of each of two
    non-overlapping windows at random places, in random order (needs ``T >= 2 crop``).
    """
    x = torch.as_tensor(np.asarray(signals, dtype=np.float32))
    n, _, t = x.shape
    windows = 1 if same_crop else 2
    slack = t - windows * crop
    if slack < 0:
        raise ValueError(f"{windows} crop(s) of {crop} samples do not fit in {t} samples")
    offsets = torch.randint(0, slack + 1, (n, windows), generator=generator).sort(dim=1)[0]
    starts = offsets + crop * torch.arange(windows)
    if not same_crop:  # which window gives the first view: a coin per record
        flip = torch.rand(n, generator=generator) < 0.5
        starts = torch.where(flip[:, None], starts.flip(1), starts)
    rows = torch.arange(n)[:, None, None]
    leads = torch.arange(12)[None, :, None]

    def window(j: int) -> torch.Tensor:
        return x[rows, leads, starts[:, j, None, None] + torch.arange(crop)]

    first = window(0)
    second = first if same_crop else window(1)
    return augment(first, generator), augment(second, generator)


def timing_signature(x: torch.Tensor | np.ndarray, fs: float, smooth_s: float = 0.05) -> np.ndarray:
    """``(N, T - 1)`` where activity happens in each ECG, and nothing of its shape.

    The mean over leads of ``|x_l(t + 1) - x_l(t)|``, smoothed by a moving average of
    ``smooth_s`` seconds, then centred and scaled to unit norm per record. Rotating,
    scaling or masking leads changes its height here and there, not where its peaks are.
    """
    x = np.asarray(x.detach().cpu() if torch.is_tensor(x) else x, dtype=np.float64)
    slope = np.abs(np.diff(x, axis=-1)).mean(axis=1)  # (N, T - 1)
    width = max(1, round(smooth_s * fs))
    kernel = np.ones(width) / width
    smooth = np.apply_along_axis(lambda s: np.convolve(s, kernel, mode="same"), 1, slope)
    return unit_rows(smooth - smooth.mean(axis=1, keepdims=True))


def twin_retrieval(first: np.ndarray, second: np.ndarray) -> float:
    """Fraction of rows ``i`` of ``first`` whose most cosine-similar row of ``second`` is row
    ``i``: the pretext task's top-1 accuracy among ``N`` candidates (chance ``1 / N``)."""
    a, b = np.asarray(first), np.asarray(second)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two (N, D) arrays of one shape, got {a.shape} and {b.shape}")
    a, b = unit_rows(a), unit_rows(b)
    return float(np.mean(np.argmax(a @ b.T, axis=1) == np.arange(a.shape[0])))


def heart_rate_similarity(features: np.ndarray, heart_rate: np.ndarray) -> float:
    """Spearman correlation, over all pairs of different records, between the cosine
    similarity of their features and minus the difference of their heart rates.

    Near 1: the encoder's notion of "similar" is mostly "beats at the same rate". Records
    whose heart rate is NaN (no beats found) are left out.
    """
    f = np.asarray(features, dtype=np.float64)
    hr = np.asarray(heart_rate, dtype=np.float64)
    keep = np.isfinite(hr)
    f, hr = f[keep], hr[keep]
    if len(hr) < 3:
        raise ValueError("need at least 3 records with a heart rate")
    f = unit_rows(f)
    i, j = np.triu_indices(len(hr), k=1)
    similarity = np.einsum("pd,pd->p", f[i], f[j])
    return float(spearmanr(similarity, -np.abs(hr[i] - hr[j])).statistic)


def heart_rates(signals: np.ndarray, fs: float) -> np.ndarray:
    """``(N,)`` beats per minute of each record from its R peaks
    (:func:`~threekg_lite.physiology.vcg_features.detect_beats`): 60 / median RR; NaN under
    2 beats."""
    from threekg_lite.physiology.vcg_features import detect_beats

    out = np.full(len(signals), np.nan)
    for k, x in enumerate(np.asarray(signals)):
        peaks = detect_beats(x, fs)
        if len(peaks) >= 2:
            out[k] = 60.0 * fs / float(np.median(np.diff(peaks)))
    return out
