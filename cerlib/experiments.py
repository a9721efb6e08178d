"""The paper's experiment grid (Tables I-V, Figure 2) as data, run anywhere, resumably.

A run is a :class:`Spec`: a small frozen record of everything that decides its
numbers (dataset, fold, modalities, loss, model, tasks, N, seed and the
training schedule). Its :attr:`Spec.run_id` is a hash of those fields, so the
same spec always names the same run. :func:`paper_grid` lists the specs of the
paper's tables; :func:`run_grid` runs any list of them and returns one tidy
row per (table, run, task) in the columns of :func:`cerlib.paper.tables`
(``table, dataset, setting, loss, model, n_frames, task, ccc``) plus
``ccc_pp`` (after the AVEC post-processing, fitted on the validation set),
``fold, seed, run_id, best_epoch, seconds, parameters``.

Where the work goes
-------------------
``run_grid(specs)`` trains in this process; ``workers=N`` uses a local pool
of N spawned processes; ``scheduler="local:N"`` starts a Dask
``LocalCluster`` of N single-threaded worker processes, and
``scheduler="tcp://host:8786"`` sends the runs to an existing Dask cluster
(``pip install cerlib[cluster]``). Runs are independent tasks: a worker loads
the corpus (from ``data``, a path every worker can read), trains, evaluates,
and returns the scores and the checkpoint's bytes; only this process writes the
store. Each run trains with one torch thread on the CPU and is seeded from its
spec alone, so on the CPU the numbers do not depend on the executor.

The store
---------
``store=DIR`` keeps ``DIR/runs/<run_id>.json`` (spec, scores, history,
timings, versions) and ``DIR/runs/<run_id>.pt`` (the trained model, written
with :func:`cerlib.training.save_model`; load it with
:func:`cerlib.training.load_model`). The checkpoint is written first and the
JSON last, each to a temporary name and renamed, so a run is finished exactly
when its JSON exists: killing the process at any moment leaves only finished
runs (and perhaps a ``*.tmp`` that is ignored). A rerun skips every finished
run; Ctrl-C stops after keeping them.

Claims
------
:func:`claims` compares cells pairwise on the same fold, seed and task (the
paper's seven claims are :data:`CLAIMS`): mean difference, a 95 % bootstrap
interval over pairs, wins, and a verdict: ``"holds"`` when the interval lies
above zero, ``"reversed"`` when it lies below, else ``"not resolved by this
data"``.

Examples
--------
>>> specs = paper_grid(tables=["I"], folds={"creativeit": [0]})
>>> len(specs), specs[0].setting, specs[0].loss
(9, 'multimodal', 'ccc')
>>> specs[0].run_id == Spec(**{**specs[0].fields(), "tables": ()}).run_id   # the id ignores table membership
True
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ._util import atomic_write, progress_enabled
from .stubs import data_root

__all__ = ["Spec", "paper_grid", "quick_grid", "run_grid", "Store", "load_results", "summarise",
           "compare_with_paper", "table_markdown", "claims", "CLAIMS", "Claim", "bootstrap_interval",
           "PostProcess", "fit_postprocess", "main_reproduce", "SchedulerError", "TABLES", "QUICK"]

TABLES = ("I", "II", "III", "IV", "V")
DATASET_TASKS = {"creativeit": ("activation", "valence", "dominance"), "recola": ("activation", "valence")}
DATASET_SETTINGS = {"creativeit": ("multimodal", "speech", "motion"), "recola": ("multimodal", "face", "speech")}
DEFAULT_FOLDS = {"creativeit": tuple(range(5)), "recola": (0,)}
MODEL_NAMES = {"cer-mtl": "CER-MTL", "cer-stl": "CER-STL", "pure-cnn": "Pure CNN"}
LOSSES = ("ccc", "pcc", "mse")
STORE_FORMAT = 1
#: Runs trained together at most: about 9 members still fit in a CPU's cache (benchmarks/).
GROUP_SIZE = 9

# The quick schedule: lr 1e-3 for the stubs' few batches (notebook 06 gives the arithmetic),
# a few epochs of 4,096 frames each; CreativeIT over its 5 folds, RECOLA over seeds.
QUICK = {"epochs": 8, "lr": 1e-3, "frames_per_epoch": 4096, "patience": 20,
         "folds": {"creativeit": (0, 1, 2, 3, 4), "recola": (0,)},
         "seeds": {"creativeit": (0,), "recola": (0, 1, 2)}}


class SchedulerError(RuntimeError):
    """The Dask scheduler could not be reached or started.

    Examples
    --------
    >>> issubclass(SchedulerError, RuntimeError)
    True
    """


# --------------------------------------------------------------------------- specs
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
    >>> s.run_id
    'creativeit-f0-speech-ccc-cer-mtl-n20-s1-f4321713'
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
    epochs: int = 100
    lr: float = 5e-5
    frames_per_epoch: int | None = None
    batch_size: int = 256
    patience: int = 20
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
        """Readable prefix plus a hash of every field except ``tables``: stable across
        processes, machines and Python versions."""
        payload = {k: v for k, v in self.fields().items() if k != "tables"}
        payload["tasks"] = list(payload["tasks"])
        digest = hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]
        task = f"-{self.tasks[0]}" if self.model == "cer-stl" else ""
        return (f"{self.dataset}-f{self.fold}-{self.modalities}-{self.loss}-{self.model}{task}"
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

    def group_key(self) -> tuple:
        """Runs with the same key share their data, framing, seed and schedule (dataset, fold, N, stride,
        seed, ...): :func:`cerlib.grouped.fit_group` trains them in one pass, modalities as input masks."""
        return (self.dataset, self.fold, self.n_frames, self.stride, self.seed, self.fps,
                self.epochs, self.lr, self.frames_per_epoch, self.batch_size, self.normalise)


def _merge(specs: Iterable[Spec]) -> list[Spec]:
    """One spec per run id, with the union of their tables, in first-seen order."""
    merged: dict[str, Spec] = {}
    for spec in specs:
        old = merged.get(spec.run_id)
        tables = tuple(dict.fromkeys((old.tables if old else ()) + spec.tables))
        merged[spec.run_id] = dataclasses.replace(spec, tables=tables)
    return list(merged.values())


def paper_grid(tables: Sequence[str] = TABLES, *, folds: Mapping[str, Sequence[int]] | None = None,
               seeds: Sequence[int] | Mapping[str, Sequence[int]] = (0,), **schedule) -> list[Spec]:
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
    """
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}: the grid covers {', '.join(TABLES)} "
                         "(Table VI is published numbers only: cerlib.paper.tables('VI'))")
    folds = {**DEFAULT_FOLDS, **(folds or {})}
    seeds = seeds if isinstance(seeds, Mapping) else {d: tuple(seeds) for d in DATASET_TASKS}
    cells: list[tuple[str, dict]] = []  # (table, spec fields without fold/seed)
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
    specs = [Spec(**{**schedule, **cell, "fold": int(f), "seed": int(s), "tables": (table,)})
             for table, cell in cells for f in folds.get(cell["dataset"], ()) for s in seeds.get(cell["dataset"], ())]
    return _merge(specs)


def quick_grid(tables: Sequence[str] = TABLES, seeds: int | None = None) -> list[Spec]:
    """The grid of ``reproduce --quick``: :data:`QUICK`'s schedule, folds and seeds
    (``seeds=K`` uses seeds 0..K-1 on both datasets instead).

    Examples
    --------
    >>> len(quick_grid())
    114
    """
    q = dict(QUICK)
    seed_map = q.pop("seeds") if seeds is None else {d: tuple(range(seeds)) for d in DATASET_TASKS}
    return paper_grid(tables, folds=q.pop("folds"), seeds=seed_map, **q)


# --------------------------------------------------------------------------- post-processing
@dataclass(frozen=True)
class PostProcess:
    """The AVEC post-processing of one task's predictions: optional time shift, then
    centring and scaling to the validation reference's mean and spread.

    ``apply(y_hat) = mean_ref + (shift(y_hat) - mean_pred) * scale`` with
    ``scale = std_ref / std_pred``, all fitted on the validation set only.

    Examples
    --------
    >>> pp = PostProcess(shift=0, mean_pred=0.0, mean_ref=1.0, scale=2.0)
    >>> pp.apply(np.array([0.0, 1.0]))
    array([1., 3.])
    """

    shift: int
    mean_pred: float
    mean_ref: float
    scale: float

    def apply(self, y_hat: np.ndarray) -> np.ndarray:
        return self.mean_ref + (_shift(np.asarray(y_hat, float), self.shift) - self.mean_pred) * self.scale


def _shift(y: np.ndarray, frames: int) -> np.ndarray:
    """Delay (frames > 0) or advance (< 0) a trace, repeating its edge value."""
    if frames == 0 or len(y) == 0:
        return y
    k = min(abs(frames), len(y))
    if frames > 0:
        return np.concatenate([np.full(k, y[0]), y[:-k]])
    return np.concatenate([y[k:], np.full(k, y[-1])])


def fit_postprocess(references: Sequence[np.ndarray], predictions: Sequence[np.ndarray], *,
                    max_shift: int = 0) -> PostProcess:
    """Fit :class:`PostProcess` for one task on validation recordings.

    Parameters
    ----------
    references, predictions : sequences of (T_r,) arrays, one per validation recording
    max_shift : int
        Shifts -max_shift..max_shift frames are tried (per recording, edges repeated);
        the one with the best pooled CCC wins.

    Examples
    --------
    >>> t = np.arange(600) / 60
    >>> ref = np.sin(t); pred = 0.1 * np.sin(t - 0.5) - 3      # late, small and off level
    >>> pp = fit_postprocess([ref], [pred], max_shift=60)
    >>> pp.shift, round(pp.scale, 1), round(float(np.corrcoef(ref, pp.apply(pred))[0, 1]), 3)
    (-30, 10.1, 0.996)
    """
    from .metrics import ccc

    refs = [np.asarray(r, float) for r in references]
    preds = [np.asarray(p, float) for p in predictions]
    if not refs or sum(len(r) for r in refs) < 2:
        raise ValueError("post-processing needs validation recordings with at least two frames")
    ref = np.concatenate(refs)
    best = None
    for shift in range(-int(max_shift), int(max_shift) + 1):
        pred = np.concatenate([_shift(p, shift) for p in preds])
        sd = pred.std()
        scale = float(ref.std() / sd) if sd > 1e-12 else 1.0
        candidate = PostProcess(shift, float(pred.mean()), float(ref.mean()), scale)
        score = float(ccc(ref, candidate.mean_ref + (pred - candidate.mean_pred) * scale))
        if best is None or score > best[0] + 1e-12:
            best = (score, candidate)
    return best[1]


# --------------------------------------------------------------------------- one run
_CORPORA: dict = {}


def _resolve_data(data) -> dict:
    """-> {dataset: folder}. ``data``: a folder holding creativeit/ and/or recola/, one dataset
    folder, or a mapping."""
    from .data import detect_layout

    if data is None:
        data = Path("data_stubs")
    if isinstance(data, Mapping):
        return {k: str(Path(v)) for k, v in data.items()}
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"--data {root}: no such folder; expected a folder holding creativeit/ "
                                "and/or recola/ (e.g. data_stubs), or one dataset folder")
    found = {name: str(root / name) for name in DATASET_TASKS if (root / name).is_dir()}
    if not found:
        try:
            found = {detect_layout(root): str(root)}
        except Exception as err:
            raise FileNotFoundError(f"{root}: neither a CreativeIT/RECOLA folder nor a folder holding "
                                    f"creativeit/ or recola/ ({err})") from None
    return found


def _check_data(specs: Sequence[Spec], paths: Mapping[str, str]) -> None:
    missing = sorted({s.dataset for s in specs} - set(paths))
    if missing:
        raise FileNotFoundError(f"the grid needs {missing} but the data folder has only {sorted(paths)}: "
                                f"expected {', '.join(m + '/' for m in missing)} beside them")


def _corpus(path: str, fps: float):
    from .data import load_corpus

    key = (str(Path(path).resolve()), float(fps))
    if key not in _CORPORA:
        _CORPORA[key] = load_corpus(path, fps=fps, progress=False)
    return _CORPORA[key]


def _build_model(spec: Spec, n_features: int):
    from .models import CERMTL, PureCNN

    tasks = spec.task_names
    if spec.model == "pure-cnn":
        return PureCNN(n_features=n_features, n_frames=spec.n_frames, tasks=tasks)
    options = {"literal": dict(gru_over="time", batch_norm=False),
               "table-v": dict(gru_over="filters", batch_norm=True)}[spec.reading]
    return CERMTL(n_features=n_features, n_frames=spec.n_frames, tasks=tasks, **options)


def _fold_of(spec: Spec, paths: Mapping[str, str]):
    corpus = _corpus(paths[spec.dataset], spec.fps)
    folds = corpus.folds()
    if not 0 <= spec.fold < len(folds):
        raise ValueError(f"{paths[spec.dataset]}: {corpus.name} has folds 0..{len(folds) - 1}, "
                         f"the run {spec.run_id} asks for fold {spec.fold}")
    return corpus, folds[spec.fold]


def _modalities(spec: Spec):
    return None if spec.modalities == "multimodal" else [spec.modalities]


def _schedule(spec: Spec, device) -> dict:
    return dict(epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr, patience=spec.patience,
                stride=spec.stride, frames_per_epoch=spec.frames_per_epoch, normalise=spec.normalise,
                device=device, seed=spec.seed, progress=False)


def _groupable(spec: Spec) -> bool:
    """Runs that :func:`cerlib.grouped.fit_group` can train together: CER-MTL / CER-STL without batch norm."""
    return spec.model in ("cer-mtl", "cer-stl") and spec.reading == "literal"


def _batches(specs: Sequence[Spec], size: int = GROUP_SIZE) -> list[list[Spec]]:
    """The units of work: runs sharing :meth:`Spec.group_key` in groups of up to ``size``, the rest alone."""
    groups: dict = {}
    for spec in specs:
        key = spec.group_key() if _groupable(spec) else ("alone", spec.run_id)
        groups.setdefault(key, []).append(spec)
    return [members[i : i + size] for members in groups.values() for i in range(0, len(members), size)]


def _run_one(spec: Spec, paths: Mapping[str, str], device: str | None = None,
             on_epoch: Callable | None = None) -> dict:
    """Train and score one spec. -> {"record": JSON-ready dict, "checkpoint": bytes}."""
    from .training import fit, seed_everything

    started = time.perf_counter()
    corpus, fold = _fold_of(spec, paths)
    modalities = _modalities(spec)
    with _one_thread():
        seed_everything(spec.seed)
        model = _build_model(spec, fold.train[0].inputs(modalities).shape[1])
        history = fit(model, fold.train, fold.valid, modalities=modalities, loss=spec.loss, on_epoch=on_epoch,
                      **_schedule(spec, device))
        if history.interrupted:
            raise KeyboardInterrupt
        return _result(spec, paths, corpus, fold, model, history, time.perf_counter() - started)


def _run_group(specs: Sequence[Spec], paths: Mapping[str, str], device: str | None = None) -> list[dict]:
    """Train runs that share fold, framing, seed and schedule in one pass (:func:`cerlib.grouped.fit_group`).

    Each member starts from the weights its own run would (seeded the same way)
    and sees the same batches, so it ends as its separate run would, to float
    tolerance (``tests/test_grouped.py``); a group costs about half of its runs
    trained one after another (``benchmarks/``).
    """
    from .grouped import fit_group
    from .training import seed_everything

    started = time.perf_counter()
    corpus, fold = _fold_of(specs[0], paths)
    models = []
    for spec in specs:
        seed_everything(spec.seed)
        models.append(_build_model(spec, fold.train[0].inputs(_modalities(spec)).shape[1]))
    with _one_thread():
        histories = fit_group(models, fold.train, fold.valid, losses=[s.loss for s in specs],
                              modalities_per_member=[_modalities(s) for s in specs], **_schedule(specs[0], device))
        if any(h.interrupted for h in histories):
            raise KeyboardInterrupt
        seconds = (time.perf_counter() - started) / len(specs)
        return [_result(s, paths, corpus, fold, m, h, seconds) for s, m, h in zip(specs, models, histories)]


class _one_thread:
    """One torch thread per run: the same numbers whichever executor ran it."""

    def __enter__(self):
        import torch

        self.before = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.before)


def _result(spec, paths, corpus, fold, model, history, seconds) -> dict:
    """Score a trained run on its fold's test speakers (raw and post-processed) and pack its record."""
    import torch

    from . import __version__
    from .metrics import ccc
    from .models import parameter_count
    from .training import predict, save_model

    test_pred = predict(model, list(fold.test))
    valid_pred = predict(model, list(fold.valid)) if fold.valid else []
    max_shift = int(round(spec.max_shift_s * corpus.fps))
    scores, post = {}, {}
    for m, task in enumerate(spec.task_names):
        ref = np.concatenate([r.label(task) for r in fold.test])
        raw = np.concatenate([p[:, m] for p in test_pred])
        if valid_pred:
            pp = fit_postprocess([r.label(task) for r in fold.valid], [p[:, m] for p in valid_pred],
                                 max_shift=max_shift)
            processed = np.concatenate([pp.apply(p[:, m]) for p in test_pred])
            post[task] = dataclasses.asdict(pp)
        else:
            processed = raw
        scores[task] = {"ccc": float(ccc(ref, raw)), "ccc_pp": float(ccc(ref, processed))}
    with tempfile.TemporaryDirectory() as tmp:
        save_model(model, Path(tmp) / "model.pt")
        checkpoint = (Path(tmp) / "model.pt").read_bytes()
    record = {
        "format": STORE_FORMAT, "run_id": spec.run_id, "spec": spec.fields(), "scores": scores,
        "postprocess": post, "best_epoch": history.best_epoch, "epochs_run": len(history.epochs),
        "stopped_early": history.stopped_early, "train_seconds": history.seconds,
        "seconds": seconds, "parameters": parameter_count(model),
        "device": history.device, "fold_name": fold.name, "data": str(paths[spec.dataset]),
        "history": history.epochs, "cerlib": __version__, "torch": torch.__version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return {"record": record, "checkpoint": checkpoint}


def _execute(specs: Sequence[Spec], paths: Mapping[str, str], device: str | None = None,
             on_epoch: Callable | None = None) -> list[dict]:
    """Run one unit of work in this process (one run, or a group from :func:`_batches`): what every executor submits."""
    if len(specs) > 1:
        return _run_group(specs, paths, device)
    return [_run_one(specs[0], paths, device, on_epoch)]


# --------------------------------------------------------------------------- store
class Store:
    """A folder of finished runs: ``runs/<run_id>.json`` and ``runs/<run_id>.pt``.

    Examples
    --------
    >>> store = Store(tempfile.mkdtemp())
    >>> store.done(), store.path("x", ".json").name
    (set(), 'x.json')
    """

    def __init__(self, root):
        self.root = Path(root)
        self.runs = self.root / "runs"
        if self.runs.exists() and not self.runs.is_dir():
            raise NotADirectoryError(f"store {self.root}: {self.runs} exists and is not a folder")
        self.runs.mkdir(parents=True, exist_ok=True)

    def path(self, run_id: str, suffix: str) -> Path:
        return self.runs / f"{run_id}{suffix}"

    def done(self) -> set:
        """Run ids with a finished (JSON) record."""
        return {p.stem for p in self.runs.glob("*.json")}

    def write(self, result: Mapping) -> Path:
        """Checkpoint first, record last, each atomically (temporary name, then rename)."""
        record = result["record"]
        atomic_write(self.path(record["run_id"], ".pt"), result["checkpoint"])
        return atomic_write(self.path(record["run_id"], ".json"),
                             json.dumps(record, indent=1, sort_keys=True).encode())

    def records(self) -> list[dict]:
        out = []
        for p in sorted(self.runs.glob("*.json")):
            try:
                out.append(json.loads(p.read_text()))
            except json.JSONDecodeError as err:
                raise ValueError(f"{p}: not a cerlib run record ({err})") from None
        return out

    def model(self, run_id: str, device: str | None = "cpu"):
        """The trained model of a stored run (:func:`cerlib.training.load_model`)."""
        from .training import load_model

        path = self.path(run_id, ".pt")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no stored checkpoint for run {run_id!r}")
        return load_model(path, device=device)


# --------------------------------------------------------------------------- executors
def _pool_worker(specs, paths, device):
    return _execute(specs, paths, device)


def _dask_client(scheduler: str):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("a Dask scheduler needs the 'distributed' package: pip install 'cerlib[cluster]'") from None
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"scheduler 'local:N' needs a number of workers, got {scheduler!r}") from None
        # a free port on this machine only: the default 8787 may be taken ("Port 8787 is already in use")
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0")
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError) as err:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler!r} ({err}); start one with "
                             "`dask scheduler` and workers with `dask worker ADDRESS`, or use 'local:N'") from None


def _run_specs(todo: list[Spec], paths, store: Store | None, device, workers, scheduler, bar) -> list[dict]:
    """Run every spec, storing each result as it arrives; -> records."""
    records = []

    def finish(result):
        if store is not None:
            store.write(result)
        records.append(result["record"])
        if bar is not None:
            rec = result["record"]
            bar.set_postfix_str(f"{rec['run_id'][:40]} {rec['seconds']:.1f} s", refresh=False)
            bar.update(1)

    if scheduler is None and not workers:
        for batch in _batches(todo):
            on_epoch = None
            if bar is not None:
                bar.set_postfix_str(f"{batch[0].run_id[:40]}" + (f" + {len(batch) - 1} grouped" if len(batch) > 1 else ""))
                if len(batch) == 1:
                    def on_epoch(row, *_, _spec=batch[0]):  # noqa: E306
                        bar.set_postfix_str(f"{_spec.run_id[:40]} epoch {row.get('epoch')}/{_spec.epochs}")
            for result in _execute(batch, paths, device, on_epoch):
                finish(result)
        return records
    if scheduler is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        pool = ProcessPoolExecutor(max_workers=int(workers), mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = [pool.submit(_pool_worker, batch, paths, device) for batch in _batches(todo)]
            for future in as_completed(futures):
                for result in future.result():
                    finish(result)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return records
    from distributed import as_completed as dask_completed

    client, cluster = _dask_client(str(scheduler))
    try:
        futures = [client.submit(_pool_worker, batch, paths, device, key=f"cerlib-{batch[0].run_id}", pure=False)
                   for batch in _batches(todo)]
        for future in dask_completed(futures):
            for result in future.result():
                finish(result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return records


def run_grid(specs: Sequence[Spec], *, data=None, store=None, workers: int | None = None,
             scheduler: str | None = None, device: str | None = "cpu", progress: bool | None = None):
    """Run the specs (skipping those already in ``store``) and return their results.

    Parameters
    ----------
    specs : sequence of Spec
        E.g. :func:`paper_grid` or :func:`quick_grid`; duplicates are run once.
    data : path or mapping, default "data_stubs"
        A folder holding ``creativeit/`` and/or ``recola/`` (stubs or the real
        corpora), one dataset folder, or ``{"creativeit": path, ...}``.
        With a cluster every worker must be able to read it.
    store : path, optional
        The resumable store (module docstring). Without one nothing is kept.
    workers : int, optional
        A local pool of this many spawned processes.
    scheduler : str, optional
        ``"local:N"`` (a Dask LocalCluster of N processes, started and closed
        here) or a Dask scheduler address. Excludes ``workers``.
    device : str, default "cpu"
        Training device of every run; None lets each worker pick.
    progress : bool, optional
        A bar over runs (with the current run's epoch in this process).

    Returns
    -------
    pandas.DataFrame
        One row per (table, run, task): the columns of
        :func:`cerlib.paper.tables` plus ``ccc_pp, fold, seed, run_id,
        best_epoch, seconds, parameters``. Every spec given is in it, whether it
        ran now or was in the store.

    Examples
    --------
    >>> from cerlib.examples import data_folder
    >>> specs = paper_grid(["V"], folds={"creativeit": [0]}, epochs=1, frames_per_epoch=512, lr=1e-3)
    >>> df = run_grid(specs[:1], data=data_folder(), progress=False)
    >>> df[["table", "model", "task"]].values.tolist()
    [['V', 'CER-MTL', 'activation'], ['V', 'CER-MTL', 'valence'], ['V', 'CER-MTL', 'dominance']]
    """
    if workers and scheduler:
        raise ValueError("give workers=N (a local process pool) or scheduler=... (Dask), not both")
    specs = _merge(specs)
    paths = _resolve_data(data)
    _check_data(specs, paths)
    store = Store(store) if store is not None else None
    done = store.done() if store is not None else set()
    todo = [s for s in specs if s.run_id not in done]
    bar = None
    if progress_enabled(progress) and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"runs ({len(specs) - len(todo)} stored)", unit="run")
    try:
        fresh = {r["run_id"]: r for r in _run_specs(todo, paths, store, device, workers, scheduler, bar)}
    finally:
        if bar is not None:
            bar.close()
    stored = {}
    if store is not None:
        stored = {r["run_id"]: r for r in store.records() if r["run_id"] in done}
    records = [dict(fresh.get(s.run_id) or stored[s.run_id], spec=s.fields()) for s in specs]
    return results_frame(records)


def results_frame(records: Iterable[Mapping]):
    """Tidy rows from run records (as stored): one per (table, run, task).

    Examples
    --------
    >>> rec = {"run_id": "r", "spec": Spec("recola", 0, tables=("II",)).fields(), "best_epoch": 3,
    ...        "seconds": 1.0, "parameters": 4000,
    ...        "scores": {"activation": {"ccc": 0.5, "ccc_pp": 0.6}, "valence": {"ccc": 0.2, "ccc_pp": 0.2}}}
    >>> results_frame([rec])[["table", "setting", "task", "ccc", "ccc_pp"]].values.tolist()
    [['II', 'multimodal', 'activation', 0.5, 0.6], ['II', 'multimodal', 'valence', 0.2, 0.2]]
    """
    import pandas as pd

    from .paper import TABLE_COLUMNS

    rows = []
    for rec in records:
        spec = Spec(**{**rec["spec"], "tasks": tuple(rec["spec"]["tasks"]), "tables": tuple(rec["spec"]["tables"])})
        for table in spec.tables or ("",):
            for task, score in rec["scores"].items():
                rows.append({"table": table, "dataset": spec.dataset, "setting": spec.setting, "loss": spec.loss,
                             "model": spec.model_name, "n_frames": spec.n_frames, "task": task,
                             "ccc": score["ccc"], "ccc_pp": score["ccc_pp"], "fold": spec.fold,
                             "seed": spec.seed, "run_id": rec["run_id"], "best_epoch": rec.get("best_epoch"),
                             "seconds": rec.get("seconds"), "parameters": rec.get("parameters")})
    columns = list(TABLE_COLUMNS) + ["ccc_pp", "fold", "seed", "run_id", "best_epoch", "seconds", "parameters"]
    df = pd.DataFrame(rows, columns=columns)
    df["n_frames"] = df["n_frames"].astype("Int64")
    return df


def load_results(store):
    """Every finished run of a store as :func:`results_frame` rows.

    Examples
    --------
    >>> load_results(tempfile.mkdtemp()).shape[0]
    0
    """
    return results_frame(Store(store).records())


# --------------------------------------------------------------------------- aggregation
CELL = ["table", "dataset", "setting", "loss", "model", "n_frames", "task"]


def summarise(results, *, value: str = "ccc"):
    """Mean, std and count over folds x seeds per cell, with the paper's number beside.

    Parameters
    ----------
    results : DataFrame from :func:`run_grid` / :func:`load_results`
    value : "ccc" (raw) or "ccc_pp" (post-processed)

    Returns
    -------
    DataFrame: the cell columns, ``mean, std, n, paper``.

    Examples
    --------
    >>> rec = lambda fold, c: {"run_id": str(fold), "spec": Spec("creativeit", fold, tables=("V",)).fields(),
    ...     "scores": {"activation": {"ccc": c, "ccc_pp": c}}}
    >>> s = summarise(results_frame([rec(0, 0.2), rec(1, 0.4)]))
    >>> s[["mean", "n", "paper"]].round(2).values.tolist()
    [[0.3, 2.0, 0.38]]
    """
    import pandas as pd

    from .paper import tables

    grouped = results.groupby(CELL, dropna=False)[value]
    summary = grouped.agg(mean="mean", std="std", n="count").reset_index()
    summary["std"] = summary["std"].fillna(0.0)
    paper = tables()
    paper = paper[paper["table"].isin(list(TABLES))]
    merged = summary.merge(paper.rename(columns={"ccc": "paper"}), on=CELL, how="left")
    return merged.astype({"n": float}) if len(merged) else pd.DataFrame(columns=CELL + ["mean", "std", "n", "paper"])


def compare_with_paper(summary, table: str):
    """One table laid out as the paper does: a row per setting/loss/model/N, a column
    per task holding ``"ours ± std (paper)"``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame([dict(table="V", dataset="creativeit", setting="multimodal", loss="ccc",
    ...       model="CER-MTL", n_frames=20, task="activation", mean=0.3, std=0.1, n=5, paper=0.38)])
    >>> compare_with_paper(s, "V").iloc[0]["activation"]
    '0.30 ± 0.10 (0.38)'
    """
    part = summary[summary["table"] == table].copy()
    if part.empty:
        raise ValueError(f"no results for Table {table}")
    part["cell"] = [f"{m:.2f} ± {s:.2f} ({p:.2f})" if p == p else f"{m:.2f} ± {s:.2f}"
                    for m, s, p in zip(part["mean"], part["std"], part["paper"])]
    rows = ["dataset", "setting", "loss", "model", "n_frames"]
    wide = part.pivot_table(index=rows, columns="task", values="cell", aggfunc="first", sort=False)
    order = [t for t in ("activation", "valence", "dominance") if t in wide.columns]
    wide = wide[order].reset_index()
    wide.columns.name = None
    return wide


def table_markdown(summary, table: str, *, parameters=None) -> str:
    """Markdown of :func:`compare_with_paper`; for Table V with our and the paper's parameter counts.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame([dict(table="V", dataset="creativeit", setting="multimodal", loss="ccc",
    ...       model="CER-MTL", n_frames=20, task="activation", mean=0.3, std=0.1, n=5, paper=0.38)])
    >>> print(table_markdown(s, "V").splitlines()[2])
    | creativeit | multimodal | ccc | CER-MTL | 20 | 0.30 ± 0.10 (0.38) |
    """
    wide = compare_with_paper(summary, table).fillna("")
    if table == "V" and parameters is not None:
        from .paper import parameters as paper_parameters

        published = {("Pure CNN" if m.startswith("Pure CNN") else m): p
                     for m, p in zip(paper_parameters()["model"], paper_parameters()["parameters"])}
        wide["parameters (ours)"] = [f"{int(parameters.get(m, 0)):,}" if m in parameters else "" for m in wide["model"]]
        wide["parameters (paper)"] = [f"{published[m]:,}" if m in published else "" for m in wide["model"]]
    return _markdown(wide)


def _markdown(df) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


# --------------------------------------------------------------------------- claims
@dataclass(frozen=True)
class Claim:
    """One paired comparison: cells where ``column == a`` against ``column == b``,
    matched on everything else (dataset, setting, loss, model, N, task, fold, seed).

    ``where`` restricts the rows first (e.g. ``{"table": ("I", "II")}``). With
    ``b=None`` the claim is about level: ``a``'s CCC against ``threshold``
    (the claim holds when the whole interval lies below it).

    Examples
    --------
    >>> c = Claim("MTL > STL", "CER-MTL − CER-STL (Table III)", "model", "CER-MTL", "CER-STL", (("table", ("III",)),))
    >>> c in CLAIMS
    True
    """

    claim: str
    comparison: str
    column: str
    a: object
    b: object = None
    where: tuple = ()
    threshold: float | None = None


CLAIMS = (
    Claim("CCC > PCC > MSE", "CCC loss − PCC loss (Tables I, II)", "loss", "ccc", "pcc",
          (("table", ("I", "II")),)),
    Claim("CCC > PCC > MSE", "PCC loss − MSE loss (Tables I, II)", "loss", "pcc", "mse",
          (("table", ("I", "II")),)),
    Claim("speech > motion", "speech − motion (Table I)", "setting", "speech", "motion",
          (("table", ("I",)),)),
    Claim("motion carries no valence", "motion-only valence CCC, below 0.10 (Table I)", "setting", "motion",
          None, (("table", ("I",)), ("task", ("valence",))), threshold=0.10),
    Claim("fusion ≥ speech", "multimodal − speech (Tables I, II)", "setting", "multimodal", "speech",
          (("table", ("I", "II")),)),
    Claim("MTL > STL", "CER-MTL − CER-STL (Table III)", "model", "CER-MTL", "CER-STL",
          (("table", ("III",)),)),
    Claim("larger N helps activation", "N = 60 − N = 20, activation (Table IV)", "n_frames", 60, 20,
          (("table", ("IV",)), ("task", ("activation",)))),
    Claim("larger N helps activation", "N = 40 − N = 20, activation (Table IV)", "n_frames", 40, 20,
          (("table", ("IV",)), ("task", ("activation",)))),
    Claim("CER-MTL > Pure CNN", "CER-MTL − Pure CNN (Table V)", "model", "CER-MTL", "Pure CNN",
          (("table", ("V",)),)),
)


def bootstrap_interval(values, *, n_boot: int = 4000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampling values).

    Examples
    --------
    >>> lo, hi = bootstrap_interval(np.full(10, 0.2))
    >>> round(lo, 6), round(hi, 6)
    (0.2, 0.2)
    >>> bootstrap_interval([0.1, -0.1, 0.2, 0.0])[0] < 0.05 < bootstrap_interval([0.1, -0.1, 0.2, 0.0])[1]
    True
    """
    values = np.sort(np.asarray(values, float))  # the interval must not depend on row order
    if values.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def _pairs(results, claim: Claim, value: str):
    rows = results.drop_duplicates(["run_id", "task", "table"])
    for column, allowed in claim.where:
        rows = rows[rows[column].isin(list(allowed))]
    keys = [c for c in ["dataset", "setting", "loss", "model", "n_frames", "task", "fold", "seed"] if c != claim.column]
    rows = rows.drop_duplicates(["run_id", "task"])
    a = rows[rows[claim.column] == claim.a]
    if claim.b is None:
        return a[value].to_numpy(float), a
    b = rows[rows[claim.column] == claim.b]
    pairs = a.merge(b, on=keys, suffixes=("_a", "_b"))
    return (pairs[f"{value}_a"] - pairs[f"{value}_b"]).to_numpy(float), pairs


def _paper_difference(claim: Claim) -> float:
    from .paper import tables

    paper = tables()
    paper = paper[paper["table"].isin(list(TABLES))].copy()
    paper["fold"], paper["seed"], paper["run_id"] = 0, 0, np.arange(len(paper)).astype(str)
    paper["ccc_pp"] = paper["ccc"]
    values, _ = _pairs(paper, claim, "ccc")
    return float(np.mean(values)) if values.size else float("nan")


def claims(results, *, value: str = "ccc", claim_list: Sequence[Claim] = CLAIMS, n_boot: int = 4000, seed: int = 0):
    """The verdict of each claim on these results.

    Returns
    -------
    DataFrame: ``claim, comparison, pairs, mean, low, high, wins, paper, verdict``.
    ``mean`` is the mean paired difference (a − b; for a level claim the mean
    CCC), ``low``/``high`` its 95 % bootstrap interval, ``wins`` the pairs
    where a beat b (level claims: values below the threshold), ``paper`` the
    same comparison on the paper's numbers.

    Examples
    --------
    >>> rec = lambda fold, loss, c: {"run_id": f"{fold}{loss}", "best_epoch": 1, "seconds": 1,
    ...     "spec": Spec("creativeit", fold, loss=loss, tables=("I",)).fields(),
    ...     "scores": {"activation": {"ccc": c, "ccc_pp": c}}}
    >>> df = results_frame([rec(f, "ccc", 0.5 + 0.01 * f) for f in range(5)] +
    ...                    [rec(f, "pcc", 0.3) for f in range(5)])
    >>> claims(df).set_index("comparison").loc["CCC loss − PCC loss (Tables I, II)", ["pairs", "wins", "verdict"]].astype(str).tolist()
    ['5', '5', 'holds']
    """
    import pandas as pd

    rows = []
    for claim in claim_list:
        values, _ = _pairs(results, claim, value)
        low, high = bootstrap_interval(values, n_boot=n_boot, seed=seed)
        if claim.b is None:
            wins = int((values < claim.threshold).sum())
            verdict = ("holds" if high < claim.threshold else "reversed" if low > claim.threshold
                       else "not resolved by this data")
        else:
            wins = int((values > 0).sum())
            verdict = "holds" if low > 0 else "reversed" if high < 0 else "not resolved by this data"
        if values.size == 0:
            verdict = "no data"
        rows.append({"claim": claim.claim, "comparison": claim.comparison, "pairs": int(values.size),
                     "mean": float(values.mean()) if values.size else float("nan"), "low": low, "high": high,
                     "wins": wins, "paper": _paper_difference(claim), "verdict": verdict})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the shell
def _parse_tables(text: str) -> list[str]:
    names = [t.strip().upper() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in TABLES]
    if unknown or not names:
        raise SystemExit(f"--tables: unknown table(s) {unknown or [text]}; choose from {','.join(TABLES)} "
                         "(Table VI is the paper's published comparison, printed with Table IV)")
    return names


def main_reproduce(argv: Sequence[str] | None = None) -> int:
    """``python -m cerlib reproduce``: run (or resume) the grid and write every table, the claims and figures.

    Writes into ``--out``: ``results.csv`` (one row per table, run and task),
    ``summary.csv``, ``tables.md`` (ours ± std beside the paper, raw and
    post-processed), ``claims.csv`` / ``claims.md``, ``table_<T>.png``,
    ``claims.png``, ``figure2.png``, ``run.json`` (command, machine, date,
    time) and the store ``runs/``. Rerunning the same command resumes.

    Examples
    --------
    >>> main_reproduce(["--tables", "VII"])                  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    SystemExit: --tables: unknown table(s) ['VII']; ...
    """
    parser = argparse.ArgumentParser(prog="python -m cerlib reproduce", description=main_reproduce.__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"the quick grid: {QUICK['epochs']} epochs of {QUICK['frames_per_epoch']} frames, "
                             "lr 1e-3, CreativeIT 5 folds x 1 seed, RECOLA 3 seeds")
    parser.add_argument("--tables", default=",".join(TABLES), help="e.g. I,III (default: I,II,III,IV,V)")
    parser.add_argument("--data", default="data_stubs",
                        help="folder holding creativeit/ and/or recola/, or 'course' for the course-scale stubs "
                             "(written into the cache on first use; cerlib.stubs.course_stubs)")
    parser.add_argument("--out", default="reproduce", help="output folder (also the resumable store)")
    parser.add_argument("--seeds", type=int, help="seeds 0..K-1 on every dataset (default: 3; --quick: 1 / 3)")
    parser.add_argument("--epochs", type=int, help="override the schedule (default: the paper's 100; --quick 8)")
    parser.add_argument("--lr", type=float, help="override the learning rate (default 5e-5; --quick 1e-3)")
    parser.add_argument("--frames-per-epoch", type=int, help="frames drawn per epoch (default: all)")
    parser.add_argument("--max-shift", type=float, default=0.0, help="post-processing time shift, seconds (default 0)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="a local pool of N processes")
    where.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster of N workers")
    parser.add_argument("--device", default="cpu", help="cpu (default; reproducible across executors), cuda, mps")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    names = _parse_tables(args.tables)
    args.data = str(data_root(args.data))
    if not Path(args.data).is_dir():
        raise SystemExit(f"--data {args.data}: no such folder (expected one holding creativeit/ and/or recola/)")
    schedule = {}
    if args.quick:
        schedule = {k: QUICK[k] for k in ("epochs", "lr", "frames_per_epoch", "patience")}
        folds = QUICK["folds"]
        seeds = QUICK["seeds"] if args.seeds is None else {d: tuple(range(args.seeds)) for d in DATASET_TASKS}
    else:
        folds, seeds = None, tuple(range(3 if args.seeds is None else args.seeds))
    for key in ("epochs", "lr", "frames_per_epoch"):
        if getattr(args, key) is not None:
            schedule[key] = getattr(args, key)
    schedule["max_shift_s"] = args.max_shift
    try:
        paths = _resolve_data(args.data)
    except FileNotFoundError as err:
        raise SystemExit(str(err)) from None
    wanted = {"I": ["creativeit"], "II": ["recola"], "V": ["creativeit"]}
    needed = {d for t in names for d in wanted.get(t, ["creativeit", "recola"])}
    if not needed & set(paths):
        raise SystemExit(f"--data {args.data}: holds neither of {sorted(needed)}")
    folds = {d: f for d, f in (folds or DEFAULT_FOLDS).items() if d in paths}
    specs = [s for s in paper_grid(names, folds=folds, seeds=seeds, **schedule) if s.dataset in paths]
    scheduler = args.scheduler or (f"local:{args.dask_local}" if args.dask_local else None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(specs)} runs ({', '.join(f'{d}: {sum(s.dataset == d for s in specs)}' for d in paths)}); "
          f"store {out / 'runs'}")
    started = time.perf_counter()
    try:
        results = run_grid(specs, data=paths, store=out, workers=args.workers, scheduler=scheduler,
                           device=args.device, progress=not args.quiet)
    except SchedulerError as err:
        raise SystemExit(str(err)) from None
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(Store(out).done())} finished runs are kept in {out / 'runs'}; "
              "rerun the same command to resume", file=sys.stderr)
        return 130
    elapsed = time.perf_counter() - started
    write_report(results, out, command="python -m cerlib reproduce " + " ".join(
        list(sys.argv[1:] if argv is None else argv)), seconds=elapsed)
    print(f"wrote {out}/results.csv, tables.md, claims.md and figures in {elapsed:.0f} s")
    return 0


def write_report(results, out, *, command: str = "", seconds: float | None = None) -> None:
    """Write results.csv, summary.csv, tables.md, claims.csv/.md, run.json and the figures into ``out``."""
    import platform

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .paper import tables as paper_tables
    from .plots import plot_claims, plot_table_heatmap

    out = Path(out)
    results.to_csv(out / "results.csv", index=False)
    raw, post = summarise(results), summarise(results, value="ccc_pp")
    raw.assign(pp_mean=post["mean"], pp_std=post["std"]).to_csv(out / "summary.csv", index=False)
    params = results.drop_duplicates("model").set_index("model")["parameters"].to_dict()
    lines = ["# Tables I-V: ours (mean ± std over folds x seeds) and the paper's (in brackets)", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    present = [t for t in TABLES if t in set(results["table"])]
    for table in present:
        lines += [f"## Table {table} (raw CCC)", "", table_markdown(raw, table, parameters=params), ""]
        lines += [f"### Table {table}, post-processed (centred, scaled on the validation set)", "",
                  table_markdown(post, table), ""]
        if table == "IV":
            vi = paper_tables("VI")
            lines += ["## Table VI (the paper's published RECOLA dev numbers; not rerun)", "",
                      _markdown(vi.pivot_table(index="model", columns="task", values="ccc", sort=False).reset_index()), ""]
    (out / "tables.md").write_text("\n".join(lines))
    claim_raw, claim_pp = claims(results), claims(results, value="ccc_pp")
    claim_raw.assign(verdict_pp=claim_pp["verdict"], mean_pp=claim_pp["mean"]).to_csv(out / "claims.csv", index=False)
    fmt = claim_raw.copy()
    fmt["interval"] = [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(fmt["low"], fmt["high"])]
    fmt["mean"] = fmt["mean"].map("{:+.3f}".format)
    fmt["paper"] = fmt["paper"].map(lambda v: "" if v != v else f"{v:+.3f}")
    fmt["wins"] = [f"{w}/{n}" for w, n in zip(fmt["wins"], fmt["pairs"])]
    fmt["verdict (post-processed)"] = claim_pp["verdict"]
    (out / "claims.md").write_text(_markdown(fmt[["claim", "comparison", "mean", "interval", "wins", "paper",
                                                 "verdict", "verdict (post-processed)"]]) + "\n")
    for table in present:
        fig = plot_table_heatmap(raw, table)
        fig.savefig(out / f"table_{table}.png", dpi=110)
        plt.close(fig)
    fig = plot_claims(claim_raw)
    fig.savefig(out / "claims.png", dpi=110)
    plt.close(fig)
    try:
        fig = figure2(out, results)
    except (LookupError, FileNotFoundError):
        fig = None
    if fig is not None:
        fig.savefig(out / "figure2.png", dpi=110)
        plt.close(fig)
    import torch

    from . import __version__

    meta = {"command": command, "seconds": seconds, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
            "python": platform.python_version(), "torch": torch.__version__, "cerlib": __version__,
            "runs": int(results["run_id"].nunique())}
    (out / "run.json").write_text(json.dumps(meta, indent=1) + "\n")


def figure2(store, results=None, *, data=None, dataset: str = "creativeit", fold: int = 0, seed: int = 0,
            recording: int = 0, start: int = 0, length: int = 256, window: int = 100):
    """The paper's Figure 2 from stored models: the multimodal CER-MTL (N = 20) trained with
    each loss, on one test recording of ``fold``.

    ``data`` (as for :func:`run_grid`) overrides the data folder recorded with the runs.
    Raises ``LookupError`` when the store lacks one of the three runs.

    Examples
    --------
    >>> from cerlib.examples import data_folder
    >>> fig = figure2("results/reproduce-quick", data=data_folder())   # a store of reproduce --quick  # doctest: +SKIP
    """
    from .plots import plot_traces
    from .training import predict

    results = load_results(store) if results is None else results
    rows = results[(results["dataset"] == dataset) & (results["setting"] == "multimodal") &
                   (results["model"] == "CER-MTL") & (results["n_frames"] == 20) &
                   (results["fold"] == fold) & (results["seed"] == seed)]
    runs = {loss: rows[rows["loss"] == loss]["run_id"] for loss in LOSSES}
    if any(r.empty for r in runs.values()):
        raise LookupError(f"{store}: Figure 2 needs the multimodal CER-MTL runs of {dataset} fold {fold} "
                          f"seed {seed} for all three losses")
    store = Store(store)
    record = json.loads(store.path(runs["ccc"].iloc[0], ".json").read_text())
    path = _resolve_data(data)[dataset] if data is not None else record["data"]
    corpus = _corpus(path, record["spec"]["fps"])
    test = corpus.folds()[fold].test[recording]
    predictions = {loss: predict(store.model(ids.iloc[0]), test) for loss, ids in runs.items()}
    return plot_traces(test.labels, predictions, list(corpus.tasks), fps=corpus.fps, start=start,
                       length=length, window=window,
                       title=f"{dataset} {test.name} (fold {fold}, seed {seed}): stored models")
