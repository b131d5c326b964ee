"""The ``threekg`` command: one subcommand per task, each a call of the package (e.g.
:func:`~threekg_lite.evaluate.protocol.run_evaluation`); the options of a config dataclass take
their type, default and choices from its fields (:func:`add_fields`, :func:`config_from`).

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
import dataclasses
import logging
import os
import shlex
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

from threekg_lite.runtime.errors import ThreeKGError


def _number(name: str, kind: type, ok: Callable[[Any], bool], problem: str) -> Callable:
    """An argparse type: ``kind(text)``, refused with ``problem`` unless ``ok``."""

    def parse(text: str) -> Any:
        value = kind(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{problem}, got {text}")
        return value

    parse.__name__ = name  # argparse names it in "invalid NAME value"
    return parse


_positive_int = _number("_positive_int", int, lambda v: v >= 1, "must be a positive integer")
_positive_float = _number("_positive_float", float, lambda v: v > 0, "must be > 0")
_fraction = _number("_fraction", float, lambda v: 0 < v <= 1, "fractions must be in (0, 1]")

DATA_DIR = "default: $THREEKG_DATA_DIR, else ~/.cache/threekg-lite"
SHARED: dict[str, dict[str, Any]] = {
    "--data-dir": dict(help=f"folder holding the databases in PhysioNet's layout ({DATA_DIR})"),
    "--fs": dict(type=_positive_float, default=100.0, help="sampling rate, Hz"),
    "--duration": dict(type=_positive_float, default=10.0, help="record seconds"),
    "--crop": dict(type=_positive_float, default=5.0, help="crop seconds"),
    "--n-synthetic": dict(type=_positive_int, default=2000, help="synthetic only"),
    "--device": dict(help="cpu, cuda, cuda:1 (default: GPU if any)"),
}
"""Options several subcommands share."""

# the config fields that are options of a subcommand (an option's dest is its field's name)
PRETRAIN_FIELDS = (
    *("batch_size", "augment", "model", "lr", "temperature", "positives", "crops_per_record"),
    *("views_per_crop", "optimizer", "amp", "compile", "checkpoint_every", "log_every", "seed"),
)
EVAL_FIELDS = ("fractions", "seeds", "mode", "epochs", "n_boot")
COMPARE_FIELDS = ("methods", "configurations", "pretrain_seeds", "supervised")


def add_fields(parser: Any, cls: type, fields: Sequence[str], **extra: dict[str, Any]) -> None:
    """One ``--field-name`` option per field of dataclass ``cls`` in ``fields``, its default
    the field's; an int must be >= 1 and a float > 0 (argparse types: a bad value exits with
    the usage), a bool is a flag, a tuple a list, a ``Literal`` gives the choices.
    ``extra``: field -> ``add_argument`` keywords over these (help, choices, default)."""
    hints, factory = typing.get_type_hints(cls), dataclasses.MISSING
    known = {f.name: f for f in dataclasses.fields(cls)}
    for f in (known[name] for name in fields):  # a KeyError names a field cls does not have
        default = f.default if f.default_factory is factory else f.default_factory()
        kw: dict[str, Any] = {"default": default}
        if isinstance(default, bool):
            kw["action"] = "store_true"
        elif isinstance(default, tuple):
            kw.update(nargs="+", default=list(default))
        elif isinstance(default, (int, float)):
            kw["type"] = _positive_int if isinstance(default, int) else _positive_float
        if typing.get_origin(hints[f.name]) is typing.Literal:
            kw["choices"] = typing.get_args(hints[f.name])
        parser.add_argument("--" + f.name.replace("_", "-"), **{**kw, **extra.get(f.name, {})})


def config_from(cls: type, args: argparse.Namespace, fields: Sequence[str], **values: Any):
    """``cls`` built from the options of ``fields`` (lists as tuples), ``values`` over them."""
    given = {n: tuple(v) if isinstance(v, list) else v for n in fields for v in [getattr(args, n)]}
    return cls(**{**given, **values})


def _pick(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names}


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``threekg``: one subparser per subcommand, its ``run`` set to carry it out."""
    from threekg_lite.data.preprocess import INPUT_NORMS
    from threekg_lite.evaluate.experiment import CONFIGURATIONS, METHODS, ComparisonConfig
    from threekg_lite.evaluate.protocol import EvalConfig
    from threekg_lite.models import PRESETS
    from threekg_lite.pretrain import AUGMENTATIONS, PretrainConfig

    desc = "3KG contrastive learning of 12-lead ECGs."
    parser = argparse.ArgumentParser(prog="threekg", description=desc)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    common = argparse.ArgumentParser(add_help=False)  # -q after the command too; SUPPRESS
    # keeps a -q given before the command from being reset by the subcommand's default
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable, help: str, *shared: str, **kw: Any) -> Any:
        """A subcommand ``name`` that ``run(args)`` carries out, with the ``shared`` options."""
        p = sub.add_parser(name, help=help, parents=[common], **kw)
        p.set_defaults(run=run)
        for flag in shared:
            p.add_argument(flag, **SHARED[flag])
        return p

    command("info", _cmd_info, "list the databases found in the data directory", "--data-dir")

    what = "download a PhysioNet database (or part of it), verified by SHA-256"
    dl = command("download", _cmd_download, what, "--data-dir")
    dl.add_argument(
        "database",
        choices=["teaching", "ptbxl", "ludb", "ptbdb", "cinc2021", "cinc2020"],
        help="teaching: the records the book's chapters read (threekg_lite.data.teaching)",
    )
    dl.add_argument("--records", nargs="+", help="record names or paths to fetch (default all)")
    dl.add_argument("--n-records", type=int, help="the first N records (PTB-XL: ecg_id 1..N)")
    dl.add_argument("--rate", type=int, choices=[100, 500], help="PTB-XL: one sampling rate only")
    dl.add_argument("--base-url", help="mirror of https://physionet.org/files/")
    dl.add_argument("--workers", type=_positive_int, help="files fetched at once")

    what = "convert a database once into one array + metadata table for training"
    prep = command("prepare", _cmd_prepare, what, "--data-dir")
    prep.add_argument("database", choices=["ptbxl", "cinc", "ludb", "ptbdb", "synthetic"])
    prep.add_argument("--out", help="output folder (default in the cache)")
    prep.add_argument("--fs", type=float, help="sampling rate in Hz")
    prep.add_argument("--duration", type=float, help="seconds per record")
    prep.add_argument("--dtype", choices=["float32", "int16"], default="float32")
    prep.add_argument("--overwrite", action="store_true", help="replace an existing output")
    prep.add_argument("--n", type=int, help="synthetic only: number of records")
    prep.add_argument("--seed", type=int, help="synthetic only: random seed")

    pre = command(
        "pretrain",
        _cmd_pretrain,
        "contrastive pretraining (3KG or another augmentation set); resumes a run whose "
        "output folder holds a checkpoint",
        *SHARED,
        description="Contrastive pretraining with the data, the views and the model on one "
        "device. Several GPUs: torchrun --nproc-per-node N -m threekg_lite.cli pretrain ...",
    )
    pre.add_argument(
        "source",
        help="synthetic, ptbxl, cinc, ludb, pool (every database found, joined) or the path "
        "of a folder written by `threekg prepare`",
    )
    pre.add_argument("--out", required=True, help="output folder (checkpoint + metrics)")
    length = pre.add_mutually_exclusive_group()
    add_fields(length, PretrainConfig, ["steps"], steps=dict(help="optimisation steps in all"))
    length.add_argument("--epochs", type=_positive_float, help="passes over the records")
    windows = "non-overlapping windows per record per step (2: positives from different times)"
    add_fields(
        pre,
        PretrainConfig,
        PRETRAIN_FIELDS,
        batch_size=dict(help="ECGs per step"),
        augment=dict(choices=AUGMENTATIONS),
        model=dict(choices=sorted(PRESETS)),
        crops_per_record=dict(help=windows),
        views_per_crop=dict(type=int, choices=[1, 2]),
        compile=dict(help="torch.compile the model"),
        seed=dict(type=int),
    )
    norm = "range: each record divided by its max - min over all leads (the 3KG base code)"
    pre.add_argument("--input-norm", choices=INPUT_NORMS, default="none", help=norm)
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

    ev = command(
        "evaluate",
        _cmd_evaluate,
        "label-efficiency evaluation: AUROC of linear probes (or fine-tuning) trained on "
        "1 %%, 5 %%, 10 %%, 100 %% of the labels, several seeds, with bootstrap intervals",
        *SHARED,
        description="Evaluate encoders with few labels on patient-disjoint splits (PTB-XL: "
        "strat_fold 1-8 / 9 / 10). Each --method is NAME=SPEC with SPEC a checkpoint file or "
        "run folder, 'random' (random-initialised encoder) or 'supervised' (trained from "
        "scratch on the labelled subset).",
    )
    ev.add_argument("source", help="ptbxl, cinc, ludb, synthetic or a prepared folder")
    ev.add_argument(
        "--method",
        action="append",
        metavar="NAME=SPEC",
        help="what to evaluate (repeatable); default with --checkpoint: that checkpoint, "
        "'random' and 'supervised'",
    )
    ev.add_argument("--checkpoint", help="shorthand for --method pretrained=PATH")
    ev.add_argument("--task", help="label task (default: superclass, scored, rhythm, diagnosis)")
    fractions, epochs = dict(type=_fraction), dict(help="fine-tuning epochs")
    add_fields(ev, EvalConfig, EVAL_FIELDS, fractions=fractions, epochs=epochs)
    models = sorted(PRESETS)
    ev.add_argument("--model", choices=models, default="tiny", help="for random/supervised")
    ev.add_argument("--split-seed", type=int, default=0, help="non-PTB-XL patient split seed")
    ev.add_argument("--out", required=True, help="results JSON file (the plot goes beside it)")

    cmp = command(
        "compare",
        _cmd_compare,
        "the deciding comparison on PTB-XL: every method x configuration, several "
        "pretraining seeds, configurations chosen on fold 9, paired differences on fold 10",
        *("--data-dir", "--fs", "--crop", "--device"),
        description="Pretrain every (method, configuration, seed) on the pool without PTB-XL's "
        "test fold, choose each method's configuration on the validation fold (9), score all "
        "on the test fold (10) and write a reference JSON (rows, paired differences, command, "
        "git commit, hardware, wall time).",
    )
    cmp.add_argument("--out", required=True, help="reference JSON, e.g. book/results/NAME.json")
    add_fields(
        cmp,
        ComparisonConfig,
        COMPARE_FIELDS,
        methods=dict(choices=list(METHODS)),
        configurations=dict(choices=list(CONFIGURATIONS)),
        supervised=dict(help="also train from scratch on all labels"),
    )
    add_fields(
        cmp,
        PretrainConfig,
        ["steps", "batch_size", "model"],
        steps=dict(default=300, help="pretraining steps"),
        batch_size=dict(default=64),
        model=dict(choices=models, default="tiny"),
    )
    n_boot = dict(default=1000)
    add_fields(cmp, EvalConfig, ["fractions", "n_boot"], fractions=fractions, n_boot=n_boot)
    cmp.add_argument("--label-seeds", type=_positive_int, default=EvalConfig.seeds)
    cmp.add_argument("--threads", type=_positive_int, help="torch CPU threads")
    return parser


def _cmd_info(args: argparse.Namespace) -> None:
    from threekg_lite.data import paths

    root = paths.data_dir(args.data_dir)
    print(f"data directory: {root}")
    found = paths.available_databases(root)
    for key in paths.DATABASE_FOLDERS:
        if key not in found:
            print(f"  {key:6s} not found")
            continue
        n = sum(1 for _ in found[key].rglob("*.hea"))
        print(f"  {key:6s} {found[key]}  ({n} WFDB headers)")
    if not found:
        print(paths.HOW_TO_GET_DATA)


def _cmd_download(args: argparse.Namespace) -> None:
    from threekg_lite.data.download import DEFAULT_WORKERS, PHYSIONET_URL, download_database
    from threekg_lite.data.teaching import download_teaching_set

    kw = dict(progress=not args.quiet, workers=args.workers or DEFAULT_WORKERS)
    if args.database == "teaching":
        if args.records or args.n_records or args.rate:
            raise ValueError("--records, --n-records and --rate do not apply to the teaching set")
        folder = download_teaching_set(args.data_dir, base_url=args.base_url, **kw)
    else:
        kw.update(_pick(args, "records", "n_records", "rate"))
        base_url = args.base_url or PHYSIONET_URL
        folder = download_database(args.database, args.data_dir, base_url=base_url, **kw)
    print(f"{args.database}: {folder}")


def _cmd_prepare(args: argparse.Namespace) -> None:
    from threekg_lite.data.prepare import prepare_database

    synthetic = args.database == "synthetic"
    if not synthetic and (args.n is not None or args.seed is not None):
        raise ValueError("--n and --seed apply to synthetic data only")
    kw = {k: v for k, v in _pick(args, "fs", "duration").items() if v is not None}
    if synthetic:
        kw.update(n=1000 if args.n is None else args.n, seed=args.seed or 0)
    else:
        kw.update(progress=not args.quiet, data_dir=args.data_dir)
    path = prepare_database(args.database, args.out, **_pick(args, "dtype", "overwrite"), **kw)
    print(f"prepared: {path}")


def _cmd_pretrain(args: argparse.Namespace) -> None:
    from threekg_lite.data.sources import load_source
    from threekg_lite.models import PRESETS
    from threekg_lite.pretrain import PretrainConfig
    from threekg_lite.runtime.distributed import cleanup
    from threekg_lite.training import Pretrainer

    load = _pick(args, "data_dir", "fs", "duration", "n_synthetic", "seed")
    folds = tuple(args.exclude_folds)
    records = load_source(args.source, exclude_folds=folds, progress=not args.quiet, **load)
    crop = round(args.crop * records.fs)
    steps = args.steps
    if args.epochs is not None:
        steps = max(1, round(args.epochs * (len(records) // max(1, args.batch_size))))
    model = args.model
    if args.input_norm != "none":
        model = {**PRESETS[args.model], "input_norm": args.input_norm}
    config = config_from(PretrainConfig, args, PRETRAIN_FIELDS, steps=steps, crop=crop, model=model)
    first = os.environ.get("RANK", "0") == "0"  # the first of several torchrun processes
    if first:
        print(
            f"pretraining on {len(records)} records ({records.source}, {records.fs:g} Hz), "
            f"crops of {crop} samples, {steps} steps of {args.batch_size} -> {args.out}"
        )
    try:
        kw = dict(out_dir=args.out, device=args.device, progress=not args.quiet)
        result = Pretrainer(records, config, **kw).run()
    finally:
        cleanup()
    if first:
        print(result.summary())


def _cmd_evaluate(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")  # the plot is only written to a file
    from threekg_lite.evaluate.protocol import EvalConfig, parse_methods, run_evaluation

    methods = parse_methods(args.method, args.checkpoint)  # before any loading: fails fast
    config = config_from(EvalConfig, args, EVAL_FIELDS)
    kw = _pick(args, "task", "model", "data_dir", "fs", "duration", "n_synthetic", "split_seed")
    kw.update(crop_s=args.crop, device=args.device, progress=not args.quiet)
    run_evaluation(args.source, methods, args.out, config, **kw)


def _cmd_compare(args: argparse.Namespace) -> None:
    from threekg_lite.evaluate.experiment import ComparisonConfig, run_reference
    from threekg_lite.evaluate.protocol import EvalConfig
    from threekg_lite.pretrain import PretrainConfig

    crop, steps = round(args.crop * args.fs), args.steps
    fields = ("steps", "batch_size", "model")
    pretrain = config_from(PretrainConfig, args, fields, crop=crop, log_every=max(1, steps // 10))
    fields = ("fractions", "n_boot")
    evaluation = config_from(EvalConfig, args, fields, seeds=args.label_seeds, crop=crop)
    small = tuple(f for f in args.fractions if f < 1) or tuple(args.fractions)
    kw = dict(pretrain=pretrain, evaluation=evaluation, select_fractions=small)
    config = config_from(ComparisonConfig, args, COMPARE_FIELDS, **kw)
    command = "threekg " + " ".join(shlex.quote(a) for a in args.argv_)
    kw = _pick(args, "data_dir", "fs", "threads", "device")
    run_reference(config, args.out, command, progress=not args.quiet, **kw)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``threekg`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv_ = argv  # as typed, for the record a reference file keeps
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        args.run(args)
    except (ThreeKGError, FileExistsError, ValueError) as e:
        print(f"threekg {args.command}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
