"""Figures beyond the ECG printout: label frequencies, annotated waves, a pretraining run
(its curves, its embedding maps, a query's neighbours, twin retrieval).

Colours come from the Okabe-Ito palette, distinguishable for the common forms of colour
blindness; bars also carry a count or a hatch, curves a line style, classes a marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from threekg_lite.data.records import LabelSet
from threekg_lite.leads import LEAD_NAMES
from threekg_lite.viz.plotting import _axes, check_fs

OKABE_ITO: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
)  # fmt: skip
"""Okabe & Ito's colour-blind-safe palette (blue first)."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Scatter markers, one per class along with its colour."""


def plot_label_counts(
    labels: LabelSet,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    sort: bool = True,
    top: int | None = None,
) -> Figure:
    """Horizontal bars: how many records of a multi-hot label set (``y`` ``(N, C)``) carry
    each class; ``sort`` puts the most frequent on top, ``top`` keeps the first ``top``."""
    counts = labels.y.sum(axis=0).astype(int)
    names = np.array(labels.names)
    order = (np.argsort(-counts, kind="stable") if sort else np.arange(len(names)))[:top]
    n_rec = labels.y.shape[0]
    fig, ax = _axes(ax, (6.0, 0.28 * len(order) + 1.0))
    y = np.arange(len(order))[::-1]
    ax.barh(y, counts[order], color=OKABE_ITO[0])
    ax.set_yticks(y, names[order])
    for yi, c in zip(y, counts[order]):
        share = f" ({100 * c / n_rec:.0f} %)" if n_rec else ""
        ax.text(c, yi, f" {c}{share}", va="center", fontsize=8)
    ax.set(xlabel=f"records (of {n_rec})", xlim=(0, max(1, counts.max(initial=0)) * 1.25))
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title)
    return fig


#: Shading of each wave type in :func:`plot_wave_annotations`: colour and hatch.
_WAVE_STYLES = {
    wave: dict(color=color, hatch=hatch)
    for wave, color, hatch in zip(("P", "QRS", "T"), OKABE_ITO, ("", "//", ".."))
}


def plot_wave_annotations(
    signal: np.ndarray,
    fs: float,
    waves: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    lead: str = "",
) -> Figure:
    """One lead ``(T,)`` in mV with its P waves, QRS complexes and T waves shaded from onset
    to offset. ``waves`` has ``wave`` (P, QRS, T), ``onset``, ``peak``, ``offset`` in samples
    (:func:`threekg_lite.data.ludb.load_ludb_annotations`), -1 where a boundary is missing."""
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise ValueError(f"signal must be one lead of shape (T,), got {signal.shape}")
    fig, ax = _axes(ax, (10, 2.6))
    t = np.arange(signal.size) / check_fs(fs)
    ax.plot(t, signal, color="black", lw=0.8)
    seen = set()
    for row in waves.itertuples():
        if row.onset < 0 or row.offset < 0:
            continue
        label = None if row.wave in seen else row.wave  # one legend entry per wave type
        seen.add(row.wave)
        style = _WAVE_STYLES.get(row.wave, dict(color="grey", hatch=""))
        ax.axvspan(row.onset / fs, row.offset / fs, alpha=0.3, lw=0, label=label, **style)
    ax.set(xlabel="time (s)", ylabel=f"{lead} (mV)" if lead else "mV")
    ax.set_xlim(0, t[-1] if t.size else 1)
    if seen:
        ax.legend(loc="upper right", ncols=3, frameon=False)
    if title:
        ax.set_title(title)
    return fig


def plot_training_curves(
    history: Sequence[Mapping[str, float]], title: str | None = None, chance: float | None = None
) -> Figure:
    """Loss and contrastive accuracy against the optimisation step, from the run's metric
    lines (``step``, ``loss``, ``top1``, ``top5``; e.g.
    :attr:`threekg_lite.training.PretrainResult.history`). ``chance``, the top-1 accuracy of
    a random guess among the candidates (``1 / (2N - 1)``), is drawn dotted."""
    if not history:
        raise ValueError("no metrics to plot: the run logged no steps")
    h = pd.DataFrame(list(history))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9.0, 3.2), layout="constrained")
    ax_loss.plot(h["step"], h["loss"], color=OKABE_ITO[0])
    ax_loss.set(xlabel="optimisation step", ylabel="NT-Xent loss (nats)", title="loss")
    ax_acc.plot(h["step"], 100 * h["top1"], color=OKABE_ITO[0], label="top-1")
    ax_acc.plot(h["step"], 100 * h["top5"], color=OKABE_ITO[1], ls="--", label="top-5")
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
    if order is None:
        classes, counts = np.unique(labels, return_counts=True)
        order = classes[np.argsort(-counts, kind="stable")]
    size = (4.3 * len(maps), 4.0)
    fig, axes = plt.subplots(1, len(maps), figsize=size, layout="constrained", squeeze=False)
    for ax, (name, xy) in zip(axes[0], maps.items()):
        if xy.shape != (labels.shape[0], 2):
            raise ValueError(f"map {name!r} has shape {xy.shape}, expected ({labels.shape[0]}, 2)")
        for i, c in enumerate(order):
            pick = labels == c
            color = OKABE_ITO[i] if i < len(OKABE_ITO) else "0.6"
            style = dict(s=10, alpha=0.7, color=color, marker=MARKERS[i % len(MARKERS)])
            ax.scatter(*xy[pick].T, label=f"{c} ({pick.sum()})", linewidths=0, **style)
        ax.set(title=name, xlabel="component 1", ylabel="component 2", xticks=[], yticks=[])
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=1.5)
    if title:
        fig.suptitle(title)
    return fig


def plot_neighbours(
    signals: np.ndarray,
    fs: float,
    query: int,
    neighbours: Sequence[int],
    similarity: Sequence[float],
    captions: Sequence[str],
    lead: int = 1,
    seconds: float | None = 5.0,
) -> Figure:
    """A query ECG and its nearest neighbours in feature space, one lead (index ``lead``)
    each, the first ``seconds`` (``None``: all) of ``signals`` ``(N, 12, T)`` in mV.
    ``similarity``: each neighbour's cosine similarity to the query; ``captions``: ``(N,)``
    text per record (e.g. its id and labels)."""
    check_fs(fs)
    t = signals.shape[-1] if seconds is None else min(signals.shape[-1], round(seconds * fs))
    time = np.arange(t) / fs
    rows = [query, *neighbours]
    grid = dict(figsize=(8.0, 1.35 * len(rows) + 0.4), sharex=True, squeeze=False)
    fig, axes = plt.subplots(len(rows), 1, layout="constrained", **grid)
    for k, (ax, r) in enumerate(zip(axes[:, 0], rows)):
        color = "black" if k == 0 else OKABE_ITO[0]
        ax.plot(time, signals[r, lead, :t], color=color, lw=0.9)
        head = "query" if k == 0 else f"neighbour {k} (cosine {similarity[k - 1]:.2f})"
        ax.set_title(f"{head}: {captions[r]}", fontsize=9, loc="left")
        ax.set_ylabel(f"{LEAD_NAMES[lead]} (mV)")
    axes[-1, 0].set_xlabel("time (s)")
    return fig


def plot_twin_retrieval(
    retrieval: Mapping[str, Mapping[str, float]], chance: float, title: str | None = None
) -> Figure:
    """Grouped horizontal bars: twin-retrieval top-1 of each feature (rows) for each kind of
    view pair (bars), ``retrieval``: feature name -> {pair kind -> fraction of twins found};
    the chance level ``1 / N`` is a dotted line."""
    features = list(retrieval)
    kinds = list(dict.fromkeys(k for v in retrieval.values() for k in v))
    y = np.arange(len(features))
    height = 0.8 / len(kinds)
    fig, ax = _axes(None, (7.5, 0.7 + 0.75 * len(features)))
    for j, kind in enumerate(kinds):
        values = [100 * retrieval[f].get(kind, np.nan) for f in features]
        pos = y + (j - (len(kinds) - 1) / 2) * height
        style = dict(color=OKABE_ITO[j], hatch=("", "//", "..", "xx")[j % 4], alpha=0.9)
        bars = ax.barh(pos, values, height, label=kind, **style)
        ax.bar_label(bars, fmt="%.0f %%", padding=2, fontsize=8)
    ax.axvline(100 * chance, color="0.2", ls=":", lw=1, label=f"chance ({100 * chance:.1f} %)")
    ax.set(yticks=y, yticklabels=features, xlim=(0, 110))
    ax.set(xlabel="twins found (top-1 among all records, %)")
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return fig
