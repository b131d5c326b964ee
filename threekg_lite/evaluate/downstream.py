"""An encoder put to work on a labelled task with few labels, as in 3KG's evaluation: a
linear probe on its frozen features (:class:`LinearProbe`), or fine-tuning with a new
linear layer (:func:`fine_tune`; from a fresh network, :func:`supervised_from_scratch`, the
supervised baseline). :func:`encoder_from` gives a checkpoint or a random initialisation.
Labels are multi-label ``(N, K)`` bool or 0/1; scores ``(M, K)`` probabilities in [0, 1]."""

from __future__ import annotations

import copy
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from threekg_lite.encoders.resnet1d import init_weights
from threekg_lite.models import ContrastiveModel, build_model
from threekg_lite.runtime.checks import check_float, check_int, check_labels
from threekg_lite.runtime.precision import autocast, autocast_dtype, grad_scaler


def _check_features(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be (N, D), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} hold NaN or infinite values")
    return x


class LinearProbe:
    """Multi-label logistic regression on frozen features: a scikit-learn pipeline of a
    ``StandardScaler`` (the training set's mean and standard deviation, kept for the records scored
    later; a constant feature only centred) and one L2 ``LogisticRegression`` (lbfgs) per class.
    ``seed``: the regressions' ``random_state`` (lbfgs draws nothing). A class whose training labels
    are all negative (or all positive) cannot be fitted: it is listed in :attr:`constant_classes`
    and scored with its training prevalence (0 or 1). Classes whose fit stopped at ``max_iter`` are
    listed in :attr:`not_converged` and named in one ``UserWarning`` (scikit-learn's
    ``ConvergenceWarning`` is not passed on). Attributes: ``pipeline_`` (on the other classes),
    ``prevalence_`` ``(K,)``."""

    def __init__(self, C: float = 1.0, max_iter: int = 1000, seed: int = 0) -> None:
        self.C, self.max_iter = check_float("C", C, positive=True), check_int("max_iter", max_iter)
        self.seed = seed
        self.constant_classes: list[int] = []
        self.not_converged: list[int] = []
        self.pipeline_: Any = None

    def fit(self, X: Any, y: Any) -> LinearProbe:
        """Fit on ``(N, D)`` features and ``(N, K)`` labels; returns ``self``."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.multioutput import MultiOutputClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x = _check_features(X, "training features")
        if x.shape[0] < 2:
            raise ValueError(f"need at least 2 training records, got {x.shape[0]}")
        y = check_labels(y, "labels", x.shape[0])
        self.prevalence_ = y.mean(axis=0)
        self.constant_classes = [k for k, p in enumerate(self.prevalence_) if p in (0.0, 1.0)]
        self._fitted = [k for k in range(y.shape[1]) if k not in self.constant_classes]
        regression = LogisticRegression(
            C=self.C, solver="lbfgs", max_iter=self.max_iter, random_state=self.seed
        )
        scaler = StandardScaler()
        self.pipeline_ = make_pipeline(scaler, MultiOutputClassifier(regression))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if self._fitted:
                self.pipeline_.fit(x, y[:, self._fitted])
            else:
                scaler.fit(x)
        fits = self.pipeline_[-1].estimators_ if self._fitted else []
        self.not_converged = [
            k for k, m in zip(self._fitted, fits) if m.n_iter_[0] >= self.max_iter
        ]
        if self.not_converged:
            problem = f"logistic regression of classes {self.not_converged} did not converge"
            warnings.warn(
                f"{problem} in {self.max_iter} iterations; raise max_iter or lower C", stacklevel=2
            )
        return self

    def predict_scores(self, X: Any) -> np.ndarray:
        """Probability of each class: ``(M, D)`` features -> ``(M, K)`` scores in ``[0, 1]``."""
        if self.pipeline_ is None:
            raise ValueError("this LinearProbe is not fitted yet: call fit first")
        x = _check_features(X, "features")
        d = self.pipeline_[0].n_features_in_
        if x.shape[1] != d:
            raise ValueError(f"features have {x.shape[1]} dimensions, the probe was fitted on {d}")
        scores = np.tile(self.prevalence_, (x.shape[0], 1))
        if self._fitted:
            probs = self.pipeline_.predict_proba(x)  # one (M, 2) array per fitted class
            scores[:, self._fitted] = np.stack([p[:, 1] for p in probs], axis=1)
        return scores


class Classifier(nn.Module):
    """An encoder (``(B, 12, L)`` -> ``(B, D)``) and ``head`` ``nn.Linear(D, K)``: ECGs ->
    logits ``(B, K)``. ``history``: mean training loss per epoch (:func:`fine_tune`);
    ``input_norm``: the records' scaling (the pretrained model's,
    :func:`~threekg_lite.data.preprocess.scale_input`), applied by whoever feeds it."""

    def __init__(self, encoder: nn.Module, head: nn.Linear, input_norm: str = "none") -> None:
        super().__init__()
        self.encoder, self.head, self.input_norm = encoder, head, input_norm
        self.history: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def fine_tune(
    model: nn.Module,
    signals_train: np.ndarray | torch.Tensor,
    y_train: Any,
    *,
    crop: int,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    device: torch.device | str | None = None,
    freeze_encoder: bool = False,
) -> Classifier:
    """The :class:`Classifier` (eval mode, on ``device``: default the GPU if any) of a copy of
    ``model``'s encoder and a new linear layer, trained on ``(N, 12, T)`` ECGs (mV, ``N >= 2``)
    and ``(N, K)`` labels.

    ``model``: a ContrastiveModel (its projection head is left out) or an encoder with an
    ``out_dim``; it is not modified. Each epoch visits the records in a random order, each as one
    random crop of ``crop`` samples (use the same for :func:`predict_scores`), with a binary
    cross-entropy per class; AdamW, the learning rate decayed from ``lr`` to near 0 by a cosine;
    autocast on a GPU by its capability. A final batch of one record is dropped (batch norm in
    training mode needs two). ``seed`` seeds the layer, the batch order and the crops (a
    generator, not the global RNG): on a CPU one seed gives one classifier.
    ``freeze_encoder=True`` trains the layer only, the encoder in eval mode (batch-norm
    statistics untouched): the 3KG base code's linear evaluation (Adam, lr 1e-3) is that with
    ``weight_decay=0``."""
    from threekg_lite.data.pool import RecordPool

    encoder = getattr(model, "encoder", model)
    if not isinstance(getattr(encoder, "out_dim", None), int):
        raise ValueError(
            f"expected a ContrastiveModel or an encoder with an out_dim, got {type(model).__name__}"
        )
    shape = tuple(np.shape(signals_train))
    if len(shape) != 3 or shape[1] != 12:
        raise ValueError(f"signals_train must be (N, 12, T), got {shape}")
    n, t = shape[0], shape[2]
    if n < 2:
        raise ValueError(
            f"fine-tuning needs at least 2 records (batch norm in training mode needs a batch "
            f"of 2), got {n}"
        )
    y = check_labels(y_train, "labels", n)
    check_int("crop", crop)
    min_length = getattr(encoder, "min_length", 1)
    if not min_length <= crop <= t:
        raise ValueError(f"crop must be in [{min_length}, {t}] samples, got {crop}")
    check_int("epochs", epochs)
    check_int("batch_size", batch_size, minimum=2)
    check_float("lr", lr, positive=True)
    check_float("weight_decay", weight_decay)

    default = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(default if device is None else device)
    generator = torch.Generator().manual_seed(seed)
    head = nn.Linear(encoder.out_dim, y.shape[1], device="meta").to_empty(device="cpu")
    init_weights(head, generator)  # from the seed, not the global RNG
    norm = getattr(model, "input_norm", "none")
    classifier = Classifier(copy.deepcopy(encoder), head, norm).to(device)

    pool = RecordPool(signals_train, np.arange(n), device, input_norm=norm)
    targets = torch.as_tensor(y, dtype=torch.float32, device=device)
    steps_per_epoch = n // batch_size + (n % batch_size >= 2)  # no final batch of one
    total = epochs * steps_per_epoch
    params = classifier.head.parameters() if freeze_encoder else classifier.parameters()
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    amp_dtype = autocast_dtype(device)
    scaler = grad_scaler(device, amp_dtype)

    classifier.train()
    if freeze_encoder:
        classifier.encoder.eval()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator)
        starts = torch.randint(0, t - crop + 1, (n,), generator=generator)
        losses = []
        for b in range(steps_per_epoch):
            index = order[b * batch_size : (b + 1) * batch_size]
            x = pool.crops(index.to(device), starts[index].to(device), crop)
            step = epoch * steps_per_epoch + b
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
            with autocast(device, amp_dtype):
                with torch.set_grad_enabled(not freeze_encoder):
                    features = classifier.encoder(x)
                logits = classifier.head(features)
            loss = loss_fn(logits.float(), targets[index.to(device)])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # scaled only in float16
            scaler.step(optimizer)
            scaler.update()
            losses.append(loss.detach())
        classifier.history.append(float(torch.stack(losses).mean()))
    return classifier.eval()


def predict_scores(
    classifier: nn.Module,
    signals: np.ndarray | torch.Tensor,
    crop: int | None,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """``(M, K)`` float32 sigmoid probabilities of a classifier (a :class:`Classifier` or any module
    ECGs -> logits; not a ContrastiveModel, whose output are features) on centre crops of ``crop``
    samples (``None``: whole records) of ``(M, 12, T)`` ECGs, without gradients, in eval mode
    (restored after). ``device``: default the classifier's."""
    from threekg_lite.evaluate.features import extract_features

    if hasattr(classifier, "features"):  # extract_features would take the features instead
        raise ValueError(
            "predict_scores needs a classifier (ECGs -> logits), not a ContrastiveModel; "
            "use fine_tune, or extract_features and a LinearProbe"
        )
    logits = extract_features(classifier, signals, crop, batch_size, device)
    head = getattr(classifier, "head", None)
    if logits.shape[0] == 0 and isinstance(head, nn.Linear):
        logits = logits.reshape(0, head.out_features)
    return torch.sigmoid(torch.from_numpy(logits)).numpy()


def supervised_from_scratch(
    config: dict[str, Any] | str,
    signals_train: np.ndarray | torch.Tensor,
    y_train: Any,
    *,
    crop: int,
    seed: int = 0,
    **kwargs: Any,
) -> Classifier:
    """Supervised baseline: :func:`fine_tune` (with ``kwargs``) of a fresh network of ``config``
    (a model config or a :data:`~threekg_lite.models.PRESETS` name), initialised from ``seed``."""
    model = encoder_from("random", seed=seed, config=config)
    return fine_tune(model, signals_train, y_train, crop=crop, seed=seed, **kwargs)


def encoder_from(
    method_or_path: str | os.PathLike[str], *, seed: int = 0, config: dict[str, Any] | str = "tiny"
) -> ContrastiveModel:
    """The network to evaluate, in eval mode. ``"random"``: a network of ``config`` (model config or
    preset name) with weights drawn from ``seed``. Otherwise the path of a checkpoint file, or of a
    run folder holding ``checkpoint.pt`` (:func:`threekg_lite.models.load_model`; it records its own
    config). A string neither ``"random"`` nor path-like (no existing file, folder separator or
    suffix) is a ``ValueError``; a missing or bad checkpoint a ``CheckpointError``."""
    from threekg_lite.models import load_model
    from threekg_lite.training import CHECKPOINT

    if isinstance(method_or_path, str) and method_or_path == "random":
        return build_model(config, generator=torch.Generator().manual_seed(seed)).eval()
    if not isinstance(method_or_path, (str, os.PathLike)):
        raise ValueError(
            f"expected 'random' or a checkpoint path, got {type(method_or_path).__name__}"
        )
    path = Path(method_or_path)
    if path.name == method_or_path and not path.suffix and not path.exists():  # a bare word
        raise ValueError(
            f"unknown encoder {method_or_path!r}: use 'random' or the path of a checkpoint "
            f"file (no file of that name exists)"
        )
    return load_model(path / CHECKPOINT if path.is_dir() else path)
