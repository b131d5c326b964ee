"""The deciding comparison: configuration choice on the validation part only, the reference
file's schema (and every reference file in the book), ``threekg compare`` on real data."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from threekg_lite.cli import main
from threekg_lite.data import generate
from threekg_lite.data.records import LabelSet
from threekg_lite.data.splits import patient_split
from threekg_lite.evaluate.experiment import (
    CONFIGURATIONS,
    METHODS,
    RANDOM,
    ComparisonConfig,
    check_reference,
    choose_on_validation,
    load_reference,
    pretrain_config,
    run_comparison,
    save_reference,
    select,
)
from threekg_lite.evaluate.protocol import EvalConfig
from threekg_lite.models import build_model
from threekg_lite.pretrain import PretrainConfig

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = sorted((ROOT / "book" / "results").glob("*.json"))
TASK = "diagnosis"


pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def records():
    return generate(240, fs=100, duration=10, seed=3)


@pytest.fixture(scope="module")
def split(records):
    return patient_split(records, seed=0, task=TASK)


EVAL = EvalConfig(fractions=(0.2, 1.0), seeds=2, crop=300, n_boot=40)


def encoders():
    return {
        RANDOM: [build_model("tiny", generator=torch.Generator().manual_seed(s)) for s in (0, 1)],
        "other": build_model("tiny", generator=torch.Generator().manual_seed(5)),
    }


def corrupted(records, split, nan_signals=True):
    """The same records with every test-part signal NaN and every test label flipped."""
    bad = copy.copy(records)
    signals = np.array(records.signals, copy=True)
    if nan_signals:
        signals[split.test] = np.nan
    labels = {}
    for name, label_set in records.labels.items():
        y = label_set.y.copy()
        y[split.test] = ~y[split.test]
        labels[name] = LabelSet(names=label_set.names, y=y)
    return dataclasses.replace(bad, signals=signals, labels=labels)


def test_the_test_part_takes_no_part_in_the_choice(records, split):
    """Corrupting every signal and label of the test part changes nothing of the choice."""
    clean = choose_on_validation(encoders(), records, split, TASK, EVAL)
    dirty = choose_on_validation(encoders(), corrupted(records, split), split, TASK, EVAL)
    assert clean == dirty
    assert {r["method"] for r in clean} == {RANDOM, "other"}
    n_val = len(split.val)
    assert all(r["n_labelled"] <= len(split.train) for r in clean) and n_val > 0


def test_corrupting_the_validation_part_does_change_the_choice_rows(records, split):
    """The guard above could pass vacuously if nothing were scored: flipping the validation
    labels instead must change the rows."""
    swapped = dataclasses.replace(split, val=split.test, test=split.val)
    clean = choose_on_validation(encoders(), records, split, TASK, EVAL)
    flipped = corrupted(records, swapped, nan_signals=False)
    dirty = choose_on_validation(encoders(), flipped, split, TASK, EVAL)
    assert [r["auroc"] for r in clean] != [r["auroc"] for r in dirty]


def test_select_takes_the_best_mean_over_the_chosen_fractions():
    rows = [
        {"method": "A | x", "fraction": 0.1, "auroc": 0.6},
        {"method": "A | x", "fraction": 1.0, "auroc": 0.99},
        {"method": "A | y", "fraction": 0.1, "auroc": 0.7},
        {"method": "A | y", "fraction": 1.0, "auroc": 0.5},
    ]
    assert select(rows, {"A": ["A | x", "A | y"]}, (0.1,)) == {"A": "A | y"}
    assert select(rows, {"A": ["A | x", "A | y"]}, (0.1, 1.0)) == {"A": "A | x"}
    with pytest.raises(ValueError, match="no validation rows"):
        select(rows, {"A": ["A | z"]}, (0.1,))


def test_pretrain_config_applies_the_configuration_and_layout():
    base = PretrainConfig(steps=5, batch_size=8, crop=100, model="tiny")
    cfg = pretrain_config(base, "3KG", "cross-crop lead-wise", 2)
    assert (cfg.augment, cfg.seed, cfg.crops_per_record, cfg.views_per_crop) == ("3kg", 2, 2, 1)
    assert cfg.model["layout"] == "lead-wise" and cfg.model["width"] == 16
    same = pretrain_config(base, "SimCLR (generic)", "same-crop", 0)
    assert (same.augment, same.model, same.crops_per_record) == ("generic", "tiny", 1)


def test_comparison_config_names_unknown_choices():
    with pytest.raises(ValueError, match="unknown method"):
        ComparisonConfig(methods=("BYOL",))
    with pytest.raises(ValueError, match="unknown configuration"):
        ComparisonConfig(configurations=("three-crop",))
    with pytest.raises(ValueError, match="select_fractions"):
        ComparisonConfig(evaluation=EVAL, select_fractions=(0.01,))


@pytest.fixture(scope="module")
def comparison(records, split):
    config = ComparisonConfig(
        methods=("3KG", "SimCLR (generic)"),
        configurations=("same-crop", "cross-crop"),
        pretrain_seeds=2,
        pretrain=PretrainConfig(steps=3, batch_size=16, crop=300, model="tiny", log_every=1),
        evaluation=EVAL,
        select_fractions=(0.2,),
        supervised=True,
    )
    return run_comparison(records, records, split, TASK, config, device="cpu", progress=False)


def test_comparison_reports_every_configuration_on_both_parts(comparison):
    rows = comparison["rows"]
    for part in ("validation", "test"):
        seen = {
            (r["method"], r["configuration"], r["pretrain_seed"])
            for r in rows
            if r["split"] == part and r["method"] != "supervised (scratch)"
        }
        expected = {
            (m, c, s)
            for m in ("3KG", "SimCLR (generic)")
            for c in ("same-crop", "cross-crop")
            for s in (0, 1)
        }
        assert seen == expected | {(RANDOM, None, 0), (RANDOM, None, 1)}
    assert set(comparison["selected"]) == {"3KG", "SimCLR (generic)"}
    assert len(comparison["pretraining"]) == 8
    supervised = [r for r in rows if r["method"] == "supervised (scratch)"]
    assert {(r["split"], r["fraction"]) for r in supervised} == {("test", 1.0)}
    assert len(supervised) == EVAL.seeds


def test_tables_and_figure_of_a_comparison(comparison):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from threekg_lite.evaluate.experiment import (
        configuration_table,
        paired_entry,
        paired_table,
        plot_comparison,
        results_table,
    )

    payload = _payload(comparison)
    table = results_table(payload)
    assert list(table.index)[0] == RANDOM and list(table.columns) == ["20 %", "100 %"]
    rows = [r for r in comparison["rows"] if r["split"] == "test" and r["method"] == RANDOM]
    assert table.loc[RANDOM, "20 %"] == pytest.approx(
        np.mean([r["auroc"] for r in rows if r["fraction"] == 0.2])
    )
    assert configuration_table(payload).shape == (4, 5)
    assert paired_table(payload).shape[1] == 2
    entry = paired_entry(payload, "3KG", RANDOM, 0.2)
    assert entry["method"] == f"3KG | {comparison['selected']['3KG']}"
    fig = plot_comparison(payload, title="t")
    assert len(fig.axes) == 2
    plt.close(fig)


def test_comparison_pairs_every_configuration_with_random_and_the_chosen_3kg_with_simclr(
    comparison,
):
    pairs = {(p["method"], p["baseline"]) for p in comparison["paired"]}
    chosen = comparison["selected"]
    assert (f"3KG | {chosen['3KG']}", f"SimCLR (generic) | {chosen['SimCLR (generic)']}") in pairs
    assert {b for _, b in pairs} >= {RANDOM}
    # each other configuration of a method against its first one
    assert ("3KG | cross-crop", "3KG | same-crop") in pairs
    assert ("SimCLR (generic) | cross-crop", "SimCLR (generic) | same-crop") in pairs
    for p in comparison["paired"]:
        assert p["ci_low"] <= p["diff"] <= p["ci_high"] and p["runs"] == 4


def test_chosen_configuration_is_the_best_on_validation(comparison):
    rows = [r for r in comparison["rows"] if r["split"] == "validation" and r["fraction"] == 0.2]
    for method, configuration in comparison["selected"].items():
        means = {
            c: np.mean(
                [r["auroc"] for r in rows if r["method"] == method and r["configuration"] == c]
            )
            for c in ("same-crop", "cross-crop")
        }
        assert means[configuration] == max(means.values())


def _payload(comparison):
    return {
        "command": "threekg compare --out x.json",
        "git_sha": "0" * 40,
        "hardware": {"processor": "test"},
        "wall_s": 1.0,
        "data": {"records": 240, "fs": 100.0, "folds": "synthetic"},
        **comparison,
    }


def test_reference_round_trips_and_bad_files_are_named(comparison, tmp_path):
    payload = _payload(comparison)
    with pytest.raises(ValueError, match="not JSON compliant"):  # strict: no NaN slips in
        save_reference(tmp_path / "ref.json", {**payload, "wall_s": float("nan")})
    assert not (tmp_path / "ref.json").exists()
    path = save_reference(tmp_path / "ref.json", payload)
    assert load_reference(path)["rows"] == json.loads(json.dumps(payload["rows"]))
    for broken, match in [
        ({k: v for k, v in payload.items() if k != "wall_s"}, "missing keys"),
        (
            {**payload, "rows": [{**payload["rows"][0], "configuration": "gone"}]},
            "no longer exists",
        ),
        ({**payload, "rows": [{**payload["rows"][0], "method": "BYOL"}]}, "no longer exists"),
        ({**payload, "rows": [{**payload["rows"][0], "auroc": 1.5}]}, r"not in \[0, 1\]"),
        ({**payload, "paired": [{**payload["paired"][0], "diff": 9.0}]}, "outside its interval"),
    ]:
        with pytest.raises(ValueError, match=f"ref.json: .*{match}"):
            check_reference(broken, tmp_path / "ref.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json: not a readable reference file"):
        load_reference(tmp_path / "bad.json")


@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.name)
def test_every_reference_file_in_the_book_has_the_schema(path):
    payload = load_reference(path)  # schema and names that still exist
    assert payload["command"].startswith("threekg compare")
    assert payload["git_sha"] and payload["hardware"]
    for method, configuration in payload.get("selected", {}).items():
        assert method in METHODS and configuration in CONFIGURATIONS


def test_compare_cli_on_real_data(data_dir, tmp_path, capsys):
    out = tmp_path / "ref.json"
    code = main(
        ["compare", "--data-dir", str(data_dir), "--out", str(out), "--methods", "3KG",
         "--configurations", "cross-crop", "--pretrain-seeds", "1", "--steps", "2",
         "--label-seeds", "1", "--fractions", "0.1", "1", "--n-boot", "20", "-q"]
    )  # fmt: skip
    assert code == 0
    payload = load_reference(out)
    assert payload["command"].startswith("threekg compare --data-dir")
    assert payload["data"]["sizes"]["test"] > 0 and payload["data"]["fs"] == 100.0
    assert {r["split"] for r in payload["rows"]} == {"validation", "test"}
    assert all(math.isfinite(r["auroc"]) for r in payload["rows"])
    assert "chosen on the validation fold" in capsys.readouterr().out


def test_find_reference_finds_the_book_files_and_says_none_otherwise():
    from threekg_lite.evaluate.experiment import find_reference

    for path in REFERENCES:
        assert find_reference(path.stem) == path
    assert find_reference("no-such-run") is None


def test_the_range_norm_configuration_goes_into_the_model_config():
    base = PretrainConfig(steps=5, batch_size=8, crop=100, model="tiny")
    cfg = pretrain_config(base, "3KG", "cross-crop range-norm", 0)
    assert cfg.model["input_norm"] == "range" and cfg.model["layout"] == "12-channel"
    assert build_model(cfg.model).input_norm == "range"


def test_find_reference_finds_the_checkout_s_file_from_any_folder(tmp_path, monkeypatch):
    """The reference run is found beside the package, whatever the working folder (a
    notebook executed from elsewhere, as nbval does)."""
    from pathlib import Path

    from threekg_lite.evaluate.experiment import find_reference

    monkeypatch.chdir(tmp_path)
    expected = Path(__file__).resolve().parents[2] / "book" / "results" / "ptbxl-tiny-100hz.json"
    assert find_reference("ptbxl-tiny-100hz") == expected
