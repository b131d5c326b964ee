"""The device record pool (:mod:`threekg_lite.data.pool`): crops against per-row slicing,
dtypes, memory maps, shape errors, and the integer group ids of the positives."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from threekg_lite.data.pool import RecordPool, group_ids

# ---------------------------------------------------------------- record pool


def naive_crops(signals: np.ndarray, index, start, length: int) -> np.ndarray:
    return np.stack([signals[i, :, s : s + length] for i, s in zip(index, start)])


@pytest.mark.parametrize("length", [1, 7, 30, 50])
def test_crops_equal_per_row_slicing(length):
    rng = np.random.default_rng(length)
    n, t = 9, 50
    signals = rng.normal(size=(n, 12, t))  # float64: the pool stores float32
    pool = RecordPool(signals, np.arange(n))
    index = rng.integers(0, n, size=20)  # repeats included
    start = rng.integers(0, t - length + 1, size=20)
    start[0], start[1] = t - length, 0  # the last and the first window
    got = pool.crops(torch.as_tensor(index), torch.as_tensor(start), length)
    assert got.dtype == torch.float32
    assert got.shape == (20, 12, length)
    expected = naive_crops(signals.astype(np.float32), index, start, length)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_crops_of_a_float16_pool_come_back_as_float32():
    signals = np.random.default_rng(0).normal(size=(4, 12, 40)).astype(np.float32)
    pool = RecordPool(signals, np.arange(4), dtype=torch.float16)
    assert pool.data.dtype == torch.float16
    got = pool.crops(torch.tensor([3, 0]), torch.tensor([5, 0]), 10)
    assert got.dtype == torch.float32
    half = torch.as_tensor(signals).half().float()
    torch.testing.assert_close(
        got, torch.stack([half[3, :, 5:15], half[0, :, 0:10]]), rtol=0, atol=0
    )


def test_pool_holds_a_read_only_memory_map_without_warnings(tmp_path):
    signals = np.random.default_rng(0).normal(size=(5, 12, 30)).astype(np.float32)
    np.save(tmp_path / "s.npy", signals)
    mapped = np.load(tmp_path / "s.npy", mmap_mode="r")
    assert not mapped.flags.writeable
    pool = RecordPool(mapped, np.arange(5))  # warnings are errors in this suite
    np.testing.assert_array_equal(pool.data.numpy(), signals)


@pytest.mark.parametrize(
    ("shape", "n_ids", "match"),
    [
        ((4, 11, 30), 4, "signals must be"),
        ((12, 30), 12, "signals must be"),
        ((4, 12, 30), 3, "ids"),
    ],
)
def test_pool_rejects_wrong_shapes(shape, n_ids, match):
    with pytest.raises(ValueError, match=match):
        RecordPool(np.zeros(shape, np.float32), np.arange(n_ids))


# ---------------------------------------------------------------- group ids


def test_group_ids_map_equal_ids_to_equal_integers():
    recs = SimpleNamespace(
        record_ids=np.array(["b", "a", "b", "c", "a"], dtype=object),
        patient_ids=np.array(["p1", "p1", "p2", "p2", "p3"], dtype=object),
    )
    for positives in ("record", "instance"):
        ids = group_ids(recs, positives)
        assert ids.dtype == np.int64
        assert ids[0] == ids[2] and ids[1] == ids[4]
        assert len({ids[0], ids[1], ids[3]}) == 3
    patient = group_ids(recs, "patient")
    assert patient[0] == patient[1] and patient[2] == patient[3]
    assert len({patient[0], patient[2], patient[4]}) == 3
