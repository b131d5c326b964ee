"""Encoder features of whole record sets, and what can be read off them without labels:
nearest neighbours, a leave-one-out k-nearest-neighbour accuracy of known classes (a quick
probe before the full linear evaluation), and the shortcuts of the pretext task.

Contrastive pretraining asks the encoder to pick, among the views in a batch, the other view of the
same ECG. When both views come from the *same* crop, they share the exact time of every beat:
rotation, scaling and masking change the leads and blank out stretches, but a QRS complex stays at
the same sample in both, so a feature that only knows *when* something happens, and nothing of the
waveform, can solve the task. :func:`twin_pairs`, :func:`timing_signature`, :func:`twin_retrieval`
and :func:`heart_rate_similarity` measure that."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d
from scipy.stats import spearmanr
from sklearn.metrics import balanced_accuracy_score

from threekg_lite.data.preprocess import scale_input


def extract_features(
    model: torch.nn.Module,
    signals: np.ndarray | torch.Tensor,
    crop: int | None = None,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Encoder features of every record: ``(N, 12, T)`` mV -> ``(N, D)`` float32, in batches,
    without gradients, in eval mode (restored after). ``model``: a
    :class:`~threekg_lite.models.ContrastiveModel` (its ``features``) or any module
    ``(B, 12, L)`` -> ``(B, D)``; records are first scaled by its ``input_norm`` (over the whole
    record, :func:`~threekg_lite.data.preprocess.scale_input`), then centre-cropped to ``crop``
    samples (the pretraining crop; default the whole record). ``device``: the model is moved
    there (in place, as ``model.to``), and every batch; default where its parameters are."""
    x = torch.as_tensor(np.asarray(signals) if not torch.is_tensor(signals) else signals)
    if x.ndim != 3 or x.shape[1] != 12:
        raise ValueError(f"signals must be (N, 12, T), got {tuple(x.shape)}")
    t = x.shape[-1]
    crop = t if crop is None else crop
    if not 0 < crop <= t:
        raise ValueError(f"crop must be in [1, {t}] samples, got {crop}")
    first = (t - crop) // 2
    encode = getattr(model, "features", model)
    norm = getattr(model, "input_norm", "none")
    params = list(model.parameters())
    device = torch.device(device) if device is not None else (params[0].device if params else "cpu")
    model.to(device)
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                batch = x[i : i + batch_size]
                if norm != "none":
                    batch = scale_input(batch.to(device, torch.float32), norm)
                batch = batch[:, :, first : first + crop].to(device, torch.float32)
                out.append(encode(batch).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def unit_rows(features: np.ndarray) -> np.ndarray:
    """``(N, D)`` float64 rows scaled to unit length (a zero row stays zero)."""
    f = np.asarray(features, dtype=np.float64)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def nearest_neighbours(
    features: np.ndarray, query: int, k: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """``(index, similarity)``: the ``(k,)`` records most cosine-similar to record
    ``query`` (itself excluded), most similar first, and their similarities."""
    n = features.shape[0]
    if not 0 <= query < n:
        raise ValueError(f"query must be in [0, {n}), got {query}")
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, {n - 1}], got {k}")
    unit = unit_rows(features)
    similarity = unit @ unit[query]
    similarity[query] = -np.inf
    index = np.argsort(-similarity, kind="stable")[:k]
    return index, similarity[index]


def knn_accuracy(
    features: np.ndarray, labels: Sequence[str] | np.ndarray, k: int = 5, balanced: bool = False
) -> float:
    """Leave-one-out accuracy of a ``k``-nearest-neighbour vote (cosine similarity). Each
    record's class is the majority class of its ``k`` most similar other records
    (ties: the class of the nearest among the tied). Plain accuracy rewards always answering
    the most frequent class; ``balanced=True`` returns the mean over classes of each class's
    fraction predicted right, whose chance level is ``1 / n_classes``."""
    labels = np.asarray(labels)
    n = features.shape[0]
    if labels.shape != (n,):
        raise ValueError(f"labels must be ({n},), got {labels.shape}")
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, {n - 1}], got {k}")
    unit = unit_rows(features)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :k]  # (N, k)
    predicted = np.empty_like(labels)
    for i in range(n):
        votes = labels[order[i]]
        classes, counts = np.unique(votes, return_counts=True)
        tied = set(classes[counts == counts.max()])
        predicted[i] = next(v for v in votes if v in tied)  # nearest among the tied classes
    if balanced:
        return float(balanced_accuracy_score(labels, predicted))
    return float(np.mean(predicted == labels))


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
    non-overlapping windows at random places, in random order (needs ``T >= 2 crop``)."""
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
    index = starts[:, :, None, None] + torch.arange(crop)  # (N, windows, 1, crop)
    first, second = (x.gather(2, index[:, j].expand(-1, 12, -1)) for j in (0, windows - 1))
    return augment(first, generator), augment(second, generator)


def timing_signature(x: torch.Tensor | np.ndarray, fs: float, smooth_s: float = 0.05) -> np.ndarray:
    """``(N, T - 1)`` where activity happens in each ECG, and nothing of its shape: the mean
    over leads of ``|x_l(t + 1) - x_l(t)|``, smoothed by a moving average of
    ``smooth_s`` seconds, then centred and scaled to unit norm per record. Rotating,
    scaling or masking leads changes its height here and there, not where its peaks are."""
    x = np.asarray(x.detach().cpu() if torch.is_tensor(x) else x, dtype=np.float64)
    slope = np.abs(np.diff(x, axis=-1)).mean(axis=1)  # (N, T - 1)
    smooth = uniform_filter1d(slope, max(1, round(smooth_s * fs)), axis=1, mode="constant")
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
    similarity of their features and minus the difference of their heart rates. Near 1: the
    encoder's notion of "similar" is mostly "beats at the same rate". Records whose heart rate
    is NaN (no beats found) are left out."""
    hr = np.asarray(heart_rate, dtype=np.float64)
    keep = np.isfinite(hr)
    f, hr = unit_rows(np.asarray(features)[keep]), hr[keep]
    if len(hr) < 3:
        raise ValueError("need at least 3 records with a heart rate")
    i, j = np.triu_indices(len(hr), k=1)
    similarity = np.einsum("pd,pd->p", f[i], f[j])
    return float(spearmanr(similarity, -np.abs(hr[i] - hr[j])).statistic)


def heart_rates(signals: np.ndarray, fs: float) -> np.ndarray:
    """``(N,)`` beats per minute of each record, 60 / median RR of its R peaks
    (:func:`~threekg_lite.physiology.vcg_features.detect_beats`); NaN under 2 beats."""
    from threekg_lite.physiology.vcg_features import detect_beats

    out = np.full(len(signals), np.nan)
    for k, x in enumerate(np.asarray(signals)):
        peaks = detect_beats(x, fs)
        if len(peaks) >= 2:
            out[k] = 60.0 * fs / float(np.median(np.diff(peaks)))
    return out
