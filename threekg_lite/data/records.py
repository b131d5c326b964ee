"""The in-memory form of a database: equal-length 12-lead ECGs (:class:`ECGRecords`) with ids,
metadata and any number of multi-hot label sets ("tasks", :class:`LabelSet`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from threekg_lite.leads import LEAD_NAMES


@dataclass(frozen=True)
class LabelSet:
    """Class names (C) and an ``(N, C)`` bool matrix: ``y[n, c]`` when record n has class c."""

    names: tuple[str, ...]
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.y.ndim != 2 or self.y.shape[1] != len(self.names):
            raise ValueError(
                f"label matrix of shape {self.y.shape} does not match {len(self.names)} class names"
            )

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Iterable[Iterable[object]]) -> LabelSet:
        """The label set over ``names`` of records whose classes are ``rows`` (one iterable
        per record; values that are not in ``names`` are ignored)."""
        col = {name: j for j, name in enumerate(names)}
        hits = [[col[c] for c in classes if c in col] for classes in rows]
        y = np.zeros((len(hits), len(col)), dtype=bool)
        for n, cols in enumerate(hits):
            y[n, cols] = True
        return cls(tuple(names), y)

    def counts(self) -> pd.Series:
        """Number of records carrying each class."""
        return pd.Series(self.y.sum(axis=0).astype(int), index=list(self.names), name="records")

    def subset(self, index: np.ndarray) -> LabelSet:
        return LabelSet(self.names, self.y[index])


@dataclass
class ECGRecords:
    """Equal-length 12-lead ECGs with ids and labels: ``signals`` ``(N, 12, T)`` float32 mV in
    :data:`~threekg_lite.leads.LEAD_NAMES` order at ``fs`` Hz; ``record_ids`` and
    ``patient_ids`` ``(N,)`` str (the record id where a database has no patients);
    ``labels``: task -> :class:`LabelSet`; ``meta``: one row per record; ``aux``: other signals,
    name -> ``(N, k, T)`` mV (PTB's Frank leads); ``problems``: record id -> its NaN or
    flat-line leads, for records the loader dropped or kept."""

    signals: np.ndarray
    fs: float
    record_ids: np.ndarray
    patient_ids: np.ndarray
    labels: dict[str, LabelSet] = field(default_factory=dict)
    meta: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str = ""
    aux: dict[str, np.ndarray] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    lead_names: tuple[str, ...] = LEAD_NAMES

    def __post_init__(self) -> None:
        n = self.signals.shape[0]
        if self.signals.ndim != 3 or self.signals.shape[1] != 12:
            raise ValueError(f"signals must be (N, 12, T), got {self.signals.shape}")
        for name, arr in (("record_ids", self.record_ids), ("patient_ids", self.patient_ids)):
            if len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} entries for {n} records")
        for task, ls in self.labels.items():
            if ls.y.shape[0] != n:
                raise ValueError(f"labels[{task!r}] has {ls.y.shape[0]} rows for {n} records")
        for name, arr in self.aux.items():
            if arr.shape[0] != n or arr.shape[-1] != self.signals.shape[-1]:
                raise ValueError(f"aux[{name!r}] of shape {arr.shape} does not match {n} records")
        if len(self.meta) not in (0, n):
            raise ValueError(f"meta has {len(self.meta)} rows for {n} records")

    def __len__(self) -> int:
        return self.signals.shape[0]

    @property
    def n_samples(self) -> int:
        """Samples per lead, T."""
        return self.signals.shape[-1]

    @property
    def duration(self) -> float:
        """Seconds per record."""
        return self.n_samples / self.fs

    def y(self, task: str) -> np.ndarray:
        """The ``(N, C)`` bool label matrix of one task."""
        try:
            return self.labels[task].y
        except KeyError:
            raise KeyError(f"no label task {task!r}; this data has {sorted(self.labels)}") from None

    def subset(self, index: Sequence[int] | np.ndarray) -> ECGRecords:
        """The records at ``index`` (integer positions or a boolean mask), as a new object."""
        index = np.asarray(index)
        index = np.flatnonzero(index) if index.dtype == bool else index.astype(np.intp)
        return replace(
            self,
            signals=self.signals[index],
            record_ids=self.record_ids[index],
            patient_ids=self.patient_ids[index],
            labels={k: v.subset(index) for k, v in self.labels.items()},
            meta=self.meta.iloc[index].reset_index(drop=True) if len(self.meta) else self.meta,
            aux={k: v[index] for k, v in self.aux.items()},
            problems=dict(self.problems),
        )

    def __repr__(self) -> str:
        tasks = ", ".join(f"{k}[{len(v.names)}]" for k, v in self.labels.items())
        problems = f"; {len(self.problems)} record(s) with NaN or flat-line leads, see .problems"
        return (
            f"ECGRecords(source={self.source!r}, n={len(self)}, leads=12, "
            f"fs={self.fs:g} Hz, T={self.n_samples} ({self.duration:g} s), "
            f"labels: {tasks or 'none'}" + (problems if self.problems else "") + ")"
        )
