"""Label-efficient evaluation: an encoder put to work on a labelled task with few labels.

Two ways to use an encoder, as in 3KG's evaluation:

linear probe
    The encoder is frozen; its features (:func:`threekg_lite.evaluate.features.extract_features`)
    are fitted by a multi-label logistic regression, one binary classifier per class
    (:class:`LinearProbe`, :func:`linear_probe`).
fine-tuning
    A new linear layer goes on top of the encoder and the whole network is trained with a
    binary cross-entropy per class on random crops (:func:`fine_tune`); with
    ``freeze_encoder=True`` only the linear layer is trained, through the network itself
    (linear evaluation as the 3KG base code does it). :func:`supervised_from_scratch` does
    the same from a freshly initialised network: the supervised baseline.

:func:`encoder_from` gives the encoder to compare: a pretrained checkpoint or a random
initialisation. :func:`predict_scores` turns a fine-tuned classifier's logits into
per-class probabilities on centre crops.

Labels are multi-label: ``(N, K)`` booleans (or 0/1), ``K`` classes, any number of which may
be true for a record. Scores are ``(M, K)`` probabilities in ``[0, 1]``.
"""

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
from threekg_lite.runtime.checks import check_int, check_labels
from threekg_lite.runtime.precision import autocast, autocast_dtype, grad_scaler

__all__ = [
    "Classifier",
    "LinearProbe",
    "encoder_from",
    "fine_tune",
    "linear_probe",
    "predict_scores",
    "supervised_from_scratch",
]


# ---------------------------------------------------------------------------- checks
def _check_features(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be (N, D), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} hold NaN or infinite values")
    return x


# ---------------------------------------------------------------------------- linear probe
class LinearProbe:
    """Multi-label logistic regression on frozen features: one binary classifier per class.

    Each class is an L2-regularised :class:`sklearn.linear_model.LogisticRegression`
    (lbfgs). A class whose training labels are all negative (or all positive) cannot be
    fitted: it is listed in :attr:`constant_classes` and scored with its training
    prevalence (0 or 1) for every record.

    Parameters
    ----------
    C
        Inverse regularisation strength (smaller: stronger L2 penalty).
    max_iter, tol
        lbfgs iterations and stopping tolerance. Classes that do not converge are named in
        one :class:`UserWarning` (scikit-learn's ``ConvergenceWarning`` is caught).
    standardize
        Centre and scale every feature with the mean and standard deviation of the training
        set (kept and applied unchanged to the records scored later); features constant on
        the training set are only centred.
    seed
        ``random_state`` of the regressions (lbfgs itself draws nothing).

    Attributes
    ----------
    constant_classes
        Indices of the classes not fitted (no positive or no negative in training).
    not_converged
        Indices of the classes whose fit stopped at ``max_iter``.
    mean_, scale_
        ``(D,)`` training statistics used to standardise (0 and 1 without standardisation).
    prevalence_
        ``(K,)`` fraction of positive training records per class.
    """

    def __init__(
        self,
        C: float = 1.0,
        max_iter: int = 1000,
        standardize: bool = True,
        seed: int = 0,
        tol: float = 1e-4,
    ) -> None:
        if not C > 0:
            raise ValueError(f"C must be > 0, got {C}")
        self.C = C
        self.max_iter = check_int("max_iter", max_iter)
        self.tol = tol
        self.standardize = standardize
        self.seed = seed
        self.constant_classes: list[int] = []
        self.not_converged: list[int] = []
        self._models: list[Any] | None = None

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) / self.scale_

    def fit(self, X: Any, y: Any) -> LinearProbe:
        """Fit one classifier per class.

        Parameters
        ----------
        X
            ``(N, D)`` training features.
        y
            ``(N, K)`` training labels (bool or 0/1).

        Returns
        -------
        ``self``.
        """
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        x = _check_features(X, "training features")
        if x.shape[0] < 2:
            raise ValueError(f"need at least 2 training records, got {x.shape[0]}")
        y = check_labels(y, "labels", x.shape[0])
        if self.standardize:
            self.mean_ = x.mean(axis=0)
            std = x.std(axis=0)
            self.scale_ = np.where(std > 0, std, 1.0)
        else:
            self.mean_, self.scale_ = np.zeros(x.shape[1]), np.ones(x.shape[1])
        x = self._transform(x)
        self.prevalence_ = y.mean(axis=0)
        self.constant_classes, self.not_converged = [], []
        models: list[Any] = []
        other: list[warnings.WarningMessage] = []
        for k in range(y.shape[1]):
            if y[:, k].all() or not y[:, k].any():
                self.constant_classes.append(k)
                models.append(None)
                continue
            model = LogisticRegression(
                C=self.C,
                solver="lbfgs",
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=self.seed,
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model.fit(x, y[:, k])
            if any(issubclass(w.category, ConvergenceWarning) for w in caught):
                self.not_converged.append(k)
            other += [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
            models.append(model)
        self._models = models
        for w in other:  # anything else the fits said is passed on
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if self.not_converged:
            warnings.warn(
                f"logistic regression of classes {self.not_converged} did not converge in "
                f"{self.max_iter} iterations; raise max_iter or lower C",
                UserWarning,
                stacklevel=2,
            )
        return self

    def predict_scores(self, X: Any) -> np.ndarray:
        """Probability of each class: ``(M, D)`` features -> ``(M, K)`` scores in ``[0, 1]``."""
        if self._models is None:
            raise ValueError("this LinearProbe is not fitted yet: call fit first")
        x = _check_features(X, "features")
        if x.shape[1] != self.mean_.shape[0]:
            raise ValueError(
                f"features have {x.shape[1]} dimensions, the probe was fitted on "
                f"{self.mean_.shape[0]}"
            )
        x = self._transform(x)
        scores = np.empty((x.shape[0], len(self._models)))
        for k, model in enumerate(self._models):
            if model is None:
                scores[:, k] = self.prevalence_[k]
            else:
                scores[:, k] = model.predict_proba(x)[:, 1]
        return scores


def linear_probe(
    train_features: Any,
    y_train: Any,
    test_features: Any,
    C: float = 1.0,
    max_iter: int = 1000,
    standardize: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """Fit a :class:`LinearProbe` on training features and score test features.

    Parameters
    ----------
    train_features
        ``(N, D)`` features of the labelled records.
    y_train
        ``(N, K)`` their labels (bool or 0/1).
    test_features
        ``(M, D)`` features of the records to score.
    C, max_iter, standardize, seed
        As for :class:`LinearProbe`.

    Returns
    -------
    ``(M, K)`` probabilities; classes that could not be fitted get their training prevalence
    (use :class:`LinearProbe` to learn which).
    """
    probe = LinearProbe(C=C, max_iter=max_iter, standardize=standardize, seed=seed)
    return probe.fit(train_features, y_train).predict_scores(test_features)


# ---------------------------------------------------------------------------- fine-tuning
class Classifier(nn.Module):
    """An encoder and a linear layer: ECGs ``(B, 12, L)`` -> logits ``(B, K)``.

    Attributes
    ----------
    encoder
        Maps ``(B, 12, L)`` to features ``(B, D)``.
    head
        ``nn.Linear(D, K)``.
    history
        Mean training loss of every epoch, filled by :func:`fine_tune`.
    input_norm
        The scaling of the records it takes (the pretrained model's; see
        :func:`~threekg_lite.data.preprocess.scale_input`), applied by whoever feeds it.
    """

    def __init__(self, encoder: nn.Module, head: nn.Linear, input_norm: str = "none") -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.input_norm = input_norm
        self.history: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 12, L)`` -> logits ``(B, K)``."""
        return self.head(self.encoder(x))


def _encoder_of(model: nn.Module) -> nn.Module:
    encoder = getattr(model, "encoder", model)
    if not isinstance(getattr(encoder, "out_dim", None), int):
        raise ValueError(
            f"expected a ContrastiveModel or an encoder with an out_dim, got {type(model).__name__}"
        )
    return encoder


def _default_device(device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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
    progress: bool = False,
) -> Classifier:
    """Train a copy of ``model``'s encoder and a new linear layer on labelled ECGs.

    Every epoch visits the records in a random order, in batches of ``batch_size``, each
    record as one random crop of ``crop`` samples (a fresh crop per record per epoch); the
    loss is the binary cross-entropy of every class (``BCEWithLogitsLoss``). AdamW with a
    cosine decay of the learning rate from ``lr`` to near 0 over all steps; autocast on a
    GPU by its capability (:func:`~threekg_lite.runtime.precision.autocast_dtype`). A final batch
    of one record is dropped (batch norm in training mode needs two).

    With ``freeze_encoder=True`` only the linear layer is trained: the encoder stays in eval
    mode (its batch-norm statistics untouched) and gets no gradient. The 3KG base code's
    linear evaluation (Adam, lr 1e-3, on the classifier only) is ``weight_decay=0``.

    Parameters
    ----------
    model
        A :class:`~threekg_lite.models.ContrastiveModel` (its ``encoder`` is used; the
        projection head is not) or an encoder with an ``out_dim``. It is not modified.
    signals_train
        ``(N, 12, T)`` float32 ECGs (mV), ``N >= 2``, ``T >= crop``.
    y_train
        ``(N, K)`` labels (bool or 0/1).
    crop
        Samples per training crop (use the same for :func:`predict_scores`).
    epochs, batch_size, lr, weight_decay
        Training length and optimiser settings.
    seed
        Seeds the linear layer's initialisation, the batch order and the crops (a
        ``torch.Generator``; the global RNG is not used). On a CPU the same seed gives the
        same classifier.
    device
        Default: the GPU when there is one, else the CPU.
    freeze_encoder
        Train the linear layer only.
    progress
        Show a progress bar over epochs.

    Returns
    -------
    The trained :class:`Classifier` in eval mode, on ``device``; ``classifier.history`` holds
    the mean loss of every epoch.
    """
    from tqdm import tqdm

    from threekg_lite.data.pool import RecordPool

    encoder = _encoder_of(model)
    if not torch.is_tensor(signals_train):
        signals_train = np.asarray(signals_train)
    shape = tuple(signals_train.shape)
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
    if not lr > 0 or not weight_decay >= 0:  # NaN fails both
        raise ValueError(f"need lr > 0 and weight_decay >= 0, got {lr}, {weight_decay}")

    device = _default_device(device)
    generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        head = nn.Linear(encoder.out_dim, y.shape[1])
    head = head.to_empty(device="cpu")
    init_weights(head, generator)
    norm = getattr(model, "input_norm", "none")
    classifier = Classifier(copy.deepcopy(encoder), head, norm).to(device)

    pool = RecordPool(signals_train, np.arange(n), device, input_norm=norm)
    targets = torch.as_tensor(y, dtype=torch.float32, device=device)
    full, rest = divmod(n, batch_size)
    steps_per_epoch = full + (rest >= 2)
    total = epochs * steps_per_epoch
    params = classifier.head.parameters() if freeze_encoder else classifier.parameters()
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    amp_dtype = autocast_dtype(device)
    scaler = grad_scaler(device, amp_dtype)

    classifier.train()
    if freeze_encoder:
        classifier.encoder.eval()
    step = 0
    bar = tqdm(range(epochs), desc="fine-tune", unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.randperm(n, generator=generator)
        starts = torch.randint(0, t - crop + 1, (n,), generator=generator)
        losses = []
        for b in range(steps_per_epoch):
            index = order[b * batch_size : (b + 1) * batch_size]
            x = pool.crops(index.to(device), starts[index].to(device), crop)
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
            with autocast(device, amp_dtype):
                if freeze_encoder:
                    with torch.no_grad():
                        features = classifier.encoder(x)
                    logits = classifier.head(features)
                else:
                    logits = classifier(x)
            loss = loss_fn(logits.float(), targets[index.to(device)])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # scaled only in float16
            scaler.step(optimizer)
            scaler.update()
            losses.append(loss.detach())
            step += 1
        classifier.history.append(float(torch.stack(losses).mean()))
        bar.set_postfix(loss=f"{classifier.history[-1]:.4f}")
    bar.close()
    return classifier.eval()


def predict_scores(
    classifier: nn.Module,
    signals: np.ndarray | torch.Tensor,
    crop: int | None,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Per-class probabilities of a classifier on centre crops, without gradients.

    Parameters
    ----------
    classifier
        A :class:`Classifier` (or any module mapping ``(B, 12, L)`` to logits ``(B, K)``).
        Run in eval mode; its mode is restored afterwards.
    signals
        ``(M, 12, T)`` ECGs (mV).
    crop
        Samples of the centred window (the training crop); ``None``: the whole record.
    batch_size
        Records per forward pass.
    device
        Default: where the classifier's parameters are.

    Returns
    -------
    ``(M, K)`` float32 sigmoid probabilities.

    Raises
    ------
    ValueError
        ``classifier`` is a :class:`~threekg_lite.models.ContrastiveModel` (features, not
        logits), or ``signals`` or ``crop`` do not fit.
    """
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
    """:func:`fine_tune` of a freshly initialised network: the supervised baseline.

    Parameters
    ----------
    config
        A model config dict or a preset name of :data:`threekg_lite.models.PRESETS`.
    signals_train, y_train, crop
        As for :func:`fine_tune`.
    seed
        Seeds the network's initialisation (:func:`~threekg_lite.models.build_model` with a
        generator) and the training.
    **kwargs
        Further arguments of :func:`fine_tune` (``epochs``, ``lr``, ``device``, ...).
    """
    model = build_model(config, generator=torch.Generator().manual_seed(seed))
    return fine_tune(model, signals_train, y_train, crop=crop, seed=seed, **kwargs)


def encoder_from(
    method_or_path: str | os.PathLike[str],
    *,
    seed: int = 0,
    config: dict[str, Any] | str = "tiny",
) -> ContrastiveModel:
    """The network to evaluate, in eval mode: a random initialisation or a checkpoint.

    Parameters
    ----------
    method_or_path
        ``"random"``: a network built from ``config`` with weights drawn from a generator
        seeded with ``seed``. Otherwise the path of a checkpoint file (or of a pretraining
        run's folder holding ``checkpoint.pt``), read by
        :func:`threekg_lite.models.load_model`. A string that is neither ``"random"``
        nor path-like (no existing file, no folder separator, no suffix) is refused.
    seed
        Seed of the random initialisation.
    config
        Model config dict or preset name of the random network (ignored for a checkpoint,
        which records its own).

    Raises
    ------
    CheckpointError
        The checkpoint is missing, unreadable, or not a threekg-lite checkpoint.
    ValueError
        ``method_or_path`` is an unknown method name.
    """
    from threekg_lite.models import load_model
    from threekg_lite.training import CHECKPOINT

    if isinstance(method_or_path, str) and method_or_path == "random":
        return build_model(config, generator=torch.Generator().manual_seed(seed)).eval()
    if not isinstance(method_or_path, (str, os.PathLike)):
        raise ValueError(
            f"expected 'random' or a checkpoint path, got {type(method_or_path).__name__}"
        )
    path = Path(method_or_path)
    looks_like_path = (
        not isinstance(method_or_path, str)
        or path.exists()
        or path.suffix != ""
        or any(sep in method_or_path for sep in ("/", os.sep, os.altsep) if sep)
    )
    if not looks_like_path:
        raise ValueError(
            f"unknown encoder {method_or_path!r}: use 'random' or the path of a checkpoint "
            f"file (no file of that name exists)"
        )
    if path.is_dir():
        path = path / CHECKPOINT
    return load_model(path)
