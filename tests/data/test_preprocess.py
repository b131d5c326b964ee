"""Signal preprocessing (threekg_lite.data.preprocess) on signals whose answer is known
analytically: sines, ramps, and index arrays."""

from __future__ import annotations

import numpy as np
import pytest

from threekg_lite.data.preprocess import (
    bandpass,
    crop_or_pad,
    remove_baseline,
    resample,
    sliding_windows,
)

FS = 500.0


def _sine(freq: float, fs: float, n: int, phase: float = 0.4) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(n) / fs + phase)


# ---------------------------------------------------------------------------------------------
# resample


@pytest.mark.parametrize("fs_out", [100.0, 250.0, 257.0, 360.0, 1000.0])
@pytest.mark.parametrize("n", [5000, 4999])
def test_resampled_sine_is_the_sine_at_the_new_rate(fs_out, n):
    freq = 7.3
    x = _sine(freq, FS, n).astype(np.float32)
    y = resample(x, FS, fs_out)
    assert y.dtype == np.float32
    assert y.shape == (int(round(n * fs_out / FS)),)
    t = np.arange(y.shape[-1]) / fs_out
    expected = _sine(freq, fs_out, y.shape[-1])
    inner = (t > 0.5) & (t < n / FS - 0.5)  # away from the edges
    assert inner.sum() > 0.8 * y.shape[-1]
    np.testing.assert_allclose(y[inner], expected[inner], atol=2e-3)


def test_resample_acts_on_the_last_axis_of_batches():
    freqs = np.array([[2.0, 5.0, 11.0], [3.0, 7.0, 13.0]])
    x = np.sin(2 * np.pi * freqs[..., None] * np.arange(5000) / FS)  # (2, 3, 5000)
    y = resample(x, FS, 250.0)
    assert y.shape == (2, 3, 2500)
    t = np.arange(2500) / 250.0
    expected = np.sin(2 * np.pi * freqs[..., None] * t)
    inner = (t > 0.5) & (t < 9.5)
    np.testing.assert_allclose(y[..., inner], expected[..., inner], atol=2e-3)
    # each row on its own gives the same
    np.testing.assert_allclose(y[1, 2], resample(x[1, 2], FS, 250.0))


def test_resample_length_is_rounded():
    for n, fs_in, fs_out in [(1001, 500, 100), (999, 500, 257), (38400, 1000, 500), (7, 100, 300)]:
        y = resample(np.zeros(n, np.float32), fs_in, fs_out)
        assert y.shape[-1] == int(round(n * fs_out / fs_in))


def test_resample_same_rate_is_a_copy():
    x = np.arange(10, dtype=np.float64)
    y = resample(x, 500, 500)
    np.testing.assert_array_equal(y, x)
    assert y.dtype == np.float32
    y[0] = 99
    assert x[0] == 0


def test_resample_does_not_modify_input():
    x = _sine(5, FS, 1000)
    before = x.copy()
    resample(x, FS, 100)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("fs_in,fs_out", [(0, 100), (500, 0), (-500, 100)])
def test_resample_bad_rates(fs_in, fs_out):
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros(100), fs_in, fs_out)


# ---------------------------------------------------------------------------------------------
# crop_or_pad


@pytest.fixture
def ramp() -> np.ndarray:
    """(2, 3, 100): the value at time t is t (plus 1000 * channel), so a crop shows its offset."""
    return (np.arange(100)[None, None, :] + 1000 * np.arange(6).reshape(2, 3, 1)).astype(np.float32)


def test_crop_start(ramp):
    out = crop_or_pad(ramp, 30, mode="start")
    np.testing.assert_array_equal(out, ramp[..., :30])


@pytest.mark.parametrize("t,length,start", [(100, 30, 35), (100, 31, 34), (100, 99, 0)])
def test_crop_center(t, length, start):
    x = np.arange(t, dtype=np.float32)
    out = crop_or_pad(x, length, mode="center")
    assert out.shape == (length,)
    assert out[0] == start
    # centred: the parts cut on the two sides differ by at most one sample
    assert abs(start - (t - length - start)) <= 1


def test_crop_random_is_deterministic_given_the_seed(ramp):
    a = [crop_or_pad(ramp, 30, mode="random", rng=np.random.default_rng(7))[0, 0, 0] for _ in "ab"]
    assert a[0] == a[1]
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    seq1 = [crop_or_pad(ramp, 30, mode="random", rng=rng1)[0, 0, 0] for _ in range(20)]
    seq2 = [crop_or_pad(ramp, 30, mode="random", rng=rng2)[0, 0, 0] for _ in range(20)]
    assert seq1 == seq2
    assert len(set(seq1)) > 5  # and not always the same offset


def test_crop_random_offsets_cover_the_whole_range():
    x = np.arange(10, dtype=np.float32)
    rng = np.random.default_rng(0)
    starts = []
    for _ in range(300):
        out = crop_or_pad(x, 7, mode="random", rng=rng)
        np.testing.assert_array_equal(out, x[int(out[0]) : int(out[0]) + 7])  # contiguous
        starts.append(int(out[0]))
    assert set(starts) == {0, 1, 2, 3}  # 0 .. T - length, both ends included


def test_crop_random_same_offset_for_all_leads(ramp):
    out = crop_or_pad(ramp, 30, mode="random", rng=np.random.default_rng(1))
    offsets = out[..., 0] - 1000 * np.arange(6).reshape(2, 3)
    assert len(np.unique(offsets)) == 1


@pytest.mark.parametrize("mode", ["start", "center", "random"])
def test_pad_with_zeros_at_the_end(ramp, mode):
    out = crop_or_pad(ramp, 130, mode=mode, rng=np.random.default_rng(0))
    assert out.shape == (2, 3, 130) and out.dtype == ramp.dtype
    np.testing.assert_array_equal(out[..., :100], ramp)
    assert (out[..., 100:] == 0).all()
    np.testing.assert_array_equal(crop_or_pad(ramp, 101, pad_value=-1.0)[..., 100], -1.0)


def test_crop_or_pad_returns_a_copy(ramp):
    for length in (100, 50, 150):
        out = crop_or_pad(ramp, length)
        out[...] = -5
    np.testing.assert_array_equal(ramp[0, 0, :3], [0, 1, 2])


@pytest.mark.parametrize("length", [0, -3])
def test_crop_bad_length(ramp, length):
    with pytest.raises(ValueError, match="positive"):
        crop_or_pad(ramp, length)


@pytest.mark.parametrize("length", [30, 100, 130])
def test_crop_unknown_mode(ramp, length):
    with pytest.raises(ValueError, match="crop mode"):
        crop_or_pad(ramp, length, mode="middle")


def test_crop_random_needs_rng(ramp):
    with pytest.raises(ValueError, match="rng"):
        crop_or_pad(ramp, 30, mode="random")


# ---------------------------------------------------------------------------------------------
# sliding_windows


@pytest.mark.parametrize(
    "t,length,stride", [(100, 30, None), (100, 30, 10), (100, 25, 25), (100, 100, 7), (101, 10, 3)]
)
def test_sliding_windows(ramp, t, length, stride):
    x = np.concatenate([ramp, ramp + 100], axis=-1)[..., :t]
    step = length if stride is None else stride
    out = sliding_windows(x, length, stride)
    expected_count = 1 + (t - length) // step
    assert out.shape == (expected_count, 2, 3, length)
    for k in range(expected_count):
        np.testing.assert_array_equal(out[k], x[..., k * step : k * step + length])
    # the window after the last would not fit
    assert expected_count * step + length > t
    out[...] = -1  # copies, not views of x
    assert (x >= 0).all()


@pytest.mark.parametrize("length,stride", [(0, None), (-1, 5), (10, 0), (10, -2)])
def test_sliding_windows_bad_sizes(length, stride):
    with pytest.raises(ValueError, match="positive"):
        sliding_windows(np.zeros((12, 100)), length, stride)


def test_sliding_windows_too_short():
    with pytest.raises(ValueError, match="shorter"):
        sliding_windows(np.zeros((12, 100)), 101)


# ---------------------------------------------------------------------------------------------
# bandpass and remove_baseline


def _amplitude(y: np.ndarray) -> float:
    """Amplitude of a (filtered) sine from the RMS of the middle third (away from the edges)."""
    n = y.shape[-1]
    mid = y[..., n // 3 : 2 * n // 3]
    return float(np.sqrt(2 * np.mean(mid.astype(np.float64) ** 2)))


@pytest.fixture(scope="module")
def sines() -> dict[float, np.ndarray]:
    n = int(60 * FS)  # 60 s: three periods of the 0.05 Hz wander
    return {f: _sine(f, FS, n) for f in (0.05, 10.0, 60.0)}


def test_bandpass_keeps_the_band_and_removes_the_rest(sines):
    assert _amplitude(bandpass(sines[10.0], FS)) == pytest.approx(1.0, abs=0.03)
    assert _amplitude(bandpass(sines[0.05], FS)) < 1e-3  # baseline wander
    assert _amplitude(bandpass(sines[60.0], FS)) < 0.05  # mains hum above 40 Hz
    mixed = sines[0.05] + sines[10.0] + sines[60.0]
    out = bandpass(mixed, FS)
    n = out.shape[-1]
    mid = slice(n // 3, 2 * n // 3)
    np.testing.assert_allclose(out[mid], sines[10.0][mid], atol=0.1)


def test_remove_baseline(sines):
    assert _amplitude(remove_baseline(sines[0.05], FS)) < 1e-3
    assert _amplitude(remove_baseline(sines[10.0], FS)) == pytest.approx(1.0, abs=0.03)
    assert _amplitude(remove_baseline(sines[60.0], FS)) == pytest.approx(1.0, abs=0.03)
    offset = remove_baseline(sines[10.0] + 3.0, FS)  # a constant offset is baseline too
    assert abs(float(np.mean(offset[len(offset) // 3 : 2 * len(offset) // 3]))) < 0.01


def test_bandpass_is_zero_phase(sines):
    x = sines[10.0]
    y = bandpass(x, FS)
    n = len(x)
    mid = slice(n // 3, 2 * n // 3)
    lags = np.arange(-5, 6)
    corr = [np.dot(np.roll(y, k)[mid], x[mid]) for k in lags]
    assert lags[int(np.argmax(corr))] == 0


def test_filters_on_batches_and_dtype():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 12, 2000)).astype(np.float64)
    y = bandpass(x, FS)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y[1, 4], bandpass(x[1, 4], FS), atol=1e-6)
    before = x.copy()
    remove_baseline(x, FS)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(bandpass(x, FS, low=None, high=None), x.astype(np.float32))


def test_low_and_high_pass_alone(sines):
    assert _amplitude(bandpass(sines[60.0], FS, low=None, high=40.0)) < 0.05
    assert _amplitude(bandpass(sines[0.05], FS, low=None, high=40.0)) == pytest.approx(1, abs=0.03)
    assert _amplitude(bandpass(sines[0.05], FS, low=0.5, high=None)) < 1e-3


@pytest.mark.parametrize(
    "low,high,fs",
    [
        (0.5, 250.0, 500.0),  # high at Nyquist
        (0.5, 300.0, 500.0),  # above Nyquist
        (0.5, 60.0, 100.0),  # above Nyquist at 100 Hz
        (0.5, 0.0, 500.0),
        (0.5, -5.0, 500.0),
        (40.0, 30.0, 500.0),  # low above high
        (40.0, 40.0, 500.0),
        (0.0, 40.0, 500.0),
        (-1.0, 40.0, 500.0),
        (300.0, None, 500.0),  # high-pass above Nyquist
    ],
)
def test_bad_cutoffs(low, high, fs):
    with pytest.raises(ValueError, match="cut-off"):
        bandpass(np.zeros(1000), fs, low=low, high=high)
