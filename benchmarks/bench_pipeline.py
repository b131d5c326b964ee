"""Pairs per second of the device-resident pipeline versus the public implementations' design.

:func:`bench_pipelines` times, in one run, on one machine, with one model and optimizer:

* **device-resident**: :meth:`threekg_lite.training.Pretrainer.train_step`: the records
  are one tensor on the device, each step crops a batch and makes its two 3KG views there
  (batched, :class:`threekg_lite.augment.ThreeKG`), then forward, NT-Xent, backward, AdamW;
* **DataLoader**: the design of the public 3KG code (``benchmarks/public_baseline.py``): a
  ``torch.utils.data.DataLoader`` whose worker processes crop each record and make its two
  views one ECG at a time in NumPy (:func:`public_baseline.per_sample_pair`), the
  default collate, ``.to(device)``, then the *same* optimisation step
  (:meth:`~threekg_lite.training.Pretrainer.step_on_views`, the code ``train_step`` runs
  after making its views).

Both are warmed up before the clock starts (the loader for ``warmup`` steps plus as many as
its prefetch queue holds, so that the timed steps see its steady state, not batches made
ahead), CUDA is synchronised before each clock reading, and the result is pairs (ECGs, two
views each) per second of each and their ratio.

On a GPU it also measures what the augmentation costs and how busy the model keeps the GPU:

* the step on views made once beforehand (model only): ``1 - t_model / t_step`` is the share
  of a device-resident step spent making the batch (crop + views);
* the two 3KG views of a batch alone, timed with CUDA events, as a share of a step (the
  issue's goal: under 2 %);
* model-FLOPs utilisation: ``3 x forward FLOPs per view x 2 views x pairs/s`` (forward FLOPs
  by :func:`threekg_lite.encoders.cost.forward_flops`, encoder and projection head, backward counted
  as twice the forward) against the bf16 matrix-product rate measured in the same run on an
  ``8192^3`` product, and optionally against a datasheet peak.

The ratio is a measurement of one run on one machine, not a test: on a CPU the model's
arithmetic dominates a step and the workers compete with it for the same cores, so the
ratio is small there; the goal (at least 5x) is for a GPU.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from public_baseline import make_loader  # noqa: I001 - beside this file

from threekg_lite.data.synthetic import generate
from threekg_lite.encoders.cost import count_parameters, forward_flops
from threekg_lite.pretrain import PretrainConfig
from threekg_lite.training import Pretrainer

GOAL_RATIO = 5.0
"""GPU goal: device-resident pairs/s at least this multiple of the DataLoader's."""
GOAL_H100_PAIRS = 20_000.0
"""H100 goal for ResNet-18-1D on 12 x 2500 in bf16, pairs/s."""
GOAL_AUGMENT_FRACTION = 0.02
"""GPU goal: the 3KG augmentation under this share of a training step."""
MATMUL_SIZE = 8192
"""Side of the bf16 matrix product that measures the GPU's attainable rate."""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _load_average() -> float | None:
    """The machine's 1-minute load average (other work shares the cores), if known."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _forever(loader: torch.utils.data.DataLoader) -> Iterator[Any]:
    """The loader's batches, epoch after epoch (persistent workers survive the epochs)."""
    while True:
        yield from loader


def _timed_steps(
    run: Callable[[int], torch.Tensor],
    first: int,
    n: int,
    device: torch.device,
    bar: Any,
) -> float:
    """Seconds for steps ``first .. first + n - 1`` of ``run(step) -> loss``, synchronised."""
    _sync(device)
    t0 = time.perf_counter()
    loss = None
    for step in range(first, first + n):
        loss = run(step)
        bar.update(1)
    if loss is not None:
        float(loss)  # waits for the device
    _sync(device)
    return time.perf_counter() - t0


def _cuda_seconds(fn: Callable[[], Any], repeats: int, warmup: int = 2) -> float:
    """Mean seconds per call of ``fn`` on the current CUDA stream, by CUDA events."""
    for _ in range(warmup):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(repeats):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1000.0 / repeats


def matmul_tflops(
    device: torch.device | str = "cuda", n: int = MATMUL_SIZE, repeats: int = 10
) -> float:
    """Attainable bf16 rate of ``device`` (TFLOP/s): ``2 n^3`` FLOPs per ``(n, n)`` product."""
    device = torch.device(device)
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16, generator=g)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16, generator=g)
    c = torch.empty_like(a)
    with torch.cuda.device(device):
        seconds = _cuda_seconds(lambda: torch.mm(a, b, out=c), repeats)
    return 2.0 * n**3 / seconds / 1e12


def bench_pipelines(
    model: str = "resnet18",
    batch_size: int = 256,
    crop: int = 2500,
    fs: float = 500,
    steps: int = 20,
    warmup: int = 3,
    workers: int = 2,
    device: torch.device | str | None = None,
    records: Any = None,
    seed: int = 0,
    progress: bool = False,
    compile: bool = False,
    peak_tflops: float | None = None,
) -> dict[str, Any]:
    """Time the device-resident pipeline and the DataLoader pipeline; see the module docs.

    Parameters
    ----------
    model
        A :data:`threekg_lite.models.PRESETS` name.
    batch_size, crop
        ECGs per step and samples per crop.
    fs
        Sampling rate of the synthetic records (ignored when ``records`` is given).
    steps, warmup
        Timed and untimed steps of each pipeline.
    workers
        DataLoader worker processes (0: the views are made in the main process).
    device
        Default: CUDA when available, else the CPU.
    records
        An :class:`~threekg_lite.data.records.ECGRecords`; default synthetic records
        (:func:`threekg_lite.data.synthetic.generate`, ``max(10, crop / fs)`` seconds each),
        as many as both pipelines use without starting a second epoch.
    seed
        Seeds the records, the model, the crops and the views.
    progress
        tqdm bars for each phase.
    compile
        ``torch.compile`` the model (both pipelines run the compiled model).
    peak_tflops
        A datasheet peak (bf16 dense TFLOP/s) to report the GPU's MFU against as well.

    Returns
    -------
    A JSON-serialisable dict: ``device_pairs_per_s``, ``loader_pairs_per_s``, ``ratio``,
    seconds per step of each, the device, threads, workers, shapes and the machine's load
    average before and after (other work on the same cores skews the timings); on a GPU also
    ``model_step_s``, ``batch_fraction`` (crop + views share of a step), ``augment_s``,
    ``augment_fraction``, ``matmul_tflops``, ``mfu`` (and ``mfu_peak``).
    """
    from tqdm.auto import tqdm

    for name, value in (("batch_size", batch_size), ("crop", crop), ("steps", steps)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be an integer >= 0, got {workers!r}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    # The loader's warm-up also drains the batches its workers made ahead (2 per worker).
    loader_warmup = warmup + 2 * workers
    if records is None:
        n = batch_size * (loader_warmup + steps)
        records = generate(n, fs=fs, duration=max(10.0, crop / fs), seed=seed)
    is_gpu = device.type == "cuda"
    model_steps = steps + warmup if is_gpu else 0
    config = PretrainConfig(
        steps=warmup + steps + loader_warmup + steps + model_steps,
        batch_size=batch_size,
        crop=crop,
        augment="3kg",
        model=model,
        seed=seed,
        compile=compile,
        # Two views of one crop, as the DataLoader pipeline it is compared with makes them.
        crops_per_record=1,
        views_per_crop=2,
    )
    load_before = _load_average()
    trainer = Pretrainer(records, config, out_dir=None, device=device, progress=False)
    trainer.model.train()
    flops_view = forward_flops(trainer.model, crop)
    signals = np.asarray(records.signals, dtype=np.float32)
    result: dict[str, Any] = {
        "device": str(device),
        "device_name": _device_name(device),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "workers": workers,
        "model": model if isinstance(model, str) else "custom",
        "parameters": count_parameters(trainer.model),
        "batch_size": batch_size,
        "crop": crop,
        "fs": float(records.fs),
        "records": len(records),
        "model_input": [2 * batch_size, 12, crop],
        "amp": str(trainer.amp_dtype).removeprefix("torch.") if trainer.amp_dtype else "float32",
        "compile": bool(compile),
        "steps": steps,
        "warmup": warmup,
        "forward_gflop_per_view": flops_view / 1e9,
    }

    def bar(desc: str, total: int) -> Any:
        return tqdm(total=total, desc=desc, unit="step", disable=not progress, leave=False)

    # (a) device-resident: crop, views, step, all on the device.
    def device_step(step: int) -> torch.Tensor:
        return trainer.train_step(step)[0]

    with bar("device-resident", warmup + steps) as b:
        for step in range(warmup):
            device_step(step)
            b.update(1)
        t_device = _timed_steps(device_step, warmup, steps, device, b)
    next_step = warmup + steps

    # (b) DataLoader with per-sample NumPy 3KG in worker processes, same step.
    t_loader = _time_loader(
        trainer, signals, workers, seed, next_step, loader_warmup, steps, device, bar
    )
    next_step += loader_warmup + steps

    device_rate = steps * batch_size / t_device
    loader_rate = steps * batch_size / t_loader
    result.update(
        device_pairs_per_s=device_rate,
        loader_pairs_per_s=loader_rate,
        ratio=device_rate / loader_rate,
        device_step_s=t_device / steps,
        loader_step_s=t_loader / steps,
        achieved_tflops=3 * 2 * flops_view * device_rate / 1e12,
        load_average=[load_before, _load_average()],
    )

    if is_gpu:
        with torch.cuda.device(device):
            result.update(
                _gpu_extras(trainer, next_step, steps, warmup, t_device / steps, bar, device)
            )
        result["mfu"] = result["achieved_tflops"] / result["matmul_tflops"]
        if peak_tflops is not None:
            result["peak_tflops"] = float(peak_tflops)
            result["mfu_peak"] = result["achieved_tflops"] / float(peak_tflops)
    return result


def _time_loader(
    trainer: Any,
    signals: np.ndarray,
    workers: int,
    seed: int,
    first: int,
    warmup: int,
    steps: int,
    device: torch.device,
    bar: Callable[[str, int], Any],
) -> float:
    """Seconds for ``steps`` steps fed by :func:`public_baseline.make_loader` after
    ``warmup`` untimed ones; the workers end when the loader goes out of scope here."""
    config = trainer.config
    loader = make_loader(signals, config.crop, config.batch_size, workers=workers, seed=seed)
    batches = _forever(loader)
    pool_ids = trainer.pool.ids

    def loader_step(step: int) -> torch.Tensor:
        v1, v2, index = next(batches)
        both = torch.cat(
            (v1.to(device, non_blocking=True), v2.to(device, non_blocking=True)), dim=0
        )
        ids = pool_ids[index.to(device, non_blocking=True)]
        return trainer.step_on_views(step, both, ids)[0]

    try:
        with bar(f"DataLoader ({workers} workers)", warmup + steps) as b:
            for step in range(first, first + warmup):
                loader_step(step)
                b.update(1)
            return _timed_steps(loader_step, first + warmup, steps, device, b)
    finally:
        batches.close()


def _augment_seconds(trainer: Any, n: int, device: torch.device, repeats: int) -> float:
    """Seconds (CUDA events) for the two 3KG views of ``n`` crops (the first records)."""
    x = trainer.pool.crops(
        torch.arange(n, device=device),
        torch.zeros(n, dtype=torch.int64, device=device),
        trainer.config.crop,
    )
    out = torch.empty((2 * n, *x.shape[1:]), dtype=x.dtype, device=device)
    generator = torch.Generator(device=device).manual_seed(trainer.config.seed)
    augment = trainer.augment

    def two_views() -> None:
        for half in (out[:n], out[n:]):
            if hasattr(augment, "apply"):  # the 3KG transforms write in place
                augment(x, generator, out=half)
            else:
                half.copy_(augment(x, generator))

    return _cuda_seconds(two_views, repeats)


def _gpu_extras(
    trainer: Any,
    first: int,
    steps: int,
    warmup: int,
    t_step: float,
    bar: Callable[[str, int], Any],
    device: torch.device,
) -> dict[str, float]:
    """Model-only step time, the views' cost by CUDA events, and the bf16 matmul rate."""
    # (c) the step on views made once: what the step costs without making its batch.
    both, ids = trainer.views(first)

    def model_step(step: int) -> torch.Tensor:
        return trainer.step_on_views(step, both, ids)[0]

    with bar("model only", warmup + steps) as b:
        for step in range(first, first + warmup):
            model_step(step)
            b.update(1)
        t_model = _timed_steps(model_step, first + warmup, steps, device, b) / steps

    # The two 3KG views of a batch alone (crops of the first records, same shapes).
    t_augment = _augment_seconds(trainer, ids.numel(), device, repeats=max(10, steps))
    return {
        "model_step_s": t_model,
        "batch_fraction": max(0.0, 1.0 - t_model / t_step),
        "augment_s": t_augment,
        "augment_fraction": t_augment / t_step,
        "matmul_tflops": matmul_tflops(device),
    }


def _load_text(r: dict[str, Any]) -> str:
    load = r.get("load_average") or [None, None]
    if load[0] is None or load[1] is None:
        return ""
    return f"; load average {load[0]:.2f} before, {load[1]:.2f} after"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def format_report(result: dict[str, Any]) -> str:
    """Readable lines of a :func:`bench_pipelines` result (what this script prints)."""
    r = result
    gpu = str(r["device"]).startswith("cuda")
    lines = [
        f"bench_pipeline: {r['model']} ({r['parameters']:,} parameters), "
        f"{r['batch_size']} ECGs x 2 views x 12 x {r['crop']} per step, {r['amp']}"
        + (", torch.compile" if r.get("compile") else ""),
        f"  device: {r['device']} ({r['device_name']}), {r['torch_threads']} torch thread(s), "
        f"{r['cpu_count']} CPU core(s); {r['records']} records at {r['fs']:g} Hz; "
        f"{r['steps']} timed steps after warm-up" + _load_text(r),
        f"  device-resident pipeline          : {r['device_pairs_per_s']:12,.1f} pairs/s "
        f"({1e3 * r['device_step_s']:9.1f} ms/step)",
        f"  DataLoader, per-sample NumPy 3KG  : {r['loader_pairs_per_s']:12,.1f} pairs/s "
        f"({1e3 * r['loader_step_s']:9.1f} ms/step, {r['workers']} worker process(es))",
        f"  ratio device-resident / DataLoader: {r['ratio']:12.2f}x",
    ]
    if gpu:
        lines.append(f"  GPU goal >= {GOAL_RATIO:g}x: {_verdict(r['ratio'] >= GOAL_RATIO)}")
    else:
        lines.append(
            f"  GPU goal >= {GOAL_RATIO:g}x: not applicable (CPU run; the ratio is reported)"
        )
    rate = (
        f"{r['achieved_tflops']:.2f} TFLOP/s"
        if r["achieved_tflops"] >= 1
        else f"{1e3 * r['achieved_tflops']:.2f} GFLOP/s"
    )
    lines.append(
        f"  model arithmetic: {r['forward_gflop_per_view']:.3f} GFLOP forward per view, "
        f"{rate} achieved (device-resident, 3 x forward x 2 views)"
    )
    if gpu:
        is_h100 = "H100" in str(r["device_name"])
        verdict = (
            _verdict(r["device_pairs_per_s"] >= GOAL_H100_PAIRS)
            if is_h100
            else "not applicable (not an H100)"
        )
        lines += [
            f"  H100 goal >= {GOAL_H100_PAIRS:,.0f} pairs/s: {verdict} "
            f"({r['device_pairs_per_s']:,.0f} pairs/s; the goal is for resnet18, 12 x 2500, "
            "bf16)",
            f"  model-only step (views made once) : {1e3 * r['model_step_s']:9.2f} ms; "
            f"making the batch (crop + views) is {r['batch_fraction']:.1%} of a step",
            f"  3KG augmentation, two views       : {1e3 * r['augment_s']:9.3f} ms "
            f"(CUDA events) = {r['augment_fraction']:.2%} of a step",
            f"  augmentation < {100 * GOAL_AUGMENT_FRACTION:g} % of a step: "
            f"{_verdict(r['augment_fraction'] < GOAL_AUGMENT_FRACTION)}",
            f"  bf16 matmul {MATMUL_SIZE}^3: {r['matmul_tflops']:.1f} TFLOP/s measured; "
            f"MFU {r['mfu']:.1%} of it",
        ]
        if r.get("peak_tflops"):
            lines.append(
                f"  MFU against the datasheet's {r['peak_tflops']:g} TFLOP/s: {r['mfu_peak']:.1%}"
            )
    else:
        lines += [
            f"  H100 goal >= {GOAL_H100_PAIRS:,.0f} pairs/s: not applicable (needs a GPU)",
            f"  augmentation < {100 * GOAL_AUGMENT_FRACTION:g} % of a step: "
            "not measured (GPU only, by CUDA events)",
        ]
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (for strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(result: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``result`` that :func:`json.dumps` writes as strict JSON."""
    return {k: _finite(v) for k, v in result.items()}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python benchmarks/bench_pipeline.py [--model resnet18] ...``."""
    import argparse
    import json
    from pathlib import Path

    from threekg_lite.models import PRESETS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(PRESETS), default="resnet18")
    p.add_argument("--batch-size", type=int, default=256, help="ECGs per step")
    p.add_argument("--crop", type=int, default=2500, help="crop, samples")
    p.add_argument("--fs", type=float, default=500.0, help="sampling rate, Hz")
    p.add_argument("--steps", type=int, default=20, help="timed steps of each")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before each timing")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: GPU if any)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--peak-tflops", type=float, default=None, help="datasheet bf16 TFLOP/s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", default=None, metavar="PATH", help="write the result as JSON")
    args = p.parse_args(argv)
    result = bench_pipelines(
        model=args.model,
        batch_size=args.batch_size,
        crop=args.crop,
        fs=args.fs,
        steps=args.steps,
        warmup=args.warmup,
        workers=args.workers,
        device=args.device,
        seed=args.seed,
        progress=not args.quiet,
        compile=args.compile,
        peak_tflops=args.peak_tflops,
    )
    print(format_report(result))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_json(result), indent=2, allow_nan=False) + "\n")
        print(f"result written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
