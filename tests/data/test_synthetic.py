"""Tests of the synthetic ECG generator: container, exactness, determinism, labels, physiology.

Physiology is measured from the signals the way a reader would (R peaks on the VCG magnitude,
QRS width from where it leaves the baseline, ST level against the PR segment) and compared
with the labels and with the generator's ``meta`` ground truth.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.signal import find_peaks

from threekg_lite.data.records import ECGRecords
from threekg_lite.data.synthetic import (
    CLASSES,
    DEFAULT_MORPHOLOGY_PROBS,
    DEFAULT_RHYTHM_PROBS,
    HEART_RATE_BPM,
    MORPHOLOGIES,
    RHYTHMS,
    Nuisance,
    generate,
)
from threekg_lite.leads import INDEPENDENT_INDEX, LEAD_NAMES, derived_limb_leads
from threekg_lite.vcg import DOWER_8

FS = 250.0
LEAD = {name: i for i, name in enumerate(LEAD_NAMES)}
# Physiology only: inter-subject variability, but no orientation, size, HRV or noise.
PHYSIOLOGY = dataclasses.replace(Nuisance.off(), jitter=True)
SINUS = {"NSR": 0.5, "SB": 0.5}


def vcg(signals: np.ndarray) -> np.ndarray:
    """``(N, 12, T)`` -> ``(N, 3, T)`` with the pseudo-inverse of Dower's matrix."""
    return np.einsum("xl,nlt->nxt", np.linalg.pinv(DOWER_8), signals[:, list(INDEPENDENT_INDEX)])


def r_peaks(magnitude: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of the R peaks of one record's ``(T,)`` VCG magnitude.

    QRS complexes are found as bursts of slope (the T wave is as tall as a small QRS but
    much slower), then each peak is put on the largest magnitude within 60 ms.
    """
    slope = np.abs(np.diff(magnitude, prepend=magnitude[0]))
    energy = np.convolve(slope, np.ones(int(0.08 * fs)), mode="same")
    bursts, _ = find_peaks(energy, height=0.4 * energy.max(), distance=int(0.25 * fs))
    half = int(0.06 * fs)
    peaks = [b - half + np.argmax(magnitude[max(b - half, 0) : b + half]) for b in bursts]
    return np.array([p for p in peaks if 0 < p < len(magnitude) - 1], dtype=int)


def inner_peaks(magnitude: np.ndarray, fs: float, margin: float = 0.5) -> np.ndarray:
    """R peaks at least ``margin`` seconds from both ends of the record."""
    p = r_peaks(magnitude, fs)
    return p[(p >= margin * fs) & (p < len(magnitude) - margin * fs)]


def qrs_width_ms(magnitude: np.ndarray, fs: float, fraction: float = 0.05) -> float:
    """Median QRS width: the stretch around each R peak where |VCG| stays above ``fraction``
    of the peak."""
    widths = []
    for k in inner_peaks(magnitude, fs):
        low = magnitude < fraction * magnitude[k]
        left = k - np.argmax(low[k::-1])
        right = k + np.argmax(low[k:])
        widths.append((right - left) / fs)
    return 1000 * float(np.median(widths))


# --- container ---------------------------------------------------------------------------


def test_container_shapes_ids_and_label_tasks():
    rec = generate(20, fs=128.0, duration=2.5, seed=1)
    assert isinstance(rec, ECGRecords)
    assert rec.signals.shape == (20, 12, 320) and rec.signals.dtype == np.float32
    assert rec.fs == 128.0 and rec.source == "synthetic" and rec.lead_names == LEAD_NAMES
    assert list(rec.record_ids[:2]) == ["syn00000", "syn00001"]
    assert list(rec.patient_ids) == list(rec.record_ids)
    assert CLASSES == RHYTHMS + MORPHOLOGIES
    assert CLASSES == ("NSR", "SB", "STACH", "AF", "RBBB", "LBBB", "AMI", "IMI", "LVH")
    assert rec.labels["diagnosis"].names == CLASSES
    assert rec.labels["rhythm"].names == RHYTHMS
    assert rec.labels["morphology"].names == MORPHOLOGIES
    y = rec.y("diagnosis")
    assert y.dtype == bool and y.shape == (20, 9)
    assert np.array_equal(y, np.concatenate([rec.y("rhythm"), rec.y("morphology")], axis=1))
    assert len(rec.meta) == 20
    for column in ("heart_rate_bpm", "qrs_ms", "qrs_axis_deg", "rot_x_deg", "amplitude_scale"):
        assert np.isfinite(rec.meta[column]).all()
    assert list(rec.meta.rhythm) == [RHYTHMS[i] for i in rec.y("rhythm").argmax(axis=1)]


def test_zero_records():
    rec = generate(0, fs=100.0, duration=1.0)
    assert rec.signals.shape == (0, 12, 100)
    assert rec.y("diagnosis").shape == (0, 9) and len(rec.meta) == 0


def test_amplitudes_in_millivolts():
    noisy = generate(200, fs=100.0, seed=2).signals
    assert np.isfinite(noisy).all()
    assert np.quantile(np.abs(noisy), 0.999) < 5.0
    assert np.abs(noisy).max() < 10.0
    clean = generate(
        20, fs=FS, seed=2, rhythm_probs={"NSR": 1}, morphology_probs={}, nuisance=Nuisance.off()
    )
    r_in_ii = clean.signals[:, LEAD["II"]].max(axis=1)
    assert np.all((r_in_ii > 0.6) & (r_in_ii < 2.0)), r_in_ii


@pytest.mark.parametrize("fs", [100.0, 500.0])
def test_limb_lead_identities_hold_exactly_with_all_nuisance(fs):
    x = generate(48, fs=fs, duration=3.0, seed=3).signals
    i, ii = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
    for name, expected in zip(("III", "aVR", "aVL", "aVF"), derived_limb_leads(i, ii)):
        assert np.abs(x[:, LEAD[name]] - expected).max() < 1e-5, name
    # The noise is really per lead: the independent leads are not a rank-3 projection.
    singular = np.linalg.svd(x[0][list(INDEPENDENT_INDEX)], compute_uv=False)
    assert singular[3] > 1e-3 * singular[0]


# --- determinism -------------------------------------------------------------------------


def test_same_seed_same_output_different_seed_different_output():
    a = generate(30, fs=100.0, seed=5)
    b = generate(30, fs=100.0, seed=5)
    c = generate(30, fs=100.0, seed=6)
    assert np.array_equal(a.signals, b.signals) and a.meta.equals(b.meta)
    assert not np.array_equal(a.signals, c.signals)
    g1 = generate(4, fs=100.0, seed=np.random.default_rng(9)).signals
    g2 = generate(4, fs=100.0, seed=np.random.default_rng(9)).signals
    assert np.array_equal(g1, g2)


def test_output_independent_of_chunk_size_and_prefix_stable():
    ref = generate(70, fs=FS, duration=2.0, seed=8, chunk_size=256)
    for chunk_size in (1, 17, 64):
        other = generate(70, fs=FS, duration=2.0, seed=8, chunk_size=chunk_size)
        assert np.array_equal(ref.signals, other.signals), chunk_size
        assert np.array_equal(ref.y("diagnosis"), other.y("diagnosis"))
    head = generate(33, fs=FS, duration=2.0, seed=8)
    assert np.array_equal(head.signals, ref.signals[:33])


def test_switching_a_nuisance_off_changes_nothing_else():
    on = generate(40, fs=FS, duration=4.0, seed=10)
    off = generate(40, fs=FS, duration=4.0, seed=10, nuisance=Nuisance.off())
    assert np.array_equal(on.y("diagnosis"), off.y("diagnosis"))
    assert not np.array_equal(on.signals, off.signals)
    assert (off.meta[["rot_x_deg", "rot_y_deg", "rot_z_deg"]] == 0).all().all()
    assert (off.meta[["amplitude_scale", "scale_x"]] == 1).all().all()
    assert (off.meta[["baseline_mv", "muscle_mv", "powerline_mv"]] == 0).all().all()
    assert (np.abs(on.meta[["rot_x_deg", "rot_y_deg", "rot_z_deg"]]) <= 20).all().all()


# --- argument checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": -1},
        {"n": 2.5},
        {"fs": 0.0},
        {"fs": -100.0},
        {"fs": float("nan")},
        {"duration": 0.0},
        {"chunk_size": 0},
        {"rhythm_probs": {"NSR": 0.5}},
        {"rhythm_probs": {"NSR": 0.5, "VT": 0.5}},
        {"rhythm_probs": {"NSR": 1.5, "AF": -0.5}},
        {"morphology_probs": {"RBBB": 0.6, "LBBB": 0.5}},
        {"morphology_probs": {"LVH": 1.2}},
        {"morphology_probs": {"WPW": 0.1}},
    ],
)
def test_invalid_arguments_raise_value_error(kwargs):
    kwargs = {"n": 2, "fs": 100.0, "duration": 1.0} | kwargs
    with pytest.raises(ValueError):
        generate(kwargs.pop("n"), **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"muscle_mv": (0.05, 0.01)},
        {"max_rotation_deg": -5.0},
        {"mains_hz": ()},
        {"scale_sigma": float("inf")},
    ],
)
def test_invalid_nuisance_raises_value_error(kwargs):
    with pytest.raises(ValueError):
        Nuisance(**kwargs)


# --- labels ------------------------------------------------------------------------------


def test_label_rules_and_default_balance():
    n = 4000
    rec = generate(n, fs=100.0, duration=1.0, seed=11)
    rhythm, morph = rec.y("rhythm"), rec.y("morphology")
    assert np.all(rhythm.sum(axis=1) == 1)
    assert not np.any(morph[:, 0] & morph[:, 1]), "RBBB and LBBB together"
    defaults = DEFAULT_RHYTHM_PROBS | DEFAULT_MORPHOLOGY_PROBS
    p = np.array([defaults[c] for c in CLASSES])
    assert p.min() >= 0.08
    freq = rec.y("diagnosis").mean(axis=0)
    assert np.all(np.abs(freq - p) < 4.5 * np.sqrt(p * (1 - p) / n)), dict(zip(CLASSES, freq))
    y = rec.y("diagnosis")
    for a, b in (("AF", "LBBB"), ("SB", "IMI"), ("AMI", "LVH")):
        assert np.any(y[:, CLASSES.index(a)] & y[:, CLASSES.index(b)]), (a, b)


def test_label_frequencies_follow_requested_probabilities():
    n = 4000
    rhythm_probs = {"NSR": 0.1, "SB": 0.2, "STACH": 0.3, "AF": 0.4}
    morph_probs = {"RBBB": 0.3, "LBBB": 0.5, "AMI": 0.1, "IMI": 0.25, "LVH": 0.6}
    rec = generate(
        n, fs=100.0, duration=1.0, seed=12, rhythm_probs=rhythm_probs, morphology_probs=morph_probs
    )
    p = np.array([rhythm_probs[c] for c in RHYTHMS] + [morph_probs[c] for c in MORPHOLOGIES])
    y = rec.y("diagnosis")
    tolerance = 4.5 * np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(y.mean(axis=0) - p) < tolerance), dict(zip(CLASSES, y.mean(axis=0)))
    assert not np.any(y[:, 4] & y[:, 5])
    # AMI, IMI and LVH are independent of each other and of the bundle-branch draw.
    both = (y[:, CLASSES.index("IMI")] & y[:, CLASSES.index("LVH")]).mean()
    assert abs(both - 0.25 * 0.6) < 4.5 * np.sqrt(0.15 * 0.85 / n)
    only = generate(50, fs=100.0, duration=1.0, rhythm_probs={"AF": 1}, morphology_probs={})
    assert only.y("rhythm")[:, 3].all() and not only.y("morphology").any()


# --- physiology --------------------------------------------------------------------------


def test_measured_heart_rate_matches_meta_and_rhythm_bands():
    rec = generate(
        80, fs=FS, seed=13, morphology_probs={}, nuisance=dataclasses.replace(PHYSIOLOGY, hrv=True)
    )
    magnitude = np.linalg.norm(vcg(rec.signals), axis=1)
    rhythm = rec.meta.rhythm.to_numpy()
    for i in range(len(rec)):
        peaks = r_peaks(magnitude[i], FS)
        measured = 60.0 / (np.diff(peaks).mean() / FS)
        tolerance = 0.08 if rhythm[i] == "AF" else 0.02
        assert abs(measured / rec.meta.heart_rate_bpm[i] - 1) < tolerance, (i, rhythm[i])
        lo, hi = HEART_RATE_BPM[rhythm[i]]
        slack = 0.3 if rhythm[i] == "AF" else 0.05  # the mean of ~10 iid AF intervals varies
        assert lo * (1 - slack) < rec.meta.heart_rate_bpm[i] < hi * (1 + slack)


def test_af_is_irregular_and_has_no_p_waves():
    nuisance = dataclasses.replace(PHYSIOLOGY, hrv=True)
    cv, p_wave = {}, {}
    for rhythm in ("NSR", "AF"):
        rec = generate(
            40, fs=FS, seed=14, rhythm_probs={rhythm: 1}, morphology_probs={}, nuisance=nuisance
        )
        magnitude = np.linalg.norm(vcg(rec.signals), axis=1)
        cvs, ps = [], []
        for i in range(len(rec)):
            peaks = r_peaks(magnitude[i], FS)
            rr = np.diff(peaks) / FS
            cvs.append(rr.std() / rr.mean())
            inner = peaks[peaks > 0.3 * FS]
            ps.append(rec.signals[i, LEAD["II"], inner - int(0.17 * FS)].mean())
        cv[rhythm], p_wave[rhythm] = np.array(cvs), np.array(ps)
    assert cv["NSR"].max() < 0.07 and np.median(cv["AF"]) > 0.12
    assert np.mean(cv["AF"] > cv["NSR"].max()) > 0.9
    assert np.all(p_wave["NSR"] > 0.06)
    assert np.abs(np.median(p_wave["AF"])) < 0.03
    assert np.all((rec.meta.af_f_hz >= 4) & (rec.meta.af_f_hz <= 9))


def test_af_has_fibrillatory_waves_between_beats():
    """Long AF intervals hold f-waves after the T wave; sinus intervals are flat there."""
    quiet = {}
    for rhythm in ("SB", "AF"):
        rec = generate(
            40, fs=FS, seed=24, rhythm_probs={rhythm: 1}, morphology_probs={}, nuisance=PHYSIOLOGY
        )
        magnitude = np.linalg.norm(vcg(rec.signals), axis=1)
        spread = []
        for i in range(len(rec)):
            peaks = r_peaks(magnitude[i], FS)
            v1 = rec.signals[i, LEAD["V1"]]
            for a, b in zip(peaks[:-1], peaks[1:]):
                if b - a > 0.9 * FS:  # from R + 0.6 s to 0.3 s before the next R
                    spread.append(v1[a + int(0.6 * FS) : b - int(0.3 * FS)].std())
        quiet[rhythm] = np.array(spread)
    assert len(quiet["AF"]) > 10 and len(quiet["SB"]) > 10
    assert quiet["SB"].max() < 0.005 and np.median(quiet["AF"]) > 0.02


def test_bundle_branch_blocks_widen_the_qrs():
    widths = {}
    for label, morph in (("normal", {}), ("RBBB", {"RBBB": 1}), ("LBBB", {"LBBB": 1})):
        rec = generate(
            40,
            fs=FS,
            duration=4.0,
            seed=15,
            rhythm_probs=SINUS,
            morphology_probs=morph,
            nuisance=PHYSIOLOGY,
        )
        magnitude = np.linalg.norm(vcg(rec.signals), axis=1)
        widths[label] = np.array([qrs_width_ms(m, FS) for m in magnitude])
        nominal = rec.meta.qrs_ms.to_numpy()
        assert np.all(nominal < 110) if label == "normal" else np.all(nominal >= 125)
    assert 60 < widths["normal"].min() and widths["normal"].max() < 110
    for label in ("RBBB", "LBBB"):
        # A threshold on |VCG| can miss a weak R' lobe now and then; the bulk must be wide.
        assert np.mean(widths[label] >= 120) >= 0.9 and np.median(widths[label]) >= 130, label


def test_bundle_branch_block_morphology():
    x, peaks, rr = {}, {}, {}
    for label in ("RBBB", "LBBB"):
        rec = generate(
            10,
            fs=FS,
            seed=16,
            rhythm_probs={"NSR": 1},
            morphology_probs={label: 1},
            nuisance=PHYSIOLOGY,
        )
        x[label] = rec.signals
        magnitude = np.linalg.norm(vcg(rec.signals), axis=1)
        peaks[label] = [inner_peaks(m, FS) for m in magnitude]
        rr[label] = [np.diff(p).mean() / FS for p in peaks[label]]
    v1, v6, lead_i = LEAD["V1"], LEAD["V6"], LEAD["I"]
    qrs = np.arange(-int(0.06 * FS), int(0.15 * FS))
    for i, p in enumerate(peaks["RBBB"]):
        # rsR' in V1: the tallest deflection comes late; wide terminal S in I and V6.
        v1_qrs = x["RBBB"][i, v1][p[:, None] + qrs]
        assert np.all(v1_qrs.max(axis=1) > 0.3)
        assert np.all(qrs[v1_qrs.argmax(axis=1)] > 0.03 * FS)
        assert x["RBBB"][i, v6].min() < -0.15 and x["RBBB"][i, lead_i].min() < -0.05
    for i, p in enumerate(peaks["LBBB"]):
        # Deep QS in V1, tall R in V6, and discordant T: inverted in V6, upright in V1.
        lbbb = x["LBBB"][i]
        assert np.all(lbbb[v1, p] < -0.6) and np.all(lbbb[v6, p] > 0.5)
        t_wave = p[:, None] + np.arange(
            int(0.18 * np.sqrt(rr["LBBB"][i]) * FS), int(0.36 * np.sqrt(rr["LBBB"][i]) * FS)
        )
        assert np.all(lbbb[v6][t_wave].mean(axis=1) < -0.05)
        assert np.all(lbbb[v1][t_wave].mean(axis=1) > 0.05)


def st_level(rec: ECGRecords, leads: list[str]) -> np.ndarray:
    """``(N,)`` mean ST level (mV) at R + 120 ms against the PR segment at R - 80 ms."""
    magnitude = np.linalg.norm(vcg(rec.signals), axis=1)
    idx = [LEAD[name] for name in leads]
    out = []
    for i in range(len(rec)):
        peaks = inner_peaks(magnitude[i], FS)
        st = rec.signals[i][idx][:, peaks + int(0.12 * FS)]
        pr = rec.signals[i][idx][:, peaks - int(0.08 * FS)]
        out.append((st - pr).mean())
    return np.array(out)


def test_infarcts_raise_st_in_the_facing_leads():
    inferior, anterior = ["II", "III", "aVF"], ["V1", "V2", "V3", "V4"]
    kw = {"fs": FS, "duration": 5.0, "seed": 17, "rhythm_probs": {"NSR": 1}, "nuisance": PHYSIOLOGY}
    normal = generate(30, morphology_probs={}, **kw)
    imi = generate(30, morphology_probs={"IMI": 1}, **kw)
    ami = generate(30, morphology_probs={"AMI": 1}, **kw)
    assert st_level(imi, inferior).min() > st_level(normal, inferior).max() + 0.03
    assert np.median(st_level(imi, inferior)) > np.median(st_level(normal, inferior)) + 0.1
    assert st_level(ami, anterior).min() > st_level(normal, anterior).max() + 0.03
    assert np.median(st_level(ami, anterior)) > np.median(st_level(normal, anterior)) + 0.1
    # The injury current does not face the other wall.
    assert abs(np.median(st_level(imi, anterior)) - np.median(st_level(normal, anterior))) < 0.1
    # Pathological Q: the first 30 ms of the QRS go negative in III (IMI) and V2 (AMI).
    for lead, infarct in (("III", imi), ("V2", ami)):
        assert initial_deflection(infarct, lead).max() < -0.2
        assert initial_deflection(normal, lead).min() > -0.1


def initial_deflection(rec: ECGRecords, lead: str) -> np.ndarray:
    """``(N,)`` most negative value of ``lead`` from 50 to 20 ms before the R peaks."""
    magnitude = np.linalg.norm(vcg(rec.signals), axis=1)
    out = []
    for i in range(len(rec)):
        peaks = inner_peaks(magnitude[i], FS)
        window = peaks[:, None] + np.arange(-int(0.05 * FS), -int(0.02 * FS) + 1)
        out.append(rec.signals[i, LEAD[lead]][window].min())
    return np.array(out)


def test_lvh_raises_qrs_voltage():
    kw = {"fs": FS, "duration": 4.0, "seed": 18, "rhythm_probs": {"NSR": 1}, "nuisance": PHYSIOLOGY}
    normal = generate(30, morphology_probs={}, **kw)
    lvh = generate(30, morphology_probs={"LVH": 1}, **kw)

    def sokolow(rec: ECGRecords) -> np.ndarray:  # S in V1 + R in V5
        return -rec.signals[:, LEAD["V1"]].min(axis=1) + rec.signals[:, LEAD["V5"]].max(axis=1)

    assert np.median(sokolow(lvh)) > 1.5 * np.median(sokolow(normal))
    assert np.all((lvh.meta.lvh_factor >= 1.6) & (lvh.meta.lvh_factor <= 2.2))


def test_normal_ecg_textbook_features():
    rec = generate(
        8, fs=FS, seed=19, rhythm_probs={"NSR": 1}, morphology_probs={}, nuisance=Nuisance.off()
    )
    magnitude = np.linalg.norm(vcg(rec.signals), axis=1)
    for i in range(len(rec)):
        x = rec.signals[i]
        peaks = inner_peaks(magnitude[i], FS)
        rr = np.diff(peaks).mean() / FS
        at_r = x[:, peaks].mean(axis=1)
        at_t = x[:, peaks + int(0.26 * np.sqrt(rr) * FS)].mean(axis=1)
        assert at_r[LEAD["II"]] > 0.7  # positive R in II
        assert x[LEAD["V1"]].min() < -0.4 and 0.03 < x[LEAD["V1"]].max() < 0.3  # rS in V1
        progression = [at_r[LEAD[f"V{k}"]] for k in range(1, 6)]
        assert np.all(np.diff(progression) > 0), progression  # R-wave progression V1 -> V5
        for name in ("I", "II", "V4", "V5", "V6"):
            assert at_t[LEAD[name]] > 0.05, name  # upright T
        assert at_t[LEAD["aVR"]] < 0  # inverted T in aVR
        assert 80 <= rec.meta.qrs_ms[i] <= 100


def test_frontal_axis_in_meta_matches_the_r_vector():
    nuisance = Nuisance(hrv=False, baseline=False, muscle=False, powerline=False)
    rec = generate(
        60,
        fs=FS,
        duration=4.0,
        seed=20,
        nuisance=nuisance,
        morphology_probs={"RBBB": 0.2, "AMI": 0.2, "IMI": 0.2, "LVH": 0.2},
    )
    v = vcg(rec.signals)
    magnitude = np.linalg.norm(v, axis=1)
    axes = rec.meta.qrs_axis_deg.to_numpy()
    assert np.ptp(axes) > 40  # the heart's orientation really varies
    errors = []
    for i in range(len(rec)):
        peaks = r_peaks(magnitude[i], FS)
        measured = np.rad2deg(np.arctan2(v[i, 1, peaks], v[i, 0, peaks]))
        errors.append((np.median(measured) - axes[i] + 180) % 360 - 180)
    # At the R peak the Q and S lobes' tails add a little; pathological Q more.
    assert np.median(np.abs(errors)) < 2 and np.max(np.abs(errors)) < 12, errors


# --- nuisance ----------------------------------------------------------------------------


def only(**on: bool) -> Nuisance:
    return dataclasses.replace(Nuisance.off(), **on)


def test_muscle_noise_has_the_stated_rms():
    clean = generate(30, fs=500.0, duration=4.0, seed=21, nuisance=Nuisance.off())
    noisy = generate(30, fs=500.0, duration=4.0, seed=21, nuisance=only(muscle=True))
    noise = (noisy.signals - clean.signals)[:, list(INDEPENDENT_INDEX)]
    ratio = noise.std(axis=2).mean(axis=1) / noisy.meta.muscle_mv.to_numpy()
    assert np.all((ratio > 0.95) & (ratio < 1.05)), ratio
    assert np.all((noisy.meta.muscle_mv >= 0.007) & (noisy.meta.muscle_mv <= 0.065))
    # white: neighbouring samples uncorrelated
    lag1 = (noise[..., 1:] * noise[..., :-1]).mean() / (noise**2).mean()
    assert abs(lag1) < 0.02


def test_powerline_frequency_and_nyquist_rule():
    clean = generate(20, fs=500.0, duration=4.0, seed=22, nuisance=Nuisance.off())
    hum = generate(20, fs=500.0, duration=4.0, seed=22, nuisance=only(powerline=True))
    interference = (hum.signals - clean.signals)[:, list(INDEPENDENT_INDEX)]
    freqs = np.fft.rfftfreq(interference.shape[-1], 1 / 500.0)
    peak = freqs[np.abs(np.fft.rfft(interference[:, 0])).argmax(axis=1)]
    assert np.allclose(peak, hum.meta.powerline_hz) and set(peak) <= {50.0, 60.0}
    assert np.all(np.abs(interference).max(axis=(1, 2)) <= 1.5 * hum.meta.powerline_mv + 1e-6)
    low = generate(20, fs=100.0, duration=2.0, seed=22, nuisance=only(powerline=True))
    base = generate(20, fs=100.0, duration=2.0, seed=22, nuisance=Nuisance.off())
    assert (low.meta.powerline_hz == 0).all() and np.array_equal(low.signals, base.signals)


def test_baseline_wander_is_slow():
    clean = generate(20, fs=FS, duration=10.0, seed=23, nuisance=Nuisance.off())
    wander = generate(20, fs=FS, duration=10.0, seed=23, nuisance=only(baseline=True))
    drift = (wander.signals - clean.signals)[:, list(INDEPENDENT_INDEX)]
    power = np.abs(np.fft.rfft(drift * np.hanning(drift.shape[-1]), axis=-1)) ** 2
    freqs = np.fft.rfftfreq(drift.shape[-1], 1 / FS)
    assert power[..., freqs <= 0.8].sum() > 0.999 * power.sum()
    peak = np.abs(drift).max(axis=(1, 2))
    assert np.all((peak > 0.05) & (peak < 2 * wander.meta.baseline_mv + 1e-6))
