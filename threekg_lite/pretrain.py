"""One pretraining step of 3KG: crops, views, contrastive loss, update.

A step cuts random windows (:func:`crop_starts`) of a batch of records held on the device
(:class:`~.data.pool.RecordPool`), makes augmented views of every window there
(:func:`make_views`) and minimises NT-Xent between one record's views (:func:`contrastive_loss`,
:func:`train_step`), with no Python loop over samples. The run around it
(devices, processes, checkpoints, resuming) is :class:`threekg_lite.training.Pretrainer`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

from threekg_lite.baselines import AUGMENTATIONS, Augmentation
from threekg_lite.data.pool import RecordPool
from threekg_lite.losses import nt_xent, supcon
from threekg_lite.runtime.checks import check_choice, check_float, check_int
from threekg_lite.runtime.precision import AMP_MODES, autocast


@dataclass(frozen=True)
class PretrainConfig:
    """What a pretraining run does (everything but the data and the device).

    Attributes
    ----------
    steps, batch_size, crop
        Optimisation steps in all (a resumed run continues up to this number); ECGs per step
        over all processes; samples per crop (2500 = 5 s at 500 Hz).
    augment, model
        One of :data:`AUGMENTATIONS`; a :data:`threekg_lite.models.PRESETS` name or config.
    lr, weight_decay, warmup_steps, temperature
        AdamW's peak learning rate and weight decay; linear warm-up steps (default 5 % of
        ``steps``) before the cosine decay to 0; the NT-Xent temperature.
    crops_per_record, views_per_crop
        ``k`` non-overlapping windows of ``crop`` samples at random places in each record (which
        must hold ``k * crop`` samples), and 1 or 2 augmented views of each. The views of one
        record's crops are positives of each other (the 3KG base code). The default ``k = 2``
        is what the book's reference run supports (``book/results/``): same-crop pairs
        (``k = 1``, two views: SimCLR's) share their beat timing and taught the encoder nothing
        a linear layer could use. ``crops_per_record=1, views_per_crop=2`` is the *same-crop*
        configuration.
    positives
        ``"instance"``: only the two views of one crop are positives (SimCLR);
        ``"record"``/``"patient"``: so are all views of crops sharing a record/patient id
        (the 3KG base code's supervised-contrastive variant).
    grad_clip, checkpoint_every, log_every
        Maximum gradient norm (``None``: none); steps between checkpoints (and at the end)
        and between metric lines.
    optimizer, seed
        ``"adamw"`` or ``"adam"`` (the 3KG base code: no decay); seeds the initialisation,
        the batch order, the crops and the views.
    amp, compile
        One of :data:`~threekg_lite.runtime.precision.AMP_MODES`; run the model through
        ``torch.compile``.
    """

    steps: int = 1000
    batch_size: int = 256
    crop: int = 2500
    augment: str = "3kg"
    model: str | dict[str, Any] = "resnet18"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int | None = None
    temperature: float = 0.1
    crops_per_record: int = 2
    views_per_crop: int = 1
    positives: Literal["instance", "record", "patient"] = "record"
    grad_clip: float | None = 1.0
    checkpoint_every: int = 500
    log_every: int = 10
    optimizer: Literal["adamw", "adam"] = "adamw"
    seed: int = 0
    amp: Literal["auto", "bf16", "fp16", "off"] = "auto"
    compile: bool = False

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "crop", "checkpoint_every", "log_every"):
            check_int(name, getattr(self, name))
        check_int("crops_per_record", self.crops_per_record)
        check_choice("augment", self.augment, AUGMENTATIONS)
        check_float("lr", self.lr, positive=True)
        check_float("weight_decay", self.weight_decay)
        warmup = self.warmup_steps
        if warmup is not None and check_int("warmup_steps", warmup, 0) > self.steps:
            raise ValueError(f"warmup_steps must be <= steps, got {warmup!r}")
        check_float("temperature", self.temperature, positive=True)
        check_choice("positives", self.positives, ("instance", "record", "patient"))
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or None, got {self.grad_clip}")
        check_choice("views_per_crop", self.views_per_crop, (1, 2))
        if self.views_per_record < 2:
            raise ValueError(
                "each record needs at least two views to make a positive pair: "
                "use views_per_crop=2 or crops_per_record >= 2"
            )
        check_choice("optimizer", self.optimizer, ("adamw", "adam"))
        check_choice("amp", self.amp, AMP_MODES)

    @property
    def views_per_record(self) -> int:
        """Views of each record per step: ``crops_per_record * views_per_crop``."""
        return self.crops_per_record * self.views_per_crop

    @property
    def warmup(self) -> int:
        """Warm-up steps in effect."""
        return self.warmup_steps if self.warmup_steps is not None else max(1, self.steps // 20)


def learning_rate(step: int, config: PretrainConfig) -> float:
    """Learning rate of optimisation step ``step`` (0-based): linear warm-up, cosine decay."""
    warmup, total = config.warmup, config.steps
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def crop_starts(
    b: int, k: int, crop: int, n_samples: int, generator: torch.Generator
) -> torch.Tensor:
    """``(b, k)`` first samples of ``k`` non-overlapping crops per record, in time order.

    ``k = 1``: uniform over every place. ``k >= 2``: uniform over the placements of ``k``
    disjoint windows: with slack ``s = T - k crop``, ``k`` offsets drawn from ``{0..s}`` and
    sorted, ``start_j = offset_j + j crop``. On the generator's device."""
    slack, dev = n_samples - k * crop, generator.device
    offsets = torch.randint(0, slack + 1, (b, k), generator=generator, device=dev)
    if k == 1:
        return offsets
    return offsets.sort(dim=1)[0] + crop * torch.arange(k, device=dev)


def make_views(
    pool: RecordPool,
    index: torch.Tensor,
    config: PretrainConfig,
    augment: Augmentation,
    generator: torch.Generator,
) -> torch.Tensor:
    """``(G b, 12, crop)``: ``G = config.views_per_record`` views of the ``b`` records
    ``index``. Rows ``g b ... (g + 1) b - 1`` hold view ``g`` of every record; view ``g`` is
    view ``g % views_per_crop`` of crop ``g // views_per_crop``."""
    k, crop = config.crops_per_record, config.crop
    starts = crop_starts(index.numel(), k, crop, pool.n_samples, generator)  # (b, k)
    views = []
    for j in range(k):
        x = pool.crops(index, starts[:, j], crop)  # (b, 12, crop)
        views += [augment(x, generator) for _ in range(config.views_per_crop)]
    return torch.cat(views)


def contrastive_loss(z: torch.Tensor, ids: torch.Tensor, config: PretrainConfig) -> torch.Tensor:
    """The loss of ``z`` ``(G, b, D)`` (view ``g`` of record ``i`` in ``z[g, i]``) with group
    ids ``(b,)``: NT-Xent for two views (with the ids unless ``positives="instance"``),
    SupCon for more."""
    n_views, b = z.shape[:2]
    if config.positives == "instance":
        ids = torch.arange(b, device=z.device)
    if n_views == 2:
        positives = None if config.positives == "instance" else ids
        return nt_xent(z[0], z[1], config.temperature, ids=positives)
    return supcon(z.flatten(0, 1), ids.repeat(n_views), config.temperature)


def train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    views: torch.Tensor,
    ids: torch.Tensor,
    step: int,
    config: PretrainConfig,
    scaler: torch.amp.GradScaler | None = None,
    amp_dtype: torch.dtype | None = None,
    gather: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One optimisation step on views ``(G b, 12, crop)`` and ids ``(b,)``: forward, loss,
    backward, update. Returns the loss and the projections ``(b, D)`` of the first two views.

    ``scaler`` scales the loss in float16 (:func:`~threekg_lite.runtime.precision.grad_scaler`);
    ``amp_dtype`` is the autocast dtype (``None``: full precision); ``gather`` joins every
    process's rows before the loss (several processes)."""
    scaler = scaler or torch.amp.GradScaler(enabled=False)
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(step, config)
    b = ids.numel()
    with autocast(views.device, amp_dtype):
        z = model(views)
    z = z.float().view(views.shape[0] // b, b, -1)  # (G, b, D)
    if gather is not None:  # every process's records, views kept apart: (G, W b, D)
        z, ids = gather(z.transpose(0, 1).contiguous()).transpose(0, 1), gather(ids)
    loss = contrastive_loss(z, ids, config)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if config.grad_clip is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach(), z[0].detach(), z[1].detach()
