"""Tests for threekg_lite.baselines.generic: contracts, determinism, laws and spectra."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from threekg_lite.baselines.generic import (
    AmplitudeScale,
    Augmentation,
    BaselineWander,
    Compose,
    GaussianNoise,
    PowerlineNoise,
    RandomApply,
    RandomResizedCrop,
    TimeOut,
    keep_limb_identities,
    simclr_ecg,
)
from threekg_lite.leads import with_derived_leads

FS = 500.0

TRANSFORMS = [
    pytest.param(GaussianNoise(), id="noise"),
    pytest.param(AmplitudeScale(), id="scale-lead-loguniform"),
    pytest.param(AmplitudeScale(per_lead=False, law="uniform"), id="scale-record-uniform"),
    pytest.param(RandomResizedCrop(), id="crop"),
    pytest.param(TimeOut(0.2), id="timeout"),
    pytest.param(BaselineWander(fs=FS), id="wander"),
    pytest.param(PowerlineNoise(fs=FS), id="powerline"),
    pytest.param(RandomApply(AmplitudeScale(), p=0.5), id="random-apply"),
    pytest.param(keep_limb_identities, id="keep-identities"),
    pytest.param(simclr_ecg(FS), id="simclr-ecg"),
]
RANDOM_TRANSFORMS = [p for p in TRANSFORMS if p.id != "keep-identities"]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def batch(b: int = 4, t: int = 501, dtype=torch.float32, seed: int = 0) -> torch.Tensor:
    """Values on a 1/64 grid: exact in float16 and bfloat16 as well."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, 12, t, generator=g, dtype=torch.float64) * 64).round().div(64).to(dtype)


def identity_error(x: torch.Tensor) -> float:
    return (with_derived_leads(x) - x).abs().max().item()


# ---------------------------------------------------------------- contracts


def test_transforms_satisfy_protocol():
    for p in TRANSFORMS:
        assert isinstance(p.values[0], Augmentation)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", [(1, 12, 2), (1, 12, 1001), (3, 12, 500)])
def test_shape_dtype_device_preserved(transform, dtype, shape):
    x = batch(shape[0], shape[2], dtype)
    out = transform(x, gen())
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert out.data_ptr() != x.data_ptr()
    assert torch.isfinite(out.float()).all()


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype,tol", [(torch.float16, 1e-2), (torch.bfloat16, 4e-2)])
def test_half_precision_agrees_with_float32(transform, dtype, tol):
    x = batch(3, 301)
    want = transform(x, gen(5))
    got = transform(x.to(dtype), gen(5)).float()
    torch.testing.assert_close(got, want, atol=tol, rtol=tol)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_input_not_modified(transform):
    x = batch(3, 257)
    before = x.clone()
    transform(x, gen())
    assert torch.equal(x, before)


@pytest.mark.parametrize("transform", RANDOM_TRANSFORMS)
def test_determinism(transform):
    x = batch(4, 301)
    a, b, c = transform(x, gen(1)), transform(x, gen(1)), transform(x, gen(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("transform", RANDOM_TRANSFORMS)
def test_global_rng_untouched(transform):
    state = torch.get_rng_state()
    transform(batch(2, 101), gen())
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("transform", RANDOM_TRANSFORMS)
def test_generator_is_advanced(transform):
    g = gen(3)
    x = batch(2, 101)
    assert not torch.equal(transform(x, g), transform(x, g))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_cuda_matches_cpu(transform):
    x = batch(4, 1001, torch.float64)
    out = transform(x.cuda(), gen(7))
    assert out.device.type == "cuda" and out.dtype == x.dtype and out.shape == x.shape
    uses_noise = isinstance(transform, GaussianNoise) or transform is TRANSFORMS[-1].values[0]
    if not uses_noise:  # parameters come from the CPU generator: same numbers on both devices
        torch.testing.assert_close(out.cpu(), transform(x, gen(7)))
    noise = GaussianNoise(0.5)(torch.zeros(8, 12, 1000, device="cuda"), gen(7))
    assert abs(noise.std().item() - 0.5) < 0.01
    cuda_gen = torch.Generator(device="cuda").manual_seed(0)
    assert transform(x.cuda(), cuda_gen).device.type == "cuda"


# ---------------------------------------------------------------- laws


def test_gaussian_noise_law():
    x = torch.full((64, 12, 1000), 3.0, dtype=torch.float64)
    noise = (GaussianNoise(0.05)(x, gen()) - x).flatten().numpy()
    assert abs(noise.std() / 0.05 - 1) < 0.01  # relative s.e. of the std here: 0.08 %
    assert abs(noise.mean()) < 5 * 0.05 / math.sqrt(noise.size)
    per_lead = noise.reshape(64, 12, 1000).transpose(1, 0, 2).reshape(12, -1)
    assert np.abs(np.corrcoef(per_lead)[np.triu_indices(12, 1)]).max() < 0.02  # independent
    assert stats.kstest(noise[:20000], stats.norm(0, 0.05).cdf).pvalue > 1e-3
    # a uniform law with the same std is rejected on the same sample size
    u = np.random.default_rng(0).uniform(-1, 1, 20000) * 0.05 * math.sqrt(3)
    assert stats.kstest(u, stats.norm(0, 0.05).cdf).pvalue < 1e-6


def test_gaussian_noise_zero_std_is_identity():
    x = batch()
    assert torch.equal(GaussianNoise(0.0)(x, gen()), x)


@pytest.mark.parametrize("law", ["log-uniform", "uniform"])
def test_amplitude_scale_law_and_range(law):
    low, high = 0.5, 2.0
    x = torch.ones(400, 12, 3, dtype=torch.float64)
    out = AmplitudeScale(low, high, per_lead=True, law=law)(x, gen())
    s = out[:, :, 0]
    assert torch.equal(out, s[:, :, None].expand_as(out))  # one factor per lead
    s = s.flatten().numpy()
    assert low <= s.min() < low * 1.02 and high * 0.98 < s.max() <= high
    log_uniform = stats.kstest(np.log(s), stats.uniform(math.log(low), math.log(high / low)).cdf)
    uniform = stats.kstest(s, stats.uniform(low, high - low).cdf)
    right, wrong = (log_uniform, uniform) if law == "log-uniform" else (uniform, log_uniform)
    assert right.pvalue > 1e-3
    assert wrong.pvalue < 1e-6


def test_amplitude_scale_per_record_and_per_lead():
    x = torch.ones(50, 12, 4)
    rec = AmplitudeScale(per_lead=False)(x, gen())
    assert torch.equal(rec, rec[:, :1, :1].expand_as(rec))  # one factor per record
    assert rec[:, 0, 0].unique().numel() == 50
    lead = AmplitudeScale(per_lead=True)(x, gen())
    assert (lead[:, :, 0].std(dim=1) > 0).all()


@pytest.mark.parametrize("t,fraction", [(1001, 0.1), (25, 0.1), (500, 0.37), (2, 0.5)])
def test_timeout_zeroes_one_shared_window(t, fraction):
    b = 60
    x = torch.rand(b, 12, t, generator=gen(), dtype=torch.float64) + 1.0  # no zeros
    out = TimeOut(fraction)(x, gen())
    n = round(fraction * t)  # Python's round: round(2.5) == 2 for (25, 0.1)
    zero = out == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))  # same window in all leads
    assert torch.equal(out[~zero], x[~zero])  # everything else untouched
    starts = []
    for row in zero[:, 0].numpy():
        idx = np.flatnonzero(row)
        assert idx.size == n
        if n:
            assert np.array_equal(idx, np.arange(idx[0], idx[0] + n))  # contiguous, no wrap
            starts.append(idx[0])
    if n and t - n > 0:
        assert len(set(starts)) > 1


def test_timeout_start_is_uniform_over_all_positions():
    t, n = 11, 3  # starts 0..8
    x = torch.ones(1800, 12, t)
    zero = TimeOut(n / t)(x, gen())[:, 0] == 0
    starts = zero.int().argmax(dim=1).numpy()
    counts = np.bincount(starts, minlength=t - n + 1)
    assert counts.size == t - n + 1  # never starts later than T - n
    assert stats.chisquare(counts).pvalue > 1e-3


def test_timeout_extremes():
    x = batch()
    assert torch.equal(TimeOut(0.0)(x, gen()), x)
    assert (TimeOut(1.0)(x, gen()) == 0).all()


@pytest.mark.parametrize("t", [1000, 333])
@pytest.mark.parametrize("bounds", [(0.5, 1.0), (0.3, 0.3), (1.0, 1.0)])
def test_random_resized_crop_of_ramp(t, bounds):
    b, a = 200, 0.01
    x = torch.randn(b, 12, t, generator=gen(), dtype=torch.float64)
    x[:, 0] = a * torch.arange(t, dtype=torch.float64)  # ramp in lead I
    out = RandomResizedCrop(*bounds)(x, gen()).numpy()
    ramp = out[:, 0]
    assert np.abs(np.diff(ramp, n=2)).max() < 1e-9  # still a straight line
    start = ramp[:, 0] / a
    length = (ramp[:, -1] - ramp[:, 0]) / a + 1
    np.testing.assert_allclose(start, np.round(start), atol=1e-6)
    np.testing.assert_allclose(length, np.round(length), atol=1e-6)
    start, length = np.round(start), np.round(length)
    assert (start >= 0).all() and (start + length <= t).all()
    lo, hi = round(bounds[0] * t), round(bounds[1] * t)
    assert (length >= lo).all() and (length <= hi).all()
    # slope scales by (L - 1)/(T - 1) ~ fraction: time is stretched by T/L
    slope = np.diff(ramp, axis=1).mean(axis=1)
    np.testing.assert_allclose(slope, a * (length - 1) / (t - 1), rtol=1e-9)
    if bounds == (0.5, 1.0):
        assert abs((length / t).mean() - 0.75) < 0.04  # fraction ~ U[0.5, 1]
        assert len(set(start)) > 50
    # every lead of a record is resampled on the same grid: compare with np.interp
    grid = start[:, None] + np.arange(t) * (length[:, None] - 1) / (t - 1)
    xn = x.numpy()
    for i in range(0, b, 37):
        want = np.stack([np.interp(grid[i], np.arange(t), xn[i, lead]) for lead in range(12)])
        np.testing.assert_allclose(out[i], want, atol=1e-9)


def test_random_resized_crop_full_window_is_identity():
    x = batch(3, 777, torch.float64)
    torch.testing.assert_close(RandomResizedCrop(1.0, 1.0)(x, gen()), x, atol=1e-9, rtol=0)


def _spectrum(out: torch.Tensor, fs: float):
    y = out.numpy()
    window = np.hanning(y.shape[-1])
    power = np.abs(np.fft.rfft(y * window, axis=-1)) ** 2
    return np.fft.rfftfreq(y.shape[-1], 1 / fs), power


def test_baseline_wander_spectrum_and_amplitude():
    fs, t = 100.0, 6000  # 60 s: bins of 1/60 Hz, at least 3 cycles at 0.05 Hz
    out = BaselineWander(0.1, 0.5, fs=fs)(torch.zeros(64, 12, t, dtype=torch.float64), gen())
    freqs, power = _spectrum(out, fs)
    df = freqs[1]
    peak = freqs[power.argmax(axis=-1)]  # (B, 12)
    assert (peak >= 0.05 - df).all() and (peak <= 0.5 + df).all()
    assert (peak == peak[:, :1]).all()  # one frequency per record
    assert peak.min() < 0.15 and peak.max() > 0.4  # spread over the band
    band = freqs <= 0.5 + 4 * df
    assert power[..., band].sum() / power.sum() > 0.999
    amp = out.abs().amax(dim=-1).numpy()  # ~ |a| per lead: >= 3 slow cycles sampled finely
    assert amp.max() <= 0.1 and amp.max() > 0.095
    assert abs(amp.mean() - 0.05) < 0.01  # |U[-0.1, 0.1]| has mean 0.05


def test_baseline_wander_respects_fs():
    # the same draw at twice the sampling rate is the same drift in seconds
    x = torch.zeros(4, 12, 2000, dtype=torch.float64)
    slow = BaselineWander(fs=100.0)(x, gen())
    fast = BaselineWander(fs=200.0)(torch.zeros(4, 12, 4000, dtype=torch.float64), gen())
    torch.testing.assert_close(fast[..., ::2], slow)


@pytest.mark.parametrize(
    "fs,t,expected", [(500.0, 5000, {50.0, 60.0}), (110.0, 1100, {50.0}), (130.0, 1300, None)]
)
def test_powerline_spectrum(fs, t, expected):
    expected = expected or {50.0, 60.0}
    out = PowerlineNoise(0.05, fs=fs)(torch.zeros(64, 12, t, dtype=torch.float64), gen())
    freqs, power = _spectrum(out, fs)
    amp = out.abs().amax(dim=-1).numpy()
    assert amp.max() <= 0.05
    peak = freqs[power.argmax(axis=-1)]
    live = amp > 1e-3
    assert set(np.unique(peak[live])) == expected
    rec_peak = peak[np.arange(64), amp.argmax(axis=1)]
    assert ((peak == rec_peak[:, None]) | ~live).all()  # one frequency per record
    if len(expected) == 2:
        assert 0.3 < (rec_peak == 50.0).mean() < 0.7
    near = np.zeros_like(freqs, dtype=bool)
    for f in expected:
        near |= np.abs(freqs - f) <= 0.5
    assert power[..., near].sum() / power.sum() > 0.999


def test_powerline_skips_frequencies_above_nyquist():
    assert PowerlineNoise(fs=110.0).usable_freqs_hz == (50.0,)
    assert PowerlineNoise(freqs_hz=[50, 60, 1000], fs=500.0).usable_freqs_hz == (50.0, 60.0)


# ---------------------------------------------------------------- combinators


def test_random_apply_extremes():
    x = batch(8, 301)
    t = AmplitudeScale()
    none = RandomApply(t, p=0.0)(x, gen())
    assert torch.equal(none, x) and none.data_ptr() != x.data_ptr()
    assert torch.equal(RandomApply(t, p=1.0)(x, gen(4)), t(x, gen(4)))


def test_random_apply_fraction_and_selection():
    p, b = 0.3, 4000
    x = batch(b, 4)
    t = GaussianNoise(0.1)
    out = RandomApply(t, p=p)(x, gen(9))
    applied = (out != x).flatten(1).any(dim=1)
    assert abs(applied.float().mean().item() - p) < 0.03  # s.e. 0.007
    y = t(x, gen(9))  # RandomApply runs the transform first, on the same stream
    assert torch.equal(out[applied], y[applied])
    assert torch.equal(out[~applied], x[~applied])


def test_compose_order():
    def add_one(x, g):
        return x + 1

    def double(x, g):
        return x * 2

    x = batch()
    assert torch.equal(Compose([add_one, double])(x, gen()), (x + 1) * 2)
    assert torch.equal(Compose([double, add_one])(x, gen()), x * 2 + 1)
    fs = [RandomResizedCrop(), GaussianNoise(), TimeOut()]
    g = gen(2)
    manual = fs[2](fs[1](fs[0](x, g), g), g)
    assert torch.equal(Compose(fs)(x, gen(2)), manual)
    assert not torch.equal(Compose(fs[::-1])(x, gen(2)), manual)
    empty = Compose([])(x, gen())
    assert torch.equal(empty, x) and empty.data_ptr() != x.data_ptr()


# ---------------------------------------------------------------- limb identities


def test_keep_limb_identities_is_exact():
    x = with_derived_leads(batch(6, 400, torch.float64))
    noisy = GaussianNoise()(AmplitudeScale()(x, gen()), gen(1))
    assert identity_error(noisy) > 0.01
    kept = keep_limb_identities(noisy)
    i, ii = kept[:, 0], kept[:, 1]
    assert torch.equal(kept[:, 2], ii - i)
    assert torch.equal(kept[:, 3], -(i + ii) / 2)
    assert torch.equal(kept[:, 4], i - ii / 2)
    assert torch.equal(kept[:, 5], ii - i / 2)
    independent = [0, 1, 6, 7, 8, 9, 10, 11]
    assert torch.equal(kept[:, independent], noisy[:, independent])


@pytest.mark.parametrize("transform", [RandomResizedCrop(), TimeOut(0.3)])
def test_shared_transforms_keep_identities(transform):
    x = with_derived_leads(batch(6, 400, torch.float64))
    assert identity_error(transform(x, gen())) < 1e-12


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_simclr_ecg_views(dtype):
    x = with_derived_leads(batch(8, 1000, dtype))
    pipeline = simclr_ecg(FS)
    view1, view2 = pipeline(x, gen(0)), pipeline(x, gen(1))
    assert identity_error(view1) == 0 and identity_error(view2) == 0
    assert not torch.equal(view1, view2)
    raw = simclr_ecg(FS, keep_identities=False)(x, gen(0))
    assert identity_error(raw) > 1e-3


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: GaussianNoise(-0.1), "std_mv"),
        (lambda: GaussianNoise(float("nan")), "std_mv"),
        (lambda: AmplitudeScale(0.0, 2.0), "low"),
        (lambda: AmplitudeScale(2.0, 1.0), "low <= high"),
        (lambda: AmplitudeScale(law="normal"), "law"),
        (lambda: RandomResizedCrop(0.0, 1.0), "min_fraction"),
        (lambda: RandomResizedCrop(0.8, 0.5), "min_fraction"),
        (lambda: RandomResizedCrop(0.5, 1.5), "max_fraction"),
        (lambda: TimeOut(-0.1), "fraction"),
        (lambda: TimeOut(1.5), "fraction"),
        (lambda: BaselineWander(fs=0.0), "fs"),
        (lambda: BaselineWander(-0.1, fs=FS), "amplitude_mv"),
        (lambda: BaselineWander(max_freq_hz=0.05, fs=FS), "max_freq_hz"),
        (lambda: BaselineWander(max_freq_hz=60.0, fs=100.0), "max_freq_hz"),
        (lambda: PowerlineNoise(fs=100.0), "fs/2"),
        (lambda: PowerlineNoise(freqs_hz=(), fs=FS), "non-empty"),
        (lambda: PowerlineNoise(freqs_hz=(-50.0,), fs=FS), "positive"),
        (lambda: PowerlineNoise(-1.0, fs=FS), "amplitude_mv"),
        (lambda: RandomApply(GaussianNoise(), p=1.5), "p must"),
        (lambda: RandomApply("noise", p=0.5), "callable"),
        (lambda: Compose([GaussianNoise(), 3]), "callable"),
    ],
)
def test_invalid_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_fs_is_required():
    with pytest.raises(TypeError):
        BaselineWander()
    with pytest.raises(TypeError):
        PowerlineNoise()


@pytest.mark.parametrize(
    "x", [torch.zeros(12, 100), torch.zeros(2, 8, 100), torch.zeros(2, 12, 100, dtype=torch.int32)]
)
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_invalid_input(transform, x):
    with pytest.raises(ValueError, match="\\(B, 12, T\\)|floating"):
        transform(x, gen())


def test_crop_needs_two_samples():
    with pytest.raises(ValueError, match="T >= 2"):
        RandomResizedCrop()(torch.zeros(2, 12, 1), gen())
