"""Label-efficiency evaluation: linear probes and fine-tuning with 1-100 % of the labels,
AUROC with paired bootstrap intervals, the pretrain-then-evaluate experiments, and the
probes of what an encoder learned (shortcuts).

The names of :mod:`~threekg_lite.evaluate.protocol`, the evaluation a reader calls, are
re-exported here (``from threekg_lite.evaluate import EvalConfig, evaluate``).
"""

from threekg_lite.evaluate.protocol import (
    FRACTIONS,
    EvalConfig,
    EvalRows,
    evaluate,
    load_results,
    paired_rows,
    plot_label_efficiency,
    read_json,
    run_evaluation,
    save_results,
    subgroup_table,
    summarise,
    validation_split,
    write_json,
)

__all__ = [
    "FRACTIONS",
    "EvalConfig",
    "EvalRows",
    "evaluate",
    "load_results",
    "paired_rows",
    "plot_label_efficiency",
    "read_json",
    "run_evaluation",
    "save_results",
    "subgroup_table",
    "summarise",
    "validation_split",
    "write_json",
]
