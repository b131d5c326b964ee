"""The database loaders on the real shared data, against counts and labels computed here from
the databases' own tables with plain ``csv`` / ``ast`` (and the data README's known counts)."""

from __future__ import annotations

import ast
import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb
from scipy import signal as sps

from threekg_lite.data import paths
from threekg_lite.data.cinc import SCORED_CLASSES, load_cinc
from threekg_lite.data.ludb import load_ludb, load_ludb_annotations
from threekg_lite.data.ptbdb import load_ptbdb
from threekg_lite.data.ptbxl import load_ptbxl
from threekg_lite.data.wfdb_io import read_ecg
from threekg_lite.runtime.errors import DataNotFoundError, ECGFormatError

STANDARD = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _classes(labels, task: str, row: int) -> set[str]:
    ls = labels[task]
    return {name for name, on in zip(ls.names, ls.y[row]) if on}


# =============================================================================================
# PTB-XL


# ``ptbxl_csv_rows`` (the complete official table), ``ptbxl_ids_on_disk`` and ``ptbxl_rows``
# (the table's rows whose 100 Hz record is on disk) come from conftest.py: the shared folder is
# a partial mirror, so the expected records are the table's rows whose files exist.


@pytest.fixture(scope="module")
def ptbxl_reference(data_dir, ptbxl_rows) -> dict[str, dict[str, set[str]]]:
    """ecg_id -> task -> set of class names of the records on disk, from the two CSV files with
    csv and ast only."""
    with open(data_dir / "ptb-xl" / "scp_statements.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    statements = {r[0]: dict(zip(head, r)) for r in rows[1:]}
    out = {}
    for row in ptbxl_rows:
        tasks: dict[str, set[str]] = {t: set() for t in ("superclass", "subclass", "diagnostic")}
        tasks |= {"form": set(), "rhythm": set()}
        for code in ast.literal_eval(row["scp_codes"]):
            s = statements.get(code)
            if s is None:
                continue
            if s["diagnostic"] == "1.0":
                tasks["superclass"].add(s["diagnostic_class"])
                tasks["subclass"].add(s["diagnostic_subclass"])
                tasks["diagnostic"].add(code)
            if s["form"] == "1.0":
                tasks["form"].add(code)
            if s["rhythm"] == "1.0":
                tasks["rhythm"].add(code)
        out[row["ecg_id"]] = tasks
    return out


@pytest.fixture(scope="module")
def ptbxl100(data_dir):
    return load_ptbxl(data_dir, progress=False)


def test_ptbxl_100hz_loads_every_record(ptbxl100, ptbxl_rows, ptbxl_csv_rows, ptbxl_ids_on_disk):
    # the premise: a partial mirror. The table is PhysioNet's complete one (21,837 records),
    # the records on disk are ecg_id 1-1999 at 100 Hz (1-500 at 500 Hz), all listed in it.
    listed = [int(r["ecg_id"]) for r in ptbxl_csv_rows]
    assert len(listed) == len(set(listed)) == 21837
    assert ptbxl_ids_on_disk[100] == set(range(1, 2000))
    assert ptbxl_ids_on_disk[500] == set(range(1, 501))
    assert ptbxl_ids_on_disk[100] < set(listed) and ptbxl_ids_on_disk[500] < set(listed)
    # loading gives exactly the records on disk, in the table's order, and nothing else
    assert len(ptbxl100) == 1999 == len(ptbxl_rows) < len(ptbxl_csv_rows)
    assert ptbxl100.signals.shape == (1999, 12, 1000)
    assert ptbxl100.signals.dtype == np.float32
    assert ptbxl100.fs == 100.0
    assert ptbxl100.source == "ptbxl"
    assert ptbxl100.problems == {}
    assert list(ptbxl100.record_ids) == [r["ecg_id"] for r in ptbxl_rows]
    assert set(ptbxl100.record_ids.astype(int)) == ptbxl_ids_on_disk[100]
    assert list(ptbxl100.record_ids[:3]) == ["1", "2", "3"]


def test_ptbxl_100hz_signals_are_the_files(ptbxl100, data_dir):
    for pos in (0, 1, 998, 1998):
        ecg_id = int(ptbxl100.record_ids[pos])
        path = (
            data_dir / "ptb-xl" / "records100" / f"{ecg_id // 1000 * 1000:05d}" / f"{ecg_id:05d}_lr"
        )
        np.testing.assert_array_equal(ptbxl100.signals[pos], read_ecg(path).signals)


def test_ptbxl_superclass_counts(ptbxl100, ptbxl_reference):
    assert len(ptbxl_reference) == 1999  # the records on disk, not the table's 21,837
    counts = ptbxl100.labels["superclass"].counts().to_dict()
    independent = Counter(c for t in ptbxl_reference.values() for c in t["superclass"])
    assert counts == dict(independent)
    # the data README's numbers
    assert counts == {"NORM": 1055, "STTC": 470, "CD": 412, "MI": 372, "HYP": 217}
    assert int((~ptbxl100.y("superclass").any(axis=1)).sum()) == 23
    assert sum(not t["superclass"] for t in ptbxl_reference.values()) == 23


@pytest.mark.parametrize("task", ["superclass", "subclass", "diagnostic", "form", "rhythm"])
def test_ptbxl_every_task_matches_independent_labels(ptbxl100, ptbxl_reference, data_dir, task):
    ls = ptbxl100.labels[task]
    assert ls.y.dtype == bool and ls.y.shape == (1999, len(ls.names))
    assert len(set(ls.names)) == len(ls.names)
    # class list: every class the statements file defines for this task
    with open(data_dir / "ptb-xl" / "scp_statements.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    column = {"superclass": "diagnostic", "subclass": "diagnostic", "diagnostic": "diagnostic"}
    flag = column.get(task, task)
    chosen = [r for r in rows if r[flag] == "1.0"]
    key = {"superclass": "diagnostic_class", "subclass": "diagnostic_subclass"}.get(task, "")
    expected_names = {r[key] for r in chosen} if key else {r[""] for r in chosen}
    assert set(ls.names) == expected_names
    mismatches = [
        rid
        for n, rid in enumerate(ptbxl100.record_ids)
        if _classes(ptbxl100.labels, task, n) != ptbxl_reference[rid][task]
    ]
    assert mismatches == []
    assert ls.y.any()


def test_ptbxl_min_likelihood(data_dir, ptbxl_rows):
    rec = load_ptbxl(data_dir, ecg_ids=range(1, 201), min_likelihood=100, progress=False)
    with open(data_dir / "ptb-xl" / "scp_statements.csv", newline="", encoding="utf-8") as f:
        statements = {r[""]: r for r in csv.DictReader(f)}
    expected = []
    for row in ptbxl_rows[:200]:
        codes = ast.literal_eval(row["scp_codes"])
        expected.append(
            {
                statements[c]["diagnostic_class"]
                for c, lik in codes.items()
                if lik >= 100 and c in statements and statements[c]["diagnostic"] == "1.0"
            }
        )
    got = [_classes(rec.labels, "superclass", n) for n in range(200)]
    assert got == expected
    # the threshold matters on these records: likelihood 0 codes would add classes
    any_likelihood = load_ptbxl(data_dir, ecg_ids=range(1, 201), progress=False)
    assert sum(map(len, got)) < any_likelihood.y("superclass").sum()


def test_ptbxl_folds(ptbxl100, ptbxl_rows, ptbxl_csv_rows, data_dir):
    counts = Counter(int(r["strat_fold"]) for r in ptbxl_rows)
    assert sorted(counts) == list(range(1, 11))
    # (the data README says 173-255 per fold, but fold 6 has 156 of the records on disk)
    assert sum(counts.values()) == 1999 and min(counts.values()) > 150
    assert Counter(ptbxl100.meta["strat_fold"].astype(int)) == counts
    # folds= selects among the records on disk: the table's absent rows of folds 9 and 10
    # (far more than those present) are left out, not an error
    held_out = load_ptbxl(data_dir, folds=[9, 10], progress=False)
    expected = [r["ecg_id"] for r in ptbxl_rows if r["strat_fold"] in ("9", "10")]
    listed = [r["ecg_id"] for r in ptbxl_csv_rows if r["strat_fold"] in ("9", "10")]
    assert len(listed) > len(expected)
    assert list(held_out.record_ids) == expected
    assert len(held_out) == counts[9] + counts[10]
    assert set(held_out.meta["strat_fold"].astype(int)) == {9, 10}
    pos = {rid: i for i, rid in enumerate(ptbxl100.record_ids)}
    idx = [pos[r] for r in expected]
    np.testing.assert_array_equal(held_out.signals, ptbxl100.signals[idx])
    np.testing.assert_array_equal(held_out.y("subclass"), ptbxl100.y("subclass")[idx])


def test_ptbxl_meta(ptbxl100, ptbxl_rows):
    meta = ptbxl100.meta
    assert len(meta) == 1999
    assert list(meta["ecg_id"]) == [int(r["ecg_id"]) for r in ptbxl_rows]
    assert list(meta["filename"]) == [r["filename_lr"] for r in ptbxl_rows]
    assert list(meta["strat_fold"].astype(int)) == [int(r["strat_fold"]) for r in ptbxl_rows]
    ages = [float(r["age"]) if r["age"] else np.nan for r in ptbxl_rows]
    np.testing.assert_array_equal(meta["age"].to_numpy(dtype=float), ages)
    assert list(meta["sex"].astype(int)) == [int(r["sex"]) for r in ptbxl_rows]


def test_ptbxl_patient_ids(ptbxl100, ptbxl_rows):
    expected = [str(int(float(r["patient_id"]))) for r in ptbxl_rows]
    assert list(ptbxl100.patient_ids) == expected
    assert len(set(ptbxl100.patient_ids)) == 1857


def test_ptbxl_500hz_loads_its_500_records(data_dir):
    rec = load_ptbxl(data_dir, fs=500, progress=False)
    assert len(rec) == 500
    assert rec.signals.shape == (500, 12, 5000)
    assert rec.fs == 500.0
    assert list(rec.record_ids) == [str(i) for i in range(1, 501)]
    for pos in (0, 499):
        path = data_dir / "ptb-xl" / "records500" / "00000" / f"{pos + 1:05d}_hr"
        np.testing.assert_array_equal(rec.signals[pos], read_ecg(path).signals)


def test_ptbxl_250hz_is_resampled_from_500hz(data_dir):
    rec = load_ptbxl(data_dir, fs=250, ecg_ids=[1, 2, 3, 500], progress=False)
    assert rec.signals.shape == (4, 12, 2500)
    assert rec.fs == 250.0
    for pos, ecg_id in enumerate((1, 2, 3, 500)):
        path = data_dir / "ptb-xl" / "records500" / "00000" / f"{ecg_id:05d}_hr"
        ref = sps.resample_poly(wfdb.rdrecord(str(path)).p_signal.T, 1, 2, axis=-1)
        np.testing.assert_allclose(rec.signals[pos], ref, atol=2e-5)


def test_ptbxl_ecg_ids_order_is_kept(ptbxl100, data_dir):
    wanted = [17, 3, 1999, 250, 4]
    rec = load_ptbxl(data_dir, ecg_ids=wanted, progress=False)
    assert list(rec.record_ids) == [str(i) for i in wanted]
    assert list(rec.meta["ecg_id"]) == wanted
    pos = {rid: i for i, rid in enumerate(ptbxl100.record_ids)}
    idx = [pos[str(i)] for i in wanted]
    np.testing.assert_array_equal(rec.signals, ptbxl100.signals[idx])
    np.testing.assert_array_equal(rec.patient_ids, ptbxl100.patient_ids[idx])
    for task in ptbxl100.labels:
        np.testing.assert_array_equal(rec.y(task), ptbxl100.y(task)[idx])


def test_ptbxl_unknown_ids_are_a_clear_error(data_dir, ptbxl_csv_rows, ptbxl_ids_on_disk):
    listed = {int(r["ecg_id"]) for r in ptbxl_csv_rows}
    folder = data_dir / "ptb-xl"
    # 5000 and 5001: rows of the complete table whose records this partial mirror lacks
    assert {5000, 5001} <= listed and not {5000, 5001} & ptbxl_ids_on_disk[100]
    with pytest.raises(
        DataNotFoundError,
        match=r"^2 requested PTB-XL record\(s\) at 100 Hz are missing from "
        + re.escape(f"{folder} (e.g. ecg_id [5000, 5001])"),
    ):
        load_ptbxl(data_dir, ecg_ids=[1, 5000, 5001], progress=False)
    # 99999: no PTB-XL record at all; the table is named, and it is not a missing-data error
    assert 99999 not in listed
    with pytest.raises(
        ValueError,
        match=r"^ecg_id\(s\) \[99999\] not in " + re.escape(str(folder / "ptbxl_database.csv")),
    ) as err:
        load_ptbxl(data_dir, ecg_ids=[1, 99999], progress=False)
    assert not isinstance(err.value, DataNotFoundError)


def test_ptbxl_ids_without_files_at_that_rate_are_a_clear_error(data_dir):
    with pytest.raises(DataNotFoundError, match=r"600") as err:
        load_ptbxl(data_dir, fs=500, ecg_ids=[1, 600], progress=False)
    assert "500 Hz" in str(err.value)
    assert str(data_dir / "ptb-xl") in str(err.value)


# =============================================================================================
# CinC 2020/2021 sample

CINC_BAD = ("JS11438", "JS20004", "JS20008")


def _cinc_headers(folder: Path) -> dict[str, list[str]]:
    return {p.stem: p.read_text().splitlines() for p in sorted(folder.glob("*.hea"))}


@pytest.fixture(scope="module")
def cinc(data_dir):
    return load_cinc(data_dir, progress=False)


def test_cinc_default_drops_the_flat_lead_records(cinc, data_dir):
    folder = data_dir / "cinc2021-sample"
    names = sorted(_cinc_headers(folder))
    assert len(names) == 156
    # independent: a record is bad when one of its rows in the .mat is constant
    flat = {
        n
        for n in names
        if (np.ptp(scipy.io.loadmat(str(folder / f"{n}.mat"))["val"], axis=1) == 0).any()
    }
    assert flat == set(CINC_BAD)
    assert len(cinc) == 153
    assert cinc.signals.shape == (153, 12, 5000)
    assert list(cinc.record_ids) == [n for n in names if n not in flat]
    assert set(cinc.problems) == set(CINC_BAD)
    assert all("V2: flat" in cinc.problems[n] for n in CINC_BAD)
    assert "V1: flat" in cinc.problems["JS11438"]


def test_cinc_raise_names_the_first_bad_record(data_dir):
    with pytest.raises(ECGFormatError, match="JS11438") as err:
        load_cinc(data_dir, on_bad_lead="raise", progress=False)
    assert "V1" in str(err.value)


def test_cinc_keep(data_dir, cinc):
    kept = load_cinc(data_dir, on_bad_lead="keep", progress=False)
    assert len(kept) == 156
    assert set(kept.problems) == set(CINC_BAD)
    pos = list(kept.record_ids).index("JS11438")
    assert (np.ptp(kept.signals[pos, 6:], axis=-1) == 0).all()
    sources = Counter(kept.meta["source"])
    assert sources == {"Georgia": 60, "Chapman-Shaoxing/Ningbo": 65, "PTB-XL": 27, "CPSC": 4}
    assert Counter(cinc.meta["source"])["Chapman-Shaoxing/Ningbo"] == 62


def test_cinc_scored_labels_match_dx_lines(cinc, data_dir):
    folder = data_dir / "cinc2021-sample"
    mapping = _read_csv(folder / "dx_mapping_scored_2020.csv")
    assert len(mapping) == 27
    groups = set()
    for row in mapping:  # merge the pairs the Notes column names
        groups.add(frozenset({row["SNOMED CT Code"], *re.findall(r"\d{6,}", row["Notes"])}))
    assert len(groups) == 24
    assert sum(len(g) for g in groups) == 27
    package_groups = {abbr: frozenset(codes) for abbr, codes, _ in SCORED_CLASSES}
    assert set(package_groups.values()) == groups
    assert cinc.labels["scored"].names == tuple(package_groups)

    headers = _cinc_headers(folder)
    dx = {}
    for name, lines in headers.items():
        (line,) = [ln for ln in lines if ln.startswith("#Dx:")]
        dx[name] = {c.strip() for c in line[len("#Dx:") :].split(",")}
    expected_counts = {}
    for abbr, group in package_groups.items():
        expected_counts[abbr] = sum(bool(dx[n] & group) for n in cinc.record_ids)
    assert cinc.labels["scored"].counts().to_dict() == expected_counts
    assert sum(expected_counts.values()) > 100
    for n, name in enumerate(cinc.record_ids):
        expected = {abbr for abbr, g in package_groups.items() if dx[name] & g}
        assert _classes(cinc.labels, "scored", n) == expected, name


def test_cinc_meta_age_sex_dx(cinc, data_dir):
    headers = _cinc_headers(data_dir / "cinc2021-sample")
    for n, name in enumerate(cinc.record_ids):
        fields = {
            ln[1:].split(":", 1)[0]: ln.split(":", 1)[1].strip()
            for ln in headers[name]
            if ln.startswith("#") and ":" in ln
        }
        row = cinc.meta.iloc[n]
        assert row["record"] == name
        assert row["sex"] == fields["Sex"]
        # the SNOMED-CT codes of the #Dx line, comma-separated (empty entries dropped)
        assert row["dx"] == ",".join(c.strip() for c in fields["Dx"].split(",") if c.strip())
        age = row["age"]
        assert (np.isnan(age) and not fields["Age"].isdigit()) or age == float(fields["Age"])
        assert row["n_samples_file"] == int(headers[name][0].split()[3])
        assert row["fs_file"] == 500.0


def _long_cinc_records(data_dir) -> dict[str, int]:
    return {
        name: int(lines[0].split()[3])
        for name, lines in _cinc_headers(data_dir / "cinc2021-sample").items()
        if int(lines[0].split()[3]) != 5000
    }


def test_cinc_long_records_are_cropped_from_the_start(cinc, data_dir):
    long = _long_cinc_records(data_dir)
    assert sorted(long.values()) == [6000, 8500, 10000]
    for name in long:
        full = read_ecg(data_dir / "cinc2021-sample" / name).signals
        assert full.shape[1] == long[name]
        pos = list(cinc.record_ids).index(name)
        np.testing.assert_array_equal(cinc.signals[pos], full[:, :5000])


def test_cinc_duration_20_pads_with_zeros(data_dir):
    long = _long_cinc_records(data_dir)
    names = ["A0689", *sorted(long)]
    rec = load_cinc(data_dir, duration=20, records=names, progress=False)
    assert list(rec.record_ids) == names
    assert rec.signals.shape == (4, 12, 10000)
    for pos, name in enumerate(names):
        full = read_ecg(data_dir / "cinc2021-sample" / name).signals
        t = full.shape[1]
        np.testing.assert_array_equal(rec.signals[pos, :, :t], full)
        assert (rec.signals[pos, :, t:] == 0).all()
    assert rec.signals[0, :, 5000:].size and (rec.signals[0, :, 4990:5000] != 0).any()


def test_cinc_duration_none_needs_equal_lengths(data_dir):
    long = _long_cinc_records(data_dir)
    with pytest.raises(ECGFormatError, match="duration") as err:
        load_cinc(data_dir, duration=None, records=["A0689", *long], progress=False)
    assert "different lengths" in str(err.value)
    same = load_cinc(data_dir, duration=None, records=["A0689", "E00271"], progress=False)
    assert same.signals.shape == (2, 12, 5000)


def test_cinc_unknown_record(data_dir):
    with pytest.raises(ValueError, match="NOPE1"):
        load_cinc(data_dir, records=["A0689", "NOPE1"], progress=False)


# =============================================================================================
# LUDB


def _ludb_cell(cell: str) -> list[str]:
    return [ln.strip().rstrip(".") for ln in cell.splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def ludb(data_dir):
    return load_ludb(data_dir, progress=False)


def test_ludb_loads_200(ludb, data_dir):
    assert len(ludb) == 200
    assert ludb.signals.shape == (200, 12, 5000)
    assert ludb.fs == 500.0
    assert list(ludb.record_ids) == [str(i) for i in range(1, 201)]
    assert len(set(ludb.patient_ids)) == 200
    np.testing.assert_array_equal(ludb.signals[0], read_ecg(data_dir / "ludb/data/1").signals)


@pytest.mark.parametrize(
    "task,column,prefix",
    [
        ("rhythm", "Rhythms", ""),
        ("axis", "Electric axis of the heart", "Electric axis of the heart:"),
    ],
)
def test_ludb_label_counts(ludb, data_dir, task, column, prefix):
    rows = _read_csv(data_dir / "ludb" / "ludb.csv")
    per_record = {
        row["ID"].strip(): {v.removeprefix(prefix).strip() for v in _ludb_cell(row[column])}
        for row in rows
    }
    expected = Counter(v for values in per_record.values() for v in values)
    assert ludb.labels[task].counts().to_dict() == dict(expected)
    for n, rid in enumerate(ludb.record_ids):
        assert _classes(ludb.labels, task, n) == per_record[rid], rid
    if task == "rhythm":
        assert expected["Sinus rhythm"] == 143 and expected["Atrial fibrillation"] == 15
    else:
        assert set(expected) == {
            "normal",
            "left axis deviation",
            "vertical",
            "horizontal",
            "right axis deviation",
        }


@pytest.mark.parametrize("record", [1, 7, 116])
def test_ludb_annotations_match_rdann(data_dir, record):
    """Waves of a record against wfdb.rdann: a peak symbol p/N/t, its onset where the annotation
    just before it is "(" and its offset where the one just after it is ")", else -1.
    Record 1 has every boundary; records 7 and 116 have waves without onset or offset."""
    ann = load_ludb_annotations(record, data_dir)
    assert list(ann.columns) == ["lead", "wave", "onset", "peak", "offset"]
    assert set(ann["lead"]) == set(STANDARD)
    assert set(ann["wave"]) == {"P", "QRS", "T"}
    wave_of = {"p": "P", "N": "QRS", "t": "T"}
    unbounded = 0
    for lead in STANDARD:
        ref = wfdb.rdann(str(data_dir / "ludb" / "data" / str(record)), lead.lower())
        symbols, samples = list(ref.symbol), [int(x) for x in ref.sample]
        expected = []
        for k, sym in enumerate(symbols):
            if sym in wave_of:
                before = samples[k - 1] if k > 0 and symbols[k - 1] == "(" else -1
                after = samples[k + 1] if k + 1 < len(symbols) and symbols[k + 1] == ")" else -1
                expected.append((lead, wave_of[sym], before, samples[k], after))
        rows = ann[ann["lead"] == lead]
        got = [tuple(r) for r in rows.itertuples(index=False)]
        assert [(g[0], g[1], *map(int, g[2:])) for g in got] == expected
        for _, onset, peak, offset in rows[["wave", "onset", "peak", "offset"]].itertuples(
            index=False
        ):
            assert onset == -1 or onset < peak
            assert offset == -1 or peak < offset
        unbounded += int((rows["onset"] == -1).sum() + (rows["offset"] == -1).sum())
    if record == 1:
        assert unbounded == 0
        assert ann.groupby("wave").size().to_dict() == {"P": 60, "QRS": 72, "T": 60}
    else:
        assert unbounded > 0


# =============================================================================================
# PTB (Frank leads)


def test_ptbdb_frank_leads_aligned_with_the_12_leads(data_dir):
    rec = load_ptbdb(data_dir, progress=False)
    assert len(rec) == 1
    assert rec.signals.shape == (1, 12, 38400)
    assert rec.aux["frank"].shape == (1, 3, 38400)
    assert rec.fs == 1000.0 and rec.duration == pytest.approx(38.4)
    ref = wfdb.rdrecord(str(data_dir / "ptbdb-frank" / "s0010_re"))
    names = [n.lower() for n in ref.sig_name]
    for j, lead in enumerate(("vx", "vy", "vz")):
        np.testing.assert_allclose(
            rec.aux["frank"][0, j], ref.p_signal[:, names.index(lead)], atol=1e-6
        )
    for j, lead in enumerate(STANDARD):
        np.testing.assert_allclose(
            rec.signals[0, j], ref.p_signal[:, names.index(lead.lower())], atol=1e-6
        )
    assert list(rec.record_ids) == ["s0010_re"]
    assert rec.meta.loc[0, "age"] == 81 and rec.meta.loc[0, "sex"] == "female"
    assert rec.labels["admission"].names == ("Myocardial infarction",)
    assert rec.y("admission").tolist() == [[True]]


def test_ptbdb_resampled_to_500hz(data_dir):
    full = load_ptbdb(data_dir, progress=False)
    half = load_ptbdb(data_dir, fs=500, progress=False)
    assert half.signals.shape == (1, 12, 19200)
    assert half.aux["frank"].shape == (1, 3, 19200)
    assert half.fs == 500.0
    ref = sps.resample_poly(full.aux["frank"][0].astype(np.float64), 1, 2, axis=-1)
    np.testing.assert_allclose(half.aux["frank"][0], ref, atol=1e-5)
    ref12 = sps.resample_poly(full.signals[0].astype(np.float64), 1, 2, axis=-1)
    np.testing.assert_allclose(half.signals[0], ref12, atol=1e-5)


def test_ptbdb_records_argument(data_dir):
    rec = load_ptbdb(data_dir, records=["s0010_re"], duration=10, progress=False)
    assert rec.signals.shape == (1, 12, 10000) and rec.aux["frank"].shape == (1, 3, 10000)
    with pytest.raises(ValueError, match="s9999_re"):
        load_ptbdb(data_dir, records=["s9999_re"], progress=False)


# =============================================================================================
# where the data is: threekg_lite.data.paths


def test_env_var_resolution(data_dir, monkeypatch):
    monkeypatch.setenv("THREEKG_DATA_DIR", str(data_dir))
    assert paths.data_dir() == data_dir
    assert paths.data_dir("") == data_dir
    expected = {
        "ptbxl": "ptb-xl",
        "ludb": "ludb",
        "cinc": "cinc2021-sample",
        "ptbdb": "ptbdb-frank",
    }
    for db, folder in expected.items():
        assert paths.database_dir(db) == data_dir / folder
    rec = load_ptbdb(progress=False)  # no data_dir argument: the environment variable
    assert rec.signals.shape == (1, 12, 38400)


def test_argument_wins_over_env_var(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("THREEKG_DATA_DIR", str(tmp_path / "nowhere"))
    assert paths.data_dir(data_dir) == data_dir
    assert paths.database_dir("ludb", data_dir) == data_dir / "ludb"
    with pytest.raises(DataNotFoundError, match="nowhere"):
        paths.database_dir("ludb")


def test_default_cache_without_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv("THREEKG_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert paths.data_dir() == tmp_path / "threekg-lite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.data_dir() == tmp_path / "home" / ".cache" / "threekg-lite"


def test_pointing_straight_at_a_database_folder(data_dir):
    assert paths.database_dir("ludb", data_dir / "ludb") == data_dir / "ludb"
    assert paths.database_dir("ptbxl", data_dir / "ptb-xl") == data_dir / "ptb-xl"
    rec = load_ludb(data_dir / "ludb", records=[3, 1], progress=False)
    assert list(rec.record_ids) == ["3", "1"]


def _assert_explains_how_to_get_data(message: str, path: Path) -> None:
    assert str(path) in message
    assert "THREEKG_DATA_DIR" in message
    assert "threekg download" in message


def test_missing_data_dir(tmp_path):
    missing = tmp_path / "does-not-exist"
    with pytest.raises(DataNotFoundError) as err:
        paths.database_dir("ptbxl", missing)
    assert "does not exist" in str(err.value)
    _assert_explains_how_to_get_data(str(err.value), missing)


def test_data_dir_that_is_a_file(tmp_path):
    file = tmp_path / "data.txt"
    file.write_text("not a folder")
    with pytest.raises(DataNotFoundError, match="not a folder") as err:
        paths.database_dir("ludb", file)
    _assert_explains_how_to_get_data(str(err.value), file)


def test_empty_data_dir(tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        load_ptbxl(tmp_path, progress=False)
    assert "ptb-xl" in str(err.value)  # the folder names looked for
    _assert_explains_how_to_get_data(str(err.value), tmp_path)


def test_unknown_database():
    with pytest.raises(ValueError, match="unknown database"):
        paths.database_dir("mitdb")
