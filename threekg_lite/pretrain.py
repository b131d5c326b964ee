"""Contrastive pretraining with the data, the augmentation and the model on one device.

The whole record set is one tensor on the device (:class:`RecordPool`). Each step draws a
batch of record indices, one random crop per record, two augmented views of every crop
(:mod:`threekg_lite.augment` and friends, batched, on the device), and minimises NT-Xent
(:func:`threekg_lite.losses.nt_xent`) between the projections of the two views. Nothing on
this path loops over samples in Python.

Reproducibility: the batch order of epoch ``e`` is a permutation drawn from a generator
seeded with ``(seed, e)``, and the augmentation generator is re-seeded from
``(seed, step, rank)`` at every step. A run's batches, crops and views are therefore a
function of the seed and the step alone, so a run resumed from a checkpoint (model,
optimizer, step) continues exactly as if it had never stopped (on a CPU, where the kernels
are deterministic).

Several processes: started with ``torchrun``, each process takes its share of every global
batch, the projections are gathered across processes before the loss
(:func:`threekg_lite.runtime.distributed.all_gather_with_grad`), so the loss is the single-process
loss of the global batch; DistributedDataParallel averages the gradients.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from threekg_lite.data.pool import RecordPool, group_ids
from threekg_lite.runtime.checkpoint import check_model_config, load_checkpoint, save_checkpoint
from threekg_lite.runtime.precision import AMP_MODES, autocast, autocast_dtype, grad_scaler

log = logging.getLogger(__name__)

AUGMENTATIONS = ("3kg", "3kg-spatial", "3kg-temporal", "generic", "none")
"""Augmentation sets :func:`make_augmentation` knows."""

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"

Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def make_augmentation(name: str, fs: float) -> Augmentation:
    """The view-making transform of an augmentation set.

    ``"3kg"``: rotation, scaling and time mask (:class:`~threekg_lite.augment.ThreeKG`);
    ``"3kg-spatial"``/``"3kg-temporal"``: its two halves; ``"generic"``: the SimCLR
    time-series set (:func:`~threekg_lite.baselines.generic.simclr_ecg`, needs ``fs``);
    ``"none"``: the crop itself.
    """
    from threekg_lite.augment import ThreeKG, spatial_only, temporal_only
    from threekg_lite.baselines.generic import simclr_ecg

    if name == "3kg":
        return ThreeKG()
    if name == "3kg-spatial":
        return spatial_only()
    if name == "3kg-temporal":
        return temporal_only()
    if name == "generic":
        return simclr_ecg(fs)
    if name == "none":
        return _identity
    raise ValueError(f"unknown augmentation {name!r}; use one of {', '.join(AUGMENTATIONS)}")


def _identity(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x


@dataclass(frozen=True)
class PretrainConfig:
    """What a pretraining run does (everything but the data and the device).

    Attributes
    ----------
    steps
        Optimisation steps in all (a resumed run continues up to this number).
    batch_size
        ECGs per step over all processes; each gives ``views_per_record`` views (two by
        default), so ``views_per_record * batch_size``
        embeddings enter the loss.
    crop
        Samples per crop (e.g. 2500 = 5 s at 500 Hz); records must be at least this long.
    augment
        One of :data:`AUGMENTATIONS`.
    model
        A preset name of :data:`threekg_lite.models.PRESETS` or a model config dict.
    lr, weight_decay
        AdamW's peak learning rate and weight decay.
    warmup_steps
        Linear warm-up from 0 to ``lr``, then cosine decay to 0 at ``steps``; default 5 % of
        ``steps``.
    temperature
        NT-Xent temperature.
    crops_per_record
        ``k``: windows of ``crop`` samples cut from each record of the batch. ``1``: one
        random window (SimCLR's two views of one crop). ``k >= 2``: ``k`` non-overlapping
        windows at random places (the records must hold ``k * crop`` samples), so that
        positives differ in time as well as in the augmentation, as with the 3KG base
        code's record positives across its exhaustive 5-s crops and CLOCS's multi-segment
        positives. The views of one record's crops are positives of each other. The
        default, 2, is what the book's reference run (``book/results/``) supports: 3KG's
        same-crop pairs were no better than a random encoder downstream, cross-crop pairs
        clearly better (chapters 4-5: same-crop pairs share their beat timing, and the
        encoder learns to match timing).
    views_per_crop
        Augmented views made of each window: 1 (default) or 2. The default pairs one view
        of each of two different windows: the two views of a positive pair never share
        their beat timing. ``crops_per_record=1, views_per_crop=2`` is the *same-crop*
        configuration (two views of one window).
    positives
        ``"instance"``: only the two views of one crop are positives (SimCLR);
        ``"record"``/``"patient"``: so are all views of crops sharing a record/patient id
        (the 3KG base code's supervised-contrastive variant).
    grad_clip
        Maximum gradient norm (``None``: no clipping).
    checkpoint_every, log_every
        Steps between checkpoints (also written at the end) and between metric lines.
    optimizer
        ``"adamw"`` (with ``weight_decay``) or ``"adam"`` (the 3KG base code: Adam, no decay).
    seed
        Seeds the model's initialisation, the batch order, the crops and the views.
    amp
        ``"auto"``: autocast by device (:func:`~threekg_lite.runtime.precision.autocast_dtype`:
        bfloat16 on a GPU of compute capability >= 8, float16 with loss scaling below,
        float32 on a CPU); ``"bf16"``, ``"fp16"`` or ``"off"`` force one.
    compile
        Run the model through ``torch.compile``.
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
        for name in (
            "steps",
            "batch_size",
            "crop",
            "checkpoint_every",
            "log_every",
            "crops_per_record",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(
                f"unknown augmentation {self.augment!r}; use one of {', '.join(AUGMENTATIONS)}"
            )
        if not self.lr > 0 or not self.weight_decay >= 0:  # NaN fails both
            raise ValueError(
                f"need lr > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}"
            )
        if self.warmup_steps is not None and (
            isinstance(self.warmup_steps, bool)
            or not isinstance(self.warmup_steps, int)
            or not 0 <= self.warmup_steps <= self.steps
        ):
            raise ValueError(
                f"warmup_steps must be an integer in [0, steps], got {self.warmup_steps!r}"
            )
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.positives not in ("instance", "record", "patient"):
            raise ValueError(
                f"positives must be instance, record or patient, got {self.positives!r}"
            )
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or None, got {self.grad_clip}")
        if self.views_per_crop not in (1, 2):
            raise ValueError(f"views_per_crop must be 1 or 2, got {self.views_per_crop!r}")
        if self.views_per_record < 2:
            raise ValueError(
                "each record needs at least two views to make a positive pair: "
                "use views_per_crop=2 or crops_per_record >= 2"
            )
        if self.optimizer not in ("adamw", "adam"):
            raise ValueError(f"optimizer must be adamw or adam, got {self.optimizer!r}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES}, got {self.amp!r}")

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


@dataclass
class PretrainResult:
    """What a run did: its metrics and where its checkpoint is."""

    steps: int
    loss: float
    top1: float
    pairs_per_s: float
    seconds: float
    device: str
    checkpoint: Path | None
    history: list[dict[str, float]] = field(default_factory=list)

    def summary(self) -> str:
        where = f", checkpoint {self.checkpoint}" if self.checkpoint else ""
        return (
            f"{self.steps} steps on {self.device} in {self.seconds:.1f} s: loss {self.loss:.3f}, "
            f"contrastive top-1 {self.top1:.1%}, {self.pairs_per_s:,.0f} pairs/s{where}"
        )


class Pretrainer:
    """Contrastive pretraining of a :class:`~threekg_lite.models.ContrastiveModel`.

    Parameters
    ----------
    records
        An :class:`~threekg_lite.data.records.ECGRecords` (any source; see
        :func:`threekg_lite.data.sources.load_source`).
    config
        The run's :class:`PretrainConfig`.
    out_dir
        Folder for ``checkpoint.pt`` and ``metrics.jsonl``; a run whose folder already
        holds a checkpoint resumes from it. ``None``: nothing written.
    device
        Default: the GPU of this process when there is one, else the CPU.
    progress
        Show a progress bar (on the first process only).

    Examples
    --------
    >>> from threekg_lite.data import generate
    >>> records = generate(64, fs=100, duration=10, seed=0)
    >>> cfg = PretrainConfig(steps=2, batch_size=16, crop=500, model="tiny")
    >>> result = Pretrainer(records, cfg, progress=False).run()
    >>> result.steps
    2
    """

    def __init__(
        self,
        records: Any,
        config: PretrainConfig,
        out_dir: str | os.PathLike[str] | None = None,
        device: torch.device | str | None = None,
        progress: bool = True,
    ) -> None:
        from threekg_lite.models import build_model
        from threekg_lite.runtime import distributed as dist

        self.config = config
        asked = torch.device(device) if device is not None else None
        # A CPU run under torchrun needs gloo even where CUDA is there (NCCL has no CPU tensors).
        backend = "gloo" if asked is not None and asked.type == "cpu" else None
        self.rank, self.world, default_device = dist.init_from_env(backend=backend)
        self.device = asked if asked is not None else default_device
        if config.batch_size % self.world:
            raise ValueError(
                f"batch_size {config.batch_size} is not divisible by the {self.world} processes"
            )
        n, t = len(records), records.signals.shape[-1]
        k = config.crops_per_record
        if k * config.crop > t:
            raise ValueError(
                f"{k} non-overlapping crop(s) of {config.crop} samples do not fit in the "
                f"records ({t} samples at {records.fs:g} Hz); use crops_per_record * crop "
                f"<= {t}"
            )
        if config.batch_size > n:
            raise ValueError(
                f"batch_size {config.batch_size} is larger than the {n} records; "
                f"use batch_size <= {n}"
            )
        self.fs = float(records.fs)
        self.data_info = {"source": records.source, "records": n, "fs": self.fs, "length": t}
        init = torch.Generator().manual_seed(config.seed)
        self.model = build_model(config.model, generator=init).to(self.device)
        ids = group_ids(records, config.positives)
        self.pool = RecordPool(records.signals, ids, self.device, input_norm=self.model.input_norm)
        self.augment = make_augmentation(config.augment, self.fs)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress and self.rank == 0

        if config.optimizer == "adam":
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        else:
            self.optimizer = torch.optim.AdamW(
                self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
            )
        self.amp_dtype = autocast_dtype(self.device, config.amp)
        self.scaler = grad_scaler(self.device, self.amp_dtype)
        self.step = 0
        self.history: list[dict[str, float]] = []
        if self.out_dir is not None and (self.out_dir / CHECKPOINT).is_file():
            self._resume(self.out_dir / CHECKPOINT)
        elif self.out_dir is not None and self.rank == 0:
            # A fresh start: metrics left by a run that never wrote a checkpoint (killed
            # before its first one) describe steps this run does again; drop them.
            (self.out_dir / METRICS).unlink(missing_ok=True)

        self.forward = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward = DistributedDataParallel(self.model, device_ids=ids)
        if config.compile:
            self.forward = torch.compile(self.forward)
        self.generator = torch.Generator(device=self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """Everything a checkpoint holds (see :mod:`threekg_lite.runtime.checkpoint`)."""
        cfg = asdict(self.config)
        return {
            "model_config": self.model.config,
            "model": self.model.state_dict(),
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "scheduler": {"name": "warmup-cosine", "warmup": self.config.warmup},
            "config": cfg,
            "data": dict(self.data_info),
            "world_size": self.world,
            "torch_version": str(torch.__version__),
        }

    def _resume(self, path: Path) -> None:
        state = load_checkpoint(path, map_location=self.device)
        check_model_config(path, state["model_config"], self.model.config)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if state.get("scaler"):  # float16 runs; older checkpoints have none
                self.scaler.load_state_dict(state["scaler"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise ValueError(f"{path}: cannot restore the run from this checkpoint: {e}") from e
        self.step = int(state["step"])
        old = state.get("config", {})
        changed = {
            k: (old[k], v)
            for k, v in asdict(self.config).items()
            if k in old and k != "steps" and _norm(old[k]) != _norm(v)
        }
        if changed:
            log.warning(
                "resuming %s with other settings than it was started with: %s", path, changed
            )
        if self.step >= self.config.steps:
            log.warning("%s is already at step %d of %d", path, self.step, self.config.steps)
        self.history = [h for h in _read_metrics(self.out_dir / METRICS) if h["step"] <= self.step]
        if self.rank == 0:
            _write_metrics(self.out_dir / METRICS, self.history)  # drop steps after the checkpoint

    def save(self) -> Path | None:
        """Write the checkpoint now (first process only); returns its path."""
        if self.out_dir is None or self.rank != 0:
            return None
        return save_checkpoint(self.out_dir / CHECKPOINT, self.state())

    # ------------------------------------------------------------------ steps
    def _seed_step(self, step: int) -> None:
        seed = np.random.SeedSequence([self.config.seed, step, self.rank]).generate_state(2)
        self.generator.manual_seed(int(seed[0]) << 32 | int(seed[1]))

    def _batch_index(self, step: int) -> torch.Tensor:
        """This process's record indices at ``step``: its share of the global batch."""
        n, b = len(self.pool), self.config.batch_size
        per_epoch = n // b
        epoch, k = divmod(step, per_epoch)
        if getattr(self, "_order_epoch", None) != epoch:
            g = torch.Generator().manual_seed(
                int(np.random.SeedSequence([self.config.seed, epoch, 1]).generate_state(1)[0])
            )
            self._order = torch.randperm(n, generator=g).to(self.device)
            self._order_epoch = epoch
        share = b // self.world
        first = k * b + self.rank * share
        return self._order[first : first + share]

    def views(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The views ``(G b, 12, crop)`` and the group ids ``(b,)`` of this process's share
        of step ``step``, with ``G = config.views_per_record`` and ``b`` records.

        Rows ``g b ... (g + 1) b - 1`` hold view ``g`` of every record; view ``g`` is view
        ``g % views_per_crop`` of crop ``g // views_per_crop``. With the defaults (one crop,
        two views) the first ``b`` rows are view 1 and the next ``b`` view 2.
        """
        cfg = self.config
        self._seed_step(step)
        index = self._batch_index(step)
        b, crop, k, v = index.numel(), cfg.crop, cfg.crops_per_record, cfg.views_per_crop
        starts = self.crop_starts(b, k)  # (b, k)
        views = []
        for j in range(k):
            x = self.pool.crops(index, starts[:, j], crop)
            views += [self.augment(x, self.generator) for _ in range(v)]
        return torch.cat(views), self.pool.ids[index]

    def crop_starts(self, b: int, k: int) -> torch.Tensor:
        """``(b, k)`` first samples of ``k`` non-overlapping crops per record, in time order.

        ``k = 1``: uniform over every place. ``k >= 2``: uniform over the placements of ``k``
        disjoint windows: with slack ``s = T - k crop``, ``k`` offsets drawn from
        ``{0..s}`` and sorted, ``start_j = offset_j + j crop``.
        """
        crop, t = self.config.crop, self.pool.n_samples
        slack = t - k * crop
        g, dev = self.generator, self.device
        if k == 1:
            return torch.randint(0, slack + 1, (b, 1), generator=g, device=dev)
        offsets = torch.randint(0, slack + 1, (b, k), generator=g, device=dev).sort(dim=1)[0]
        return offsets + crop * torch.arange(k, device=dev)

    def train_step(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One optimisation step; returns the loss and the (global) projections z1, z2."""
        both, ids = self.views(step)
        return self.step_on_views(step, both, ids)

    def step_on_views(
        self, step: int, both: torch.Tensor, ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The optimisation step ``step`` on given views: forward, loss, backward, update.

        ``both`` is ``(G b, 12, crop)`` (view ``g`` of every record in rows ``g b`` to
        ``(g + 1) b - 1``) and ``ids`` ``(b,)`` the group ids, on the model's device, as
        :meth:`views` returns them; :meth:`train_step` is ``step_on_views(step,
        *views(step))``. Views made elsewhere (e.g. by a DataLoader,
        :mod:`threekg_lite.bench`) go through the same code. The loss is NT-Xent on two
        views per record (:func:`~threekg_lite.losses.nt_xent`, with the ids unless
        ``positives="instance"``), SupCon on more (:func:`~threekg_lite.losses.supcon`).
        Returns the loss and the (global) projections of the first two views.
        """
        from threekg_lite.losses import nt_xent, supcon
        from threekg_lite.runtime import distributed as dist

        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(step, self.config)
        b = ids.numel()
        n_views = both.shape[0] // b
        with autocast(self.device, self.amp_dtype):
            z = self.forward(both)
        z = z.float().view(n_views, b, -1)  # (G, b, D)
        if self.world > 1:  # every rank's records, views kept apart: (G, W b, D)
            z = dist.all_gather_with_grad(z.transpose(0, 1).contiguous()).transpose(0, 1)
            ids = dist.all_gather_with_grad(ids)
        if self.config.positives == "instance":
            ids = torch.arange(ids.numel(), device=ids.device)
        if n_views == 2:
            positives = None if self.config.positives == "instance" else ids
            loss = nt_xent(z[0], z[1], self.config.temperature, ids=positives)
        else:
            loss = supcon(z.flatten(0, 1), ids.repeat(n_views), self.config.temperature)
        z1, z2 = z[0], z[1]
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # scaled only in float16
        if self.config.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach(), z1.detach(), z2.detach()

    # ------------------------------------------------------------------ run
    def run(self, stop_after: int | None = None) -> PretrainResult:
        """Train from the current step to ``config.steps`` (or to ``stop_after``, writing a
        checkpoint there: a time-boxed session that a later run resumes)."""
        from tqdm import tqdm

        from threekg_lite.losses import contrastive_accuracy

        cfg = self.config
        end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
        self.model.train()
        bar = tqdm(
            total=cfg.steps,
            initial=self.step,
            unit="step",
            disable=not self.progress,
            desc="pretrain",
        )
        t_start = tick = time.perf_counter()
        done_since_tick = 0
        first = self.step
        rates = []
        while self.step < end:
            loss, z1, z2 = self.train_step(self.step)
            self.step += 1
            done_since_tick += 1
            last = self.step == end
            if self.step % cfg.log_every == 0 or last:
                loss_value = float(loss)  # waits for the device
                now = time.perf_counter()
                rate = done_since_tick * cfg.batch_size / (now - tick)
                rates.append(rate)
                acc = contrastive_accuracy(z1, z2)
                entry = {
                    "step": self.step,
                    "loss": loss_value,
                    "top1": acc["top1"],
                    "top5": acc["top5"],
                    "lr": learning_rate(self.step - 1, cfg),
                    "pairs_per_s": rate,
                    "time": now - t_start,
                }
                self.history.append(entry)
                if self.out_dir is not None and self.rank == 0:
                    _append_metrics(self.out_dir / METRICS, entry)
                bar.set_postfix(
                    loss=f"{loss_value:.3f}", top1=f"{acc['top1']:.2f}", pairs_s=f"{rate:,.0f}"
                )
                tick, done_since_tick = now, 0
            bar.update(1)
            if self.step % cfg.checkpoint_every == 0 or last:
                self.save()
        bar.close()
        seconds = time.perf_counter() - t_start
        recent = [h for h in self.history if h["step"] > first] or self.history
        steady = rates[1:] or rates
        return PretrainResult(
            steps=self.step,
            loss=recent[-1]["loss"] if recent else float("nan"),
            top1=recent[-1]["top1"] if recent else float("nan"),
            pairs_per_s=float(np.median(steady)) if steady else float("nan"),
            seconds=seconds,
            device=str(self.device),
            checkpoint=self.out_dir / CHECKPOINT if self.out_dir is not None else None,
            history=list(self.history),
        )


def pretrain(
    records: Any,
    config: PretrainConfig | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    **overrides: Any,
) -> tuple[Any, PretrainResult]:
    """Pretrain on ``records``; returns the model (unwrapped, in eval mode) and the result.

    ``overrides`` replace fields of ``config`` (default :class:`PretrainConfig`).
    """
    config = replace(config or PretrainConfig(), **overrides)
    trainer = Pretrainer(records, config, out_dir=out_dir, device=device, progress=progress)
    result = trainer.run()
    return trainer.model.eval(), result


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _read_metrics(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill
            break
    return out


def _write_metrics(path: Path, entries: list[dict[str, float]]) -> None:
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(e) + "\n" for e in entries))
    os.replace(tmp, path)


def _append_metrics(path: Path, entry: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")
