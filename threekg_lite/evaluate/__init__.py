"""Label-efficiency evaluation: linear probes and fine-tuning with 1-100 % of the labels
(:mod:`~threekg_lite.evaluate.downstream`), AUROC with bootstrap and paired intervals
(:mod:`~threekg_lite.evaluate.metrics`), the pretrain-then-evaluate experiments
(:mod:`~threekg_lite.evaluate.experiment`: ``from threekg_lite.evaluate.experiment import
EvalConfig, evaluate``), and the probes of what an encoder learned
(:mod:`~threekg_lite.evaluate.features`).
"""
