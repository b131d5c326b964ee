"""Teaching figures for the vectorcardiogram (VCG): leads as directions, loops, projections.

They show why 3KG can rotate a 12-lead ECG at all: every lead looks at one heart dipole from
its own direction. Axes follow Frank's convention (:mod:`threekg_lite.vcg`): **X** to the
patient's left, **Y** to the feet, **Z** to the back. Planes are drawn as in clinical
vectorcardiography: frontal seen from the front (patient's left on the right, feet down),
horizontal from above (front down, back up), left sagittal from the patient's left (front on
the left, feet down). Okabe-Ito colours plus a line style or marker per curve and a name per
arrow keep the figures readable in greyscale and for colour-blind readers. Inputs: NumPy
arrays or torch tensors (any device) in mV; artists carry a ``gid`` (``"arrow:V1"``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from threekg_lite.leads import LEAD_NAMES
from threekg_lite.physiology.vcg_features import dipole_energy_fraction
from threekg_lite.vcg import DOWER, project_to_dipole
from threekg_lite.viz.figures import OKABE_ITO
from threekg_lite.viz.plotting import _array, _resolve_lead, check_fs

if TYPE_CHECKING:
    import torch

__all__ = [
    "HEXAXIAL_ANGLES",
    "plot_dipole_projection",
    "plot_lead_directions",
    "plot_limb_leads",
    "plot_measured_vs_reconstructed",
    "plot_vcg_loops",
]

BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILION, YELLOW, BLACK = OKABE_ITO
GREY, NOTE, ZERO, PAPER = "#777777", "#333333", "#bbbbbb", "#f2f2f2"

HEXAXIAL_ANGLES: dict[str, int] = {"I": 0, "II": 60, "III": 120, "aVR": -150, "aVL": -30, "aVF": 90}
"""Idealised frontal-plane direction of each limb lead, in degrees from lead I, positive
towards the feet (clockwise on a figure with the patient's left on the right)."""

#: Arrow style of each lead: bipolar limb leads (Einthoven), augmented limb leads, chest leads.
_STYLES = [dict(color=c, linestyle=ls) for c, ls in ((BLUE, "-"), (VERMILION, "--"), (GREEN, "-"))]
_LEAD_STYLE = {lead: _STYLES[min(i // 3, 2)] for i, lead in enumerate(LEAD_NAMES)}
#: Loops: (colour, line style, start marker); QRS solid blue, T dashed vermilion.
_LOOPS = {"QRS": (BLUE, "-", "o"), "T": (VERMILION, "--", "s"), "loop": (BLACK, "-", "o")}
#: Reconstructions in plot_measured_vs_reconstructed, in turn: a colour and a dash pattern.
_RECON_COLORS = (BLUE, VERMILION, GREEN, PURPLE, ORANGE)
_RECON_DASHES = ("--", ":", "-.", (0, (6, 1.5, 1, 1.5, 1, 1.5)), (0, (1, 1)))
_CENTER = dict(ha="center", va="center")
_BOLD = dict(_CENTER, fontweight="bold")
_ELECTRODE = dict(marker="o", ms=13, mfc="white", mec=BLACK, mew=1.8, zorder=4)
_BOX = dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85)
_PAPER_BOX = dict(_BOX, facecolor=PAPER)

_XYZ_MV = "X, Y, Z x samples, in mV, T >= 2"
#: Words for the two ends of each Frank axis: (negative end, positive end).
_DIRECTION = {"X": ("right", "left"), "Y": ("head", "feet"), "Z": ("front", "back")}
#: (horizontal axis, vertical axis, title) of the three planes, as drawn clinically.
_PLANES = {
    "frontal": ("X", "Y", "Frontal plane (seen from the front)"),
    "horizontal": ("X", "Z", "Horizontal plane (seen from above)"),
    "sagittal": ("Z", "Y", "Left sagittal plane (seen from the left)"),
}


def _fmt_deg(angle: float) -> str:
    """``+60°``, ``−30°``, ``0°`` (typographic minus, as matplotlib writes tick labels)."""
    a = int(round(angle))
    return "0°" if a == 0 else f"+{a}°" if a > 0 else f"\u2212{-a}°"


def _at(angle: float, r: float = 1.0) -> np.ndarray:
    """The point at ``angle`` degrees, distance ``r``, in patient coordinates (+y = feet)."""
    return r * np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])


def _window(window, n: int, name: str, fs: float | None = None) -> tuple[int, int]:
    """Sample range ``[start, stop)``, 2+ samples inside ``[0, n]``, of a window given as a pair
    of sample indices or, with ``fs``, of seconds (clipped to the signal); ``None``: all."""
    if window is None:
        return 0, n
    try:
        start, stop = window
        if fs is None:  # sample indices: integers only
            ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in window)
        else:  # seconds; a negative start is refused, a late stop clipped
            ok, start, stop = start >= 0, round(start * fs), min(n, round(stop * fs))
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not 0 <= start < stop <= n or stop - start < 2:
        unit = "sample indices" if fs is None else f"seconds (at {fs:g} Hz)"
        raise ValueError(
            f"{name}={window!r} must be a (start, stop) pair of {unit} with "
            f"0 <= start < stop, inside the signal ({n} samples) and at least 2 samples long"
        )
    return int(start), int(stop)


def _arrow(ax: Axes, tail, head, gid=None, head_size=14.0, shrink=(0.0, 0.0), zorder=3.0, **line):
    """An arrow (an Annotation with ``gid``) from ``tail`` to ``head``, in data coordinates."""
    props = dict(arrowstyle="-|>", shrinkA=shrink[0], shrinkB=shrink[1], mutation_scale=head_size)
    props |= {"linestyle": "-", "lw": 1.8, **line}
    xy, xytext = (float(head[0]), float(head[1])), (float(tail[0]), float(tail[1]))
    ax.annotate("", xy=xy, xytext=xytext, arrowprops=props, zorder=zorder, gid=gid)


def _lead_arrow(ax: Axes, lead, tail, head, label_at, text=None, shrink=(0, 0), lw=1.8, **kw):
    """Lead ``lead``'s arrow in its family's style, and its bold name at ``label_at``."""
    style = _LEAD_STYLE[lead]
    _arrow(ax, tail, head, gid=f"arrow:{lead}", shrink=shrink, lw=lw, **style)
    kw = {"fontsize": 11, **_BOLD, **kw}
    ax.text(*label_at, text or lead, color=style["color"], gid=f"label:{lead}", **kw)


def _note(ax: Axes, text: str, x=0.5, y=0.015, ha="center", va="bottom", color=NOTE, **kw):
    """Text in axes coordinates; by default a small grey note at the bottom of the panel."""
    kw = {"fontsize": 8.5, **kw}
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, color=color, **kw)


def _axis_label(name: str, unit: str = "mV", inverted: bool = False) -> str:
    """``"← right    X (mV)    left →"``, the anatomical words in reading order: left to right
    under a horizontal axis, bottom to top beside a vertical one (its label is rotated)."""
    neg, pos = _DIRECTION[name]
    first, last = (pos, neg) if inverted else (neg, pos)
    return f"\u2190 {first}      {name} ({unit})      {last} \u2192"


def _plane(ax: Axes, plane: str, lims, title: str | None = None, unit="mV") -> list[int]:
    """Set up a plane: limits (Y, the feet, down), equal aspect, zero lines, the axes' labels
    with their anatomical ends, the title; returns its axes' indices into X, Y, Z."""
    h, v, default_title = _PLANES[plane]
    feet_down = v == "Y"
    ax.set(xlim=lims[h], ylim=lims[v][::-1] if feet_down else lims[v], aspect="equal")
    ax.set(xlabel=_axis_label(h, unit), ylabel=_axis_label(v, unit, inverted=feet_down))
    ax.axhline(0.0, color=ZERO, lw=0.7, zorder=0.5)
    ax.axvline(0.0, color=ZERO, lw=0.7, zorder=0.5)
    ax.set_title(title or default_title, fontsize=11)
    return ["XYZ".index(h), "XYZ".index(v)]


def _diagram(ax: Axes, title: str, note: str) -> None:
    """A frontal-plane sketch: no scales, patient's left on the right, feet (+y) down."""
    _note(ax, note)
    ax.set_title(title, fontsize=11)
    ax.set(xlim=(-1.45, 1.45), ylim=(1.55, -1.45), aspect="equal", xticks=[], yticks=[])
    ax.spines[:].set_visible(False)
    sides = "\u2190 patient's right" + " " * 40 + "patient's left \u2192"
    ax.set_xlabel(sides, fontsize=10, style="italic", color=NOTE)


def _time_axes(rows: int, cols: int, height: float):
    """Panels over time sharing one time and one mV scale, a zero line in each."""
    shared = dict(sharex=True, sharey=True, squeeze=False, layout="constrained")
    fig, axes = plt.subplots(rows, cols, figsize=(10.0, height), **shared)
    for ax in axes.flat:
        ax.axhline(0.0, color=ZERO, lw=0.7, zorder=0.5)
        ax.grid(axis="x", color="#e5e5e5", lw=0.6)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def _time_end(fig: Figure, axes: np.ndarray, time: np.ndarray, loc: str, ncols: int) -> None:
    """Time label under the bottom row, the time range shown, the top row's legend."""
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    axes[-1, 0].set_xlim(time[0], time[-1])
    handles = [h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc=loc, ncols=ncols, fontsize=9, frameon=False)


def plot_limb_leads() -> Figure:
    """Einthoven's triangle, Wilson's central terminal and the hexaxial reference system.

    Left: electrodes RA, LA, LL at the corners of an equilateral triangle, the bipolar leads
    I (RA -> LA), II (RA -> LL), III (LA -> LL) along its sides, Wilson's central terminal (WCT,
    the electrodes' mean) at the centroid and Goldberger's augmented leads from it towards their
    electrodes. Right: the six directions at :data:`HEXAXIAL_ANGLES`, each axis's negative half
    dotted. Data coordinates: +x to the patient's left, +y to the feet (drawn down); arrows are
    annotations with gid ``"arrow:<lead>"`` (tail ``xyann``, head ``xy``).
    """
    fig, (ax, ax_h) = plt.subplots(1, 2, figsize=(11.0, 5.9), layout="constrained")
    electrodes = {"RA": _at(-150), "LA": _at(-30), "LL": _at(90)}
    ax.fill(*np.array(list(electrodes.values())).T, color=PAPER, zorder=0.5)
    for lead, (neg, pos) in {"I": ("RA", "LA"), "II": ("RA", "LL"), "III": ("LA", "LL")}.items():
        mid = (electrodes[neg] + electrodes[pos]) / 2
        at = mid + 0.17 * (mid / np.linalg.norm(mid))  # outwards from the centre
        _lead_arrow(ax, lead, electrodes[neg], electrodes[pos], at, shrink=(9, 9), fontsize=13)
    for lead, d in zip(("aVR", "aVL", "aVF"), electrodes.values()):
        at = 0.55 * d + 0.13 * np.array([-d[1], d[0]])  # halfway out, beside the arrow
        _lead_arrow(ax, lead, np.zeros(2), d, at, shrink=(6, 16), lw=1.6, bbox=_PAPER_BOX)
    names = {"RA": "RA\n(right arm)", "LA": "LA\n(left arm)", "LL": "LL (left leg)"}
    for name, p in electrodes.items():
        ax.plot(*p, gid=f"electrode:{name}", **_ELECTRODE)
        at = p + np.array([0.0, 0.2 if name == "LL" else -0.2])  # below the leg, above the arms
        ax.text(*at, names[name], fontsize=10, gid=f"electrode-label:{name}", **_CENTER)
    ax.plot(0, 0, marker="D", ms=8, color=BLACK, zorder=5, gid="electrode:WCT")
    ax.text(0.0, 0.2, "WCT", fontsize=10, bbox=_PAPER_BOX, gid="label:WCT", **_BOLD)
    note = "WCT = Wilson's central terminal = (RA + LA + LL) / 3\n"
    note += "aVR = RA − (LA + LL)/2 = 1.5 (RA − WCT), likewise aVL, aVF"
    _diagram(ax, "Einthoven's triangle and the augmented leads", note)

    circle = np.linspace(0, 2 * np.pi, 361)
    ax_h.plot(np.cos(circle), np.sin(circle), color="#cccccc", lw=0.8, zorder=0.5)
    for lead, angle in HEXAXIAL_ANGLES.items():
        tip, color = _at(angle), _LEAD_STYLE[lead]["color"]
        ax_h.plot([0, -tip[0]], [0, -tip[1]], color=color, lw=0.9, ls=":", alpha=0.8, zorder=1)
        text = f"{lead}\n{_fmt_deg(angle)}"
        _lead_arrow(ax_h, lead, (0, 0), tip, _at(angle, 1.2), text, linespacing=1.0)
        back = _fmt_deg((angle + 360) % 360 - 180) if angle else "±180°"
        style = dict(fontsize=8.5, color=GREY, gid=f"angle:{lead}:negative", **_CENTER)
        ax_h.text(*_at(angle + 180, 1.13), back, **style)
    ax_h.plot(0, 0, marker="D", ms=6, color=BLACK, zorder=5)
    note = "angles from lead I, positive towards the feet (clockwise here);\n"
    note += "dotted: the negative half of each lead axis"
    _diagram(ax_h, "Hexaxial reference system", note)
    title = "Limb leads in the frontal plane, seen from the front: "
    fig.suptitle(title + "patient's left on the right of the figure, feet down", fontsize=12)
    return fig


def plot_lead_directions(matrix: np.ndarray | torch.Tensor = DOWER) -> Figure:
    """The direction each lead "looks" in: the rows of a ``(12, 3)`` VCG -> ECG matrix
    (leads x X, Y, Z; Dower's by default), as arrows with gid ``"arrow:<lead>"``. A lead's
    voltage is ``row · (X, Y, Z)``: it sees the heart vector projected on its row, so the row is
    its direction and its length its gain. Left: the limb leads in the frontal plane (X, Y),
    their angles beside the hexaxial ones; right: V1-V6 in the horizontal plane."""
    m = _array(matrix, 12, "matrix", f"leads {list(LEAD_NAMES)} x X, Y, Z", length=3)
    fig, (ax_f, ax_h) = plt.subplots(1, 2, figsize=(11.0, 5.8), layout="constrained")
    panels = [
        (ax_f, "frontal", range(0, 6), "Limb leads, frontal plane (seen from the front)"),
        (ax_h, "horizontal", range(6, 12), "Chest leads, horizontal plane (seen from above)"),
    ]
    for ax, plane, rows, title in panels:
        h, v, _ = _PLANES[plane]
        vecs = m[list(rows)][:, ["XYZ".index(h), "XYZ".index(v)]]
        norms = np.hypot(vecs[:, 0], vecs[:, 1])
        lim = float(norms.max(initial=0.0)) + 0.45
        _plane(ax, plane, {h: (-lim, lim), v: (-lim, lim)}, title, unit="mV/mV")
        for k, row in enumerate(rows):
            angle = math.atan2(vecs[k, 1], vecs[k, 0]) if norms[k] > 0 else 0.0
            at = (norms[k] + 0.2) * np.array([math.cos(angle), math.sin(angle)])  # past the head
            _lead_arrow(ax, LEAD_NAMES[row], (0.0, 0.0), vecs[k], at, bbox=_BOX)
    table = ["lead   Dower  ideal"]
    for lead, (x, y, _) in zip(LEAD_NAMES[:6], m[:6]):
        dower, ideal = _fmt_deg(math.degrees(math.atan2(y, x))), _fmt_deg(HEXAXIAL_ANGLES[lead])
        table.append(f"{lead:<4} {dower:>6} {ideal:>6}")
    box = dict(family="monospace", bbox=dict(_BOX, facecolor="#f4f4f4"), gid="angle-table")
    _note(ax_f, "\n".join(table), 0.02, 0.98, "left", "top", color=None, **box)
    _note(ax_f, "angles from +X,\n+ towards the feet", 0.98, 0.98, "right", "top")
    title = "Where each lead looks: rows of Dower's matrix (lead mV per mV of heart vector)"
    fig.suptitle(title, fontsize=12)
    return fig


def _travel_arrows(ax: Axes, h: np.ndarray, v: np.ndarray, color: str, gid: str, count=3):
    """Arrowheads along the path ``(h, v)`` at evenly spaced arc lengths, pointing forward."""
    steps = np.hypot(np.diff(h), np.diff(v))
    total = float(steps.sum())
    if not np.isfinite(total) or total <= 0:
        return
    cum = np.concatenate([[0.0], np.cumsum(steps)])
    for f in (np.arange(count) + 0.5) / count:
        i = min(max(int(np.searchsorted(cum, f * total)), 1), h.size - 1)
        j = i - 1  # tail a little before i, so that the head's direction follows the curve
        while j > 0 and cum[i] - cum[j] < 0.01 * total:
            j -= 1
        _arrow(ax, (h[j], v[j]), (h[i], v[i]), gid, 15, color=color, lw=0.0, zorder=4)


def _loop_styles(name: str, a: int, b: int, fs: float) -> tuple[dict, dict]:
    """Line and start-marker keywords, legend labels included, of a loop over ``[a, b)``."""
    color, linestyle, marker = _LOOPS[name]
    label = "loop" if name == "loop" else f"{name} loop"
    span = f"{(b - a) / fs * 1000:.0f} ms ({a / fs:.2f}–{b / fs:.2f} s)"
    line = dict(color=color, linestyle=linestyle, lw=1.6, label=f"{label}, {span}")
    start = dict(marker=marker, ms=8, mfc="white", mec=color, mew=1.8, linestyle="none")
    return line, dict(start, label=f"{label} start")


def plot_vcg_loops(
    vcg: np.ndarray | torch.Tensor,
    fs: float,
    *,
    qrs: tuple[int, int] | None = None,
    t: tuple[int, int] | None = None,
    title: str | None = None,
) -> Figure:
    """One beat's VCG loops (``vcg`` ``(3, T)``, mV) in 3-D and in the three planes.

    The heart vector's tip traces a loop during the QRS complex (depolarisation) and a second,
    slower one during the T wave (repolarisation); ``qrs`` and ``t`` are their ``(start,
    stop)`` sample windows (neither: the whole input is one loop). Remove the baseline first:
    loops are drawn about the origin. On one mV scale, as an engineering drawing: frontal
    top left, left sagittal beside it, horizontal below it, 3-D bottom right (``fig.axes`` in
    that order); starts marked (o QRS, square T), arrowheads show the direction of travel.
    Lines have gid ``"loop:<QRS|T|loop>:<plane or 3d>"``; the 3-D line holds ``(X, Z, Y)``.
    """
    x = _array(vcg, 3, "vcg", _XYZ_MV, min_t=2)
    fs = check_fs(fs)
    n = x.shape[1]
    loops = {k: _window(w, n, k.lower()) for k, w in {"QRS": qrs, "T": t}.items() if w is not None}
    loops = loops or {"loop": (0, n)}

    shown = np.concatenate([x[:, a:b] for a, b in loops.values()], axis=1)
    finite = shown[:, np.all(np.isfinite(shown), axis=0)]
    lo = np.minimum(finite.min(axis=1), 0.0) if finite.size else -np.ones(3)
    hi = np.maximum(finite.max(axis=1), 0.0) if finite.size else np.ones(3)
    half = 0.5 * max(float((hi - lo).max()), 1e-3) * 1.12  # common scale for every panel
    lims = {name: (c - half, c + half) for name, c in zip("XYZ", (lo + hi) / 2)}

    fig = plt.figure(figsize=(10.0, 10.0), layout="constrained")
    ax_f = fig.add_subplot(2, 2, 1)
    ax_s = fig.add_subplot(2, 2, 2, sharey=ax_f)
    ax_h = fig.add_subplot(2, 2, 3, sharex=ax_f)
    ax3 = fig.add_subplot(2, 2, 4, projection="3d")
    # 3-D: x = X (left), y = Z (back), z = Y (feet, drawn downwards)
    ax3.set(xlim=lims["X"], ylim=lims["Z"], zlim=lims["Y"])
    ax3.invert_zaxis()
    ax3.set_box_aspect((1, 1, 1))
    for plane, ax in {"frontal": ax_f, "sagittal": ax_s, "horizontal": ax_h, "3d": ax3}.items():
        rows = [0, 2, 1] if plane == "3d" else _plane(ax, plane, lims)
        for name, (a, b) in loops.items():
            line, start = _loop_styles(name, a, b, fs)
            ax.plot(*x[rows, a:b], gid=f"loop:{name}:{plane}", zorder=3, **line)
            ax.plot(*x[rows, a : a + 1], zorder=5, gid=f"start:{name}:{plane}", **start)
            if plane != "3d":
                _travel_arrows(ax, *x[rows, a:b], line["color"], f"direction:{name}:{plane}")
        ax.tick_params(labelsize=7.5 if plane == "3d" else 8.5)
    ax_s.tick_params(labelleft=True)
    for k, (axis, name) in enumerate(zip((ax3.xaxis, ax3.yaxis, ax3.zaxis), "XZY")):
        ends = np.zeros((3, 2))
        ends[k] = lims[name]
        ax3.plot(*ends, color=ZERO, lw=0.7)  # the axis through the origin
        axis.set_label_text(f"{name} (+ = {_DIRECTION[name][1]}), mV", fontsize=9)
        axis.set_major_locator(MaxNLocator(4))
    ax3.view_init(elev=18, azim=-62)
    ax3.set_title("3-D (feet down, back away from you)", fontsize=11)

    arrow = dict(marker=">", ms=9, color="#444444", linestyle="none", label="direction of travel")
    handles = [*ax_f.get_legend_handles_labels()[0], Line2D([], [], **arrow)]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def plot_measured_vs_reconstructed(
    frank: np.ndarray | torch.Tensor,
    reconstructed: Mapping[str, np.ndarray | torch.Tensor],
    fs: float,
    window_s: tuple[float, float] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Measured Frank leads X, Y, Z (``(3, T)``, mV, e.g. PTB's ``aux["frank"][0]``) against
    up to 5 VCGs reconstructed from the 12-lead ECG (name -> ``(3, T)``), over ``window_s``
    (seconds; ``None``: all): one row per axis on shared scales, each with its correlations;
    lines have gid ``"measured:X"``, ``"<name>:X"``, ..."""
    ref = _array(frank, 3, "frank", _XYZ_MV, min_t=2)
    fs = check_fs(fs)
    if len(reconstructed) > len(_RECON_COLORS):
        msg = f"at most {len(_RECON_COLORS)} reconstructions can be told apart, got "
        raise ValueError(msg + str(len(reconstructed)))
    n = ref.shape[1]
    recs = {
        str(k): _array(r, 3, f"reconstructed[{k!r}]", _XYZ_MV, length=n)
        for k, r in reconstructed.items()
    }
    a, b = _window(window_s, n, "window_s", fs)
    time = np.arange(a, b) / fs

    fig, axes = _time_axes(3, 1, 7.0)
    for i, (ax, axis) in enumerate(zip(axes[:, 0], "XYZ")):
        measured = dict(color=BLACK, lw=2.2, alpha=0.85, label="measured (Frank)")
        ax.plot(time, ref[i, a:b], gid=f"measured:{axis}", **measured)
        scores = []
        for (name, rec), color, dashes in zip(recs.items(), _RECON_COLORS, _RECON_DASHES):
            style = dict(color=color, linestyle=dashes, lw=1.4, label=name)
            ax.plot(time, rec[i, a:b], gid=f"{name}:{axis}", **style)
            with np.errstate(invalid="ignore", divide="ignore"):
                scores.append(f"{name}: r = {np.corrcoef(ref[i, a:b], rec[i, a:b])[0, 1]:.2f}")
        ax.set_ylabel(f"{axis} (mV)\n+ = {_DIRECTION[axis][1]}")
        if scores:
            text = "correlation with measured:  " + "   ".join(scores)
            ax.set_title(text, loc="right", fontsize=8.5, pad=2.0)
    _time_end(fig, axes, time, "outside upper right", 1 + len(recs))
    title = title or "Measured vs reconstructed vectorcardiogram"
    fig.suptitle(title, fontsize=12, x=0.01, ha="left")
    return fig


def plot_dipole_projection(
    ecg: np.ndarray | torch.Tensor,
    fs: float,
    leads: Sequence[str] = ("I", "II", "V1", "V2", "V5"),
    window_s: tuple[float, float] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Leads of ``ecg`` ``(12, T)`` (mV), their single-dipole (rank-3) projection, the residual.

    The projection (:func:`threekg_lite.vcg.project_to_dipole`) is the part of a lead one heart
    dipole can produce; the residual, what every 3KG view loses, is drawn on the same mV
    scale. The title gives the share of the energy of I, II, V1-V6 that the dipole explains
    over ``window_s`` (:func:`~threekg_lite.physiology.vcg_features.dipole_energy_fraction`),
    each row label that of its lead; remove baseline wander first. ``leads`` in any spelling
    (``"avr"``); gids ``"original|projection|residual:<lead>"``.
    """
    x = _array(ecg, 12, "ecg", "12 standard leads x samples, in mV, T >= 2", min_t=2)
    fs = check_fs(fs)
    leads = [leads] if isinstance(leads, str) else list(leads)
    rows = [_resolve_lead(str(lead), LEAD_NAMES, "leads") for lead in leads]
    if not rows or len(set(rows)) != len(rows):
        raise ValueError(f"leads must name distinct standard leads, at least one; got {leads}")
    a, b = _window(window_s, x.shape[1], "window_s", fs)
    shown = x[:, a:b]
    proj = np.asarray(project_to_dipole(shown))
    residual = shown - proj
    fraction = float(dipole_energy_fraction(shown))
    time = np.arange(a, b) / fs

    fig, axes = _time_axes(len(rows), 2, 1.0 + 1.35 * len(rows))
    for (ax_o, ax_r), k in zip(axes, rows):
        lead = LEAD_NAMES[k]
        energy = float(np.sum(shown[k] ** 2))
        share = 1.0 - float(np.sum(residual[k] ** 2)) / energy if energy > 0 else float("nan")
        ax_o.plot(time, shown[k], color=BLACK, lw=1.3, label="original", gid=f"original:{lead}")
        style = dict(color=VERMILION, lw=1.3, linestyle="--", label="dipole projection")
        ax_o.plot(time, proj[k], gid=f"projection:{lead}", **style)
        style = dict(color=BLUE, lw=1.1, label="residual = original − projection")
        ax_r.plot(time, residual[k], gid=f"residual:{lead}", **style)
        ax_o.set_ylabel(f"{lead} (mV)\n{100 * share:.0f} % explained", fontsize=9)
        ax_o.tick_params(labelsize=8.5)
        ax_r.tick_params(labelsize=8.5, labelleft=True)
        label = dict(fontsize=10, fontweight="bold", gid=f"label:{lead}")
        _note(ax_r, lead, 0.005, 0.95, "left", "top", None, **label)
    axes[0, 0].set_title("original and its dipole (rank-3) projection", fontsize=10.5)
    axes[0, 1].set_title("residual = original − projection (same mV scale)", fontsize=10.5)
    _time_end(fig, axes, time, "outside lower center", 3)
    head = f"{title}: " if title else ""
    text = f"one dipole explains {100 * fraction:.1f} % of the energy of I, II, V1–V6"
    fig.suptitle(f"{head}{text} ({(b - a) / fs:g} s shown)", fontsize=12)
    return fig
