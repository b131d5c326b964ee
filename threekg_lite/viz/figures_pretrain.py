"""Figures of a pretraining run: its curves, its embedding map, a query's neighbours.

Okabe-Ito colours, and markers that differ by class as well, so that no reading depends on
colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from threekg_lite.viz.figures import OKABE_ITO
from threekg_lite.viz.plotting import _axes, check_fs

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_training_curves(
    history: Sequence[Mapping[str, float]], title: str | None = None, chance: float | None = None
) -> Figure:
    """Loss and contrastive accuracy against the optimisation step, from the run's metric
    lines (``step``, ``loss``, ``top1``, ``top5``; e.g.
    :attr:`threekg_lite.training.PretrainResult.history`). ``chance``, the top-1 accuracy of
    a random guess among the candidates (``1 / (2N - 1)``), is drawn dotted."""
    if not history:
        raise ValueError("no metrics to plot: the run logged no steps")
    step = np.array([h["step"] for h in history])
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9.0, 3.2), layout="constrained")
    ax_loss.plot(step, [h["loss"] for h in history], color=OKABE_ITO[0])
    ax_loss.set(xlabel="optimisation step", ylabel="NT-Xent loss (nats)", title="loss")
    ax_acc.plot(step, [100 * h["top1"] for h in history], color=OKABE_ITO[0], label="top-1")
    ax_acc.plot(
        step, [100 * h["top5"] for h in history], color=OKABE_ITO[1], ls="--", label="top-5"
    )
    if chance is not None:
        ax_acc.axhline(100 * chance, color="0.4", ls=":", lw=1, label="chance (top-1)")
    ax_acc.set(xlabel="optimisation step", ylabel="twin found (% of views)", ylim=(0, 100))
    ax_acc.set_title("contrastive accuracy")
    ax_acc.legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_embedding_maps(
    maps: Mapping[str, np.ndarray],
    labels: Sequence[str] | np.ndarray,
    title: str | None = None,
    order: Sequence[str] | None = None,
) -> Figure:
    """Side-by-side 2-D maps of feature spaces (e.g. random versus pretrained encoder).

    ``maps``: panel title -> ``(N, 2)`` coordinates (e.g. the first two principal components
    of each feature matrix); ``labels``: ``(N,)`` class of each point; ``order``: classes in
    legend order (default: by frequency), those beyond the palette drawn in grey.
    """
    labels = np.asarray(labels)
    if not maps:
        raise ValueError("no maps to plot")
    classes = list(order) if order is not None else _by_frequency(labels)
    fig, axes = plt.subplots(
        1, len(maps), figsize=(4.3 * len(maps), 4.0), layout="constrained", squeeze=False
    )
    for ax, (name, xy) in zip(axes[0], maps.items()):
        if xy.shape != (labels.shape[0], 2):
            raise ValueError(f"map {name!r} has shape {xy.shape}, expected ({labels.shape[0]}, 2)")
        for i, c in enumerate(classes):
            pick = labels == c
            color = OKABE_ITO[i] if i < len(OKABE_ITO) else "0.6"
            style = dict(s=10, alpha=0.7, color=color, marker=MARKERS[i % len(MARKERS)])
            ax.scatter(*xy[pick].T, label=f"{c} ({pick.sum()})", linewidths=0, **style)
        ax.set(title=name, xlabel="component 1", ylabel="component 2")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=1.5)
    if title:
        fig.suptitle(title)
    return fig


def _by_frequency(labels: np.ndarray) -> list[str]:
    classes, counts = np.unique(labels, return_counts=True)
    return [str(c) for c in classes[np.argsort(-counts, kind="stable")]]


def plot_neighbours(
    signals: np.ndarray,
    fs: float,
    query: int,
    neighbours: Sequence[int],
    similarity: Sequence[float],
    captions: Sequence[str],
    lead: int = 1,
    seconds: float | None = 5.0,
    lead_name: str = "II",
) -> Figure:
    """A query ECG and its nearest neighbours in feature space, one lead (index ``lead``)
    each, the first ``seconds`` (``None``: all) of ``signals`` ``(N, 12, T)`` in mV.
    ``similarity``: each neighbour's cosine similarity to the query; ``captions``: ``(N,)``
    text per record (e.g. its id and labels)."""
    check_fs(fs)
    t = signals.shape[-1] if seconds is None else min(signals.shape[-1], round(seconds * fs))
    time = np.arange(t) / fs
    rows = [query, *neighbours]
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(8.0, 1.35 * len(rows) + 0.4), sharex=True, layout="constrained"
    )
    axes = np.atleast_1d(axes)
    for k, (ax, r) in enumerate(zip(axes, rows)):
        color = "black" if k == 0 else OKABE_ITO[0]
        ax.plot(time, signals[r, lead, :t], color=color, lw=0.9)
        head = "query" if k == 0 else f"neighbour {k} (cosine {similarity[k - 1]:.2f})"
        ax.set_title(f"{head}: {captions[r]}", fontsize=9, loc="left")
        ax.set_ylabel(f"{lead_name} (mV)")
    axes[-1].set_xlabel("time (s)")
    return fig


def plot_twin_retrieval(
    retrieval: Mapping[str, Mapping[str, float]], chance: float, title: str | None = None
) -> Figure:
    """Grouped horizontal bars: twin-retrieval top-1 of each feature (rows) for each kind of
    view pair (bars), with the chance level ``1 / N`` as a dotted line.

    ``retrieval``: feature name -> {pair kind -> fraction of twins found}.
    """
    features = list(retrieval)
    kinds = list(dict.fromkeys(k for v in retrieval.values() for k in v))
    y = np.arange(len(features))
    height = 0.8 / len(kinds)
    fig, ax = _axes(None, (7.5, 0.7 + 0.75 * len(features)))
    hatches = ("", "//", "..", "xx")
    for j, kind in enumerate(kinds):
        values = [100 * retrieval[f].get(kind, np.nan) for f in features]
        pos = y + (j - (len(kinds) - 1) / 2) * height
        bars = ax.barh(
            pos, values, height, label=kind, color=OKABE_ITO[j], hatch=hatches[j % 4], alpha=0.9
        )
        ax.bar_label(bars, fmt="%.0f %%", padding=2, fontsize=8)
    ax.axvline(100 * chance, color="0.2", ls=":", lw=1, label=f"chance ({100 * chance:.1f} %)")
    ax.set_yticks(y, features)
    ax.invert_yaxis()
    ax.set(xlabel="twins found (top-1 among all records, %)", xlim=(0, 110))
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return fig
