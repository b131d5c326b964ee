"""The distributed helpers (:mod:`threekg_lite.runtime.distributed`): a real two-process gloo run on
127.0.0.1 that gathers embeddings, computes the global NT-Xent and averages gradients as DDP
does, checked against one process on the whole batch; and the single-process behaviour."""

from __future__ import annotations

import datetime
import multiprocessing as mp
import os
import socket
import traceback
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from threekg_lite.losses import nt_xent
from threekg_lite.runtime import distributed as td

WORLD = 2
N_GLOBAL, D_IN, D_OUT = 6, 5, 4  # each rank holds N_GLOBAL // WORLD items
TAU = 0.2
IDS = torch.tensor([0, 1, 1, 2, 3, 3])  # repeats across the two ranks' halves
JOIN_TIMEOUT_S = 60.0  # a hang fails the test instead of blocking it


def _problem() -> tuple[torch.nn.Linear, torch.Tensor, torch.Tensor]:
    """The shared layer and two views of fixed inputs ``(N_GLOBAL, D_IN)``, float64."""
    g = torch.Generator().manual_seed(0)
    layer = torch.nn.Linear(D_IN, D_OUT).double()
    with torch.no_grad():
        layer.weight.copy_(torch.randn(D_OUT, D_IN, generator=g, dtype=torch.float64))
        layer.bias.copy_(torch.randn(D_OUT, generator=g, dtype=torch.float64))
    x1 = torch.randn(N_GLOBAL, D_IN, generator=g, dtype=torch.float64)
    x2 = x1 + 0.5 * torch.randn(N_GLOBAL, D_IN, generator=g, dtype=torch.float64)
    return layer, x1, x2


def _step(layer: torch.nn.Linear, x1: torch.Tensor, x2: torch.Tensor, ids) -> dict:
    """Global loss on gathered embeddings, backward, then DDP's gradient average."""
    layer.zero_grad()
    z1 = td.all_gather_with_grad(layer(x1))
    z2 = td.all_gather_with_grad(layer(x2))
    loss = nt_xent(z1, z2, temperature=TAU, ids=ids)
    loss.backward()
    grads = {}
    for name, p in layer.named_parameters():
        g = p.grad.clone()
        if td.is_distributed():
            dist.all_reduce(g)
            g /= td.world_size()
        grads[name] = g
    return {"loss": loss.detach(), "grads": grads, "z1": z1.detach()}


def _worker(rank: int, port: int, out_dir: str) -> None:
    """One rank of the spawned run: writes its results, or its traceback, to ``out_dir``."""
    out = Path(out_dir)
    try:
        torch.set_num_threads(1)
        os.environ.update(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(WORLD),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
        )
        got = td.init_from_env(backend="gloo", timeout=datetime.timedelta(seconds=30))
        result = {"init": (got[0], got[1], str(got[2]))}
        result["place"] = (td.rank(), td.world_size(), td.is_distributed())

        # Rows come back in rank order; 3-D works too.
        mine = torch.full((2, 3, 2), float(rank), requires_grad=True)
        gathered = td.all_gather_with_grad(mine)
        result["order"] = gathered[:, 0, 0].detach()
        (gathered * torch.arange(1.0, 5.0)[:, None, None]).sum().backward()
        result["order_grad"] = mine.grad[:, 0, 0].clone()  # summed over both ranks

        layer, x1, x2 = _problem()
        n = N_GLOBAL // WORLD
        rows = slice(rank * n, (rank + 1) * n)
        result["plain"] = _step(layer, x1[rows], x2[rows], None)
        result["ids"] = _step(layer, x1[rows], x2[rows], IDS)

        # Different sizes on the two ranks: a clear error on both.
        try:
            td.all_gather_with_grad(torch.zeros(2 + rank, 3))
            result["mismatch"] = "no error"
        except ValueError as e:
            result["mismatch"] = str(e)
        td.cleanup()
        result["after_cleanup"] = td.is_distributed()
        torch.save(result, out / f"rank{rank}.pt")
    except BaseException:
        (out / f"rank{rank}.err").write_text(traceback.format_exc())
        raise


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def spawned(tmp_path_factory) -> list[dict]:
    """Run the two-rank job once; return each rank's results."""
    out = tmp_path_factory.mktemp("ddp")
    ctx = mp.get_context("spawn")
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, port, str(out))) for r in range(WORLD)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(JOIN_TIMEOUT_S)
    hung = [r for r, p in enumerate(procs) if p.is_alive()]
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()
    errors = "\n".join(f.read_text() for f in sorted(out.glob("*.err")))
    assert not hung, f"ranks {hung} still running after {JOIN_TIMEOUT_S} s\n{errors}"
    codes = [p.exitcode for p in procs]
    assert codes == [0] * WORLD, f"exit codes {codes}\n{errors}"
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


def test_ranks_initialise_from_the_torchrun_environment(spawned):
    for r, res in enumerate(spawned):
        assert res["init"] == (r, WORLD, "cpu")
        assert res["place"] == (r, WORLD, True)
        assert res["after_cleanup"] is False


def test_gather_orders_rows_by_rank_and_sums_gradients(spawned):
    for r, res in enumerate(spawned):
        torch.testing.assert_close(res["order"], torch.tensor([0.0, 0.0, 1.0, 1.0]))
        # Each rank's loss weights row i by i + 1; the backward sums both ranks' gradients
        # for this rank's two rows: 2 * (2r + 1, 2r + 2).
        expected = 2 * torch.tensor([2.0 * r + 1, 2.0 * r + 2])
        torch.testing.assert_close(res["order_grad"], expected)


@pytest.mark.parametrize("variant", ["plain", "ids"])
def test_loss_and_averaged_gradient_equal_single_process(spawned, variant):
    layer, x1, x2 = _problem()
    single = _step(layer, x1, x2, IDS if variant == "ids" else None)
    for res in spawned:
        got = res[variant]
        torch.testing.assert_close(got["z1"], single["z1"], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got["loss"], single["loss"], rtol=1e-6, atol=0)
        for name, g in single["grads"].items():
            torch.testing.assert_close(got["grads"][name], g, rtol=1e-6, atol=1e-12)


def test_gather_of_different_sizes_raises_on_every_rank(spawned):
    for res in spawned:
        assert "one shape on every rank" in res["mismatch"]
        assert "rank 0: (2, 3), rank 1: (3, 3)" in res["mismatch"]


# --- without a process group --------------------------------------------------------------


@pytest.fixture
def no_torchrun_env(monkeypatch):
    for name in td.TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)


def test_single_process_place():
    assert not td.is_distributed()
    assert td.rank() == 0
    assert td.world_size() == 1


def test_all_gather_is_identity_without_a_process_group():
    t = torch.randn(3, 2, requires_grad=True)
    assert td.all_gather_with_grad(t) is t
    with pytest.raises(ValueError, match="0-D"):
        td.all_gather_with_grad(torch.tensor(1.0))


def _default_device() -> torch.device:
    return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")


def test_init_from_env_without_torchrun_initialises_nothing(no_torchrun_env):
    assert td.init_from_env() == (0, 1, _default_device())
    assert not td.is_distributed()
    td.cleanup()  # a no-op without a process group
    assert not td.is_distributed()


def test_init_from_env_with_world_size_one_initialises_nothing(no_torchrun_env, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    assert td.init_from_env(backend="gloo") == (0, 1, torch.device("cpu"))
    assert not td.is_distributed()


def test_init_from_env_with_incomplete_environment_raises(no_torchrun_env, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ValueError, match="LOCAL_RANK, MASTER_ADDR, MASTER_PORT not set"):
        td.init_from_env()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE='two' is not an integer"):
        td.init_from_env()
    assert not td.is_distributed()
