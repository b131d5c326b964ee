"""Label-efficient evaluation: linear probe, fine-tuning, predictions and encoder choice.

The linear probe runs on synthetic Gaussian features; fine-tuning on synthetic 12-lead
signals whose two labels are class-dependent sinusoids (a slow one and a fast one, random
phase, in noise), with the ``tiny`` model on 200-sample crops, on the CPU where the kernels
are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from torch import nn

from threekg_lite.encoders.resnet1d import init_weights
from threekg_lite.evaluate.downstream import (
    Classifier,
    LinearProbe,
    encoder_from,
    fine_tune,
    predict_scores,
    supervised_from_scratch,
)
from threekg_lite.models import build_model
from threekg_lite.runtime.checkpoint import CheckpointError, save_checkpoint

CROP = 200


# ---------------------------------------------------------------------------- data
def gaussian_features(n: int, seed: int, d: int = 6, k: int = 2):
    """``(n, d)`` features and ``(n, k)`` labels: feature ``j`` is +-5 + N(0, 1) by label ``j``."""
    rng = np.random.default_rng(seed)
    y = rng.random((n, k)) < 0.5
    y[0], y[1] = True, False  # both values in every class
    x = rng.normal(size=(n, d))
    x[:, :k] += np.where(y, 5.0, -5.0)
    return x, y


def sinusoid_ecgs(n: int, seed: int, t: int = 300):
    """``(n, 12, t)`` float32 signals and ``(n, 2)`` labels.

    Label 0 adds a sinusoid of period 50 samples to every lead, label 1 one of period 8.
    """
    rng = np.random.default_rng(seed)
    y = rng.random((n, 2)) < 0.5
    y[0], y[1] = True, False
    time = np.arange(t)
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    x = rng.normal(0.0, 0.3, (n, 12, t))
    x += y[:, 0, None, None] * np.sin(2 * np.pi * time / 50 + phase)
    x += y[:, 1, None, None] * np.sin(2 * np.pi * time / 8 + phase)
    return x.astype(np.float32), y


def tiny(seed: int = 0):
    return build_model("tiny", generator=torch.Generator().manual_seed(seed))


def same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def ecgs():
    return sinusoid_ecgs(64, seed=0)


@pytest.fixture(scope="module")
def tuned(ecgs):
    """The tiny model, its state before fine-tuning, and the classifier fine-tuned from it."""
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = ecgs
    classifier = fine_tune(model, x, y, crop=CROP, epochs=6, batch_size=32, lr=3e-3, seed=0)
    return model, before, classifier


# ---------------------------------------------------------------------------- linear probe
def test_linear_probe_separates_held_out_points():
    x, y = gaussian_features(80, seed=0)
    x_test, y_test = gaussian_features(60, seed=1)
    probe = LinearProbe().fit(x, y)
    scores = probe.predict_scores(x_test)
    assert scores.shape == (60, 2)
    assert probe.constant_classes == [] and probe.not_converged == []
    for k in range(2):
        assert roc_auc_score(y_test[:, k], scores[:, k]) == 1.0


def test_linear_probe_reports_classes_it_cannot_fit():
    x, y = gaussian_features(40, seed=0)
    y = np.column_stack([y, np.zeros(40, bool), np.ones(40, bool)])  # classes 2: none, 3: all
    x_test, _ = gaussian_features(10, seed=1)
    probe = LinearProbe().fit(x, y.astype(int))
    assert probe.constant_classes == [2, 3]
    scores = probe.predict_scores(x_test)
    assert scores.shape == (10, 4)
    np.testing.assert_array_equal(scores[:, 2], 0.0)
    np.testing.assert_array_equal(scores[:, 3], 1.0)
    assert np.ptp(scores[:, 0]) > 0.5  # the fitted classes still discriminate


def test_linear_probe_standardises_with_training_statistics():
    x, y = gaussian_features(80, seed=0)
    x = x * 3.0 + 10.0  # far from zero mean, unit variance
    x_test, _ = gaussian_features(20, seed=1)
    x_test = x_test * 3.0 + 10.0
    probe = LinearProbe(C=0.5).fit(x, y)
    scores = probe.predict_scores(x_test)

    mean, std = x.mean(axis=0), x.std(axis=0)
    for k in range(2):
        reference = LogisticRegression(C=0.5, max_iter=1000).fit((x - mean) / std, y[:, k])
        expected = reference.predict_proba((x_test - mean) / std)[:, 1]
        np.testing.assert_allclose(scores[:, k], expected, rtol=1e-6, atol=1e-9)
    # A shift of the test set alone moves its scores: its own mean is not subtracted.
    shifted = x_test.copy()
    shifted[:, 0] += x[:, 0].std()  # one training standard deviation up the class-0 feature
    moved = probe.predict_scores(shifted)
    assert (moved[:, 0] > scores[:, 0]).all() and np.abs(moved - scores).max() > 0.1


def test_linear_probe_warns_once_when_classes_do_not_converge():
    x, y = gaussian_features(80, seed=0)
    probe = LinearProbe(max_iter=1)
    with pytest.warns(UserWarning, match=r"classes \[0, 1\] did not converge") as record:
        probe.fit(x, y)
    assert len(record) == 1
    assert probe.not_converged == [0, 1]


def test_linear_probe_refuses_bad_input():
    x, y = gaussian_features(20, seed=0)
    with pytest.raises(ValueError, match="not fitted"):
        LinearProbe().predict_scores(x)
    with pytest.raises(ValueError, match=r"\(20, K\)"):
        LinearProbe().fit(x, y[:10])
    with pytest.raises(ValueError, match=r"\(20, K\)"):
        LinearProbe().fit(x, y[:, 0])
    with pytest.raises(ValueError, match="0/1"):
        LinearProbe().fit(x, y * 2)
    with pytest.raises(ValueError, match="NaN"):
        LinearProbe().fit(np.full_like(x, np.nan), y)
    with pytest.raises(ValueError, match="dimensions"):
        LinearProbe().fit(x, y).predict_scores(x[:, :3])
    with pytest.raises(ValueError, match="at least 2 training records"):
        LinearProbe().fit(x[:1], y[:1])
    with pytest.raises(ValueError, match="C must be"):
        LinearProbe(C=0.0)


# ---------------------------------------------------------------------------- fine-tuning
def test_fine_tune_learns_the_training_labels(ecgs, tuned):
    x, y = ecgs
    _, _, classifier = tuned
    assert isinstance(classifier, Classifier) and not classifier.training
    assert len(classifier.history) == 6
    assert classifier.history[-1] < 0.5 * classifier.history[0]
    scores = predict_scores(classifier, x, CROP)
    for k in range(2):
        assert roc_auc_score(y[:, k], scores[:, k]) > 0.9


def test_fine_tune_leaves_the_given_model_alone(tuned):
    model, before, classifier = tuned
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not same_state(classifier.encoder, model.encoder)  # it trained a copy


def test_fine_tune_is_deterministic_for_a_seed(ecgs, tuned):
    x, y = ecgs
    model, _, classifier = tuned
    again = fine_tune(model, x, y, crop=CROP, epochs=6, batch_size=32, lr=3e-3, seed=0)
    assert same_state(again, classifier)
    batch = torch.from_numpy(x[:8, :, :CROP])
    with torch.no_grad():
        assert torch.equal(again(batch), classifier(batch))
    other = fine_tune(model, x, y, crop=CROP, epochs=1, batch_size=32, seed=1)
    first = fine_tune(model, x, y, crop=CROP, epochs=1, batch_size=32, seed=0)
    assert not same_state(other.head, first.head)


def test_freeze_encoder_trains_the_head_only(ecgs):
    x, y = ecgs
    model = tiny()
    classifier = fine_tune(model, x, y, crop=CROP, epochs=3, batch_size=32, freeze_encoder=True)
    assert same_state(classifier.encoder, model.encoder)  # weights and batch-norm statistics
    initial = nn.Linear(model.encoder.out_dim, 2)
    init_weights(initial, torch.Generator().manual_seed(0))
    assert classifier.head.weight.shape == initial.weight.shape
    assert not torch.equal(classifier.head.weight, initial.weight)
    assert not torch.equal(classifier.head.bias, initial.bias)


def test_predict_scores_shapes(ecgs, tuned):
    x, _ = ecgs
    model, _, classifier = tuned
    scores = predict_scores(classifier, x[:10], CROP, batch_size=4)
    assert scores.shape == (10, 2) and scores.dtype == np.float32
    assert ((scores >= 0) & (scores <= 1)).all()
    longer = np.concatenate([x[:3], x[:3]], axis=-1)  # centre crop of a longer record
    assert predict_scores(classifier, longer, CROP).shape == (3, 2)
    assert predict_scores(classifier, x[:0], CROP).shape == (0, 2)
    with pytest.raises(ValueError, match="not a ContrastiveModel"):
        predict_scores(model, x[:2], CROP)


def test_fine_tune_with_fewer_records_than_a_batch():
    x, y = sinusoid_ecgs(5, seed=2, t=CROP)
    classifier = fine_tune(tiny(), x, y, crop=CROP, epochs=2, batch_size=64)
    assert len(classifier.history) == 2
    # 3 records in batches of 2: the final batch of one is dropped, not fed to batch norm.
    classifier = fine_tune(tiny(), x[:3], y[:3], crop=CROP, epochs=2, batch_size=2)
    assert np.isfinite(classifier.history).all()


def test_fine_tune_refuses_bad_input(ecgs):
    x, y = ecgs
    model = tiny()
    with pytest.raises(ValueError, match="at least 2 records"):
        fine_tune(model, x[:1], y[:1], crop=CROP, epochs=1)
    with pytest.raises(ValueError, match="crop must be in"):
        fine_tune(model, x, y, crop=x.shape[-1] + 1, epochs=1)
    with pytest.raises(ValueError, match="crop must be in"):
        fine_tune(model, x, y, crop=16, epochs=1)  # shorter than the encoder's stride
    with pytest.raises(ValueError, match=r"\(64, K\)"):
        fine_tune(model, x, y[:10], crop=CROP, epochs=1)
    with pytest.raises(ValueError, match=r"\(N, 12, T\)"):
        fine_tune(model, x[:, :6], y, crop=CROP, epochs=1)
    with pytest.raises(ValueError, match="batch_size"):
        fine_tune(model, x, y, crop=CROP, epochs=1, batch_size=1)
    with pytest.raises(ValueError, match="lr"):
        fine_tune(model, x, y, crop=CROP, epochs=1, lr=0.0)


def test_supervised_from_scratch_is_fine_tune_of_a_random_network():
    x, y = sinusoid_ecgs(8, seed=3, t=CROP)
    scratch = supervised_from_scratch("tiny", x, y, crop=CROP, epochs=1, seed=4)
    by_hand = fine_tune(encoder_from("random", seed=4), x, y, crop=CROP, epochs=1, seed=4)
    assert same_state(scratch, by_hand)


# ---------------------------------------------------------------------------- encoders
def test_random_encoder_is_deterministic_per_seed():
    a, b, c = (
        encoder_from("random", seed=0),
        encoder_from("random", seed=0),
        encoder_from("random", seed=1),
    )
    assert not a.training
    assert same_state(a, b) and not same_state(a, c)
    assert a.config == build_model("tiny").config
    assert encoder_from("random", config="resnet18").encoder.out_dim == 512


def test_encoder_from_checkpoint(tmp_path):
    model = tiny(seed=5)
    state = {"model_config": model.config, "model": model.state_dict(), "step": 0}
    path = save_checkpoint(tmp_path / "run" / "checkpoint.pt", state)
    assert same_state(encoder_from(path), model)
    assert same_state(encoder_from(str(tmp_path / "run")), model)  # a run's folder


def test_encoder_from_refuses_what_it_does_not_know(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        encoder_from(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        encoder_from("no/such/checkpoint.pt")
    with pytest.raises(ValueError, match="unknown encoder 'pretrained'") as info:
        encoder_from("pretrained")
    assert not isinstance(info.value, CheckpointError)
    with pytest.raises(ValueError, match="expected 'random' or a checkpoint path"):
        encoder_from(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- GPU
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fine_tune_on_cuda(ecgs):
    x, y = ecgs
    classifier = fine_tune(tiny(), x, y, crop=CROP, epochs=1, batch_size=32, device="cuda")
    assert next(classifier.parameters()).device.type == "cuda"
    assert len(classifier.history) == 1 and np.isfinite(classifier.history[0])
    scores = predict_scores(classifier, x, CROP)
    assert scores.shape == (64, 2) and np.isfinite(scores).all()


def test_a_range_scaled_model_is_fine_tuned_and_scored_on_scaled_records(ecgs):
    """With ``input_norm="range"`` every record is divided by its range before it reaches
    the network, in training and in scoring: a record's gain then changes nothing."""
    x, y = ecgs
    gains = np.linspace(0.2, 5.0, len(x), dtype=np.float32)[:, None, None]
    model = build_model("tiny", generator=torch.Generator().manual_seed(0), input_norm="range")
    a = fine_tune(model, x, y, crop=CROP, epochs=2, batch_size=32, seed=0)
    b = fine_tune(model, x * gains, y, crop=CROP, epochs=2, batch_size=32, seed=0)
    assert a.input_norm == "range"
    for key, value in a.state_dict().items():  # equal up to the rounding of the division
        torch.testing.assert_close(value, b.state_dict()[key], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(
        predict_scores(a, x, CROP), predict_scores(a, 3.0 * x, CROP), rtol=1e-4, atol=1e-6
    )
    plain = fine_tune(tiny(), x, y, crop=CROP, epochs=2, batch_size=32, seed=0)
    assert plain.input_norm == "none" and not same_state(plain, a)
