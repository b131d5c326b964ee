"""The label-efficiency protocol (:func:`evaluate`; ``threekg evaluate``: :func:`run_evaluation`):
per method, labelled fraction of the training split and seed, a classifier trained on a
stratified labelled subset and scored on the test split by macro AUROC with a bootstrap 95 %
interval, overall and per clinical subgroup, and on one shared set of test resamples, so that
two methods can be compared *paired*. Results files are strict JSON, written atomically."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from threekg_lite.runtime.checks import check_choice, check_int

PathLike = str | os.PathLike[str]
Rows = Sequence[Mapping[str, Any]]
"""Result rows: one dict per fitted classifier (:func:`evaluate`)."""

FRACTIONS = (0.01, 0.05, 0.1, 1.0)
"""The labelled fractions of the paper's table."""

DEFAULT_TASKS = dict(ptbxl="superclass", cinc="scored", ludb="rhythm", synthetic="diagnosis")
"""The label task :func:`run_evaluation` predicts on each database by default."""


@dataclass(frozen=True)
class EvalConfig:
    """How the classifiers are trained and scored: ``fractions`` of the training split's
    labels, in (0, 1]; ``seeds`` per fraction (each draws its own subset and initialisation);
    ``mode``: ``"linear"`` (logistic regression on frozen features) or ``"finetune"`` (the
    whole network); ``crop``: samples per input (centre crops for features, random crops for
    training); ``epochs``, ``batch_size``, ``lr``: fine-tuning and supervised training;
    ``n_boot``: bootstrap resamples of the AUROC intervals and of the paired differences."""

    fractions: tuple[float, ...] = FRACTIONS
    seeds: int = 5
    mode: Literal["linear", "finetune"] = "linear"
    crop: int = 500
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    n_boot: int = 200

    def __post_init__(self) -> None:
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise ValueError(f"fractions must be in (0, 1], got {self.fractions}")
        check_choice("mode", self.mode, ("linear", "finetune"))
        for name in ("seeds", "crop", "epochs", "batch_size", "n_boot"):
            check_int(name, getattr(self, name))


class EvalRows(list):
    """The rows of :func:`evaluate`, with ``paired`` (:func:`paired_rows` of its ``compare``)
    and ``boot``: ``(rows, n_boot)`` macro AUROC on the shared test resamples."""

    paired: list[dict[str, Any]]
    boot: np.ndarray


def evaluate(
    methods: Mapping[str, Any],
    records: Any,
    split: Any,
    task: str,
    config: EvalConfig | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    compare: Sequence[tuple[str, str]] = (),
) -> EvalRows:
    """Rows ``method, pretrain_seed, fraction, seed`` (the label seed), ``n_labelled, auroc,
    ci_low, ci_high, subgroups`` (subgroup -> macro AUROC), ``mode``, scored on ``split.test``
    (:func:`validation_split` scores the validation part). ``methods``: name -> a
    :class:`~threekg_lite.models.ContrastiveModel` (frozen features in linear mode, the
    starting point in fine-tune mode), a list of them (one per pretraining seed), or
    ``("supervised", preset)`` (trained from scratch on each labelled subset). ``compare``:
    ``(method, baseline)`` pairs to compare paired."""
    from tqdm import tqdm

    from threekg_lite.data.splits import label_fraction
    from threekg_lite.evaluate import downstream as ds
    from threekg_lite.evaluate import metrics as m
    from threekg_lite.evaluate.features import extract_features

    config = config or EvalConfig()
    encoders = {name: e if isinstance(e, list) else [e] for name, e in methods.items()}
    for name, runs in encoders.items():
        if not runs:
            raise ValueError(f"method {name!r}: an empty list of encoders")
        bad = [e for e in runs if isinstance(e, tuple) and (len(e) != 2 or e[0] != "supervised")]
        if bad:
            raise ValueError(
                f"method {name!r}: a tuple must be ('supervised', preset or config), got {bad[0]!r}"
            )
    for pair in compare:
        if len(pair) != 2 or any(name not in methods for name in pair):
            raise ValueError(f"compare: {pair!r} must name two of the methods {list(methods)}")
    split.check_disjoint(records)
    y = records.y(task)
    names = list(records.labels[task].names)
    y_train, y_test = y[split.train], y[split.test]
    x_train, x_test = records.signals[split.train], records.signals[split.test]
    groups = m.subgroups_for(names)
    weights = m.resample_weights(len(split.test), config.n_boot, seed=12345)  # shared by all
    train = dict(crop=config.crop, epochs=config.epochs, batch_size=config.batch_size)
    rows, boot = EvalRows(), []
    jobs = sum(len(e) for e in encoders.values()) * len(config.fractions) * config.seeds
    bar = tqdm(total=jobs, desc="evaluate", unit="fit", disable=not progress)
    for name, runs in encoders.items():
        for pretrain_seed, method in enumerate(runs):
            mode = "supervised" if isinstance(method, tuple) else config.mode
            if mode == "linear":
                f_train = extract_features(method, x_train, crop=config.crop, device=device)
                f_test = extract_features(method, x_test, crop=config.crop, device=device)
            for fraction in config.fractions:
                for seed in range(config.seeds):
                    subset = label_fraction(y_train, fraction, seed)
                    xs, ys = x_train[subset], y_train[subset]
                    if mode == "linear":
                        probe = ds.LinearProbe(seed=seed).fit(f_train[subset], ys)
                        scores = probe.predict_scores(f_test)
                    else:
                        kw = dict(train, lr=config.lr, seed=seed + 1000 * pretrain_seed)
                        if mode == "supervised":
                            net = ds.supervised_from_scratch(method[1], xs, ys, device=device, **kw)
                        else:
                            net = ds.fine_tune(method, xs, ys, device=device, **kw)
                        scores = ds.predict_scores(net, x_test, crop=config.crop, device=device)
                    auroc, low, high = m.bootstrap_auroc(y_test, scores, config.n_boot, seed)
                    boot.append(m.macro_auroc_resampled(y_test, scores, weights))
                    row = dict(method=name, pretrain_seed=pretrain_seed, fraction=fraction)
                    row.update(seed=seed, n_labelled=len(subset), auroc=auroc, ci_low=low)
                    sub = m.subgroup_auroc(y_test, scores, names, groups) if groups else {}
                    rows.append(dict(row, ci_high=high, subgroups=sub, mode=mode))
                    bar.update(1)
    bar.close()
    rows.boot = np.stack(boot) if boot else np.zeros((0, config.n_boot))
    rows.paired = paired_rows(rows, rows.boot, compare)
    return rows


def paired_rows(
    rows: Rows, boot: np.ndarray, compare: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Paired differences ``method - baseline`` per fraction: dicts ``method, baseline,
    fraction, runs, diff, ci_low, ci_high``. Runs are paired on the label seed and the
    pretraining-seed index (a baseline with fewer pretraining seeds, e.g. one supervised
    network per subset, reuses them cyclically) and scored on the same test resamples
    (``boot``, aligned with ``rows``): :func:`~threekg_lite.evaluate.metrics.paired_difference`."""
    from threekg_lite.evaluate.metrics import paired_difference

    def runs(method: str, fraction: float) -> dict[tuple[int, int], int]:
        """``(pretrain_seed, label seed) -> row position``."""
        return {
            (int(r.get("pretrain_seed", 0)), int(r["seed"])): i
            for i, r in enumerate(rows)
            if r["method"] == method and math.isclose(r["fraction"], fraction)
        }

    auroc = np.array([r["auroc"] for r in rows], dtype=float)
    out = []
    for method, baseline in compare:
        for fraction in dict.fromkeys(r["fraction"] for r in rows if r["method"] == method):
            a, b = runs(method, fraction), runs(baseline, fraction)
            p_b = 1 + max(k[0] for k in b)
            keys = [k for k in a if (k[0] % p_b, k[1]) in b]
            if not keys:
                raise ValueError(f"no run of {baseline!r} pairs with {method!r} at {fraction}")
            ia, ib = [a[k] for k in keys], [b[(k[0] % p_b, k[1])] for k in keys]
            diff, low, high = paired_difference(auroc[ia], auroc[ib], boot[ia], boot[ib])
            entry = dict(method=method, baseline=baseline, fraction=fraction, runs=len(keys))
            out.append(dict(entry, diff=diff, ci_low=low, ci_high=high))
    return out


def validation_split(split: Any) -> Any:
    """The split with ``test`` = its validation part (train as given), to choose
    configurations on, so that the test part takes no part in any choice."""
    from threekg_lite.data.splits import Split

    if len(split.val) == 0:
        raise ValueError(f"the split has no validation part to choose on ({split.description})")
    return Split(split.train, split.val[:0], split.val, f"validation part of: {split.description}")


def summarise(rows: Rows) -> pd.DataFrame:
    """Mean and spread over seeds per method and fraction: ``method, fraction, n_labelled,
    auroc_mean, auroc_std, ci_low, ci_high, seeds`` (``ci_*``: the mean interval bounds)."""
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "subgroups"} for r in rows])
    if table.empty:
        raise ValueError("no result rows to summarise")
    stats = dict(n_labelled=("n_labelled", "median"), auroc_mean=("auroc", "mean"))
    stats.update(auroc_std=("auroc", lambda a: float(np.std(a, ddof=1)) if len(a) > 1 else 0.0))
    stats.update(ci_low=("ci_low", "mean"), ci_high=("ci_high", "mean"), seeds=("seed", "count"))
    out = table.groupby(["method", "fraction"], sort=False).agg(**stats).reset_index()
    out["n_labelled"] = out["n_labelled"].astype(int)
    return out


def subgroup_table(rows: Rows, fraction: float) -> pd.DataFrame:
    """Mean subgroup AUROC over seeds at one fraction: methods x subgroups."""
    picked = [r for r in rows if math.isclose(r["fraction"], fraction)]
    if not picked:
        raise ValueError(f"no rows at fraction {fraction}")
    frame = pd.DataFrame([{"method": r["method"], **r["subgroups"]} for r in picked])
    return frame.groupby("method", sort=False).mean()


def save_results(path: PathLike, rows: Rows, config: EvalConfig, meta: Mapping[str, Any]) -> Path:
    """Write ``config``, ``meta`` and ``rows`` (:func:`write_json`: a NaN, e.g. of a subgroup
    without a positive in the test split, is ``null``, read back as NaN by :func:`load_results`)."""
    payload = {"config": asdict(config), "meta": dict(meta), "rows": list(rows)}
    return write_json(path, finite_or_null(payload))


def write_json(path: PathLike, payload: Any) -> Path:
    """Write ``payload`` as strict JSON (a NaN is an error; NumPy scalars are written as numbers),
    atomically: a reader never sees half a file, a failed write leaves the previous one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    text = json.dumps(payload, indent=1, allow_nan=False, default=lambda v: v.item())
    tmp.write_text(text + "\n")
    os.replace(tmp, path)
    return path


def read_json(path: PathLike, what: str) -> Any:
    """The JSON content of ``path``; an unreadable file is a ``ValueError`` naming it as not
    a readable ``what``."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable {what} ({e})") from e


def load_results(path: PathLike) -> dict[str, Any]:
    """Read a file of :func:`save_results` (``null`` AUROCs back to NaN)."""
    payload = read_json(path, "results file")
    rows = payload.get("rows") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{Path(path)}: not a threekg-lite results file (no list of 'rows')")
    for row in rows:
        nulls = [k for k in ("auroc", "ci_low", "ci_high") if k in row and row[k] is None]
        row.update(dict.fromkeys(nulls, math.nan))
        sub = row.get("subgroups")
        if isinstance(sub, dict):
            row["subgroups"] = {k: math.nan if v is None else v for k, v in sub.items()}
    return payload


def finite_or_null(value: Any) -> Any:
    """``value`` with every NaN or infinite float (nested in dicts, lists, tuples) as None,
    and NumPy scalars as Python numbers."""
    if isinstance(value, Mapping):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and not math.isfinite(value) else value


def method_style(i: int) -> dict[str, Any]:
    """The colour and marker of the ``i``-th method, alike in every figure."""
    from threekg_lite.viz.figures import MARKERS, OKABE_ITO

    return dict(color=OKABE_ITO[i % len(OKABE_ITO)], marker=MARKERS[i % len(MARKERS)], capsize=3)


def plot_label_efficiency(rows: Rows, title: str | None = None):
    """Macro AUROC against the labelled fraction (log scale), one line per method: the mean
    over seeds, error bars from the mean bootstrap 95 % interval."""
    import matplotlib.pyplot as plt

    table = summarise(rows)
    fig, ax = plt.subplots(figsize=(6.5, 4.0), layout="constrained")
    for i, (method, part) in enumerate(table.groupby("method", sort=False)):
        part = part.sort_values("fraction")
        mean = part["auroc_mean"].to_numpy()
        err = np.stack([mean - part["ci_low"].to_numpy(), part["ci_high"].to_numpy() - mean])
        x = 100 * part["fraction"].to_numpy()
        ax.errorbar(x, mean, yerr=np.clip(err, 0, None), label=method, lw=1.5, **method_style(i))
    ax.set_xscale("log")
    ticks = sorted(set(100 * table["fraction"]))
    ax.set_xticks(ticks, [f"{t:g} %" for t in ticks])
    ax.axhline(0.5, color="0.5", ls=":", lw=1)
    ax.set(xlabel="labelled fraction of the training split", ylabel="macro AUROC (test split)")
    ax.set_title(title or "")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def parse_methods(specs: Sequence[str] | None, checkpoint: str | None = None) -> dict[str, str]:
    """Name -> spec of ``NAME=SPEC`` strings; ``checkpoint`` comes first as ``pretrained``,
    and without ``specs`` brings the ``random`` and ``supervised`` baselines."""
    specs = list(specs or [])
    if checkpoint:
        specs = [f"pretrained={checkpoint}", *(specs or ["random=random", "supervised=supervised"])]
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


def run_evaluation(
    source: str,
    methods: Mapping[str, str],
    out: PathLike,
    config: EvalConfig | None = None,
    *,
    task: str | None = None,
    crop_s: float = 5.0,
    model: str = "tiny",
    data_dir: PathLike | None = None,
    fs: float = 100.0,
    duration: float = 10.0,
    n_synthetic: int = 2000,
    split_seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> Path:
    """``threekg evaluate``: :func:`evaluate` ``methods`` (name -> checkpoint or run folder,
    ``"random"`` or ``"supervised"``, of preset ``model``) on a source of
    :func:`~threekg_lite.data.sources.load_source` (at ``fs`` Hz, ``duration`` s; ``task``
    by default that of :data:`DEFAULT_TASKS`, else required) or a prepared folder, on crops of
    ``crop_s`` seconds; write the results JSON ``out`` and its plot beside it (``.png``);
    print the summary. Split: PTB-XL's ``strat_fold`` (1-8 / 9 / 10) where the records have
    it, else a patient split seeded with ``split_seed`` (which also seeds synthetic records).
    Checkpoints are read before the data, so that a bad path fails fast."""
    import matplotlib.pyplot as plt

    from threekg_lite.data.sources import load_source
    from threekg_lite.data.splits import patient_split, ptbxl_split
    from threekg_lite.evaluate.downstream import encoder_from

    task = task or DEFAULT_TASKS.get(source)
    if task is None:
        raise ValueError(f"give --task for source {source!r}")
    built = {
        name: ("supervised", model) if spec == "supervised" else encoder_from(spec, config=model)
        for name, spec in methods.items()
    }
    kw = dict(data_dir=data_dir, fs=fs, duration=duration, progress=progress, exclude_folds=())
    records = load_source(source, n_synthetic=n_synthetic, seed=split_seed, **kw)
    if task not in records.labels:
        raise ValueError(f"no label task {task!r} in {source}; it has {sorted(records.labels)}")
    strat = "strat_fold" in records.meta
    split = ptbxl_split(records) if strat else patient_split(records, seed=split_seed, task=task)
    config = replace(config or EvalConfig(), crop=round(crop_s * records.fs))
    rows = evaluate(built, records, split, task, config, device=device, progress=progress)
    meta = dict(source=source, task=task, classes=list(records.labels[task].names))
    meta.update(records=len(records), fs=records.fs, split=split.description)
    meta.update(sizes={k: int(v) for k, v in split.sizes().items()}, methods=dict(methods))
    out = save_results(out, rows, config, meta)
    plot = out.with_suffix(".png")
    fig = plot_label_efficiency(rows, title=f"{source}, {task}: {split.description}")
    fig.savefig(plot, dpi=150)
    plt.close(fig)
    print(summarise(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"results: {out}\nplot: {plot}")
    return out
