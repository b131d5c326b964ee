"""Generic time-series augmentations for 12-lead ECGs: the "SimCLR with generic augmentations"
baseline that 3KG is compared with.

Every transform acts on a **batch** and has one signature (:class:`Augmentation`)::

    out = transform(x, generator)        # x: (B, 12, T) -> out: (B, 12, T)

* ``x`` is a floating torch tensor ``(B, 12, T)`` in standard lead order (see
  :mod:`threekg_lite.leads`), in millivolts, on any device. ``out`` is a new tensor with the same
  shape, dtype and device; ``x`` is never modified.
* All randomness comes from the injected ``torch.Generator``. The few random *parameters* (one
  or twelve numbers per record) are drawn on the generator's device (usually the CPU) and then
  moved to ``x.device``. The one full-size random draw (:class:`GaussianNoise`) is made on
  ``x.device``: directly from ``generator`` when it lives there, otherwise from a generator on
  ``x.device`` seeded by a number drawn from ``generator``, so that nothing of size ``B*12*T``
  crosses the bus. Same generator state, same output (per device: CPU and CUDA streams differ).
* float16 and bfloat16 inputs are computed in float32 and cast back; float32 and float64 are
  computed in their own precision.
* No Python loop over records or leads: parameters are ``(B, 1, 1)`` or ``(B, 12, 1)`` tensors
  broadcast against ``(B, 12, T)``.

Per-lead transforms (:class:`AmplitudeScale` with ``per_lead=True``, :class:`GaussianNoise`,
:class:`BaselineWander`, :class:`PowerlineNoise`) break the exact identities
``III = II - I``, ``aVR = -(I + II)/2``, ``aVL = I - II/2``, ``aVF = II - I/2``;
:func:`keep_limb_identities` restores them and is the last step of :func:`simclr_ecg`.
Transforms applied identically to all leads (crop, time-out) keep the identities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import torch
import torch.nn.functional as F

from threekg_lite.leads import with_derived_leads

__all__ = [
    "Augmentation",
    "GaussianNoise",
    "AmplitudeScale",
    "RandomResizedCrop",
    "TimeOut",
    "BaselineWander",
    "PowerlineNoise",
    "Compose",
    "RandomApply",
    "keep_limb_identities",
    "simclr_ecg",
]


@runtime_checkable
class Augmentation(Protocol):
    """A batched ECG augmentation: ``(B, 12, T)`` tensor and generator -> new ``(B, 12, T)``."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor: ...


# ---------------------------------------------------------------- helpers


def _check_batch(x: torch.Tensor, min_length: int = 1) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor of shape (B, 12, T), got {type(x).__name__}")
    if x.ndim != 3 or x.shape[1] != 12 or x.shape[2] < min_length:
        raise ValueError(
            f"expected a batch of shape (B, 12, T) with T >= {min_length}, got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise ValueError(f"expected a floating-point tensor, got dtype {x.dtype}")


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    """float32 for half types (many CPU kernels lack them), else the tensor's own dtype."""
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


def _sinusoid(
    x: torch.Tensor,
    freq_hz: torch.Tensor,
    phase: torch.Tensor,
    amplitude: torch.Tensor,
    fs: float,
) -> torch.Tensor:
    """``x + amplitude * sin(2 pi freq t + phase)``, with ``t = n / fs``.

    ``freq_hz``, ``phase``: ``(B,)`` float64 on the generator's device; ``amplitude``:
    ``(B, 12)``. The sinusoid is computed once per record, ``(B, 1, T)``, in the work dtype
    and scaled per lead. In float32 the phase error grows with the number of cycles ``N``
    in the record, about ``N * 4e-7`` rad (2e-4 rad for 10 s of 60 Hz): negligible for an
    augmentation.
    """
    work = _work_dtype(x)
    n = torch.arange(x.shape[-1], device=x.device, dtype=work)  # (T,)
    cycles = (freq_hz / fs).to(device=x.device, dtype=work)[:, None, None]  # (B, 1, 1)
    phase = phase.to(device=x.device, dtype=work)[:, None, None]  # (B, 1, 1)
    wave = torch.sin(torch.remainder(cycles * n, 1.0) * (2 * math.pi) + phase)  # (B, 1, T)
    amp = amplitude.to(device=x.device, dtype=work)[:, :, None]  # (B, 12, 1)
    return (x.to(work) + amp * wave).to(x.dtype)  # (B, 12, T)


# ---------------------------------------------------------------- transforms


@dataclass(frozen=True)
class GaussianNoise:
    """Add white Gaussian noise: ``out = x + std_mv * N(0, 1)``, i.i.d. per sample and lead.

    Shape: ``(B, 12, T) -> (B, 12, T)``.

    Parameters
    ----------
    std_mv
        Standard deviation in mV (default 0.05 mV: the order of EMG / amplifier noise in a
        resting ECG; "Gaussian noise" is in every generic ECG augmentation catalogue, e.g.
        Mehari & Strodthoff 2022, torch_ecg). Must be >= 0.
    """

    std_mv: float = 0.05

    def __post_init__(self) -> None:
        if not (math.isfinite(self.std_mv) and self.std_mv >= 0):
            raise ValueError(f"GaussianNoise: std_mv must be finite and >= 0, got {self.std_mv}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_batch(x)
        work = _work_dtype(x)
        if generator.device == x.device:
            gen = generator
        else:  # draw the big tensor where x lives, seeded from the injected generator
            seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
            gen = torch.Generator(device=x.device).manual_seed(seed)
        noise = torch.randn(x.shape, generator=gen, device=x.device, dtype=work)  # (B, 12, T)
        return (x.to(work) + self.std_mv * noise).to(x.dtype)


@dataclass(frozen=True)
class AmplitudeScale:
    """Multiply each lead (or each record) by a random factor in ``[low, high]``.

    ``out = s * x`` with ``s`` of shape ``(B, 12, 1)`` if ``per_lead`` else ``(B, 1, 1)``.

    * ``law="log-uniform"`` (default): ``log s ~ U[log low, log high]``. With the default
      ``[0.5, 2]`` halving and doubling are equally likely (the law is symmetric under
      ``s -> 1/s``), as in 3KG's scaling augmentation.
    * ``law="uniform"``: ``s ~ U[low, high]``.

    Shape: ``(B, 12, T) -> (B, 12, T)``. ``per_lead=True`` breaks the limb-lead identities
    (see :func:`keep_limb_identities`).
    """

    low: float = 0.5
    high: float = 2.0
    per_lead: bool = True
    law: Literal["log-uniform", "uniform"] = "log-uniform"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and 0 < self.low <= self.high):
            raise ValueError(
                f"AmplitudeScale: need 0 < low <= high (finite), got low={self.low}, "
                f"high={self.high}"
            )
        if self.law not in ("log-uniform", "uniform"):
            raise ValueError(
                f"AmplitudeScale: law must be 'log-uniform' or 'uniform', got {self.law!r}"
            )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_batch(x)
        work = _work_dtype(x)
        shape = (x.shape[0], 12 if self.per_lead else 1, 1)
        u = torch.rand(shape, generator=generator, device=generator.device, dtype=torch.float64)
        if self.law == "log-uniform":
            lo, hi = math.log(self.low), math.log(self.high)
            scale = torch.exp(lo + (hi - lo) * u)
        else:
            scale = self.low + (self.high - self.low) * u
        scale = scale.to(device=x.device, dtype=work)  # (B, 12 or 1, 1)
        return (x.to(work) * scale).to(x.dtype)


@dataclass(frozen=True)
class RandomResizedCrop:
    """Crop a random contiguous window per record and stretch it back to ``T`` samples.

    Per record: window length ``L = round(T * f)``, ``f ~ U[min_fraction, max_fraction]``,
    clamped to ``[2, T]``; start ``s`` uniform over the integers ``0 .. T - L``. Output sample
    ``j`` is the linear interpolation of the record at position
    ``p_j = s + j (L - 1) / (T - 1)``: first and last output samples are exactly samples ``s``
    and ``s + L - 1``. The same window is used for all 12 leads, so the limb identities hold.

    Batched with one ``torch.nn.functional.grid_sample`` call (``(B, 12, 1, T)`` as an image
    of height 1, bilinear, ``align_corners=True``), since ``interpolate`` cannot take a
    different window per record. Time is stretched by ``T / L`` (about ``1 / f``): a ramp of
    slope ``a`` comes out with slope ``a (L - 1) / (T - 1)``.

    Source: SimCLR's random resized crop carried to 1-D (Mehari & Strodthoff 2022 report
    crop + time-out as the strongest generic pair for SimCLR on 12-lead ECGs).

    Shape: ``(B, 12, T) -> (B, 12, T)``, ``T >= 2``.
    """

    min_fraction: float = 0.5
    max_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not (0 < self.min_fraction <= self.max_fraction <= 1):
            raise ValueError(
                "RandomResizedCrop: need 0 < min_fraction <= max_fraction <= 1, got "
                f"min_fraction={self.min_fraction}, max_fraction={self.max_fraction}"
            )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_batch(x, min_length=2)
        b, _, t = x.shape
        work = _work_dtype(x)
        u = torch.rand((2, b), generator=generator, device=generator.device, dtype=torch.float64)
        frac = self.min_fraction + (self.max_fraction - self.min_fraction) * u[0]
        length = torch.round(frac * t).clamp(2, t)  # (B,) integer-valued
        start = torch.floor(u[1] * (t - length + 1)).clamp(min=0)
        start = torch.minimum(start, t - length)  # (B,) integer-valued, s + L <= T
        # normalised x-coordinate in [-1, 1] (align_corners=True: -1 -> sample 0, 1 -> T-1)
        g0 = (2 * start / (t - 1) - 1).to(device=x.device, dtype=work)  # (B,)
        step = (2 * (length - 1) / (t - 1) ** 2).to(device=x.device, dtype=work)  # (B,)
        j = torch.arange(t, device=x.device, dtype=work)  # (T,)
        gx = g0[:, None] + step[:, None] * j  # (B, T)
        grid = torch.stack((gx, torch.zeros_like(gx)), dim=-1)[:, None]  # (B, 1, T, 2)
        out = F.grid_sample(
            x.to(work)[:, :, None, :],  # (B, 12, 1, T)
            grid,
            mode="bilinear",
            padding_mode="border",
            align_corners=True,
        )  # (B, 12, 1, T)
        return out[:, :, 0, :].to(x.dtype)


@dataclass(frozen=True)
class TimeOut:
    """Zero one contiguous window of ``n = round(fraction * T)`` samples per record.

    ``out[b, :, t] = 0`` for ``s_b <= t < s_b + n``, else ``x[b, :, t]``, with ``s_b``
    uniform over the integers ``0 .. T - n``: the window is **not circular** (it never wraps
    around the end) and is shared by all 12 leads (so the limb identities hold). ``round`` is
    Python's (half to even). Built from a ``(B, 1, T)`` comparison mask broadcast over leads.

    Source: "Time Out" of Mehari & Strodthoff 2022 (generic SimCLR baseline); 3KG's own mask is
    per lead, circular and 50 % (see ``docs``); this is the generic one.

    Shape: ``(B, 12, T) -> (B, 12, T)``.
    """

    fraction: float = 0.1

    def __post_init__(self) -> None:
        if not (0 <= self.fraction <= 1):
            raise ValueError(f"TimeOut: fraction must lie in [0, 1], got {self.fraction}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_batch(x)
        b, _, t = x.shape
        n = round(self.fraction * t)
        start = torch.randint(0, t - n + 1, (b,), generator=generator, device=generator.device)
        start = start.to(device=x.device, dtype=torch.int32)[:, None, None]  # (B, 1, 1)
        pos = torch.arange(t, device=x.device, dtype=torch.int32)  # (T,)
        mask = (pos >= start) & (pos < start + n)  # (B, 1, T)
        return x.masked_fill(mask, 0)


@dataclass(frozen=True)
class BaselineWander:
    """Add a slow sinusoidal baseline drift (respiration, electrode motion).

    ``out[b, l, k] = x[b, l, k] + a[b, l] sin(2 pi f_b k / fs + phi_b)`` with, per record,
    ``f_b ~ U(0.05, max_freq_hz]`` Hz and ``phi_b ~ U[0, 2 pi)``, and per lead
    ``a[b, l] ~ U[-amplitude_mv, amplitude_mv]``: one physical source seen by every lead with
    its own gain (sign included). Breaks the limb identities (see :func:`keep_limb_identities`).

    ``fs`` (Hz, keyword-only, no default) **must be the sampling rate of the data**: it turns
    Hz into cycles per sample, so a wrong ``fs`` silently puts the drift in the wrong band.
    Defaults: 0.1 mV up to 0.5 Hz, the usual range of respiratory baseline wander (e.g. the
    baseline-wander augmenter of torch_ecg / Mehari & Strodthoff 2022).

    Shape: ``(B, 12, T) -> (B, 12, T)``.
    """

    amplitude_mv: float = 0.1
    max_freq_hz: float = 0.5
    fs: float = field(kw_only=True)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fs) and self.fs > 0):
            raise ValueError(f"BaselineWander: fs must be a positive rate in Hz, got {self.fs}")
        if not (math.isfinite(self.amplitude_mv) and self.amplitude_mv >= 0):
            raise ValueError(
                f"BaselineWander: amplitude_mv must be finite and >= 0, got {self.amplitude_mv}"
            )
        if not (0.05 < self.max_freq_hz < self.fs / 2):
            raise ValueError(
                "BaselineWander: max_freq_hz must lie in (0.05, fs/2) = "
                f"(0.05, {self.fs / 2}), got {self.max_freq_hz}"
            )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_batch(x)
        b = x.shape[0]
        u = torch.rand((2, b), generator=generator, device=generator.device, dtype=torch.float64)
        freq = self.max_freq_hz - (self.max_freq_hz - 0.05) * u[0]  # (B,) in (0.05, max]
        phase = 2 * math.pi * u[1]  # (B,)
        amp = torch.rand((b, 12), generator=generator, device=generator.device)
        amp = self.amplitude_mv * (2 * amp - 1)  # (B, 12) in [-a, a]
        return _sinusoid(x, freq, phase, amp, self.fs)


@dataclass(frozen=True)
class PowerlineNoise:
    """Add mains interference: a sinusoid at 50 or 60 Hz.

    ``out[b, l, k] = x[b, l, k] + a[b, l] sin(2 pi f_b k / fs + phi_b)`` with ``f_b`` chosen
    uniformly per record among the usable ``freqs_hz``, ``phi_b ~ U[0, 2 pi)`` and
    ``a[b, l] ~ U[-amplitude_mv, amplitude_mv]`` per lead (one source, lead-specific pickup).

    Frequencies ``>= fs / 2`` cannot be represented at this sampling rate (they would alias)
    and are **skipped**; if none is left the constructor raises. ``fs`` (Hz, keyword-only)
    **must be the sampling rate of the data**.

    Source: powerline interference, a standard ECG artefact (e.g. torch_ecg's augmenters).

    Shape: ``(B, 12, T) -> (B, 12, T)``.
    """

    amplitude_mv: float = 0.05
    freqs_hz: tuple[float, ...] = (50.0, 60.0)
    fs: float = field(kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "freqs_hz", tuple(float(f) for f in self.freqs_hz))
        if not (math.isfinite(self.fs) and self.fs > 0):
            raise ValueError(f"PowerlineNoise: fs must be a positive rate in Hz, got {self.fs}")
        if not (math.isfinite(self.amplitude_mv) and self.amplitude_mv >= 0):
            raise ValueError(
                f"PowerlineNoise: amplitude_mv must be finite and >= 0, got {self.amplitude_mv}"
            )
        if not self.freqs_hz or any(not (f > 0) for f in self.freqs_hz):
            raise ValueError(
                f"PowerlineNoise: freqs_hz must be a non-empty tuple of positive frequencies, "
                f"got {self.freqs_hz}"
            )
        if not self.usable_freqs_hz:
            raise ValueError(
                f"PowerlineNoise: all freqs_hz {self.freqs_hz} are >= fs/2 = {self.fs / 2} Hz; "
                "none can be represented at this sampling rate"
            )

    @property
    def usable_freqs_hz(self) -> tuple[float, ...]:
        """The frequencies of ``freqs_hz`` below ``fs / 2``."""
        return tuple(f for f in self.freqs_hz if f < self.fs / 2)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_batch(x)
        b = x.shape[0]
        usable = torch.tensor(self.usable_freqs_hz, dtype=torch.float64, device=generator.device)
        idx = torch.randint(0, len(usable), (b,), generator=generator, device=generator.device)
        freq = usable[idx]  # (B,)
        u = torch.rand(b, generator=generator, device=generator.device, dtype=torch.float64)
        phase = 2 * math.pi * u  # (B,)
        amp = torch.rand((b, 12), generator=generator, device=generator.device)
        amp = self.amplitude_mv * (2 * amp - 1)  # (B, 12) in [-a, a]
        return _sinusoid(x, freq, phase, amp, self.fs)


# ---------------------------------------------------------------- combinators


@dataclass(frozen=True)
class Compose:
    """Apply ``transforms`` in order: ``Compose([f, g])(x, gen) == g(f(x, gen), gen)``.

    Shape: ``(B, 12, T) -> (B, 12, T)``. An empty sequence returns a copy of ``x``.
    """

    transforms: Sequence[Augmentation]

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(self.transforms))
        bad = [t for t in self.transforms if not callable(t)]
        if bad:
            raise ValueError(f"Compose: every transform must be callable, got {bad}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        out = x
        for transform in self.transforms:
            out = transform(out, generator)
        return x.clone() if out is x else out


@dataclass(frozen=True)
class RandomApply:
    """Apply ``transform`` to each record independently with probability ``p``.

    Batched: ``y = transform(x, generator)`` is computed for the **whole batch** first, then a
    Bernoulli(p) mask ``m`` of shape ``(B, 1, 1)`` is drawn and ``out = where(m, y, x)``. So the
    random stream consumed does not depend on ``p``, ``p = 1`` gives exactly
    ``transform(x, generator)`` for the same generator state, and ``p = 0`` gives a copy of
    ``x``. The price is that the transform is computed even for records that keep ``x``.

    Shape: ``(B, 12, T) -> (B, 12, T)``.
    """

    transform: Augmentation
    p: float = 0.5

    def __post_init__(self) -> None:
        if not callable(self.transform):
            raise ValueError(f"RandomApply: transform must be callable, got {self.transform!r}")
        if not (0 <= self.p <= 1):
            raise ValueError(f"RandomApply: p must lie in [0, 1], got {self.p}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_batch(x)
        y = self.transform(x, generator)
        u = torch.rand(x.shape[0], generator=generator, device=generator.device)
        mask = (u < self.p).to(x.device)[:, None, None]  # (B, 1, 1)
        return torch.where(mask, y, x)


def keep_limb_identities(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Recompute III, aVR, aVL, aVF from leads I and II, exactly.

    Uses :func:`threekg_lite.leads.with_derived_leads`.

    Per-lead transforms (amplitude scaling, noise, baseline wander, powerline) give each of
    the 12 leads its own perturbation, which a real recording cannot produce for the four limb
    leads derived from I and II. Calling this last restores the exact identities, so the model
    cannot learn to detect augmentation from broken physics. ``generator`` is accepted and
    ignored so that the function is an :class:`Augmentation` and can sit inside
    :class:`Compose`; :func:`simclr_ecg` uses it as its final step.

    Shape: ``(B, 12, T) -> (B, 12, T)``; a new tensor, same dtype and device.
    """
    _check_batch(x)
    return with_derived_leads(x)


def simclr_ecg(fs: float, keep_identities: bool = True) -> Compose:
    """The default generic pipeline for the "SimCLR with generic augmentations" baseline.

    In order:

    1. :class:`RandomResizedCrop` ``(0.5, 1.0)``, always (as SimCLR's image crop);
    2. :class:`AmplitudeScale` ``(0.5, 2.0)``, log-uniform per lead, ``p = 0.5``;
    3. :class:`GaussianNoise` ``(0.05 mV)``, ``p = 0.5``;
    4. :class:`BaselineWander` ``(0.1 mV, <= 0.5 Hz)``, ``p = 0.5``;
    5. :class:`TimeOut` ``(0.1)``, ``p = 0.5``;
    6. :func:`keep_limb_identities` (if ``keep_identities``).

    Crop and time-out follow Mehari & Strodthoff (2022), who found this pair the strongest
    generic SimCLR augmentation for 12-lead ECGs; scaling, noise and wander are the usual
    physiological-artefact additions, each on half of the records so that views stay close to
    real ECGs. The identity step comes last so that every per-lead perturbation is repaired;
    it makes the baseline differ from 3KG only in *what* is augmented, not in whether the
    views are physically consistent ECGs. ``fs`` must be the sampling rate of the data.
    """
    transforms: list[Augmentation] = [
        RandomResizedCrop(0.5, 1.0),
        RandomApply(AmplitudeScale(0.5, 2.0, per_lead=True), p=0.5),
        RandomApply(GaussianNoise(0.05), p=0.5),
        RandomApply(BaselineWander(0.1, 0.5, fs=fs), p=0.5),
        RandomApply(TimeOut(0.1), p=0.5),
    ]
    if keep_identities:
        transforms.append(keep_limb_identities)
    return Compose(transforms)
