"""Plot 12-lead ECGs: as a clinical paper printout (:func:`plot_ecg`), and stacked over seconds
with an mV scale bar, for quick looks and overlays (:func:`plot_leads`).

Both take ``(12, T)`` NumPy arrays or torch tensors (any device) in mV and return a pyplot
figure (``plt.close(fig)`` it when drawing many); no matplotlib setting changes. Each trace's
``gid`` names it (``"lead:V1"``, ``"rhythm:II"``, ``"calibration"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from threekg_lite.data.lead_names import canonical_lead_name
from threekg_lite.leads import LEAD_NAMES
from threekg_lite.runtime.checks import check_float, check_int

if TYPE_CHECKING:
    import torch

__all__ = ["plot_ecg", "plot_leads"]

MM_PER_INCH = 25.4

#: Black trace on a light red grid, as on ECG paper: told apart by lightness, not hue, so the
#: trace stays clear to colour-blind readers and in greyscale print.
TRACE_COLOR = TEXT_COLOR = "#000000"
MINOR_GRID_COLOR, MAJOR_GRID_COLOR = "#f6c8c8", "#e58a8a"

# Page margins around the grid in mm (the header above is sized by _header); text in points.
_MARGIN_LEFT_MM, _MARGIN_RIGHT_MM, _MARGIN_BOTTOM_MM = 6.0, 6.0, 13.0
_TITLE_PT, _SCALE_PT, _TITLE_PAD_PT, _LINE_SPACING = 10.0, 7.5, 3.0, 1.25
_LEAD_IN_MM = 2.0  # blank paper before each calibration pulse
#: Lead labels sit under the traces (zorder 2.5): a label never hides a deflection.
_LABEL = dict(fontsize=8, fontweight="bold", color=TEXT_COLOR, ha="left", va="bottom", zorder=2.5)
_LABEL["bbox"] = dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.75)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax``'s figure and ``ax``, or a new constrained-layout figure and its one axes."""
    if ax is None:
        return plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax  # type: ignore[return-value]


def _positive(name: str, value: float, unit: str = "number") -> float:
    """``value`` as a float; a ``ValueError`` naming ``name`` unless it is finite and > 0."""
    try:
        return check_float(name, float(value), positive=True)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive, finite {unit}, got {value!r}") from None


def check_fs(fs: float) -> float:
    """``fs`` as a float, or a ``ValueError`` unless it is a positive, finite rate in Hz."""
    return _positive("fs", fs, "sampling rate in Hz")


def _array(x, rows: int, what: str, axes: str, min_t: int = 1, length=None) -> np.ndarray:
    """``x`` (NumPy, or torch of any device and dtype, bfloat16 too) as float64 NumPy, checked
    to be ``(rows, T)``, ``T >= min_t`` (``== length`` if given); ``axes``: what they hold."""
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    t = "T" if length is None else length
    if a.ndim != 2 or a.shape[0] != rows or a.shape[1] < min_t or length not in (None, a.shape[1]):
        hint = ""
        if a.ndim == 2 and a.shape[1] == rows:
            hint = f"; it looks like ({t}, {rows}): transpose it ({what}.T)"
        elif a.ndim == 3 and a.shape[:2] == (1, rows):
            hint = f"; it has a batch axis: pass one record, {what}[0]"
        raise ValueError(f"{what} must have shape ({rows}, {t}) ({axes}), got {a.shape}{hint}")
    return a


def _validate(ecg, fs: float, lead_names: Sequence[str]):
    names = tuple(lead_names)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"lead_names must name every lead once (LEAD_NAMES), got {list(names)}")
    x = _array(ecg, len(names), "ecg", f"leads {list(names)} x samples, in mV")
    return x, check_fs(fs), names


def _resolve_lead(name: str, names: tuple[str, ...], what: str) -> int:
    for candidate in (name, canonical_lead_name(name)):
        if candidate in names:
            return names.index(candidate)
    raise ValueError(f"{what}={name!r} is not one of the leads {list(names)}")


def _rows(n_leads: int, columns: int) -> int:
    """Rows of the lead grid; every one of the ``columns`` columns must hold a lead."""
    rows = math.ceil(n_leads / check_int("columns", columns))
    if math.ceil(n_leads / rows) != columns:
        ok = [c for c in range(1, n_leads + 1) if math.ceil(n_leads / math.ceil(n_leads / c)) == c]
        raise ValueError(
            f"columns={columns} leaves a column empty with {n_leads} leads; choose one of {ok}"
        )
    return rows


def _time_step(duration_s: float) -> float:
    """Tick spacing (s) for at most 12 ticks: whole large squares at 25 mm/s (0.2 s), so that
    at the standard speed the ticks fall on major grid lines."""
    for step in (0.04, 0.2, 0.4, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0):
        if duration_s / step <= 12:
            return step
    return 600.0 * math.ceil(duration_s / 12 / 600)


def _ceil_to(value: float, step: float) -> float:
    return step * math.ceil(value / step - 1e-9)


def _mm_grid(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """1-mm minor and 5-mm major lines as two LineCollections (data units are mm)."""
    (x0, x1), (y0, y1) = xlim, ylim
    xs = np.arange(math.ceil(x0 - 1e-9), math.floor(x1 + 1e-9) + 1)  # whole mm
    ys = np.arange(math.ceil(y0 - 1e-9), math.floor(y1 + 1e-9) + 1)
    for kind, major, lw, zorder in (("minor", False, 0.3, 0.5), ("major", True, 0.7, 0.6)):
        segments = [((x, y0), (x, y1)) for x in xs[(xs % 5 == 0) == major]]
        segments += [((x0, y), (x1, y)) for y in ys[(ys % 5 == 0) == major]]
        segments = np.array(segments, dtype=float).reshape(-1, 2, 2)
        color = MAJOR_GRID_COLOR if major else MINOR_GRID_COLOR
        style = dict(colors=color, linewidths=lw, zorder=zorder, gid=f"grid:{kind}")
        ax.add_collection(LineCollection(segments, **style), autolim=False)


def _layout(n_rows: int, duration: float, paper_speed: float, gain: float, row_height_mv):
    """``(xlim, ylim, row pitch, row baselines)`` of the paper, in mm."""
    x_min = -_ceil_to(_LEAD_IN_MM + 0.2 * paper_speed + 3.0, 5.0)  # calibration pulse
    xlim = (x_min, max(_ceil_to(duration * paper_speed, 5.0), 5.0))
    pitch = 5.0 * max(1, round(row_height_mv * gain / 5.0))
    y_max = n_rows * pitch
    # Baseline on a major line at (or just below) mid-row: more room above, where QRS is.
    from_bottom = 5.0 * math.floor(pitch / 10.0) if pitch >= 10 else pitch / 2.0
    baselines = [y_max - (r + 1) * pitch + from_bottom for r in range(n_rows)]
    return xlim, (0.0, y_max), pitch, baselines


def _paper_axes(ax: Axes | None, xlim, ylim, top_mm: float, grid: bool):
    """A new figure sized to the paper in mm (or ``ax``'s), equal-aspect axes, the grid."""
    width, height = xlim[1] - xlim[0], ylim[1]
    if ax is None:
        w_mm = _MARGIN_LEFT_MM + width + _MARGIN_RIGHT_MM
        h_mm = _MARGIN_BOTTOM_MM + height + top_mm
        fig = plt.figure(figsize=(w_mm / MM_PER_INCH, h_mm / MM_PER_INCH))
        box = (_MARGIN_LEFT_MM / w_mm, _MARGIN_BOTTOM_MM / h_mm, width / w_mm, height / h_mm)
        ax = fig.add_axes(box)
    ax.set(xlim=xlim, ylim=ylim, facecolor="white")
    ax.set_aspect("equal", adjustable="box", anchor="C")
    if grid:
        _mm_grid(ax, xlim, ylim)
    return ax.figure, ax


def _lead_panel(ax: Axes, t_mm, y_mm, base: float, x0: float, name: str, kind: str, style):
    """One trace (``kind`` ``"lead"`` or ``"rhythm"``) about ``base``, its name at ``x0``."""
    label = name if kind == "lead" else f"{name} (rhythm)"
    ax.plot(t_mm, base + y_mm, label=label, gid=f"{kind}:{name}", **style["trace"])
    ax.text(x0 + 1.0, base + style["label_dy"], name, **_LABEL)


def _calibration(ax: Axes, baselines, x_min: float, paper_speed: float, gain: float, trace):
    """A 1-mV, 0.2-s pulse at the start of every row, ending at t = 0."""
    p0, w = x_min + _LEAD_IN_MM, 0.2 * paper_speed
    cal_x = np.array([x_min, p0, p0, p0 + w, p0 + w, 0.0])
    cal_y = np.array([0.0, 0.0, gain, gain, 0.0, 0.0])
    style = dict(trace, linewidth=trace["linewidth"] + 0.2, solid_joinstyle="miter")
    for base in baselines:
        ax.plot(cal_x, base + cal_y, gid="calibration", label="_calibration", **style)


def _header(title: str | None, paper_speed, gain, fs, duration, width_mm: float):
    """``((scale_lines, one_line), height_mm)``: title (left) and scale text (right) above the
    grid, or the scale text under the title, wrapped at its ``|`` separators, if they do not fit
    side by side (text widths estimated at 0.5 em per character: generous for DejaVu Sans)."""
    square_s, square_mv = 5.0 / paper_speed, 5.0 / gain
    parts = [
        f"{paper_speed:g} mm/s, {gain:g} mm/mV",
        f"large square {square_s:g} s x {square_mv:g} mV, "
        f"small square {square_s / 5:g} s x {square_mv / 5:g} mV",
        f"{fs:g} Hz, {duration:g} s",
    ]
    pt_mm = MM_PER_INCH / 72.0
    char_title, char_scale = 0.5 * _TITLE_PT * pt_mm, 0.5 * _SCALE_PT * pt_mm
    sep = "  |  "
    title_w = len(title) * char_title if title else 0.0
    lines = [sep.join(parts)]
    one_line = title_w + len(lines[0]) * char_scale + 8.0 <= width_mm
    if not one_line:
        lines = []
        for part in parts:
            if lines and len(lines[-1] + sep + part) * char_scale <= width_mm:
                lines[-1] += sep + part
            else:
                lines.append(part)
    line_mm = _LINE_SPACING * pt_mm
    title_mm = _TITLE_PT * line_mm if title else 0.0
    scale_mm = len(lines) * _SCALE_PT * line_mm
    text_mm = max(title_mm, scale_mm) if one_line else scale_mm + title_mm
    return (lines, one_line), _TITLE_PAD_PT * pt_mm + text_mm + 2.0


def _time_axis_and_header(ax, duration, paper_speed, header, title, grid: bool) -> None:
    step = _time_step(duration)
    ticks_s = np.arange(0.0, duration + 1e-9, step)
    ax.set_xticks(ticks_s * paper_speed, [f"{v:g}" for v in np.round(ticks_s, 6)])
    ax.tick_params(axis="x", labelsize=8, colors=TEXT_COLOR, length=3, direction="out")
    ax.set_xlabel("Time (s)", fontsize=8, color=TEXT_COLOR, labelpad=2)
    ax.set_yticks([])
    ax.spines[:].set_color(MAJOR_GRID_COLOR if grid else "#777777")
    ax.spines[:].set_linewidth(0.7)
    lines, one_line = header
    where = dict(xy=(1.0 if one_line else 0.0, 1.0), ha="right" if one_line else "left")
    text = dict(fontsize=_SCALE_PT, color=TEXT_COLOR, gid="scale", annotation_clip=False)
    offset = dict(xytext=(0.0, _TITLE_PAD_PT), textcoords="offset points", va="bottom")
    ax.annotate("\n".join(lines), xycoords="axes fraction", **where, **offset, **text)
    if title:
        pad = _TITLE_PAD_PT + (0.0 if one_line else len(lines) * _SCALE_PT * _LINE_SPACING)
        ax.set_title(title, loc="left", fontsize=_TITLE_PT, color=TEXT_COLOR, pad=pad)


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
    ax: Axes | None = None,
) -> Figure:
    """Plot an ``(L, T)`` ECG (mV, ``L == len(lead_names)``) as a paper printout, true to scale.

    Leads fill ``columns`` columns top to bottom (3 x 4 for 12 leads); column ``k`` shows the
    ``k``-th of ``columns`` equal time windows, as a printout does: for 10 s, I/II/III show
    0-2.5 s, aVR/aVL/aVF 2.5-5 s, V1-V3 5-7.5 s, V4-V6 7.5-10 s. Short bars separate the
    columns; ``rhythm_lead`` (``"ii"`` finds ``"II"``; ``None``: none) runs the whole record
    along the bottom; every row starts with a 1-mV, 0.2-s calibration pulse.

    Data coordinates are millimetres of paper: ``t`` s at ``x = t * paper_speed`` (mm/s),
    ``v`` mV ``v * gain`` (mm/mV) above the row's baseline, on a major grid line; the signal is
    drawn as given (no filtering): slice it to print part of it. ``columns`` must leave no column
    empty (for 12 leads: 1, 2, 3, 4, 6 or 12). ``row_height_mv`` is
    rounded to whole 5-mm squares; large deflections may cross into the next row, as on paper.
    A new figure is the grid's size in mm plus margins, true to scale at 100 % when saved
    without ``bbox_inches="tight"`` (any dpi); ``ax`` is not resized: only its aspect is true.

    >>> fig = plot_ecg(rec.signals[0], rec.fs, title=rec.record_ids[0])  # doctest: +SKIP
    """
    x, fs, names = _validate(ecg, fs, lead_names)
    paper_speed = _positive("paper_speed", paper_speed)
    gain = _positive("gain", gain)
    row_height_mv = _positive("row_height_mv", row_height_mv)
    n_leads, n_samples = x.shape
    rows, columns = _rows(n_leads, columns), int(columns)
    rhythm = None if rhythm_lead is None else _resolve_lead(rhythm_lead, names, "rhythm_lead")

    duration = n_samples / fs
    n_rows = rows + (rhythm is not None)
    xlim, ylim, pitch, baselines = _layout(n_rows, duration, paper_speed, gain, row_height_mv)
    header, top_mm = _header(title, paper_speed, gain, fs, duration, xlim[1] - xlim[0])
    fig, ax = _paper_axes(ax, xlim, ylim, top_mm, grid)

    t_mm = np.arange(n_samples, dtype=np.float64) / fs * paper_speed
    bounds = np.round(np.linspace(0, n_samples, columns + 1)).astype(int)
    trace = dict(color=TRACE_COLOR, linewidth=0.8, zorder=3, solid_joinstyle="round")
    style = dict(trace=trace, label_dy=min(0.5 * pitch, 7.0))
    separators = []
    for lead in range(n_leads):
        col, row = divmod(lead, rows)
        a, b, base = bounds[col], bounds[col + 1], baselines[row]
        x0 = a / fs * paper_speed
        _lead_panel(ax, t_mm[a:b], gain * x[lead, a:b], base, x0, names[lead], "lead", style)
        if col > 0:
            separators.append(((x0, base - 2.5), (x0, base + 2.5)))
    if separators:
        bars = dict(colors=TRACE_COLOR, linewidths=1.2, zorder=3.5, gid="separators")
        ax.add_collection(LineCollection(separators, **bars), autolim=False)
    if rhythm is not None:
        _lead_panel(ax, t_mm, gain * x[rhythm], baselines[-1], 0.0, names[rhythm], "rhythm", style)

    _calibration(ax, baselines, xlim[0], paper_speed, gain, trace)
    _time_axis_and_header(ax, duration, paper_speed, header, title, grid)
    return fig  # type: ignore[return-value]


def _nice_floor(value: float) -> float:
    """Largest of 1, 2, 5 x 10^k not above ``value`` (> 0)."""
    exp = math.floor(math.log10(value))
    fits = (m * 10.0**exp for m in (5.0, 2.0, 1.0) if m * 10.0**exp <= value * (1 + 1e-9))
    return next(fits, 10.0**exp)


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
    label: str | None = None,
) -> Figure:
    """Plot the leads of an ``(L, T)`` ECG (mV) stacked over time (s), with an mV scale bar.

    Call it again with ``ax=fig.axes[0]`` and another ``color``/``label`` to overlay a second
    version (e.g. an augmented view): ``offset_mv``, the spacing of the leads, defaults to that
    of an earlier call on ``ax``, so the leads line up, else to a multiple of 0.5 mV above the
    largest robust (0.5-99.5 %) peak-to-peak amplitude; ``label`` marks the first lead only.
    """
    x, fs, names = _validate(ecg, fs, lead_names)
    n_leads, n_samples = x.shape
    if offset_mv is None and ax is not None:  # the spacing of the leads already drawn there
        offset_mv = getattr(ax, "_threekg_offset_mv", None)
    if offset_mv is None:
        finite = [row[np.isfinite(row)] for row in x]  # robust peak-to-peak, NaN/inf ignored
        spreads = [float(np.ptp(np.percentile(f, [0.5, 99.5]))) for f in finite if f.size]
        offset_mv = max(0.5, 0.5 * math.ceil(max(spreads, default=0.0) / 0.5 - 1e-9))
    offset_mv = _positive("offset_mv", offset_mv)

    fig, ax = _axes(ax, (10.0, 1.0 + 0.55 * n_leads))
    ax._threekg_offset_mv = offset_mv  # type: ignore[attr-defined]
    t = np.arange(n_samples, dtype=np.float64) / fs
    offsets = -offset_mv * np.arange(n_leads)
    style = dict(color=color, linewidth=linewidth)
    for i in range(n_leads):
        legend = label if (label and i == 0) else "_nolegend_"
        ax.plot(t, offsets[i] + x[i], gid=f"lead:{names[i]}", label=legend, **style)
    if not any(a.get_gid() == "scalebar" for a in ax.get_children()):  # the first call on ax
        ax.set_yticks(offsets, names)
        ax.tick_params(axis="y", length=0, labelsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("Time (s)", fontsize=9)
        ax.set_xlim(0.0, max(n_samples / fs, 1.0 / fs) * 1.07)
        ax.set_ylim(offsets[-1] - 0.75 * offset_mv, 0.75 * offset_mv)
        ax.grid(axis="x", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        ax.spines[["top", "right", "left"]].set_visible(False)
        bar = _nice_floor(min(1.0, offset_mv))
        bx, y0 = n_samples / fs * 1.02, offsets[-1] - 0.5 * bar
        ax.plot([bx, bx], [y0, y0 + bar], color="black", linewidth=2.0, gid="scalebar")
        ax.text(bx, y0 + 0.5 * bar, f" {bar:g} mV", fontsize=8, va="center", ha="left")
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return fig  # type: ignore[return-value]
