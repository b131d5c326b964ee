"""The label-efficiency experiment (``threekg_lite.evaluate``) and ``threekg evaluate``.

Everything runs on the CPU with the ``tiny`` model on synthetic 100 Hz records: 200 records
of 5 s, crops of 300 samples (200 on the command line), two fractions, one or two seeds,
one epoch, 20-50 bootstrap resamples.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from threekg_lite.cli import main  # noqa: E402
from threekg_lite.data import generate  # noqa: E402
from threekg_lite.data.records import LabelSet  # noqa: E402
from threekg_lite.data.splits import patient_split  # noqa: E402
from threekg_lite.data.synthetic import CLASSES  # noqa: E402
from threekg_lite.evaluate.metrics import CINC_SUBGROUPS, PTBXL_SUBGROUPS, subgroups_for  # noqa: E402
from threekg_lite.evaluate.protocol import (  # noqa: E402
    EvalConfig,
    evaluate,
    load_results,
    plot_label_efficiency,
    save_results,
    subgroup_table,
    summarise,
)
from threekg_lite.models import PRESETS, build_model  # noqa: E402
from threekg_lite.pretrain import PretrainConfig  # noqa: E402
from threekg_lite.training import CHECKPOINT, Pretrainer  # noqa: E402

TASK = "diagnosis"
FRACTIONS = (0.1, 1.0)
SEEDS = 2
PTBXL_NAMES = ("NORM", "MI", "STTC", "CD", "HYP")


pytestmark = pytest.mark.usefixtures("single_thread")
# the columns summarise() returns and the CLI prints
SUMMARY_COLUMNS = "method fraction n_labelled auroc_mean auroc_std ci_low ci_high seeds".split()


@pytest.fixture(scope="module")
def records():
    return generate(200, fs=100, duration=5, seed=0)


@pytest.fixture(scope="module")
def split(records):
    return patient_split(records, seed=0, task=TASK)


@pytest.fixture(scope="module")
def config():
    return EvalConfig(
        fractions=FRACTIONS, seeds=SEEDS, crop=300, epochs=1, batch_size=32, n_boot=50
    )


def methods():
    """A fresh random encoder (same seed every time) and the supervised baseline."""
    return {
        "random": build_model("tiny", generator=torch.Generator().manual_seed(0)),
        "supervised": ("supervised", "tiny"),
    }


@pytest.fixture(scope="module")
def rows(records, split, config):
    return evaluate(methods(), records, split, TASK, config, device="cpu", progress=False)


class ConstantFeatures(nn.Module):
    """An "encoder" whose features are 0 for every ECG."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def relabelled(records, names):
    """``records`` with one task ``"task"`` whose classes are called ``names`` (the first
    ``len(names)`` columns of the synthetic diagnosis labels)."""
    y = records.y(TASK)[:, : len(names)]
    return dataclasses.replace(records, labels={"task": LabelSet(tuple(names), y)})


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fractions": (0,)}, "fractions must be in"),
        ({"fractions": (0.1, 1.5)}, "fractions must be in"),
        ({"fractions": ()}, "fractions must be in"),
        ({"fractions": (float("nan"),)}, "fractions must be in"),
        ({"seeds": 0}, "seeds must be an integer >= 1"),
        ({"mode": "x"}, "mode must be 'linear' or 'finetune'"),
        ({"crop": 0}, "crop must be an integer >= 1"),
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"n_boot": 0}, "n_boot must be an integer >= 1"),
    ],
)
def test_eval_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EvalConfig(**kwargs)


def test_evaluate_rejects_a_tuple_that_is_not_supervised(records, split, config):
    with pytest.raises(ValueError, match="method 'x': a tuple must be"):
        evaluate({"x": ("random", "tiny")}, records, split, TASK, config, progress=False)


# ---------------------------------------------------------------- the experiment


def test_one_row_per_method_fraction_and_seed(rows, split):
    assert len(rows) == 2 * len(FRACTIONS) * SEEDS
    keys = [(r["method"], r["fraction"], r["seed"]) for r in rows]
    assert sorted(keys) == sorted(
        (m, f, s) for m in ("random", "supervised") for f in FRACTIONS for s in range(SEEDS)
    )
    for r in rows:
        assert r["mode"] == ("supervised" if r["method"] == "supervised" else "linear")
        for key in ("auroc", "ci_low", "ci_high"):
            assert 0 <= r[key] <= 1
        assert r["ci_low"] - 1e-12 <= r["auroc"] <= r["ci_high"] + 1e-12
        assert r["ci_low"] < r["ci_high"]  # a real interval, not a point
        assert all(0 <= v <= 1 for v in r["subgroups"].values())
        if r["fraction"] == 1.0:
            assert r["n_labelled"] == len(split.train)
        else:
            assert r["n_labelled"] == round(0.1 * len(split.train))
    json.dumps(rows, allow_nan=False)  # plain Python values, no NaN


def test_more_labels_more_records_and_full_data_seeds_agree_for_the_probe(rows):
    by = {(r["method"], r["fraction"], r["seed"]): r for r in rows}
    for m in ("random", "supervised"):
        for s in range(SEEDS):
            assert by[m, 0.1, s]["n_labelled"] < by[m, 1.0, s]["n_labelled"]
    # all the labels: the same subset for every seed, and lbfgs is deterministic, so the
    # probe's AUROC is the same (the bootstrap interval, seeded per seed, is not)
    assert by["random", 1.0, 0]["auroc"] == by["random", 1.0, 1]["auroc"]
    assert by["random", 1.0, 0]["ci_low"] != by["random", 1.0, 1]["ci_low"]


def test_evaluate_is_deterministic(rows, records, split, config):
    again = evaluate(methods(), records, split, TASK, config, device="cpu", progress=False)
    assert again == rows


def test_finetune_mode_leaves_the_given_model_unchanged(records, split):
    model = build_model("tiny", generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = EvalConfig(fractions=(1.0,), seeds=1, mode="finetune", crop=300, epochs=1, n_boot=20)
    out = evaluate(
        {"random": model, "supervised": ("supervised", "tiny")},
        records,
        split,
        TASK,
        config,
        device="cpu",
        progress=False,
    )
    assert [(r["method"], r["mode"]) for r in out] == [
        ("random", "finetune"),
        ("supervised", "supervised"),
    ]
    assert all(0 <= r["auroc"] <= 1 for r in out)
    after = model.state_dict()
    assert after.keys() == before.keys()
    for k in before:
        assert torch.equal(after[k], before[k]), k
    # fine-tuning a random encoder seeded 0 is the supervised baseline of seed 0
    assert out[0]["auroc"] == out[1]["auroc"]


def test_constant_features_give_an_auroc_of_one_half_for_every_class(records, split):
    """Constant features -> the same score for every test record -> AUROC 1/2 for each
    class (ties count one half), in every bootstrap resample too. With PTB-XL's class names
    each subgroup is one class, so the subgroups give the per-class values."""
    ptb = relabelled(records, PTBXL_NAMES)
    config = EvalConfig(fractions=(0.1, 1.0), seeds=1, crop=300, n_boot=20)
    out = evaluate({"zero": ConstantFeatures()}, ptb, split, "task", config, progress=False)
    assert len(out) == 2
    for r in out:
        assert (r["auroc"], r["ci_low"], r["ci_high"]) == (0.5, 0.5, 0.5)
        assert r["subgroups"] == {group: 0.5 for group in PTBXL_SUBGROUPS}


def test_subgroups_follow_the_class_names(records, split, rows):
    # the synthetic classes share NSR, SB, AF (rhythm) and LBBB (conduction) with the CinC
    # scored classes, so the CinC table is used, with the two groups that have a member
    names = records.labels[TASK].names
    assert names == CLASSES
    assert subgroups_for(names) == CINC_SUBGROUPS
    assert all(set(r["subgroups"]) == {"rhythm", "conduction"} for r in rows)
    # names of neither table: no subgroups
    other = relabelled(records, ("X1", "X2", "X3"))
    assert subgroups_for(other.labels["task"].names) == {}
    config = EvalConfig(fractions=(1.0,), seeds=1, crop=300, n_boot=20)
    out = evaluate({"zero": ConstantFeatures()}, other, split, "task", config, progress=False)
    assert out[0]["subgroups"] == {}


# ---------------------------------------------------------------- summaries


def test_summarise_is_the_mean_and_sample_std_over_seeds(rows):
    table = summarise(rows)
    assert list(table.columns) == SUMMARY_COLUMNS
    assert len(table) == 2 * len(FRACTIONS)
    for _, t in table.iterrows():
        part = [r for r in rows if r["method"] == t["method"] and r["fraction"] == t["fraction"]]
        auroc = np.array([r["auroc"] for r in part])
        assert t["seeds"] == SEEDS == len(part)
        assert t["auroc_mean"] == pytest.approx(auroc.mean(), abs=1e-15)
        assert t["auroc_std"] == pytest.approx(auroc.std(ddof=1), abs=1e-15)
        assert t["ci_low"] == pytest.approx(np.mean([r["ci_low"] for r in part]), abs=1e-15)
        assert t["ci_high"] == pytest.approx(np.mean([r["ci_high"] for r in part]), abs=1e-15)
        assert t["n_labelled"] == part[0]["n_labelled"]
    assert table["auroc_std"].gt(0).any()  # the 10 % subsets differ between seeds


def test_summarise_of_one_seed_has_no_spread_and_of_nothing_is_an_error(rows):
    table = summarise([r for r in rows if r["seed"] == 0])
    assert (table["seeds"] == 1).all() and (table["auroc_std"] == 0).all()
    with pytest.raises(ValueError, match="no result rows"):
        summarise([])


def test_subgroup_table_picks_one_fraction(rows):
    table = subgroup_table(rows, 1.0)
    assert list(table.index) == ["random", "supervised"]
    assert set(table.columns) == {"rhythm", "conduction"}
    for method in table.index:
        part = [r for r in rows if r["method"] == method and r["fraction"] == 1.0]
        for group in table.columns:
            expected = np.mean([r["subgroups"][group] for r in part])
            assert table.loc[method, group] == pytest.approx(expected, abs=1e-15)
    assert not subgroup_table(rows, 0.1).equals(table)
    with pytest.raises(ValueError, match="no rows at fraction 0.5"):
        subgroup_table(rows, 0.5)


# ---------------------------------------------------------------- results files


def test_results_round_trip(tmp_path, rows, config):
    meta = {"source": "synthetic", "task": TASK, "sizes": {"train": 1, "val": 0, "test": 2}}
    path = save_results(tmp_path / "sub" / "res.json", rows, config, meta)
    assert path == tmp_path / "sub" / "res.json"
    assert sorted(p.name for p in path.parent.iterdir()) == ["res.json"]  # no temp file left
    loaded = load_results(path)
    assert loaded["rows"] == rows
    assert loaded["meta"] == meta
    assert loaded["config"] == json.loads(json.dumps(asdict(config)))
    assert EvalConfig(**{**loaded["config"], "fractions": tuple(loaded["config"]["fractions"])})


def test_nan_is_written_as_null_and_read_back_as_nan(tmp_path, rows, config):
    """A subgroup without a positive in the test split has a NaN AUROC: the file stays
    strict JSON (null) and loads back as NaN."""
    odd = [dict(rows[0], subgroups={"rhythm": float("nan"), "conduction": 0.75})]
    odd.append(dict(rows[1], subgroups={"rhythm": np.float64(0.25), "conduction": 0.5}))
    path = save_results(tmp_path / "res.json", odd, config, {"x": float("inf")})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    strict = json.loads(text, parse_constant=refuse)
    assert strict["rows"][0]["subgroups"]["rhythm"] is None
    assert strict["meta"]["x"] is None
    loaded = load_results(path)
    assert math.isnan(loaded["rows"][0]["subgroups"]["rhythm"])
    assert loaded["rows"][0]["subgroups"]["conduction"] == 0.75
    assert loaded["rows"][1]["subgroups"]["rhythm"] == 0.25
    table = subgroup_table(loaded["rows"], odd[0]["fraction"])
    assert table.loc[odd[0]["method"], "conduction"] == pytest.approx(0.625)


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'{"config": {}}', b'{"rows": 3}', b'{"rows": [1]}'],
)
def test_a_corrupt_results_file_is_a_value_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="broken.json") as e:
        load_results(path)
    assert str(path) in str(e.value)
    with pytest.raises(ValueError, match="nothere.json"):
        load_results(tmp_path / "nothere.json")


def test_label_efficiency_plot(rows):
    fig = plot_label_efficiency(rows, title="synthetic")
    try:
        (ax,) = fig.axes
        assert len(ax.containers) == 2  # one errorbar line per method
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["random", "supervised"]
        assert ax.get_xscale() == "log"
        assert ax.get_title() == "synthetic"
        for container in ax.containers:
            x, y = container.lines[0].get_data()
            np.testing.assert_allclose(x, [10, 100])
            assert ((0 <= np.asarray(y)) & (np.asarray(y) <= 1)).all()
    finally:
        plt.close(fig)


# ---------------------------------------------------------------- threekg evaluate

CLI = ["evaluate", "synthetic", "--n-synthetic", "150", "--fs", "100", "--duration", "5",
       "--crop", "2", "--seeds", "1", "--epochs", "1", "--n-boot", "20", "--device", "cpu",
       "-q"]  # fmt: skip


def test_cli_evaluate_writes_results_and_plot(tmp_path, capsys):
    figures = set(plt.get_fignums())
    out = tmp_path / "res.json"
    args = [*CLI, "--method", "r=random", "--method", "s=supervised", "--fractions", "0.2", "1"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].split() == SUMMARY_COLUMNS
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["r", "0.200"],
        ["r", "1.000"],
        ["s", "0.200"],
        ["s", "1.000"],
    ]
    assert f"results: {out}" in printed and f"plot: {out.with_suffix('.png')}" in printed
    assert set(plt.get_fignums()) == figures  # the plot's figure was closed

    payload = json.loads(out.read_text())
    assert {"rows", "config", "meta"} <= set(payload)
    assert len(payload["rows"]) == 4
    assert {(r["method"], r["mode"]) for r in payload["rows"]} == {
        ("r", "linear"),
        ("s", "supervised"),
    }
    assert payload["config"]["fractions"] == [0.2, 1.0]
    assert payload["config"]["crop"] == 200 and payload["config"]["n_boot"] == 20
    meta = payload["meta"]
    assert meta["source"] == "synthetic" and meta["task"] == TASK
    assert meta["classes"] == list(CLASSES) and meta["records"] == 150 and meta["fs"] == 100
    assert set(meta["sizes"]) == {"train", "val", "test"} and sum(meta["sizes"].values()) == 150
    assert meta["methods"] == {"r": "random", "s": "supervised"}
    n_train = meta["sizes"]["train"]
    assert {r["n_labelled"] for r in payload["rows"]} == {round(0.2 * n_train), n_train}
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("pretrain") / "run"
    args = ["pretrain", "synthetic", "--n-synthetic", "64", "--fs", "100", "--duration", "5",
            "--crop", "2", "--model", "tiny", "--device", "cpu", "--batch-size", "16",
            "--steps", "3", "--out", str(run), "-q"]  # fmt: skip
    assert main(args) == 0
    assert (run / CHECKPOINT).is_file()
    return run


def test_cli_evaluate_a_checkpoint_with_the_baselines(tmp_path, capsys, run_dir):
    out = tmp_path / "res.json"
    args = [*CLI, "--checkpoint", str(run_dir), "--fractions", "1", "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    payload = load_results(out)
    assert [r["method"] for r in payload["rows"]] == ["pretrained", "random", "supervised"]
    assert [r["mode"] for r in payload["rows"]] == ["linear", "linear", "supervised"]
    assert payload["meta"]["methods"] == {
        "pretrained": str(run_dir),
        "random": "random",
        "supervised": "supervised",
    }
    by = {r["method"]: r for r in payload["rows"]}
    assert by["pretrained"]["auroc"] != by["random"]["auroc"]  # the weights were loaded


def test_cli_evaluate_a_checkpoint_of_another_architecture(tmp_path, capsys):
    """The checkpoint carries its own model config; --model is for random/supervised."""
    small = {**PRESETS["tiny"], "width": 8}
    config = PretrainConfig(steps=1, batch_size=16, crop=200, model=small, log_every=1)
    records = generate(32, fs=100, duration=5, seed=1)
    Pretrainer(records, config, tmp_path / "run", device="cpu", progress=False).run()
    out = tmp_path / "res.json"
    ckpt = tmp_path / "run" / CHECKPOINT
    args = [*CLI, "--method", f"p={ckpt}", "--method", "r=random", "--fractions", "1"]
    assert main([*args, "--model", "tiny", "--out", str(out)]) == 0
    capsys.readouterr()
    assert [r["method"] for r in load_results(out)["rows"]] == ["p", "r"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to evaluate: give --checkpoint PATH or --method NAME=SPEC"),
        (["--method", "bad"], "--method needs NAME=SPEC, got 'bad'"),
        (["--method", "=random"], "--method needs NAME=SPEC"),
        (["--method", "a="], "--method needs NAME=SPEC"),
        (["--method", "a=random", "--method", "a=supervised"], "method name 'a' given twice"),
        (["--checkpoint", "x.pt", "--method", "pretrained=random"], "'pretrained' given twice"),
        (["--method", "a=nosuch"], "unknown encoder 'nosuch'"),
        (["--method", "a=random", "--task", "nope"], "no label task 'nope' in synthetic"),
        (["--method", "a=random", "--crop", "6"], "crop must be in [1, 500] samples"),
    ],
)
def test_cli_evaluate_errors(tmp_path, capsys, args, message):
    assert main([*CLI, *args, "--out", str(tmp_path / "res.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("threekg evaluate: error: ") and message in err
    assert not (tmp_path / "res.json").exists()


def test_cli_evaluate_missing_checkpoint_fails_before_loading_data(tmp_path, capsys):
    missing = tmp_path / "nothere" / CHECKPOINT
    args = ["evaluate", "ptbxl", "--data-dir", str(tmp_path / "no-data"), "--out",
            str(tmp_path / "res.json"), "--checkpoint"]  # fmt: skip
    assert main([*args, str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"{missing}: no such checkpoint file" in err
    assert main([*args, str(tmp_path / "nothere")]) == 1  # a run folder without a checkpoint
    assert "no such checkpoint file" in capsys.readouterr().err


def test_cli_evaluate_a_prepared_folder_needs_a_task(tmp_path, capsys):
    args = ["evaluate", str(tmp_path), "--method", "a=random", "--out", str(tmp_path / "r.json")]
    assert main(args) == 1
    assert f"give --task for source {str(tmp_path)!r}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fractions", "0"], "fractions must be in (0, 1], got 0"),
        (["--fractions", "1.5"], "fractions must be in (0, 1], got 1.5"),
        (["--seeds", "0"], "argument --seeds: must be a positive integer"),
        (["--mode", "x"], "argument --mode: invalid choice"),
        (["--model", "huge"], "argument --model: invalid choice"),
    ],
)
def test_cli_evaluate_argument_errors_exit_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as e:
        main([*CLI, "--method", "a=random", *args, "--out", str(tmp_path / "res.json")])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_evaluate_needs_out(capsys):
    with pytest.raises(SystemExit) as e:
        main([*CLI, "--method", "a=random"])
    assert e.value.code == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["weights", "config", "bytes"])
def test_cli_evaluate_a_checkpoint_that_does_not_match_its_model(tmp_path, capsys, run_dir, damage):
    """A checkpoint whose weights do not fit the model it describes, whose model config is
    unknown, or whose bytes are cut short is refused with an error naming the file."""
    state = torch.load(run_dir / CHECKPOINT, weights_only=True)
    bad = tmp_path / "bad.pt"
    if damage == "weights":
        state["model_config"] = {
            **state["model_config"],
            "width": 2 * state["model_config"]["width"],
        }
        torch.save(state, bad)
    elif damage == "config":
        state["model_config"] = {**state["model_config"], "arch": "transformer"}
        torch.save(state, bad)
    else:
        data = (run_dir / CHECKPOINT).read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "res.json"
    assert main([*CLI, "--method", f"p={bad}", "--fractions", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    expected = {
        "weights": "weights do not fit the model it describes",
        "config": "cannot rebuild its model",
        "bytes": "not a readable checkpoint",
    }[damage]
    assert str(bad) in err and expected in err
    assert not out.exists()


# ---------------------------------------------------------------- pretraining seeds, paired


@pytest.fixture(scope="module")
def paired_rows_(records, split, config):
    encoders = [build_model("tiny", generator=torch.Generator().manual_seed(s)) for s in (1, 2)]
    methods = {"random": build_model("tiny", generator=torch.Generator().manual_seed(0))}
    methods["two seeds"] = encoders
    return evaluate(
        methods,
        records,
        split,
        TASK,
        config,
        progress=False,
        compare=[("two seeds", "random"), ("random", "random")],
    )


def test_every_pretraining_seed_meets_every_labelled_subset(paired_rows_):
    keys = {
        (r["pretrain_seed"], r["fraction"], r["seed"])
        for r in paired_rows_
        if r["method"] == "two seeds"
    }
    assert keys == {(p, f, s) for p in (0, 1) for f in FRACTIONS for s in range(SEEDS)}
    assert paired_rows_.boot.shape == (len(paired_rows_), 50)


def test_paired_rows_follow_the_formula(paired_rows_):
    from threekg_lite.evaluate.metrics import paired_difference

    rows = paired_rows_
    for p in rows.paired:
        assert p["method"] == "two seeds" or p["diff"] == p["ci_low"] == p["ci_high"] == 0.0
        if p["method"] != "two seeds":
            continue
        a = [
            i
            for i, r in enumerate(rows)
            if r["method"] == "two seeds" and r["fraction"] == p["fraction"]
        ]
        # the random baseline has one "pretraining seed": reused for both
        b = [
            next(
                j
                for j, q in enumerate(rows)
                if q["method"] == "random"
                and q["fraction"] == p["fraction"]
                and q["seed"] == rows[i]["seed"]
            )
            for i in a
        ]
        auroc = np.array([r["auroc"] for r in rows])
        expected = paired_difference(auroc[a], auroc[b], rows.boot[a], rows.boot[b], seed=0)
        assert p["runs"] == 2 * SEEDS
        assert (p["diff"], p["ci_low"], p["ci_high"]) == pytest.approx(expected)
        assert math.isclose(p["diff"], float(np.mean(auroc[a] - auroc[b])))


def test_compare_must_name_known_methods(records, split, config):
    with pytest.raises(ValueError, match="must name two of the methods"):
        evaluate(methods(), records, split, TASK, config, progress=False, compare=[("x", "random")])


def test_validation_split_scores_the_validation_part_and_never_the_test_part(split):
    from threekg_lite.evaluate.protocol import validation_split

    val = validation_split(split)
    assert np.array_equal(val.test, split.val) and np.array_equal(val.train, split.train)
    assert val.val.size == 0 and not set(val.test) & set(split.test)
    no_val = dataclasses.replace(split, val=split.val[:0])
    with pytest.raises(ValueError, match="no validation part"):
        validation_split(no_val)


# ---------------------------------------------------------------- devices


class _Stop(Exception):
    """Raised by a forward hook once it has seen where the model and its input are."""


def _spy(model: nn.Module, seen: list) -> nn.Module:
    def hook(module, args):
        seen.append((next(module.parameters()).device.type, args[0].device.type))
        raise _Stop

    model.register_forward_pre_hook(hook)
    return model


@pytest.mark.parametrize("mode", ["linear", "finetune"])
def test_evaluate_puts_the_model_where_it_puts_the_data(records, split, config, mode):
    """The meta device stands in for a GPU: a model left on the CPU while its batches go to
    ``device`` (the bug a Colab GPU runtime met) shows as two different devices."""
    seen: list = []
    model = build_model("tiny", generator=torch.Generator().manual_seed(0))
    _spy(model.encoder, seen)
    cfg = dataclasses.replace(config, mode=mode)
    with pytest.raises(_Stop):
        evaluate({"random": model}, records, split, TASK, cfg, device="meta", progress=False)
    assert seen == [("meta", "meta")]
