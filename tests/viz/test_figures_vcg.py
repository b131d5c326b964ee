"""Tests of threekg_lite.viz.figures_vcg: the VCG teaching figures draw exactly their inputs."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # tests only: the package itself never selects a backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from threekg_lite.leads import LEAD_NAMES  # noqa: E402
from threekg_lite.physiology.vcg_features import dipole_energy_fraction  # noqa: E402
from threekg_lite.vcg import DOWER, ecg_to_vcg, project_to_dipole  # noqa: E402
from threekg_lite.viz.figures_vcg import (  # noqa: E402
    HEXAXIAL_ANGLES,
    plot_dipole_projection,
    plot_lead_directions,
    plot_limb_leads,
    plot_measured_vs_reconstructed,
    plot_vcg_loops,
)

FS = 500.0


@pytest.fixture(autouse=True)
def close_all():
    yield
    plt.close("all")


def synthetic_vcg(n: int = 400) -> np.ndarray:
    """(3, n): a QRS-like loop (first 50 samples) and a slower T-like loop after it."""
    vcg = np.zeros((3, n))
    s = np.linspace(0.0, 2 * np.pi, 50)
    vcg[:, 0:50] = [1.2 * np.sin(s / 2) ** 2, 0.8 * np.sin(s), -0.5 * np.sin(s) + 0.3 * s / 6]
    s = np.linspace(0.0, 2 * np.pi, 150)
    vcg[:, 100:250] = [0.3 * np.sin(s / 2), 0.2 * (1 - np.cos(s)), -0.1 * np.sin(s)]
    return vcg


def synthetic_ecg(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """(12, T): a dipole ECG (Dower of a smooth VCG) plus non-dipolar noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    beat = np.exp(-(((t % 0.8) - 0.3) ** 2) / (2 * 0.015**2))
    vcg = np.stack([beat, 0.6 * beat * np.cos(6 * t), -0.8 * np.roll(beat, 5)])
    return DOWER @ vcg + 0.05 * rng.standard_normal((12, n))


def by_gid(ax, gid: str, kind: str = "lines"):
    """The one artist of ``ax`` (lines or texts) with this gid."""
    found = [a for a in getattr(ax, kind) if a.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} {kind} with gid {gid!r}"
    return found[0]


def texts(fig: Figure) -> list[str]:
    out = [t.get_text() for ax in fig.axes for t in ax.texts]
    out += [ax.get_title() for ax in fig.axes] + [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:  # noqa: SLF001
        out.append(fig._suptitle.get_text())
    return out


# ---------------------------------------------------------------------------------------
# plot_limb_leads
# ---------------------------------------------------------------------------------------


def test_limb_leads_figure_labels_and_angles():
    fig = plot_limb_leads()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    all_text = " ".join(texts(fig)) + " ".join(ax.get_xlabel() for ax in fig.axes)
    for name in ("I", "II", "III", "aVR", "aVL", "aVF", "RA", "LA", "LL", "WCT"):
        assert name in all_text
    assert "patient's left" in all_text
    assert "Wilson" in all_text
    hexaxial = fig.axes[1]
    expected = {
        "I": "0°",
        "II": "+60°",
        "III": "+120°",
        "aVF": "+90°",
        "aVL": "−30°",
        "aVR": "−150°",
    }
    for lead, angle in expected.items():
        label = by_gid(hexaxial, f"label:{lead}", "texts").get_text()
        assert label.split("\n") == [lead, angle]


def test_limb_leads_triangle_arrows_join_the_electrodes():
    fig = plot_limb_leads()
    ax = fig.axes[0]
    electrode = {
        n: np.array(by_gid(ax, f"electrode:{n}").get_xydata()[0]) for n in ("RA", "LA", "LL", "WCT")
    }
    pairs = {
        "I": ("RA", "LA"),
        "II": ("RA", "LL"),
        "III": ("LA", "LL"),
        "aVR": ("WCT", "RA"),
        "aVL": ("WCT", "LA"),
        "aVF": ("WCT", "LL"),
    }
    for lead, (tail, head) in pairs.items():
        ann = by_gid(ax, f"arrow:{lead}", "texts")
        assert isinstance(ann, Annotation)
        np.testing.assert_allclose(ann.xyann, electrode[tail], atol=1e-12)
        np.testing.assert_allclose(ann.xy, electrode[head], atol=1e-12)
    # WCT is the centroid of the three electrodes
    centroid = (electrode["RA"] + electrode["LA"] + electrode["LL"]) / 3
    np.testing.assert_allclose(electrode["WCT"], centroid, atol=1e-12)
    # clinical orientation: patient's left (LA) on the right, feet (LL) down
    assert electrode["LA"][0] > electrode["RA"][0]
    assert ax.yaxis_inverted() and electrode["LL"][1] > electrode["RA"][1]
    # the lead vectors point at their hexaxial angles
    for lead, (tail, head) in pairs.items():
        d = electrode[head] - electrode[tail]
        assert math.degrees(math.atan2(d[1], d[0])) == pytest.approx(HEXAXIAL_ANGLES[lead])


def test_hexaxial_arrows_point_at_their_angles():
    fig = plot_limb_leads()
    ax = fig.axes[1]
    assert ax.yaxis_inverted()  # positive angles towards the feet, drawn downwards
    for lead, angle in HEXAXIAL_ANGLES.items():
        ann = by_gid(ax, f"arrow:{lead}", "texts")
        np.testing.assert_allclose(ann.xyann, (0.0, 0.0))
        a = math.radians(angle)
        np.testing.assert_allclose(ann.xy, (math.cos(a), math.sin(a)), atol=1e-12)


# ---------------------------------------------------------------------------------------
# plot_lead_directions
# ---------------------------------------------------------------------------------------


def test_lead_directions_arrows_are_dower_rows():
    fig = plot_lead_directions()
    assert len(fig.axes) == 2
    frontal, horizontal = fig.axes
    for i, lead in enumerate(LEAD_NAMES[:6]):
        ann = by_gid(frontal, f"arrow:{lead}", "texts")
        np.testing.assert_allclose(ann.xyann, (0.0, 0.0))
        np.testing.assert_allclose(ann.xy, DOWER[i, [0, 1]])
        assert by_gid(frontal, f"label:{lead}", "texts").get_text() == lead
    for i, lead in enumerate(LEAD_NAMES[6:], start=6):
        ann = by_gid(horizontal, f"arrow:{lead}", "texts")
        np.testing.assert_allclose(ann.xy, DOWER[i, [0, 2]])
        assert by_gid(horizontal, f"label:{lead}", "texts").get_text() == lead
    assert "X (mV/mV)" in frontal.get_xlabel() and "left" in frontal.get_xlabel()
    assert "Y (mV/mV)" in frontal.get_ylabel() and "feet" in frontal.get_ylabel()
    assert "Z (mV/mV)" in horizontal.get_ylabel() and "back" in horizontal.get_ylabel()
    assert frontal.yaxis_inverted() and not horizontal.yaxis_inverted()
    table = by_gid(frontal, "angle-table", "texts").get_text()
    assert "−20°" in table  # Dower's lead I looks 20° above the horizontal


def test_lead_directions_accepts_another_matrix_and_torch():
    m = np.arange(36, dtype=float).reshape(12, 3) / 36 - 0.5
    fig = plot_lead_directions(torch.tensor(m))
    np.testing.assert_allclose(by_gid(fig.axes[1], "arrow:V3", "texts").xy, m[8, [0, 2]])


@pytest.mark.parametrize("shape", [(3, 12), (8, 3), (12,), (12, 3, 1)])
def test_lead_directions_bad_shape(shape):
    with pytest.raises(ValueError, match=r"\(12, 3\)"):
        plot_lead_directions(np.zeros(shape))


# ---------------------------------------------------------------------------------------
# plot_vcg_loops
# ---------------------------------------------------------------------------------------


PLANE_AXES = {"frontal": (0, 1), "horizontal": (0, 2), "sagittal": (2, 1)}


def test_vcg_loops_draw_the_input_coordinates():
    vcg = synthetic_vcg()
    qrs, t = (0, 50), (100, 250)
    fig = plot_vcg_loops(vcg, FS, qrs=qrs, t=t, title="synthetic")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    frontal, sagittal, horizontal, ax3 = fig.axes
    assert ax3.name == "3d"
    axes = {"frontal": frontal, "sagittal": sagittal, "horizontal": horizontal}
    for name, (a, b) in {"QRS": qrs, "T": t}.items():
        for plane, (ih, iv) in PLANE_AXES.items():
            ln = by_gid(axes[plane], f"loop:{name}:{plane}")
            np.testing.assert_array_equal(ln.get_xdata(), vcg[ih, a:b])
            np.testing.assert_array_equal(ln.get_ydata(), vcg[iv, a:b])
            start = by_gid(axes[plane], f"start:{name}:{plane}")
            np.testing.assert_array_equal(start.get_xydata()[0], vcg[[ih, iv], a])
        xs, ys, zs = by_gid(ax3, f"loop:{name}:3d").get_data_3d()
        np.testing.assert_array_equal(xs, vcg[0, a:b])
        np.testing.assert_array_equal(ys, vcg[2, a:b])
        np.testing.assert_array_equal(zs, vcg[1, a:b])
    assert fig._suptitle.get_text() == "synthetic"  # noqa: SLF001


def test_vcg_loops_orientation_aspect_and_labels():
    fig = plot_vcg_loops(synthetic_vcg(), FS, qrs=(0, 50), t=(100, 250))
    frontal, sagittal, horizontal, ax3 = fig.axes
    assert frontal.yaxis_inverted() and sagittal.yaxis_inverted()  # feet down
    assert not horizontal.yaxis_inverted() and not frontal.xaxis_inverted()
    assert ax3.zaxis_inverted()
    for ax in (frontal, sagittal, horizontal):
        assert ax.get_aspect() == 1.0
        span_x = abs(np.diff(ax.get_xlim())[0])
        span_y = abs(np.diff(ax.get_ylim())[0])
        assert span_x == pytest.approx(span_y)  # one mV scale for every panel
    assert "X (mV)" in frontal.get_xlabel() and "left" in frontal.get_xlabel()
    assert "Y (mV)" in frontal.get_ylabel() and "feet" in frontal.get_ylabel()
    assert "Z (mV)" in horizontal.get_ylabel() and "back" in horizontal.get_ylabel()
    assert "Z (mV)" in sagittal.get_xlabel()
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "QRS loop" in legend and "T loop" in legend and "direction of travel" in legend


def test_vcg_loops_direction_arrows_follow_the_loop():
    vcg = synthetic_vcg()
    fig = plot_vcg_loops(vcg, FS, qrs=(0, 50), t=(100, 250))
    for ax, plane in zip(fig.axes[:3], ("frontal", "sagittal", "horizontal")):
        ih, iv = PLANE_AXES[plane]
        for name, (a, b) in {"QRS": (0, 50), "T": (100, 250)}.items():
            arrows = [t for t in ax.texts if t.get_gid() == f"direction:{name}:{plane}"]
            assert len(arrows) == 3
            pts = vcg[[ih, iv], a:b].T
            for ann in arrows:
                tail = int(np.argmin(np.hypot(*(pts - ann.xyann).T)))
                head = int(np.argmin(np.hypot(*(pts - ann.xy).T)))
                assert head > tail  # points forward in time


def test_vcg_loops_whole_input_and_torch():
    vcg = synthetic_vcg()[:, :120]
    fig = plot_vcg_loops(torch.tensor(vcg, dtype=torch.float32), FS)
    ln = by_gid(fig.axes[0], "loop:loop:frontal")
    np.testing.assert_allclose(ln.get_xdata(), vcg[0].astype(np.float32))
    np.testing.assert_allclose(ln.get_ydata(), vcg[1].astype(np.float32))


def test_vcg_loops_only_qrs_and_constant_input():
    fig = plot_vcg_loops(np.zeros((3, 50)), FS, qrs=(10, 40))
    gids = [ln.get_gid() or "" for ln in fig.axes[0].lines]
    assert [g for g in gids if g.startswith("loop")] == ["loop:QRS:frontal"]
    fig.canvas.draw()  # no warning from degenerate arrows or limits


@pytest.mark.parametrize("shape", [(400, 3), (12, 400), (1, 3, 400), (400,), (3, 1)])
def test_vcg_loops_bad_shape(shape):
    with pytest.raises(ValueError, match=r"\(3, T\)"):
        plot_vcg_loops(np.zeros(shape), FS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"qrs": (50, 10)},
        {"qrs": (0, 500)},
        {"t": (-1, 10)},
        {"qrs": (0.0, 10.0)},
        {"t": 5},
        {"qrs": (3, 4)},
    ],
)
def test_vcg_loops_bad_window(kwargs):
    with pytest.raises(ValueError, match="start, stop"):
        plot_vcg_loops(synthetic_vcg(), FS, **kwargs)


def test_vcg_loops_bad_fs():
    with pytest.raises(ValueError, match="fs"):
        plot_vcg_loops(synthetic_vcg(), 0.0)


# ---------------------------------------------------------------------------------------
# plot_measured_vs_reconstructed
# ---------------------------------------------------------------------------------------


def test_measured_vs_reconstructed_lines_equal_inputs():
    rng = np.random.default_rng(1)
    frank = rng.standard_normal((3, 1000))
    recs = {"inverse Dower": frank + 0.1, "Kors": torch.tensor(frank * 0.9)}
    fig = plot_measured_vs_reconstructed(frank, recs, FS, window_s=(0.5, 1.5))
    assert len(fig.axes) == 3
    a, b = 250, 750
    for i, (ax, axis) in enumerate(zip(fig.axes, "XYZ")):
        measured = by_gid(ax, f"measured:{axis}")
        np.testing.assert_allclose(measured.get_xdata(), np.arange(a, b) / FS)
        np.testing.assert_array_equal(measured.get_ydata(), frank[i, a:b])
        np.testing.assert_array_equal(
            by_gid(ax, f"inverse Dower:{axis}").get_ydata(), frank[i, a:b] + 0.1
        )
        np.testing.assert_allclose(by_gid(ax, f"Kors:{axis}").get_ydata(), frank[i, a:b] * 0.9)
        assert axis in ax.get_ylabel() and "mV" in ax.get_ylabel()
        assert "r = 1.00" in ax.get_title(loc="right")
        styles = {ln.get_linestyle() for ln in ax.lines if ln.get_gid()}
        assert len(styles) == 3  # every curve has its own line style
    assert fig.axes[-1].get_xlabel() == "time (s)"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["measured (Frank)", "inverse Dower", "Kors"]


def test_measured_vs_reconstructed_whole_signal_and_constant_input():
    frank = np.zeros((3, 200))
    fig = plot_measured_vs_reconstructed(frank, {"zero": np.zeros((3, 200))}, FS)
    np.testing.assert_array_equal(by_gid(fig.axes[0], "measured:X").get_ydata(), frank[0])
    fig.canvas.draw()


@pytest.mark.parametrize(
    "frank, rec, match",
    [
        (np.zeros((200, 3)), np.zeros((3, 200)), r"\(3, T\)"),
        (np.zeros((3, 200)), np.zeros((12, 200)), r"\(3, 200\)"),
        (np.zeros((3, 200)), np.zeros((3, 199)), r"\(3, 200\)"),
    ],
)
def test_measured_vs_reconstructed_bad_shapes(frank, rec, match):
    with pytest.raises(ValueError, match=match):
        plot_measured_vs_reconstructed(frank, {"r": rec}, FS)


def test_measured_vs_reconstructed_bad_window():
    with pytest.raises(ValueError, match="window_s"):
        plot_measured_vs_reconstructed(np.zeros((3, 200)), {}, FS, window_s=(1.0, 0.5))


# ---------------------------------------------------------------------------------------
# plot_dipole_projection
# ---------------------------------------------------------------------------------------


def test_dipole_projection_residual_is_original_minus_projection():
    ecg = synthetic_ecg()
    leads = ("I", "II", "V1", "V2", "V5")
    fig = plot_dipole_projection(ecg, FS, leads=leads, window_s=(1.0, 3.0))
    assert len(fig.axes) == 2 * len(leads)
    a, b = 500, 1500
    proj = project_to_dipole(ecg[:, a:b])
    for r, lead in enumerate(leads):
        k = LEAD_NAMES.index(lead)
        ax_o, ax_r = fig.axes[2 * r], fig.axes[2 * r + 1]
        original = by_gid(ax_o, f"original:{lead}").get_ydata()
        projection = by_gid(ax_o, f"projection:{lead}").get_ydata()
        residual = by_gid(ax_r, f"residual:{lead}")
        np.testing.assert_array_equal(original, ecg[k, a:b])
        np.testing.assert_allclose(projection, proj[k])
        np.testing.assert_allclose(residual.get_ydata(), original - projection, atol=1e-12)
        np.testing.assert_allclose(residual.get_xdata(), np.arange(a, b) / FS)
        assert lead in ax_o.get_ylabel()
        assert ax_o.get_ylim() == ax_r.get_ylim() == fig.axes[0].get_ylim()  # one mV scale
    fraction = dipole_energy_fraction(ecg[:, a:b])
    title = fig._suptitle.get_text()  # noqa: SLF001
    assert f"{100 * fraction:.1f} %" in title


def test_dipole_projection_torch_and_lead_spelling():
    ecg = synthetic_ecg(2.0)
    fig = plot_dipole_projection(torch.tensor(ecg, dtype=torch.float64), FS, leads=("avr", "v6"))
    assert len(fig.axes) == 4
    np.testing.assert_array_equal(by_gid(fig.axes[0], "original:aVR").get_ydata(), ecg[3])


@pytest.mark.parametrize("shape", [(1000, 12), (8, 1000), (1, 12, 1000)])
def test_dipole_projection_bad_shape(shape):
    with pytest.raises(ValueError, match=r"\(12, T\)"):
        plot_dipole_projection(np.zeros(shape), FS)


@pytest.mark.parametrize(
    "leads, match",
    [(("I", "vx"), "'vx' is not one of the leads"), (("I", "i"), "distinct"), ((), "at least one")],
)
def test_dipole_projection_bad_leads(leads, match):
    with pytest.raises(ValueError, match=match):
        plot_dipole_projection(synthetic_ecg(1.0), FS, leads=leads)


# ---------------------------------------------------------------------------------------
# module hygiene and real data
# ---------------------------------------------------------------------------------------


def test_import_has_no_side_effects():
    code = (
        "import matplotlib\n"
        "before = dict(matplotlib.rcParams)\n"
        "import matplotlib.pyplot as plt\n"
        "import threekg_lite.viz.figures_vcg\n"
        "after = dict(matplotlib.rcParams)\n"
        "assert after == before, {k for k in after if after[k] != before.get(k)}\n"
        "assert plt.get_fignums() == [], 'a figure was made at import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_real_records(data_dir, tmp_path):
    from threekg_lite.data import load_ptbdb, load_ptbxl
    from threekg_lite.data.preprocess import bandpass

    xl = load_ptbxl(data_dir, fs=500, ecg_ids=[1], progress=False)
    ecg = bandpass(xl.signals[0], xl.fs, 0.5, 40.0)
    vcg = ecg_to_vcg(ecg)
    fig = plot_vcg_loops(vcg, xl.fs, qrs=(1486, 1524), t=(1524, 1733), title="PTB-XL 1")
    fig.savefig(tmp_path / "loops.png", dpi=60)
    fig = plot_dipole_projection(ecg, xl.fs, window_s=(1.0, 4.0))
    assert 0.8 < dipole_energy_fraction(ecg[:, 500:2000]) < 1.0
    fig.savefig(tmp_path / "projection.png", dpi=60)

    ptb = load_ptbdb(data_dir, fs=500, duration=10, progress=False)
    assert ptb.record_ids[0].endswith("s0010_re")
    pecg = bandpass(ptb.signals[0], ptb.fs, 0.5, 40.0)
    frank = bandpass(ptb.aux["frank"][0], ptb.fs, 0.5, 40.0)
    recs = {"inverse Dower": ecg_to_vcg(pecg), "Kors": ecg_to_vcg(pecg, "kors")}
    fig = plot_measured_vs_reconstructed(frank, recs, ptb.fs, window_s=(2.0, 4.5))
    fig.savefig(tmp_path / "frank.png", dpi=60)
    # Kors is fitted to Frank leads: it matches the measured X closely on this record
    assert "Kors: r = 0.9" in fig.axes[0].get_title(loc="right")
    for f in ("loops.png", "projection.png", "frank.png"):
        assert (tmp_path / f).stat().st_size > 10_000
