"""Copy the measured results the notebooks discuss into the package: ``python benchmarks/ship_results.py``.

Notebooks 06 and 07 read the course-scale learning curves and the committed
``reproduce`` run through :func:`cerlib.examples.measured`, so that they run
wherever cerlib is installed, not only in a checkout. This copies, from
``benchmarks/results/``, the files they read into ``cerlib/measured/``:
``learning-curves/{curves.csv,run.json}``, ``reproduce-course/{results.csv,
claims.csv,run.json}`` and the three stored models of Figure 2 (draw 0,
fold 0, seed 0, multimodal CER-MTL, one per loss). ``tests/test_packaging.py``
checks that the two copies are the same bytes.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent / "results"
SHIPPED = Path(__file__).resolve().parent.parent / "cerlib" / "measured"
FILES = {"learning-curves": ("curves.csv", "run.json"), "reproduce-course": ("results.csv", "claims.csv", "run.json")}


def figure2_runs(results_csv: Path) -> list[str]:
    """The run ids Figure 2 draws: draw 0, fold 0, seed 0, multimodal CER-MTL at N = 20, each loss."""
    df = pd.read_csv(results_csv)
    rows = df[df.dataset.str.startswith("creativeit") & (df.setting == "multimodal") & (df.model == "CER-MTL")
              & (df.n_frames == 20) & (df.draw == 0) & (df.fold == 0) & (df.seed == 0)]
    return sorted(rows.run_id.unique())


def main() -> int:
    for folder, names in FILES.items():
        (SHIPPED / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(HERE / folder / name, SHIPPED / folder / name)
    runs = SHIPPED / "reproduce-course" / "figure2" / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    ids = figure2_runs(HERE / "reproduce-course" / "results.csv")
    assert len(ids) == 3, ids
    for run_id in ids:
        for suffix in (".json", ".pt"):
            shutil.copyfile(HERE / "reproduce-course" / "runs" / f"{run_id}{suffix}", runs / f"{run_id}{suffix}")
    print(f"copied into {SHIPPED}: {sorted(str(p.relative_to(SHIPPED)) for p in SHIPPED.rglob('*.*') if p.suffix != '.py')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
