"""The label-efficiency experiment: every method, every labelled fraction, several seeds.

For each method (a pretrained checkpoint, a random-initialised encoder, or supervised
training from scratch) and each labelled fraction of the training split, a labelled subset is
drawn (stratified so that every class has a positive where the data allows,
:func:`threekg_lite.data.splits.label_fraction`) with each seed; a classifier is trained on it
(a linear layer on frozen features, or full fine-tuning) and scored on the test split by
macro AUROC with a bootstrap 95 % interval, overall and per clinical subgroup. The rows go to
a JSON file; :func:`summarise` averages them over seeds and :func:`plot_label_efficiency`
draws the curve.

A method may hold several encoders, one per pretraining seed: every one of them meets every
labelled subset. Every classifier is also scored on one shared set of test resamples, so
that two methods can be compared *paired* (:func:`threekg_lite.evaluate.metrics.paired_difference`):
``evaluate(..., compare=[("3KG", "random encoder")])`` returns rows whose ``paired``
attribute holds the mean difference per fraction with its bootstrap interval.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

FRACTIONS = (0.01, 0.05, 0.1, 1.0)
"""The labelled fractions of the paper's table."""


@dataclass(frozen=True)
class EvalConfig:
    """How the classifiers are trained and scored.

    Attributes
    ----------
    fractions
        Labelled fractions of the training split, in (0, 1].
    seeds
        Seeds per fraction (each draws its own labelled subset and initialisation).
    mode
        ``"linear"``: logistic regression on frozen encoder features; ``"finetune"``: the
        whole network trained on the labelled subset.
    crop
        Samples per input (centre crops for features, random crops for fine-tuning).
    epochs, batch_size, lr
        Fine-tuning and supervised training settings.
    n_boot
        Bootstrap resamples for the 95 % interval of the macro AUROC and of the paired
        differences.
    """

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
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")
        if self.mode not in ("linear", "finetune"):
            raise ValueError(f"mode must be 'linear' or 'finetune', got {self.mode!r}")
        for name in ("crop", "epochs", "batch_size", "n_boot"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class EvalRows(list):
    """The result rows of :func:`evaluate` (a list of dicts), with the paired comparisons.

    Attributes
    ----------
    paired
        One dict per (method, baseline, fraction) of ``compare``: ``method, baseline,
        fraction, runs, diff, ci_low, ci_high`` (see :func:`paired_rows`).
    boot
        ``(rows, n_boot)`` each row's macro AUROC on the shared test resamples.
    """

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
    """Run the experiment; one result row per (method, pretraining seed, fraction, seed).

    Parameters
    ----------
    methods
        Name -> what to evaluate: a :class:`~threekg_lite.models.ContrastiveModel` (its
        encoder: frozen features in linear mode, the starting point in fine-tune mode), a
        list of them (one per pretraining seed), or ``("supervised", preset)`` for a
        network of that preset trained from scratch on the labelled subset.
    records
        :class:`~threekg_lite.data.records.ECGRecords` with the label task ``task``.
    split
        A :class:`~threekg_lite.data.splits.Split` of ``records`` (patient-disjoint); its
        ``test`` part is scored (pass a split whose ``test`` is the validation fold to
        choose configurations, :func:`validation_split`).
    task
        Label task of ``records`` to predict.
    compare
        ``(method, baseline)`` pairs to compare paired, e.g. ``[("3KG", "random encoder")]``.

    Returns
    -------
    EvalRows
        A list of dicts ``method, pretrain_seed, fraction, seed`` (the label seed),
        ``n_labelled, auroc, ci_low, ci_high, subgroups`` (subgroup -> macro AUROC),
        ``mode``; with ``.paired`` and ``.boot``.
    """
    from tqdm import tqdm

    from threekg_lite.data.splits import label_fraction
    from threekg_lite.evaluate.downstream import (
        LinearProbe,
        fine_tune,
        predict_scores,
        supervised_from_scratch,
    )
    from threekg_lite.evaluate.features import extract_features
    from threekg_lite.evaluate.metrics import (
        bootstrap_auroc,
        macro_auroc_resampled,
        resample_weights,
        subgroup_auroc,
        subgroups_for,
    )

    config = config or EvalConfig()
    encoders: dict[str, list[Any]] = {}
    for name, method in methods.items():
        if isinstance(method, tuple) and (len(method) != 2 or method[0] != "supervised"):
            raise ValueError(
                f"method {name!r}: a tuple must be ('supervised', preset or config), got {method!r}"
            )
        encoders[name] = list(method) if isinstance(method, list) else [method]
        if not encoders[name]:
            raise ValueError(f"method {name!r}: an empty list of encoders")
    for pair in compare:
        unknown = [m for m in pair if m not in methods]
        if len(pair) != 2 or unknown:
            raise ValueError(f"compare: {pair!r} must name two of the methods {list(methods)}")
    split.check_disjoint(records)
    y = records.y(task)
    names = list(records.labels[task].names)
    y_train, y_test = y[split.train], y[split.test]
    x_train, x_test = records.signals[split.train], records.signals[split.test]
    groups = subgroups_for(names)
    weights = resample_weights(len(split.test), config.n_boot, seed=12345)  # shared by all
    rows = EvalRows()
    boot: list[np.ndarray] = []
    jobs = sum(len(e) for e in encoders.values()) * len(config.fractions) * config.seeds
    bar = tqdm(total=jobs, desc="evaluate", unit="fit", disable=not progress)
    for name, runs in encoders.items():
        for pretrain_seed, method in enumerate(runs):
            supervised = isinstance(method, tuple)
            if not supervised and config.mode == "linear":
                f_train = extract_features(method, x_train, crop=config.crop, device=device)
                f_test = extract_features(method, x_test, crop=config.crop, device=device)
            for fraction in config.fractions:
                for seed in range(config.seeds):
                    subset = label_fraction(y_train, fraction, seed)
                    if supervised or config.mode == "finetune":
                        kwargs = dict(
                            crop=config.crop,
                            epochs=config.epochs,
                            batch_size=config.batch_size,
                            lr=config.lr,
                            seed=seed + 1000 * pretrain_seed,
                            device=device,
                        )
                        if supervised:
                            net = supervised_from_scratch(
                                method[1], x_train[subset], y_train[subset], **kwargs
                            )
                        else:
                            net = fine_tune(
                                _copy(method), x_train[subset], y_train[subset], **kwargs
                            )
                        scores = predict_scores(net, x_test, crop=config.crop, device=device)
                    else:
                        probe = LinearProbe(seed=seed).fit(f_train[subset], y_train[subset])
                        scores = probe.predict_scores(f_test)
                    auroc, low, high = bootstrap_auroc(
                        y_test, scores, n_boot=config.n_boot, seed=seed
                    )
                    boot.append(macro_auroc_resampled(y_test, scores, weights))
                    rows.append(
                        {
                            "method": name,
                            "pretrain_seed": pretrain_seed,
                            "fraction": fraction,
                            "seed": seed,
                            "n_labelled": int(len(subset)),
                            "auroc": auroc,
                            "ci_low": low,
                            "ci_high": high,
                            "subgroups": (
                                subgroup_auroc(y_test, scores, names, groups) if groups else {}
                            ),
                            "mode": "supervised" if supervised else config.mode,
                        }
                    )
                    bar.update(1)
    bar.close()
    rows.boot = np.stack(boot) if boot else np.zeros((0, config.n_boot))
    rows.paired = paired_rows(rows, rows.boot, compare)
    return rows


def paired_rows(
    rows: Sequence[Mapping[str, Any]],
    boot: np.ndarray,
    compare: Sequence[tuple[str, str]],
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Paired differences ``method - baseline`` per fraction, with bootstrap intervals.

    Runs are paired on the label seed and the pretraining-seed index (a baseline with fewer
    pretraining seeds, e.g. one supervised network per subset, reuses them cyclically), and
    scored on the same test resamples (``boot``, rows aligned with ``rows``); see
    :func:`threekg_lite.evaluate.metrics.paired_difference`.

    Returns
    -------
    list of dict
        ``method, baseline, fraction, runs, diff, ci_low, ci_high``.
    """
    from threekg_lite.evaluate.metrics import paired_difference

    out = []
    for method, baseline in compare:
        fractions = dict.fromkeys(r["fraction"] for r in rows if r["method"] == method)
        for fraction in fractions:
            a, b = _runs(rows, method, fraction), _runs(rows, baseline, fraction)
            p_b = 1 + max(k[0] for k in b)
            keys = [k for k in a if (k[0] % p_b, k[1]) in b]
            if not keys:
                raise ValueError(f"no run of {baseline!r} pairs with {method!r} at {fraction}")
            ia = [a[k] for k in keys]
            ib = [b[(k[0] % p_b, k[1])] for k in keys]
            auroc = np.array([rows[i]["auroc"] for i in ia + ib], dtype=float)
            diff, low, high = paired_difference(
                auroc[: len(ia)], auroc[len(ia) :], boot[ia], boot[ib], seed=seed
            )
            out.append(
                {
                    "method": method,
                    "baseline": baseline,
                    "fraction": fraction,
                    "runs": len(keys),
                    "diff": diff,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return out


def _runs(
    rows: Sequence[Mapping[str, Any]], method: str, fraction: float
) -> dict[tuple[int, int], int]:
    """``(pretrain_seed, label seed) -> row position`` of one method at one fraction."""
    return {
        (int(r.get("pretrain_seed", 0)), int(r["seed"])): i
        for i, r in enumerate(rows)
        if r["method"] == method and math.isclose(r["fraction"], fraction)
    }


def validation_split(split: Any) -> Any:
    """The split that scores on the validation part: train as given, ``test`` = ``val``.

    Configurations are chosen on it, so that the test part takes no part in any choice.
    """
    from threekg_lite.data.splits import Split

    if len(split.val) == 0:
        raise ValueError(f"the split has no validation part to choose on ({split.description})")
    return Split(
        train=split.train,
        val=split.val[:0],
        test=split.val,
        description=f"validation part of: {split.description}",
    )


def _copy(model: torch.nn.Module) -> torch.nn.Module:
    import copy

    return copy.deepcopy(model)


def summarise(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Mean and spread over seeds of each method and fraction.

    Columns: ``method, fraction, n_labelled, auroc_mean, auroc_std, ci_low, ci_high,
    seeds`` (``ci_*``: the mean over seeds of the bootstrap interval bounds).
    """
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "subgroups"} for r in rows])
    if table.empty:
        raise ValueError("no result rows to summarise")
    out = (
        table.groupby(["method", "fraction"], sort=False)
        .agg(
            n_labelled=("n_labelled", "median"),
            auroc_mean=("auroc", "mean"),
            auroc_std=("auroc", lambda a: float(np.std(a, ddof=1)) if len(a) > 1 else 0.0),
            ci_low=("ci_low", "mean"),
            ci_high=("ci_high", "mean"),
            seeds=("seed", "count"),
        )
        .reset_index()
    )
    out["n_labelled"] = out["n_labelled"].astype(int)
    return out


def subgroup_table(rows: Sequence[Mapping[str, Any]], fraction: float) -> pd.DataFrame:
    """Mean subgroup AUROC over seeds at one fraction: methods as rows, subgroups as
    columns."""
    picked = [r for r in rows if math.isclose(r["fraction"], fraction)]
    if not picked:
        raise ValueError(f"no rows at fraction {fraction}")
    frame = pd.DataFrame([{"method": r["method"], **r["subgroups"]} for r in picked])
    return frame.groupby("method", sort=False).mean()


def save_results(
    path: str | os.PathLike[str],
    rows: Sequence[Mapping[str, Any]],
    config: EvalConfig,
    meta: Mapping[str, Any],
) -> Path:
    """Write the rows, the configuration and what was evaluated on as JSON (atomically).

    The file is strict JSON: a NaN or infinite number (a subgroup whose classes have no
    positive in the test split) is written as ``null``, which :func:`load_results` reads back
    as NaN.
    """
    payload = _finite_or_null({"config": asdict(config), "meta": dict(meta), "rows": list(rows)})
    return write_json(path, payload)


def write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write strict JSON atomically (a temporary file, then renamed over ``path``): a reader
    never sees half a file, and a failed write leaves the previous one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=_json_default, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """The JSON content of ``path``; an unreadable file is a ``ValueError`` naming it and
    saying that it is not a readable ``what``."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable {what} ({e})") from e


def load_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a results file written by :func:`save_results` (``null`` AUROCs back to NaN)."""
    path = Path(path)
    payload = read_json(path, "results file")
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("rows"), list)
        or not all(isinstance(r, dict) for r in payload["rows"])
    ):
        raise ValueError(f"{path}: not a threekg-lite results file (no list of 'rows')")
    for row in payload["rows"]:
        for key in ("auroc", "ci_low", "ci_high"):
            if key in row and row[key] is None:
                row[key] = math.nan
        if isinstance(row.get("subgroups"), dict):
            row["subgroups"] = {
                k: math.nan if v is None else v for k, v in row["subgroups"].items()
            }
    return payload


def _finite_or_null(value: Any) -> Any:
    """``value`` with every NaN or infinite float (nested in dicts, lists, tuples) as None."""
    if isinstance(value, Mapping):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def plot_label_efficiency(
    rows: Sequence[Mapping[str, Any]],
    title: str | None = None,
    order: Sequence[str] | None = None,
):
    """Macro AUROC against the labelled fraction (log scale), one line per method: the mean
    over seeds, with error bars from the mean bootstrap 95 % interval.

    ``order``: method names whose position fixes each method's colour and marker, so that
    several figures draw one method alike (default: the order of ``rows``)."""
    import matplotlib.pyplot as plt

    from threekg_lite.viz.figures import OKABE_ITO
    from threekg_lite.viz.figures_pretrain import MARKERS

    table = summarise(rows)
    fig, ax = plt.subplots(figsize=(6.5, 4.0), layout="constrained")
    methods = list(dict.fromkeys(table["method"]))
    style = list(order or []) + [m for m in methods if m not in (order or [])]
    for method, part in table.groupby("method", sort=False):
        i = style.index(method)
        part = part.sort_values("fraction")
        x = 100 * part["fraction"].to_numpy()
        mean = part["auroc_mean"].to_numpy()
        err = np.stack([mean - part["ci_low"].to_numpy(), part["ci_high"].to_numpy() - mean])
        ax.errorbar(
            x,
            mean,
            yerr=np.clip(err, 0, None),
            label=method,
            color=OKABE_ITO[i % len(OKABE_ITO)],
            marker=MARKERS[i % len(MARKERS)],
            capsize=3,
            lw=1.5,
        )
    ax.set_xscale("log")
    ticks = sorted(set(100 * table["fraction"]))
    ax.set_xticks(ticks, [f"{t:g} %" for t in ticks])
    ax.axhline(0.5, color="0.5", ls=":", lw=1)
    ax.set(xlabel="labelled fraction of the training split", ylabel="macro AUROC (test split)")
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return fig
