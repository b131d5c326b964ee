"""Tests of threekg_lite.viz.plotting: physical scale, layout, trace data, validation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # tests only: the package itself never selects a backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from threekg_lite.leads import LEAD_NAMES  # noqa: E402
from threekg_lite.viz.plotting import plot_ecg, plot_leads  # noqa: E402

MM_PER_INCH = 25.4
PTBXL_RECORD = "ptb-xl/records500/00000/00001_hr"  # under the data directory


def synthetic_ecg(seconds: float = 10.0, fs: float = 500.0, seed: int = 0) -> np.ndarray:
    """(12, T) in mV: a distinct smooth waveform per lead, plus a little noise."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    lead = np.arange(12)[:, None]
    beats = np.exp(-(((t[None, :] % 0.8) - 0.3) ** 2) / (2 * 0.01**2))
    return 0.1 * (lead - 5) / 5 + (1 + 0.1 * lead) * beats + 0.02 * rng.standard_normal((12, n))


@pytest.fixture
def close_all():
    yield
    plt.close("all")


def line(fig: Figure, gid: str):
    """The one Line2D of the figure's first axes with this gid."""
    found = [ln for ln in fig.axes[0].lines if ln.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} lines with gid {gid!r}"
    return found[0]


def lines(fig: Figure, gid: str):
    return [ln for ln in fig.axes[0].lines if ln.get_gid() == gid]


def mm_on_figure(fig: Figure, dx_mm: float, dy_mm: float) -> tuple[float, float]:
    """Physical size on the figure (mm at 100 % zoom) of a (dx, dy) step in data units."""
    fig.canvas.draw()
    ax = fig.axes[0]
    (x0, y0), (x1, y1) = ax.transData.transform([(0.0, 0.0), (dx_mm, dy_mm)])
    return (x1 - x0) / fig.dpi * MM_PER_INCH, (y1 - y0) / fig.dpi * MM_PER_INCH


# ---------------------------------------------------------------------------------------
# plot_ecg
# ---------------------------------------------------------------------------------------


def test_returns_figure_and_closes_cleanly():
    fig = plot_ecg(synthetic_ecg(), 500.0, title="synthetic")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    assert plt.fignum_exists(fig.number)
    plt.close(fig)
    assert not plt.fignum_exists(fig.number)


def test_physical_scale_25_mm_per_s_and_10_mm_per_mv(close_all):
    fig = plot_ecg(synthetic_ecg(10.0, 500.0), 500.0)
    ax = fig.axes[0]
    # 10 s at 25 mm/s is 250 mm of trace, drawn as 250 mm on the figure...
    dx, dy = mm_on_figure(fig, 250.0, 10.0)
    assert dx == pytest.approx(250.0, abs=0.3)
    # ... and 1 mV (10 mm) is 10 mm: equal aspect, true size.
    assert dy == pytest.approx(10.0, abs=0.05)
    # The axes box is exactly its data extent in mm, converted to inches.
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    box = ax.get_position()
    w_in, h_in = fig.get_size_inches()
    assert box.width * w_in * MM_PER_INCH == pytest.approx(x1 - x0, abs=1e-6)
    assert box.height * h_in * MM_PER_INCH == pytest.approx(y1 - y0, abs=1e-6)
    assert x0 < 0.0 and x1 == pytest.approx(250.0)  # calibration area left of t = 0
    assert 250.0 < w_in * MM_PER_INCH < 300.0
    assert y1 - y0 == pytest.approx(4 * 30.0)  # 3 lead rows + rhythm, 3 mV each


def test_physical_scale_follows_speed_and_gain(close_all):
    fig = plot_ecg(synthetic_ecg(4.0, 250.0), 250.0, paper_speed=50.0, gain=20.0)
    assert fig.axes[0].get_xlim()[1] == pytest.approx(200.0)  # 4 s x 50 mm/s
    dx, dy = mm_on_figure(fig, 50.0, 20.0)
    assert (dx, dy) == (pytest.approx(50.0, abs=0.1), pytest.approx(20.0, abs=0.1))
    cal = lines(fig, "calibration")[0]
    assert np.ptp(cal.get_ydata()) == pytest.approx(20.0)  # 1 mV at 20 mm/mV


def test_each_column_shows_its_own_time_window(close_all):
    fs, ecg = 500.0, synthetic_ecg(10.0, 500.0)
    fig = plot_ecg(ecg, fs)
    for i, name in enumerate(LEAD_NAMES):
        col = i // 3
        ln = line(fig, f"lead:{name}")
        a, b = col * 1250, (col + 1) * 1250
        np.testing.assert_allclose(ln.get_xdata(), np.arange(a, b) / fs * 25.0)
        # y = baseline + 10 mm/mV * signal, with one constant baseline per row.
        offset = ln.get_ydata() - 10.0 * ecg[i, a:b]
        assert np.ptp(offset) == pytest.approx(0.0, abs=1e-9)
    # Rows: I, aVR, V1, V4 share a baseline; II, aVL, V2, V5 the next one down; etc.
    base = {
        n: (line(fig, f"lead:{n}").get_ydata() - 10 * ecg[i, i // 3 * 1250 : (i // 3 + 1) * 1250])[
            0
        ]
        for i, n in enumerate(LEAD_NAMES)
    }
    for row in range(3):
        assert len({round(base[LEAD_NAMES[row + 3 * c]], 9) for c in range(4)}) == 1
    assert base["I"] > base["II"] > base["III"]


def test_lead_v1_trace_equals_input_samples(close_all):
    fs, ecg = 500.0, synthetic_ecg(10.0, 500.0, seed=3)
    fig = plot_ecg(ecg, fs)
    v1 = line(fig, "lead:V1")
    x, y = v1.get_xdata(), v1.get_ydata()
    assert x[0] == pytest.approx(5.0 * 25.0)  # V1 starts at 5 s = 125 mm
    samples = np.rint(x / 25.0 * fs).astype(int)
    mv = (y - y[0]) / 10.0 + ecg[6, samples[0]]  # offset-corrected, back in mV
    np.testing.assert_allclose(mv, ecg[6, samples], atol=1e-12)


def test_rhythm_strip_spans_full_duration(close_all):
    fs, ecg = 500.0, synthetic_ecg(10.0, 500.0)
    fig = plot_ecg(ecg, fs)
    rhythm = line(fig, "rhythm:II")
    x = rhythm.get_xdata()
    assert len(x) == ecg.shape[1]
    assert x[0] == 0.0 and x[-1] == pytest.approx((ecg.shape[1] - 1) / fs * 25.0)
    assert np.ptp(rhythm.get_ydata() - 10.0 * ecg[1]) == pytest.approx(0.0, abs=1e-9)
    # It is the bottom row, below lead III.
    assert rhythm.get_ydata()[0] - 10 * ecg[1, 0] < line(fig, "lead:III").get_ydata()[0]


def test_rhythm_lead_choice_and_none(close_all):
    ecg = synthetic_ecg(10.0, 500.0)
    fig = plot_ecg(ecg, 500.0, rhythm_lead="v1")  # standard spelling is found
    assert np.ptp(line(fig, "rhythm:V1").get_ydata() - 10.0 * ecg[6]) < 1e-9
    fig = plot_ecg(ecg, 500.0, rhythm_lead=None)
    assert not [ln for ln in fig.axes[0].lines if str(ln.get_gid()).startswith("rhythm:")]
    assert len(lines(fig, "calibration")) == 3
    assert fig.axes[0].get_ylim()[1] == pytest.approx(3 * 30.0)


def test_calibration_pulse_on_every_row(close_all):
    fig = plot_ecg(synthetic_ecg(), 500.0)
    cals = lines(fig, "calibration")
    assert len(cals) == 4
    for cal in cals:
        x, y = cal.get_xdata(), cal.get_ydata()
        assert np.ptp(y) == pytest.approx(10.0)  # 1 mV at 10 mm/mV
        high = x[y == y.max()]
        assert np.ptp(high) == pytest.approx(5.0)  # 0.2 s at 25 mm/s
        assert x.max() <= 0.0  # before the trace starts


def test_grid_is_two_line_collections_at_1_and_5_mm(close_all):
    fig = plot_ecg(synthetic_ecg(), 500.0)
    ax = fig.axes[0]
    grids = {c.get_gid(): c for c in ax.collections if str(c.get_gid()).startswith("grid:")}
    assert set(grids) == {"grid:minor", "grid:major"}
    assert all(isinstance(c, LineCollection) for c in grids.values())

    def vertical_x(c):
        return sorted(s[0, 0] for s in c.get_segments() if s[0, 0] == s[1, 0])

    minor, major = vertical_x(grids["grid:minor"]), vertical_x(grids["grid:major"])
    np.testing.assert_allclose(np.diff(major), 5.0)
    assert 0.0 in major and 250.0 in major
    both = np.array(sorted(minor + major))
    np.testing.assert_allclose(np.diff(both), 1.0)
    assert len(ax.lines) == 12 + 1 + 4  # no per-grid-line artists
    fig = plot_ecg(synthetic_ecg(), 500.0, grid=False)
    assert not [c for c in fig.axes[0].collections if str(c.get_gid()).startswith("grid:")]


def test_labels_scale_text_and_time_axis(close_all):
    fig = plot_ecg(synthetic_ecg(), 500.0, title="patient 1")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    for name in LEAD_NAMES:
        assert name in texts
    scale = [t for t in ax.texts if t.get_gid() == "scale"]
    assert len(scale) == 1
    assert "25 mm/s" in scale[0].get_text() and "10 mm/mV" in scale[0].get_text()
    assert ax.get_title(loc="left") == "patient 1"
    assert ax.get_xlabel() == "Time (s)"
    ticks = ax.get_xticks()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "0" and labels[-1] == "10"
    np.testing.assert_allclose(ticks, np.array([float(s) for s in labels]) * 25.0)
    separators = [c for c in ax.collections if c.get_gid() == "separators"]
    assert len(separators) == 1 and len(separators[0].get_segments()) == 9  # 3 rows x 3


@pytest.mark.parametrize("seconds, fs", [(4.0, 500.0), (4.0, 100.0), (10.0, 100.0), (2.5, 250.0)])
def test_shorter_records_and_other_rates(close_all, seconds, fs):
    ecg = synthetic_ecg(seconds, fs)
    n = ecg.shape[1]
    fig = plot_ecg(ecg, fs)
    assert fig.axes[0].get_xlim()[1] == pytest.approx(np.ceil(seconds * 25 / 5) * 5)
    dx, _ = mm_on_figure(fig, seconds * 25.0, 0.0)
    assert dx == pytest.approx(seconds * 25.0, abs=0.3)
    bounds = np.round(np.linspace(0, n, 5)).astype(int)
    for i, name in enumerate(LEAD_NAMES):
        x = line(fig, f"lead:{name}").get_xdata()
        a, b = bounds[i // 3], bounds[i // 3 + 1]
        np.testing.assert_allclose(x, np.arange(a, b) / fs * 25.0)
    assert len(line(fig, "rhythm:II").get_xdata()) == n


def test_odd_lengths_and_tiny_records(close_all):
    for n in (4999, 7, 3, 1):
        ecg = np.random.default_rng(n).standard_normal((12, n))
        fig = plot_ecg(ecg, 500.0)
        total = sum(len(line(fig, f"lead:{name}").get_xdata()) for name in LEAD_NAMES[::3])
        assert total == n  # the four columns of a row tile the record exactly
        fig.canvas.draw()
        plt.close(fig)


@pytest.mark.parametrize("columns, rows", [(1, 12), (2, 6), (3, 4), (6, 2), (12, 1)])
def test_other_column_counts(close_all, columns, rows):
    fs, ecg = 500.0, synthetic_ecg(10.0, 500.0)
    fig = plot_ecg(ecg, fs, columns=columns)
    bounds = np.round(np.linspace(0, 5000, columns + 1)).astype(int)
    for i, name in enumerate(LEAD_NAMES):
        x = line(fig, f"lead:{name}").get_xdata()
        col = i // rows
        np.testing.assert_allclose(x, np.arange(bounds[col], bounds[col + 1]) / fs * 25.0)
    assert len(lines(fig, "calibration")) == rows + 1
    assert fig.axes[0].get_ylim()[1] == pytest.approx((rows + 1) * 30.0)


def test_torch_tensor_input_matches_numpy(close_all):
    ecg = synthetic_ecg(4.0, 100.0)
    tensor = torch.tensor(ecg, dtype=torch.float64, requires_grad=True)
    fig_t = plot_ecg(tensor, 100.0)
    fig_n = plot_ecg(ecg, 100.0)
    for name in LEAD_NAMES:
        np.testing.assert_allclose(
            line(fig_t, f"lead:{name}").get_ydata(), line(fig_n, f"lead:{name}").get_ydata()
        )
    # float16 / float32 tensors, and plot_leads, too
    plot_ecg(torch.tensor(ecg, dtype=torch.float16), 100.0)
    plot_leads(torch.tensor(ecg, dtype=torch.float32), 100.0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tensor_input(close_all):
    ecg = torch.randn(12, 1000, device="cuda")
    fig = plot_ecg(ecg, 100.0)
    np.testing.assert_allclose(
        np.ptp(line(fig, "lead:I").get_ydata() - 10 * ecg[0, :250].cpu().numpy()), 0.0, atol=1e-5
    )


def test_draw_into_given_axes(close_all):
    fig, ax = plt.subplots(figsize=(8, 4))
    out = plot_ecg(synthetic_ecg(), 500.0, ax=ax)
    assert out is fig
    dx, dy = mm_on_figure(fig, 10.0, 10.0)
    assert dx == pytest.approx(dy, rel=1e-3)  # still 1 mm time == 1 mm amplitude


def test_renders_quickly(close_all):
    plot_ecg(synthetic_ecg(1.0, 100.0), 100.0).canvas.draw()  # warm the font cache
    ecg = synthetic_ecg(10.0, 500.0)
    start = time.perf_counter()
    fig = plot_ecg(ecg, 500.0)
    fig.canvas.draw()
    assert time.perf_counter() - start < 1.0


def test_does_not_change_global_matplotlib_state(close_all):
    before = dict(matplotlib.rcParams)
    plot_ecg(synthetic_ecg(), 500.0)
    plot_leads(synthetic_ecg(), 500.0)
    assert dict(matplotlib.rcParams) == before


def test_import_has_no_side_effects():
    code = (
        "import matplotlib; before = dict(matplotlib.rcParams); "
        "import threekg_lite.viz.plotting; "
        "assert dict(matplotlib.rcParams) == before; "
        "import matplotlib.pyplot as plt; assert plt.get_fignums() == []"
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    repo = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=repo)


def test_missing_samples_leave_gaps(close_all):
    ecg = synthetic_ecg(2.0, 100.0)
    ecg[3, 50:80] = np.nan
    ecg[7, :] = np.nan  # a lead with no data at all
    fig = plot_ecg(ecg, 100.0)
    fig.canvas.draw()
    assert np.isnan(line(fig, "lead:aVR").get_ydata()).sum() == 30
    fig = plot_leads(ecg, 100.0)
    fig.canvas.draw()
    assert np.isnan(line(fig, "lead:V2").get_ydata()).all()


def test_plot_leads_auto_spacing(close_all):
    ecg = synthetic_ecg(2.0, 100.0)  # peak-to-peak up to about 2.1 mV
    fig = plot_leads(ecg, 100.0)
    drawn = line(fig, "lead:I").get_ydata() - line(fig, "lead:II").get_ydata()
    offset = float(np.median(drawn - (ecg[0] - ecg[1])))
    assert offset == pytest.approx(2.5)  # a multiple of 0.5 mV just above the largest spread
    fig = plot_leads(np.zeros((12, 10)), 100.0)  # flat signal: the minimum spacing
    assert line(fig, "lead:II").get_ydata()[0] == pytest.approx(-0.5)


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(5000, 12), (11, 5000), (13, 5000), (5000,), (1, 12, 5000), (12, 0)]
)
def test_bad_shape_raises_with_expected_shape(shape):
    with pytest.raises(ValueError, match=r"\(12, T\)") as info:
        plot_ecg(np.zeros(shape), 500.0)
    assert str(tuple(shape)) in str(info.value)
    with pytest.raises(ValueError, match=r"\(12, T\)"):
        plot_leads(np.zeros(shape), 500.0)
    assert plt.get_fignums() == []  # nothing left half-drawn


def test_transposed_input_gets_a_hint():
    with pytest.raises(ValueError, match="transpose"):
        plot_ecg(np.zeros((5000, 12)), 500.0)


def test_lead_names_must_match_lead_count(close_all):
    with pytest.raises(ValueError, match=r"\(3, T\)"):
        plot_ecg(np.zeros((12, 100)), 100.0, lead_names=["I", "II", "III"])
    fig = plot_ecg(np.zeros((3, 100)), 100.0, lead_names=["I", "II", "III"], columns=1)
    assert len(lines(fig, "calibration")) == 4
    with pytest.raises(ValueError, match="every lead once"):
        plot_ecg(np.zeros((2, 100)), 100.0, lead_names=["I", "I"])


@pytest.mark.parametrize("fs", [0.0, -500.0, float("nan"), float("inf"), "fast"])
def test_bad_fs_raises(fs):
    with pytest.raises(ValueError, match="fs"):
        plot_ecg(np.zeros((12, 100)), fs)
    with pytest.raises(ValueError, match="fs"):
        plot_leads(np.zeros((12, 100)), fs)


def test_unknown_rhythm_lead_raises():
    with pytest.raises(ValueError, match="rhythm_lead='V7'.*'aVR'"):
        plot_ecg(np.zeros((12, 100)), 100.0, rhythm_lead="V7")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"columns": 5}, "choose one of \\[1, 2, 3, 4, 6, 12\\]"),
        ({"columns": 0}, "integer >= 1"),
        ({"columns": 13}, "choose one of \\[1, 2, 3, 4, 6, 12\\]"),
        ({"columns": 2.0}, "int"),
        ({"paper_speed": 0}, "paper_speed"),
        ({"gain": -10}, "gain"),
        ({"row_height_mv": 0}, "row_height_mv"),
    ],
)
def test_bad_layout_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_ecg(np.zeros((12, 100)), 100.0, **kwargs)
    assert plt.get_fignums() == []


# ---------------------------------------------------------------------------------------
# plot_leads
# ---------------------------------------------------------------------------------------


def test_plot_leads_stacks_leads_in_seconds(close_all):
    fs, ecg = 250.0, synthetic_ecg(4.0, 250.0)
    fig = plot_leads(ecg, fs, title="quick look", offset_mv=2.0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    t = np.arange(ecg.shape[1]) / fs
    for i, name in enumerate(LEAD_NAMES):
        ln = line(fig, f"lead:{name}")
        np.testing.assert_allclose(ln.get_xdata(), t)
        np.testing.assert_allclose(ln.get_ydata(), ecg[i] - 2.0 * i)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(LEAD_NAMES)
    assert ax.get_xlabel() == "Time (s)"
    bar = line(fig, "scalebar")
    assert np.ptp(bar.get_ydata()) == pytest.approx(1.0)
    assert "1 mV" in [t.get_text().strip() for t in ax.texts]
    assert ax.get_title(loc="left") == "quick look"


def test_plot_leads_overlay_reuses_spacing(close_all):
    ecg = synthetic_ecg(2.0, 500.0)
    fig = plot_leads(ecg, 500.0, label="original")
    ax = fig.axes[0]
    out = plot_leads(0.5 * ecg, 500.0, ax=ax, color="tab:orange", label="augmented")
    assert out is fig
    v1 = [ln for ln in ax.lines if ln.get_gid() == "lead:V1"]
    assert len(v1) == 2
    offset_a = v1[0].get_ydata() - ecg[6]
    offset_b = v1[1].get_ydata() - 0.5 * ecg[6]
    np.testing.assert_allclose(offset_a, offset_b)
    assert len([ln for ln in ax.lines if ln.get_gid() == "scalebar"]) == 1
    handles, labels = ax.get_legend_handles_labels()
    assert labels == ["original", "augmented"]


def test_plot_leads_small_offset_gets_small_scale_bar(close_all):
    fig = plot_leads(0.05 * synthetic_ecg(2.0, 100.0), 100.0, offset_mv=0.3)
    assert np.ptp(line(fig, "scalebar").get_ydata()) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="offset_mv"):
        plot_leads(synthetic_ecg(2.0, 100.0), 100.0, offset_mv=0.0)


# ---------------------------------------------------------------------------------------
# a real record
# ---------------------------------------------------------------------------------------


def test_real_ptbxl_record_renders(close_all, tmp_path, data_dir):
    """The first PTB-XL record at 500 Hz, from the data directory ($THREEKG_DATA_DIR)."""
    wfdb = pytest.importorskip("wfdb")
    rec = wfdb.rdrecord(str(data_dir / PTBXL_RECORD))
    ecg = rec.p_signal.T
    assert ecg.shape == (12, 5000)
    fig = plot_ecg(ecg, rec.fs, title="PTB-XL 00001_hr")
    out = tmp_path / "ptbxl.png"
    fig.savefig(out, dpi=100)
    assert out.stat().st_size > 50_000
    w_in, _ = fig.get_size_inches()
    assert 250.0 < w_in * MM_PER_INCH < 300.0
