"""Learning curves at the course scale, to choose the grid's training schedule.

    python benchmarks/learning_curves.py [--epochs 80] [--out benchmarks/results/learning-curves]

Trains a few representative runs of the grid (CreativeIT folds 0 and 1 and a
RECOLA seed; multimodal with each loss, and single modalities) on the
course-scale stubs with early stopping OFF, and writes every epoch's
validation scores to ``curves.csv``. Notebook 06 reads it to argue the
schedule of ``reproduce`` (epochs, patience, frames per epoch, learning rate)
from where the validation CCC stops improving, not from any verdict.
Synthetic data: the curves say how training behaves on the stubs.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import pandas as pd

from cerlib.experiments import COURSE, Spec, run_grid
from cerlib.stubs import course_stubs

RUNS = [dict(dataset="creativeit", fold=f, modalities=m, loss=loss)
        for f in (0, 1) for m, loss in [("multimodal", "ccc"), ("multimodal", "pcc"), ("multimodal", "mse"),
                                         ("speech", "ccc"), ("motion", "ccc")]]
RUNS += [dict(dataset="recola", fold=0, seed=s, modalities=m, loss=loss)
         for s in (0,) for m, loss in [("multimodal", "ccc"), ("multimodal", "mse"), ("face", "ccc")]]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=80, help="epochs per run, no early stopping (default 80)")
    p.add_argument("--out", default="benchmarks/results/learning-curves", help="output folder")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    schedule = {k: COURSE[k] for k in ("lr", "frames_per_epoch", "batch_size")}
    specs = [Spec(**{**run, **schedule, "epochs": args.epochs, "patience": None, "draw": 0}) for run in RUNS]
    started = time.perf_counter()
    root = course_stubs(seed=0)
    run_grid(specs, data=root, store=out, progress=True)
    rows = []
    for rec in sorted((out / "runs").glob("*.json")):
        record = json.loads(rec.read_text())
        spec = record["spec"]
        for row in record["history"]:
            rows.append({"run_id": record["run_id"], "dataset": spec["dataset"], "fold": spec["fold"],
                         "seed": spec["seed"], "setting": spec["modalities"], "loss": spec["loss"], **row})
    pd.DataFrame(rows).to_csv(out / "curves.csv", index=False)
    (out / "run.json").write_text(json.dumps({
        "command": " ".join(["python benchmarks/learning_curves.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": f"{platform.machine()}, 2-core shared CPU", "seconds": time.perf_counter() - started,
        "schedule": {**schedule, "epochs": args.epochs, "patience": None}, "data": "course-scale stubs, draw 0 (synthetic)"},
        indent=1) + "\n")
    print(f"wrote {out / 'curves.csv'} ({len(rows)} epoch rows); `python benchmarks/ship_results.py` copies it "
          "into the package for notebook 06")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
