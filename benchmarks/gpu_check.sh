#!/usr/bin/env bash
# The GPU check: everything the book and the package promise on a CUDA machine, in one run.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]        (default OUT_DIR: _build/gpu_check)
#
# 1. the CUDA tests (the tests that skip without a GPU, and the trainer/augmentation tests);
# 2. every chapter through papermill on the GPU (device=cuda), fast and full size, timed;
# 3. benchmarks/bench_pipeline.py for resnet18 on 12 x 2,500 crops (bf16 from compute capability 8,
#    fp16 below), device-resident pipeline against the DataLoader pipeline;
# and writes OUT_DIR/gpu_check.json: hardware, versions, the command of each part, its
# exit status and seconds, the chapters' times and the bench figures (pairs/s, MFU, the
# augmentation's share of a step). The performance page's goals: >= 20,000 pairs/s on an
# H100/H200, >= 5 x the DataLoader pipeline, augmentation < 2 % of a step.
#
# Data: THREEKG_DATA_DIR if set (the chapters then run on real records), else the chapters'
# synthetic fallback. It needs the package installed (make install) and a CUDA GPU; every
# part runs even when an earlier one fails, and the script exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-_build/gpu_check}"
mkdir -p "$OUT/notebooks"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
WORKERS="${GPU_CHECK_WORKERS:-$(nproc)}"

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: no CUDA device visible to $PY" >&2
  exit 2
fi

status=0
parts="$OUT/parts.jsonl"
: > "$parts"
# run NAME COMMAND...: time one part, log it, record its status
run() {
  local name="$1"; shift
  local start end rc
  echo "== $name: $*"
  start=$(date +%s.%N)
  "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  tail -n 3 "$OUT/$name.log"
  "$PY" - "$name" "$rc" "$start" "$end" "$*" >> "$parts" <<'EOF'
import json, sys
name, rc, start, end, command = sys.argv[1:]
print(json.dumps({"name": name, "rc": int(rc), "seconds": round(float(end) - float(start), 1),
                  "command": command}))
EOF
  [ "$rc" = 0 ] || status=1
}

run cuda_tests "$PY" -m pytest -q -p no:cacheprovider -k "cuda or gpu or Cuda or GPU" tests
for nb in notebooks/[0-9]*.ipynb; do
  stem=$(basename "$nb" .ipynb)
  for size in fast full; do
    fast=$([ "$size" = fast ] && echo True || echo False)
    run "chapter_${stem}_${size}" "$PY" -m papermill "$nb" "$OUT/notebooks/${stem}_${size}.ipynb" \
      --cwd notebooks --no-progress-bar -k python3 -p fast "$fast" -p device cuda
  done
done
run bench "$PY" benchmarks/bench_pipeline.py --model resnet18 --batch-size 512 --crop 2500 \
  --workers "$WORKERS" --device cuda --json "$OUT/bench.json"

"$PY" - "$OUT" <<'EOF'
import json, platform, sys
from pathlib import Path

import torch

import threekg_lite

out = Path(sys.argv[1])
parts = [json.loads(line) for line in (out / "parts.jsonl").read_text().splitlines()]
bench = out / "bench.json"
props = torch.cuda.get_device_properties(0)
report = {
    "hardware": {
        "gpu": props.name,
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "compute_capability": list(torch.cuda.get_device_capability(0)),
        "cpu": platform.processor() or platform.machine(),
    },
    "versions": {
        "threekg_lite": threekg_lite.__version__,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
    },
    "parts": parts,
    "chapters": {p["name"].removeprefix("chapter_"): p["seconds"] for p in parts
                 if p["name"].startswith("chapter_")},
    "bench": json.loads(bench.read_text()) if bench.is_file() else None,
}
(out / "gpu_check.json").write_text(json.dumps(report, indent=1) + "\n")
print(json.dumps({k: report[k] for k in ("hardware", "chapters")}, indent=1))
EOF
echo "gpu_check: $([ $status = 0 ] && echo passed || echo FAILED); figures in $OUT/gpu_check.json"
exit $status
