"""Mixed precision by device capability, every branch taken on a CPU."""

from __future__ import annotations

import math

import pytest
import torch

from threekg_lite.data import generate
from threekg_lite.evaluate.downstream import fine_tune
from threekg_lite.models import build_model
from threekg_lite.pretrain import PretrainConfig
from threekg_lite.runtime.precision import AMP_MODES, autocast, autocast_dtype, grad_scaler
from threekg_lite.training import CHECKPOINT, Pretrainer


@pytest.mark.parametrize(
    "capability,dtype",
    [
        ((9, 0), torch.bfloat16),
        ((8, 0), torch.bfloat16),
        ((7, 5), torch.float16),
        ((6, 1), torch.float16),
    ],
)
def test_auto_on_a_gpu_follows_its_compute_capability(capability, dtype):
    """bf16 from capability 8.0 (A100, H100); fp16 below (a Colab T4 is 7.5)."""
    assert autocast_dtype("cuda", "auto", capability=capability) is dtype


def test_cpu_modes_and_forced_modes():
    assert autocast_dtype("cpu") is None
    assert autocast_dtype("cpu", "bf16") is torch.bfloat16
    assert autocast_dtype("cuda", "fp16", capability=(9, 0)) is torch.float16
    assert autocast_dtype("cuda", "bf16", capability=(7, 5)) is torch.bfloat16
    assert autocast_dtype("cuda", "off", capability=(9, 0)) is None
    assert set(AMP_MODES) == {"auto", "bf16", "fp16", "off"}
    with pytest.raises(ValueError, match="amp must be .auto., .bf16., .fp16. or .off., got .fp8."):
        autocast_dtype("cpu", "fp8")


def test_the_loss_scaler_is_on_for_float16_only():
    assert grad_scaler("cpu", torch.float16).is_enabled()
    assert not grad_scaler("cpu", torch.bfloat16).is_enabled()
    assert not grad_scaler("cpu", None).is_enabled()


def test_autocast_none_is_a_no_op_and_a_dtype_casts():
    conv = torch.nn.Conv1d(12, 4, 3)
    x = torch.randn(2, 12, 20)
    with autocast("cpu", None):
        assert conv(x).dtype is torch.float32
    with autocast("cpu", torch.bfloat16):
        assert conv(x).dtype is torch.bfloat16


@pytest.fixture(scope="module")
def records():
    return generate(32, fs=100.0, duration=5.0, seed=0)


@pytest.mark.parametrize("amp", ["fp16", "bf16", "off"])
def test_pretraining_runs_in_each_precision_and_keeps_the_scaler(records, tmp_path, amp):
    """The float16 branch (a GPU below capability 8) scales the loss; its scale is part of
    the checkpoint and comes back on resume."""
    config = PretrainConfig(steps=3, batch_size=8, crop=250, model="tiny", amp=amp)
    trainer = Pretrainer(records, config, out_dir=tmp_path, device="cpu", progress=False)
    result = trainer.run()
    assert math.isfinite(result.loss)
    assert trainer.scaler.is_enabled() == (amp == "fp16")
    assert trainer.amp_dtype == {"fp16": torch.float16, "bf16": torch.bfloat16, "off": None}[amp]
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    if amp == "fp16":
        assert state["scaler"]["scale"] == trainer.scaler.get_scale()
        resumed = Pretrainer(records, config, out_dir=tmp_path, device="cpu", progress=False)
        assert resumed.scaler.get_scale() == trainer.scaler.get_scale()
    else:
        assert state["scaler"] == {}


def test_fine_tuning_asks_for_the_device_s_precision(monkeypatch):
    """fine_tune takes its autocast dtype from autocast_dtype (forced here to float16)."""
    asked = []

    def fp16(device, amp="auto", capability=None):
        asked.append(torch.device(device).type)
        return torch.float16

    monkeypatch.setattr("threekg_lite.evaluate.downstream.autocast_dtype", fp16)
    x = torch.randn(8, 12, 120)
    y = torch.arange(8)[:, None] % 2 == 0
    model = build_model("tiny", generator=torch.Generator().manual_seed(0))
    classifier = fine_tune(model, x, y, crop=100, epochs=1, batch_size=4, device="cpu", seed=0)
    assert asked == ["cpu"] and all(math.isfinite(h) for h in classifier.history)
