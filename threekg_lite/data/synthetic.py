r"""Synthetic 12-lead ECGs from a physiological dipole model, with ground-truth labels.

The model
---------
The heart is one electrical dipole ``v(t)`` in Frank axes (X left, Y feet, Z back; see
:mod:`threekg_lite.vcg`): the vectorcardiogram (VCG). Following McSharry et al. (2003),
each beat is a sum of Gaussian waves (P, Q, R, S, T); McSharry integrates an ODE on a limit
cycle whose solution is such a sum, and Sameni et al. (2007) give each of the three VCG axes
its own sum. Here every wave ``w`` is one *dipole lobe* with a 3-D amplitude vector ``a_w``
(mV), so the QRS loop comes from overlapping lobes pointing different ways::

    v(t) = sum_beats sum_w  a_w exp(-(t - t_b - mu_w)^2 / (2 sigma_w^2))        (3,)

``t_b`` are the R times, ``mu_w`` and ``sigma_w`` the wave's offset and width (templates and
classes in :mod:`.synthetic_waves`). Waves after R (ST, T) run on the rate-corrected clock
``(t - t_b) / sqrt(RR)`` (Bazett), so QT shortens with heart rate. The waves are localised,
so each sample sees only its two neighbouring beats: waves before R are timed from the next
R, waves after R from the previous one, the QRS from the nearest (``np.repeat`` of per-beat
values over each RR segment; no loop over samples or beats). With RR >= 0.3 s what this cuts
off a wave is below 1 % of its peak, except the ST wave's leading tail (about 2 %, hidden
under the R wave).

The heart's orientation ``R`` (rotations about X, then Y, then Z) and the body's size ``S``
(diagonal, log-normal) act on the dipole, and Dower's matrix ``D`` (8 x 3) projects it to the
independent leads I, II, V1-V6, where per-lead noise is added::

    x_l(t) = D_l S R v(t) + baseline_l(t) + powerline_l(t) + emg_l(t)     l in I, II, V1..V6

Leads III, aVR, aVL and aVF are then *recomputed* from the noisy I and II, so
III = II - I, aVR = -(I + II)/2, aVL = I - II/2 and aVF = II - I/2 hold exactly (to float32
rounding) in every record, noise included. All eight noisy leads and the f-waves are rows
of one basis ``G`` (Gaussian waves, f-wave, sinusoids), mapped to the leads by a single
``(N, 8, K) @ (N, K, T)`` matmul.

Classes (:data:`CLASSES`): one rhythm per record, NSR (60-100 bpm), SB (40-59), STACH
(101-150) or AF (iid log-normal RR, coefficient of variation 0.15-0.25, mean 60-140 bpm, no
P wave, 4-9 Hz frequency-modulated f-waves along an atrial axis seen mostly in V1 and the
inferior leads); and any of the morphologies RBBB, LBBB (never both), AMI, IMI, LVH.
Default prevalences (:data:`DEFAULT_RHYTHM_PROBS`, :data:`DEFAULT_MORPHOLOGY_PROBS`): NSR
40 %, SB, STACH and AF 20 % each; RBBB 15 %, LBBB 12 %, AMI 12 %, IMI 12 %, LVH 15 %, so every
class has at least 8 %, and combinations such as AF + LBBB or SB + IMI occur.

Nuisance (:class:`Nuisance`, each on by default): heart orientation, body size, heart-rate
variability, inter-subject wave variability, baseline wander (1-3 sinusoids of 0.05-0.5 Hz,
lead-specific amplitude and phase), muscle noise (white, with a triangular distribution: the
sum of two uniform int8 draws, several times cheaper than a Gaussian) and powerline
interference (50 or 60 Hz, only below the Nyquist frequency, as a real recorder's anti-alias
filter would remove it otherwise). All noise is added to I, II, V1-V6 only (see above).

Sources: P. E. McSharry, G. D. Clifford, L. Tarassenko, L. A. Smith, "A dynamical model for
generating synthetic electrocardiogram signals", IEEE TBME 50(3):289-294, 2003. R. Sameni,
G. D. Clifford, C. Jutten, M. B. Shamsollahi, "Multichannel ECG and noise modeling:
application to maternal and fetal ECG signals", EURASIP J. Adv. Signal Process. 2007:043407.
Dower, Machado & Osborne, Clin. Cardiol. 3:87-95, 1980.

Randomness: record ``i`` is a function of ``(seed, i)`` only. Records come in blocks of
:data:`BLOCK`, one :class:`numpy.random.SeedSequence` child per block; a block draws all of its
parameters in a fixed order and amount, then its noise. So the output does not depend on
``chunk_size``, ``generate(n)[:m]`` equals ``generate(m)``, and switching a nuisance off does
not change anything else about a record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np
import pandas as pd

from threekg_lite.data.records import ECGRecords, LabelSet
from threekg_lite.data.synthetic_waves import RR_LIMITS, beat_times, evaluate_waves, wave_table
from threekg_lite.data.synthetic_waves import R as _R_SLOT
from threekg_lite.leads import INDEPENDENT_INDEX, derived_limb_leads
from threekg_lite.vcg import DOWER_8

RHYTHMS: tuple[str, ...] = ("NSR", "SB", "STACH", "AF")
MORPHOLOGIES: tuple[str, ...] = ("RBBB", "LBBB", "AMI", "IMI", "LVH")
CLASSES: tuple[str, ...] = RHYTHMS + MORPHOLOGIES
DEFAULT_RHYTHM_PROBS: Mapping[str, float] = MappingProxyType(
    {"NSR": 0.4, "SB": 0.2, "STACH": 0.2, "AF": 0.2}
)
DEFAULT_MORPHOLOGY_PROBS: Mapping[str, float] = MappingProxyType(
    {"RBBB": 0.15, "LBBB": 0.12, "AMI": 0.12, "IMI": 0.12, "LVH": 0.15}
)
HEART_RATE_BPM: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"NSR": (60.0, 100.0), "SB": (40.0, 59.0), "STACH": (101.0, 150.0), "AF": (60.0, 140.0)}
)
"""Range of each rhythm's mean heart rate, drawn uniformly per record."""
BLOCK = 16
"""Records per random block (one SeedSequence child each)."""

_N_BASELINE = 3  # sinusoids of baseline wander
_F_DIRECTION = np.array([-0.3, 0.5, -0.8]) / np.linalg.norm([-0.3, 0.5, -0.8])
_D8 = np.asarray(DOWER_8, dtype=np.float64)  # (8, 3)
_INDEPENDENT = list(INDEPENDENT_INDEX)
_INT8_PAIR_RMS = np.sqrt(2 * (256**2 - 1) / 12)  # rms of the sum of two uniform int8


@dataclass(frozen=True)
class Nuisance:
    """Variation that does not change the diagnosis. Each part has an on/off flag.

    Ranges ``(lo, hi)`` are drawn uniformly per record.

    Attributes
    ----------
    rotation, max_rotation_deg
        Heart orientation: angles uniform in +-``max_rotation_deg`` about X, Y and Z.
    scaling, scale_sigma, axis_scale_sigma
        Body size: the dipole is multiplied by ``exp(scale_sigma * z)`` and, per axis, by
        ``exp(axis_scale_sigma * z_axis)`` (z standard normal).
    hrv, rsa_fraction, rr_jitter
        Sinus heart-rate variability: RR modulated by a 0.15-0.4 Hz respiratory sinusoid of
        relative amplitude ``rsa_fraction`` plus iid jitter of relative sd ``rr_jitter``.
        (AF's irregular RR is part of the diagnosis and always on.)
    jitter, jitter_fraction
        Inter-subject variability of wave amplitudes, directions, timings and widths (see
        :func:`.synthetic_waves.wave_table`).
    baseline, baseline_mv, baseline_hz
        Baseline wander: 1-3 sinusoids of frequency in ``baseline_hz``, peak about
        ``baseline_mv`` per lead, lead-specific amplitude and phase.
    muscle, muscle_mv
        Muscle (EMG) noise: white, rms ``muscle_mv`` (per-lead factor 0.7-1.3).
    powerline, powerline_mv, mains_hz
        Powerline interference: one of ``mains_hz``, amplitude ``powerline_mv`` (per-lead
        factor 0.5-1.5, lead-specific phase); left out where ``mains_hz >= fs / 2``.
    """

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
        """No nuisance at all: textbook templates, regular sinus RR, clean signals."""
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
    """Generate ``n`` labelled synthetic 12-lead ECGs.

    Parameters
    ----------
    n
        Number of records (>= 0).
    fs, duration
        Sampling rate (Hz) and length (s); each record has ``T = round(fs * duration)``
        samples.
    seed
        An int, or a :class:`numpy.random.Generator` (four integers are drawn from it to seed
        the records' :class:`~numpy.random.SeedSequence`).
    rhythm_probs
        Probability of each rhythm (keys from :data:`RHYTHMS`; missing keys are 0; must sum
        to 1). Default :data:`DEFAULT_RHYTHM_PROBS`.
    morphology_probs
        Marginal probability of each morphology (keys from :data:`MORPHOLOGIES`; missing
        keys are 0). RBBB and LBBB are drawn as one three-way choice, so
        ``RBBB + LBBB <= 1``; the others independently. Default
        :data:`DEFAULT_MORPHOLOGY_PROBS`.
    nuisance
        Which nuisance to add; default ``Nuisance()`` (all of it). ``Nuisance.off()`` for
        clean signals.
    chunk_size
        Records rendered per vectorised batch (rounded up to a multiple of :data:`BLOCK`);
        trades memory for speed, never changes the output.

    Returns
    -------
    ECGRecords
        ``signals`` ``(n, 12, T)`` float32 in mV, standard lead order; ids ``syn00000``...;
        label tasks ``"diagnosis"`` (:data:`CLASSES`), ``"rhythm"``, ``"morphology"``;
        ``meta`` with the per-record truth (see :func:`_meta`).

    Raises
    ------
    ValueError
        If ``n < 0``, ``fs <= 0``, ``duration <= 0``, ``chunk_size < 1``, or the
        probabilities name unknown classes, leave [0, 1], do not sum to 1 (rhythms) or give
        RBBB + LBBB > 1.

    Examples
    --------
    >>> rec = generate(8, fs=100.0, duration=2.0, seed=1)
    >>> rec.signals.shape, rec.labels["diagnosis"].names[:4]
    ((8, 12, 200), ('NSR', 'SB', 'STACH', 'AF'))
    >>> clean = generate(8, fs=100.0, duration=2.0, seed=1, nuisance=Nuisance.off())
    >>> bool((rec.y("diagnosis") == clean.y("diagnosis")).all())  # same records, no nuisance
    True
    """
    n, fs, duration, chunk_size = _check_sizes(n, fs, duration, chunk_size)
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
        root = np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    else:
        root = np.random.SeedSequence(seed)
    n_samples = round(fs * duration)
    n_beats = int(np.ceil((duration + RR_LIMITS[1]) / RR_LIMITS[0])) + 2  # covers [0, duration]
    children = root.spawn(-(-n // BLOCK))
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
        p = {k: np.concatenate([d[k] for d in drawn]) for k in drawn[0]}
        start = c0 * BLOCK
        _render(p, gens, fs, nuisance, work, signals[start : start + len(p["rhythm"])])
        parts.append(p)

    p = {k: np.concatenate([d[k] for d in parts]) for k in parts[0]} if parts else None
    ids = np.array([f"syn{i:05d}" for i in range(n)], dtype=object)
    rhythm = np.eye(4, dtype=bool)[p["rhythm"]] if p else np.zeros((0, 4), bool)
    morph = p["morphology"] if p else np.zeros((0, 5), bool)
    return ECGRecords(
        signals=signals,
        fs=fs,
        record_ids=ids,
        patient_ids=ids.copy(),
        labels={
            "diagnosis": LabelSet(CLASSES, np.concatenate([rhythm, morph], axis=1)),
            "rhythm": LabelSet(RHYTHMS, rhythm),
            "morphology": LabelSet(MORPHOLOGIES, morph),
        },
        meta=_meta(p, ids, duration),
        source="synthetic",
    )


def _check_sizes(
    n: int, fs: float, duration: float, chunk_size: int
) -> tuple[int, float, float, int]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be > 0 Hz, got {fs!r}")
    if not np.isfinite(duration) or duration <= 0:
        raise ValueError(f"duration must be > 0 s, got {duration!r}")
    if round(fs * duration) < 1:
        raise ValueError(f"fs * duration = {fs * duration:g} gives no samples")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    return int(n), float(fs), float(duration), int(chunk_size)


def _probabilities(
    given: Mapping[str, float] | None,
    default: Mapping[str, float],
    names: tuple[str, ...],
    arg: str,
) -> np.ndarray:
    given = default if given is None else given
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"{arg}: unknown class(es) {unknown}; expected keys from {list(names)}")
    p = np.array([float(given.get(k, 0.0)) for k in names])
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"{arg}: probabilities must lie in [0, 1], got {dict(given)}")
    return p


def _uniform(u: np.ndarray, lo_hi: tuple[float, float]) -> np.ndarray:
    """Map U(0, 1) draws onto the range ``lo_hi``."""
    return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * u


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
    waves = wave_table(rng, is_af, morph, nz.jitter_fraction if nz.jitter else 0.0)

    # Beats: sinus RR with respiratory sinus arrhythmia and jitter; AF RR iid log-normal.
    bounds = np.array([HEART_RATE_BPM[r] for r in RHYTHMS])[rhythm]  # (m, 2)
    rr_mean = 60.0 / (bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * rng.random(m))
    rsa = _uniform(rng.random(m), nz.rsa_fraction) * nz.hrv
    beats, rr = beat_times(rng, rr_mean, is_af, rsa, nz.rr_jitter * nz.hrv, n_beats)

    # Heart orientation and body size: M = S @ Rz @ Ry @ Rx.
    angles = _uniform(rng.random((m, 3)), (-1.0, 1.0)) * nz.max_rotation_deg * nz.rotation
    log_scale = rng.standard_normal(m) * nz.scale_sigma * nz.scaling
    log_axis = rng.standard_normal((m, 3)) * nz.axis_scale_sigma * nz.scaling
    axis_scale = np.exp(log_scale[:, None] + log_axis)
    mix = axis_scale[:, :, None] * _rotation(np.deg2rad(angles))  # (m, 3, 3)

    # AF f-waves: 4-9 Hz carrier, frequency-modulated by +-0.3-1 Hz at 0.1-0.3 Hz.
    f_hz = _uniform(rng.random(m), (4.0, 9.0))
    f_mod = _uniform(rng.random(m), (0.1, 0.3))
    f_dev = _uniform(rng.random(m), (0.3, 1.0))
    f_amp = _uniform(rng.random(m), (0.04, 0.1)) * is_af
    f_phase = rng.random((m, 2)) * 2 * np.pi

    # Baseline wander: per record 1-3 frequencies; per lead sin/cos coefficients.
    b_hz = _uniform(rng.random((m, _N_BASELINE)), nz.baseline_hz)
    b_count = rng.integers(1, _N_BASELINE + 1, size=m)
    b_level = _uniform(rng.random(m), nz.baseline_mv) * nz.baseline
    b_amp = rng.random((m, 8, _N_BASELINE)) * 0.7 + 0.3
    b_phase = rng.random((m, 8, _N_BASELINE)) * 2 * np.pi
    b_amp *= (b_level / np.sqrt(b_count))[:, None, None]
    b_amp *= np.arange(_N_BASELINE) < b_count[:, None, None]
    b_coef = np.concatenate([b_amp * np.cos(b_phase), b_amp * np.sin(b_phase)], axis=2)

    # Muscle noise rms per lead; powerline per lead.
    e_level = _uniform(rng.random(m), nz.muscle_mv) * nz.muscle
    e_rms = e_level[:, None] * (0.7 + 0.6 * rng.random((m, 8)))
    p_which = rng.integers(0, len(nz.mains_hz), size=m)
    p_hz = np.asarray(nz.mains_hz, dtype=float)[p_which]
    p_on = nz.powerline & (p_hz < fs / 2)
    p_level = _uniform(rng.random(m), nz.powerline_mv) * p_on
    p_amp = p_level[:, None] * (0.5 + rng.random((m, 8)))
    p_phase = rng.random((m, 8)) * 2 * np.pi
    p_coef = np.stack([p_amp * np.cos(p_phase), p_amp * np.sin(p_phase)], axis=2)

    return {
        "rhythm": rhythm, "morphology": morph, "mu": waves.mu, "sigma": waves.sigma,
        "amp": waves.amp, "lvh_factor": waves.lvh_factor, "qrs_s": waves.qrs_duration(),
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
    shapes = {
        "since": (batch, n_samples),
        "until": (batch, n_samples),
        "corrected": (batch, n_samples),
        "tmp": (batch, n_samples),
        "basis": (batch, n_rows, n_samples),
        "leads": (batch, 8, n_samples),
        "noise": (batch, 8, n_samples) if nz.muscle else (0,),
    }
    return {k: np.empty(shape, dtype=np.float32) for k, shape in shapes.items()}


def _render(
    p: dict[str, np.ndarray],
    gens: list[tuple[np.random.Generator, int]],
    fs: float,
    nz: Nuisance,
    work: dict[str, np.ndarray],
    out: np.ndarray,
) -> None:
    """Write the ``(N, 12, T)`` signals of the records ``p`` into ``out``.

    ``gens`` are the records' block generators with their record counts, in order; only the
    muscle noise is drawn here. ``work`` holds the buffers (see :func:`_workspace`).
    """
    n, t_len = out.shape[0], out.shape[2]
    f32 = np.float32
    basis, leads = work["basis"][:n], work["leads"][:n]  # G (N, K, T), (N, 8, T)
    coef = np.zeros((n, 8, basis.shape[1]))  # C (N, 8, K)
    t = (np.arange(t_len) / fs).astype(f32)  # (T,)
    tmp = work["tmp"][:n]

    clocks = (work[k][:n] for k in ("since", "until", "corrected"))
    evaluate_waves(p["mu"], p["sigma"], p["beats"], p["rr"], fs, basis[:, :7], *clocks, tmp)
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

    if nz.muscle:  # white noise: sum of two uniform int8 draws, rms 104.5
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


META_COLUMNS: tuple[str, ...] = (
    "record_id", "rhythm", "morphology", "heart_rate_bpm", "rr_cv", "qrs_ms", "qrs_axis_deg",
    "rot_x_deg", "rot_y_deg", "rot_z_deg", "amplitude_scale", "scale_x", "scale_y", "scale_z",
    "lvh_factor", "af_f_hz", "baseline_mv", "muscle_mv", "powerline_mv", "powerline_hz",
)  # fmt: skip
"""Columns of ``generate(...).meta``."""


def _meta(p: dict[str, np.ndarray] | None, ids: np.ndarray, duration: float) -> pd.DataFrame:
    """Per-record ground truth.

    ``heart_rate_bpm`` and ``rr_cv``: 60 / mean and sd / mean of the RR intervals between
    R peaks inside the record (the drawn mean rate where fewer than two fall inside).
    ``qrs_ms``: nominal QRS duration (:meth:`.WaveTable.qrs_duration`). ``qrs_axis_deg``:
    frontal angle ``atan2(Y, X)`` of the R-wave vector after orientation and scaling (0 =
    lead I's direction, +90 = feet). ``rot_*_deg``: heart rotation about X, Y, Z.
    ``amplitude_scale``: global body-size factor; ``scale_*``: the extra per-axis factors.
    ``af_f_hz``: f-wave frequency (NaN unless AF). Noise levels in mV (0 when off):
    ``baseline_mv`` the record's wander level (per-lead peaks up to about this),
    ``muscle_mv`` the rms averaged over leads I, II, V1-V6, ``powerline_mv`` the record's
    amplitude level (per lead 0.5-1.5 times it); ``powerline_hz`` 0 when none was added.
    """
    if p is None:
        return pd.DataFrame(columns=list(META_COLUMNS))
    beats, rr = p["beats"], p["rr"]
    inside = (beats >= 0) & (beats < duration)
    pair = inside[:, :-1] & inside[:, 1:]  # interval k: beats k and k + 1 inside
    count = pair.sum(axis=1)
    denominator = np.maximum(count, 1)
    mean = np.where(pair, rr[:, :-1], 0.0).sum(axis=1) / denominator
    sd = np.sqrt(np.where(pair, (rr[:, :-1] - mean[:, None]) ** 2, 0.0).sum(axis=1) / denominator)
    mean_rr = np.where(count >= 1, mean, p["rr_mean"])
    r_vec = np.einsum("nxy,ny->nx", p["mix"], p["amp"][:, _R_SLOT])
    morph = p["morphology"]
    return pd.DataFrame(
        {
            "record_id": ids,
            "rhythm": np.array(RHYTHMS, dtype=object)[p["rhythm"]],
            "morphology": ["+".join(np.array(MORPHOLOGIES)[row]) for row in morph],
            "heart_rate_bpm": 60.0 / mean_rr,
            "rr_cv": np.where(count >= 2, sd / mean_rr, np.nan),
            "qrs_ms": 1000 * p["qrs_s"],
            "qrs_axis_deg": np.rad2deg(np.arctan2(r_vec[:, 1], r_vec[:, 0])),
            "rot_x_deg": p["angles"][:, 0],
            "rot_y_deg": p["angles"][:, 1],
            "rot_z_deg": p["angles"][:, 2],
            "amplitude_scale": p["scale"],
            "scale_x": p["axis_scale"][:, 0],
            "scale_y": p["axis_scale"][:, 1],
            "scale_z": p["axis_scale"][:, 2],
            "lvh_factor": p["lvh_factor"],
            "af_f_hz": np.where(p["rhythm"] == 3, p["f_hz"], np.nan),
            "baseline_mv": p["b_level"],
            "muscle_mv": p["e_rms"].mean(axis=1),
            "powerline_mv": p["p_level"],
            "powerline_hz": p["p_hz"],
        }
    )
