"""Pretraining runs around the step of :mod:`threekg_lite.pretrain` (:class:`Pretrainer`)."""

from threekg_lite.training.trainer import CHECKPOINT, METRICS, Pretrainer, PretrainResult

__all__ = ["CHECKPOINT", "METRICS", "PretrainResult", "Pretrainer"]
