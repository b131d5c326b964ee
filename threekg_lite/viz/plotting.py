"""Plot 12-lead ECGs: as a clinical paper printout, and as a quick stacked view.

:func:`plot_ecg` draws a record the way clinicians read it on ECG paper: a millimetre grid
(1 mm minor, 5 mm major squares), 25 mm/s and 10 mm/mV by default (so one large square is
0.2 s by 0.5 mV), the standard 3 x 4 layout in which each column shows its own quarter of the
record, a full-length rhythm strip, and a 1-mV calibration pulse at the start of every row.
The figure is sized in inches from the millimetre dimensions, so that a saved figure (without
``bbox_inches="tight"``) viewed at 100 % has the true paper scale.

:func:`plot_leads` stacks the leads on a plain time axis in seconds with an mV scale bar; it is
meant for quick looks and for overlaying two versions of a record (original vs augmented).

Both accept ``(12, T)`` NumPy arrays or torch tensors (on any device) in mV, and return the
:class:`matplotlib.figure.Figure`. Figures are made with :mod:`matplotlib.pyplot`, so they
show in notebooks and with ``plt.show()``; close them with ``plt.close(fig)`` when drawing
many. Importing this module changes no matplotlib setting.

Every trace is a :class:`~matplotlib.lines.Line2D` whose ``gid`` names it (``"lead:V1"``,
``"rhythm:II"``, ``"calibration"``), so tests and notebooks can find a lead's line.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from threekg_lite.data.lead_names import canonical_lead_name
from threekg_lite.leads import LEAD_NAMES

if TYPE_CHECKING:
    import torch

__all__ = ["plot_ecg", "plot_leads"]

MM_PER_INCH = 25.4

#: Default colours. The trace is black and the grid a light red, as on ECG paper: the trace
#: is told from the grid by lightness, not by hue, so it stays clear to colour-blind readers
#: and in greyscale print.
TRACE_COLOR = "#000000"
MINOR_GRID_COLOR = "#f6c8c8"
MAJOR_GRID_COLOR = "#e58a8a"
TEXT_COLOR = "#000000"

# Page margins around the grid, in mm (room for the time ticks and axis label below; the
# header text above is sized by _header).
_MARGIN_LEFT_MM = 6.0
_MARGIN_RIGHT_MM = 6.0
_MARGIN_BOTTOM_MM = 13.0
# Header text above the grid: sizes in points.
_TITLE_PT = 10.0
_SCALE_PT = 7.5
_TITLE_PAD_PT = 3.0
_LINE_SPACING = 1.25


def _as_array(ecg: np.ndarray | torch.Tensor) -> np.ndarray:
    """``ecg`` as a float64 NumPy array (torch tensors are detached and moved to the CPU)."""
    torch = sys.modules.get("torch")  # a tensor can only exist if torch is imported already
    if torch is not None and isinstance(ecg, torch.Tensor):
        t = ecg.detach().cpu()
        if t.dtype != torch.float64:
            t = t.to(torch.float32)  # bfloat16/float16/int have no direct NumPy view
        return np.asarray(t.numpy(), dtype=np.float64)
    return np.asarray(ecg, dtype=np.float64)


def _validate(
    ecg: np.ndarray | torch.Tensor, fs: float, lead_names: Sequence[str]
) -> tuple[np.ndarray, float, tuple[str, ...]]:
    names = tuple(lead_names)
    n_leads = len(names)
    if n_leads == 0:
        raise ValueError("lead_names is empty; expected one name per lead, e.g. LEAD_NAMES")
    if len(set(names)) != n_leads:
        raise ValueError(f"lead_names has duplicates: {list(names)}")
    x = _as_array(ecg)
    if x.ndim != 2 or x.shape[0] != n_leads:
        raise ValueError(
            f"ecg must have shape ({n_leads}, T) (leads {list(names)} x samples, in mV), "
            f"got shape {tuple(x.shape)}"
            + (
                "; transpose a (T, leads) array with ecg.T"
                if x.ndim == 2 and x.shape[1] == n_leads
                else ""
            )
        )
    if x.shape[1] < 1:
        raise ValueError(f"ecg must have shape ({n_leads}, T) with T >= 1, got {tuple(x.shape)}")
    return x, check_fs(fs), names


def check_fs(fs: float) -> float:
    """``fs`` as a float, or a ``ValueError`` unless it is a positive, finite rate in Hz."""
    try:
        value = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"fs must be a positive number of Hz, got {fs!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"fs must be a positive, finite sampling rate in Hz, got {fs!r}")
    return value


def _positive(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive, finite number, got {value!r}")
    return v


def _resolve_lead(name: str, names: tuple[str, ...], what: str) -> int:
    if name in names:
        return names.index(name)
    canonical = canonical_lead_name(name)
    if canonical is not None and canonical in names:
        return names.index(canonical)
    raise ValueError(f"{what}={name!r} is not one of the leads {list(names)}")


def _time_step(duration_s: float) -> float:
    """A tick spacing in seconds giving at most 12 ticks over ``duration_s``.

    The candidates are whole numbers of large squares at 25 mm/s (0.2 s), so that at the
    standard speed the ticks fall on major grid lines.
    """
    for step in (0.04, 0.2, 0.4, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0):
        if duration_s / step <= 12:
            return step
    return 600.0 * math.ceil(duration_s / 12 / 600)


def _ceil_to(value: float, step: float) -> float:
    return step * math.ceil(value / step - 1e-9)


def _mm_grid(
    ax: Axes,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    colors: tuple[str, str],
) -> None:
    """1-mm minor and 5-mm major grid lines as two LineCollections (data units are mm)."""
    x0, x1 = xlim
    y0, y1 = ylim
    xs = np.arange(math.ceil(x0 - 1e-9), math.floor(x1 + 1e-9) + 1, dtype=float)
    ys = np.arange(math.ceil(y0 - 1e-9), math.floor(y1 + 1e-9) + 1, dtype=float)
    x_major = np.isclose(np.mod(xs, 5.0), 0.0) | np.isclose(np.mod(xs, 5.0), 5.0)
    y_major = np.isclose(np.mod(ys, 5.0), 0.0) | np.isclose(np.mod(ys, 5.0), 5.0)

    def segments(xv: np.ndarray, yv: np.ndarray) -> np.ndarray:
        vertical = [((x, y0), (x, y1)) for x in xv]
        horizontal = [((x0, y), (x1, y)) for y in yv]
        return np.array(vertical + horizontal, dtype=float).reshape(-1, 2, 2)

    minor = LineCollection(
        segments(xs[~x_major], ys[~y_major]), colors=colors[0], linewidths=0.3, zorder=0.5
    )
    major = LineCollection(
        segments(xs[x_major], ys[y_major]), colors=colors[1], linewidths=0.7, zorder=0.6
    )
    minor.set_gid("grid:minor")
    major.set_gid("grid:major")
    ax.add_collection(minor, autolim=False)
    ax.add_collection(major, autolim=False)


def plot_ecg(
    ecg: np.ndarray | torch.Tensor,
    fs: float,
    *,
    lead_names: Sequence[str] = LEAD_NAMES,
    title: str | None = None,
    rhythm_lead: str | None = "II",
    columns: int = 4,
    paper_speed: float = 25.0,
    gain: float = 10.0,
    row_height_mv: float = 3.0,
    grid: bool = True,
    trace_color: str = TRACE_COLOR,
    grid_colors: tuple[str, str] = (MINOR_GRID_COLOR, MAJOR_GRID_COLOR),
    linewidth: float = 0.8,
    dpi: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Plot a 12-lead ECG as a clinical paper printout, at true physical scale.

    The leads are laid out in ``columns`` columns filled top to bottom in the given lead order
    (the standard 3 x 4 layout for 12 leads and ``columns=4``). The record's duration is split
    into ``columns`` equal time windows and column ``k`` shows window ``k``, as a printout
    does: for a 10-s record, I/II/III show 0-2.5 s, aVR/aVL/aVF 2.5-5 s, V1-V3 5-7.5 s and
    V4-V6 7.5-10 s. Each column segment starts with its lead's label, and a short vertical bar
    separates the columns. Below, ``rhythm_lead`` is drawn over the whole record. Every row
    starts with a 1-mV calibration pulse, 0.2 s wide.

    Data coordinates are millimetres of paper: time ``t`` s is at ``x = t * paper_speed`` and
    ``v`` mV is drawn ``v * gain`` mm above the row's baseline. Baselines lie on major (5 mm)
    grid lines. The signal is drawn as given: no filtering or baseline removal.

    Parameters
    ----------
    ecg
        ``(L, T)`` in mV, ``L == len(lead_names)`` (12 for the default), any ``T >= 1``.
        NumPy array or torch tensor on any device. Slice a long record (for example
        ``ecg[:, : int(10 * fs)]``) to print only its first 10 s.
    fs
        Sampling rate in Hz (> 0).
    lead_names
        Name of each row of ``ecg``, in order; defaults to
        :data:`threekg_lite.leads.LEAD_NAMES`.
    title
        Written at the top left.
    rhythm_lead
        Lead drawn over the full duration as an extra bottom row; ``None`` for none.
        Matched exactly, or by its standard spelling (``"ii"`` finds ``"II"``).
    columns
        Number of columns. Leads fill them top to bottom, ``ceil(L / columns)`` rows each,
        and every column must hold at least one lead: for 12 leads 1 (12 rows, each showing
        the whole record), 2 (6 x 2), 3, 4 (3 x 4, standard), 6 or 12.
    paper_speed
        mm per second (25 standard; 50 for a stretched view).
    gain
        mm per mV (10 standard).
    row_height_mv
        Height of each row in mV; rounded to whole 5-mm squares. Large deflections may
        cross into the neighbouring row, as on paper.
    grid
        Draw the millimetre grid.
    trace_color
        Colour of the traces and calibration pulses; keep it dark.
    grid_colors
        ``(minor, major)`` grid line colours.
    linewidth
        Trace line width in points.
    dpi
        Figure resolution (dots per inch); the default is matplotlib's. Physical size does
        not depend on it.
    ax
        Draw into these axes instead of making a new figure. The figure is then not resized,
        so the physical scale is not guaranteed; 1 mm in time still equals 1 mm in amplitude.

    Returns
    -------
    matplotlib.figure.Figure
        The figure. With a new figure its size is the grid's size in mm plus margins,
        converted to inches, so a 10-s record at 25 mm/s has a 250-mm-wide trace area.

    Raises
    ------
    ValueError
        If ``ecg`` is not ``(len(lead_names), T)``, ``fs`` is not positive, ``rhythm_lead`` is
        not among ``lead_names``, or a layout parameter is out of range.

    Examples
    --------
    >>> rec = records.subset([0])  # doctest: +SKIP
    >>> fig = plot_ecg(rec.signals[0], rec.fs, title=rec.record_ids[0])  # doctest: +SKIP
    >>> fig.savefig("ecg.png", dpi=200)  # doctest: +SKIP
    """
    x, fs, names = _validate(ecg, fs, lead_names)
    paper_speed = _positive("paper_speed", paper_speed)
    gain = _positive("gain", gain)
    row_height_mv = _positive("row_height_mv", row_height_mv)
    linewidth = _positive("linewidth", linewidth)
    n_leads, n_samples = x.shape
    if isinstance(columns, bool) or not isinstance(columns, (int, np.integer)):
        raise ValueError(f"columns must be an int, got {columns!r}")
    columns = int(columns)
    if not 1 <= columns <= n_leads:
        raise ValueError(f"columns must be between 1 and {n_leads} (the lead count), got {columns}")
    rows = math.ceil(n_leads / columns)
    if math.ceil(n_leads / rows) != columns:
        valid = [
            c for c in range(1, n_leads + 1) if math.ceil(n_leads / math.ceil(n_leads / c)) == c
        ]
        raise ValueError(
            f"columns={columns} leaves a column empty with {n_leads} leads in "
            f"{rows} rows; choose one of {valid}"
        )
    rhythm_index = None if rhythm_lead is None else _resolve_lead(rhythm_lead, names, "rhythm_lead")

    # ---- geometry, in mm of paper --------------------------------------------------------
    duration = n_samples / fs
    trace_w = duration * paper_speed
    pulse_w = 0.2 * paper_speed  # calibration pulse: 0.2 s wide, 1 mV high
    lead_in = 2.0
    x_min = -_ceil_to(lead_in + pulse_w + 3.0, 5.0)
    x_max = max(_ceil_to(trace_w, 5.0), 5.0)
    pitch = 5.0 * max(1, round(row_height_mv * gain / 5.0))
    n_rows = rows + (rhythm_index is not None)
    y_max = n_rows * pitch
    # Baseline on a major line at (or just below) mid-row: more room above, where QRS is.
    baseline_from_bottom = 5.0 * math.floor(pitch / 10.0) if pitch >= 10 else pitch / 2.0
    baselines = [y_max - (r + 1) * pitch + baseline_from_bottom for r in range(n_rows)]
    xlim = (x_min, x_max)
    ylim = (0.0, y_max)
    square_s = 5.0 / paper_speed
    square_mv = 5.0 / gain
    header, top_mm = _header(
        title,
        [
            f"{paper_speed:g} mm/s, {gain:g} mm/mV",
            f"large square {square_s:g} s x {square_mv:g} mV, "
            f"small square {square_s / 5:g} s x {square_mv / 5:g} mV",
            f"{fs:g} Hz, {duration:g} s",
        ],
        x_max - x_min,
    )

    # ---- figure --------------------------------------------------------------------------
    if ax is None:
        width_mm = _MARGIN_LEFT_MM + (x_max - x_min) + _MARGIN_RIGHT_MM
        height_mm = _MARGIN_BOTTOM_MM + y_max + top_mm
        fig = plt.figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), dpi=dpi)
        ax = fig.add_axes(
            (
                _MARGIN_LEFT_MM / width_mm,
                _MARGIN_BOTTOM_MM / height_mm,
                (x_max - x_min) / width_mm,
                y_max / height_mm,
            )
        )
    else:
        fig = ax.figure  # type: ignore[assignment]
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box", anchor="C")
    ax.set_facecolor("white")
    if grid:
        _mm_grid(ax, xlim, ylim, grid_colors)

    # ---- traces --------------------------------------------------------------------------
    t_mm = np.arange(n_samples, dtype=np.float64) / fs * paper_speed
    bounds = np.round(np.linspace(0, n_samples, columns + 1)).astype(int)
    label_kw = dict(
        fontsize=8,
        fontweight="bold",
        color=TEXT_COLOR,
        ha="left",
        va="bottom",
        zorder=2.5,  # under the traces: a label never hides a deflection
        bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.75),
    )
    label_dy = min(0.5 * pitch, 7.0)  # label this far above the baseline, mm
    separators = []
    for lead in range(n_leads):
        col, row = divmod(lead, rows)
        base = baselines[row]
        a, b = bounds[col], bounds[col + 1]
        ax.plot(
            t_mm[a:b],
            base + gain * x[lead, a:b],
            color=trace_color,
            linewidth=linewidth,
            label=names[lead],
            gid=f"lead:{names[lead]}",
            zorder=3,
            solid_joinstyle="round",
        )
        seg_x = t_mm[a] if a < n_samples else trace_w
        ax.text(seg_x + 1.0, base + label_dy, names[lead], **label_kw)
        if col > 0:
            sx = bounds[col] / fs * paper_speed
            separators.append(((sx, base - 2.5), (sx, base + 2.5)))
    if separators:
        sep = LineCollection(separators, colors=trace_color, linewidths=1.2, zorder=3.5)
        sep.set_gid("separators")
        ax.add_collection(sep, autolim=False)

    if rhythm_index is not None:
        base = baselines[-1]
        name = names[rhythm_index]
        ax.plot(
            t_mm,
            base + gain * x[rhythm_index],
            color=trace_color,
            linewidth=linewidth,
            label=f"{name} (rhythm)",
            gid=f"rhythm:{name}",
            zorder=3,
            solid_joinstyle="round",
        )
        ax.text(1.0, base + label_dy, name, **label_kw)

    # ---- calibration pulses: 1 mV x 0.2 s at the start of every row ----------------------
    p0 = x_min + lead_in
    cal_x = np.array([x_min, p0, p0, p0 + pulse_w, p0 + pulse_w, 0.0])
    cal_shape = np.array([0.0, 0.0, gain, gain, 0.0, 0.0])
    for base in baselines:
        ax.plot(
            cal_x,
            base + cal_shape,
            color=trace_color,
            linewidth=linewidth + 0.2,
            gid="calibration",
            label="_calibration",
            zorder=3,
            solid_joinstyle="miter",
        )

    # ---- axes, ticks and header text ------------------------------------------------------
    step = _time_step(duration)
    ticks_s = np.arange(0.0, duration + 1e-9, step)
    ax.set_xticks(ticks_s * paper_speed, [f"{v:g}" for v in np.round(ticks_s, 6)])
    ax.tick_params(axis="x", labelsize=8, colors=TEXT_COLOR, length=3, direction="out")
    ax.set_xlabel("Time (s)", fontsize=8, color=TEXT_COLOR, labelpad=2)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(grid_colors[1] if grid else "#777777")
        spine.set_linewidth(0.7)
    scale_lines, one_line = header
    ax.annotate(
        "\n".join(scale_lines),
        xy=(1.0 if one_line else 0.0, 1.0),
        xycoords="axes fraction",
        xytext=(0.0, _TITLE_PAD_PT),
        textcoords="offset points",
        ha="right" if one_line else "left",
        va="bottom",
        fontsize=_SCALE_PT,
        color=TEXT_COLOR,
        gid="scale",
        annotation_clip=False,
    )
    if title:
        pad = _TITLE_PAD_PT + (0.0 if one_line else len(scale_lines) * _SCALE_PT * _LINE_SPACING)
        ax.set_title(title, loc="left", fontsize=_TITLE_PT, color=TEXT_COLOR, pad=pad)
    return fig  # type: ignore[return-value]


def _header(
    title: str | None, scale_parts: list[str], width_mm: float
) -> tuple[tuple[list[str], bool], float]:
    """Lay out the title and the scale text above a grid ``width_mm`` wide.

    Returns ``((scale_lines, one_line), height_mm)``: ``one_line`` when the title (left) and
    the scale text (right) fit side by side; otherwise the scale text goes under the title,
    wrapped at its ``|`` separators to fit the width. Text widths are estimated (0.5 em per
    character), which is generous for DejaVu Sans.
    """
    pt_mm = MM_PER_INCH / 72.0
    char_title = 0.5 * _TITLE_PT * pt_mm
    char_scale = 0.5 * _SCALE_PT * pt_mm
    sep = "  |  "
    full = sep.join(scale_parts)
    title_w = len(title) * char_title if title else 0.0
    if title_w + len(full) * char_scale + 8.0 <= width_mm:
        lines, one_line = [full], True
    else:
        lines, one_line = [], False
        for part in scale_parts:
            if lines and len(lines[-1] + sep + part) * char_scale <= width_mm:
                lines[-1] += sep + part
            else:
                lines.append(part)
    line_mm = _LINE_SPACING * pt_mm
    if one_line:
        text_mm = max(_TITLE_PT if title else 0.0, _SCALE_PT) * line_mm
    else:
        text_mm = len(lines) * _SCALE_PT * line_mm + (_TITLE_PT * line_mm if title else 0.0)
    return (lines, one_line), _TITLE_PAD_PT * pt_mm + text_mm + 2.0


def _nice_floor(value: float) -> float:
    """Largest of 1, 2, 5 x 10^k not above ``value`` (``value`` > 0)."""
    exp = math.floor(math.log10(value))
    for m in (5.0, 2.0, 1.0):
        if m * 10.0**exp <= value * (1 + 1e-9):
            return m * 10.0**exp
    return 10.0**exp


def plot_leads(
    ecg: np.ndarray | torch.Tensor,
    fs: float,
    *,
    lead_names: Sequence[str] = LEAD_NAMES,
    ax: Axes | None = None,
    offset_mv: float | None = None,
    title: str | None = None,
    color: str = TRACE_COLOR,
    linewidth: float = 0.7,
    alpha: float = 1.0,
    label: str | None = None,
) -> Figure:
    """Plot the leads stacked on a plain time axis (seconds), with an mV scale bar.

    For quick looks and comparisons: call it again with ``ax=fig.axes[0]`` and another
    ``color``/``label`` to overlay a second version of the record (e.g. an augmented view);
    the second call reuses the first call's lead spacing so that the leads line up.

    Parameters
    ----------
    ecg
        ``(L, T)`` in mV, ``L == len(lead_names)``; NumPy array or torch tensor (any device).
    fs
        Sampling rate in Hz (> 0).
    lead_names
        Name of each row of ``ecg``; they label the y axis, first lead at the top.
    ax
        Axes to draw into; a new figure is made when ``None``.
    offset_mv
        Vertical distance between consecutive leads, in mV. ``None``: the spacing of an earlier
        call on the same ``ax``, or else a round number from the largest robust
        peak-to-peak amplitude of the leads (at least 0.5 mV).
    title
        Axes title.
    color, linewidth, alpha
        Line style of the traces.
    label
        Legend label for this record (attached to its first lead only); call
        ``ax.legend()`` to show it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.

    Raises
    ------
    ValueError
        If ``ecg`` is not ``(len(lead_names), T)``, ``fs`` is not positive, or
        ``offset_mv`` is not positive.
    """
    x, fs, names = _validate(ecg, fs, lead_names)
    n_leads, n_samples = x.shape
    if offset_mv is None and ax is not None:
        offset_mv = getattr(ax, "_threekg_offset_mv", None)
    if offset_mv is None:
        spreads = []  # robust peak-to-peak of each lead, ignoring NaN/inf samples
        for row in x:
            finite = row[np.isfinite(row)]
            if finite.size:
                spreads.append(float(np.percentile(finite, 99.5) - np.percentile(finite, 0.5)))
        offset_mv = max(0.5, 0.5 * math.ceil(max(spreads, default=0.0) / 0.5 - 1e-9))
    offset_mv = _positive("offset_mv", offset_mv)

    new = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(10.0, 1.0 + 0.55 * n_leads), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]
    ax._threekg_offset_mv = offset_mv  # type: ignore[attr-defined]

    t = np.arange(n_samples, dtype=np.float64) / fs
    offsets = -offset_mv * np.arange(n_leads)
    for i in range(n_leads):
        ax.plot(
            t,
            offsets[i] + x[i],
            color=color,
            linewidth=linewidth,
            alpha=alpha,
            gid=f"lead:{names[i]}",
            label=label if (label and i == 0) else "_nolegend_",
        )

    if new or not any(a.get_gid() == "scalebar" for a in ax.get_children()):
        ax.set_yticks(offsets, names)
        ax.tick_params(axis="y", length=0, labelsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("Time (s)", fontsize=9)
        ax.set_xlim(0.0, max(n_samples / fs, 1.0 / fs) * 1.07)
        ax.set_ylim(offsets[-1] - 0.75 * offset_mv, 0.75 * offset_mv)
        ax.grid(axis="x", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        bar = _nice_floor(min(1.0, offset_mv))
        bx = n_samples / fs * 1.02
        y0 = offsets[-1] - 0.5 * bar
        ax.plot([bx, bx], [y0, y0 + bar], color="black", linewidth=2.0, gid="scalebar")
        ax.text(bx, y0 + 0.5 * bar, f" {bar:g} mV", fontsize=8, va="center", ha="left")
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return fig  # type: ignore[return-value]
