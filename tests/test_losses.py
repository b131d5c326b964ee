"""The contrastive losses (:mod:`threekg_lite.losses`): NT-Xent and its same-id variant against
loop references written straight from the papers' formulas, closed forms, invariances, dtypes,
gradients, the accuracy's exact ranks, and clear errors for bad input."""

from __future__ import annotations

import math

import pytest
import torch

from threekg_lite.losses import NTXentLoss, contrastive_accuracy, nt_xent, supcon

SIZES = [(1, 3), (2, 5), (7, 4), (16, 8)]  # (N, D): 7 and 1 stand for partial last batches
TEMPERATURES = [0.05, 0.1, 0.5, 1.0]


def _views(n: int, d: int, seed: int = 0, dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64)
    z2 = z1 + 0.7 * torch.randn(n, d, generator=g, dtype=torch.float64)  # correlated views
    return z1.to(dtype), z2.to(dtype)


def _cosine(u: list[float], v: list[float]) -> float:
    dot = sum(a * b for a, b in zip(u, v))
    return dot / math.sqrt(sum(a * a for a in u) * sum(b * b for b in v))


def _simclr_reference(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    """SimCLR Algorithm 1 (Chen et al. 2020), with Python loops in float64.

    The 2N samples are interleaved as in the paper: 1-based sample 2k-1 is the first view of
    item k and sample 2k the second.
    """
    n = z1.shape[0]
    z = []
    for k in range(n):
        z.append(z1[k].tolist())
        z.append(z2[k].tolist())
    s = [[_cosine(z[i], z[j]) for j in range(2 * n)] for i in range(2 * n)]

    def ell(i: int, j: int) -> float:  # 0-based indices
        denominator = sum(math.exp(s[i][k] / tau) for k in range(2 * n) if k != i)
        return -math.log(math.exp(s[i][j] / tau) / denominator)

    total = sum(ell(2 * k, 2 * k + 1) + ell(2 * k + 1, 2 * k) for k in range(n))
    return total / (2 * n)


def _supcon_reference(z1: torch.Tensor, z2: torch.Tensor, ids: list[int], tau: float) -> float:
    """SupCon's L_out (Khosla et al. 2020) with the denominator over all other samples A(i),
    positives P(i) = other samples of the same id, averaged over the 2N anchors."""
    return _supcon_rows_reference(torch.cat([z1, z2]), ids + ids, tau)


@pytest.mark.parametrize("n,d", SIZES)
@pytest.mark.parametrize("tau", TEMPERATURES)
def test_nt_xent_matches_simclr_algorithm(n, d, tau):
    z1, z2 = _views(n, d, seed=n * 100 + d)
    expected = _simclr_reference(z1, z2, tau)
    got64 = nt_xent(z1, z2, temperature=tau)
    got32 = nt_xent(z1.float(), z2.float(), temperature=tau)
    assert got64.dtype == torch.float64 and got64.shape == ()
    assert got32.dtype == torch.float32 and got32.shape == ()
    assert got64.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert got32.item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("n,d", SIZES)
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_ids_variant_matches_supcon_reference(n, d, tau):
    z1, z2 = _views(n, d, seed=7 + n)
    g = torch.Generator().manual_seed(n)
    ids = torch.randint(0, max(1, n // 2), (n,), generator=g)  # repeats when n > 2
    expected = _supcon_reference(z1, z2, ids.tolist(), tau)
    got = nt_xent(z1, z2, temperature=tau, ids=ids)
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    got32 = nt_xent(z1.float(), z2.float(), temperature=tau, ids=ids.int())
    assert got32.item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_ids_with_repeats_differ_from_plain():
    z1, z2 = _views(8, 4, seed=3)
    ids = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    assert not torch.isclose(nt_xent(z1, z2, ids=ids), nt_xent(z1, z2))


@pytest.mark.parametrize("n,d", SIZES)
def test_all_distinct_ids_equal_plain_nt_xent(n, d):
    z1, z2 = _views(n, d, seed=11, dtype=torch.float32)
    ids = torch.randperm(1000, generator=torch.Generator().manual_seed(0))[:n]
    torch.testing.assert_close(nt_xent(z1, z2, 0.2, ids=ids), nt_xent(z1, z2, 0.2))


@pytest.mark.parametrize("n", [1, 2, 5, 16])
@pytest.mark.parametrize("tau", TEMPERATURES)
def test_collapsed_embeddings_give_log_2n_minus_1(n, tau):
    # Every similarity is 1/τ: each anchor's twin is one of 2N - 1 equal candidates.
    z = torch.tensor([[0.3, -1.2, 2.0]]).repeat(n, 1)
    for ids in (None, torch.arange(n)):
        loss = nt_xent(z, z.clone(), temperature=tau, ids=ids)
        assert loss.item() == pytest.approx(math.log(2 * n - 1), abs=1e-6)


@pytest.mark.parametrize("n", [1, 2, 5, 16])
@pytest.mark.parametrize("tau", TEMPERATURES)
def test_identical_pairs_mutually_orthogonal_closed_form(n, tau):
    # s_twin = 1/τ and the 2N - 2 others are 0 (orthogonal), so for every anchor
    # l = -log( e^{1/τ} / (e^{1/τ} + (2N - 2) e^0) ).
    scales = torch.linspace(0.5, 3.0, n, dtype=torch.float64)[:, None]
    z1 = torch.eye(n, 2 * n, dtype=torch.float64) * scales  # rows of distinct directions
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + (2 * n - 2)))
    assert nt_xent(z1, z1.clone(), tau).item() == pytest.approx(expected, rel=1e-12)


def test_n_equal_one_gives_zero_loss():
    z1, z2 = _views(1, 6, seed=5)
    assert nt_xent(z1, z2).item() == pytest.approx(0.0, abs=1e-12)
    assert nt_xent(z1, z2, ids=torch.tensor([4])).item() == pytest.approx(0.0, abs=1e-12)


def test_symmetric_in_the_two_views():
    z1, z2 = _views(9, 5, seed=2, dtype=torch.float32)
    ids = torch.tensor([0, 1, 1, 2, 3, 3, 3, 4, 5])
    torch.testing.assert_close(nt_xent(z1, z2), nt_xent(z2, z1))
    torch.testing.assert_close(nt_xent(z1, z2, ids=ids), nt_xent(z2, z1, ids=ids))


def test_invariant_to_a_permutation_of_the_items():
    z1, z2 = _views(10, 6, seed=4, dtype=torch.float32)
    ids = torch.tensor([0, 0, 1, 2, 2, 2, 3, 4, 5, 5])
    p = torch.randperm(10, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(nt_xent(z1[p], z2[p]), nt_xent(z1, z2))
    torch.testing.assert_close(nt_xent(z1[p], z2[p], ids=ids[p]), nt_xent(z1, z2, ids=ids))


def test_invariant_to_the_scale_of_each_row():
    z1, z2 = _views(6, 4, seed=8)
    g = torch.Generator().manual_seed(2)
    c1 = torch.rand(6, 1, generator=g, dtype=torch.float64) * 10 + 0.1
    c2 = torch.rand(6, 1, generator=g, dtype=torch.float64) * 10 + 0.1
    torch.testing.assert_close(nt_xent(c1 * z1, c2 * z2), nt_xent(z1, z2))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("with_ids", [False, True])
def test_half_precision_inputs_give_float32_loss_and_finite_gradients(dtype, with_ids):
    z1, z2 = _views(8, 16, seed=6, dtype=dtype)
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    ids = torch.tensor([0, 1, 1, 2, 3, 4, 4, 5]) if with_ids else None
    loss = nt_xent(z1, z2, temperature=0.05, ids=ids)
    assert loss.dtype == torch.float32
    loss.backward()
    for z in (z1, z2):
        assert z.grad is not None and z.grad.dtype == dtype
        assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    reference = nt_xent(z1.detach().double(), z2.detach().double(), 0.05, ids=ids)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)


def test_gradients_are_finite_for_n_equal_one():
    z1, z2 = _views(1, 3, seed=1)
    z1.requires_grad_(True)
    nt_xent(z1, z2).backward()
    assert torch.isfinite(z1.grad).all()


@pytest.mark.parametrize("ids", [None, torch.tensor([0, 1, 0])])
def test_gradcheck_float64(ids):
    z1, z2 = _views(3, 4, seed=9)
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: nt_xent(a, b, 0.3, ids=ids), (z1, z2))


def test_module_wrapper_matches_function():
    z1, z2 = _views(5, 3, seed=12)
    ids = torch.tensor([1, 1, 2, 3, 4])
    loss = NTXentLoss(temperature=0.2)
    assert "temperature=0.2" in repr(loss)
    torch.testing.assert_close(loss(z1, z2), nt_xent(z1, z2, 0.2))
    torch.testing.assert_close(loss(z1, z2, ids), nt_xent(z1, z2, 0.2, ids=ids))
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(temperature=0.0)


# --- contrastive_accuracy -----------------------------------------------------------------


def _at_angles(degrees: list[float]) -> torch.Tensor:
    rad = torch.tensor(degrees, dtype=torch.float64) * math.pi / 180
    return torch.stack([rad.cos(), rad.sin()], dim=1).float()  # (N, 2) unit vectors


def test_accuracy_is_one_for_identical_pairs_far_apart():
    z = torch.eye(6, 8) * 5
    z2 = z + 0.01 * torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    assert contrastive_accuracy(z, z2) == {"top1": 1.0, "top5": 1.0}


def test_accuracy_exact_fractions_with_known_ranks():
    # Views on the unit circle, so similarity falls with angular distance. Stacked rows:
    # r0 = 0°, r1 = 10°, r2 = 70° (first views), r3 = 30°, r4 = 18°, r5 = 71° (second views).
    # r0: twin r3 is 30° away; r1 (10°) and r4 (18°) are closer -> twin ranks 3rd.
    # r3: twin r0 is 30° away; r4 (12°) and r1 (20°) are closer -> twin ranks 3rd.
    # r1, r4, r2, r5: their twin is their nearest neighbour -> 1st.
    z1 = _at_angles([0.0, 10.0, 70.0])
    z2 = _at_angles([30.0, 18.0, 71.0])
    acc = contrastive_accuracy(z1, z2, topk=(1, 2, 3, 5))
    assert acc == pytest.approx({"top1": 4 / 6, "top2": 4 / 6, "top3": 1.0, "top5": 1.0})
    assert contrastive_accuracy(z2, z1, topk=(1, 3)) == pytest.approx({"top1": 4 / 6, "top3": 1})
    # Invariant to the length of each row (cosine similarity).
    scaled = contrastive_accuracy(z1 * torch.tensor([[2.0], [0.5], [7.0]]), z2, topk=(1,))
    assert scaled == pytest.approx({"top1": 4 / 6})


def test_accuracy_counts_ties_for_the_twin():
    # All rows identical: no candidate is strictly more similar than the twin.
    z = torch.ones(4, 3)
    assert contrastive_accuracy(z, z.clone(), topk=(1,)) == {"top1": 1.0}


def test_accuracy_k_beyond_the_candidates_counts_as_one():
    z1 = _at_angles([0.0, 10.0, 70.0])
    z2 = _at_angles([30.0, 18.0, 71.0])
    acc = contrastive_accuracy(z1, z2, topk=(5, 6, 100))  # 2N - 1 = 5 candidates
    assert acc == {"top5": 1.0, "top6": 1.0, "top100": 1.0}
    assert contrastive_accuracy(z1[:1], z2[:1], topk=(1, 5)) == {"top1": 1.0, "top5": 1.0}


def test_accuracy_needs_no_gradients_and_accepts_half_precision():
    z1, z2 = _views(4, 3, seed=0, dtype=torch.bfloat16)
    z1.requires_grad_(True)
    acc = contrastive_accuracy(z1, z2)
    assert set(acc) == {"top1", "top5"}
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in acc.values())


# --- bad input ----------------------------------------------------------------------------

_Z = torch.zeros(4, 3) + 1.0


@pytest.mark.parametrize(
    "z1,z2,kwargs,match",
    [
        (_Z, torch.ones(5, 3), {}, "same shape"),
        (_Z, torch.ones(4, 2), {}, "same shape"),
        (torch.ones(4), torch.ones(4), {}, "2-D"),
        (torch.ones(2, 4, 3), torch.ones(2, 4, 3), {}, "2-D"),
        (torch.ones(0, 3), torch.ones(0, 3), {}, "N >= 1"),
        (torch.ones(4, 0), torch.ones(4, 0), {}, "D >= 1"),
        (torch.ones(4, 3, dtype=torch.long), torch.ones(4, 3, dtype=torch.long), {}, "floating"),
        ([[1.0, 2.0]], _Z, {}, "torch.Tensor"),
        (_Z, _Z, {"temperature": 0.0}, "temperature"),
        (_Z, _Z, {"temperature": -0.1}, "temperature"),
        (_Z, _Z, {"temperature": float("nan")}, "temperature"),
        (_Z, _Z, {"temperature": float("inf")}, "temperature"),
        (_Z, _Z, {"temperature": "warm"}, "temperature"),
        (_Z, _Z, {"ids": torch.arange(5)}, r"shape \(N,\)"),
        (_Z, _Z, {"ids": torch.arange(4)[:, None]}, r"shape \(N,\)"),
        (_Z, _Z, {"ids": torch.arange(4.0)}, "integer"),
        (_Z, _Z, {"ids": torch.ones(4, dtype=torch.bool)}, "integer"),
        (_Z, _Z, {"ids": [0, 1, 2, 3]}, "torch.Tensor"),
    ],
)
def test_nt_xent_rejects_bad_input(z1, z2, kwargs, match):
    with pytest.raises(ValueError, match=match):
        nt_xent(z1, z2, **kwargs)


@pytest.mark.parametrize("topk", [(0,), (1, -2), (1.5,), (True,)])
def test_accuracy_rejects_bad_k(topk):
    with pytest.raises(ValueError, match="positive integer"):
        contrastive_accuracy(_Z, _Z, topk=topk)


def test_accuracy_rejects_bad_views():
    with pytest.raises(ValueError, match="same shape"):
        contrastive_accuracy(_Z, torch.ones(3, 3))


# ---------------------------------------------------------------- SupCon, any number of views


def _supcon_rows_reference(z: torch.Tensor, labels: list[int], tau: float) -> float:
    """SupCon's L_out straight from the formula, over rows ``z`` with ``labels``."""
    rows = z.tolist()
    m = len(rows)
    total = 0.0
    for i in range(m):
        others = [a for a in range(m) if a != i]
        positives = [p for p in others if labels[p] == labels[i]]
        denominator = sum(math.exp(_cosine(rows[i], rows[a]) / tau) for a in others)
        total += -sum(
            math.log(math.exp(_cosine(rows[i], rows[p]) / tau) / denominator) for p in positives
        ) / len(positives)
    return total / m


@pytest.mark.parametrize("views", [2, 3, 4])
@pytest.mark.parametrize("tau", TEMPERATURES)
def test_supcon_with_several_views_per_item_matches_reference(views, tau):
    g = torch.Generator().manual_seed(views)
    n, d = 5, 7
    z = torch.randn(views * n, d, generator=g, dtype=torch.float64)
    labels = [0, 1, 1, 2, 3] * views  # item ids repeated once per view; items 1, 2 share one
    got = supcon(z, torch.tensor(labels), tau)
    assert math.isclose(float(got), _supcon_rows_reference(z, labels, tau), rel_tol=1e-10)


def test_nt_xent_with_ids_is_supcon_of_the_stacked_views():
    z1, z2 = _views(6, 4)
    ids = torch.tensor([0, 1, 1, 2, 3, 4])
    expected = supcon(torch.cat([z1, z2]), ids.repeat(2), 0.2)
    assert torch.allclose(nt_xent(z1, z2, 0.2, ids=ids), expected, rtol=0, atol=1e-12)


def test_supcon_refuses_an_anchor_without_positive():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="at least twice"):
        supcon(z, torch.tensor([0, 0, 1, 2]))
