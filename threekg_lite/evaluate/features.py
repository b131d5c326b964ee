"""Encoder features of whole record sets, and what can be read off them without labels:
the nearest neighbours of a record (cosine similarity) and a leave-one-out k-nearest-
neighbour accuracy of known classes, a quick probe before the full linear evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from threekg_lite.data.preprocess import scale_input


def extract_features(
    model: torch.nn.Module,
    signals: np.ndarray | torch.Tensor,
    crop: int | None = None,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Encoder features of every record: ``(N, 12, T)`` mV -> ``(N, D)`` float32, in
    batches, without gradients, in eval mode (restored after).

    ``model``: a :class:`~threekg_lite.models.ContrastiveModel` (its ``features``) or any
    module ``(B, 12, L)`` -> ``(B, D)``; records are first scaled by its ``input_norm``
    (:func:`~threekg_lite.data.preprocess.scale_input`, over the whole record), then
    centre-cropped to ``crop`` samples (the pretraining crop; default the whole record).
    ``device``: the model is moved there (in place, as ``model.to``), and every batch;
    default where its parameters are.
    """
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
    d = out[0].shape[-1] if out else 0
    return torch.cat(out).numpy() if out else np.zeros((0, d), np.float32)


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
    features: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    k: int = 5,
    balanced: bool = False,
) -> float:
    """Leave-one-out accuracy of a ``k``-nearest-neighbour vote (cosine similarity).

    Each record's class is the majority class of its ``k`` most similar other records
    (ties: the class of the nearest among the tied). Plain accuracy rewards always answering
    the most frequent class; ``balanced=True`` returns the mean over classes of each class's
    fraction predicted right, whose chance level is ``1 / n_classes``.
    """
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
    hit = predicted == labels
    if not balanced:
        return float(hit.mean())
    return float(np.mean([hit[labels == c].mean() for c in np.unique(labels)]))
