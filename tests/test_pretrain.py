"""The pretraining step's configuration (:mod:`threekg_lite.pretrain`): the learning-rate
schedule against its closed form, and every bad field named in the error."""

from __future__ import annotations

import math

import pytest

from threekg_lite.pretrain import PretrainConfig, learning_rate

# ---------------------------------------------------------------- learning rate


def test_warmup_is_linear_from_lr_over_warmup_to_lr():
    cfg = PretrainConfig(steps=100, warmup_steps=10, lr=0.5)
    assert learning_rate(0, cfg) == pytest.approx(0.5 / 10)
    assert learning_rate(9, cfg) == pytest.approx(0.5)
    for step in range(10):
        assert learning_rate(step, cfg) == pytest.approx(0.5 * (step + 1) / 10)


def test_cosine_decay_halves_at_midpoint_and_ends_near_zero():
    cfg = PretrainConfig(steps=110, warmup_steps=10, lr=2.0)
    assert learning_rate(10, cfg) == pytest.approx(2.0)  # first step after warm-up: peak
    assert learning_rate(60, cfg) == pytest.approx(1.0)  # halfway through the 100 decay steps
    last = learning_rate(109, cfg)
    assert 0 < last < 2.0 * 1e-3
    assert last == pytest.approx(2.0 * 0.5 * (1 + math.cos(math.pi * 99 / 100)))


def test_learning_rate_decays_monotonically_after_warmup():
    cfg = PretrainConfig(steps=200, lr=1e-3)
    rates = [learning_rate(s, cfg) for s in range(cfg.steps)]
    warm = rates[: cfg.warmup]
    decay = rates[cfg.warmup :]
    assert all(b > a for a, b in zip(warm, warm[1:]))
    assert rates[cfg.warmup - 1] == pytest.approx(cfg.lr) == decay[0]  # cosine starts at lr
    assert all(b < a for a, b in zip(decay, decay[1:]))
    assert max(rates) == pytest.approx(cfg.lr)


@pytest.mark.parametrize(("steps", "warmup"), [(1, 1), (10, 1), (39, 1), (40, 2), (1000, 50)])
def test_default_warmup_is_five_percent_of_steps_at_least_one(steps, warmup):
    cfg = PretrainConfig(steps=steps)
    assert cfg.warmup == warmup == max(1, steps // 20)
    assert learning_rate(warmup - 1, cfg) == pytest.approx(cfg.lr)


def test_zero_warmup_starts_at_peak():
    cfg = PretrainConfig(steps=10, warmup_steps=0, lr=0.1)
    assert cfg.warmup == 0
    assert learning_rate(0, cfg) == pytest.approx(0.1)


# ---------------------------------------------------------------- config checks


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", 0),
        ("steps", -3),
        ("steps", 2.5),
        ("steps", True),
        ("batch_size", 0),
        ("crop", 0),
        ("checkpoint_every", 0),
        ("log_every", -1),
        ("augment", "rotate-only"),
        ("lr", 0.0),
        ("lr", float("nan")),
        ("weight_decay", -1e-4),
        ("weight_decay", float("nan")),
        ("warmup_steps", -1),
        ("warmup_steps", 11),
        ("warmup_steps", 2.5),
        ("temperature", 0.0),
        ("temperature", float("nan")),
        ("positives", "batch"),
        ("grad_clip", 0.0),
        ("amp", "fp8"),
    ],
)
def test_bad_config_field_is_named(field, value):
    with pytest.raises(ValueError, match=field):
        PretrainConfig(**{"steps": 10, field: value})


def test_edge_values_are_valid():
    PretrainConfig(steps=10, warmup_steps=0, grad_clip=None, weight_decay=0.0)
    PretrainConfig(steps=10, warmup_steps=10)
