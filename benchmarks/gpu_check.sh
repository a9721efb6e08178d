#!/usr/bin/env bash
# GPU figures in one prepared run (under 8 minutes on one H100/H200 class GPU):
# the benchmark table with its GPU rows (one fit epoch of 504k windows, a group of 9),
# then a shortened grid: a group of 9 members (3 losses x 3 seeds) on CreativeIT-sized
# synthetic data, 3 epochs. Output goes to benchmarks/results/.
#
#     bash benchmarks/gpu_check.sh            # full sizes
#     GPU_CHECK_TINY=1 bash benchmarks/gpu_check.sh   # a tiny smoke run (works on a CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" CERLIB_QUIET=1
name=$(python -c "import torch; print(torch.cuda.get_device_name().replace(' ', '-') if torch.cuda.is_available() else 'cpu')")
out="benchmarks/results/gpu-check-${name}.md"
if [[ "${GPU_CHECK_TINY:-0}" == 1 ]]; then
    windows=13000; grid_rec=2; grid_T=2000; out="${TMPDIR:-/tmp}/gpu-check-tiny.md"
    python benchmarks/run.py --quick --skip mfcc,framing,corpus,train,predict --gpu-windows "$windows" | tee "$out"
else
    windows=504000; grid_rec=40; grid_T=12600
    timeout 420 python benchmarks/run.py --quick --skip mfcc,framing,corpus --gpu-windows "$windows" | tee "$out"
fi
timeout 300 python - "$grid_rec" "$grid_T" <<'PY' | tee -a "$out"
import sys, time, torch
sys.path.insert(0, "benchmarks")
import run
from cerlib import CERMTL
from cerlib.grouped import fit_group
from cerlib.training import Example
n_rec, T = int(sys.argv[1]), int(sys.argv[2])
xs, ys = run.synthetic(n_rec, T, 1)
vx, vy = run.synthetic(max(1, n_rec // 8), T, 2)
models, losses = [], []
for loss in ("ccc", "pcc", "mse"):
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(CERMTL())
        losses.append(loss)
start = time.perf_counter()
hs = fit_group(models, [Example(*p) for p in zip(xs, ys)], [Example(*p) for p in zip(vx, vy)], losses=losses,
               epochs=3, progress=False)
print(f"\nshortened grid: 9 members (3 losses x 3 seeds), {n_rec * T:,} windows, 3 epochs: "
      f"{time.perf_counter() - start:.1f} s on {hs[0].device}; epoch s {[round(r['seconds'], 2) for r in hs[0].epochs]}")
PY
echo "written: $out"
