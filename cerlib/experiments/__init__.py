"""The paper's experiment grid (Tables I-V, Figure 2) as data, run anywhere, resumably,
and judged over independent units.

One concern per module, data flowing down this list:

    grid         Spec (one run) and the grids: paper_grid, quick_grid, course_grid; the schedules
    postprocess  the AVEC post-processing, fitted on the validation speakers only
    sources      the data of each draw of the stubs, and a digest of it (part of every run id)
    runner       one unit of work: train a run or a group, score it, pack its record
    store        the resumable store: atomic, checked, one writer at a time
    execution    run_grid over one futures interface (this process, a process pool, Dask)
    claims       the paper's claims judged over independent units, with t intervals
    report       tables beside the paper's, figures, Figure 2, and the reproduce report
    cli          ``python -m cerlib reproduce``

A run is a :class:`Spec`: everything that decides its numbers, the data's
digest and the stub draw included. :func:`run_grid` runs any list of specs and
returns one tidy row per (table, run, task) in the columns of
:func:`cerlib.paper.tables` plus ours (:data:`RESULT_COLUMNS`).
:func:`claims` judges each claim of the paper over independent units - for
CreativeIT one (draw, fold, seed), for RECOLA one (draw, seed) - with a
t interval on the units' mean differences.

Examples
--------
>>> specs = paper_grid(tables=["I"], folds={"creativeit": [0]})
>>> len(specs), specs[0].setting, specs[0].loss
(9, 'multimodal', 'ccc')
"""
from .grid import (COURSE, DATASET_SETTINGS, DATASET_TASKS, DEFAULT_FOLDS, LOSSES, MODEL_NAMES, QUICK,
                   STORE_FORMAT, TABLES, Spec, course_grid, merge_specs, paper_grid, quick_grid)
from .postprocess import PostProcess, fit_postprocess
from .store import Store, StoreLocked
from .execution import RESULT_COLUMNS, SchedulerError, load_results, results_frame, run_grid

__all__ = ["Spec", "paper_grid", "quick_grid", "course_grid", "merge_specs", "run_grid", "Store", "StoreLocked",
           "load_results", "results_frame", "PostProcess", "fit_postprocess", "SchedulerError", "TABLES",
           "QUICK", "COURSE", "DATASET_TASKS", "DATASET_SETTINGS", "DEFAULT_FOLDS", "MODEL_NAMES", "LOSSES",
           "STORE_FORMAT", "RESULT_COLUMNS"]
from .claims import CLAIMS, FUSION_MARGIN, MIN_UNITS, Claim, claims, t_interval, unit_values  # noqa: E402
from .report import (compare_with_paper, convergence, figure2, read_results, summarise, table_markdown,  # noqa: E402
                     write_report)
from .cli import main_reproduce  # noqa: E402

__all__ += ["CLAIMS", "Claim", "claims", "t_interval", "unit_values", "MIN_UNITS", "FUSION_MARGIN",
            "compare_with_paper", "convergence", "figure2", "read_results", "summarise", "table_markdown", "write_report", "main_reproduce"]
