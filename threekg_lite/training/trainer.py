"""Pretraining runs: devices, processes, checkpoints, resuming and logging around the step of
:mod:`threekg_lite.pretrain`.

Epoch ``e``'s batch order is seeded by ``(seed, e)`` and the augmentation generator re-seeded
from ``(seed, step, rank)`` at every step: batches, crops and views depend on the seed and the
step alone, so a resumed run continues exactly as if it had never stopped (on a CPU, where
kernels are deterministic). Under ``torchrun`` each process takes its share of the global
batch and the projections are gathered: the loss is the global batch's single-process loss.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm  # not tqdm.auto: without ipywidgets it warns on stderr in notebooks

from threekg_lite.baselines import make_augmentation
from threekg_lite.data.pool import RecordPool, group_ids
from threekg_lite.losses import contrastive_accuracy
from threekg_lite.models import build_model
from threekg_lite.pretrain import PretrainConfig, learning_rate, make_views, train_step
from threekg_lite.runtime import checkpoint as ckpt
from threekg_lite.runtime import distributed as dist
from threekg_lite.runtime.precision import autocast_dtype, grad_scaler

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"


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
    """Pretraining of a :class:`~.models.ContrastiveModel` on :class:`~.data.records.ECGRecords`.

    ``out_dir`` holds ``checkpoint.pt`` and ``metrics.jsonl``; a run whose folder already holds
    a checkpoint resumes from it (``None``: nothing written). ``device`` defaults to this
    process's GPU if there is one. E.g. ``Pretrainer(records, PretrainConfig(steps=2,
    model="tiny"), progress=False).run()``."""

    def __init__(
        self,
        records: Any,
        config: PretrainConfig,
        out_dir: str | os.PathLike[str] | None = None,
        device: torch.device | str | None = None,
        progress: bool = True,
    ) -> None:
        self.config = config
        asked = torch.device(device) if device is not None else None
        # A CPU run under torchrun needs gloo even where CUDA is there (NCCL has no CPU tensors).
        backend = "gloo" if asked is not None and asked.type == "cpu" else None
        self.rank, self.world, default_device = dist.init_from_env(backend=backend)
        self.device = asked if asked is not None else default_device
        bs, k = config.batch_size, config.crops_per_record
        n, t = len(records), records.signals.shape[-1]
        if bs % self.world:
            raise ValueError(f"batch_size {bs} is not divisible by the {self.world} processes")
        if k * config.crop > t:
            raise ValueError(
                f"{k} non-overlapping crop(s) of {config.crop} samples do not fit in the records "
                f"({t} samples at {records.fs:g} Hz); use crops_per_record * crop <= {t}"
            )
        if bs > n:
            raise ValueError(
                f"batch_size {bs} is larger than the {n} records; use batch_size <= {n}"
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

        params = self.model.parameters()
        if config.optimizer == "adam":
            self.optimizer = torch.optim.Adam(params, lr=config.lr)
        else:
            self.optimizer = torch.optim.AdamW(params, config.lr, weight_decay=config.weight_decay)
        self.amp_dtype = autocast_dtype(self.device, config.amp)
        self.scaler = grad_scaler(self.device, self.amp_dtype)
        self.step = 0
        self.history: list[dict[str, float]] = []
        if self.out_dir is not None and (self.out_dir / CHECKPOINT).is_file():
            self._resume(self.out_dir / CHECKPOINT)
        elif self.out_dir is not None and self.rank == 0:
            # metrics of a run killed before its first checkpoint describe steps done again
            (self.out_dir / METRICS).unlink(missing_ok=True)

        self.forward = self.model
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward = DistributedDataParallel(self.model, device_ids=ids)
        if config.compile:
            self.forward = torch.compile(self.forward)
        self.generator = torch.Generator(device=self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _resume(self, path: Path) -> None:
        state = ckpt.load_checkpoint(path, map_location=self.device)
        ckpt.check_model_config(path, state["model_config"], self.model.config)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if state.get("scaler"):  # float16 runs; older checkpoints have none
                self.scaler.load_state_dict(state["scaler"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise ValueError(f"{path}: cannot restore the run from this checkpoint: {e}") from e
        self.step = int(state["step"])
        old, new = state.get("config", {}), asdict(self.config)
        if changed := ckpt.config_changes(old, new, [k for k in new if k in old and k != "steps"]):
            log.warning("resuming %s with settings changed: %s", path, changed)
        if self.step >= self.config.steps:
            log.warning("%s is already at step %d of %d", path, self.step, self.config.steps)
        self.history = [h for h in _read_metrics(self.out_dir / METRICS) if h["step"] <= self.step]
        if self.rank == 0:
            _write_metrics(self.out_dir / METRICS, self.history)  # drop steps after the checkpoint

    def save(self) -> Path | None:
        """Write the checkpoint now (rank 0 only; :mod:`~.runtime.checkpoint`); returns its path."""
        if self.out_dir is None or self.rank != 0:
            return None
        state = {
            "model_config": self.model.config,
            "model": self.model.state_dict(),
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "scheduler": {"name": "warmup-cosine", "warmup": self.config.warmup},
            "config": asdict(self.config),
            "data": dict(self.data_info),
            "world_size": self.world,
            "torch_version": str(torch.__version__),
        }
        return ckpt.save_checkpoint(self.out_dir / CHECKPOINT, state)

    def _seed_step(self, step: int) -> None:
        self.generator.manual_seed(_seed(self.config.seed, step, self.rank, words=2))

    def _batch_index(self, step: int) -> torch.Tensor:
        """This process's record indices at ``step``: its share of the global batch."""
        n, b = len(self.pool), self.config.batch_size
        epoch, k = divmod(step, n // b)
        if getattr(self, "_order_epoch", None) != epoch:
            g = torch.Generator().manual_seed(_seed(self.config.seed, epoch, 1, words=1))
            self._order = torch.randperm(n, generator=g).to(self.device)
            self._order_epoch = epoch
        share = b // self.world
        first = k * b + self.rank * share
        return self._order[first : first + share]

    def views(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The views ``(G b, 12, crop)`` (:func:`~threekg_lite.pretrain.make_views`) and the
        group ids ``(b,)`` of this process's ``b`` records at step ``step``."""
        self._seed_step(step)
        index = self._batch_index(step)
        views = make_views(self.pool, index, self.config, self.augment, self.generator)
        return views, self.pool.ids[index]

    def train_step(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One optimisation step; returns the loss and the (global) projections z1, z2."""
        return self.step_on_views(step, *self.views(step))

    def step_on_views(
        self, step: int, both: torch.Tensor, ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:func:`~threekg_lite.pretrain.train_step` on given views (as :meth:`views` returns
        them, or made elsewhere, e.g. by a DataLoader in ``benchmarks/bench_pipeline.py``)."""
        gather = dist.all_gather_with_grad if self.world > 1 else None
        return train_step(
            self.forward,
            self.optimizer,
            both,
            ids,
            step,
            self.config,
            self.scaler,
            self.amp_dtype,
            gather,
        )

    def run(self, stop_after: int | None = None) -> PretrainResult:
        """Train from the current step to ``config.steps`` (or to ``stop_after``, writing a
        checkpoint there: a time-boxed session that a later run resumes)."""
        cfg = self.config
        end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
        self.model.train()
        off = not self.progress
        bar = tqdm(total=cfg.steps, initial=self.step, unit="step", desc="pretrain", disable=off)
        t_start = tick = time.perf_counter()
        tick_step, rates = self.step, []
        while self.step < end:
            loss, z1, z2 = self.train_step(self.step)
            self.step += 1
            last = self.step == end
            if self.step % cfg.log_every == 0 or last:
                loss_value = float(loss)  # waits for the device
                now = time.perf_counter()
                rates.append((self.step - tick_step) * cfg.batch_size / (now - tick))
                entry = {"step": self.step, "loss": loss_value, **contrastive_accuracy(z1, z2)}
                entry.update(lr=learning_rate(self.step - 1, cfg), pairs_per_s=rates[-1])
                entry["time"] = now - t_start
                self.history.append(entry)
                if self.out_dir is not None and self.rank == 0:
                    _write_metrics(self.out_dir / METRICS, [entry], append=True)
                top1, rate = f"{entry['top1']:.2f}", f"{rates[-1]:,.0f}"
                bar.set_postfix(loss=f"{loss_value:.3f}", top1=top1, pairs_s=rate)
                tick, tick_step = now, self.step
            bar.update(1)
            if self.step % cfg.checkpoint_every == 0 or last:
                self.save()
        bar.close()
        seconds, nan = time.perf_counter() - t_start, float("nan")
        last_entry = self.history[-1] if self.history else {"loss": nan, "top1": nan}
        steady = rates[1:] or rates
        return PretrainResult(
            steps=self.step,
            loss=last_entry["loss"],
            top1=last_entry["top1"],
            pairs_per_s=float(np.median(steady)) if steady else nan,
            seconds=seconds,
            device=str(self.device),
            checkpoint=self.out_dir / CHECKPOINT if self.out_dir is not None else None,
            history=list(self.history),
        )


def _seed(*entropy: int, words: int) -> int:
    """A seed of ``32 * words`` bits from numpy's ``SeedSequence(entropy)``."""
    state = np.random.SeedSequence(list(entropy)).generate_state(words)  # uint32 words
    return int.from_bytes(state.astype(">u4").tobytes(), "big")


def _read_metrics(path: Path) -> list[dict[str, float]]:
    out = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill
            break
    return out


def _write_metrics(path: Path, entries: list[dict[str, float]], append: bool = False) -> None:
    text = "".join(json.dumps(e) + "\n" for e in entries)
    if append:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(text)
    else:  # atomically, by a rename
        path.with_suffix(".jsonl.tmp").write_text(text)
        os.replace(path.with_suffix(".jsonl.tmp"), path)
