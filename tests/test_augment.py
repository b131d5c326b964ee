"""The 3KG augmentation (:mod:`threekg_lite.augment`): the batched transform against a per-sample
NumPy reference written straight from the formulas, exact identities, the laws of the random
draws, determinism, dtypes and devices, the ablations, and clear errors for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from threekg_lite.augment import (
    LIMB,
    ThreeKG,
    ViewParams,
    rotation_matrices,
    spatial_only,
    temporal_only,
)
from threekg_lite.leads import INDEPENDENT_INDEX, with_derived_leads
from threekg_lite.vcg import DOWER, DOWER_8, project_to_dipole

IDX = list(INDEPENDENT_INDEX)  # I, II, V1..V6
OPTIONS = [
    dict(projection=p, axis_order=a, scale_law=s)
    for p in ("project", "residual")
    for a in ("random", "xyz")
    for s in ("log_symmetric", "enlarge")
]
OPTION_IDS = ["-".join(o.values()) for o in OPTIONS]
P_MIN = 1e-4  # smallest p-value a correct law may give with the fixed seeds below


def _gen(seed: int = 0, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def _synthetic_ecg(
    seed: int, batch: int = 5, t: int = 1001, fs: float = 500.0, consistent: bool = False
) -> np.ndarray:
    """``(batch, 12, t)`` float64 ECG-like signals in mV: P, QRS and T waves of a rotating
    dipole (through Dower), plus a non-dipolar part and baseline wander on I, II, V1-V6. The
    limb leads III..aVF are the exact derived ones if ``consistent``, else perturbed (so that
    a transform reading them instead of recomputing them is caught)."""
    rng = np.random.default_rng(seed)
    time = np.arange(t) / fs
    vcg = np.zeros((batch, 3, t))
    for b in range(batch):
        rr = rng.uniform(0.6, 1.1)
        beats = np.arange(rng.uniform(0.0, rr), time[-1] + rr, rr)
        for offset, width, amplitude in [
            (-0.16, 0.025, 0.15),
            (0.0, 0.012, 1.0),
            (0.25, 0.05, 0.3),
        ]:
            direction = rng.normal(size=3) * amplitude
            for beat in beats:
                vcg[b] += direction[:, None] * np.exp(-0.5 * ((time - beat - offset) / width) ** 2)
    ecg = np.einsum("lk,bkt->blt", DOWER, vcg)
    wander = 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4, (batch, 8, 1)) * time)
    ecg[:, IDX] += 0.05 * rng.normal(size=(batch, 8, t)) + wander
    if consistent:
        return with_derived_leads(ecg)
    ecg[:, 2:6] += 0.2 * rng.normal(size=(batch, 4, t))
    return ecg


# --- the per-sample reference, from the formulas only ----------------------------------------


def _elementary_rotation(axis: int, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    if axis == 0:
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    if axis == 1:
        return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _reference_rotation(angles: np.ndarray, order: np.ndarray) -> np.ndarray:
    r = [_elementary_rotation(k, float(angles[k])) for k in range(3)]
    return r[order[0]] @ r[order[1]] @ r[order[2]]


def reference_view(
    x: np.ndarray,
    angles: np.ndarray,
    order: np.ndarray,
    scales: np.ndarray,
    starts: np.ndarray | None,
    length: int,
    projection: str,
) -> np.ndarray:
    """One 3KG view of one ECG ``x`` ``(12, T)``, in float64, one step at a time."""
    t = x.shape[1]
    rot = _reference_rotation(angles, order)
    scale = np.diag(np.asarray(scales, dtype=np.float64))
    d8 = np.array(DOWER_8, dtype=np.float64)
    x8 = x[IDX]
    vcg = np.linalg.pinv(d8) @ x8
    if projection == "project":
        y8 = d8 @ scale @ rot @ vcg
    else:
        y8 = x8 + d8 @ (scale @ rot - np.eye(3)) @ vcg
    lead_i, lead_ii = y8[0], y8[1]
    out = np.empty((12, t))
    out[0], out[1] = lead_i, lead_ii
    out[2] = lead_ii - lead_i  # III
    out[3] = -(lead_i + lead_ii) / 2  # aVR
    out[4] = lead_i - lead_ii / 2  # aVL
    out[5] = lead_ii - lead_i / 2  # aVF
    out[6:] = y8[2:]
    if starts is not None:
        for lead in range(12):
            for k in range(length):
                out[lead, (int(starts[lead]) + k) % t] = 0.0
    return out


def _reference_batch(x: np.ndarray, params: ViewParams, projection: str, mask: bool = True):
    starts = params.mask_start
    return np.stack(
        [
            reference_view(
                x[b],
                params.angles[b].cpu().numpy(),
                params.order[b].cpu().numpy(),
                params.scales[b].cpu().numpy(),
                None if starts is None or not mask else starts[b].cpu().numpy(),
                params.mask_length,
                projection,
            )
            for b in range(x.shape[0])
        ]
    )


# --- 1. batched implementation == per-sample reference ----------------------------------------


@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_apply_matches_the_per_sample_reference(options):
    x = _synthetic_ecg(seed=1, batch=5, t=1001)
    aug = ThreeKG(**options)
    params = aug.sample(5, 1001, _gen(11), "cpu")
    assert params.mask_start is not None and params.mask_length == 500
    out = aug.apply(torch.from_numpy(x), params)
    assert out.dtype == torch.float64 and out.shape == x.shape
    expected = _reference_batch(x, params, options["projection"])
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-10)
    # and the call draws the same parameters from the same seed
    again = aug(torch.from_numpy(x), _gen(11))
    np.testing.assert_array_equal(again.numpy(), out.numpy())


def test_reference_sees_a_nontrivial_transform():
    """Guard against a vacuous comparison: the views differ from the input and from each other."""
    x = _synthetic_ecg(seed=2, batch=5, t=1001)
    for projection in ("project", "residual"):
        aug = ThreeKG(projection=projection, temporal=False)
        params = aug.sample(5, 1001, _gen(3), "cpu")
        view = _reference_batch(x, params, projection)
        assert np.abs(view - x)[:, IDX].max() > 0.1
        assert np.abs(view[0] - view[1]).max() > 0.1


def test_rotation_matrices_match_the_textbook_product():
    params = ThreeKG().sample(300, 10, _gen(4), "cpu")
    got = rotation_matrices(params.angles, params.order).numpy()
    for b in range(300):
        expected = _reference_rotation(params.angles[b].numpy(), params.order[b].numpy())
        np.testing.assert_allclose(got[b], expected, rtol=0, atol=1e-14)


# --- 2. exact identities ----------------------------------------------------------------------


@pytest.mark.parametrize("axis_order", ["random", "xyz"])
def test_rotations_are_orthogonal_with_determinant_one(axis_order):
    for max_angle in (45.0, 180.0):
        aug = ThreeKG(max_angle_deg=max_angle, axis_order=axis_order)
        params = aug.sample(20_000, 10, _gen(5), "cpu")
        r = rotation_matrices(params.angles, params.order)
        eye = torch.eye(3, dtype=torch.float64).expand_as(r)
        assert (r.transpose(1, 2) @ r - eye).abs().max() < 1e-14
        assert (torch.linalg.det(r) - 1).abs().max() < 1e-14


def test_identity_transform_is_exact_in_residual_mode():
    x = with_derived_leads(torch.from_numpy(_synthetic_ecg(seed=6, batch=4, t=777)))
    aug = ThreeKG(max_angle_deg=0.0, max_scale=1.0, mask_ratio=0.0, projection="residual")
    out, params = aug(x, _gen(7), return_params=True)
    assert params.mask_start is None and params.mask_length == 0
    assert torch.equal(params.scales, torch.ones(4, 3, dtype=torch.float64))
    assert torch.equal(out, x)
    # on input violating the limb identities: the limb leads are recomputed, nothing else moves
    raw = torch.from_numpy(_synthetic_ecg(seed=6, batch=4, t=777))
    torch.testing.assert_close(aug(raw, _gen(7)), with_derived_leads(raw), rtol=0, atol=1e-15)


def test_identity_transform_is_the_dipole_projection_in_project_mode():
    x = torch.from_numpy(_synthetic_ecg(seed=8, batch=4, t=501, consistent=True))
    aug = ThreeKG(max_angle_deg=0.0, max_scale=1.0, mask_ratio=0.0, projection="project")
    out = aug(x, _gen(9))
    torch.testing.assert_close(out, project_to_dipole(x), rtol=0, atol=1e-12)
    assert (out - x).abs().max() > 0.01  # the non-dipolar part is gone


def test_project_mode_has_rank_three_and_residual_mode_rank_eight():
    for projection, rank in (("project", 3), ("residual", 8)):
        params = ThreeKG(projection=projection).sample(200, 10, _gen(10), "cpu")
        ranks = torch.linalg.matrix_rank(params.matrices)
        assert torch.equal(ranks, torch.full((200,), rank))
        # columns of III, aVR, aVL, aVF are never read
        assert torch.equal(params.matrices[:, :, 2:6], torch.zeros(200, 12, 4, dtype=torch.float64))


def _limb_violation(out: torch.Tensor) -> torch.Tensor:
    """``(B, 4, T)``: each derived lead minus its value from I and II."""
    lead_i, lead_ii = out[:, 0], out[:, 1]
    derived = torch.stack(
        [lead_ii - lead_i, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2, lead_ii - lead_i / 2], 1
    )
    return out[:, 2:6] - derived


@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_derived_lead_identities_hold_in_every_view(options):
    x = torch.from_numpy(_synthetic_ecg(seed=12, batch=6, t=600))
    # without a mask: everywhere
    out = ThreeKG(temporal=False, **options)(x, _gen(13))
    assert _limb_violation(out).abs().max() < 1e-12
    # with the mask: wherever neither I, II nor the derived lead itself is masked
    out, params = ThreeKG(**options)(x, _gen(14), return_params=True)
    masked = _mask_from_starts(params.mask_start, params.mask_length, 600)  # (B, 12, T)
    free = ~(masked[:, 0:1] | masked[:, 1:2] | masked[:, 2:6])
    assert free.sum() > 1000
    assert _limb_violation(out)[free].abs().max() < 1e-12


def _mask_from_starts(start: torch.Tensor, length: int, t: int) -> torch.Tensor:
    """Boolean ``(B, 12, T)``, True on masked samples, by modular arithmetic."""
    offset = (torch.arange(t)[None, None, :] - start[:, :, None]) % t
    return offset < length


# --- 3. laws of the random draws --------------------------------------------------------------


def _assert_uniform(samples: np.ndarray, low: float, high: float, wrong: tuple[float, float]):
    """``samples`` pass a KS test for U[low, high] and fail it for the nearby U[wrong]."""
    assert samples.min() >= low and samples.max() <= high
    assert stats.kstest(samples, "uniform", args=(low, high - low)).pvalue > P_MIN
    assert stats.kstest(samples, "uniform", args=(wrong[0], wrong[1] - wrong[0])).pvalue < 1e-8


@pytest.mark.parametrize("max_angle", [45.0, 10.0, 180.0])
def test_angles_are_uniform_in_plus_minus_theta(max_angle):
    params = ThreeKG(max_angle_deg=max_angle).sample(20_000, 10, _gen(20), "cpu")
    theta = math.radians(max_angle)
    angles = params.angles.numpy()
    assert angles.shape == (20_000, 3) and angles.dtype == np.float64
    for axis in range(3):
        _assert_uniform(angles[:, axis], -theta, theta, wrong=(-0.95 * theta, 0.95 * theta))
    assert np.abs(angles).max() > 0.999 * theta  # the range is used up to its ends
    corr = np.corrcoef(angles.T)
    assert np.abs(corr - np.eye(3)).max() < 0.04  # three independent angles


def test_zero_max_angle_gives_no_rotation():
    params = ThreeKG(max_angle_deg=0.0).sample(100, 10, _gen(21), "cpu")
    assert torch.equal(params.angles.abs(), torch.zeros(100, 3, dtype=torch.float64))


@pytest.mark.parametrize("max_scale", [1.5, 2.0])
def test_log_symmetric_scales_shrink_or_grow_by_u_1_s(max_scale):
    params = ThreeKG(max_scale=max_scale).sample(20_000, 10, _gen(22), "cpu")
    scales = params.scales.numpy()
    assert scales.shape == (20_000, 3)
    assert scales.min() >= 1 / max_scale and scales.max() <= max_scale
    shrink = scales < 1
    for axis in range(3):
        assert abs(shrink[:, axis].mean() - 0.5) < 0.012  # 2.4 % is 3.4 sd at n = 20k
    assert abs(shrink.mean() - 0.5) < 0.007
    wrong = (1.0, 1.0 + 0.95 * (max_scale - 1))
    _assert_uniform(1 / scales[shrink], 1.0, max_scale, wrong)  # inverted magnitudes
    _assert_uniform(scales[~shrink], 1.0, max_scale, wrong)
    # a log-uniform law (the other common choice) would fail
    log_u = np.log(np.where(shrink, 1 / scales, scales).ravel()) / math.log(max_scale)
    assert stats.kstest(log_u, "uniform").pvalue < 1e-8
    # the inversion does not depend on the magnitude, nor on the other axes
    corr = np.corrcoef(np.hstack([shrink, np.abs(np.log(scales))]).T)
    assert np.abs(corr - np.eye(6)).max() < 0.04


def test_enlarge_scales_are_u_1_s():
    params = ThreeKG(scale_law="enlarge").sample(20_000, 10, _gen(23), "cpu")
    scales = params.scales.numpy()
    assert scales.min() >= 1.0
    for axis in range(3):
        _assert_uniform(scales[:, axis], 1.0, 1.5, wrong=(1.0, 1.475))


def test_unit_max_scale_gives_no_scaling():
    for law in ("log_symmetric", "enlarge"):
        params = ThreeKG(max_scale=1.0, scale_law=law).sample(100, 10, _gen(24), "cpu")
        assert torch.equal(params.scales, torch.ones(100, 3, dtype=torch.float64))


def test_random_axis_order_is_uniform_over_the_six_permutations():
    order = ThreeKG(axis_order="random").sample(20_000, 10, _gen(25), "cpu").order.numpy()
    assert order.shape == (20_000, 3)
    assert (np.sort(order, axis=1) == [0, 1, 2]).all()  # every row is a permutation
    keys = order[:, 0] * 9 + order[:, 1] * 3 + order[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    assert len(values) == 6
    assert stats.chisquare(counts).pvalue > P_MIN
    assert abs(counts / 20_000 - 1 / 6).max() < 0.012


def test_xyz_axis_order_is_always_x_y_z():
    order = ThreeKG(axis_order="xyz").sample(2_000, 10, _gen(26), "cpu").order
    assert torch.equal(order, torch.tensor([[0, 1, 2]]).expand(2_000, 3))


@pytest.mark.parametrize(
    ("ratio", "t"), [(0.5, 1001), (0.5, 1000), (0.25, 999), (0.9, 7), (0.3, 10), (0.999, 1000)]
)
def test_mask_is_one_circular_run_of_floor_ratio_t_per_lead(ratio, t):
    length = math.floor(ratio * t)
    assert length > 0
    base = torch.ones(300, 12, t)
    base[:, 1] = 3.0  # lead II: then every derived lead is nonzero too (III = 2, aVL = -0.5)
    base = with_derived_leads(base)
    assert (base != 0).all()
    out, params = temporal_only(mask_ratio=ratio)(base, _gen(27), return_params=True)
    assert params.mask_length == length
    start = params.mask_start
    assert start.shape == (300, 12) and start.dtype == torch.int64
    zero = out == 0
    assert torch.equal(out[~zero], base[~zero])  # the rest is untouched
    assert torch.equal(zero.sum(-1), torch.full((300, 12), length))  # exactly floor(ratio T)
    run_starts = zero & ~zero.roll(1, dims=-1)
    assert torch.equal(run_starts.sum(-1), torch.ones(300, 12, dtype=torch.int64))  # one run
    assert torch.equal(run_starts.float().argmax(-1), start)  # beginning at mask_start
    assert torch.equal(zero, _mask_from_starts(start, length, t))


def test_mask_starts_are_uniform_over_the_whole_signal():
    t = 1001
    start = ThreeKG().sample(20_000, t, _gen(28), "cpu").mask_start.numpy().ravel()
    assert start.min() == 0 and start.max() == t - 1
    counts = np.bincount(start, minlength=t)
    assert len(counts) == t
    assert stats.chisquare(counts).pvalue > P_MIN
    # a start restricted to [0, T - L) (no wrapping) would leave the last 500 bins empty
    assert counts[t - 500 :].sum() / counts.sum() > 0.49
    # independent between leads and ECGs: lead-to-lead correlation near zero
    corr = np.corrcoef(start.reshape(20_000, 12).T)
    assert np.abs(corr - np.eye(12)).max() < 0.04


def test_short_signals_have_no_mask_when_floor_ratio_t_is_zero():
    x = torch.from_numpy(_synthetic_ecg(seed=29, batch=2, t=3))
    out, params = ThreeKG(mask_ratio=0.3)(x, _gen(30), return_params=True)
    assert params.mask_length == 0 and params.mask_start is None
    np.testing.assert_allclose(out.numpy(), _reference_batch(x.numpy(), params, "project"))


# --- 4. determinism, shapes, dtypes, devices --------------------------------------------------


def test_same_seed_same_views_different_seed_different_views():
    x = torch.from_numpy(_synthetic_ecg(seed=31, batch=4, t=500)).float()
    aug = ThreeKG()
    a, b, c = aug(x, _gen(1)), aug(x, _gen(1)), aug(x, _gen(2))
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 0.1
    views_1, views_2 = aug.views(x, _gen(5), n=3), aug.views(x, _gen(5), n=3)
    assert len(views_1) == 3
    for v1, v2 in zip(views_1, views_2):
        assert torch.equal(v1, v2)
    for i in range(3):
        for j in range(i):
            assert (views_1[i] - views_1[j]).abs().amax(dim=(1, 2)).min() > 0.1  # every ECG
    # the generator is the only source of randomness
    torch.manual_seed(0)
    d = aug(x, _gen(1))
    torch.manual_seed(123)
    assert torch.equal(d, aug(x, _gen(1)))


def test_views_default_to_two_independent_draws():
    x = torch.from_numpy(_synthetic_ecg(seed=32, batch=3, t=400))
    first, second = ThreeKG().views(x, _gen(6))
    assert first.shape == second.shape == x.shape
    # the second view is the next draw of the same generator
    gen = _gen(6)
    aug = ThreeKG()
    assert torch.equal(first, aug(x, gen)) and torch.equal(second, aug(x, gen))
    assert not torch.equal((first == 0), (second == 0))  # different masks


def test_input_is_not_modified():
    x = torch.from_numpy(_synthetic_ecg(seed=33, batch=3, t=400))
    before = x.clone()
    for aug in (ThreeKG(), temporal_only(), spatial_only(projection="residual")):
        aug(x, _gen(7))
        assert torch.equal(x, before)


@pytest.mark.parametrize("batch", [3, 33])
def test_views_equal_successive_calls(batch):
    x = torch.from_numpy(_synthetic_ecg(seed=36, batch=batch, t=257)).float()
    aug = ThreeKG()
    one_by_one = [aug(x, _gen(10)) for _ in range(1)]
    gen = _gen(10)
    successive = [aug(x, gen), aug(x, gen)]
    together = aug.views(x, _gen(10), 2)
    assert torch.equal(together[0], successive[0]) and torch.equal(together[1], successive[1])
    assert torch.equal(one_by_one[0], successive[0])
    assert not torch.equal(together[0], together[1])


def test_params_for_another_batch_size_are_refused():
    aug = ThreeKG()
    params = aug.sample(3, 50, _gen(), "cpu")
    with pytest.raises(ValueError, match="drawn for 3 ECGs, the batch has 2"):
        aug.apply(torch.zeros(2, 12, 50), params)


@pytest.mark.parametrize(("batch", "t"), [(1, 1001), (1, 1), (3, 1), (2, 2), (2, 5), (7, 333)])
def test_batch_sizes_and_odd_lengths(batch, t):
    x = _synthetic_ecg(seed=34, batch=batch, t=t)
    for projection in ("project", "residual"):
        aug = ThreeKG(projection=projection)
        out, params = aug(torch.from_numpy(x), _gen(8), return_params=True)
        assert out.shape == (batch, 12, t)
        assert params.mask_length == t // 2
        expected = _reference_batch(x, params, projection)
        np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-10)


def test_an_empty_signal_gives_an_empty_view():
    out = ThreeKG()(torch.zeros(2, 12, 0, dtype=torch.float64), _gen())
    assert out.shape == (2, 12, 0)


# relative to the signal's peak: a few units of each dtype's rounding, over 12-term sums
DTYPE_TOL = {torch.float64: 1e-12, torch.float32: 2e-6, torch.float16: 3e-3, torch.bfloat16: 2.5e-2}


@pytest.mark.parametrize("dtype", list(DTYPE_TOL), ids=str)
@pytest.mark.parametrize("projection", ["project", "residual"])
def test_dtypes_are_kept_and_close_to_float64(dtype, projection):
    x64 = torch.from_numpy(_synthetic_ecg(seed=35, batch=4, t=1001))
    x = x64.to(dtype)
    aug = ThreeKG(projection=projection)
    out, params = aug(x, _gen(9), return_params=True)
    assert out.dtype == dtype and out.shape == x.shape
    expected = torch.from_numpy(_reference_batch(x.double().numpy(), params, projection))
    error = (out.double() - expected).abs().max() / expected.abs().max()
    assert error < DTYPE_TOL[dtype]
    assert torch.equal(out == 0, expected == 0)  # the same samples are masked


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", list(DTYPE_TOL), ids=str)
def test_cuda_matches_cpu(dtype):
    x64 = torch.from_numpy(_synthetic_ecg(seed=36, batch=4, t=1001))
    aug = ThreeKG()
    # a CPU generator draws the same parameters whatever the data's device
    expected = aug(x64.to(dtype), _gen(10)).double()
    out, params = aug(x64.to(dtype).cuda(), _gen(10), return_params=True)
    assert out.device.type == "cuda" and out.dtype == dtype
    assert all(p.device.type == "cuda" for p in (params.angles, params.matrices))
    assert params.mask_start.device.type == "cuda"
    scale = expected.abs().max()
    assert (out.double().cpu() - expected).abs().max() / scale < DTYPE_TOL[dtype]
    # a CUDA generator: parameters on the GPU, the view equal to the reference
    out, params = aug(x64.cuda(), _gen(11, "cuda"), return_params=True)
    assert out.device.type == "cuda"
    cpu_params = ViewParams(*(p.cpu() if isinstance(p, torch.Tensor) else p for p in params))
    reference = _reference_batch(x64.numpy(), cpu_params, "project")
    np.testing.assert_allclose(out.cpu().numpy(), reference, rtol=0, atol=1e-10)


# --- 5. ablations -----------------------------------------------------------------------------


@pytest.mark.parametrize("projection", ["project", "residual"])
def test_spatial_only_transforms_without_masking(projection):
    x = _synthetic_ecg(seed=40, batch=5, t=1001)
    aug = spatial_only(projection=projection)
    assert aug.temporal is False and aug.spatial is True
    out, params = aug(torch.from_numpy(x), _gen(12), return_params=True)
    assert params.mask_start is None and params.mask_length == 0
    assert (out == 0).sum() == 0  # no zeros: nothing masked
    expected = _reference_batch(x, params, projection)
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-10)
    # the same spatial transform as the full augmentation from the same seed, unmasked
    full, full_params = ThreeKG(projection=projection)(torch.from_numpy(x), _gen(12), True)
    assert torch.equal(full_params.matrices, params.matrices)
    kept = full != 0
    torch.testing.assert_close(full[kept], out[kept], rtol=0, atol=0)


def test_temporal_only_masks_the_input_with_limb_leads_recomputed():
    x = torch.from_numpy(_synthetic_ecg(seed=41, batch=5, t=1001))
    aug = temporal_only()
    assert aug.spatial is False and aug.temporal is True and aug.projection == "residual"
    out, params = aug(x, _gen(13), return_params=True)
    assert torch.equal(params.angles, torch.zeros(5, 3, dtype=torch.float64))
    assert torch.equal(params.scales, torch.ones(5, 3, dtype=torch.float64))
    masked = _mask_from_starts(params.mask_start, params.mask_length, 1001)
    expected = with_derived_leads(x).masked_fill(masked, 0.0)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-15)
    # on input satisfying the limb identities: exactly the masked input
    consistent = with_derived_leads(x)
    assert torch.equal(aug(consistent, _gen(13)), consistent.masked_fill(masked, 0.0))


def test_mask_ratio_zero_means_no_mask():
    x = _synthetic_ecg(seed=42, batch=5, t=1001)
    aug = ThreeKG(mask_ratio=0.0)
    out, params = aug(torch.from_numpy(x), _gen(14), return_params=True)
    assert params.mask_start is None and params.mask_length == 0
    assert (out == 0).sum() == 0
    np.testing.assert_allclose(out.numpy(), _reference_batch(x, params, "project"), atol=1e-10)


def test_ablations_pass_their_options_on():
    assert spatial_only(max_angle_deg=10.0, scale_law="enlarge").max_angle_deg == 10.0
    assert temporal_only(mask_ratio=0.25).mask_ratio == 0.25
    assert LIMB.shape == (12, 12)


# --- 6. bad input -----------------------------------------------------------------------------


def test_wrong_shapes_are_refused_with_a_clear_message():
    aug = ThreeKG()
    with pytest.raises(ValueError, match=r"\(B, 12, T\).*got \(2, 8, 100\)"):
        aug(torch.zeros(2, 8, 100), _gen())
    with pytest.raises(ValueError, match=r"got \(2, 100, 12\) \(put time last\)"):
        aug(torch.zeros(2, 100, 12), _gen())
    with pytest.raises(ValueError, match=r"\(B, 12, T\).*got \(12, 100\)"):
        aug(torch.zeros(12, 100), _gen())
    with pytest.raises(ValueError, match=r"\(B, 12, T\).*got \(1, 1, 12, 100\)"):
        aug(torch.zeros(1, 1, 12, 100), _gen())
    params = aug.sample(2, 100, _gen(), "cpu")
    with pytest.raises(ValueError, match=r"put time last"):
        aug.apply(torch.zeros(2, 100, 12), params)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int16, torch.uint8, torch.bool])
def test_non_float_input_is_refused(dtype):
    with pytest.raises(TypeError, match=r"floating-point tensor, got torch\."):
        ThreeKG()(torch.zeros(2, 12, 100, dtype=dtype), _gen())


def test_non_tensor_input_is_refused():
    with pytest.raises(TypeError, match=r"torch\.Tensor .*got ndarray"):
        ThreeKG()(np.zeros((2, 12, 100)), _gen())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(max_angle_deg=-1.0), r"max_angle_deg must be in \[0, 180\], got -1"),
        (dict(max_angle_deg=180.5), r"max_angle_deg must be in \[0, 180\], got 180.5"),
        (dict(max_angle_deg=float("nan")), r"max_angle_deg must be in \[0, 180\]"),
        (dict(max_scale=0.9), r"max_scale must be >= 1, got 0.9"),
        (dict(max_scale=float("nan")), r"max_scale must be >= 1"),
        (dict(mask_ratio=1.0), r"mask_ratio must be in \[0, 1\), got 1.0"),
        (dict(mask_ratio=-0.1), r"mask_ratio must be in \[0, 1\), got -0.1"),
        (dict(scale_law="uniform"), r"scale_law must be 'log_symmetric' or 'enlarge', got 'un"),
        (dict(axis_order="zyx"), r"axis_order must be 'random' or 'xyz', got 'zyx'"),
        (dict(projection="dower"), r"projection must be 'project' or 'residual', got 'dower'"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ThreeKG(**kwargs)


def test_edge_options_are_accepted():
    for kwargs in (
        dict(max_angle_deg=0.0),
        dict(max_angle_deg=180.0),
        dict(max_scale=1.0),
        dict(mask_ratio=0.0),
        dict(mask_ratio=0.99),
    ):
        ThreeKG(**kwargs)
