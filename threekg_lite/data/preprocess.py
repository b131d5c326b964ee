"""Signal preprocessing on NumPy arrays of ECGs: resampling, crops and padding, sliding
windows, band-pass filtering (scipy's polyphase resampler and Butterworth filters), and the
input scaling of the encoders. Functions act on the last (time) axis of ``(..., T)`` arrays
and never modify their input."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy import signal as sps

from threekg_lite.runtime.checks import check_choice

if TYPE_CHECKING:
    import torch

CropMode = Literal["start", "center", "random"]


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """``(..., round(T * fs_out / fs_in))`` float32, resampled with a polyphase anti-aliasing
    filter (a copy when the rates are equal). The rate ratio is a fraction with a denominator
    of at most 1000: exact for every rate of PhysioNet's ECG databases (100, 250, 257, 360,
    400, 500, 1000 Hz)."""
    if fs_in <= 0 or fs_out <= 0:
        raise ValueError(f"sampling rates must be positive, got {fs_in} -> {fs_out}")
    if fs_in == fs_out:
        return np.array(x, dtype=np.float32, copy=True)
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    y = sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)
    n_out = int(round(x.shape[-1] * fs_out / fs_in))
    return np.ascontiguousarray(y[..., :n_out], dtype=np.float32)


def crop_or_pad(
    x: np.ndarray,
    length: int,
    *,
    mode: CropMode = "start",
    rng: np.random.Generator | None = None,
    pad_value: float = 0.0,
) -> np.ndarray:
    """``(..., length)``, same dtype: longer signals cropped from the start, the centre or a
    random offset drawn from ``rng``; shorter ones padded at the end with ``pad_value``."""
    if length <= 0:
        raise ValueError(f"length must be positive, got {length}")
    if mode not in ("start", "center", "random"):  # checked even when nothing is cropped
        raise ValueError(f"unknown crop mode {mode!r}; use 'start', 'center' or 'random'")
    t = x.shape[-1]
    if t == length:
        return x.copy()
    if t > length:
        if mode != "random":
            start = 0 if mode == "start" else (t - length) // 2
        elif rng is None:
            raise ValueError("mode='random' needs rng (a numpy.random.Generator)")
        else:
            start = int(rng.integers(0, t - length + 1))
        return x[..., start : start + length].copy()
    out = np.full(x.shape[:-1] + (length,), pad_value, dtype=x.dtype)
    out[..., :t] = x
    return out


def sliding_windows(x: np.ndarray, length: int, stride: int | None = None) -> np.ndarray:
    """``(W, ..., length)`` copies of all windows of ``length`` samples, ``stride`` apart
    (default non-overlapping), ``W = 1 + (T - length) // stride``; a shorter remainder at the
    end is dropped."""
    stride = length if stride is None else stride
    if length <= 0 or stride <= 0:
        raise ValueError(f"length and stride must be positive, got {length}, {stride}")
    t = x.shape[-1]
    if t < length:
        raise ValueError(f"signal of {t} samples is shorter than the window ({length})")
    view = np.lib.stride_tricks.sliding_window_view(x, length, axis=-1)[..., ::stride, :]
    return np.ascontiguousarray(np.moveaxis(view, -2, 0))


def bandpass(
    x: np.ndarray, fs: float, low: float | None = 0.5, high: float | None = 40.0, order: int = 4
) -> np.ndarray:
    """``(..., T)`` float32 through a zero-phase Butterworth band-pass (high- or low-pass when
    one edge is ``None``) of ``order``, applied forwards and backwards (so doubled); cut-offs
    in Hz, ``high`` below ``fs / 2``."""
    nyq = fs / 2
    if low is None and high is None:
        return np.array(x, dtype=np.float32, copy=True)
    if high is not None and not 0 < high < nyq:
        raise ValueError(f"high cut-off {high} Hz must lie in (0, {nyq:g}) Hz for fs={fs:g} Hz")
    if low is not None and not 0 < low < (high or nyq):
        raise ValueError(f"low cut-off {low} Hz must lie in (0, {high or nyq:g}) Hz")
    if low is not None and high is not None:
        edges, btype = [low, high], "bandpass"
    else:
        edges, btype = (low, "highpass") if low is not None else (high, "lowpass")
    sos = sps.butter(order, edges, btype=btype, fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x, axis=-1).astype(np.float32)


def remove_baseline(x: np.ndarray, fs: float, cutoff: float = 0.5) -> np.ndarray:
    """Remove baseline wander with a zero-phase high-pass at ``cutoff`` Hz. ``(..., T)``."""
    return bandpass(x, fs, low=cutoff, high=None)


def amplitude_span(x: np.ndarray, fs: float) -> np.ndarray:
    """How large each record is: ``(N, 12, T)`` mV -> ``(N,)`` mV, the median over the leads of
    each lead's 0.5-99.5th percentile range after a 0.5-40 Hz band-pass (so that baseline
    wander and single spikes do not count). Real 12-lead ECGs lie between about 0.3 and 4 mV;
    a header gain wrong by a large factor moves a record far outside."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"expected (N, 12, T) signals, got shape {x.shape}")
    out = np.empty(x.shape[0], dtype=np.float32)
    for i in range(0, x.shape[0], 256):  # in chunks: a filtered copy of a whole database
        chunk = np.asarray(x[i : i + 256], dtype=np.float32)  # would double its memory
        filtered = bandpass(chunk, fs, 0.5, min(40.0, 0.45 * fs))
        lo, hi = np.percentile(filtered, [0.5, 99.5], axis=2)
        out[i : i + 256] = np.median(hi - lo, axis=1)
    return out


INPUT_NORMS = ("none", "range")  # how records are scaled for an encoder: scale_input


def scale_input(x: torch.Tensor, input_norm: str) -> torch.Tensor:
    """Whole records ``(..., 12, T)`` as an encoder with ``input_norm`` takes them: ``"none"``
    as they are (mV), ``"range"`` divided by the record's range over all leads (one factor, so
    lead ratios stay; a flat record unchanged), as the 3KG base code does, before cropping and
    augmentation and never inside ``forward``."""
    if check_choice("input_norm", input_norm, INPUT_NORMS) == "none":
        return x
    span = x.amax(dim=(-2, -1), keepdim=True) - x.amin(dim=(-2, -1), keepdim=True)
    return x / span.masked_fill(span == 0, 1.0)
