"""Data-path benchmark: the prepare-once conversion versus reading records one by one with
``wfdb.rdrecord``, and the cost of loading a prepared array. Ratios are measured side by side
in one run (the machines are shared and noisy: compare ratios, not absolute times).

Usage::

    THREEKG_DATA_DIR=../shared/data python benchmarks/bench_data.py [--records 500] [--repeat 3]

What is timed, for the PTB-XL records with ecg_id 1..N at 100 Hz and at 500 Hz:

* ``wfdb``: ``wfdb.rdrecord`` on each record (what a naive per-sample pipeline does every
  epoch), signals transposed to ``(12, T)`` float32;
* ``prepare``: :func:`threekg_lite.data.prepare.prepare_database` - reading every record *and*
  its labels and writing the prepared folder;
* ``load``: :func:`threekg_lite.data.prepare.load_prepared` of that folder, read whole and
  memory-mapped.

Each is the best of ``--repeat`` runs after one warm-up run (imports, OS file cache).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def best_of(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: imports, OS file cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    import wfdb

    from threekg_lite.data.paths import database_dir
    from threekg_lite.data.prepare import load_prepared, prepare_database
    from threekg_lite.data.ptbxl import read_ptbxl_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", default=None, help="data directory (default THREEKG_DATA_DIR)"
    )
    parser.add_argument("--records", type=int, default=500, help="PTB-XL ecg_ids 1..N")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    folder = database_dir("ptbxl", args.data_dir)
    db = read_ptbxl_database(folder)
    ids = list(range(1, args.records + 1))
    print(f"PTB-XL records 1..{args.records} from {folder}; best of {args.repeat} after a warm-up")
    print(f"{'rate':>6} {'wfdb.rdrecord':>14} {'prepare-once':>13} {'ratio':>7}"
          f" {'load whole':>11} {'load mmap':>10}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for fs, column in ((100, "filename_lr"), (500, "filename_hr")):
            paths = [str(folder / db.at[i, column]) for i in ids]

            def read_wfdb(paths: list[str] = paths) -> np.ndarray:
                return np.stack([wfdb.rdrecord(p).p_signal.T.astype(np.float32) for p in paths])

            out = Path(tmp) / f"ptbxl-{fs}"

            def prepare(fs: int = fs, out: Path = out) -> Path:
                return prepare_database(
                    "ptbxl", out, data_dir=folder, fs=fs, ecg_ids=ids, progress=False,
                    overwrite=True,
                )  # fmt: skip

            t_wfdb = best_of(read_wfdb, args.repeat)
            t_prep = best_of(prepare, args.repeat)
            t_load = best_of(lambda out=out: np.asarray(load_prepared(out, mmap=False).signals),
                             args.repeat)  # fmt: skip
            t_mmap = best_of(lambda out=out: load_prepared(out, mmap=True), args.repeat)
            print(
                f"{fs:>4}Hz {t_wfdb:>13.3f}s {t_prep:>12.3f}s {t_wfdb / t_prep:>6.1f}x"
                f" {t_load:>10.3f}s {t_mmap:>9.3f}s"
            )
    print("ratio = wfdb.rdrecord time / prepare-once time (goal: >= 5x); load goal: < 0.1 s")


if __name__ == "__main__":
    main()
