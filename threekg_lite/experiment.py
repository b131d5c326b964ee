"""The comparison that decides: every method and configuration, several pretraining seeds,
choices made on the validation fold, paired differences on the test fold.

:func:`run_comparison` does, in order:

1. pretrain one encoder per (augmentation, configuration, pretraining seed) on the pool
   (which never holds the test fold), and draw as many random encoders;
2. score every encoder on the *validation* fold (:func:`choose_on_validation`, which only
   ever sees the training and validation records) and choose, for each augmentation, the
   configuration with the best mean validation AUROC over the small fractions;
3. score every encoder on the *test* fold, and compare the chosen configurations paired:
   each augmentation minus the random encoder, 3KG minus generic SimCLR;
4. return everything as one JSON-ready dict (:func:`save_reference`), every configuration
   with its validation and test scores, not only the winners.

Configurations (:data:`CONFIGURATIONS`) are the choices on which the 3KG base code and this
package differ: two views of one crop (``"same-crop"``), one view of each of two different
5-s windows of the record (``"cross-crop"``), and the latter with the lead-wise encoder.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .evaluate import EvalConfig, evaluate, validation_split
from .pretrain import PretrainConfig, Pretrainer

CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "same-crop": {"crops_per_record": 1, "views_per_crop": 2},
    "cross-crop": {"crops_per_record": 2, "views_per_crop": 1},
    "cross-crop lead-wise": {"crops_per_record": 2, "views_per_crop": 1, "layout": "lead-wise"},
}
"""Named pretraining configurations: :class:`~threekg_lite.pretrain.PretrainConfig` fields
(and ``layout``, the model's :data:`~threekg_lite.models.LAYOUTS`) that differ from the run's
base config."""

METHODS: dict[str, str] = {
    "SimCLR (generic)": "generic",
    "3KG": "3kg",
    "3KG spatial only": "3kg-spatial",
    "3KG temporal only": "3kg-temporal",
}
"""Display name -> augmentation set of :func:`threekg_lite.pretrain.make_augmentation`."""

RANDOM = "random encoder"
"""The name of the randomly initialised baseline."""


@dataclass(frozen=True)
class ComparisonConfig:
    """What :func:`run_comparison` runs.

    Attributes
    ----------
    methods
        Names of :data:`METHODS` to pretrain.
    configurations
        Names of :data:`CONFIGURATIONS` tried for every method.
    pretrain_seeds
        Encoders per (method, configuration), and random encoders.
    pretrain
        The base pretraining config (steps, batch size, crop, model, ...); each
        configuration and seed replaces some of its fields.
    evaluation
        Fractions, label seeds, probe settings (:class:`~threekg_lite.evaluate.EvalConfig`).
    select_fractions
        Fractions whose mean validation AUROC chooses each method's configuration.
    """

    methods: tuple[str, ...] = tuple(METHODS)
    configurations: tuple[str, ...] = ("same-crop", "cross-crop")
    pretrain_seeds: int = 3
    pretrain: PretrainConfig = field(default_factory=lambda: PretrainConfig(model="tiny"))
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    select_fractions: tuple[float, ...] = (0.01, 0.05, 0.1)

    def __post_init__(self) -> None:
        for name in self.methods:
            if name not in METHODS:
                raise ValueError(f"unknown method {name!r}; known: {list(METHODS)}")
        for name in self.configurations:
            if name not in CONFIGURATIONS:
                raise ValueError(f"unknown configuration {name!r}; known: {list(CONFIGURATIONS)}")
        if not self.methods or not self.configurations:
            raise ValueError("need at least one method and one configuration")
        if self.pretrain_seeds < 1:
            raise ValueError(f"pretrain_seeds must be >= 1, got {self.pretrain_seeds}")
        if not set(self.select_fractions) <= set(self.evaluation.fractions):
            raise ValueError(
                f"select_fractions {self.select_fractions} must be among the evaluated "
                f"fractions {self.evaluation.fractions}"
            )


def pretrain_config(base: PretrainConfig, method: str, configuration: str, seed: int):
    """The :class:`PretrainConfig` of one run: ``base`` with the method's augmentation, the
    configuration's fields and the seed."""
    fields = dict(CONFIGURATIONS[configuration])
    layout = fields.pop("layout", None)
    model = base.model
    if layout is not None:
        from .models import PRESETS

        model = {**(PRESETS[model] if isinstance(model, str) else model), "layout": layout}
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
    """Score ``encoders`` on the validation part; the test part is never read.

    The records are cut to the training and validation parts *before* anything is computed,
    so no signal or label of the test part can take part (tested by corrupting it).
    Returns the rows of :func:`threekg_lite.evaluate.evaluate` on the validation part.
    """
    from .splits import Split

    keep = np.concatenate([split.train, split.val])
    inner = records.subset(keep)
    n_train = len(split.train)
    cut = Split(
        train=np.arange(n_train),
        val=np.arange(n_train, len(keep)),
        test=np.arange(0),
        description=split.description,
    )
    return list(
        evaluate(
            encoders, inner, validation_split(cut), task, config, device=device, progress=progress
        )
    )


def select(
    rows: Sequence[Mapping[str, Any]],
    options: Mapping[str, Sequence[str]],
    fractions: Sequence[float],
) -> dict[str, str]:
    """For each method, the option (row name) with the highest mean AUROC over ``fractions``
    (all seeds); ties go to the first option listed."""
    chosen = {}
    for method, names in options.items():
        means = []
        for name in names:
            values = [
                r["auroc"]
                for r in rows
                if r["method"] == name and any(math.isclose(r["fraction"], f) for f in fractions)
            ]
            if not values:
                raise ValueError(f"no validation rows for {name!r}")
            means.append(float(np.mean(values)))
        chosen[method] = names[int(np.argmax(means))]
    return chosen


def run_comparison(
    pool: Any,
    records: Any,
    split: Any,
    task: str,
    config: ComparisonConfig | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Pretrain, choose on the validation part, compare on the test part.

    Parameters
    ----------
    pool
        Records to pretrain on (without the test part: :func:`~threekg_lite.data.pool.load_source`
        leaves PTB-XL's fold 10 out).
    records, split, task
        The labelled records, their split (with a validation part) and the label task.

    Returns
    -------
    dict
        ``rows`` (``split`` "validation" or "test", ``method``, ``configuration``,
        ``fraction``, ``pretrain_seed``, ``label_seed``, ``n_labelled``, ``auroc``),
        ``paired`` (``method, baseline, fraction, runs, diff, ci_low, ci_high``; method and
        baseline as ``"name | configuration"`` row names), ``selected`` (method ->
        configuration), ``pretraining`` (loss, contrastive top-1 and seconds of every run).
    """
    from tqdm import tqdm

    from .models import build_model

    config = config or ComparisonConfig()
    base, seeds = config.pretrain, config.pretrain_seeds
    encoders: dict[str, list[Any]] = {
        RANDOM: [
            build_model(base.model, generator=torch.Generator().manual_seed(1000 + s)).eval()
            for s in range(seeds)
        ]
    }
    runs = [(m, c, s) for m in config.methods for c in config.configurations for s in range(seeds)]
    pretraining = []
    for method, configuration, seed in tqdm(runs, desc="pretrain", disable=not progress):
        cfg = pretrain_config(base, method, configuration, seed)
        trainer = Pretrainer(pool, cfg, device=device, progress=False)
        result = trainer.run()
        encoders.setdefault(method_name(method, configuration), []).append(trainer.model.eval())
        pretraining.append(
            {
                "method": method,
                "configuration": configuration,
                "pretrain_seed": seed,
                "loss": result.loss,
                "top1": result.top1,
                "seconds": result.seconds,
            }
        )

    options = {m: [method_name(m, c) for c in config.configurations] for m in config.methods}
    val_rows = choose_on_validation(
        encoders, records, split, task, config.evaluation, device=device, progress=progress
    )
    selected = select(val_rows, options, config.select_fractions)

    compare = [(name, RANDOM) for name in encoders if name != RANDOM]
    if "3KG" in selected and "SimCLR (generic)" in selected:
        compare.append((selected["3KG"], selected["SimCLR (generic)"]))
    test_rows = evaluate(
        encoders, records, split, task, config.evaluation, device, progress, compare=compare
    )
    rows = [_row("validation", r) for r in val_rows] + [_row("test", r) for r in test_rows]
    return {
        "rows": rows,
        "paired": _finite(test_rows.paired),
        "selected": {m: name.split(" | ", 1)[1] for m, name in selected.items()},
        "pretraining": pretraining,
        "config": _config_dict(config),
    }


def _row(part: str, r: Mapping[str, Any]) -> dict[str, Any]:
    method, _, configuration = r["method"].partition(" | ")
    return {
        "split": part,
        "method": method,
        "configuration": configuration or None,
        "fraction": r["fraction"],
        "pretrain_seed": int(r["pretrain_seed"]),
        "label_seed": int(r["seed"]),
        "n_labelled": int(r["n_labelled"]),
        "auroc": r["auroc"] if math.isfinite(r["auroc"]) else None,
    }


def _finite(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
        for r in rows
    ]


def _config_dict(config: ComparisonConfig) -> dict[str, Any]:
    out = asdict(config)
    out["configurations"] = {name: CONFIGURATIONS[name] for name in config.configurations}
    return out


# ------------------------------------------------------------------------- reference files

REFERENCE_KEYS = ("command", "git_sha", "hardware", "wall_s", "data", "rows", "paired")
"""Top-level keys every reference file (``book/results/<name>.json``) holds."""

ROW_KEYS = ("method", "configuration", "fraction", "pretrain_seed", "label_seed", "auroc")
PAIRED_KEYS = ("method", "baseline", "fraction", "diff", "ci_low", "ci_high")


def hardware() -> dict[str, Any]:
    """Where a run ran: processor, cores, torch threads and version, GPU if any."""
    info: dict[str, Any] = {
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_sha(folder: str | os.PathLike[str] | None = None) -> str | None:
    """The commit of the checkout holding this package (``None`` outside a git checkout);
    ``-dirty`` appended when tracked files differ from it."""
    where = Path(folder) if folder else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return sha + ("-dirty" if dirty else "")


def save_reference(path: str | os.PathLike[str], payload: Mapping[str, Any]) -> Path:
    """Write a reference file atomically after checking its schema (:func:`check_reference`)."""
    path = Path(path)
    check_reference(payload, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def load_reference(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a reference file; a bad one is a ``ValueError`` naming it."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable reference file ({e})") from e
    check_reference(payload, path)
    return payload


def check_reference(payload: Any, path: str | os.PathLike[str] = "<reference>") -> None:
    """Raise ``ValueError`` (naming ``path``) unless ``payload`` has the reference schema and
    its method and configuration names still exist in this package."""

    def fail(problem: str) -> None:
        raise ValueError(f"{path}: {problem}")

    if not isinstance(payload, Mapping):
        fail("not a JSON object")
    missing = [k for k in REFERENCE_KEYS if k not in payload]
    if missing:
        fail(f"missing keys {missing}")
    if not isinstance(payload["wall_s"], (int, float)) or payload["wall_s"] < 0:
        fail(f"wall_s must be a number of seconds, got {payload['wall_s']!r}")
    for key in ("records", "fs", "folds"):
        if key not in payload["data"]:
            fail(f"data has no {key!r}")
    known_methods = set(METHODS) | {RANDOM}
    for i, row in enumerate(payload["rows"]):
        absent = [k for k in ROW_KEYS if k not in row]
        if absent:
            fail(f"row {i} lacks {absent}")
        if row["method"] not in known_methods:
            fail(f"row {i}: method {row['method']!r} no longer exists")
        if row["configuration"] is not None and row["configuration"] not in CONFIGURATIONS:
            fail(f"row {i}: configuration {row['configuration']!r} no longer exists")
        auroc = row["auroc"]
        if auroc is not None and not (isinstance(auroc, (int, float)) and 0 <= auroc <= 1):
            fail(f"row {i}: auroc {auroc!r} is not in [0, 1]")
        if not 0 < row["fraction"] <= 1:
            fail(f"row {i}: fraction {row['fraction']!r} is not in (0, 1]")
    if not payload["rows"]:
        fail("no rows")
    for i, p in enumerate(payload["paired"]):
        absent = [k for k in PAIRED_KEYS if k not in p]
        if absent:
            fail(f"paired entry {i} lacks {absent}")
        for key in ("method", "baseline"):
            name, _, configuration = str(p[key]).partition(" | ")
            if name not in known_methods or (configuration and configuration not in CONFIGURATIONS):
                fail(f"paired entry {i}: {key} {p[key]!r} no longer exists")
        if p["diff"] is not None and not p["ci_low"] <= p["diff"] <= p["ci_high"]:
            fail(f"paired entry {i}: diff {p['diff']} outside its interval")


def reference_payload(
    result: Mapping[str, Any], command: str, wall_s: float, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The reference file's content: :func:`run_comparison`'s result with how it was made."""
    return {
        "command": command,
        "git_sha": git_sha(),
        "hardware": hardware(),
        "wall_s": round(float(wall_s), 1),
        "data": dict(data),
        **dict(result),
    }
