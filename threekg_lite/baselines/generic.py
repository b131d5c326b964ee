"""Generic time-series augmentations for 12-lead ECGs: the "SimCLR with generic augmentations"
baseline that 3KG is compared with.

``out = transform(x, generator)``: ``(B, 12, T)`` in mV -> a new tensor, same shape, dtype and
device. All randomness comes from ``generator``: parameters are drawn on its device, but the
one full-size draw (:class:`GaussianNoise`) on ``x``'s, so that nothing of size ``B*12*T``
crosses the bus. Same generator state, same output (per device). Half types run in float32.
Per-lead transforms break the limb identities (``III = II - I``, ...); :func:`simclr_ecg`
ends with :func:`keep_limb_identities`, which restores them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import torch
import torch.nn.functional as F

from threekg_lite.leads import with_derived_leads
from threekg_lite.runtime.checks import check_batch, check_choice, check_float


@runtime_checkable
class Augmentation(Protocol):
    """A batched ECG augmentation: ``(B, 12, T)`` tensor and generator -> new ``(B, 12, T)``."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor: ...


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    """float32 for half types (many CPU kernels lack them), else the tensor's own dtype."""
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


def _uniform(generator: torch.Generator, *shape: int) -> torch.Tensor:
    """``U[0, 1)`` float64 of ``shape``, on the generator's device."""
    return torch.rand(shape, generator=generator, device=generator.device, dtype=torch.float64)


@dataclass(frozen=True)
class GaussianNoise:
    """Add white noise ``std_mv * N(0, 1)`` per sample and lead (0.05 mV: EMG and amplifier
    noise in a resting ECG)."""

    std_mv: float = 0.05

    def __post_init__(self) -> None:
        check_float("GaussianNoise: std_mv", self.std_mv)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x)
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
    """Multiply each lead (``per_lead``) or each record by a random factor ``s`` in
    ``[low, high]``: ``log s`` uniform (``"log-uniform"``: with ``[0.5, 2]`` halving and
    doubling are equally likely, as in 3KG's scaling) or ``s`` uniform (``"uniform"``)."""

    low: float = 0.5
    high: float = 2.0
    per_lead: bool = True
    law: Literal["log-uniform", "uniform"] = "log-uniform"

    def __post_init__(self) -> None:
        if not 0 < self.low <= self.high < math.inf:  # NaN fails too
            raise ValueError(
                f"AmplitudeScale: need finite 0 < low <= high, got low={self.low}, high={self.high}"
            )
        check_choice("AmplitudeScale: law", self.law, ("log-uniform", "uniform"))

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x)
        u = _uniform(generator, x.shape[0], 12 if self.per_lead else 1, 1)
        if self.law == "log-uniform":
            lo, hi = math.log(self.low), math.log(self.high)
            scale = torch.exp(lo + (hi - lo) * u)
        else:
            scale = self.low + (self.high - self.low) * u
        work = _work_dtype(x)
        return (x.to(work) * scale.to(device=x.device, dtype=work)).to(x.dtype)


@dataclass(frozen=True)
class RandomResizedCrop:
    """Crop a window of ``L = round(T f)`` samples, ``f ~ U[min_fraction, max_fraction]``,
    at a uniform start ``s`` per record and stretch it back to ``T >= 2`` samples (linear
    interpolation; the ends are exactly samples ``s`` and ``s + L - 1``), all leads alike. One
    ``grid_sample`` does the batch (``interpolate`` cannot take a window per record). With
    time-out the strongest generic pair for SimCLR on 12-lead ECGs (Mehari & Strodthoff 2022)."""

    min_fraction: float = 0.5
    max_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not (0 < self.min_fraction <= self.max_fraction <= 1):
            raise ValueError(
                "RandomResizedCrop: need 0 < min_fraction <= max_fraction <= 1, got "
                f"min_fraction={self.min_fraction}, max_fraction={self.max_fraction}"
            )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x, min_length=2)
        b, _, t = x.shape
        work = _work_dtype(x)
        u = _uniform(generator, 2, b)
        frac = self.min_fraction + (self.max_fraction - self.min_fraction) * u[0]
        length = torch.round(frac * t).clamp(2, t)  # (B,) integer-valued
        start = torch.floor(u[1] * (t - length + 1)).clamp(min=0)
        start = torch.minimum(start, t - length)  # (B,) integer-valued, s + L <= T
        # normalised x-coordinate in [-1, 1] (align_corners=True: -1 -> sample 0, 1 -> T-1)
        g0 = (2 * start / (t - 1) - 1).to(device=x.device, dtype=work)  # (B,)
        step = (2 * (length - 1) / (t - 1) ** 2).to(device=x.device, dtype=work)  # (B,)
        gx = g0[:, None] + step[:, None] * torch.arange(t, device=x.device, dtype=work)  # (B, T)
        grid = torch.stack((gx, torch.zeros_like(gx)), dim=-1)[:, None]  # (B, 1, T, 2)
        out = F.grid_sample(x.to(work)[:, :, None], grid, "bilinear", "border", True)
        return out[:, :, 0, :].to(x.dtype)  # (B, 12, 1, T) -> (B, 12, T)


@dataclass(frozen=True)
class TimeOut:
    """Zero one window of ``n = round(fraction * T)`` samples per record, all leads alike,
    starting uniformly in ``0 .. T - n`` (never wrapping): the "Time Out" of Mehari &
    Strodthoff 2022 (3KG's own mask is per lead, circular and 50 %)."""

    fraction: float = 0.1

    def __post_init__(self) -> None:
        if not (0 <= self.fraction <= 1):
            raise ValueError(f"TimeOut: fraction must lie in [0, 1], got {self.fraction}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x)
        b, _, t = x.shape
        n = round(self.fraction * t)
        start = torch.randint(0, t - n + 1, (b,), generator=generator, device=generator.device)
        start = start.to(device=x.device, dtype=torch.int32)[:, None, None]  # (B, 1, 1)
        pos = torch.arange(t, device=x.device, dtype=torch.int32)  # (T,)
        return x.masked_fill((pos >= start) & (pos < start + n), 0)  # mask (B, 1, T)


class _Sinusoid:
    """Base of the sinusoidal artefacts: ``fs`` (Hz, keyword-only) **must be the data's
    sampling rate**, or the artefact silently lands in the wrong band."""

    amplitude_mv: float
    fs: float

    def _check(self) -> None:
        check_float(f"{type(self).__name__}: fs (Hz)", self.fs, positive=True)
        check_float(f"{type(self).__name__}: amplitude_mv", self.amplitude_mv)

    def _add(self, x: torch.Tensor, g: torch.Generator, freq: torch.Tensor, phase: torch.Tensor):
        """``x + a sin(2 pi freq n / fs + phase)``, ``freq`` (Hz) and ``phase`` ``(B,)``, the gain
        ``a`` per lead in ``[-amplitude_mv, amplitude_mv]`` (one source, each lead its pickup).
        Cycles reduced mod 1 keep the float32 phase error near 4e-7 rad per cycle."""
        amp = torch.rand((x.shape[0], 12), generator=g, device=g.device)
        amp = self.amplitude_mv * (2 * amp - 1)  # (B, 12)
        work = _work_dtype(x)
        n = torch.arange(x.shape[-1], device=x.device, dtype=work)  # (T,)
        cycles = (freq / self.fs).to(device=x.device, dtype=work)[:, None, None]  # (B, 1, 1)
        phase = phase.to(device=x.device, dtype=work)[:, None, None]
        wave = torch.sin(torch.remainder(cycles * n, 1.0) * (2 * math.pi) + phase)  # (B, 1, T)
        amp = amp.to(device=x.device, dtype=work)[:, :, None]  # (B, 12, 1)
        return (x.to(work) + amp * wave).to(x.dtype)


@dataclass(frozen=True)
class BaselineWander(_Sinusoid):
    """Add a slow sinusoidal baseline drift (respiration, electrode motion), per record at a
    frequency in ``(0.05, max_freq_hz]`` Hz. The defaults (0.1 mV up to 0.5 Hz) are the usual
    respiratory wander (torch_ecg, Mehari & Strodthoff 2022)."""

    amplitude_mv: float = 0.1
    max_freq_hz: float = 0.5
    fs: float = field(kw_only=True)

    def __post_init__(self) -> None:
        self._check()
        if not (0.05 < self.max_freq_hz < self.fs / 2):
            raise ValueError(
                "BaselineWander: max_freq_hz must lie in (0.05, fs/2) = "
                f"(0.05, {self.fs / 2}), got {self.max_freq_hz}"
            )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x)
        u = _uniform(generator, 2, x.shape[0])
        freq = self.max_freq_hz - (self.max_freq_hz - 0.05) * u[0]  # (B,) in (0.05, max]
        return self._add(x, generator, freq, 2 * math.pi * u[1])


@dataclass(frozen=True)
class PowerlineNoise(_Sinusoid):
    """Add mains interference, per record at one of ``freqs_hz`` drawn uniformly. Frequencies
    ``>= fs / 2`` would alias and are skipped (:attr:`usable_freqs_hz`); none left is an error."""

    amplitude_mv: float = 0.05
    freqs_hz: tuple[float, ...] = (50.0, 60.0)
    fs: float = field(kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "freqs_hz", tuple(float(f) for f in self.freqs_hz))
        self._check()
        if not self.usable_freqs_hz or any(not f > 0 for f in self.freqs_hz):
            raise ValueError(
                "PowerlineNoise: freqs_hz must be a non-empty tuple of positive frequencies, "
                f"one at least below fs/2 = {self.fs / 2} Hz, got {self.freqs_hz}"
            )

    @property
    def usable_freqs_hz(self) -> tuple[float, ...]:
        """The frequencies of ``freqs_hz`` below ``fs / 2``."""
        return tuple(f for f in self.freqs_hz if f < self.fs / 2)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x)
        b = x.shape[0]
        usable = torch.tensor(self.usable_freqs_hz, dtype=torch.float64, device=generator.device)
        idx = torch.randint(0, len(usable), (b,), generator=generator, device=generator.device)
        return self._add(x, generator, usable[idx], 2 * math.pi * _uniform(generator, b))


@dataclass(frozen=True)
class Compose:
    """Apply ``transforms`` in order: ``Compose([f, g])(x, gen) == g(f(x, gen), gen)``; none
    gives a copy of ``x``."""

    transforms: Sequence[Augmentation]

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(self.transforms))
        if bad := [t for t in self.transforms if not callable(t)]:
            raise ValueError(f"Compose: every transform must be callable, got {bad}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        out = x
        for transform in self.transforms:
            out = transform(out, generator)
        return x.clone() if out is x else out


@dataclass(frozen=True)
class RandomApply:
    """Apply ``transform`` to each record with probability ``p``. It runs on the whole batch
    before the Bernoulli draw, so that the random stream does not depend on ``p`` (``p = 1`` is
    exactly ``transform``), at the price of transforming records that keep ``x``."""

    transform: Augmentation
    p: float = 0.5

    def __post_init__(self) -> None:
        if not callable(self.transform):
            raise ValueError(f"RandomApply: transform must be callable, got {self.transform!r}")
        if not (0 <= self.p <= 1):
            raise ValueError(f"RandomApply: p must lie in [0, 1], got {self.p}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x)
        y = self.transform(x, generator)
        u = torch.rand(x.shape[0], generator=generator, device=generator.device)
        return torch.where((u < self.p).to(x.device)[:, None, None], y, x)


def keep_limb_identities(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Recompute III, aVR, aVL, aVF from leads I and II (a new tensor): put last, so that
    the model cannot detect augmentation from broken physics. ``generator`` is ignored."""
    check_batch(x)
    return with_derived_leads(x)


def simclr_ecg(fs: float, keep_identities: bool = True) -> Compose:
    """The "SimCLR with generic augmentations" pipeline; ``fs`` is the data's sampling rate.

    Crop always, the artefacts each on half of the records (views stay close to real ECGs),
    then :func:`keep_limb_identities`: the baseline differs from 3KG only in *what* is
    augmented, not in whether the views are physically consistent ECGs."""
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
