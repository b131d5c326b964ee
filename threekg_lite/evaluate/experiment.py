"""The comparison that decides (:func:`run_comparison`; ``threekg compare``: :func:`run_reference`,
a reference file ``book/results/<name>.json`` read by the tables and :func:`plot_comparison`). It
pretrains every (augmentation, configuration, pretraining seed) on a pool that never holds the test
fold, chooses each augmentation's configuration on the *validation* fold
(:func:`choose_on_validation` never sees the test records) and compares on the *test* fold with the
protocol of :mod:`~threekg_lite.evaluate.protocol`. Configurations (:data:`CONFIGURATIONS`) are the
choices on which the 3KG base code and this package differ: two views of one crop (``"same-crop"``)
or one view of each of two different 5-s windows of the record (``"cross-crop"``), the encoder's
layout, the input scaling, the optimiser, the batch size."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from threekg_lite.evaluate.protocol import (
    EvalConfig,
    PathLike,
    Rows,
    evaluate,
    finite_or_null,
    method_style,
    read_json,
    validation_split,
    write_json,
)
from threekg_lite.models import PRESETS
from threekg_lite.pretrain import PretrainConfig
from threekg_lite.runtime.checks import check_int

CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "same-crop": {"crops_per_record": 1, "views_per_crop": 2},
    "cross-crop": {"crops_per_record": 2, "views_per_crop": 1},
    "cross-crop lead-wise": {"crops_per_record": 2, "views_per_crop": 1, "layout": "lead-wise"},
    "cross-crop range-norm": {"crops_per_record": 2, "views_per_crop": 1, "input_norm": "range"},
    "cross-crop adam": {"crops_per_record": 2, "views_per_crop": 1, "optimizer": "adam"},
    "cross-crop batch-256": {"crops_per_record": 2, "views_per_crop": 1, "batch_size": 256},
}
"""Named pretraining configurations: :class:`~threekg_lite.pretrain.PretrainConfig` fields
(and model config keys, :data:`MODEL_KEYS`) that differ from the run's base config."""

MODEL_KEYS = ("layout", "input_norm")
"""Configuration keys of the model config (:func:`~threekg_lite.models.build_model`)."""

METHODS: dict[str, str] = {
    "SimCLR (generic)": "generic",
    "3KG": "3kg",
    "3KG spatial only": "3kg-spatial",
    "3KG temporal only": "3kg-temporal",
}
"""Display name -> augmentation set of :func:`threekg_lite.baselines.make_augmentation`."""

RANDOM = "random encoder"
"""The name of the randomly initialised baseline."""

SUPERVISED = "supervised (scratch)"
"""The name of the supervised baseline: the same network trained from scratch on all labels."""


@dataclass(frozen=True)
class ComparisonConfig:
    """What :func:`run_comparison` runs: ``methods`` (of :data:`METHODS`), each with every
    one of ``configurations`` (of :data:`CONFIGURATIONS`), ``pretrain_seeds`` encoders each
    (and as many random encoders); ``pretrain``: the base config, whose fields each
    configuration and seed replace; ``evaluation``: fractions, label seeds, probe settings;
    ``select_fractions``: those whose mean validation AUROC chooses each method's
    configuration; ``supervised``: also train the network from scratch on all training
    labels (one per label seed), the level the label-efficient methods are measured against."""

    methods: tuple[str, ...] = tuple(METHODS)
    configurations: tuple[str, ...] = ("same-crop", "cross-crop")
    pretrain_seeds: int = 3
    pretrain: PretrainConfig = field(default_factory=lambda: PretrainConfig(model="tiny"))
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    select_fractions: tuple[float, ...] = (0.01, 0.05, 0.1)
    supervised: bool = False

    def __post_init__(self) -> None:
        for kind, known in (("method", METHODS), ("configuration", CONFIGURATIONS)):
            for name in getattr(self, kind + "s"):
                if name not in known:
                    raise ValueError(f"unknown {kind} {name!r}; known: {list(known)}")
        if not self.methods or not self.configurations:
            raise ValueError("need at least one method and one configuration")
        check_int("pretrain_seeds", self.pretrain_seeds)
        if not set(self.select_fractions) <= set(self.evaluation.fractions):
            raise ValueError(
                f"select_fractions {self.select_fractions} must be among the evaluated "
                f"fractions {self.evaluation.fractions}"
            )


def pretrain_config(base: PretrainConfig, method: str, configuration: str, seed: int):
    """``base`` with the method's augmentation, the configuration's fields and the seed."""
    fields = dict(CONFIGURATIONS[configuration])
    model_keys = {k: fields.pop(k) for k in MODEL_KEYS if k in fields}
    model = base.model
    if model_keys:
        model = {**(PRESETS[model] if isinstance(model, str) else model), **model_keys}
    return replace(base, augment=METHODS[method], model=model, seed=seed, **fields)


def method_name(method: str, configuration: str) -> str:
    """The row name of one (method, configuration): ``"3KG | cross-crop"``."""
    return f"{method} | {configuration}"


def choose_on_validation(
    encoders: Mapping[str, Any],
    records: Any,
    split: Any,
    task: str,
    config: EvalConfig,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """The rows of :func:`evaluate` of ``encoders`` on the validation part. The records are
    cut to the training and validation parts *before* anything is computed, so no signal or
    label of the test part can take part (tested by corrupting it)."""
    from threekg_lite.data.splits import Split

    keep = np.concatenate([split.train, split.val])
    n = len(split.train)
    cut = Split(np.arange(n), np.arange(n, len(keep)), np.arange(0), split.description)
    inner, part = records.subset(keep), validation_split(cut)
    return list(evaluate(encoders, inner, part, task, config, device=device, progress=progress))


def select(
    rows: Rows, options: Mapping[str, Sequence[str]], fractions: Sequence[float]
) -> dict[str, str]:
    """For each method, the option (row name) with the highest mean AUROC over ``fractions``
    (all seeds); ties go to the first option listed."""
    picked = [r for r in rows if any(math.isclose(r["fraction"], f) for f in fractions)]

    def mean_auroc(name: str) -> float:
        values = [r["auroc"] for r in picked if r["method"] == name]
        if not values:
            raise ValueError(f"no validation rows for {name!r}")
        return float(np.mean(values))

    return {
        m: names[int(np.argmax([mean_auroc(n) for n in names]))] for m, names in options.items()
    }


def run_comparison(
    pool: Any,
    records: Any,
    split: Any,
    task: str,
    config: ComparisonConfig | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Pretrain on ``pool`` (which must not hold the test part:
    :func:`~threekg_lite.data.sources.load_source` leaves PTB-XL's fold 10 out), choose on the
    validation part of ``split``, compare on its test part.

    Returns ``rows`` (``split`` "validation" or "test", ``method, configuration, fraction,
    pretrain_seed, label_seed, n_labelled, auroc``), ``paired`` (``method, baseline, fraction, runs,
    diff, ci_low, ci_high``, methods named ``"name | configuration"``), ``selected`` (method ->
    configuration), ``pretraining`` (loss, contrastive top-1 and seconds of every run) and
    ``config``."""
    from tqdm import tqdm

    from threekg_lite.evaluate.downstream import encoder_from
    from threekg_lite.training import Pretrainer

    config = config or ComparisonConfig()
    base, seeds = config.pretrain, config.pretrain_seeds
    random = [encoder_from("random", seed=1000 + s, config=base.model) for s in range(seeds)]
    encoders: dict[str, list[Any]] = {RANDOM: random}
    runs = [(m, c, s) for m in config.methods for c in config.configurations for s in range(seeds)]
    pretraining = []
    for method, configuration, seed in tqdm(runs, desc="pretrain", disable=not progress):
        cfg = pretrain_config(base, method, configuration, seed)
        trainer = Pretrainer(pool, cfg, device=device, progress=False)
        r = trainer.run()
        encoders.setdefault(method_name(method, configuration), []).append(trainer.model.eval())
        run = dict(method=method, configuration=configuration, pretrain_seed=seed)
        pretraining.append(dict(run, loss=r.loss, top1=r.top1, seconds=r.seconds))

    options = {m: [method_name(m, c) for c in config.configurations] for m in config.methods}
    evaluation = config.evaluation
    val_rows = choose_on_validation(encoders, records, split, task, evaluation, device, progress)
    selected = select(val_rows, options, config.select_fractions)

    compare = [(name, RANDOM) for name in encoders if name != RANDOM]
    for names in options.values():  # each other configuration against the method's first
        compare += [(name, names[0]) for name in names[1:]]
    if "3KG" in selected and "SimCLR (generic)" in selected:
        compare.append((selected["3KG"], selected["SimCLR (generic)"]))
    test_rows = evaluate(
        encoders, records, split, task, evaluation, device, progress, compare=compare
    )
    parts = [("validation", val_rows), ("test", test_rows)]
    if config.supervised:
        full = replace(evaluation, fractions=(1.0,))
        methods = {SUPERVISED: ("supervised", base.model)}
        parts.append(("test", evaluate(methods, records, split, task, full, device, progress)))
    rows = []
    for part, part_rows in parts:
        for r in part_rows:
            method, _, configuration = r["method"].partition(" | ")
            row = dict(split=part, method=method, configuration=configuration or None)
            row.update(fraction=r["fraction"], pretrain_seed=int(r["pretrain_seed"]))
            row.update(label_seed=int(r["seed"]), n_labelled=int(r["n_labelled"]))
            rows.append(dict(row, auroc=r["auroc"]))
    settings = asdict(config)
    settings["configurations"] = {name: CONFIGURATIONS[name] for name in config.configurations}
    chosen = {m: name.split(" | ", 1)[1] for m, name in selected.items()}
    result = dict(rows=finite_or_null(rows), paired=finite_or_null(test_rows.paired))
    return dict(result, selected=chosen, pretraining=pretraining, config=settings)


def run_reference(
    config: ComparisonConfig,
    out: PathLike,
    command: str,
    *,
    data_dir: PathLike | None = None,
    fs: float = 100.0,
    threads: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> Path:
    """``threekg compare``: :func:`run_comparison` on PTB-XL's superclasses (and the pool of every
    database found to pretrain on), records at ``fs`` Hz band-passed 0.5-40 Hz; write the reference
    file ``out`` with ``command``, the commit the run started from, the hardware (``threads``: torch
    CPU threads) and the wall time; print the choices and the paired differences."""
    from threekg_lite.data import load_ptbxl
    from threekg_lite.data.sources import load_source
    from threekg_lite.data.splits import ptbxl_split

    start = time.perf_counter()
    sha = git_sha()  # the code this run starts from, whatever is committed while it runs
    if threads:
        torch.set_num_threads(threads)
    load = dict(data_dir=data_dir, fs=fs, bandpass=(0.5, 40.0), progress=False)
    pool = load_source("pool", duration=10.0, **load)
    records = load_ptbxl(**load)
    split = ptbxl_split(records)
    result = run_comparison(pool, records, split, "superclass", config, device, progress)
    data = dict(labelled="PTB-XL superclasses", records=len(records), fs=records.fs)
    data.update(folds=split.description, sizes={k: int(v) for k, v in split.sizes().items()})
    data.update(pool={"records": len(pool), "source": pool.source})
    wall_s = round(time.perf_counter() - start, 1)
    made = dict(command=command, git_sha=sha, hardware=hardware(), wall_s=wall_s, data=data)
    out = save_reference(out, {**made, **result})
    print(f"chosen on the validation fold: {result['selected']}")
    for p in result["paired"]:
        print(f"{p['method']:>38s} - {p['baseline']:<28s} {p['fraction']:>5.0%}: {_cell(p)}")
    print(f"reference: {out}")
    return out


REFERENCE_KEYS = ("command", "git_sha", "hardware", "wall_s", "data", "rows", "paired")
"""Top-level keys every reference file (``book/results/<name>.json``) holds."""

ROW_KEYS = ("method", "configuration", "fraction", "pretrain_seed", "label_seed", "auroc")
PAIRED_KEYS = ("method", "baseline", "fraction", "diff", "ci_low", "ci_high")


def hardware() -> dict[str, Any]:
    """Where a run ran: processor, cores, torch threads and version, GPU if any."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:  # not Linux
        cpuinfo = []
    names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    processor = names[0] if names else platform.processor() or "unknown"
    info = dict(machine=platform.machine(), processor=processor, cpu_count=os.cpu_count())
    info.update(torch_threads=torch.get_num_threads(), torch=str(torch.__version__))
    info.update(python=platform.python_version())
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def git_sha() -> str | None:
    """The commit of the checkout holding this package (``None`` outside a git checkout);
    ``-dirty`` appended when tracked files differ from it."""
    where = Path(__file__).resolve().parent
    describe = ["git", "describe", "--always", "--dirty", "--abbrev=40", "--exclude=*"]  # no tag
    try:
        run = subprocess.run(describe, cwd=where, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return run.stdout.strip()


def save_reference(path: PathLike, payload: Mapping[str, Any]) -> Path:
    """Write a reference file atomically after checking its schema (:func:`check_reference`)."""
    check_reference(payload, Path(path))
    return write_json(path, payload)


def load_reference(path: PathLike) -> dict[str, Any]:
    """Read and check a reference file; a bad one is a ``ValueError`` naming it."""
    payload = read_json(path, "reference file")
    check_reference(payload, path)
    return payload


def check_reference(payload: Any, path: PathLike = "<reference>") -> None:
    """Raise ``ValueError`` (naming ``path``) unless ``payload`` has the reference schema and
    its method and configuration names still exist in this package."""

    def fail(problem: str) -> None:
        raise ValueError(f"{path}: {problem}")

    def need(keys: Sequence[str], entry: Mapping[str, Any], what: str) -> None:
        absent = [k for k in keys if k not in entry]
        if absent:
            fail(f"{what} {absent}")

    if not isinstance(payload, Mapping):
        fail("not a JSON object")
    need(REFERENCE_KEYS, payload, "missing keys")
    if not isinstance(payload["wall_s"], (int, float)) or payload["wall_s"] < 0:
        fail(f"wall_s must be a number of seconds, got {payload['wall_s']!r}")
    need(("records", "fs", "folds"), payload["data"], "data lacks")
    if not payload["rows"]:
        fail("no rows")
    known_methods = set(METHODS) | {RANDOM, SUPERVISED}
    for i, row in enumerate(payload["rows"]):
        need(ROW_KEYS, row, f"row {i} lacks")
        if row["method"] not in known_methods:
            fail(f"row {i}: method {row['method']!r} no longer exists")
        if row["configuration"] not in (None, *CONFIGURATIONS):
            fail(f"row {i}: configuration {row['configuration']!r} no longer exists")
        auroc = row["auroc"]
        if auroc is not None and not (isinstance(auroc, (int, float)) and 0 <= auroc <= 1):
            fail(f"row {i}: auroc {auroc!r} is not in [0, 1]")
        if not 0 < row["fraction"] <= 1:
            fail(f"row {i}: fraction {row['fraction']!r} is not in (0, 1]")
    for i, p in enumerate(payload["paired"]):
        need(PAIRED_KEYS, p, f"paired entry {i} lacks")
        for key in ("method", "baseline"):
            name, _, configuration = str(p[key]).partition(" | ")
            if name not in known_methods or (configuration and configuration not in CONFIGURATIONS):
                fail(f"paired entry {i}: {key} {p[key]!r} no longer exists")
        if p["diff"] is not None and not p["ci_low"] <= p["diff"] <= p["ci_high"]:
            fail(f"paired entry {i}: diff {p['diff']} outside its interval")


def find_reference(name: str) -> Path | None:
    """``book/results/<name>.json`` of the checkout this package runs from, or ``None``
    (a package installed without its repository has no ``book/`` folder)."""
    roots = [Path(__file__).resolve().parents[2], Path.cwd(), Path.cwd().parent]
    candidates = [root / "book" / "results" / f"{name}.json" for root in roots]
    return next((p for p in candidates if p.is_file()), None)


def chosen_rows(payload: Mapping[str, Any], part: str | None = "test"):
    """The rows (a :class:`pandas.DataFrame`, configuration ``""`` for none) of ``part``
    (``None``: all) for the random encoder and each method's chosen configuration."""
    rows = pd.DataFrame(payload["rows"])
    rows["configuration"] = rows["configuration"].fillna("")
    rows["auroc"] = rows["auroc"].astype(float)
    if part is None:
        return rows
    rows = rows[rows["split"] == part]
    keep = rows["method"] == RANDOM
    for method, configuration in payload["selected"].items():
        keep |= (rows["method"] == method) & (rows["configuration"] == configuration)
    return rows[keep]


def results_table(payload: Mapping[str, Any]):
    """Mean macro AUROC over test runs: methods (chosen configurations) x fractions."""
    rows = chosen_rows(payload)
    order = [RANDOM, *payload["selected"]]
    table = rows.pivot_table(index="method", columns="fraction", values="auroc", aggfunc="mean")
    table = table.reindex([m for m in order if m in table.index])
    table.columns = [f"{100 * f:g} %" for f in table.columns]
    return table


def configuration_table(payload: Mapping[str, Any]):
    """Every (method, configuration) tried, with its mean AUROC over runs on the validation
    and the test part at each fraction, and whether it was chosen (on validation)."""
    rows = chosen_rows(payload, part=None)
    rows = rows[rows["method"].isin(list(METHODS))]
    columns = ["split", "fraction"]
    table = rows.pivot_table(index=["method", "configuration"], columns=columns, values="auroc")
    table = table.reindex(columns=["validation", "test"], level=0)
    table.columns = [f"{part} {100 * f:g} %" for part, f in table.columns]
    chosen = [payload["selected"].get(m) == c for m, c in table.index]
    table.insert(0, "chosen", ["yes" if c else "" for c in chosen])
    return table


def _cell(p: Mapping[str, Any]) -> str:
    return f"{p['diff']:+.3f} [{p['ci_low']:+.3f}, {p['ci_high']:+.3f}]"


def paired_table(payload: Mapping[str, Any], chosen_only: bool = True):
    """The paired differences as ``method - baseline`` rows, fractions as columns, each cell
    ``+0.012 [-0.010, +0.035]``."""
    chosen = {method_name(m, c) for m, c in payload["selected"].items()}
    out: dict[str, dict[str, str]] = {}
    for p in payload["paired"]:
        if not chosen_only or p["method"] in chosen:
            name = f"{p['method']}  −  {p['baseline']}"
            out.setdefault(name, {})[f"{100 * p['fraction']:g} %"] = _cell(p)
    return pd.DataFrame(out).T


def paired_entry(payload: Mapping[str, Any], method: str, baseline: str, fraction: float):
    """The paired entry of ``method`` (its chosen configuration) against ``baseline`` (a
    method, its chosen configuration, or the random encoder) at ``fraction``."""
    selected = payload["selected"]
    name = method_name(method, selected[method])
    base = baseline if baseline == RANDOM else method_name(baseline, selected[baseline])
    for p in payload["paired"]:
        if p["method"] == name and p["baseline"] == base and math.isclose(p["fraction"], fraction):
            return p
    raise KeyError(f"no paired entry {name} - {base} at {fraction}")


def plot_comparison(payload: Mapping[str, Any], title: str | None = None):
    """Two panels: macro AUROC of each method's chosen configuration per labelled fraction
    (mean over runs, bars: 2.5-97.5 % of the runs, dodged), and the paired difference of
    each to the random encoder with its bootstrap 95 % interval. 3KG is drawn heavier; a
    supervised row at 100 %, when the file has one, is a dashed line."""
    import matplotlib.pyplot as plt

    rows = chosen_rows(payload)
    methods = [RANDOM] + [m for m in METHODS if m in payload["selected"]]
    fractions = sorted(rows["fraction"].unique())
    x, width = np.arange(len(fractions)), 0.8 / len(methods)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for i, method in enumerate(methods):
        part = rows[rows["method"] == method]
        heavy = method == "3KG"
        style = dict(method_style(i), ms=8 if heavy else 5, lw=2.5 if heavy else 1.2)
        style.update(zorder=3 if heavy else 2, ls="none", label=method)
        grouped = [part[np.isclose(part["fraction"], f)]["auroc"].to_numpy() for f in fractions]
        mean = np.array([g.mean() for g in grouped])
        low, high = np.array([np.percentile(g, [2.5, 97.5]) for g in grouped]).T
        offset = (i - (len(methods) - 1) / 2) * width
        left.errorbar(x + offset, mean, yerr=[mean - low, high - mean], **style)
        if method != RANDOM:
            entries = [paired_entry(payload, method, RANDOM, f) for f in fractions]
            d, lo, hi = (np.array([e[k] for e in entries]) for k in ("diff", "ci_low", "ci_high"))
            right.errorbar(x + offset - width / 2, d, yerr=[d - lo, hi - d], **style)
    supervised = [r["auroc"] for r in payload["rows"] if r["method"] == SUPERVISED]
    if supervised:
        level = float(np.mean(supervised))
        left.axhline(level, color="0.3", ls="--", lw=1, label="supervised, 100 % of labels")
    right.axhline(0, color="0.3", lw=1)
    left.set(ylabel="macro AUROC, test fold")
    right.set(ylabel="AUROC minus random encoder (paired, 95 % CI)")
    left.legend(fontsize=8, loc="lower right")
    for ax in (left, right):
        xlabel = "labelled fraction of the training folds"
        ax.set(xticks=x, xticklabels=[f"{100 * f:g} %" for f in fractions], xlabel=xlabel)
        ax.grid(axis="y", alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig
