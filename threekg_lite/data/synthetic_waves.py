"""The beat model of the synthetic ECG: when the R peaks fall, and where each Gaussian wave
of a beat sits, how wide it is and which way its dipole points, for a normal heart and for
each morphology class; and the evaluation of those waves on the sample grid.

Every beat is a sum of seven localised 3-D Gaussian waves (see :mod:`.synthetic` for the
model). A wave ``w`` has an *offset* ``mu_w`` from its beat's R time, a *width* ``sigma_w``
(both in seconds) and an *amplitude vector* ``a_w`` (mV) in Frank axes ``X`` (patient's
left), ``Y`` (feet), ``Z`` (back), as in :mod:`threekg_lite.vcg`. The seven slots:

====  ======  =========================================================================
slot  anchor  role
====  ======  =========================================================================
P     next    atrial depolarisation, ~0.17 s before R (absent in AF)
Q     near    septal q: rightward-anterior; infarction adds pathological initial forces
R     near    main ventricular depolarisation, left-inferior-slightly-posterior
S     near    terminal forces: rightward-superior-posterior
R2    near    late QRS lobe: R' of RBBB (rightward-anterior), second notch of LBBB
ST    prev    ST-segment offset (injury current), a broad wave between J point and T
T     prev    ventricular repolarisation
====  ======  =========================================================================

*Anchor* says which beat a wave is timed from: ``next`` (the coming R, for waves before it),
``prev`` (the last R, for waves after it), ``near`` (the closest R, for the QRS). ``prev``
waves live on the rate-corrected time ``u = (t - t_R) / sqrt(RR / 1 s)``, so the ST segment
and T wave move in with rising heart rate as Bazett's QTc = QT / sqrt(RR) assumes; their
offsets and widths below are the values at RR = 1 s.

Normal values follow textbook vectorcardiography (P ~0.15 mV left-inferior; QRS loop
~1.3 mV, frontal axis ~+40 deg; T ~0.35 mV left-inferior-anterior; QRS ~95 ms, PR ~160 ms,
QTc ~410 ms). Projected with Dower's matrix they give: positive R in II, rS in V1, R-wave
progression V1 -> V5, upright T in I, II and V2-V6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WAVES: tuple[str, ...] = ("P", "Q", "R", "S", "R2", "ST", "T")
"""Wave slots, in the order of the wave axis of :class:`WaveTable`."""
P, Q, R, S, R2, ST, T = range(7)
ANCHOR: tuple[str, ...] = ("next", "near", "near", "near", "near", "prev", "prev")
"""Which R peak each wave is timed from (see the module docstring)."""
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

AF_RR_CV = (0.15, 0.25)
"""Range of the coefficient of variation of AF's RR intervals."""
RR_LIMITS = (0.3, 2.0)
"""Every RR interval is clipped to this range (s): 30-200 bpm."""
LVH_FACTOR = (1.6, 2.2)
"""Range of the LVH voltage factor applied to the QRS waves' X and Z components."""
ST_SCALE = (0.7, 1.4)
"""Range of the random factor on an infarct's ST vector (0.15-0.3 mV in the facing leads)."""


@dataclass(frozen=True)
class WaveTable:
    """Per-record wave parameters.

    Attributes
    ----------
    mu, sigma
        ``(N, 7)`` offsets and widths in seconds (rate-corrected seconds for ST and T).
    amp
        ``(N, 7, 3)`` amplitude vectors in mV (X, Y, Z), before heart orientation and
        body-size scaling.
    lvh_factor
        ``(N,)`` the LVH voltage factor (1 where the record has no LVH).
    """

    mu: np.ndarray
    sigma: np.ndarray
    amp: np.ndarray
    lvh_factor: np.ndarray

    def qrs_duration(self) -> np.ndarray:
        """``(N,)`` nominal QRS duration in seconds.

        From the start of the earliest to the end of the latest QRS wave (slots Q, R, S, R2)
        whose amplitude is at least 5 % of the largest one, a wave spanning
        ``mu +- 2.5 sigma`` (where it has fallen to 4 % of its peak).
        """
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
    """Draw R times: the first at a random phase before ``t = 0``, then RR by RR.

    Sinus rhythm: ``RR_k = RR_mean (1 + rsa sin(2 pi f_resp k RR_mean + phi) + rr_jitter z_k)``
    with a respiratory frequency ``f_resp`` of 0.15-0.4 Hz. AF: ``RR_k`` iid log-normal with
    mean ``RR_mean`` and coefficient of variation in :data:`AF_RR_CV`. Always draws the same
    amount of randomness.

    Parameters
    ----------
    rng
        Source of randomness.
    rr_mean, is_af, rsa
        ``(N,)`` mean RR (s), atrial fibrillation, relative RSA amplitude.
    rr_jitter
        Relative sd of the sinus RR jitter.
    n_beats
        Beats per record, B.

    Returns
    -------
    beats, rr
        ``(N, B)`` R times (s), ``beats[:, 0] <= 0 < beats[:, 1]``, and the intervals
        ``rr[:, k] = beats[:, k + 1] - beats[:, k]``, clipped to :data:`RR_LIMITS`.
    """
    n = len(rr_mean)
    z = rng.standard_normal((n, n_beats))
    f_resp, phi, first, u_cv = rng.random((4, n))
    arg = 2 * np.pi * (0.15 + 0.25 * f_resp) * rr_mean
    arg = arg[:, None] * np.arange(n_beats) + 2 * np.pi * phi[:, None]
    rel = 1.0 + rsa[:, None] * np.sin(arg) + rr_jitter * z
    cv = AF_RR_CV[0] + (AF_RR_CV[1] - AF_RR_CV[0]) * u_cv
    s = np.sqrt(np.log1p(cv**2))[:, None]
    rel = np.where(is_af[:, None], np.exp(s * z - s**2 / 2), rel)
    rr = np.clip(rr_mean[:, None] * rel, *RR_LIMITS)  # (N, B)
    beats = np.empty_like(rr)
    beats[:, 0] = -first * rr[:, 0]  # random phase
    beats[:, 1:] = beats[:, :1] + np.cumsum(rr[:, :-1], axis=1)
    return beats, rr


def wave_table(
    rng: np.random.Generator,
    is_af: np.ndarray,
    morphology: np.ndarray,
    jitter: float,
) -> WaveTable:
    """Draw the wave parameters of N records.

    Always draws the same amount of randomness for N records, whatever their labels and
    ``jitter``, so that a record's other parameters do not depend on them.

    Parameters
    ----------
    rng
        Source of randomness.
    is_af
        ``(N,)`` bool: atrial fibrillation (no P wave).
    morphology
        ``(N, 5)`` bool, columns RBBB, LBBB, AMI, IMI, LVH.
    jitter
        Inter-subject variability, 0 for textbook templates. Each wave's amplitude is
        multiplied by a log-normal factor of sigma ``jitter``; its vector gets
        ``jitter / 2 * |a|`` of noise per axis; its offset and width are scaled by
        ``1 +- jitter / 2`` (all 1 sd, normal, clipped at 2 sd).

    Returns
    -------
    WaveTable
    """
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
    factor = np.where(lvh, LVH_FACTOR[0] + (LVH_FACTOR[1] - LVH_FACTOR[0]) * u_lvh, 1.0)
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
    st_lo, st_hi = ST_SCALE
    amp[:, ST] += (ami * (st_lo + (st_hi - st_lo) * u_ami))[:, None] * _AMI_ST
    amp[:, ST] += (imi * (st_lo + (st_hi - st_lo) * u_imi))[:, None] * _IMI_ST

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
    """Evaluate every record's seven Gaussian waves on the sample grid.

    Sample ``i`` belongs to beat ``k`` when ``t_k <= t_i < t_{k+1}``; per-beat values are
    repeated over each such segment (``np.repeat``), which gives every sample its time since
    the previous R, until the next R and from the nearest R with no loop over beats. A
    wave is then ``exp(-(clock - mu)^2 / (2 sigma^2))`` on its anchor's clock, clipped at
    ``exp(-80)`` so that no denormal floats slow the matmul that follows.

    Parameters
    ----------
    mu, sigma
        ``(N, 7)`` wave offsets and widths (s).
    beats, rr
        ``(N, B)`` R times (s; ``beats[:, 0] <= 0``, ``beats[:, -1] > t_{T-1}``) and the
        intervals to the next R (``rr[:, k] = beats[:, k + 1] - beats[:, k]``).
    fs
        Sampling rate (Hz); sample ``i`` is at ``t_i = i / fs``.
    out
        ``(N, 7, T)`` float32, written.
    since, until, corrected, tmp
        ``(N, T)`` float32 scratch buffers.
    """
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
