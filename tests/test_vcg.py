"""ECG <-> VCG transforms: exact identities, matrix values against their sources, NumPy and
torch agreement across dtypes and devices, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from threekg_lite.leads import INDEPENDENT_INDEX, LEAD_NAMES, derived_limb_leads
from threekg_lite.physiology.vcg_features import dipole_energy_fraction
from threekg_lite.vcg import (
    DOWER,
    DOWER_8,
    INVERSE_DOWER,
    INVERSE_DOWER_A,
    INVERSE_DOWER_B,
    KORS,
    check_ecg,
    ecg_to_vcg,
    ecg_to_vcg_matrix,
    project_to_dipole,
    projection_matrix,
    vcg_to_ecg,
)

IDX = list(INDEPENDENT_INDEX)
# pinv(Dower) as tabulated to 4 decimals in ../shared/reference/3kg-method.md
PINV_TABLE = np.array(
    [
        [0.1561, -0.0099, -0.1724, -0.0738, 0.1222, 0.2310, 0.2393, 0.1936],
        [-0.2274, 0.8865, 0.0572, -0.0190, -0.1064, -0.0220, 0.0409, 0.0483],
        [0.0217, 0.1021, -0.2289, -0.3100, -0.2459, -0.0634, 0.0548, 0.1085],
    ]
)


def _dipolar_ecg(rng: np.random.Generator, shape=(4,), t=200) -> tuple[np.ndarray, np.ndarray]:
    vcg = rng.normal(size=(*shape, 3, t))
    return vcg, np.einsum("lk,...kt->...lt", DOWER, vcg)


# --- matrices ---------------------------------------------------------------------------------


def test_inverse_dower_is_the_pseudo_inverse_of_the_tabulated_dower():
    np.testing.assert_allclose(INVERSE_DOWER, PINV_TABLE, atol=5e-5)
    np.testing.assert_allclose(INVERSE_DOWER @ DOWER_8, np.eye(3), atol=1e-12)


def test_published_roundings_agree_with_the_pseudo_inverse():
    assert np.abs(INVERSE_DOWER_A - INVERSE_DOWER).max() <= 5e-4  # correctly rounded
    assert np.abs(INVERSE_DOWER_B - INVERSE_DOWER).max() <= 9.6e-4  # truncated digits
    assert np.abs(INVERSE_DOWER_A @ DOWER_8 - np.eye(3)).max() <= 6.5e-4
    assert np.abs(INVERSE_DOWER_B @ DOWER_8 - np.eye(3)).max() <= 2.4e-3


def test_kors_is_not_an_inverse_of_dower():
    product = KORS @ DOWER_8
    np.testing.assert_allclose(np.diag(product), [0.97, 1.005, 0.89], atol=0.01)
    assert np.abs(product - np.diag(np.diag(product))).max() > 0.3


def test_matrix_for_all_12_leads_has_zero_columns_for_derived_leads():
    m = ecg_to_vcg_matrix("kors")
    np.testing.assert_array_equal(m[:, IDX], KORS)
    np.testing.assert_array_equal(m[:, [2, 3, 4, 5]], 0.0)
    with pytest.raises(ValueError, match="unknown method"):
        ecg_to_vcg_matrix("frank")  # type: ignore[arg-type]


# --- identities ---------------------------------------------------------------------------------


def test_projection_is_rank_3_symmetric_and_idempotent_on_the_8_leads():
    p = projection_matrix()[np.ix_(IDX, IDX)]
    np.testing.assert_allclose(p @ p, p, atol=1e-12)
    np.testing.assert_allclose(p, p.T, atol=1e-12)
    np.testing.assert_allclose(
        np.sort(np.linalg.eigvalsh(p))[::-1], [1, 1, 1, 0, 0, 0, 0, 0], atol=1e-12
    )


def test_round_trip_is_exact_on_dipolar_signals():
    vcg, ecg = _dipolar_ecg(np.random.default_rng(0))
    np.testing.assert_allclose(ecg_to_vcg(ecg), vcg, atol=1e-12)
    np.testing.assert_allclose(project_to_dipole(ecg), ecg, atol=1e-12)
    np.testing.assert_allclose(dipole_energy_fraction(ecg), 1.0, atol=1e-12)


def test_ecg_from_vcg_satisfies_limb_identities_exactly():
    vcg = np.random.default_rng(1).normal(size=(2, 3, 50))
    ecg = vcg_to_ecg(vcg)
    for got, want in zip(ecg[:, 2:6].transpose(1, 0, 2), derived_limb_leads(ecg[:, 0], ecg[:, 1])):
        np.testing.assert_allclose(got, want, atol=1e-14)


def test_non_dipolar_part_is_removed_and_energy_fraction_in_unit_interval():
    rng = np.random.default_rng(2)
    ecg = rng.normal(size=(5, 12, 300))
    frac = dipole_energy_fraction(ecg)
    assert frac.shape == (5,) and np.all((frac >= 0) & (frac <= 1))
    # random (white) 8-lead noise keeps about 3/8 of its energy in a 3-D subspace
    np.testing.assert_allclose(frac.mean(), 3 / 8, atol=0.05)


def test_reference_loop_implementation_matches():
    """ecg_to_vcg against a loop written straight from the formula v_k(t) = sum_l M_kl x_l(t)."""
    rng = np.random.default_rng(3)
    ecg = rng.normal(size=(12, 7))
    for method, m8 in (("dower", INVERSE_DOWER), ("kors", KORS), ("dower_a", INVERSE_DOWER_A)):
        want = np.zeros((3, 7))
        for k in range(3):
            for j, lead in enumerate(IDX):
                for t in range(7):
                    want[k, t] += m8[k, j] * ecg[lead, t]
        np.testing.assert_allclose(ecg_to_vcg(ecg, method), want, atol=1e-12)


# --- numpy / torch, dtypes, devices ---------------------------------------------------------


@pytest.mark.parametrize(
    "dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5), (torch.bfloat16, 3e-2)]
)
def test_torch_matches_numpy_and_keeps_dtype(dtype, tol):
    _, ecg = _dipolar_ecg(np.random.default_rng(4), shape=(2, 3))
    t = torch.from_numpy(ecg).to(dtype)
    for fn in (ecg_to_vcg, project_to_dipole):
        out = fn(t)
        assert out.dtype == dtype and out.shape == fn(ecg).shape
        scale = np.abs(fn(ecg)).max()
        np.testing.assert_allclose(
            out.double().numpy() / scale, fn(t.double().numpy()) / scale, atol=tol
        )
    assert vcg_to_ecg(ecg_to_vcg(t)).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_keeps_dtype(dtype):
    _, ecg = _dipolar_ecg(np.random.default_rng(5))
    assert ecg_to_vcg(ecg.astype(dtype)).dtype == dtype
    assert vcg_to_ecg(np.zeros((3, 4), dtype)).dtype == dtype


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_stays_on_the_device():
    _, ecg = _dipolar_ecg(np.random.default_rng(6))
    t = torch.from_numpy(ecg).float().cuda()
    out = ecg_to_vcg(t)
    assert out.is_cuda
    np.testing.assert_allclose(out.cpu().numpy(), ecg_to_vcg(ecg.astype(np.float32)), atol=1e-4)


# --- bad input ------------------------------------------------------------------------------


def test_wrong_lead_count_and_time_axis_are_named():
    with pytest.raises(ValueError, match=r"\(\.\.\., 12, T\).*got shape \(8, 500\).*missing"):
        ecg_to_vcg(np.zeros((8, 500)))
    with pytest.raises(ValueError, match="looks like \\(T, 12\\)"):
        ecg_to_vcg(np.zeros((500, 12)))
    with pytest.raises(ValueError, match="\\(\\.\\.\\., 3, T\\)"):
        vcg_to_ecg(np.zeros((500, 3)))


def test_lead_names_in_another_order_or_missing_are_named():
    x = np.zeros((12, 10))
    check_ecg(x, [n.upper() for n in LEAD_NAMES])  # spelling does not matter
    swapped = list(LEAD_NAMES)
    swapped[6], swapped[7] = swapped[7], swapped[6]
    with pytest.raises(ValueError, match="another order"):
        ecg_to_vcg(x, lead_names=swapped)
    missing = [*LEAD_NAMES[:8], "V7", *LEAD_NAMES[9:]]
    with pytest.raises(ValueError, match=r"missing \['V3'\]"):
        ecg_to_vcg(x, lead_names=missing)


# --- real data --------------------------------------------------------------------------------


def test_dipole_explains_most_of_real_ecgs(data_dir):
    from threekg_lite.data import load_ludb
    from threekg_lite.data.preprocess import bandpass

    ludb = load_ludb(data_dir, progress=False)
    frac = dipole_energy_fraction(bandpass(ludb.signals, ludb.fs, 0.5, 40.0))
    assert 0.8 < np.median(frac) < 0.97  # measured 0.888 on LUDB
    assert np.all(frac < 1.0)
