"""The pretraining loop (:mod:`threekg_lite.training`): determinism, resume, checkpoints,
augmentation sets, positives, several processes and the ``threekg pretrain`` command.

Everything runs on the CPU with the ``tiny`` model on synthetic 100 Hz records, where the
kernels are deterministic, so resumed and uninterrupted runs are compared for exact equality.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from threekg_lite.cli import main
from threekg_lite.data import generate
from threekg_lite.data.prepare import save_prepared
from threekg_lite.evaluate.features import extract_features
from threekg_lite.models import PRESETS, build_model, load_model
from threekg_lite.pretrain import AUGMENTATIONS, PretrainConfig, crop_starts
from threekg_lite.runtime.checkpoint import (
    FORMAT,
    VERSION,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from threekg_lite.training import CHECKPOINT, METRICS, Pretrainer

REPO = Path(__file__).resolve().parents[2]
N_RECORDS, FS, DURATION = 64, 100.0, 5.0  # 500 samples per record
TORCHRUN_ENV = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: the runs are tiny, and on a shared machine several threads
    mostly wait for each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def records():
    return generate(N_RECORDS, fs=FS, duration=DURATION, seed=0)


def config(**overrides) -> PretrainConfig:
    """A short run of the *same-crop* configuration (two views of one 300-sample window of
    the 500-sample records), which most of these tests exercise; the default cross-crop one
    is tested where it differs."""
    base = dict(steps=4, batch_size=16, crop=300, model="tiny", log_every=1, checkpoint_every=100)
    base.update(crops_per_record=1, views_per_crop=2)
    return PretrainConfig(**{**base, **overrides})


def trainer(records, out_dir=None, **overrides) -> Pretrainer:
    return Pretrainer(records, config(**overrides), out_dir=out_dir, device="cpu", progress=False)


def losses(history) -> list[float]:
    return [h["loss"] for h in history]


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def subprocess_env() -> dict[str, str]:
    """This environment (THREEKG_* included) for one single-threaded, non-torchrun process."""
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env["OMP_NUM_THREADS"] = "1"
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- trainer errors


def test_crop_longer_than_records_is_refused(records):
    with pytest.raises(ValueError, match=r"1 non-overlapping crop\(s\) of 501 samples do not fit"):
        trainer(records, crop=501)
    with pytest.raises(ValueError, match=r"2 non-overlapping crop\(s\) of 251 .* \(500 samples"):
        trainer(records, crop=251, crops_per_record=2, views_per_crop=1)


def test_batch_larger_than_record_set_is_refused(records):
    with pytest.raises(ValueError, match="batch_size 65 is larger than the 64 records"):
        trainer(records, batch_size=65)


def test_unknown_model_preset_is_refused(records):
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        trainer(records, model="huge")


def test_crop_equal_to_record_length_trains(records):
    result = trainer(records, crop=500, steps=1).run()
    assert result.steps == 1 and math.isfinite(result.loss)


# ---------------------------------------------------------------- determinism and resume


def test_same_seed_same_losses_other_seed_other_losses(records):
    a = trainer(records, seed=3).run()
    b = trainer(records, seed=3).run()
    c = trainer(records, seed=4).run()
    assert losses(a.history) == losses(b.history)
    assert [h["step"] for h in a.history] == [1, 2, 3, 4]
    assert all(math.isfinite(v) for v in losses(a.history))
    assert all(x != y for x, y in zip(losses(a.history), losses(c.history)))


def test_run_result_and_its_summary(records):
    cfg = config(steps=2, augment="3kg-spatial")
    result = Pretrainer(records, cfg, device="cpu", progress=False).run()
    assert result.steps == 2
    assert "2 steps on cpu" in result.summary()


@pytest.mark.parametrize("stop", [3, 4])  # mid-epoch, and at the epoch boundary (4 per epoch)
def test_resumed_run_equals_uninterrupted_run(records, tmp_path, stop):
    n = 8
    whole_trainer = trainer(records, tmp_path / "whole", steps=n)
    whole = whole_trainer.run()
    first = trainer(records, tmp_path / "parts", steps=n)
    part = first.run(stop_after=stop)
    assert part.steps == stop
    assert load_checkpoint(tmp_path / "parts" / CHECKPOINT)["step"] == stop
    second = trainer(records, tmp_path / "parts", steps=n)
    assert second.step == stop
    resumed = second.run()

    assert losses(resumed.history) == losses(whole.history)
    lines = read_metrics(tmp_path / "parts" / METRICS)
    assert [e["step"] for e in lines] == list(range(1, n + 1))
    assert losses(lines) == losses(whole.history)
    assert load_checkpoint(tmp_path / "parts" / CHECKPOINT)["step"] == n
    for (k, v), w in zip(
        second.model.state_dict().items(), whole_trainer.model.state_dict().values()
    ):
        assert torch.equal(v, w), k


def test_resume_drops_metric_lines_after_the_checkpoint(records, tmp_path):
    whole = trainer(records, steps=6).run()
    out = tmp_path / "run"
    trainer(records, out, steps=6).run(stop_after=2)
    with open(out / METRICS, "a") as f:  # a process killed after step 4, mid-line
        f.write(json.dumps({"step": 3, "loss": 0.0}) + "\n")
        f.write(json.dumps({"step": 4, "loss": 0.0}) + "\n")
        f.write('{"step": 5, "lo')
    resumed = trainer(records, out, steps=6)
    assert [h["step"] for h in resumed.history] == [1, 2]
    resumed.run()
    lines = read_metrics(out / METRICS)
    assert [e["step"] for e in lines] == [1, 2, 3, 4, 5, 6]
    assert losses(lines) == losses(whole.history)


def test_fresh_start_drops_metrics_of_a_run_without_checkpoint(records, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / METRICS).write_text(json.dumps({"step": 1, "loss": 9.0}) + "\n")  # killed early
    trainer(records, out, steps=2).run()
    assert [e["step"] for e in read_metrics(out / METRICS)] == [1, 2]


def test_resume_with_other_settings_warns(records, tmp_path, caplog):
    trainer(records, tmp_path, steps=2).run()
    with caplog.at_level(logging.WARNING, logger="threekg_lite.pretrain"):
        t = trainer(records, tmp_path, steps=3, lr=5e-4)
    assert "lr" in caplog.text and t.step == 2


KILL_RUN = [
    sys.executable, "-m", "threekg_lite.cli", "pretrain", "synthetic",
    "--n-synthetic", "96", "--fs", "100", "--duration", "10", "--crop", "5",
    "--model", "tiny", "--steps", "40", "--batch-size", "32", "--checkpoint-every", "5",
    "--log-every", "1", "--device", "cpu", "-q",
]  # fmt: skip


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path):
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    env = subprocess_env()
    popen = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO, text=True)
    reference = subprocess.Popen([*KILL_RUN, "--out", str(whole)], **popen)
    victim = subprocess.Popen([*KILL_RUN, "--out", str(killed)], **popen)
    try:
        deadline = time.monotonic() + 90
        while count_lines(killed / METRICS) < 12:
            if victim.poll() is not None:
                pytest.fail(
                    f"run ended (rc {victim.returncode}) before the kill:\n{victim.stdout.read()}"
                )
            if time.monotonic() > deadline:
                victim.kill()
                pytest.fail(f"no 12 metric lines after 90 s:\n{victim.communicate()[0]}")
            time.sleep(0.002)
        victim.send_signal(signal.SIGKILL)
        out_killed = victim.communicate(timeout=30)[0]
        out_whole = reference.communicate(timeout=120)[0]
    finally:
        for p in (victim, reference):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert victim.returncode == -signal.SIGKILL, f"not killed mid-run:\n{out_killed}"
    assert reference.returncode == 0, out_whole

    step = load_checkpoint(killed / CHECKPOINT)["step"]
    assert step % 5 == 0 and 10 <= step < 40

    again = subprocess.run(
        [*KILL_RUN, "--out", str(killed)], capture_output=True, text=True, env=env, cwd=REPO,
        timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "40 steps on cpu" in again.stdout

    resumed_lines, whole_lines = read_metrics(killed / METRICS), read_metrics(whole / METRICS)
    assert [e["step"] for e in resumed_lines] == list(range(1, 41))
    assert [e["step"] for e in whole_lines] == list(range(1, 41))
    assert losses(resumed_lines) == losses(whole_lines)
    assert load_checkpoint(killed / CHECKPOINT)["step"] == 40


# ---------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def trained(records, tmp_path_factory):
    """A finished 2-step run with its checkpoint."""
    out = tmp_path_factory.mktemp("trained")
    t = trainer(records, out, steps=2)
    t.run()
    return t, out / CHECKPOINT


def test_checkpoint_loads_with_weights_only_and_holds_the_run(trained):
    t, path = trained
    state = torch.load(path, weights_only=True)
    for key in ("format", "version", "model_config", "model", "step", "optimizer", "config"):
        assert key in state, key
    assert state["format"] == FORMAT and state["version"] == VERSION
    assert state["step"] == 2
    assert state["model_config"] == t.model.config
    assert state["config"] == asdict(t.config)
    assert state["data"]["records"] == N_RECORDS
    assert state["world_size"] == 1
    assert set(state["model"]) == set(t.model.state_dict())


def test_load_model_gives_the_trained_model_in_eval_mode(trained):
    t, path = trained
    model = load_model(path)
    assert not any(m.training for m in model.modules())
    t.model.eval()
    x = torch.randn(3, 12, 300, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model.features(x), t.model.features(x))
        assert torch.equal(model(x), t.model(x))


def test_save_checkpoint_leaves_only_the_checkpoint(tmp_path):
    model = build_model("tiny")
    state = {"model_config": model.config, "model": model.state_dict(), "step": 1}
    for step in (1, 2):
        save_checkpoint(tmp_path / "c.pt", {**state, "step": step})
    assert os.listdir(tmp_path) == ["c.pt"]
    assert load_checkpoint(tmp_path / "c.pt")["step"] == 2
    with pytest.raises(ValueError, match="step"):
        save_checkpoint(tmp_path / "d.pt", {"model_config": {}, "model": {}})


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, error):
    model = build_model("tiny")
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"model_config": model.config, "model": model.state_dict(), "step": 1})
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"\x00" * 4096)  # some bytes, then the disk fills / the user presses ^C
        raise error("no space left")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(error):
        save_checkpoint(
            path, {"model_config": model.config, "model": model.state_dict(), "step": 2}
        )
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["checkpoint.pt"]
    assert load_checkpoint(path)["step"] == 1


@pytest.mark.parametrize("damage", ["truncated", "random"])
def test_damaged_checkpoint_is_a_checkpoint_error_naming_the_file(trained, tmp_path, damage):
    _, good = trained
    data = good.read_bytes()
    bad = tmp_path / "bad.pt"
    if damage == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    else:
        bad.write_bytes(np.random.default_rng(0).bytes(len(data)))
    for load in (load_checkpoint, load_model):
        with pytest.raises(CheckpointError, match="not a readable checkpoint") as e:
            load(bad)
        assert str(bad) in str(e.value) and e.value.path == str(bad)


def test_damaged_checkpoint_in_out_dir_stops_the_resume(records, trained, tmp_path):
    _, good = trained
    (tmp_path / CHECKPOINT).write_bytes(good.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=str(tmp_path / CHECKPOINT)):
        trainer(records, tmp_path)


def test_missing_checkpoint_is_a_checkpoint_error(tmp_path):
    for load in (load_checkpoint, load_model):
        with pytest.raises(CheckpointError, match="no such checkpoint"):
            load(tmp_path / "nothing.pt")


def test_foreign_files_are_refused(tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.ones(2)}, plain)
    with pytest.raises(CheckpointError, match="not a threekg-lite checkpoint"):
        load_checkpoint(plain)
    future = tmp_path / "future.pt"
    torch.save({"format": FORMAT, "version": VERSION + 1}, future)
    with pytest.raises(CheckpointError, match="version"):
        load_checkpoint(future)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": FORMAT, "version": VERSION, "obj": Path("x")}, pickled)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(pickled)  # weights_only: no arbitrary objects


def test_checkpoint_of_another_model_is_refused(records, tmp_path):
    trainer(records, tmp_path, steps=1).run()
    narrower = {**PRESETS["tiny"], "width": 8}
    with pytest.raises(CheckpointError, match="another model") as e:
        trainer(records, tmp_path, steps=2, model=narrower)
    assert "width" in str(e.value) and str(tmp_path / CHECKPOINT) in str(e.value)
    same = trainer(records, tmp_path, steps=2, model=dict(PRESETS["tiny"]))  # dict == preset
    assert same.step == 1


# ---------------------------------------------------------------- augmentation sets


@pytest.mark.parametrize("augment", AUGMENTATIONS)
def test_every_augmentation_set_trains(records, augment):
    result = trainer(records, steps=2, augment=augment).run()
    assert result.steps == 2
    assert all(math.isfinite(v) for v in losses(result.history))


def test_views_are_identical_without_augmentation_and_differ_with_3kg(records):
    plain = trainer(records, augment="none")
    both, ids = plain.views(0)
    b = ids.numel()
    assert both.shape == (2 * b, 12, 300) and b == 16
    assert torch.equal(both[:b], both[b:])

    threekg = trainer(records, augment="3kg")
    both3, _ = threekg.views(0)
    assert not torch.equal(both3[:b], both3[b:])
    again, _ = threekg.views(0)
    assert torch.equal(again, both3)  # a function of the seed and the step
    assert not torch.equal(threekg.views(1)[0], both3)


# ---------------------------------------------------------------- positives


def test_record_positives_equal_instance_positives_for_distinct_records(records):
    instance = trainer(records, steps=3, positives="instance").run()
    record = trainer(records, steps=3, positives="record").run()
    # same loss up to float32 rounding (two formulas), which two optimiser steps amplify
    assert losses(record.history)[0] == pytest.approx(losses(instance.history)[0], rel=1e-6)
    assert losses(record.history) == pytest.approx(losses(instance.history), rel=1e-4)


def paired(records, field: str):
    """``records`` with ids of rows 2i and 2i+1 made equal in ``field``."""
    ids = np.asarray(getattr(records, field)).copy()
    ids[1::2] = ids[0::2]
    return dataclasses.replace(records, **{field: ids})


def test_shared_record_ids_change_the_record_loss():
    recs = generate(32, fs=FS, duration=DURATION, seed=1)
    dup = paired(recs, "record_ids")
    t = Pretrainer(dup, config(batch_size=32, positives="record"), device="cpu", progress=False)
    assert t.pool.ids[0] == t.pool.ids[1] and t.pool.ids[0] != t.pool.ids[2]
    first = {}
    for positives in ("instance", "record"):
        cfg = config(steps=1, batch_size=32, positives=positives)
        first[positives] = Pretrainer(dup, cfg, device="cpu", progress=False).run().loss
    plain = Pretrainer(recs, config(steps=1, batch_size=32, positives="instance"), device="cpu",
                       progress=False).run().loss  # fmt: skip
    assert first["instance"] == plain  # instance positives ignore the ids
    assert abs(first["record"] - first["instance"]) > 1e-3


def test_patient_positives_use_patient_ids():
    dup = paired(generate(32, fs=FS, duration=DURATION, seed=1), "patient_ids")
    loss = {
        p: Pretrainer(
            dup, config(steps=1, batch_size=32, positives=p), device="cpu", progress=False
        )
        .run()
        .loss
        for p in ("instance", "record", "patient")
    }
    assert loss["record"] == pytest.approx(loss["instance"], rel=1e-5)
    assert abs(loss["patient"] - loss["record"]) > 1e-3


# ---------------------------------------------------------------- several processes


def test_global_batch_is_the_concatenation_of_the_rank_shares(records):
    single = trainer(records)
    ranks = [trainer(records) for _ in range(2)]
    for r, t in enumerate(ranks):
        t.world, t.rank = 2, r
    per_epoch = N_RECORDS // 16
    epoch0 = torch.cat([single._batch_index(s) for s in range(per_epoch)])
    assert sorted(epoch0.tolist()) == list(range(N_RECORDS))  # without replacement
    for step in range(2 * per_epoch + 1):
        whole = single._batch_index(step)
        shares = [t._batch_index(step) for t in ranks]
        assert [s.numel() for s in shares] == [8, 8]
        assert torch.equal(torch.cat(shares), whole), step
    assert not torch.equal(single._batch_index(0), single._batch_index(per_epoch))


def test_a_cpu_run_asks_for_gloo(records, monkeypatch):
    """Under torchrun on a machine with CUDA, ``--device cpu`` must not start NCCL."""
    from threekg_lite.runtime import distributed

    asked, real = [], distributed.init_from_env

    def spy(backend=None, timeout=None):
        asked.append(backend)
        return real(backend, timeout)

    monkeypatch.setattr(distributed, "init_from_env", spy)
    Pretrainer(records, config(), device="cpu", progress=False)
    Pretrainer(records, config(), progress=False)
    assert asked == ["gloo", None]


def test_two_process_gloo_run_then_single_process_resume(tmp_path, capsys):
    out = tmp_path / "ddp"
    data = ["synthetic", "--n-synthetic", "64", "--fs", "100", "--duration", "5", "--crop", "2.5",
            "--model", "tiny", "--device", "cpu", "--batch-size", "16", "--log-every", "1",
            "--out", str(out), "-q"]  # fmt: skip
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-port", str(free_port()), "-m", "threekg_lite.cli", "pretrain", *data,
        "--steps", "4",
    ]  # fmt: skip
    proc = subprocess.run(
        command, capture_output=True, text=True, env=subprocess_env(), cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 steps on cpu" in proc.stdout
    lines = read_metrics(out / METRICS)
    assert [e["step"] for e in lines] == [1, 2, 3, 4]
    assert all(math.isfinite(e["loss"]) for e in lines)
    assert sorted(os.listdir(out)) == sorted([CHECKPOINT, METRICS])  # one checkpoint, no temp
    state = load_checkpoint(out / CHECKPOINT)
    assert state["step"] == 4 and state["world_size"] == 2

    assert main(["pretrain", *data, "--steps", "6"]) == 0
    assert "6 steps on cpu" in capsys.readouterr().out
    assert [e["step"] for e in read_metrics(out / METRICS)] == [1, 2, 3, 4, 5, 6]
    state = load_checkpoint(out / CHECKPOINT)
    assert state["step"] == 6 and state["world_size"] == 1


# ---------------------------------------------------------------- command line

CLI_DATA = ["pretrain", "synthetic", "--n-synthetic", "64", "--fs", "100", "--duration", "5",
            "--crop", "2.5", "--model", "tiny", "--device", "cpu", "-q"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "argument --steps: must be a positive integer"),
        (["--batch-size", "-1"], "argument --batch-size: must be a positive integer"),
        (["--steps", "3", "--epochs", "1"], "not allowed with argument"),
        (["--crop", "0"], "argument --crop: must be > 0"),
        (["--augment", "rotate"], "argument --augment: invalid choice"),
    ],
)
def test_cli_rejects_bad_arguments(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as e:
        main([*CLI_DATA, "--out", str(tmp_path), *args])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "unknown source 'nosuch': use one of synthetic, ptbxl, cinc, ludb, pool"),
        (["synthetic", "--crop", "6", "--batch-size", "16"], "do not fit in the records"),
        (["synthetic", "--batch-size", "128"], "batch_size 128 is larger than the 64 records"),
    ],
)
def test_cli_reports_unusable_runs(tmp_path, capsys, args, message):
    # the source first, the options that this case sets last (argparse keeps the last value)
    source, options = args[0], args[1:]
    run = ["--out", str(tmp_path / "run"), "--steps", "2"]
    code = main(["pretrain", source, *CLI_DATA[2:], *run, *options])
    assert code == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("epochs", "steps"), [("1", 4), ("0.5", 2)])
def test_cli_epochs_give_steps_and_a_summary(tmp_path, capsys, epochs, steps):
    args = [*CLI_DATA, "--out", str(tmp_path), "--batch-size", "16", "--log-every", "1"]
    assert main([*args, "--epochs", epochs]) == 0
    out = capsys.readouterr().out
    assert f"{steps} steps of 16" in out
    assert f"{steps} steps on cpu" in out
    assert [e["step"] for e in read_metrics(tmp_path / METRICS)] == list(range(1, steps + 1))
    assert load_checkpoint(tmp_path / CHECKPOINT)["step"] == steps


def test_pretrain_on_a_prepared_folder(records, tmp_path, capsys):
    folder = save_prepared(records, tmp_path / "prepared")  # memory-mapped, read-only at load
    args = [a if a != "synthetic" else str(folder) for a in CLI_DATA]
    assert main([*args, "--out", str(tmp_path / "run"), "--steps", "2", "--batch-size", "16"]) == 0
    assert "2 steps on cpu" in capsys.readouterr().out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("augment", ["3kg", "generic"])
def test_cuda_run_keeps_everything_on_the_gpu(records, augment, tmp_path):
    run = Pretrainer(
        records, config(augment=augment), out_dir=tmp_path, device="cuda", progress=False
    )
    assert run.pool.data.device.type == "cuda" and run.pool.data.dtype == torch.float16
    major, _ = torch.cuda.get_device_capability()
    assert run.amp_dtype == (torch.bfloat16 if major >= 8 else torch.float16)
    both, ids = run.views(0)
    assert both.device.type == "cuda" and both.dtype == torch.float32 and ids.is_cuda
    result = run.run()
    assert result.steps == 4 and all(math.isfinite(h["loss"]) for h in result.history)
    resumed = Pretrainer(
        records, config(augment=augment, steps=5), out_dir=tmp_path, device="cuda", progress=False
    )
    assert resumed.step == 4 and resumed.run().steps == 5


# ---------------------------------------------------------------- positives across crops


@pytest.mark.parametrize("k,crop", [(2, 250), (2, 100), (3, 150), (4, 125)])
def test_crops_of_one_record_do_not_overlap_and_stay_inside(records, k, crop):
    run = trainer(records, crop=crop, crops_per_record=k, views_per_crop=1)
    run._seed_step(0)
    t = run.pool.n_samples
    starts = crop_starts(2000, k, crop, t, run.generator).numpy()
    assert starts.shape == (2000, k)
    assert (starts[:, 0] >= 0).all() and (starts[:, -1] + crop <= t).all()
    assert (np.diff(starts, axis=1) >= crop).all()  # each window ends before the next starts
    if t - k * crop > 0:  # every place of the first window is reachable, not only one
        assert len(np.unique(starts[:, 0])) > 1


def test_views_across_crops_equal_a_loop_reference(records):
    """Without augmentation, view g of record i is its crop g // views_per_crop."""
    k, v, crop = 2, 2, 200
    run = trainer(records, crop=crop, crops_per_record=k, views_per_crop=v, augment="none")
    views, ids = run.views(3)
    run._seed_step(3)
    index = run._batch_index(3)
    starts = crop_starts(index.numel(), k, crop, run.pool.n_samples, run.generator)
    b = index.numel()
    assert views.shape == (k * v * b, 12, crop)
    data = run.pool.data
    for g in range(k * v):
        for i in range(b):
            first = int(starts[i, g // v])
            expected = data[index[i], :, first : first + crop]
            assert torch.equal(views[g * b + i], expected)
    assert torch.equal(ids, run.pool.ids[index])


def test_loss_with_four_views_per_record_is_supcon_over_record_ids(records):
    from threekg_lite.losses import supcon

    run = trainer(records, crop=200, crops_per_record=2, views_per_crop=2)
    views, ids = run.views(0)
    b = ids.numel()
    torch.manual_seed(0)
    with torch.no_grad():
        z = run.model(views)
    labels = ids.repeat(4)
    expected = supcon(z, labels, run.config.temperature)
    torch.manual_seed(0)
    loss, z1, z2 = run.step_on_views(0, views, ids)
    assert math.isclose(float(loss), float(expected), rel_tol=1e-5)
    assert z1.shape == z2.shape == (b, run.model.head.out_dim)


def test_one_view_of_each_of_two_crops_trains_with_nt_xent(records):
    run = trainer(records, crop=200, crops_per_record=2, views_per_crop=1, steps=3)
    result = run.run()
    assert result.steps == 3 and math.isfinite(result.loss)


def test_instance_positives_across_crops_pair_the_views_of_one_record(records):
    """positives='instance' with 4 views: the 4 views of a record are each other's positives,
    whatever the record ids say."""
    from threekg_lite.losses import supcon

    run = trainer(records, crop=200, crops_per_record=2, views_per_crop=2, positives="instance")
    views, ids = run.views(0)
    b = ids.numel()
    with torch.no_grad():
        z = run.model.train()(views)
    expected = supcon(z, torch.arange(b).repeat(4), run.config.temperature)
    loss, _, _ = run.step_on_views(0, views, ids)
    assert math.isclose(float(loss), float(expected), rel_tol=1e-5)


def test_the_default_is_cross_crop(records):
    """Two windows per record and one view of each (what the reference run supports)."""
    default = PretrainConfig(steps=4, batch_size=16, crop=250, model="tiny")
    assert (default.crops_per_record, default.views_per_crop) == (2, 1)
    a, _ = Pretrainer(records, default, device="cpu", progress=False).views(2)
    b, _ = trainer(records, crop=250, crops_per_record=2, views_per_crop=1).views(2)
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    "overrides,match",
    [
        (dict(views_per_crop=3), "views_per_crop must be 1 or 2"),
        (dict(views_per_crop=1), "at least two views"),
        (dict(crops_per_record=0), "crops_per_record must be an integer >= 1"),
        (dict(optimizer="sgd"), "optimizer must be 'adamw' or 'adam'"),
    ],
)
def test_bad_crop_and_optimizer_options_are_named(overrides, match):
    with pytest.raises(ValueError, match=match):
        config(**overrides)


def test_adam_option_uses_plain_adam(records):
    assert type(trainer(records, optimizer="adam").optimizer) is torch.optim.Adam
    assert type(trainer(records).optimizer) is torch.optim.AdamW


# ------------------------------------------------------------ input scaling


def test_range_norm_travels_from_the_pool_to_the_checkpoint_and_the_features(records, tmp_path):
    """Records are scaled once, before cropping and the views; the checkpoint keeps the
    setting, and features of the loaded model are those of the scaled records."""
    model = {**PRESETS["tiny"], "input_norm": "range"}
    t = trainer(records, out_dir=tmp_path, model=model, steps=2, checkpoint_every=2)
    x = torch.as_tensor(records.signals, dtype=torch.float32)
    span = x.amax(dim=(1, 2), keepdim=True) - x.amin(dim=(1, 2), keepdim=True)
    torch.testing.assert_close(t.pool.data, x / span)
    plain = trainer(records, steps=2)
    torch.testing.assert_close(plain.pool.data, x)
    t.run()
    loaded = load_model(tmp_path / CHECKPOINT)
    assert loaded.input_norm == "range"
    got = extract_features(loaded, records.signals[:6], crop=300)
    loaded.input_norm = "none"  # the same network fed the scaled records by hand
    expected = extract_features(loaded, (x / span)[:6].numpy(), crop=300)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(extract_features(loaded, records.signals[:6], crop=300), got)
