"""The benchmarks beside the package: the per-sample baseline and the pipeline benchmark.

Fast settings only (tiny model, batch 8, crops of 200 samples, 2 timed steps): these check
that the benchmark runs and reports, not its numbers.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_pipeline import bench_pipelines, format_report, main, to_json  # noqa: E402
from public_baseline import (  # noqa: E402
    INDEPENDENT,
    PerSampleDataset,
    make_loader,
    per_sample_pair,
    per_sample_view,
)

from threekg_lite.data.synthetic import generate  # noqa: E402
from threekg_lite.pretrain import PretrainConfig  # noqa: E402
from threekg_lite.training import Pretrainer  # noqa: E402
from threekg_lite.vcg import INVERSE_DOWER_B  # noqa: E402

CROP = 200


@pytest.fixture(scope="module")
def records():
    return generate(16, fs=100, duration=3, seed=0)  # 300 samples per record


def _limb_identities_hold(view: np.ndarray, atol: float) -> None:
    """III = II - I, aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2 where none of the
    three leads is masked (each lead has its own mask, so such samples may be few)."""
    i, ii = view[0].astype(np.float64), view[1].astype(np.float64)
    derived = {2: ii - i, 3: -(i + ii) / 2, 4: i - ii / 2, 5: ii - i / 2}
    for lead, expected in derived.items():
        live = (view[0] != 0) & (view[1] != 0) & (view[lead] != 0)
        np.testing.assert_allclose(view[lead][live], expected[live], rtol=1e-6, atol=atol)


def _rotation(axis: int, degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    if axis == 1:  # about Y the signs of the sines swap (right-handed)
        r[i, j], r[j, i] = s, -s
    return r


def _reference_view(x: np.ndarray, rng: np.random.Generator, mask_ratio: float) -> np.ndarray:
    """One view written from the formula, drawing in per_sample_pair's order."""
    angles = rng.uniform(-45.0, 45.0, size=3)  # about z, y, x (extrinsic "zyx")
    scales = rng.uniform(1.0, 1.5, size=3)
    t = x.shape[-1]
    starts = rng.integers(0, t, size=12)
    a = np.asarray(INVERSE_DOWER_B)
    back = a.T @ np.linalg.inv(a @ a.T)  # pseudo-inverse of a full-row-rank (3, 8) matrix
    rotation = _rotation(0, angles[2]) @ _rotation(1, angles[1]) @ _rotation(2, angles[0])
    view = np.zeros((12, t))
    view[INDEPENDENT] = back @ np.diag(scales) @ rotation @ (a @ x[INDEPENDENT])
    i, ii = view[0].copy(), view[1].copy()
    view[2], view[3], view[4], view[5] = ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2
    length = math.floor(mask_ratio * t)
    for lead in range(12):
        view[lead, (starts[lead] + np.arange(length)) % t] = 0
    return view


@pytest.mark.parametrize("mask_ratio", [0.5, 0.3])
def test_per_sample_pair_equals_the_formula(mask_ratio):
    x = np.random.default_rng(1).normal(size=(12, 250)).astype(np.float32)
    v1, v2 = per_sample_pair(x, np.random.default_rng(7), mask_ratio)
    ref = np.random.default_rng(7)
    r1 = _reference_view(x.astype(np.float64), ref, mask_ratio)
    r2 = _reference_view(x.astype(np.float64), ref, mask_ratio)
    for view, expected in ((v1, r1), (v2, r2)):
        assert view.dtype == np.float64 and view.shape == (12, 250)
        np.testing.assert_allclose(view, expected, rtol=1e-9, atol=1e-12)
        assert ((view == 0).sum(axis=1) == math.floor(mask_ratio * 250)).all()
    assert not np.array_equal(v1, v2)


def test_per_sample_view_is_float32_with_masks_and_limb_leads():
    x = np.random.default_rng(2).normal(size=(12, 300)).astype(np.float32)
    view = per_sample_view(x, np.random.default_rng(0))
    assert view.dtype == np.float32 and view.shape == (12, 300)
    assert ((view == 0).sum(axis=1) == 150).all()
    _limb_identities_hold(view, atol=1e-5)


def test_dataset_items_are_two_float32_views_of_a_crop(records):
    ds = PerSampleDataset(records.signals, CROP, seed=3)
    assert len(ds) == len(records)
    v1, v2, index = ds[5]
    assert index == 5
    for view in (v1, v2):
        assert view.dtype == torch.float32 and view.shape == (12, CROP)
        arr = view.numpy()
        assert ((arr == 0).sum(axis=1) == CROP // 2).all()  # floor(0.5 T) per lead
        _limb_identities_hold(arr, atol=1e-5)
    # Without the mask the identities hold on every sample.
    for view in PerSampleDataset(records.signals, CROP, seed=3, mask_ratio=0.0)[5][:2]:
        arr = view.numpy()
        assert (arr != 0).all()
        _limb_identities_hold(arr, atol=1e-5)
    # In the main process the generator is seeded by the seed alone: crop start, then views.
    rng = np.random.default_rng([3])
    start = int(rng.integers(0, records.signals.shape[-1] - CROP + 1))
    e1, e2 = per_sample_pair(records.signals[5, :, start : start + CROP], rng)
    np.testing.assert_array_equal(v1.numpy(), e1.astype(np.float32))
    np.testing.assert_array_equal(v2.numpy(), e2.astype(np.float32))


def test_dataset_rejects_bad_shapes(records):
    with pytest.raises(ValueError, match="crop"):
        PerSampleDataset(records.signals, 10_000)
    with pytest.raises(ValueError, match=r"\(N, 12, T\)"):
        PerSampleDataset(records.signals[:, :8], CROP)


def test_loader_with_a_worker_is_reproducible(records):
    first = []
    for _ in range(2):
        loader = make_loader(records.signals, CROP, batch_size=4, workers=1, seed=0)
        first.append(next(iter(loader)))
        del loader
    (a1, a2, ai), (b1, b2, bi) = first
    assert a1.shape == a2.shape == (4, 12, CROP) and a1.dtype == torch.float32
    assert ai.shape == (4,) and len(set(ai.tolist())) == 4
    assert torch.equal(ai, bi) and torch.equal(a1, b1) and torch.equal(a2, b2)


def test_step_on_views_is_the_train_step(records):
    config = PretrainConfig(
        steps=4, batch_size=8, crop=CROP, model="tiny", seed=1, crops_per_record=1, views_per_crop=2
    )
    one = Pretrainer(records, config, progress=False)
    two = Pretrainer(records, config, progress=False)
    for step in range(2):
        loss_one, z1, _ = one.train_step(step)
        both, ids = two.views(step)
        loss_two, w1, _ = two.step_on_views(step, both, ids)
        assert torch.equal(loss_one, loss_two) and torch.equal(z1, w1)
    for p, q in zip(one.model.parameters(), two.model.parameters()):
        assert torch.equal(p, q)


def test_bench_pipelines_on_cpu(records):
    result = bench_pipelines(
        model="tiny", batch_size=8, crop=CROP, steps=2, warmup=1, workers=0, records=records
    )
    assert result["device"] == "cpu" and result["workers"] == 0
    assert result["device_pairs_per_s"] > 0 and result["loader_pairs_per_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["device_pairs_per_s"] / result["loader_pairs_per_s"]
    )
    assert result["model_input"] == [16, 12, CROP]
    assert "mfu" not in result  # GPU only
    text = format_report(result)
    assert "ratio device-resident / DataLoader" in text and "GPU goal >= 5x" in text
    json.dumps(to_json(result), allow_nan=False)


def test_format_report_gpu_lines():
    result = {
        "device": "cuda:0",
        "device_name": "NVIDIA H100 80GB HBM3",
        "torch_threads": 16,
        "cpu_count": 16,
        "workers": 8,
        "model": "resnet18",
        "parameters": 4_000_000,
        "batch_size": 256,
        "crop": 2500,
        "fs": 500.0,
        "records": 6000,
        "amp": "bfloat16",
        "steps": 20,
        "device_pairs_per_s": 25_000.0,
        "loader_pairs_per_s": 2_000.0,
        "ratio": 12.5,
        "device_step_s": 256 / 25_000,
        "loader_step_s": 256 / 2_000,
        "forward_gflop_per_view": 1.9,
        "achieved_tflops": 285.0,
        "model_step_s": 0.0098,
        "batch_fraction": 0.04,
        "augment_s": 0.0001,
        "augment_fraction": 0.01,
        "matmul_tflops": 650.0,
        "mfu": 285.0 / 650.0,
        "peak_tflops": 989.0,
        "mfu_peak": 285.0 / 989.0,
    }
    text = format_report(result)
    assert "GPU goal >= 5x: met" in text
    assert "H100 goal >= 20,000 pairs/s: met" in text
    assert "augmentation < 2 % of a step: met" in text
    assert "MFU 43.8%" in text and "989" in text


def test_bench_script_prints_the_ratio_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    argv = ["--model", "tiny", "--batch-size", "8", "--crop", str(CROP), "--fs", "100"]
    argv += ["--steps", "2", "--warmup", "1", "--workers", "1", "--json", str(path), "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ratio device-resident / DataLoader" in out and "pairs/s" in out
    saved = json.loads(path.read_text())
    assert saved["workers"] == 1 and saved["loader_pairs_per_s"] > 0 and saved["ratio"] > 0


def test_gpu_check_script_is_valid_and_refuses_without_a_gpu(tmp_path):
    """benchmarks/gpu_check.sh parses, and on a machine without CUDA says so (exit 2)
    instead of running anything."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: run the script itself")
    proc = subprocess.run(
        ["bash", str(script), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr
