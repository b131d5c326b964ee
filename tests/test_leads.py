import numpy as np
import pytest
import torch

from threekg_lite.data.lead_names import canonical_lead_name, lead_order
from threekg_lite.leads import (
    INDEPENDENT_INDEX,
    INDEPENDENT_LEADS,
    LEAD_NAMES,
    LIMB,
    derived_limb_leads,
    with_derived_leads,
)
from threekg_lite.vcg import DOWER, DOWER_8


def test_lead_constants():
    assert len(LEAD_NAMES) == 12
    assert [LEAD_NAMES[i] for i in INDEPENDENT_INDEX] == list(INDEPENDENT_LEADS)


@pytest.mark.parametrize(
    "raw,expected", [("AVR", "aVR"), ("avl", "aVL"), ("i", "I"), ("III", "III"), ("v6", "V6")]
)
def test_canonical_names(raw, expected):
    assert canonical_lead_name(raw) == expected


def test_canonical_rejects_non_leads():
    assert canonical_lead_name("vx") is None
    assert canonical_lead_name("V7") is None


def test_lead_order_reorders():
    shuffled = ["v6", "I", "aVF", "II", "V1", "V2", "V3", "V4", "V5", "III", "AVR", "avl"]
    order = lead_order(shuffled)
    assert [canonical_lead_name(shuffled[i]) for i in order] == list(LEAD_NAMES)


def test_lead_order_errors_name_the_problem():
    with pytest.raises(ValueError, match="missing \\['V6'\\]"):
        lead_order(list(LEAD_NAMES[:11]), source="rec.hea")
    with pytest.raises(ValueError, match="unknown lead name.*'V7'"):
        lead_order([*LEAD_NAMES[:11], "V7"])
    with pytest.raises(ValueError, match="appears twice"):
        lead_order([*LEAD_NAMES[:11], "I"])


def _reference_derived(i, ii):
    # Einthoven: III = II - I; Goldberger: aVR = -(I+II)/2, aVL = I - II/2, aVF = II - I/2
    return ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2


def test_derived_leads_numpy_and_torch_agree_with_formula():
    rng = np.random.default_rng(0)
    i, ii = rng.normal(size=(2, 3, 50))
    for got, want in zip(derived_limb_leads(i, ii), _reference_derived(i, ii)):
        np.testing.assert_array_equal(got, want)
    ti, tii = torch.from_numpy(i), torch.from_numpy(ii)
    for got, want in zip(derived_limb_leads(ti, tii), _reference_derived(i, ii)):
        np.testing.assert_array_equal(got.numpy(), want)


def test_with_derived_leads_does_not_modify_input():
    x = np.random.default_rng(1).normal(size=(2, 12, 30)).astype(np.float32)
    before = x.copy()
    y = with_derived_leads(x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(y[:, 2], x[:, 1] - x[:, 0], rtol=0, atol=0)
    t = with_derived_leads(torch.from_numpy(x))
    np.testing.assert_array_equal(t.numpy(), y)
    with pytest.raises(ValueError, match="12 leads"):
        with_derived_leads(x[:, :8])


def test_dower_rows_satisfy_limb_identities_exactly():
    i, ii = DOWER[0], DOWER[1]
    np.testing.assert_array_equal(DOWER[2:6], np.stack(_reference_derived(i, ii)))
    np.testing.assert_array_equal(DOWER[list(INDEPENDENT_INDEX)], DOWER_8)
    # the published 12-row table (3kg-method.md) agrees with the derived rows to 0.0005
    published = np.array(
        [[-0.397, 1.301, -0.191], [-0.434, -0.415, 0.037], [0.515, -0.768, 0.125],
         [-0.081, 1.184, -0.162]]
    )  # fmt: skip
    np.testing.assert_allclose(DOWER[2:6], published, atol=6e-4)
    assert not DOWER.flags.writeable


def test_data_package_exports_resolve_lazily():
    import subprocess
    import sys

    import threekg_lite.data as data

    assert sorted(data.__all__) == sorted(data._EXPORTS)
    for name in data.__all__:
        assert getattr(data, name) is not None
    with pytest.raises(AttributeError):
        data.no_such_thing  # noqa: B018
    # importing the package reads, writes and imports nothing heavy
    code = (
        "import sys, threekg_lite.data; print('scipy.signal' in sys.modules, 'wfdb' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_limb_matrix_is_the_identities_written_once():
    """LIMB keeps I, II, V1-V6 and maps them to III, aVR, aVL, aVF by the identities."""
    x = np.random.default_rng(3).normal(size=(12, 50))
    np.testing.assert_allclose(LIMB @ x, with_derived_leads(x), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(
        LIMB[[0, 1, 6, 7, 8, 9, 10, 11]][:, [0, 1, 6, 7, 8, 9, 10, 11]], np.eye(8)
    )
    np.testing.assert_array_equal(LIMB[2:6, 0], [-1.0, -0.5, 1.0, -0.5])
    np.testing.assert_array_equal(LIMB[2:6, 1], [1.0, -0.5, -0.5, 1.0])
