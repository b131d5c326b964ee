"""The beat model of the synthetic ECG (:mod:`.synthetic`): the R times, and the seven Gaussian
waves of a beat (offset ``mu`` from R and width ``sigma`` in s, amplitude vector in mV along
Frank X left, Y feet, Z back) for a normal heart and each morphology, evaluated on the samples.

A wave's *anchor* is the R it is timed from: the next (P), the nearest (QRS) or the previous
(ST, T, which run on the clock ``(t - t_R) / sqrt(RR / 1 s)`` so that QT follows Bazett; their
values are those at RR = 1 s). Normal values follow textbook vectorcardiography (QRS loop
~1.3 mV, frontal axis ~+40 deg; QRS ~95 ms, PR ~160 ms, QTc ~410 ms); projected with Dower's
matrix they give R in II, rS in V1, R-wave progression V1 -> V5, upright T in I, II, V2-V6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WAVES: tuple[str, ...] = ("P", "Q", "R", "S", "R2", "ST", "T")  # the wave axis of WaveTable
P, Q, R, S, R2, ST, T = range(7)
ANCHOR: tuple[str, ...] = ("next", "near", "near", "near", "near", "prev", "prev")
QRS_WAVES: tuple[int, ...] = (Q, R, S, R2)

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
        idx = list(QRS_WAVES)
        size = np.linalg.norm(self.amp[:, idx], axis=-1)  # (N, 4)
        present = size >= 0.05 * size.max(axis=1, keepdims=True)
        mu, sigma = self.mu[:, idx], self.sigma[:, idx]
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
    qrs = list(QRS_WAVES)
    amp[:, qrs] *= np.stack([factor, np.sqrt(factor), factor], axis=-1)[:, None, :]
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


def evaluate_waves(
    mu: np.ndarray,
    sigma: np.ndarray,
    beats: np.ndarray,
    rr: np.ndarray,
    fs: float,
    out: np.ndarray,
    since: np.ndarray,
    until: np.ndarray,
    corrected: np.ndarray,
    tmp: np.ndarray,
) -> None:
    """Write every record's seven waves into ``out`` ``(N, 7, T)`` float32 (sample ``i`` at
    ``i / fs``); ``since``, ``until``, ``corrected``, ``tmp``: ``(N, T)`` scratch. Per-beat
    values repeated over each RR segment (``np.repeat``) give each sample its time from the
    previous, next and nearest R without a loop over beats; a sample sees only its two
    neighbouring beats, which cuts off under 1 % of a wave's peak for RR >= 0.3 s (2 % of the
    ST wave's leading tail, under R). Waves are clipped at ``exp(-80)``: no denormals."""
    n, t_len = since.shape
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
