r"""Synthetic 12-lead ECGs with ground-truth labels, from a dipole model, for every chapter and
test without a database.

After McSharry et al. (IEEE TBME 2003) and Sameni et al. (EURASIP JASP 2007), the heart is one
dipole in Frank axes (X left, Y feet, Z back) whose beats are sums of seven Gaussian waves
(offset ``mu`` from R and width ``sigma`` in s, amplitude vector in mV), for a normal heart and
each morphology. Oriented (``R``), scaled (``S``) and projected with Dower's matrix (Dower et
al., Clin. Cardiol. 1980) onto I, II, V1-V6, with noise added there::

    x_l(t) = D_l S R v(t) + baseline_l(t) + powerline_l(t) + emg_l(t)

A wave's *anchor* is the R it is timed from: the next (P), the nearest (QRS) or the previous
(ST, T, which run on the clock ``(t - t_R) / sqrt(RR / 1 s)`` so that QT follows Bazett; their
values are those at RR = 1 s). Normal values follow textbook vectorcardiography (QRS loop
~1.3 mV, frontal axis ~+40 deg; QRS ~95 ms, PR ~160 ms, QTc ~410 ms): R in II, rS in V1,
R-wave progression V1 -> V5, upright T in I, II, V2-V6.

III, aVR, aVL, aVF are recomputed from the noisy I and II, so the limb-lead relations hold
exactly, noise included; all eight leads come from one ``(N, 8, K) @ (N, K, T)`` matmul.

Record ``i`` depends only on ``(seed, i)``: blocks of :data:`BLOCK` records, one SeedSequence
child each, draw all their parameters in a fixed order and amount, so ``chunk_size`` never
changes the output, ``generate(n)[:m]`` equals ``generate(m)``, and switching a nuisance off
changes nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np
import pandas as pd

from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.leads import INDEPENDENT_INDEX, derived_limb_leads
from threekg_lite.runtime.checks import check_float, check_int
from threekg_lite.vcg import DOWER_8

RHYTHMS: tuple[str, ...] = ("NSR", "SB", "STACH", "AF")
MORPHOLOGIES: tuple[str, ...] = ("RBBB", "LBBB", "AMI", "IMI", "LVH")
CLASSES: tuple[str, ...] = RHYTHMS + MORPHOLOGIES
DEFAULT_RHYTHM_PROBS = MappingProxyType({"NSR": 0.4, "SB": 0.2, "STACH": 0.2, "AF": 0.2})
DEFAULT_MORPHOLOGY_PROBS: Mapping[str, float] = MappingProxyType(
    {"RBBB": 0.15, "LBBB": 0.12, "AMI": 0.12, "IMI": 0.12, "LVH": 0.15}
)
HEART_RATE_BPM: Mapping[str, tuple[float, float]] = MappingProxyType(  # drawn uniformly
    {"NSR": (60.0, 100.0), "SB": (40.0, 59.0), "STACH": (101.0, 150.0), "AF": (60.0, 140.0)}
)
BLOCK = 16  # records per random block (one SeedSequence child each)

_N_BASELINE = 3  # sinusoids of baseline wander
_F_DIRECTION = np.array([-0.3, 0.5, -0.8]) / np.linalg.norm([-0.3, 0.5, -0.8])
_D8 = np.asarray(DOWER_8, dtype=np.float64)  # (8, 3)
_INDEPENDENT = list(INDEPENDENT_INDEX)
_INT8_PAIR_RMS = np.sqrt(2 * (256**2 - 1) / 12)  # rms of the sum of two uniform int8


@dataclass(frozen=True)
class Nuisance:
    """Variation that does not change the diagnosis, each part with an on/off flag; ranges ``(lo,
    hi)`` are drawn uniformly per record. ``rotation``: about X, Y, Z within +-``max_rotation_deg``;
    ``scaling``: body size, ``exp(scale_sigma z)`` and per axis ``exp(axis_scale_sigma z)``;
    ``hrv``: a 0.15-0.4 Hz respiratory sinusoid of relative amplitude ``rsa_fraction`` on the sinus
    RR, plus jitter (AF's RR is the diagnosis, always irregular); ``jitter``: of the waves
    (:func:`wave_table`); ``baseline``: 1-3 sinusoids per record; ``muscle``: white, rms
    ``muscle_mv``; ``powerline``: one of ``mains_hz``, only below ``fs / 2``, as on a real
    recorder."""

    rotation: bool = True
    max_rotation_deg: float = 20.0
    scaling: bool = True
    scale_sigma: float = 0.2
    axis_scale_sigma: float = 0.05
    hrv: bool = True
    rsa_fraction: tuple[float, float] = (0.01, 0.05)
    rr_jitter: float = 0.01
    jitter: bool = True
    jitter_fraction: float = 0.1
    baseline: bool = True
    baseline_mv: tuple[float, float] = (0.1, 0.3)
    baseline_hz: tuple[float, float] = (0.05, 0.5)
    muscle: bool = True
    muscle_mv: tuple[float, float] = (0.01, 0.05)
    powerline: bool = True
    powerline_mv: tuple[float, float] = (0.005, 0.03)
    mains_hz: tuple[float, ...] = (50.0, 60.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            values = value if isinstance(value, tuple) else (value,)
            if not values or any(not np.isfinite(v) or v < 0 for v in values):
                raise ValueError(f"Nuisance.{f.name} must be finite and >= 0, got {value!r}")
            if f.name != "mains_hz" and isinstance(value, tuple):
                if len(value) != 2 or value[0] > value[1]:
                    raise ValueError(f"Nuisance.{f.name} must be a range (lo, hi), got {value!r}")
        if min(self.mains_hz) <= 0 or min(self.baseline_hz) <= 0:
            raise ValueError("Nuisance frequencies must be > 0")

    @classmethod
    def off(cls) -> Nuisance:
        """No nuisance: textbook templates, regular sinus RR, clean signals."""
        return cls(**{f.name: False for f in fields(cls) if f.type in ("bool", bool)})


def generate(
    n: int,
    *,
    fs: float = 500.0,
    duration: float = 10.0,
    seed: int | np.random.Generator = 0,
    rhythm_probs: Mapping[str, float] | None = None,
    morphology_probs: Mapping[str, float] | None = None,
    nuisance: Nuisance | None = None,
    chunk_size: int = 256,
) -> ECGRecords:
    """Generate ``n`` labelled synthetic 12-lead ECGs, ``signals`` ``(n, 12, round(fs * duration))``
    float32 mV, label tasks ``"diagnosis"`` (:data:`CLASSES`), ``"rhythm"`` and ``"morphology"``,
    ``meta`` with each record's truth (rhythm, rate, QRS width and axis, orientation, size, noise
    levels). ``rhythm_probs`` sum to 1 (missing keys 0); ``morphology_probs`` are marginal, RBBB
    and LBBB one three-way choice (``RBBB + LBBB <= 1``). ``nuisance``: default all of it,
    ``Nuisance.off()`` for clean signals. ``chunk_size``: records per vectorised batch: memory
    against speed, never the output. ``seed``: an int or a Generator.

    >>> rec = generate(8, fs=100.0, duration=2.0, seed=1)
    >>> rec.signals.shape, rec.labels["diagnosis"].names[:4]
    ((8, 12, 200), ('NSR', 'SB', 'STACH', 'AF'))
    """
    n, chunk_size = check_int("n", n, 0), check_int("chunk_size", chunk_size)
    fs = check_float("fs", float(fs), positive=True)
    duration = check_float("duration", float(duration), positive=True)
    if round(fs * duration) < 1:
        raise ValueError(f"fs * duration = {fs * duration:g} gives no samples")
    p_rhythm = _probabilities(rhythm_probs, DEFAULT_RHYTHM_PROBS, RHYTHMS, "rhythm_probs")
    p_morph = _probabilities(
        morphology_probs, DEFAULT_MORPHOLOGY_PROBS, MORPHOLOGIES, "morphology_probs"
    )
    if abs(p_rhythm.sum() - 1.0) > 1e-6:
        raise ValueError(f"rhythm_probs must sum to 1, got {p_rhythm.sum():.6g}")
    if p_morph[0] + p_morph[1] > 1.0 + 1e-9:
        raise ValueError("morphology_probs: RBBB + LBBB must be <= 1 (they exclude each other)")
    nuisance = Nuisance() if nuisance is None else nuisance
    if not isinstance(nuisance, Nuisance):
        raise TypeError(f"nuisance must be a Nuisance, got {type(nuisance).__name__}")

    if isinstance(seed, np.random.Generator):
        seed = seed.integers(0, 2**63, size=4).tolist()
    root = np.random.SeedSequence(seed)
    n_samples = round(fs * duration)
    n_beats = int(np.ceil((duration + RR_LIMITS[1]) / RR_LIMITS[0])) + 2  # covers [0, duration]
    children = root.spawn(max(1, -(-n // BLOCK)))  # one, of no record, when n = 0
    per_chunk = -(-chunk_size // BLOCK)  # blocks

    signals = np.empty((n, 12, n_samples), dtype=np.float32)
    work = _workspace(min(n, per_chunk * BLOCK), n_samples, nuisance)
    parts: list[dict[str, np.ndarray]] = []
    for c0 in range(0, len(children), per_chunk):
        gens, drawn = [], []
        for b in range(c0, min(c0 + per_chunk, len(children))):
            gen = np.random.default_rng(children[b])
            m = min(BLOCK, n - b * BLOCK)
            block = _draw_block(gen, BLOCK, p_rhythm, p_morph, nuisance, n_beats, fs)
            drawn.append({k: v[:m] for k, v in block.items()})
            gens.append((gen, m))
        p = _concat(drawn)
        _render(p, gens, fs, nuisance, work, signals[c0 * BLOCK : c0 * BLOCK + len(p["rhythm"])])
        parts.append(p)

    p = _concat(parts)
    ids = np.array([f"syn{i:05d}" for i in range(n)], dtype=object)
    rhythm, morph = np.eye(4, dtype=bool)[p["rhythm"]], p["morphology"]
    labels = {
        "diagnosis": LabelSet(CLASSES, np.concatenate([rhythm, morph], axis=1)),
        "rhythm": LabelSet(RHYTHMS, rhythm),
        "morphology": LabelSet(MORPHOLOGIES, morph),
    }
    return ECGRecords(signals, fs, ids, ids.copy(), labels, _meta(p, ids, duration), "synthetic")


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([d[k] for d in parts]) for k in parts[0]}


def _probabilities(given: Mapping | None, default: Mapping, names: tuple, arg: str) -> np.ndarray:
    """``given`` (else ``default``) as an array over ``names``, missing keys 0."""
    given = default if given is None else given
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"{arg}: unknown class(es) {unknown}; expected keys from {list(names)}")
    p = np.array([float(given.get(k, 0.0)) for k in names])
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"{arg}: probabilities must lie in [0, 1], got {dict(given)}")
    return p


def _draw_block(
    rng: np.random.Generator,
    m: int,
    p_rhythm: np.ndarray,
    p_morph: np.ndarray,
    nz: Nuisance,
    n_beats: int,
    fs: float,
) -> dict[str, np.ndarray]:
    """Every per-record parameter of ``m`` records. Draws the same amount whatever is on."""
    # Labels: one rhythm; RBBB/LBBB one three-way choice; AMI, IMI, LVH independent.
    u_rhythm, u_bundle = rng.random((2, m))
    rhythm = np.minimum(np.searchsorted(np.cumsum(p_rhythm), u_rhythm, side="right"), 3)
    morph = np.empty((m, 5), dtype=bool)
    morph[:, 0] = u_bundle < p_morph[0]
    morph[:, 1] = (u_bundle >= p_morph[0]) & (u_bundle < p_morph[0] + p_morph[1])
    morph[:, 2:] = rng.random((m, 3)) < p_morph[2:]
    is_af = rhythm == 3
    table = wave_table(rng, is_af, morph, nz.jitter_fraction if nz.jitter else 0.0)

    # Beats: sinus RR with respiratory sinus arrhythmia and jitter; AF RR iid log-normal.
    bounds = np.array([HEART_RATE_BPM[r] for r in RHYTHMS])[rhythm]  # (m, 2)
    rr_mean = 60.0 / uniform(rng.random(m), bounds.T)
    rsa = uniform(rng.random(m), nz.rsa_fraction) * nz.hrv
    beats, rr = beat_times(rng, rr_mean, is_af, rsa, nz.rr_jitter * nz.hrv, n_beats)

    # Heart orientation and body size: M = S @ Rz @ Ry @ Rx.
    angles = uniform(rng.random((m, 3)), (-1.0, 1.0)) * nz.max_rotation_deg * nz.rotation
    log_scale = rng.standard_normal(m) * nz.scale_sigma * nz.scaling
    log_axis = rng.standard_normal((m, 3)) * nz.axis_scale_sigma * nz.scaling
    axis_scale = np.exp(log_scale[:, None] + log_axis)
    mix = axis_scale[:, :, None] * _rotation(np.deg2rad(angles))  # (m, 3, 3)

    # AF f-waves: 4-9 Hz carrier, frequency-modulated by +-0.3-1 Hz at 0.1-0.3 Hz.
    f_hz = uniform(rng.random(m), (4.0, 9.0))
    f_mod = uniform(rng.random(m), (0.1, 0.3))
    f_dev = uniform(rng.random(m), (0.3, 1.0))
    f_amp = uniform(rng.random(m), (0.04, 0.1)) * is_af
    f_phase = rng.random((m, 2)) * 2 * np.pi

    # Baseline wander: per record 1-3 frequencies; per lead sin/cos coefficients.
    b_hz = uniform(rng.random((m, _N_BASELINE)), nz.baseline_hz)
    b_count = rng.integers(1, _N_BASELINE + 1, size=m)
    b_level = uniform(rng.random(m), nz.baseline_mv) * nz.baseline
    b_amp = rng.random((m, 8, _N_BASELINE)) * 0.7 + 0.3
    b_phase = rng.random((m, 8, _N_BASELINE)) * 2 * np.pi
    b_amp *= (b_level / np.sqrt(b_count))[:, None, None]
    b_amp *= np.arange(_N_BASELINE) < b_count[:, None, None]
    b_coef = np.concatenate([b_amp * np.cos(b_phase), b_amp * np.sin(b_phase)], axis=2)

    # Muscle noise rms per lead; powerline per lead.
    e_level = uniform(rng.random(m), nz.muscle_mv) * nz.muscle
    e_rms = e_level[:, None] * (0.7 + 0.6 * rng.random((m, 8)))
    p_which = rng.integers(0, len(nz.mains_hz), size=m)
    p_hz = np.asarray(nz.mains_hz, dtype=float)[p_which]
    p_on = nz.powerline & (p_hz < fs / 2)
    p_level = uniform(rng.random(m), nz.powerline_mv) * p_on
    p_amp = p_level[:, None] * (0.5 + rng.random((m, 8)))
    p_phase = rng.random((m, 8)) * 2 * np.pi
    p_coef = np.stack([p_amp * np.cos(p_phase), p_amp * np.sin(p_phase)], axis=2)

    return {
        "rhythm": rhythm, "morphology": morph, "mu": table.mu, "sigma": table.sigma,
        "amp": table.amp, "lvh_factor": table.lvh_factor, "qrs_s": table.qrs_duration(),
        "beats": beats, "rr": rr, "rr_mean": rr_mean, "angles": angles, "mix": mix,
        "axis_scale": np.exp(log_axis), "scale": np.exp(log_scale),
        "f_hz": f_hz, "f_mod": f_mod, "f_dev": f_dev, "f_amp": f_amp, "f_phase": f_phase,
        "b_hz": b_hz, "b_coef": b_coef, "b_level": b_level,
        "e_rms": e_rms,
        "p_which": p_which, "p_hz": np.where(p_on, p_hz, 0.0), "p_level": p_level,
        "p_coef": p_coef,
    }  # fmt: skip


def _rotation(angles: np.ndarray) -> np.ndarray:
    """``(m, 3)`` angles (rad) about X, Y, Z -> ``(m, 3, 3)`` matrices ``Rz @ Ry @ Rx``."""
    c, s = np.cos(angles), np.sin(angles)
    one, zero = np.ones(len(angles)), np.zeros(len(angles))
    rx = np.stack([one, zero, zero, zero, c[:, 0], -s[:, 0], zero, s[:, 0], c[:, 0]], axis=1)
    ry = np.stack([c[:, 1], zero, s[:, 1], zero, one, zero, -s[:, 1], zero, c[:, 1]], axis=1)
    rz = np.stack([c[:, 2], -s[:, 2], zero, s[:, 2], c[:, 2], zero, zero, zero, one], axis=1)
    return rz.reshape(-1, 3, 3) @ ry.reshape(-1, 3, 3) @ rx.reshape(-1, 3, 3)


def _workspace(batch: int, n_samples: int, nz: Nuisance) -> dict[str, np.ndarray]:
    """Buffers reused by every chunk (fresh large arrays per chunk cost page faults)."""
    n_rows = 8 + 2 * _N_BASELINE * nz.baseline + 2 * nz.powerline
    shapes = {k: (batch, n_samples) for k in ("since", "until", "corrected", "tmp")}
    shapes["basis"] = (batch, n_rows, n_samples)
    shapes["leads"] = (batch, 8, n_samples)
    shapes["noise"] = (batch, 8, n_samples) if nz.muscle else (0,)
    return {k: np.empty(shape, dtype=np.float32) for k, shape in shapes.items()}


def _render(p: dict, gens: list, fs: float, nz: Nuisance, work: dict, out: np.ndarray) -> None:
    """Write the ``(N, 12, T)`` signals of the records ``p`` into ``out`` (buffers: ``work``);
    only the muscle noise is drawn here, from ``gens``: ``(Generator, record count)`` per block."""
    n, t_len = out.shape[0], out.shape[2]
    f32 = np.float32
    basis, leads = work["basis"][:n], work["leads"][:n]  # G (N, K, T), (N, 8, T)
    coef = np.zeros((n, 8, basis.shape[1]))  # C (N, 8, K)
    t = (np.arange(t_len) / fs).astype(f32)  # (T,)
    tmp = work["tmp"][:n]

    evaluate_waves(p, fs, basis[:, :7], work)
    lead_mix = np.einsum("lx,nxy->nly", _D8, p["mix"])  # D S R   (N, 8, 3)
    coef[:, :, :7] = np.einsum("nly,nwy->nlw", lead_mix, p["amp"])

    # AF f-waves: sin(2 pi f t - (df / fm) cos(2 pi fm t + psi) + phi), AF records only.
    basis[:, 7] = 0.0
    af = np.flatnonzero(p["f_amp"] > 0)
    if af.size:
        phase = np.multiply(t, (2 * np.pi * p["f_mod"][af, None]).astype(f32))
        phase += p["f_phase"][af, :1].astype(f32)
        np.cos(phase, out=phase)
        phase *= (-p["f_dev"] / p["f_mod"])[af, None].astype(f32)
        phase += t * (2 * np.pi * p["f_hz"][af, None]).astype(f32)
        phase += p["f_phase"][af, 1:].astype(f32)
        basis[af, 7] = np.sin(phase)
    coef[:, :, 7] = lead_mix @ _F_DIRECTION * p["f_amp"][:, None]

    row = 8
    if nz.baseline:  # sin and cos of each wander frequency; phases live in the coefficients
        for c in range(_N_BASELINE):
            np.multiply(t, (2 * np.pi * p["b_hz"][:, c, None]).astype(f32), out=tmp)
            np.sin(tmp, out=basis[:, row + c])
            np.cos(tmp, out=basis[:, row + _N_BASELINE + c])
        coef[:, :, row : row + 2 * _N_BASELINE] = p["b_coef"]
        row += 2 * _N_BASELINE
    if nz.powerline:  # the same few sinusoids for everyone: tabulate in float64
        phase = 2 * np.pi * np.outer(nz.mains_hz, np.arange(t_len) / fs)
        basis[:, row] = np.sin(phase).astype(f32)[p["p_which"]]
        basis[:, row + 1] = np.cos(phase).astype(f32)[p["p_which"]]
        coef[:, :, row : row + 2] = p["p_coef"]

    np.matmul(coef.astype(f32), basis, out=leads)  # (N, 8, K) @ (N, K, T)

    if nz.muscle:  # white: the sum of two uniform int8 draws (rms 104.5), cheaper than a Gaussian
        noise, start = work["noise"][:n], 0
        for gen, m in gens:
            raw = gen.bit_generator.random_raw(2 * m * t_len).astype("<u8", copy=False)
            pair = raw.view(np.int8).reshape(m, 8, 2, t_len)
            block = noise[start : start + m]
            np.add(pair[:, :, 0], pair[:, :, 1], dtype=f32, out=block)
            block *= (p["e_rms"][start : start + m] / _INT8_PAIR_RMS).astype(f32)[..., None]
            start += m
        leads += noise

    out[:, _INDEPENDENT] = leads  # I, II, V1..V6
    out[:, 2], out[:, 3], out[:, 4], out[:, 5] = derived_limb_leads(out[:, 0], out[:, 1])


def _meta(p: dict[str, np.ndarray], ids: np.ndarray, duration: float) -> pd.DataFrame:
    """Per-record ground truth. ``heart_rate_bpm`` and ``rr_cv`` from the RR intervals between
    R peaks inside the record (the drawn mean rate where fewer than two fall inside);
    ``qrs_axis_deg``: frontal angle ``atan2(Y, X)`` of the oriented R-wave vector (0 = lead
    I, +90 = feet); ``af_f_hz`` NaN unless AF; noise levels in mV, 0 when off (``muscle_mv``:
    rms averaged over I, II, V1-V6)."""
    beats, rr = p["beats"], p["rr"]
    inside = (beats >= 0) & (beats < duration)
    pair = inside[:, :-1] & inside[:, 1:]  # interval k: beats k and k + 1 inside
    count = pair.sum(axis=1)
    denominator = np.maximum(count, 1)
    mean = np.where(pair, rr[:, :-1], 0.0).sum(axis=1) / denominator
    sd = np.sqrt(np.where(pair, (rr[:, :-1] - mean[:, None]) ** 2, 0.0).sum(axis=1) / denominator)
    mean_rr = np.where(count >= 1, mean, p["rr_mean"])
    r_vec = np.einsum("nxy,ny->nx", p["mix"], p["amp"][:, R])
    return pd.DataFrame({
        "record_id": ids, "rhythm": np.array(RHYTHMS, dtype=object)[p["rhythm"]],
        "morphology": ["+".join(np.array(MORPHOLOGIES)[row]) for row in p["morphology"]],
        "heart_rate_bpm": 60.0 / mean_rr, "rr_cv": np.where(count >= 2, sd / mean_rr, np.nan),
        "qrs_ms": 1000 * p["qrs_s"],
        "qrs_axis_deg": np.rad2deg(np.arctan2(r_vec[:, 1], r_vec[:, 0])),
        **{f"rot_{k}_deg": p["angles"][:, i] for i, k in enumerate("xyz")},
        "amplitude_scale": p["scale"],
        **{f"scale_{k}": p["axis_scale"][:, i] for i, k in enumerate("xyz")},
        "lvh_factor": p["lvh_factor"], "af_f_hz": np.where(p["rhythm"] == 3, p["f_hz"], np.nan),
        "baseline_mv": p["b_level"], "muscle_mv": p["e_rms"].mean(axis=1),
        "powerline_mv": p["p_level"], "powerline_hz": p["p_hz"],
    })  # fmt: skip


# The beat model: the R times and the seven waves of a beat, evaluated on the samples.
WAVES: tuple[str, ...] = ("P", "Q", "R", "S", "R2", "ST", "T")  # the wave axis of WaveTable
P, Q, R, S, R2, ST, T = range(7)
ANCHOR: tuple[str, ...] = ("next", "near", "near", "near", "near", "prev", "prev")
QRS_WAVES: tuple[int, ...] = (Q, R, S, R2)
_QRS = list(QRS_WAVES)  # a list indexes one axis (a tuple would index several)

# Normal heart:    offset (s), width (s), amplitude X, Y, Z (mV)
_NORMAL = np.array(
    [
        [-0.170, 0.022, 0.08, 0.12, -0.02],  # P
        [-0.025, 0.007, -0.10, -0.02, -0.10],  # Q  septal: rightward, anterior
        [0.000, 0.010, 1.00, 0.80, 0.25],  # R  left, inferior, slightly posterior
        [0.028, 0.009, -0.20, -0.15, 0.35],  # S  rightward, superior, posterior
        [0.075, 0.019, 0.00, 0.00, 0.00],  # R2 absent
        [0.150, 0.045, 0.00, 0.00, 0.00],  # ST isoelectric
        [0.260, 0.050, 0.28, 0.16, -0.12],  # T  left, inferior, anterior
    ]
)

# Bundle-branch blocks replace whole waves: (slot, offset, width, X, Y, Z).
_RBBB = [
    (R2, 0.075, 0.019, -0.35, -0.05, -0.45),  # late R': rightward-anterior -> rsR' in V1
    (T, 0.260, 0.050, 0.28, 0.16, 0.08),  # secondary T inversion in V1-V2
]
_LBBB = [
    (Q, -0.025, 0.007, 0.0, 0.0, 0.0),  # no septal q
    (R, 0.020, 0.022, 1.00, 0.35, 0.85),  # slow leftward-posterior activation
    (S, 0.028, 0.009, 0.0, 0.0, 0.0),
    (R2, 0.068, 0.021, 0.75, 0.15, 0.65),  # notched, broad R in I, V6; QS in V1
    (ST, 0.150, 0.045, -0.05, 0.00, -0.08),  # discordant ST
    (T, 0.260, 0.050, -0.25, -0.05, -0.30),  # discordant T
]
# Infarcts add initial forces away from the dead wall and an injury (ST) vector towards it.
_Q_INFARCT_OFFSET, _Q_INFARCT_WIDTH = -0.022, 0.012  # pathological Q: >= 40 ms
_AMI_Q = np.array([0.0, 0.0, 0.28])  # posterior initial forces: QS in V1-V4
_AMI_ST = np.array([0.05, 0.0, -0.22])  # anterior injury: ST up in V1-V4
_IMI_Q = np.array([0.0, -0.30, 0.0])  # superior initial forces: Q in II, III, aVF
_IMI_ST = np.array([-0.05, 0.20, 0.0])  # inferior injury: ST up in II, III, aVF
_LVH_STRAIN_T = np.array([-0.20, 0.02, -0.15])  # T opposite to the big QRS: inverted in I, V5-V6
_LVH_STRAIN_ST = np.array([-0.04, 0.0, -0.03])

AF_RR_CV = (0.15, 0.25)  # coefficient of variation of AF's RR intervals
RR_LIMITS = (0.3, 2.0)  # s: every RR interval is clipped to 30-200 bpm
LVH_FACTOR = (1.6, 2.2)  # LVH voltage factor on the QRS waves' X and Z components
ST_SCALE = (0.7, 1.4)  # factor on an infarct's ST vector: 0.15-0.3 mV in the facing leads


def uniform(u: np.ndarray, lo_hi: tuple) -> np.ndarray:
    """Map U(0, 1) draws ``u`` onto the range ``lo_hi``."""
    return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * u


@dataclass(frozen=True)
class WaveTable:
    """Per-record wave parameters: ``mu``, ``sigma`` ``(N, 7)`` s (rate-corrected for ST and
    T), ``amp`` ``(N, 7, 3)`` mV before orientation and body size, ``lvh_factor`` ``(N,)`` (1
    without LVH)."""

    mu: np.ndarray
    sigma: np.ndarray
    amp: np.ndarray
    lvh_factor: np.ndarray

    def qrs_duration(self) -> np.ndarray:
        """``(N,)`` nominal QRS duration (s): from the start of the earliest to the end of the
        latest QRS wave with at least 5 % of the largest one's amplitude, a wave spanning
        ``mu +- 2.5 sigma`` (where it has fallen to 4 % of its peak)."""
        size = np.linalg.norm(self.amp[:, _QRS], axis=-1)  # (N, 4)
        present = size >= 0.05 * size.max(axis=1, keepdims=True)
        mu, sigma = self.mu[:, _QRS], self.sigma[:, _QRS]
        start = np.where(present, mu - 2.5 * sigma, np.inf).min(axis=1)
        end = np.where(present, mu + 2.5 * sigma, -np.inf).max(axis=1)
        return end - start


def beat_times(
    rng: np.random.Generator,
    rr_mean: np.ndarray,
    is_af: np.ndarray,
    rsa: np.ndarray,
    rr_jitter: float,
    n_beats: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, B)`` R times (``beats[:, 0] <= 0 < beats[:, 1]``, a random phase) and the RR to
    the next, clipped to :data:`RR_LIMITS`: sinus ``RR_mean (1 + rsa sin(2 pi f_resp k RR_mean
    + phi) + rr_jitter z_k)`` with ``f_resp`` 0.15-0.4 Hz, AF iid log-normal with a coefficient
    of variation in :data:`AF_RR_CV`. Always the same amount of randomness."""
    n = len(rr_mean)
    z = rng.standard_normal((n, n_beats))
    f_resp, phi, first, u_cv = rng.random((4, n))
    arg = 2 * np.pi * (0.15 + 0.25 * f_resp) * rr_mean
    arg = arg[:, None] * np.arange(n_beats) + 2 * np.pi * phi[:, None]
    rel = 1.0 + rsa[:, None] * np.sin(arg) + rr_jitter * z
    s = np.sqrt(np.log1p(uniform(u_cv, AF_RR_CV) ** 2))[:, None]
    rel = np.where(is_af[:, None], np.exp(s * z - s**2 / 2), rel)
    rr = np.clip(rr_mean[:, None] * rel, *RR_LIMITS)  # (N, B)
    beats = np.empty_like(rr)
    beats[:, 0] = -first * rr[:, 0]  # random phase
    beats[:, 1:] = beats[:, :1] + np.cumsum(rr[:, :-1], axis=1)
    return beats, rr


def wave_table(
    rng: np.random.Generator, is_af: np.ndarray, morphology: np.ndarray, jitter: float
) -> WaveTable:
    """The wave parameters of N records from ``(N,)`` AF flags and ``(N, 5)`` morphologies,
    always with the same amount of randomness. ``jitter``: each wave's amplitude times a
    log-normal of sigma ``jitter`` plus ``jitter / 2 * |a|`` noise per axis, its offset and
    width times ``1 +- jitter / 2`` (1 sd, clipped at 2 sd); 0 for textbook templates."""
    n = len(is_af)
    rbbb, lbbb, ami, imi, lvh = (morphology[:, k] for k in range(5))
    # Fixed-size draws, in a fixed order.
    z_time = np.clip(rng.standard_normal((n, 7, 2)), -2.0, 2.0)
    z_amp = np.clip(rng.standard_normal((n, 7)), -2.0, 2.0)
    z_dir = np.clip(rng.standard_normal((n, 7, 3)), -2.0, 2.0)
    u_lvh, u_strain, u_ami, u_imi = rng.random((4, n))

    table = np.broadcast_to(_NORMAL, (n, 7, 5)).copy()
    for mask, changes in ((rbbb, _RBBB), (lbbb, _LBBB)):
        for slot, *values in changes:
            table[mask, slot] = values
    mu, sigma, amp = table[..., 0], table[..., 1], table[..., 2:]
    amp[is_af, P] = 0.0

    # LVH: bigger QRS voltage, mostly leftward and posterior; strain T half of the time.
    factor = np.where(lvh, uniform(u_lvh, LVH_FACTOR), 1.0)
    amp[:, _QRS] *= np.stack([factor, np.sqrt(factor), factor], axis=-1)[:, None, :]
    strain = lvh & ~lbbb & (u_strain < 0.5)
    amp[strain, T] = _LVH_STRAIN_T
    amp[strain, ST] = _LVH_STRAIN_ST

    # Infarcts: pathological Q (loss of the forces facing the dead wall) and injury current.
    infarct = ami | imi
    mu[infarct, Q] = _Q_INFARCT_OFFSET
    sigma[infarct, Q] = _Q_INFARCT_WIDTH
    amp[ami, Q, 2] = np.maximum(amp[ami, Q, 2], 0.0)  # no anterior septal force left
    amp[ami, Q] += _AMI_Q
    amp[ami, R, 2] += 0.30  # poor R-wave progression in V1-V3
    amp[imi, Q] += _IMI_Q
    amp[imi, R, 1] *= 0.6
    amp[:, ST] += (ami * uniform(u_ami, ST_SCALE))[:, None] * _AMI_ST
    amp[:, ST] += (imi * uniform(u_imi, ST_SCALE))[:, None] * _IMI_ST

    # Inter-subject variability.
    mu = mu * (1.0 + 0.5 * jitter * z_time[..., 0])
    sigma = sigma * (1.0 + 0.5 * jitter * z_time[..., 1])
    size = np.linalg.norm(amp, axis=-1, keepdims=True)
    amp = amp * np.exp(jitter * z_amp)[..., None] + 0.5 * jitter * size * z_dir
    return WaveTable(mu=mu, sigma=sigma, amp=amp, lvh_factor=factor)


def evaluate_waves(p: dict, fs: float, out: np.ndarray, work: dict) -> None:
    """Write the seven waves of the records ``p`` (``mu``, ``sigma``, ``beats``, ``rr`` of
    :func:`_draw_block`) into ``out`` ``(N, 7, T)`` float32 (sample ``i`` at ``i / fs``), using
    the ``(N, T)`` scratch of :func:`_workspace`. Per-beat values repeated over each RR segment
    (``np.repeat``) give each sample its time from the previous, next and nearest R without a
    loop over beats; a sample sees only its two neighbouring beats, which cuts off under 1 % of
    a wave's peak for RR >= 0.3 s (2 % of the ST wave's leading tail, under R). Waves are
    clipped at ``exp(-80)``: no denormals."""
    mu, sigma, beats, rr = p["mu"], p["sigma"], p["beats"], p["rr"]
    n, t_len = out.shape[0], out.shape[2]
    since, until, corrected, tmp = (work[k][:n] for k in ("since", "until", "corrected", "tmp"))
    t = (np.arange(t_len) / fs).astype(np.float32)
    first = np.clip(np.ceil(beats * fs), 0, t_len).astype(np.int64)  # (N, B) first sample
    counts = np.diff(first, axis=1, append=np.full((n, 1), t_len)).ravel()

    def per_sample(values: np.ndarray) -> np.ndarray:  # (N, B) -> (N, T)
        return np.repeat(values.astype(np.float32).ravel(), counts).reshape(n, t_len)

    np.subtract(t, per_sample(beats), out=since)  # t - previous R
    np.subtract(since, per_sample(rr), out=until)  # t - next R (< 0)
    nearest = np.where(since + until <= 0, since, until)  # t - nearest R
    np.multiply(since, per_sample(1 / np.sqrt(rr)), out=corrected)  # Bazett clock
    clock = {"next": until, "near": nearest, "prev": corrected}

    mu32 = mu.astype(np.float32)
    inv = (1 / (np.sqrt(2) * sigma)).astype(np.float32)
    for w, anchor in enumerate(ANCHOR):
        np.subtract(clock[anchor], mu32[:, w, None], out=tmp)
        tmp *= inv[:, w, None]
        np.square(tmp, out=tmp)
        np.minimum(tmp, 80.0, out=tmp)
        np.negative(tmp, out=tmp)
        np.exp(tmp, out=out[:, w])
