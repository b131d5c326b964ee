"""Teaching figures for the vectorcardiogram (VCG): leads as directions, loops, projections.

Five figures explain why 3KG can rotate a 12-lead ECG at all: every lead looks at one heart
dipole from its own direction.

* :func:`plot_limb_leads`: Einthoven's triangle, Wilson's central terminal, Goldberger's
  augmented leads and the hexaxial reference system (idealised directions, in degrees).
* :func:`plot_lead_directions`: the direction each lead really looks in, as the rows of
  Dower's matrix (:data:`threekg_lite.vcg.DOWER`), in the frontal and horizontal planes.
* :func:`plot_vcg_loops`: one beat's QRS and T loops in 3-D and in the three planes.
* :func:`plot_measured_vs_reconstructed`: measured Frank leads X, Y, Z against VCGs computed
  from the 12-lead ECG (inverse Dower, Kors).
* :func:`plot_dipole_projection`: what one dipole can explain of each lead
  (:func:`threekg_lite.vcg.project_to_dipole`) and what it cannot (the residual).

Axes follow Frank's convention (see :mod:`threekg_lite.vcg`): **X** to the patient's left,
**Y** to the feet, **Z** to the back. The planes are drawn as in clinical vectorcardiography:
the frontal plane seen from the front (patient's left on the right of the figure, feet down),
the horizontal plane seen from above (patient's left on the right, front down, back up) and
the left sagittal plane seen from the patient's left (front on the left, feet down). Every
panel writes the anatomical direction at the ends of its axes, so no convention has to be
remembered.

Colours come from the Okabe-Ito palette (:data:`threekg_lite.viz.figures.OKABE_ITO`); every
curve also has its own line style or marker and every arrow its name, so the figures read in
greyscale print and for colour-blind readers. All functions accept NumPy arrays or torch
tensors (any device) in mV and return a :class:`matplotlib.figure.Figure`; importing this
module changes no matplotlib setting. Lines, arrows and labels carry a ``gid``
(``"loop:QRS:frontal"``, ``"arrow:V1"``, ``"residual:V1"``, ...) so tests and notebooks can
find them.
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

from threekg_lite.data.lead_names import canonical_lead_name
from threekg_lite.leads import LEAD_NAMES
from threekg_lite.physiology.vcg_features import dipole_energy_fraction
from threekg_lite.vcg import DOWER, project_to_dipole
from threekg_lite.viz.figures import OKABE_ITO
from threekg_lite.viz.plotting import _as_array, check_fs

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
GREY = "#777777"
MINUS = "\u2212"  # typographic minus sign, as matplotlib writes negative tick labels

HEXAXIAL_ANGLES: dict[str, int] = {
    "I": 0,
    "II": 60,
    "III": 120,
    "aVR": -150,
    "aVL": -30,
    "aVF": 90,
}
"""Idealised frontal-plane direction of each limb lead, in degrees from lead I, positive
towards the feet (clockwise on a figure with the patient's left on the right)."""

#: Line style of the two families of limb leads: bipolar (Einthoven) and augmented.
_BIPOLAR = dict(color=BLUE, linestyle="-")
_AUGMENTED = dict(color=VERMILION, linestyle="--")
#: Loop styles: QRS solid blue, T dashed vermilion; loop starts marked o (QRS) and s (T).
_LOOP_STYLE = {
    "QRS": dict(color=BLUE, linestyle="-", marker="o"),
    "T": dict(color=VERMILION, linestyle="--", marker="s"),
    "loop": dict(color=BLACK, linestyle="-", marker="o"),
}
#: Reconstructions in plot_measured_vs_reconstructed, in turn.
_RECON_STYLES = [
    dict(color=BLUE, linestyle="--"),
    dict(color=VERMILION, linestyle=":"),
    dict(color=GREEN, linestyle="-."),
    dict(color=PURPLE, linestyle=(0, (6, 1.5, 1, 1.5, 1, 1.5))),
    dict(color=ORANGE, linestyle=(0, (1, 1))),
]

#: Words for the two ends of each Frank axis: (negative end, positive end).
_DIRECTION = {"X": ("right", "left"), "Y": ("head", "feet"), "Z": ("front", "back")}
_AXIS_INDEX = {"X": 0, "Y": 1, "Z": 2}
#: (horizontal axis, vertical axis, title) of the three planes, as drawn clinically.
_PLANES = {
    "frontal": ("X", "Y", "Frontal plane (seen from the front)"),
    "horizontal": ("X", "Z", "Horizontal plane (seen from above)"),
    "sagittal": ("Z", "Y", "Left sagittal plane (seen from the left)"),
}


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _fmt_deg(angle: float) -> str:
    """``+60°``, ``−30°``, ``0°`` (typographic minus)."""
    a = int(round(angle))
    if a == 0:
        return "0°"
    return f"+{a}°" if a > 0 else f"{MINUS}{-a}°"


def _array(x: np.ndarray | torch.Tensor, rows: int, what: str, axes: str) -> np.ndarray:
    """``x`` as float64 NumPy, checked to be ``(rows, T)`` with ``T >= 2``."""
    a = _as_array(x)
    if a.ndim != 2 or a.shape[0] != rows or a.shape[1] < 2:
        hint = ""
        if a.ndim == 2 and a.shape[1] == rows:
            hint = f"; it looks like (T, {rows}): transpose it (x.T)"
        elif a.ndim == 3 and a.shape[0] == 1 and a.shape[1] == rows:
            hint = "; it has a batch axis: pass one record, x[0]"
        raise ValueError(
            f"{what} must have shape ({rows}, T) ({axes} x samples, in mV, T >= 2), "
            f"got shape {tuple(a.shape)}{hint}"
        )
    return a


def _sample_window(window: tuple[int, int] | None, n: int, name: str) -> tuple[int, int] | None:
    """Check a ``(start, stop)`` sample window (stop exclusive) inside ``[0, n]``."""
    if window is None:
        return None
    try:
        start, stop = window
        ok = all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, stop)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"{name} must be a (start, stop) pair of sample indices (ints), got {window!r}"
        )
    start, stop = int(start), int(stop)
    if not 0 <= start < stop <= n or stop - start < 2:
        raise ValueError(
            f"{name}=({start}, {stop}) must be a (start, stop) sample window with "
            f"0 <= start < stop <= {n} (the number of samples), at least 2 samples long"
        )
    return start, stop


def _time_window(window_s: tuple[float, float] | None, n: int, fs: float) -> tuple[int, int]:
    """Sample range ``[a, b)`` of a ``(start_s, stop_s)`` window in seconds (None: all)."""
    if window_s is None:
        return 0, n
    try:
        t0, t1 = (float(v) for v in window_s)
    except (TypeError, ValueError):
        raise ValueError(
            f"window_s must be a (start, stop) pair in seconds, got {window_s!r}"
        ) from None
    duration = n / fs
    if not (math.isfinite(t0) and math.isfinite(t1)) or not 0 <= t0 < t1:
        raise ValueError(f"window_s=({t0:g}, {t1:g}) must satisfy 0 <= start < stop (seconds)")
    a, b = int(round(t0 * fs)), min(n, int(round(t1 * fs)))
    if b - a < 2:
        raise ValueError(
            f"window_s=({t0:g}, {t1:g}) s holds fewer than 2 samples of the {duration:g}-s "
            f"signal at {fs:g} Hz"
        )
    return a, b


def _arrow(
    ax: Axes,
    tail: Sequence[float],
    head: Sequence[float],
    *,
    color: str,
    linestyle: str | tuple = "-",
    lw: float = 1.8,
    gid: str | None = None,
    shrink_a: float = 0.0,
    shrink_b: float = 0.0,
    head_size: float = 14.0,
    zorder: float = 3.0,
):
    """An arrow from ``tail`` to ``head`` (data coordinates); an Annotation with ``gid``."""
    ann = ax.annotate(
        "",
        xy=(float(head[0]), float(head[1])),
        xytext=(float(tail[0]), float(tail[1])),
        arrowprops=dict(
            arrowstyle="-|>",
            color=color,
            linestyle=linestyle,
            lw=lw,
            shrinkA=shrink_a,
            shrinkB=shrink_b,
            mutation_scale=head_size,
        ),
        zorder=zorder,
    )
    ann.set_gid(gid)
    return ann


def _label_box(color: str = "white") -> dict:
    return dict(boxstyle="round,pad=0.15", facecolor=color, edgecolor="none", alpha=0.85)


def _axis_label(name: str, unit: str = "mV", inverted: bool = False) -> str:
    """``"← right    X (mV)    left →"``: the axis with the anatomical word at each end.

    The words are in reading order: left to right under a horizontal axis, bottom to top
    beside a vertical one (whose label is rotated, so its ``←`` points down).
    """
    neg, pos = _DIRECTION[name]
    first, last = (pos, neg) if inverted else (neg, pos)
    return f"\u2190 {first}      {name} ({unit})      {last} \u2192"


def _label_axes(ax: Axes, horizontal: str, vertical: str, unit: str = "mV") -> None:
    ax.set_xlabel(_axis_label(horizontal, unit, ax.xaxis_inverted()))
    ax.set_ylabel(_axis_label(vertical, unit, ax.yaxis_inverted()))


def _zero_lines(ax: Axes) -> None:
    ax.axhline(0.0, color="#bbbbbb", lw=0.7, zorder=0.5)
    ax.axvline(0.0, color="#bbbbbb", lw=0.7, zorder=0.5)


# ---------------------------------------------------------------------------------------
# 1. limb leads: Einthoven's triangle and the hexaxial reference system
# ---------------------------------------------------------------------------------------


def plot_limb_leads() -> Figure:
    """Einthoven's triangle, Wilson's central terminal and the hexaxial reference system.

    Left panel: the three limb electrodes RA, LA, LL at the corners of an equilateral
    triangle; the bipolar leads I (RA -> LA), II (RA -> LL) and III (LA -> LL) as arrows along
    its sides (blue, solid), pointing from the negative to the positive electrode; Wilson's
    central terminal (WCT, the mean of the three electrodes) at the centroid; and Goldberger's
    augmented leads aVR, aVL, aVF (vermilion, dashed) from the centre towards their electrodes.

    Right panel: the same six directions moved to a common origin, the hexaxial reference
    system, with each lead's angle (0° at I, +60° II, +120° III, +90° aVF, −30° aVL,
    −150° aVR; :data:`HEXAXIAL_ANGLES`). The negative half of each axis is dotted.

    Both panels show the frontal plane seen from the front, as in clinical diagrams: the
    patient's left is on the right of the figure and the feet are down, so angles grow
    clockwise. Data coordinates are the patient's (x: + = left, y: + = feet, y axis
    inverted), so a direction at angle ``a`` is ``(cos a, sin a)``.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: ``fig.axes[0]`` the triangle, ``fig.axes[1]`` the hexaxial system. Arrows
        are annotations with gid ``"arrow:<lead>"`` (tail ``ann.xyann``, head ``ann.xy``).
    """
    fig, (ax_t, ax_h) = plt.subplots(1, 2, figsize=(11.0, 5.9), layout="constrained")

    def at(angle: float, r: float = 1.0) -> np.ndarray:
        a = math.radians(angle)
        return np.array([r * math.cos(a), r * math.sin(a)])

    # ---- left: the triangle ----------------------------------------------------------------
    electrodes = {"RA": at(-150), "LA": at(-30), "LL": at(90)}
    long_names = {"RA": "right arm", "LA": "left arm", "LL": "left leg"}
    ax = ax_t
    ax.fill(*np.array(list(electrodes.values())).T, color="#f2f2f2", zorder=0.5)
    for lead, (neg, pos) in {"I": ("RA", "LA"), "II": ("RA", "LL"), "III": ("LA", "LL")}.items():
        _arrow(
            ax,
            electrodes[neg],
            electrodes[pos],
            gid=f"arrow:{lead}",
            shrink_a=9,
            shrink_b=9,
            **_BIPOLAR,
        )
        mid = (electrodes[neg] + electrodes[pos]) / 2
        out = mid / np.linalg.norm(mid)  # outwards from the centre
        ax.text(
            *(mid + 0.17 * out),
            lead,
            ha="center",
            va="center",
            fontsize=13,
            fontweight="bold",
            color=BLUE,
            gid=f"label:{lead}",
        )
    wct = np.zeros(2)
    for lead, electrode in {"aVR": "RA", "aVL": "LA", "aVF": "LL"}.items():
        _arrow(
            ax,
            wct,
            electrodes[electrode],
            gid=f"arrow:{lead}",
            shrink_a=6,
            shrink_b=16,
            lw=1.6,
            **_AUGMENTED,
        )
        # label beside the arrow, halfway out, offset perpendicular to it
        d = electrodes[electrode]
        normal = np.array([-d[1], d[0]])
        ax.text(
            *(0.55 * d + 0.13 * normal),
            lead,
            ha="center",
            va="center",
            fontsize=11,
            color=VERMILION,
            fontweight="bold",
            bbox=_label_box("#f2f2f2"),
            gid=f"label:{lead}",
        )
    for name, p in electrodes.items():
        ax.plot(
            *p,
            marker="o",
            ms=13,
            mfc="white",
            mec=BLACK,
            mew=1.8,
            zorder=4,
            gid=f"electrode:{name}",
        )
        below = name == "LL"
        offset = np.array([0.0, 0.2]) if below else np.array([0.0, -0.2])
        ax.text(
            *(p + offset),
            f"{name}\n({long_names[name]})" if not below else f"{name} ({long_names[name]})",
            ha="center",
            va="center",
            fontsize=10,
            gid=f"electrode-label:{name}",
        )
    ax.plot(0, 0, marker="D", ms=8, color=BLACK, zorder=5, gid="electrode:WCT")
    ax.text(
        0.0,
        0.2,
        "WCT",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        bbox=_label_box("#f2f2f2"),
        gid="label:WCT",
    )
    ax.text(
        0.5,
        0.015,
        "WCT = Wilson's central terminal = (RA + LA + LL) / 3\n"
        "aVR = RA − (LA + LL)/2 = 1.5 (RA − WCT), likewise aVL, aVF",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=8.5,
        color="#333333",
    )
    ax.set_title("Einthoven's triangle and the augmented leads", fontsize=11)

    # ---- right: hexaxial reference ------------------------------------------------------
    ax = ax_h
    circle = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(circle), np.sin(circle), color="#cccccc", lw=0.8, zorder=0.5)
    for lead, angle in HEXAXIAL_ANGLES.items():
        style = _BIPOLAR if lead in ("I", "II", "III") else _AUGMENTED
        tip = at(angle)
        ax.plot(
            [0, -tip[0]],
            [0, -tip[1]],
            color=style["color"],
            lw=0.9,
            linestyle=":",
            alpha=0.8,
            zorder=1,
        )
        _arrow(ax, (0, 0), tip, gid=f"arrow:{lead}", lw=1.8, **style)
        ax.text(
            *at(angle, 1.2),
            f"{lead}\n{_fmt_deg(angle)}",
            ha="center",
            va="center",
            fontsize=11,
            color=style["color"],
            fontweight="bold",
            linespacing=1.0,
            gid=f"label:{lead}",
        )
        ax.text(
            *at(angle + 180, 1.13),
            _fmt_deg(((angle + 360) % 360) - 180) if angle != 0 else "±180°",
            ha="center",
            va="center",
            fontsize=8.5,
            color=GREY,
            gid=f"angle:{lead}:negative",
        )
    ax.plot(0, 0, marker="D", ms=6, color=BLACK, zorder=5)
    ax.text(
        0.5,
        0.015,
        "angles from lead I, positive towards the feet (clockwise here);\n"
        "dotted: the negative half of each lead axis",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=8.5,
        color="#333333",
    )
    ax.set_title("Hexaxial reference system", fontsize=11)

    for ax in (ax_t, ax_h):
        ax.set_xlim(-1.45, 1.45)
        ax.set_ylim(-1.45, 1.55)
        ax.invert_yaxis()  # feet down
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel(
            "\u2190 patient's right" + " " * 40 + "patient's left \u2192",
            fontsize=10,
            style="italic",
            color="#333333",
        )
    fig.suptitle(
        "Limb leads in the frontal plane, seen from the front: "
        "patient's left on the right of the figure, feet down",
        fontsize=12,
    )
    return fig


# ---------------------------------------------------------------------------------------
# 2. lead directions from Dower's matrix
# ---------------------------------------------------------------------------------------


def plot_lead_directions(matrix: np.ndarray | torch.Tensor = DOWER) -> Figure:
    """The direction each lead "looks" in, as the rows of a ``(12, 3)`` VCG -> ECG matrix.

    A lead's voltage is ``row · (X, Y, Z)``: the lead sees the heart vector projected on its
    row, so the row is the lead's direction (and its length the lead's gain, in mV of lead
    per mV of dipole). Left: the six limb leads' rows in the frontal plane (X, Y), with each
    row's angle for comparison with the idealised hexaxial angles of
    :func:`plot_limb_leads`. Right: V1-V6 in the horizontal plane (X, Z). Each panel drops the
    third coordinate.

    Parameters
    ----------
    matrix
        ``(12, 3)``, rows in standard lead order, columns X, Y, Z; Dower's matrix by default.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (frontal, horizontal). Arrows are annotations with gid ``"arrow:<lead>"``
        from the origin (``ann.xyann``) to the row (``ann.xy``).

    Raises
    ------
    ValueError
        If ``matrix`` is not ``(12, 3)``.
    """
    m = _as_array(matrix)
    if m.shape != (12, 3):
        raise ValueError(
            f"matrix must have shape (12, 3) (leads {list(LEAD_NAMES)} x X, Y, Z), "
            f"got shape {tuple(m.shape)}"
        )
    fig, (ax_f, ax_h) = plt.subplots(1, 2, figsize=(11.0, 5.8), layout="constrained")

    panels = [
        (ax_f, "frontal", range(0, 6), "Limb leads, frontal plane (seen from the front)"),
        (ax_h, "horizontal", range(6, 12), "Chest leads, horizontal plane (seen from above)"),
    ]
    for ax, plane, rows, title in panels:
        h, v, _ = _PLANES[plane]
        ih, iv = _AXIS_INDEX[h], _AXIS_INDEX[v]
        vecs = m[list(rows)][:, [ih, iv]]
        norms = np.hypot(vecs[:, 0], vecs[:, 1])
        lim = float(norms.max(initial=0.0)) + 0.45
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        if plane == "frontal":
            ax.invert_yaxis()  # feet down
        ax.set_aspect("equal")
        _zero_lines(ax)
        for k, row in enumerate(rows):
            lead = LEAD_NAMES[row]
            vec = vecs[k]
            if plane == "frontal":
                style = _BIPOLAR if lead in ("I", "II", "III") else _AUGMENTED
            else:
                style = dict(color=GREEN, linestyle="-")
            _arrow(ax, (0.0, 0.0), vec, gid=f"arrow:{lead}", **style)
            angle = math.atan2(vec[1], vec[0]) if norms[k] > 0 else 0.0
            r = norms[k] + 0.2  # the name just beyond the arrowhead
            ax.text(
                r * math.cos(angle),
                r * math.sin(angle),
                lead,
                ha="center",
                va="center",
                fontsize=11,
                fontweight="bold",
                color=style["color"],
                bbox=_label_box(),
                gid=f"label:{lead}",
            )
        _label_axes(ax, h, v, unit="mV/mV")
        ax.set_title(title, fontsize=11)
    table = ["lead   Dower  ideal"]
    for lead in LEAD_NAMES[:6]:
        vec = m[LEAD_NAMES.index(lead), :2]
        dower = _fmt_deg(math.degrees(math.atan2(vec[1], vec[0])))
        table.append(f"{lead:<4} {dower:>6} {_fmt_deg(HEXAXIAL_ANGLES[lead]):>6}")
    ax_f.text(
        0.02,
        0.98,
        "\n".join(table),
        transform=ax_f.transAxes,
        ha="left",
        va="top",
        fontsize=8.5,
        family="monospace",
        bbox=_label_box("#f4f4f4"),
        gid="angle-table",
    )
    ax_f.text(
        0.98,
        0.98,
        "angles from +X,\n+ towards the feet",
        transform=ax_f.transAxes,
        ha="right",
        va="top",
        fontsize=8.5,
        color="#333333",
    )
    fig.suptitle(
        "Where each lead looks: rows of Dower's matrix (lead mV per mV of heart vector)",
        fontsize=12,
    )
    return fig


# ---------------------------------------------------------------------------------------
# 3. VCG loops
# ---------------------------------------------------------------------------------------


def _travel_arrows(
    ax: Axes, h: np.ndarray, v: np.ndarray, color: str, gid: str, count: int = 3
) -> None:
    """Arrowheads along the path ``(h, v)`` at evenly spaced arc lengths, pointing forward."""
    steps = np.hypot(np.diff(h), np.diff(v))
    total = float(steps.sum())
    if not np.isfinite(total) or total <= 0:
        return
    cum = np.concatenate([[0.0], np.cumsum(steps)])
    n = h.size
    for f in (np.arange(count) + 0.5) / count:
        i = int(np.searchsorted(cum, f * total))
        i = min(max(i, 1), n - 1)
        # tail a little before i, so that the head's direction follows the curve
        j = i - 1
        while j > 0 and cum[i] - cum[j] < 0.01 * total:
            j -= 1
        _arrow(ax, (h[j], v[j]), (h[i], v[i]), color=color, lw=0.0, head_size=15, gid=gid, zorder=4)


def plot_vcg_loops(
    vcg: np.ndarray | torch.Tensor,
    fs: float,
    *,
    qrs: tuple[int, int] | None = None,
    t: tuple[int, int] | None = None,
    title: str | None = None,
) -> Figure:
    """One beat's VCG loops in 3-D and in the frontal, horizontal and sagittal planes.

    The heart vector's tip traces a loop during the QRS complex (depolarisation) and a
    second, slower one during the T wave (repolarisation). The three planes are laid out as
    an engineering drawing: the frontal plane (X-Y, feet down) top left; the left sagittal
    plane (Z-Y, feet down) beside it, sharing its vertical axis; the horizontal plane
    (X-Z, back up, as seen from above) below it, sharing its horizontal axis; the 3-D view
    bottom right. All panels share one mV scale, with equal aspect. Each loop's start is
    marked (o for QRS, square for T) and arrowheads show the direction of travel.

    Parameters
    ----------
    vcg
        ``(3, T)`` X, Y, Z in mV, NumPy or torch (any device). Remove the baseline first:
        loops are drawn about the origin, which is the isoelectric point only then.
    fs
        Sampling rate in Hz (for the loop durations in the legend).
    qrs, t
        ``(start, stop)`` sample windows (stop exclusive) of the QRS complex and the T wave.
        When both are ``None``, the whole input is drawn as one loop.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Four axes, ``fig.axes`` = [frontal, sagittal, horizontal, 3-D]. The loop lines have
        gid ``"loop:<QRS|T|loop>:<plane>"`` (plane ``frontal``, ``horizontal``, ``sagittal``
        or ``3d``); in a plane the x data is the horizontal coordinate (``X`` for frontal
        and horizontal, ``Z`` for sagittal), the y data the vertical one; the 3-D line holds
        ``(X, Z, Y)`` (``line.get_data_3d()``), the vertical axis being Y, feet down.

    Raises
    ------
    ValueError
        If ``vcg`` is not ``(3, T)``, ``fs`` is not positive, or a window is not a pair of
        sample indices inside the signal.
    """
    # registers the "3d" projection (pyplot does so too in current matplotlib; kept local so
    # that this module's own imports stay 2-D only)
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401

    x = _array(vcg, 3, "vcg", "X, Y, Z")
    fs = check_fs(fs)
    n = x.shape[1]
    windows = {"QRS": _sample_window(qrs, n, "qrs"), "T": _sample_window(t, n, "t")}
    loops = {k: w for k, w in windows.items() if w is not None}
    if not loops:
        loops = {"loop": (0, n)}

    shown = np.concatenate([x[:, a:b] for a, b in loops.values()], axis=1)
    finite = shown[:, np.all(np.isfinite(shown), axis=0)]
    if finite.size:
        lo = np.minimum(finite.min(axis=1), 0.0)
        hi = np.maximum(finite.max(axis=1), 0.0)
    else:
        lo, hi = -np.ones(3), np.ones(3)
    half = 0.5 * max(float((hi - lo).max()), 1e-3) * 1.12  # common scale for every panel
    centre = (lo + hi) / 2
    lims = {name: (centre[i] - half, centre[i] + half) for name, i in _AXIS_INDEX.items()}

    fig = plt.figure(figsize=(10.0, 10.0), layout="constrained")
    gs = fig.add_gridspec(2, 2)
    ax_f = fig.add_subplot(gs[0, 0])
    ax_s = fig.add_subplot(gs[0, 1], sharey=ax_f)
    ax_h = fig.add_subplot(gs[1, 0], sharex=ax_f)
    ax3 = fig.add_subplot(gs[1, 1], projection="3d")
    planes = {"frontal": ax_f, "sagittal": ax_s, "horizontal": ax_h}

    for plane, ax in planes.items():
        h, v, plane_title = _PLANES[plane]
        ax.set_xlim(*lims[h])
        ax.set_ylim(*lims[v])
        if v == "Y":
            ax.set_ylim(lims[v][1], lims[v][0])  # feet down
        ax.set_aspect("equal", adjustable="box")
        _zero_lines(ax)
        ih, iv = _AXIS_INDEX[h], _AXIS_INDEX[v]
        for name, (a, b) in loops.items():
            st = _LOOP_STYLE[name]
            ax.plot(
                x[ih, a:b],
                x[iv, a:b],
                color=st["color"],
                linestyle=st["linestyle"],
                lw=1.6,
                gid=f"loop:{name}:{plane}",
                zorder=3,
            )
            ax.plot(
                x[ih, a],
                x[iv, a],
                marker=st["marker"],
                ms=8,
                mfc="white",
                mec=st["color"],
                mew=1.8,
                linestyle="none",
                zorder=5,
                gid=f"start:{name}:{plane}",
            )
            _travel_arrows(ax, x[ih, a:b], x[iv, a:b], st["color"], f"direction:{name}:{plane}")
        _label_axes(ax, h, v)
        ax.set_title(plane_title, fontsize=11)
        ax.tick_params(labelsize=8.5)
    ax_s.tick_params(labelleft=True)

    # ---- 3-D: x = X (left), y = Z (back), z = Y (feet, drawn downwards) --------------------
    ax3.set_xlim(*lims["X"])
    ax3.set_ylim(*lims["Z"])
    ax3.set_zlim(*lims["Y"])
    ax3.invert_zaxis()
    ax3.set_box_aspect((1, 1, 1))
    for name, (a, b) in loops.items():
        st = _LOOP_STYLE[name]
        ax3.plot(
            x[0, a:b],
            x[2, a:b],
            x[1, a:b],
            color=st["color"],
            linestyle=st["linestyle"],
            lw=1.6,
            gid=f"loop:{name}:3d",
        )
        ax3.plot(
            [x[0, a]],
            [x[2, a]],
            [x[1, a]],
            marker=st["marker"],
            ms=8,
            mfc="white",
            mec=st["color"],
            mew=1.8,
            linestyle="none",
            gid=f"start:{name}:3d",
        )
    ax3.plot(list(lims["X"]), [0, 0], [0, 0], color="#bbbbbb", lw=0.7)
    ax3.plot([0, 0], list(lims["Z"]), [0, 0], color="#bbbbbb", lw=0.7)
    ax3.plot([0, 0], [0, 0], list(lims["Y"]), color="#bbbbbb", lw=0.7)
    ax3.set_xlabel("X (+ = left), mV", fontsize=9)
    ax3.set_ylabel("Z (+ = back), mV", fontsize=9)
    ax3.set_zlabel("Y (+ = feet), mV", fontsize=9)
    ax3.tick_params(labelsize=7.5)
    for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
        axis.set_major_locator(MaxNLocator(4))
    ax3.view_init(elev=18, azim=-62)
    ax3.set_title("3-D (feet down, back away from you)", fontsize=11)

    handles = []
    for name, (a, b) in loops.items():
        st = _LOOP_STYLE[name]
        label = "loop" if name == "loop" else f"{name} loop"
        handles.append(
            Line2D(
                [],
                [],
                color=st["color"],
                linestyle=st["linestyle"],
                lw=1.6,
                label=f"{label}, {(b - a) / fs * 1000:.0f} ms ({a / fs:.2f}–{b / fs:.2f} s)",
            )
        )
        handles.append(
            Line2D(
                [],
                [],
                marker=st["marker"],
                ms=8,
                mfc="white",
                mec=st["color"],
                mew=1.8,
                linestyle="none",
                label=f"{label} start",
            )
        )
    handles.append(
        Line2D(
            [], [], marker=">", ms=9, color="#444444", linestyle="none", label="direction of travel"
        )
    )
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


# ---------------------------------------------------------------------------------------
# 4. measured vs reconstructed Frank leads
# ---------------------------------------------------------------------------------------


def plot_measured_vs_reconstructed(
    frank: np.ndarray | torch.Tensor,
    reconstructed: Mapping[str, np.ndarray | torch.Tensor],
    fs: float,
    window_s: tuple[float, float] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Measured Frank leads X, Y, Z against VCGs reconstructed from the 12-lead ECG.

    One row per axis; the measured lead is a thick black line, each reconstruction (e.g.
    ``"inverse Dower"``, ``"Kors"``) has its own colour and line style. Each row lists the
    correlation of every reconstruction with the measured lead over the window shown.

    Parameters
    ----------
    frank
        ``(3, T)`` measured X, Y, Z in mV (e.g. ``load_ptbdb(...).aux["frank"][0]``).
    reconstructed
        Name -> ``(3, T)`` reconstruction in mV, same ``T`` (e.g.
        ``{"inverse Dower": ecg_to_vcg(ecg), "Kors": ecg_to_vcg(ecg, "kors")}``); up to 5.
    fs
        Sampling rate in Hz.
    window_s
        ``(start, stop)`` in seconds to show; ``None``: everything.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes (X, Y, Z), shared time and mV scales. Lines have gid ``"measured:X"`` and
        ``"<name>:X"`` etc.; their x data is time in s.

    Raises
    ------
    ValueError
        If an input is not ``(3, T)``, the lengths differ, there are more than 5
        reconstructions, or ``fs``/``window_s`` are invalid.
    """
    ref = _array(frank, 3, "frank", "X, Y, Z")
    fs = check_fs(fs)
    n = ref.shape[1]
    if len(reconstructed) > len(_RECON_STYLES):
        raise ValueError(
            f"at most {len(_RECON_STYLES)} reconstructions can be told apart, "
            f"got {len(reconstructed)}"
        )
    recs: dict[str, np.ndarray] = {}
    for name, r in reconstructed.items():
        arr = _array(r, 3, f"reconstructed[{name!r}]", "X, Y, Z")
        if arr.shape != ref.shape:
            raise ValueError(
                f"reconstructed[{name!r}] must have the shape of frank, (3, {n}), "
                f"got {tuple(arr.shape)}"
            )
        recs[str(name)] = arr
    a, b = _time_window(window_s, n, fs)
    time = np.arange(a, b) / fs

    fig, axes = plt.subplots(
        3, 1, figsize=(10.0, 7.0), sharex=True, sharey=True, layout="constrained"
    )
    for i, (ax, axis) in enumerate(zip(axes, "XYZ")):
        ax.axhline(0.0, color="#bbbbbb", lw=0.7, zorder=0.5)
        ax.plot(
            time,
            ref[i, a:b],
            color=BLACK,
            lw=2.2,
            alpha=0.85,
            label="measured (Frank)",
            gid=f"measured:{axis}",
        )
        scores = []
        for (name, rec), style in zip(recs.items(), _RECON_STYLES):
            ax.plot(time, rec[i, a:b], lw=1.4, label=name, gid=f"{name}:{axis}", **style)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.corrcoef(ref[i, a:b], rec[i, a:b])[0, 1]
            scores.append(f"{name}: r = {r:.2f}")
        ax.set_ylabel(f"{axis} (mV)\n+ = {_DIRECTION[axis][1]}")
        ax.grid(axis="x", color="#e5e5e5", lw=0.6)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        if scores:
            ax.set_title(
                "correlation with measured:  " + "   ".join(scores),
                loc="right",
                fontsize=8.5,
                pad=2.0,
            )
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(time[0], time[-1])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside upper right", ncols=len(labels), fontsize=9, frameon=False
    )
    fig.suptitle(
        title or "Measured vs reconstructed vectorcardiogram", fontsize=12, x=0.01, ha="left"
    )
    return fig


# ---------------------------------------------------------------------------------------
# 5. rank-3 dipole projection
# ---------------------------------------------------------------------------------------


def plot_dipole_projection(
    ecg: np.ndarray | torch.Tensor,
    fs: float,
    leads: Sequence[str] = ("I", "II", "V1", "V2", "V5"),
    window_s: tuple[float, float] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Each chosen lead, its single-dipole (rank-3) projection, and the residual.

    The projection is :func:`threekg_lite.vcg.project_to_dipole` (ECG -> VCG by the exact
    inverse Dower matrix -> ECG by Dower): the part of the lead one heart dipole can produce.
    The residual ``original - projection`` is what every 3KG view loses. Rows are leads; the
    left column overlays original (black, solid) and projection (vermilion, dashed), the right
    column shows the residual (blue). All panels share one mV scale, so the residual's size
    can be read against the original. The title gives the share of the signal energy of the
    eight independent leads that the dipole explains over the window shown
    (:func:`~threekg_lite.physiology.vcg_features.dipole_energy_fraction`), each row label
    that of its lead.

    Parameters
    ----------
    ecg
        ``(12, T)`` in mV, standard lead order; remove the baseline first (wander inflates
        the energies).
    fs
        Sampling rate in Hz.
    leads
        Leads to show, any spelling (``"avr"`` finds ``aVR``).
    window_s
        ``(start, stop)`` in seconds; ``None``: everything.
    title
        Text put before the energy fraction in the title.

    Returns
    -------
    matplotlib.figure.Figure
        ``2 * len(leads)`` axes, row by row (original, residual). Lines have gid
        ``"original:<lead>"``, ``"projection:<lead>"`` and ``"residual:<lead>"``.

    Raises
    ------
    ValueError
        If ``ecg`` is not ``(12, T)``, a lead is unknown or repeated, or ``fs``/``window_s``
        are invalid.
    """
    x = _array(ecg, 12, "ecg", "12 standard leads")
    fs = check_fs(fs)
    if isinstance(leads, str):
        leads = (leads,)
    names: list[str] = []
    for lead in leads:
        c = canonical_lead_name(str(lead))
        if c is None:
            raise ValueError(f"unknown lead {lead!r}; choose from {list(LEAD_NAMES)}")
        if c in names:
            raise ValueError(f"lead {c} is listed twice in leads={list(leads)}")
        names.append(c)
    if not names:
        raise ValueError(f"leads is empty; choose from {list(LEAD_NAMES)}")
    a, b = _time_window(window_s, x.shape[1], fs)
    shown = x[:, a:b]
    proj = np.asarray(project_to_dipole(shown))
    residual = shown - proj
    fraction = float(dipole_energy_fraction(shown))
    time = np.arange(a, b) / fs

    rows = len(names)
    fig, axes = plt.subplots(
        rows,
        2,
        figsize=(10.0, 1.0 + 1.35 * rows),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for r, lead in enumerate(names):
        k = LEAD_NAMES.index(lead)
        ax_o, ax_r = axes[r]
        energy = float(np.sum(shown[k] ** 2))
        share = 1.0 - float(np.sum(residual[k] ** 2)) / energy if energy > 0 else float("nan")
        ax_o.plot(time, shown[k], color=BLACK, lw=1.3, label="original", gid=f"original:{lead}")
        ax_o.plot(
            time,
            proj[k],
            color=VERMILION,
            lw=1.3,
            linestyle="--",
            label="dipole projection",
            gid=f"projection:{lead}",
        )
        ax_r.plot(
            time,
            residual[k],
            color=BLUE,
            lw=1.1,
            label="residual = original − projection",
            gid=f"residual:{lead}",
        )
        ax_o.set_ylabel(f"{lead} (mV)\n{100 * share:.0f} % explained", fontsize=9)
        for ax in (ax_o, ax_r):
            ax.axhline(0.0, color="#bbbbbb", lw=0.7, zorder=0.5)
            ax.grid(axis="x", color="#e5e5e5", lw=0.6)
            ax.set_axisbelow(True)
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(labelsize=8.5)
        ax_r.tick_params(labelleft=True)
        ax_r.text(
            0.005,
            0.95,
            lead,
            transform=ax_r.transAxes,
            fontsize=10,
            fontweight="bold",
            va="top",
            ha="left",
            gid=f"label:{lead}",
        )
    axes[0, 0].set_title("original and its dipole (rank-3) projection", fontsize=10.5)
    axes[0, 1].set_title("residual = original − projection (same mV scale)", fontsize=10.5)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    axes[-1, 0].set_xlim(time[0], time[-1])
    h1, l1 = axes[0, 0].get_legend_handles_labels()
    h2, l2 = axes[0, 1].get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    head = f"{title}: " if title else ""
    fig.suptitle(
        f"{head}one dipole explains {100 * fraction:.1f} % of the energy of I, II, V1–V6 "
        f"({(b - a) / fs:g} s shown)",
        fontsize=12,
    )
    return fig
