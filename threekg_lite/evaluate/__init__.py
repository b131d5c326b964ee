"""Label-efficiency evaluation: linear probes and fine-tuning with 1-100 % of the labels
(:mod:`~threekg_lite.evaluate.downstream`), AUROC with bootstrap and paired intervals
(:mod:`~threekg_lite.evaluate.metrics`), the label-efficiency protocol
(:mod:`~threekg_lite.evaluate.protocol`: ``EvalConfig``, ``evaluate``), the comparison that
decides (:mod:`~threekg_lite.evaluate.experiment`: ``run_comparison`` and its reference
files), and the probes of what an encoder learned (:mod:`~threekg_lite.evaluate.features`).
"""
