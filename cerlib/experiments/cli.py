"""``python -m cerlib reproduce``: run (or resume) the grid and write every table, the claims and figures.

Examples
--------
>>> main_reproduce(["--tables", "VII"])                  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
SystemExit: --tables: unknown table(s) ['VII']; ...
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from .._util import is_inside, whole_at_least
from .execution import SchedulerError, run_grid
from .grid import COURSE, DATASET_TASKS, QUICK, TABLES, paper_grid
from .report import write_report
from .sources import COURSE_DATA, resolve
from .store import Store, StoreLocked

__all__ = ["main_reproduce", "parser"]

DESCRIPTION = """Run (or resume) the paper's grid, Tables I-V, and write every table, the claims and the
figures into --out. By default: the course-scale synthetic stubs, 3 draws, a schedule under which
early stopping ends the runs (hours on 2 cores; rerun the same command to resume). --quick: a smoke
run of minutes on the committed stubs whose runs do not converge (its verdicts are not evidence)."""


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``reproduce`` (the CLI's help and the tests read it).

    Examples
    --------
    >>> parser().parse_args(["--quick", "--workers", "2"]).workers
    2
    """
    p = argparse.ArgumentParser(prog="python -m cerlib reproduce", description=DESCRIPTION)
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK['epochs']} epochs of {QUICK['frames_per_epoch']} frames, lr 1e-3, "
                        "CreativeIT 5 folds x 1 seed, RECOLA 3 seeds, one draw of the committed stubs; "
                        "not converged")
    p.add_argument("--tables", default=",".join(TABLES), help="comma-separated tables (default: I,II,III,IV,V)")
    p.add_argument("--data", default=None,
                   help="'course' (course-scale stubs, one folder per draw, written into the cache on first use), "
                        "or a folder holding creativeit/ and/or recola/ (default: course; --quick: data_stubs)")
    p.add_argument("--draws", type=whole_at_least(1), default=None,
                   help="draws of the stubs, 0..K-1 (default: 3 with --data course, else 1)")
    p.add_argument("--out", default="reproduce", help="output folder, also the resumable store (default: reproduce)")
    p.add_argument("--seeds", type=whole_at_least(1),
                   help="seeds 0..K-1 on every dataset (default: CreativeIT 1 per fold, RECOLA 3)")
    p.add_argument("--epochs", type=whole_at_least(1),
                   help=f"most epochs per run (default {COURSE['epochs']}; --quick {QUICK['epochs']})")
    p.add_argument("--patience", type=int,
                   help=f"early-stopping patience, epochs (default {COURSE['patience']}; --quick {QUICK['patience']})")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3)")
    p.add_argument("--frames-per-epoch", type=whole_at_least(1),
                   help=f"frames drawn per epoch (default {COURSE['frames_per_epoch']}; --quick "
                        f"{QUICK['frames_per_epoch']})")
    p.add_argument("--max-shift", type=float, default=0.0,
                   help="largest time shift of the post-processing, seconds (default 0)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=whole_at_least(1), help="a local pool of N processes (default: none)")
    where.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--dask-local", type=whole_at_least(1), metavar="N",
                       help="start a Dask LocalCluster of N workers")
    p.add_argument("--device", default="cpu",
                   help="cpu (default; the same numbers whichever executor), cuda or mps")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return p


def _parse_tables(text: str) -> list[str]:
    names = [t.strip().upper() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in TABLES]
    if unknown or not names:
        raise SystemExit(f"--tables: unknown table(s) {unknown or [text]}; choose from {','.join(TABLES)} "
                         "(Table VI is the paper's published comparison, printed with Table IV)")
    return names


def main_reproduce(argv: Sequence[str] | None = None) -> int:
    """``python -m cerlib reproduce``: run (or resume) the grid; write the report into ``--out``.

    Writes ``results.csv`` (one row per table, run and task, with ``draw``,
    ``epochs_run`` and ``best_epoch``), ``summary.csv``, ``tables.md`` (ours ±
    std beside the paper, raw and post-processed), ``claims.csv`` /
    ``claims.md`` (with the units of each claim), ``table_<T>.png``,
    ``claims.png``, ``figure2.png``, ``run.json`` (command, machine, load, wall
    time, schedule) and the store ``runs/``. Rerunning the same command resumes.

    Examples
    --------
    >>> main_reproduce(["--workers", "0"])                  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    SystemExit: 2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    try:
        return _reproduce(args, argv)
    except (ValueError, FileNotFoundError, NotADirectoryError, SchedulerError, StoreLocked, ImportError) as err:
        if args.debug:
            traceback.print_exc()
        raise SystemExit(f"reproduce: {err}") from None


def _reproduce(args, argv) -> int:
    names = _parse_tables(args.tables)
    data = args.data or ("data_stubs" if args.quick else COURSE_DATA)
    if args.data is not None and args.data != COURSE_DATA:
        data = str(Path(args.data).expanduser())
    draws = args.draws or (3 if data == COURSE_DATA and not args.quick else 1)
    base = QUICK if args.quick else COURSE
    schedule = {k: base[k] for k in ("epochs", "lr", "frames_per_epoch", "patience")}
    for key in ("epochs", "lr", "frames_per_epoch", "patience"):
        if getattr(args, key) is not None:
            schedule[key] = getattr(args, key)
    if schedule["patience"] is not None and schedule["patience"] < 0:
        raise ValueError(f"--patience must be >= 0, got {schedule['patience']}")
    if not schedule["lr"] > 0:
        raise ValueError(f"--lr must be > 0, got {schedule['lr']}")
    schedule["max_shift_s"] = args.max_shift
    folders = resolve(data, draws=range(draws), progress=not args.quiet)
    present = set().union(*(set(p) for p in folders.values()))
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {args.out} is a file; give a folder for the results and the store")
    for paths in folders.values():
        for folder in paths.values():
            if is_inside(out, folder):
                raise ValueError(f"--out {args.out} is inside the dataset folder {folder}; cerlib never writes "
                                 "into a dataset: choose an output folder elsewhere")
    wanted = {"I": ["creativeit"], "II": ["recola"], "V": ["creativeit"]}
    needed = {d for t in names for d in wanted.get(t, ["creativeit", "recola"])}
    if not needed & present:
        raise FileNotFoundError(f"--data {data}: holds neither of {sorted(needed)}")
    seeds = base["seeds"] if args.seeds is None else {d: tuple(range(args.seeds)) for d in DATASET_TASKS}
    folds = {d: f for d, f in base["folds"].items() if d in present}
    extra = {"batch_size": base["batch_size"]} if "batch_size" in base else {}
    specs = [s for s in paper_grid(names, folds=folds, seeds=seeds, draws=tuple(range(draws)), **schedule, **extra)
             if s.dataset in present]
    scheduler = args.scheduler or (f"local:{args.dask_local}" if args.dask_local else None)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(specs)} runs ({', '.join(f'{d}: {sum(s.dataset == d for s in specs)}' for d in sorted(present))}; "
          f"{draws} draw(s) of {data}); store {out / 'runs'}")
    started = time.perf_counter()
    try:
        results = run_grid(specs, data=data, store=out, workers=args.workers, scheduler=scheduler,
                           device=args.device, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(Store(out).done())} finished runs are kept in {out / 'runs'}; "
              "rerun the same command to resume", file=sys.stderr)
        return 130
    elapsed = time.perf_counter() - started
    meta = write_report(results, out, command="python -m cerlib reproduce " + " ".join(argv), seconds=elapsed,
                        schedule={**schedule, "draws_requested": draws}, quick=args.quick)
    conv = meta["convergence"]
    print(f"wrote {out}/results.csv, tables.md, claims.md and figures in {elapsed:.0f} s; "
          f"{conv['stopped_early']} of {conv['runs']} runs stopped early")
    return 0
