"""The ``threekg`` command: one entry point, one subcommand per task.

Examples::

    threekg info --data-dir ../shared/data
    threekg download ptbxl --n-records 500 --rate 100 --data-dir ~/ecg
    threekg prepare ptbxl --fs 100 --data-dir ~/ecg --out ~/ecg/prepared/ptbxl-100
    threekg prepare synthetic --n 2000 --seed 0 --out /tmp/synthetic
    threekg pretrain pool --data-dir ../shared/data --fs 100 --crop 5 --model tiny \
        --steps 200 --batch-size 64 --out runs/tiny
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from threekg_lite.runtime.errors import ThreeKGError


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder holding the databases in PhysioNet's layout (default: $THREEKG_DATA_DIR, "
        "else ~/.cache/threekg-lite)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threekg", description="3KG contrastive learning of 12-lead ECGs."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser(
        "info", help="list the databases found in the data directory", parents=[common]
    )
    _add_data_dir(info)

    dl = sub.add_parser(
        "download",
        help="download a PhysioNet database (or part of it), verified by SHA-256",
        parents=[common],
    )
    dl.add_argument(
        "database",
        choices=["teaching", "ptbxl", "ludb", "ptbdb", "cinc2021", "cinc2020"],
        help="teaching: the records the book's chapters read (threekg_lite.data.teaching)",
    )
    _add_data_dir(dl)
    dl.add_argument("--records", nargs="+", help="record names or paths to fetch (default all)")
    dl.add_argument("--n-records", type=int, help="the first N records (PTB-XL: ecg_id 1..N)")
    dl.add_argument("--rate", type=int, choices=[100, 500], help="PTB-XL: one sampling rate only")
    dl.add_argument("--base-url", default=None, help="mirror of https://physionet.org/files/")
    dl.add_argument("--workers", type=_positive_int, default=None, help="files fetched at once")

    prep = sub.add_parser(
        "prepare",
        help="convert a database once into one array + metadata table for training",
        parents=[common],
    )
    prep.add_argument("database", choices=["ptbxl", "cinc", "ludb", "ptbdb", "synthetic"])
    _add_data_dir(prep)
    prep.add_argument("--out", default=None, help="output folder (default in the cache)")
    prep.add_argument("--fs", type=float, default=None, help="sampling rate in Hz")
    prep.add_argument("--duration", type=float, default=None, help="seconds per record")
    prep.add_argument("--dtype", choices=["float32", "int16"], default="float32")
    prep.add_argument("--overwrite", action="store_true", help="replace an existing output")
    prep.add_argument("--n", type=int, default=None, help="synthetic only: number of records")
    prep.add_argument("--seed", type=int, default=None, help="synthetic only: random seed")
    _add_pretrain(sub, common)
    _add_evaluate(sub, common)
    _add_compare(sub, common)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _add_pretrain(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from threekg_lite.data.preprocess import INPUT_NORMS
    from threekg_lite.models import PRESETS
    from threekg_lite.pretrain import AUGMENTATIONS, PretrainConfig
    from threekg_lite.runtime.precision import AMP_MODES

    pre = sub.add_parser(
        "pretrain",
        help="contrastive pretraining (3KG or another augmentation set); resumes a run "
        "whose output folder holds a checkpoint",
        parents=[common],
        description="Contrastive pretraining with the data, the views and the model on one "
        "device. Several GPUs: torchrun --nproc-per-node N -m threekg_lite.cli pretrain ...",
    )
    pre.add_argument(
        "source",
        help="synthetic, ptbxl, cinc, ludb, pool (every database found, joined) or the path "
        "of a folder written by `threekg prepare`",
    )
    _add_data_dir(pre)
    pre.add_argument("--out", required=True, help="output folder (checkpoint + metrics)")
    pre.add_argument("--fs", type=_positive_float, default=100.0, help="sampling rate, Hz")
    pre.add_argument("--duration", type=_positive_float, default=10.0, help="record seconds")
    pre.add_argument("--crop", type=_positive_float, default=5.0, help="crop seconds")
    length = pre.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_positive_int, help="optimisation steps in all")
    length.add_argument("--epochs", type=_positive_float, help="passes over the records")
    pre.add_argument("--batch-size", type=_positive_int, default=256, help="ECGs per step")
    pre.add_argument("--augment", choices=AUGMENTATIONS, default="3kg")
    pre.add_argument("--model", choices=sorted(PRESETS), default="resnet18")
    pre.add_argument("--lr", type=_positive_float, default=1e-3)
    pre.add_argument("--temperature", type=_positive_float, default=0.1)
    pre.add_argument("--positives", choices=["instance", "record", "patient"], default="record")
    pre.add_argument(
        "--crops-per-record",
        type=_positive_int,
        default=PretrainConfig.crops_per_record,
        help="non-overlapping windows per record per step (2: positives from different times)",
    )
    pre.add_argument(
        "--views-per-crop", type=int, choices=[1, 2], default=PretrainConfig.views_per_crop
    )
    pre.add_argument("--optimizer", choices=["adamw", "adam"], default=PretrainConfig.optimizer)
    pre.add_argument(
        "--input-norm",
        choices=INPUT_NORMS,
        default="none",
        help="range: each record divided by its max - min over all leads (the 3KG base code)",
    )
    pre.add_argument("--amp", choices=AMP_MODES, default=PretrainConfig.amp)
    pre.add_argument("--compile", action="store_true", help="torch.compile the model")
    pre.add_argument("--checkpoint-every", type=_positive_int, default=500)
    pre.add_argument("--log-every", type=_positive_int, default=10)
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--n-synthetic", type=_positive_int, default=2000, help="synthetic only")
    pre.add_argument(
        "--exclude-folds",
        type=int,
        nargs="*",
        choices=range(1, 11),
        default=[10],
        metavar="FOLD",
        help="PTB-XL strat_fold values never pretrained on, with their CinC copies (default: "
        "10, the benchmark's test fold; give no value to keep every record)",
    )
    pre.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: GPU if any)")


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from threekg_lite.data.sources import load_source
    from threekg_lite.models import PRESETS
    from threekg_lite.pretrain import PretrainConfig
    from threekg_lite.runtime.distributed import cleanup
    from threekg_lite.training import Pretrainer

    records = load_source(
        args.source,
        data_dir=args.data_dir,
        fs=args.fs,
        duration=args.duration,
        n_synthetic=args.n_synthetic,
        seed=args.seed,
        exclude_folds=tuple(args.exclude_folds),
        progress=not args.quiet,
    )
    crop = round(args.crop * records.fs)
    if args.epochs is not None:
        steps = max(1, round(args.epochs * (len(records) // max(1, args.batch_size))))
    else:
        steps = args.steps or 1000
    config = PretrainConfig(
        steps=steps,
        batch_size=args.batch_size,
        crop=crop,
        augment=args.augment,
        model=args.model
        if args.input_norm == "none"
        else {**PRESETS[args.model], "input_norm": args.input_norm},
        lr=args.lr,
        temperature=args.temperature,
        positives=args.positives,
        crops_per_record=args.crops_per_record,
        views_per_crop=args.views_per_crop,
        optimizer=args.optimizer,
        amp=args.amp,
        compile=args.compile,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
        seed=args.seed,
    )
    first = os.environ.get("RANK", "0") == "0"  # the first of several torchrun processes
    if first:
        print(
            f"pretraining on {len(records)} records ({records.source}, {records.fs:g} Hz), "
            f"crops of {crop} samples, {steps} steps of {args.batch_size} -> {args.out}"
        )
    try:
        trainer = Pretrainer(
            records, config, out_dir=args.out, device=args.device, progress=not args.quiet
        )
        result = trainer.run()
    finally:
        cleanup()
    if first:
        print(result.summary())
    return 0


DEFAULT_TASKS = {
    "ptbxl": "superclass",
    "cinc": "scored",
    "ludb": "rhythm",
    "synthetic": "diagnosis",
}


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"fractions must be in (0, 1], got {text}")
    return value


def _add_evaluate(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from threekg_lite.models import PRESETS

    ev = sub.add_parser(
        "evaluate",
        help="label-efficiency evaluation: AUROC of linear probes (or fine-tuning) trained on "
        "1 %%, 5 %%, 10 %%, 100 %% of the labels, several seeds, with bootstrap intervals",
        parents=[common],
        description="Evaluate encoders with few labels on patient-disjoint splits (PTB-XL: "
        "strat_fold 1-8 / 9 / 10). Each --method is NAME=SPEC with SPEC a checkpoint file or "
        "run folder, 'random' (random-initialised encoder) or 'supervised' (trained from "
        "scratch on the labelled subset).",
    )
    ev.add_argument("source", help="ptbxl, cinc, ludb, synthetic or a prepared folder")
    _add_data_dir(ev)
    ev.add_argument(
        "--method",
        action="append",
        metavar="NAME=SPEC",
        help="what to evaluate (repeatable); default with --checkpoint: that checkpoint, "
        "'random' and 'supervised'",
    )
    ev.add_argument("--checkpoint", help="shorthand for --method pretrained=PATH")
    ev.add_argument("--task", help="label task (default: superclass, scored, rhythm, diagnosis)")
    ev.add_argument("--fractions", type=_fraction, nargs="+", default=[0.01, 0.05, 0.1, 1.0])
    ev.add_argument("--seeds", type=_positive_int, default=5)
    ev.add_argument("--mode", choices=["linear", "finetune"], default="linear")
    ev.add_argument("--fs", type=_positive_float, default=100.0, help="sampling rate, Hz")
    ev.add_argument("--duration", type=_positive_float, default=10.0, help="record seconds")
    ev.add_argument("--crop", type=_positive_float, default=5.0, help="input seconds")
    ev.add_argument("--epochs", type=_positive_int, default=20, help="fine-tuning epochs")
    ev.add_argument(
        "--model", choices=sorted(PRESETS), default="tiny", help="for random/supervised"
    )
    ev.add_argument("--n-boot", type=_positive_int, default=200)
    ev.add_argument("--n-synthetic", type=_positive_int, default=2000, help="synthetic only")
    ev.add_argument("--split-seed", type=int, default=0, help="non-PTB-XL patient split seed")
    ev.add_argument("--out", required=True, help="results JSON file (the plot goes beside it)")
    ev.add_argument("--device", default=None)


def _parse_methods(args: argparse.Namespace) -> dict[str, str]:
    specs = list(args.method or [])
    if args.checkpoint:
        specs.insert(0, f"pretrained={args.checkpoint}")
        if not args.method:
            specs += ["random=random", "supervised=supervised"]
    if not specs:
        raise ValueError("nothing to evaluate: give --checkpoint PATH or --method NAME=SPEC")
    methods: dict[str, str] = {}
    for spec in specs:
        name, sep, what = spec.partition("=")
        if not sep or not name or not what:
            raise ValueError(f"--method needs NAME=SPEC, got {spec!r}")
        if name in methods:
            raise ValueError(f"method name {name!r} given twice")
        methods[name] = what
    return methods


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from threekg_lite.data.prepare import load_database
    from threekg_lite.data.splits import patient_split, ptbxl_split
    from threekg_lite.evaluate.downstream import encoder_from
    from threekg_lite.evaluate.protocol import (
        EvalConfig,
        evaluate,
        plot_label_efficiency,
        save_results,
        summarise,
    )

    methods = _parse_methods(args)  # before any loading: bad arguments fail fast
    task = args.task or DEFAULT_TASKS.get(args.source)
    if task is None:
        raise ValueError(f"give --task for source {args.source!r}")
    built: dict[str, object] = {}  # checkpoints read before the data: a bad path fails fast
    for name, spec in methods.items():
        if spec == "supervised":
            built[name] = ("supervised", args.model)
        else:
            built[name] = encoder_from(spec, seed=0, config=args.model)
    if args.source in DEFAULT_TASKS:
        kwargs: dict[str, object] = dict(fs=args.fs, duration=args.duration)
        if args.source == "synthetic":
            kwargs.update(n=args.n_synthetic, seed=args.split_seed)
        else:
            kwargs["progress"] = not args.quiet
        records = load_database(
            args.source, data_dir=None if args.source == "synthetic" else args.data_dir, **kwargs
        )
    else:
        from threekg_lite.data.prepare import load_prepared

        records = load_prepared(args.source)
    if task not in records.labels:
        raise ValueError(
            f"no label task {task!r} in {args.source}; it has {sorted(records.labels)}"
        )
    if "strat_fold" in records.meta:
        split = ptbxl_split(records)
    else:
        split = patient_split(records, seed=args.split_seed, task=task)
    config = EvalConfig(
        fractions=tuple(args.fractions),
        seeds=args.seeds,
        mode=args.mode,
        crop=round(args.crop * records.fs),
        epochs=args.epochs,
        n_boot=args.n_boot,
    )
    rows = evaluate(
        built, records, split, task, config, device=args.device, progress=not args.quiet
    )
    meta = {
        "source": args.source,
        "task": task,
        "classes": list(records.labels[task].names),
        "records": len(records),
        "fs": records.fs,
        "split": split.description,
        "sizes": {k: int(v) for k, v in split.sizes().items()},
        "methods": methods,
    }
    out = save_results(args.out, rows, config, meta)
    plot = Path(out).with_suffix(".png")
    fig = plot_label_efficiency(rows, title=f"{args.source}, {task}: {split.description}")
    fig.savefig(plot, dpi=150)
    plt.close(fig)
    print(summarise(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"results: {out}\nplot: {plot}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from threekg_lite.data.paths import DATABASE_FOLDERS, data_dir, database_dir

    root = data_dir(args.data_dir)
    print(f"data directory: {root}")
    found = 0
    for key in DATABASE_FOLDERS:
        try:
            folder = database_dir(key, root)
        except ThreeKGError:
            print(f"  {key:6s} not found")
            continue
        n = sum(1 for _ in folder.rglob("*.hea"))
        print(f"  {key:6s} {folder}  ({n} WFDB headers)")
        found += 1
    if not found:
        from threekg_lite.data.paths import HOW_TO_GET_DATA

        print(HOW_TO_GET_DATA)
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from threekg_lite.data.download import DEFAULT_WORKERS, PHYSIONET_URL, download_database
    from threekg_lite.data.teaching import download_teaching_set

    workers = args.workers or DEFAULT_WORKERS
    if args.database == "teaching":
        if args.records or args.n_records or args.rate:
            raise ValueError("--records, --n-records and --rate do not apply to the teaching set")
        folder = download_teaching_set(
            args.data_dir, base_url=args.base_url, progress=not args.quiet, workers=workers
        )
    else:
        folder = download_database(
            args.database,
            args.data_dir,
            records=args.records,
            n_records=args.n_records,
            rate=args.rate,
            base_url=args.base_url or PHYSIONET_URL,
            progress=not args.quiet,
            workers=workers,
        )
    print(f"{args.database}: {folder}")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from threekg_lite.data.prepare import prepare_database

    kwargs: dict[str, object] = {}
    if args.database != "synthetic" and (args.n is not None or args.seed is not None):
        raise ValueError("--n and --seed apply to synthetic data only")
    if args.database == "synthetic":
        kwargs.update(n=1000 if args.n is None else args.n, seed=args.seed or 0)
        if args.fs is not None:
            kwargs["fs"] = args.fs
        if args.duration is not None:
            kwargs["duration"] = args.duration
    else:
        kwargs["progress"] = not args.quiet
        if args.fs is not None:
            kwargs["fs"] = args.fs
        if args.duration is not None:
            kwargs["duration"] = args.duration
    path = prepare_database(
        args.database,
        args.out,
        data_dir=None if args.database == "synthetic" else args.data_dir,
        dtype=args.dtype,
        overwrite=args.overwrite,
        **kwargs,
    )
    print(f"prepared: {path}")
    return 0


def _add_compare(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from threekg_lite.evaluate.experiment import CONFIGURATIONS, METHODS
    from threekg_lite.models import PRESETS

    cmp = sub.add_parser(
        "compare",
        help="the deciding comparison on PTB-XL: every method x configuration, several "
        "pretraining seeds, configurations chosen on fold 9, paired differences on fold 10",
        parents=[common],
        description="Pretrain every (method, configuration, seed) on the pool without PTB-XL's "
        "test fold, choose each method's configuration on the validation fold (9), score all "
        "on the test fold (10) and write a reference JSON (rows, paired differences, command, "
        "git commit, hardware, wall time).",
    )
    _add_data_dir(cmp)
    cmp.add_argument("--out", required=True, help="reference JSON, e.g. book/results/NAME.json")
    cmp.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    cmp.add_argument(
        "--configurations",
        nargs="+",
        choices=list(CONFIGURATIONS),
        default=["same-crop", "cross-crop"],
    )
    cmp.add_argument("--pretrain-seeds", type=_positive_int, default=3)
    cmp.add_argument("--steps", type=_positive_int, default=300, help="pretraining steps")
    cmp.add_argument("--batch-size", type=_positive_int, default=64)
    cmp.add_argument("--model", choices=sorted(PRESETS), default="tiny")
    cmp.add_argument("--fs", type=_positive_float, default=100.0, help="sampling rate, Hz")
    cmp.add_argument("--crop", type=_positive_float, default=5.0, help="crop seconds")
    cmp.add_argument("--fractions", type=_fraction, nargs="+", default=[0.01, 0.05, 0.1, 1.0])
    cmp.add_argument("--label-seeds", type=_positive_int, default=5)
    cmp.add_argument("--n-boot", type=_positive_int, default=1000)
    cmp.add_argument(
        "--supervised", action="store_true", help="also train from scratch on all labels"
    )
    cmp.add_argument("--threads", type=_positive_int, default=None, help="torch CPU threads")
    cmp.add_argument("--device", default=None)


def _cmd_compare(args: argparse.Namespace) -> int:
    import shlex
    import time

    import torch

    from threekg_lite.data import load_ptbxl
    from threekg_lite.data.sources import load_source
    from threekg_lite.data.splits import ptbxl_split
    from threekg_lite.evaluate.experiment import (
        ComparisonConfig,
        git_sha,
        reference_payload,
        run_comparison,
        save_reference,
    )
    from threekg_lite.evaluate.protocol import EvalConfig
    from threekg_lite.pretrain import PretrainConfig

    start = time.perf_counter()
    sha = git_sha()  # the code this run starts from, whatever is committed while it runs
    if args.threads:
        torch.set_num_threads(args.threads)
    crop = round(args.crop * args.fs)
    config = ComparisonConfig(
        methods=tuple(args.methods),
        configurations=tuple(args.configurations),
        pretrain_seeds=args.pretrain_seeds,
        pretrain=PretrainConfig(
            steps=args.steps,
            batch_size=args.batch_size,
            crop=crop,
            model=args.model,
            log_every=max(1, args.steps // 10),
        ),
        evaluation=EvalConfig(
            fractions=tuple(args.fractions), seeds=args.label_seeds, crop=crop, n_boot=args.n_boot
        ),
        select_fractions=tuple(f for f in args.fractions if f < 1) or tuple(args.fractions),
        supervised=args.supervised,
    )
    load = dict(data_dir=args.data_dir, fs=args.fs, bandpass=(0.5, 40.0), progress=False)
    pool = load_source("pool", duration=10.0, **load)
    records = load_ptbxl(**load)
    split = ptbxl_split(records)
    result = run_comparison(pool, records, split, "superclass", config, args.device, not args.quiet)
    data = {
        "labelled": "PTB-XL superclasses",
        "records": len(records),
        "fs": records.fs,
        "folds": split.description,
        "sizes": {k: int(v) for k, v in split.sizes().items()},
        "pool": {"records": len(pool), "source": pool.source},
    }
    command = "threekg " + " ".join(shlex.quote(a) for a in args.argv_)
    payload = reference_payload(result, command, time.perf_counter() - start, data, sha)
    out = save_reference(args.out, payload)
    print(f"chosen on the validation fold: {result['selected']}")
    for p in result["paired"]:
        print(
            f"{p['method']:>38s} - {p['baseline']:<28s} {p['fraction']:>5.0%}: "
            f"{p['diff']:+.3f} [{p['ci_low']:+.3f}, {p['ci_high']:+.3f}]"
        )
    print(f"reference: {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``threekg`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv_ = argv  # as typed, for the record a reference file keeps
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    commands = {
        "info": _cmd_info,
        "download": _cmd_download,
        "prepare": _cmd_prepare,
        "pretrain": _cmd_pretrain,
        "evaluate": _cmd_evaluate,
        "compare": _cmd_compare,
    }
    try:
        return commands[args.command](args)
    except (ThreeKGError, FileExistsError, ValueError) as e:
        print(f"threekg {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
