"""The paper's claims on stubs v3 and v4, side by side: ``python benchmarks/stubs_v3_v4.py``.

Reads the claims tables that ``python -m cerlib reproduce --quick`` wrote for the
four runs kept in ``benchmarks/results/stubs-v3-v4/`` (the committed instance and
the course scale, each on stubs v3 and v4; v4 quick is ``results/reproduce-quick``)
and prints one markdown table: mean paired difference [95 % interval] and verdict.
"""
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent / "results"
RUNS = {"committed, v3": HERE / "stubs-v3-v4" / "quick-v3-claims.csv",
        "committed, v4": HERE / "reproduce-quick" / "claims.csv",
        "course, v3": HERE / "stubs-v3-v4" / "course-v3-claims.csv",
        "course, v4": HERE / "stubs-v3-v4" / "course-v4-claims.csv"}


def cell(row) -> str:
    return f"{row['mean']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}] {row['verdict']}"


def main() -> str:
    frames = {name: pd.read_csv(path) for name, path in RUNS.items()}
    first = next(iter(frames.values()))
    lines = ["| comparison | paper | " + " | ".join(RUNS) + " |", "|---|---|" + "---|" * len(RUNS)]
    for i, row in first.iterrows():
        cells = [cell(f.iloc[i]) for f in frames.values()]
        lines.append(f"| {row['comparison']} | {row['paper']:+.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
