"""Label-efficiency evaluation: linear probes and fine-tuning with 1-100 % of the labels
(``downstream``), AUROC with bootstrap and paired intervals (``metrics``), the protocol
(``protocol``: ``EvalConfig``, ``evaluate``), the comparison that decides (``experiment``:
``run_comparison``, reference files) and probes of what an encoder learned (``features``)."""
