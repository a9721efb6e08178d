"""The grid as data: :class:`Spec` (one run), the paper's tables as lists of specs, and the schedules.

A :class:`Spec` holds everything that decides a run's numbers. Its
:attr:`Spec.run_id` hashes all of it, including the data it ran on
(``data_key``: a digest of the corpus, bound by :func:`cerlib.experiments.run_grid`),
the stub draw and the store's format version, so two runs that could differ
never share an id.

Examples
--------
>>> specs = paper_grid(tables=["I"], folds={"creativeit": [0]})
>>> len(specs), specs[0].setting, specs[0].loss
(9, 'multimodal', 'ccc')
>>> specs[0].run_id == Spec(**{**specs[0].fields(), "tables": ()}).run_id   # the id ignores table membership
True
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from ..layouts import LAYOUTS

__all__ = ["Spec", "paper_grid", "quick_grid", "course_grid", "merge_specs", "TABLES", "DATASET_TASKS",
           "DATASET_SETTINGS", "DEFAULT_FOLDS", "MODEL_NAMES", "LOSSES", "STORE_FORMAT", "QUICK", "COURSE"]

TABLES = ("I", "II", "III", "IV", "V")
#: Each dataset's tasks, as its layout defines them.
DATASET_TASKS = {layout.name: layout.tasks for layout in LAYOUTS}
DATASET_SETTINGS = {"creativeit": ("multimodal", "speech", "motion"), "recola": ("multimodal", "face", "speech")}
DEFAULT_FOLDS = {"creativeit": tuple(range(5)), "recola": (0,)}
MODEL_NAMES = {"cer-mtl": "CER-MTL", "cer-stl": "CER-STL", "pure-cnn": "Pure CNN"}
LOSSES = ("ccc", "pcc", "mse")
#: Version of a run record. Part of every run id: a record of another format is never mixed in.
STORE_FORMAT = 2

#: ``reproduce --quick``: a smoke run for CI and students in a hurry. Its runs do NOT converge
#: (most are still improving at epoch 8), so its verdicts are not evidence; its report says so.
QUICK = {"epochs": 8, "lr": 1e-3, "frames_per_epoch": 4096, "patience": 20,
         "folds": {"creativeit": (0, 1, 2, 3, 4), "recola": (0,)},
         "seeds": {"creativeit": (0,), "recola": (0, 1, 2)}}

#: ``reproduce`` on the course-scale stubs (the default): a schedule under which early stopping,
#: not the epoch limit, ends the runs. Notebook 06 argues it from the learning curves of
#: ``benchmarks/learning_curves.py`` (``benchmarks/results/learning-curves/``).
COURSE = {"epochs": 100, "lr": 1e-3, "frames_per_epoch": 16384, "patience": 10, "batch_size": 256,
          "folds": {"creativeit": (0, 1, 2, 3, 4), "recola": (0,)},
          "seeds": {"creativeit": (0,), "recola": (0, 1, 2)}}


@dataclass(frozen=True)
class Spec:
    """One training run of the grid: everything that decides its numbers.

    Parameters
    ----------
    dataset : {"creativeit", "recola"}
    fold : int
        Index into ``Corpus.folds()`` (CreativeIT 0..4 tests session 1..5; RECOLA 0 is the dev fold).
    modalities : str
        ``"multimodal"`` (all, speech first), or one modality: ``"speech"``,
        ``"motion"`` (CreativeIT) or ``"face"`` (RECOLA). It is the table's "setting".
    loss : {"ccc", "pcc", "mse"}
    model : {"cer-mtl", "cer-stl", "pure-cnn"}
    tasks : tuple of str
        Empty: every task of the dataset. A CER-STL has exactly one.
    n_frames : int
        N, the columns of a feature image.
    seed : int
        Seeds the initial weights and the batch order.
    draw : int
        Which draw of the synthetic stubs (the ``make-stubs --seed``) the run
        trains on; 0 for a folder of real data.
    data_key : str
        Digest of the data the run trains on (:func:`cerlib.experiments.sources.data_key`);
        empty until :func:`cerlib.experiments.run_grid` binds the spec to its data.
    epochs, lr, frames_per_epoch, batch_size, patience, stride, normalise, reading, fps
        Passed to :func:`cerlib.training.fit` / the model / :func:`cerlib.data.load_corpus`
        (``reading``: CER-MTL's "literal" 6,235-parameter or "table-v" 5,615-parameter layers).
    max_shift_s : float
        Largest time shift the post-processing may fit (0: centring and scaling only).
    tables : tuple of str
        Which of the paper's tables this run fills. Not part of :attr:`run_id`:
        one run (e.g. multimodal CCC CER-MTL, N = 20) serves Tables I, III, IV and V.

    Examples
    --------
    >>> s = Spec("creativeit", 0, "speech", "ccc", "cer-mtl", seed=1, epochs=2)
    >>> s.run_id[:43]
    'creativeit-d0-f0-speech-ccc-cer-mtl-n20-s1-'
    >>> s.run_id == Spec("creativeit", 0, "speech", "ccc", "cer-mtl", seed=1, epochs=3).run_id
    False
    >>> s.setting, s.model_name, s.task_names
    ('speech', 'CER-MTL', ('activation', 'valence', 'dominance'))
    """

    dataset: str
    fold: int
    modalities: str = "multimodal"
    loss: str = "ccc"
    model: str = "cer-mtl"
    tasks: tuple = ()
    n_frames: int = 20
    seed: int = 0
    draw: int = 0
    data_key: str = ""
    epochs: int = 100
    lr: float = 5e-5
    frames_per_epoch: int | None = None
    batch_size: int = 256
    patience: int | None = 20
    stride: int = 10
    normalise: str = "global"
    reading: str = "literal"
    fps: float = 60.0
    max_shift_s: float = 0.0
    tables: tuple = field(default=(), compare=False)

    def __post_init__(self):
        if self.dataset not in DATASET_TASKS:
            raise ValueError(f"dataset must be one of {sorted(DATASET_TASKS)}, got {self.dataset!r}")
        if self.modalities not in DATASET_SETTINGS[self.dataset]:
            raise ValueError(f"{self.dataset} modalities must be one of {DATASET_SETTINGS[self.dataset]}, "
                             f"got {self.modalities!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.model not in MODEL_NAMES:
            raise ValueError(f"model must be one of {sorted(MODEL_NAMES)}, got {self.model!r}")
        if int(self.draw) < 0:
            raise ValueError(f"draw must be >= 0, got {self.draw!r}")
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "tables", tuple(self.tables))
        unknown = [t for t in self.tasks if t not in DATASET_TASKS[self.dataset]]
        if unknown:
            raise ValueError(f"{self.dataset} has tasks {DATASET_TASKS[self.dataset]}, got {unknown}")
        if self.model == "cer-stl" and len(self.tasks) != 1:
            raise ValueError(f"a CER-STL run has exactly one task, got tasks={self.tasks!r}")

    def fields(self) -> dict:
        """The spec as a plain dict (JSON-ready), ``tables`` included."""
        return dataclasses.asdict(self)

    @property
    def run_id(self) -> str:
        """Readable prefix plus a hash of every field except ``tables``, and of the store
        format: stable across processes, machines and Python versions."""
        payload = {k: v for k, v in self.fields().items() if k != "tables"}
        payload["tasks"] = list(payload["tasks"])
        payload["format"] = STORE_FORMAT
        digest = hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]
        task = f"-{self.tasks[0]}" if self.model == "cer-stl" else ""
        return (f"{self.dataset}-d{self.draw}-f{self.fold}-{self.modalities}-{self.loss}-{self.model}{task}"
                f"-n{self.n_frames}-s{self.seed}-{digest}")

    @property
    def setting(self) -> str:
        return self.modalities

    @property
    def model_name(self) -> str:
        return MODEL_NAMES[self.model]

    @property
    def task_names(self) -> tuple:
        return self.tasks or DATASET_TASKS[self.dataset]

    @property
    def unit(self) -> tuple:
        """The independent unit a claim averages over: (dataset, draw, fold, seed)."""
        return (self.dataset, self.draw, self.fold, self.seed)

    def group_key(self) -> tuple:
        """Runs with the same key share their data, framing, seed and whole schedule: the engine
        trains them in one pass (:func:`cerlib.grouped.fit_group`), modalities as input masks."""
        return (self.dataset, self.draw, self.data_key, self.fold, self.n_frames, self.stride, self.seed,
                self.fps, self.epochs, self.lr, self.frames_per_epoch, self.batch_size, self.patience,
                self.normalise)


def merge_specs(specs: Iterable[Spec]) -> list[Spec]:
    """One spec per run id, with the union of their tables, in first-seen order.

    Examples
    --------
    >>> a = Spec("recola", 0, tables=("II",)); b = Spec("recola", 0, tables=("III",))
    >>> merge_specs([a, b])[0].tables
    ('II', 'III')
    """
    merged: dict[str, Spec] = {}
    for spec in specs:
        old = merged.get(spec.run_id)
        tables = tuple(dict.fromkeys((old.tables if old else ()) + spec.tables))
        merged[spec.run_id] = dataclasses.replace(spec, tables=tables)
    return list(merged.values())


def paper_grid(tables: Sequence[str] = TABLES, *, folds: Mapping[str, Sequence[int]] | None = None,
               seeds: Sequence[int] | Mapping[str, Sequence[int]] = (0,), draws: Sequence[int] = (0,),
               **schedule) -> list[Spec]:
    """The specs of the paper's Tables I-V, each run once however many tables it fills.

    Parameters
    ----------
    tables : subset of ("I", "II", "III", "IV", "V")
        I: CreativeIT multimodal / speech / motion x CCC / PCC / MSE loss.
        II: RECOLA multimodal / face / speech x the three losses.
        III: multimodal CCC, CER-MTL against one CER-STL per task, both datasets.
        IV: multimodal CCC CER-MTL with N = 20, 40, 60, both datasets.
        V: CreativeIT multimodal CCC, Pure CNN against CER-MTL.
    folds : mapping dataset -> fold indices, default every fold (CreativeIT 0..4, RECOLA 0)
    seeds : sequence of int, or mapping dataset -> sequence
    draws : sequence of int
        Draws of the synthetic stubs (``make-stubs --seed``); every cell is run on each.
    **schedule : Spec fields shared by every run (epochs, lr, frames_per_epoch, ...)

    Returns
    -------
    list of Spec, with ``tables`` saying which tables each fills.

    Examples
    --------
    >>> grid = paper_grid(folds={"creativeit": [0], "recola": [0]})
    >>> len(grid), sorted({t for s in grid for t in s.tables})
    (28, ['I', 'II', 'III', 'IV', 'V'])
    >>> [s.tables for s in grid if s.modalities == "multimodal" and s.loss == "ccc"][0]
    ('I', 'III', 'IV', 'V')
    >>> len(paper_grid(folds={"creativeit": [0], "recola": [0]}, draws=[0, 1, 2]))
    84
    """
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}: the grid covers {', '.join(TABLES)} "
                         "(Table VI is published numbers only: cerlib.paper.tables('VI'))")
    folds = {**DEFAULT_FOLDS, **(folds or {})}
    seeds = seeds if isinstance(seeds, Mapping) else {d: tuple(seeds) for d in DATASET_TASKS}
    cells: list[tuple[str, dict]] = []  # (table, spec fields without fold/seed/draw)
    for table in tables:
        if table in ("I", "II"):
            dataset = "creativeit" if table == "I" else "recola"
            cells += [(table, dict(dataset=dataset, modalities=m, loss=loss))
                      for m in DATASET_SETTINGS[dataset] for loss in LOSSES]
        elif table == "III":
            for dataset, tasks in DATASET_TASKS.items():
                cells.append((table, dict(dataset=dataset)))
                cells += [(table, dict(dataset=dataset, model="cer-stl", tasks=(t,))) for t in tasks]
        elif table == "IV":
            cells += [(table, dict(dataset=d, n_frames=n)) for d in DATASET_TASKS for n in (20, 40, 60)]
        elif table == "V":
            cells += [(table, dict(dataset="creativeit")), (table, dict(dataset="creativeit", model="pure-cnn"))]
    specs = [Spec(**{**schedule, **cell, "fold": int(f), "seed": int(s), "draw": int(d), "tables": (table,)})
             for d in draws for table, cell in cells
             for f in folds.get(cell["dataset"], ()) for s in seeds.get(cell["dataset"], ())]
    return merge_specs(specs)


def _grid(schedule: Mapping, tables, seeds, draws) -> list[Spec]:
    q = dict(schedule)
    seed_map = q.pop("seeds") if seeds is None else {d: tuple(range(seeds)) for d in DATASET_TASKS}
    return paper_grid(tables, folds=q.pop("folds"), seeds=seed_map, draws=draws, **q)


def quick_grid(tables: Sequence[str] = TABLES, seeds: int | None = None) -> list[Spec]:
    """The grid of ``reproduce --quick``: :data:`QUICK`'s schedule, folds and seeds, one draw
    (``seeds=K`` uses seeds 0..K-1 on both datasets instead). A smoke run: not converged.

    Examples
    --------
    >>> len(quick_grid())
    114
    """
    return _grid(QUICK, tables, seeds, (0,))


def course_grid(tables: Sequence[str] = TABLES, draws: int = 3, seeds: int | None = None) -> list[Spec]:
    """The grid of ``reproduce`` (the default): :data:`COURSE`'s schedule over ``draws`` draws of
    the course-scale stubs (draws 0..draws-1).

    Examples
    --------
    >>> grid = course_grid(draws=3)
    >>> len(grid), sorted({s.draw for s in grid}), grid[0].patience
    (342, [0, 1, 2], 10)
    """
    return _grid(COURSE, tables, seeds, tuple(range(int(draws))))
