"""Figures beyond the ECG printout: label frequencies and annotated waves.

Colours come from the Okabe-Ito palette, which stays distinguishable for the common forms of
colour blindness; bars also carry their counts as text, so nothing depends on colour alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from threekg_lite.data.records import LabelSet
from threekg_lite.viz.plotting import _axes

OKABE_ITO: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
)  # fmt: skip
"""Okabe & Ito's colour-blind-safe palette (blue first)."""


def plot_label_counts(
    labels: LabelSet,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    sort: bool = True,
    top: int | None = None,
    color: str = OKABE_ITO[0],
) -> Figure:
    """Horizontal bars: how many records of a multi-hot label set (``y`` ``(N, C)``) carry
    each class; ``sort`` puts the most frequent on top, ``top`` keeps the ``top`` most
    frequent, ``ax=None`` makes a new figure."""
    counts = labels.y.sum(axis=0).astype(int)
    names = np.array(labels.names)
    order = np.argsort(-counts, kind="stable") if sort else np.arange(len(names))
    if top is not None:
        order = order[:top]
    n_rec = labels.y.shape[0]
    fig, ax = _axes(ax, (6.0, 0.28 * len(order) + 1.0))
    y = np.arange(len(order))[::-1]
    ax.barh(y, counts[order], color=color)
    ax.set_yticks(y, names[order])
    for yi, c in zip(y, counts[order]):
        share = f" ({100 * c / n_rec:.0f} %)" if n_rec else ""
        ax.text(c, yi, f" {c}{share}", va="center", fontsize=8)
    ax.set_xlabel(f"records (of {n_rec})")
    ax.set_xlim(0, max(1, counts.max(initial=0)) * 1.25)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title)
    return fig


WAVE_COLORS = {"P": OKABE_ITO[0], "QRS": OKABE_ITO[1], "T": OKABE_ITO[2]}
"""Shading of each wave type in :func:`plot_wave_annotations`."""


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
    t = np.arange(signal.size) / fs
    ax.plot(t, signal, color="black", lw=0.8)
    seen = set()
    hatches = {"P": "", "QRS": "//", "T": ".."}
    for row in waves.itertuples():
        if row.onset < 0 or row.offset < 0:
            continue
        label = None if row.wave in seen else row.wave
        seen.add(row.wave)
        ax.axvspan(
            row.onset / fs, row.offset / fs, color=WAVE_COLORS.get(row.wave, "grey"),
            alpha=0.3, hatch=hatches.get(row.wave, ""), lw=0, label=label,
        )  # fmt: skip
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{lead} (mV)" if lead else "mV")
    ax.set_xlim(0, t[-1] if t.size else 1)
    if seen:
        ax.legend(loc="upper right", ncols=3, frameon=False)
    if title:
        ax.set_title(title)
    return fig
