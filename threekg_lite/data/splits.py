"""Train / validation / test splits (:class:`Split`: positions into one record set) and the
labelled subsets of the label-efficiency evaluation. The CinC 2020/2021 data contain all of
PTB-XL as ``HR<ecg_id>``, so a model pretrained on CinC has seen PTB-XL's test set unless
:func:`deduplicate` finds those records."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from threekg_lite.data.records import ECGRecords
from threekg_lite.runtime.checks import check_int, check_labels, seeded_rng

PARTS = ("train", "val", "test")

PTBXL_TRAIN_FOLDS = (1, 2, 3, 4, 5, 6, 7, 8)
PTBXL_VAL_FOLDS = (9,)
PTBXL_TEST_FOLDS = (10,)


@dataclass(frozen=True, eq=False)
class Split:
    """``(n_part,)`` int64 positions of the train, validation (may be empty) and test records
    in one :class:`ECGRecords`, and how the split was made."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    description: str = ""

    def __post_init__(self) -> None:
        for name in PARTS:
            arr = np.asarray(getattr(self, name))
            if arr.ndim != 1:
                raise ValueError(f"Split.{name} must be 1-D positions, got shape {arr.shape}")
            if arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise ValueError(
                    f"Split.{name} must hold integer positions, got dtype {arr.dtype} "
                    "(convert a boolean mask with numpy.flatnonzero)"
                )
            object.__setattr__(self, name, arr.astype(np.int64))

    def parts(self) -> dict[str, np.ndarray]:
        """Part name -> positions."""
        return {name: getattr(self, name) for name in PARTS}

    def sizes(self) -> dict[str, int]:
        """Part name -> number of records."""
        return {name: len(idx) for name, idx in self.parts().items()}

    def check_disjoint(self, records: ECGRecords) -> None:
        """Raise ``ValueError`` unless the positions fit ``records`` and the parts are disjoint,
        in records and in patients."""
        n = len(records)
        for name, idx in self.parts().items():
            bad = idx[(idx < 0) | (idx >= n)]
            if bad.size:
                raise ValueError(
                    f"Split.{name} has positions {bad[:5].tolist()} outside 0..{n - 1}: the "
                    "split was made for another record set"
                )
        every = np.concatenate(list(self.parts().values()))
        values, counts = np.unique(every, return_counts=True)
        if (counts > 1).any():
            raise ValueError(
                f"positions {values[counts > 1][:5].tolist()} appear more than once in the "
                "split: each record must be in exactly one part, once"
            )
        owner: dict[str, str] = {}
        for name, idx in self.parts().items():
            for patient in np.unique(np.asarray(records.patient_ids)[idx].astype(str)).tolist():
                other = owner.setdefault(patient, name)
                if other != name:
                    raise ValueError(
                        f"patient {patient!r} has records in both {other} and {name}: the "
                        "split is not patient-disjoint (use patient_split or ptbxl_split)"
                    )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes().items())
        return f"Split({sizes}; {self.description})"


def ptbxl_split(records: ECGRecords) -> Split:
    """PTB-XL's recommended split of records from ``load_ptbxl``: ``strat_fold`` 1-8 train, 9
    validation (may be absent), 10 test (Wagner et al. 2020). Its authors put each patient's
    records in one fold, so the split is patient-disjoint."""
    if "strat_fold" not in records.meta.columns:
        raise ValueError(
            "records.meta has no 'strat_fold' column: ptbxl_split needs PTB-XL records as "
            "loaded by load_ptbxl; for other databases use patient_split"
        )
    folds = np.asarray(records.meta["strat_fold"], dtype=float)
    if len(folds) != len(records):
        raise ValueError(f"meta has {len(folds)} rows for {len(records)} records")
    bad = ~np.isin(folds, np.arange(1, 11))
    if bad.any():
        raise ValueError(
            f"{bad.sum()} record(s) have strat_fold values {sorted(set(folds[bad].tolist()))[:5]}"
            " that are not folds 1-10 (nan: no fold): drop them first"
        )
    present = sorted(set(folds.astype(int).tolist()))
    wanted = dict(zip(PARTS, (PTBXL_TRAIN_FOLDS, PTBXL_VAL_FOLDS, PTBXL_TEST_FOLDS)))
    parts = {name: np.flatnonzero(np.isin(folds, f)) for name, f in wanted.items()}
    for name in ("train", "test"):
        if parts[name].size == 0:
            raise ValueError(
                f"no record of fold(s) {list(wanted[name])} ({name}): these records hold folds "
                f"{present}; load more of PTB-XL or use patient_split"
            )
    description = f"PTB-XL strat_fold: train 1-8, val 9, test 10 (folds present: {present})"
    if parts["val"].size == 0:
        description += "; no fold-9 record, so no validation part"
    return Split(**parts, description=description)


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or not np.isfinite(f).all() or (f < 0).any():
        raise ValueError(
            f"fractions must be three non-negative numbers (train, val, test), got {fractions}"
        )
    if abs(f.sum() - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {fractions} (sum {f.sum():g})")
    if f[0] == 0 or f[2] == 0:
        raise ValueError(f"the train and test fractions must be > 0, got {fractions}")
    return f


def patient_split(
    records: ECGRecords,
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int | np.random.Generator = 0,
    task: str | None = None,
) -> Split:
    """A seeded split, about ``fractions`` (train, val, test; val may be 0) of the records in
    each part, every patient's records in one. On patients, shuffled with ``seed`` (an int or
    a Generator): (1) with ``task``, for each class from the rarest and each part (train, test,
    val) still without it, move one of its unassigned patients there, so a class with two or
    more patients reaches train and test unless rarer classes took them; (2) give the other
    patients, in shuffled order, to the part furthest below its target; (3) with ``task``, move
    a patient of a class still missing from train or test from a part holding two or more, if
    that takes no such class away; a ``UserWarning`` names what stays missing."""
    f = _check_fractions(fractions)
    rng = seeded_rng(seed)  # a Generator is used as is
    patients, inverse = np.unique(np.asarray(records.patient_ids).astype(str), return_inverse=True)
    n_parts_needed = int((f > 0).sum())
    if len(patients) < n_parts_needed:
        raise ValueError(
            f"{len(patients)} patient(s) cannot fill {n_parts_needed} parts: a patient-disjoint "
            "split needs at least one patient per part"
        )
    sizes = np.bincount(inverse, minlength=len(patients))
    order = rng.permutation(len(patients))
    part_of = np.full(len(patients), -1)  # 0 train, 1 val, 2 test (PARTS order)
    target = f * len(records)
    assigned = np.zeros(3)

    def give(p: int, k: int) -> None:
        part_of[p] = k
        assigned[k] += sizes[p]

    has = None
    if task is not None:
        y = np.asarray(records.y(task), dtype=bool)
        has = np.zeros((len(patients), y.shape[1]), dtype=bool)  # (P, C)
        np.logical_or.at(has, inverse, y)
        priority = [k for k in (0, 2, 1) if f[k] > 0]  # train, test, val
        for c in np.argsort(has.sum(axis=0), kind="stable"):
            carriers = order[has[order, c]]  # this class's patients, in shuffled order
            for k in priority:
                if (part_of[carriers] == k).any():
                    continue
                free = carriers[part_of[carriers] == -1]
                if free.size == 0:
                    break
                give(int(free[0]), k)
    for p in order:
        if part_of[p] == -1:
            give(int(p), int(np.argmax(np.where(f > 0, target - assigned, -np.inf))))
    if has is not None:
        _repair_coverage(has, part_of, order, task)
    index = part_of[inverse]
    parts = {name: np.flatnonzero(index == k) for k, name in enumerate(PARTS)}
    empty = [name for k, name in enumerate(PARTS) if f[k] > 0 and parts[name].size == 0]
    if empty:
        raise ValueError(
            f"the {' and '.join(empty)} part(s) got no record: {len(patients)} patient(s) are "
            f"too few for fractions {tuple(f.tolist())}; use more data or larger fractions"
        )
    how = "generator" if isinstance(seed, np.random.Generator) else f"seed {seed}"
    description = (
        f"patient-disjoint split ({how}), target fractions train/val/test "
        f"{f[0]:g}/{f[1]:g}/{f[2]:g}" + (f", classes of {task!r} spread first" if task else "")
    )
    return Split(**parts, description=description)


def _repair_coverage(has: np.ndarray, part_of: np.ndarray, order: np.ndarray, task: str) -> None:
    """Step (3) of :func:`patient_split`; ``has`` ``(P, C)``, ``part_of`` ``(P,)`` updated."""
    needed = has.sum(axis=0) >= 2  # (C,) classes that can be in both train and test
    missing: list[str] = []
    for c in np.flatnonzero(needed):
        for k in (0, 2):  # train, test
            if has[part_of == k, c].any():
                continue
            for p in order[has[order, c]]:
                q = part_of[p]
                if q == k or has[part_of == q, c].sum() < 2:
                    continue
                # the donor part must keep every needed class of p that it has to keep
                others = has[(part_of == q) & (np.arange(len(part_of)) != p)].any(axis=0)
                if q in (0, 2) and (has[p] & needed & ~others).any():
                    continue
                part_of[p] = k
                break
            else:
                missing.append(f"class {c} not in {PARTS[k]}")
    if missing:
        warnings.warn(
            f"patient_split could not place every class of task {task!r} with >= 2 patients "
            f"in both train and test ({'; '.join(missing)}): its patients are needed "
            "elsewhere by rarer classes",
            UserWarning,
            stacklevel=3,
        )


def label_fraction(
    y_train: np.ndarray,
    fraction: float,
    seed: int | np.random.Generator,
    min_per_class: int = 1,
    strict: bool = False,
) -> np.ndarray:
    """``(n,)`` int64 sorted positions of ``round(fraction * N)`` records of ``y_train`` ``(N,
    C)`` (at least one) to label, in which every class has ``min_per_class`` positives (all of
    them where it has fewer): classes from the rarest get random positives first, random
    records fill the rest. When covering the classes needs more records than asked, that
    larger set is returned with a ``UserWarning`` (``strict``: a ``ValueError``). Subsets of
    different fractions are not nested."""
    y = check_labels(y_train, "y_train")
    n = y.shape[0]
    if n == 0:
        raise ValueError("y_train has no rows: there are no training records to choose from")
    number = isinstance(fraction, (int, float, np.number)) and not isinstance(fraction, bool)
    if not (number and 0 < fraction <= 1):
        raise ValueError(f"fraction must be a number in (0, 1], got {fraction!r}")
    min_per_class = check_int("min_per_class", min_per_class, 0)
    rng = seeded_rng(seed)
    if fraction == 1:
        return np.arange(n, dtype=np.int64)
    n_target = max(1, int(np.floor(fraction * n + 0.5)))

    chosen = np.zeros(n, dtype=bool)
    positives = y.sum(axis=0)  # (C,)
    for c in np.argsort(positives, kind="stable"):
        need = min(min_per_class, int(positives[c])) - int(y[chosen, c].sum())
        if need > 0:
            chosen[rng.choice(np.flatnonzero(y[:, c] & ~chosen), size=need, replace=False)] = True
    n_cover = int(chosen.sum())
    if n_cover > n_target:
        msg = (
            f"{fraction:g} of {n} records is {n_target} record(s), but covering every class "
            f"with {min_per_class} positive(s) needs {n_cover}"
        )
        if strict:
            raise ValueError(
                f"{msg}: use a larger fraction, a smaller min_per_class, or strict=False to "
                "accept the larger subset"
            )
        warnings.warn(msg + f"; returning those {n_cover} records", UserWarning, stacklevel=2)
    else:
        chosen[rng.choice(np.flatnonzero(~chosen), size=n_target - n_cover, replace=False)] = True
    return np.flatnonzero(chosen).astype(np.int64)


_CINC_PTBXL = re.compile(r"HR(\d+)")
_PTBXL_ID = re.compile(r"(\d+)(?:_[lh]r)?")


def normalise_record_id(source: str, record_id: str) -> str:
    """One name per ECG across databases, ``"<database>:<id>"``: PTB-XL's records, as
    ``"42"``, ``"00042_lr"`` or CinC's ``"HR00042"``, are all ``"ptbxl:42"``; an id already
    prefixed (:func:`~.sources.concat_records`) is normalised by its prefix."""
    record_id = str(record_id).strip()
    if ":" in record_id:
        return normalise_record_id(*record_id.split(":", 1))
    source = str(source).strip().lower()
    if not source:
        raise ValueError(
            f"record id {record_id!r} has no 'source:' prefix and no source was given: "
            "say which database it comes from (e.g. 'ptbxl' or 'cinc')"
        )
    cinc_copy = source.startswith("cinc") and _CINC_PTBXL.fullmatch(record_id)
    m = cinc_copy or (source == "ptbxl" and _PTBXL_ID.fullmatch(record_id))
    if m:
        return f"ptbxl:{int(m.group(1))}"
    return f"{source}:{record_id}"


def deduplicate(
    pretrain_ids: Sequence[str] | np.ndarray,
    test_ids: Sequence[str] | np.ndarray,
    *,
    pretrain_source: str = "",
    test_source: str = "",
) -> np.ndarray:
    """``(N,)`` bool: which pretraining records are test records too, by :func:`normalise_record_id`
    (CinC's ``HR00042`` is PTB-XL's ``42``). Ids without a ``"source:"`` prefix need
    ``pretrain_source`` / ``test_source``: LUDB and PTB-XL both have a record ``"1"``."""
    pre = _normalised(pretrain_ids, pretrain_source, "pretrain")
    test = set(_normalised(test_ids, test_source, "test"))
    return np.fromiter((i in test for i in pre), dtype=bool, count=len(pre))


def _normalised(ids: Sequence[str] | np.ndarray, source: str, which: str) -> list[str]:
    arr = np.asarray(ids).astype(str)
    if arr.ndim != 1:
        raise ValueError(f"{which}_ids must be a 1-D sequence of ids, got shape {arr.shape}")
    bare = [] if source else [i for i in arr if ":" not in i]
    if bare:
        raise ValueError(
            f"{which} id {bare[0]!r} has no 'source:' prefix: pass {which}_source= the "
            "database these ids come from (e.g. 'ptbxl', 'cinc' or records.source)"
        )
    return [normalise_record_id(source, i) for i in arr]
