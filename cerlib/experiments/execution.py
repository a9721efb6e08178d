"""Run a grid anywhere through one futures interface: this process, a local process pool, or Dask.

``run_grid(specs)`` trains in this process; ``workers=N`` uses a local pool
of N spawned processes; ``scheduler="local:N"`` starts a Dask ``LocalCluster``
of N single-threaded worker processes, and ``scheduler="tcp://host:8786"``
sends the runs to an existing Dask cluster (``pip install cerlib[cluster]``).
All three are used the same way: ``submit(execute, batch, ...)`` returns a
future, and finished futures are stored as they arrive. Only this process
writes the store.

Examples
--------
>>> from cerlib.examples import data_folder, example_data
>>> from cerlib.experiments.grid import paper_grid
>>> specs = paper_grid(["V"], folds={"creativeit": [0]}, epochs=1, frames_per_epoch=512, lr=1e-3)
>>> df = run_grid(specs[:1], data=data_folder(), progress=False)
>>> df[["table", "model", "task"]].values.tolist()
[['V', 'CER-MTL', 'activation'], ['V', 'CER-MTL', 'valence'], ['V', 'CER-MTL', 'dominance']]
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Iterable, Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

from .._util import progress_enabled
from .grid import Spec, merge_specs
from .runner import batches, execute
from .sources import COURSE_DATA, data_key, resolve
from .store import Store

__all__ = ["run_grid", "results_frame", "load_results", "bind_data", "SchedulerError", "RESULT_COLUMNS"]


class SchedulerError(RuntimeError):
    """The Dask scheduler could not be reached or started.

    Examples
    --------
    >>> issubclass(SchedulerError, RuntimeError)
    True
    """


class _Deferred(Future):
    """A future of this process: its work runs when :meth:`_InProcess.as_completed` reaches it."""

    def __init__(self, fn, args, kwargs):
        super().__init__()
        self.work = (fn, args, kwargs)

    def run(self):
        fn, args, kwargs = self.work
        self.set_result(fn(*args, **kwargs))  # exceptions propagate at once, as Ctrl-C must


class _InProcess:
    """The executor interface run in this process: ``submit`` queues the work; ``as_completed``
    runs it one unit at a time, so each unit is stored before the next one starts."""

    @staticmethod
    def submit(fn, *args, **kwargs):
        return _Deferred(fn, args, kwargs)

    @staticmethod
    def as_completed(futures):
        for future in futures:
            future.run()
            yield future


class _Pool:
    def __init__(self, workers: int):
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self.submit, self.as_completed = self.pool.submit, as_completed


class _Dask:
    def __init__(self, client):
        from distributed import as_completed  # an optional extra (cerlib[cluster]): imported where used

        self.client, self.as_completed = client, as_completed

    def submit(self, fn, batch, *args):
        return self.client.submit(fn, batch, *args, key=f"cerlib-{batch[0].run_id}", pure=False)


def _dask_client(scheduler: str):
    try:  # an optional extra (cerlib[cluster]): imported where used, so that cerlib works without it
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("a Dask scheduler needs the 'distributed' package: pip install 'cerlib[cluster]'") from None
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"scheduler 'local:N' needs a number of workers, got {scheduler!r}") from None
        if n < 1:
            raise ValueError(f"scheduler 'local:N' needs N >= 1 workers, got {scheduler!r}")
        saved = dict(os.environ)  # Dask's nanny writes its workers' settings into this process's environment
        try:
            # a free port on this machine only: the default 8787 may be taken ("Port 8787 is already in use")
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0")
        except Exception as err:  # noqa: BLE001 - Dask raises many kinds; one line says what to do
            raise SchedulerError(f"could not start {n} local Dask workers ({type(err).__name__}: "
                                 f"{str(err).splitlines()[0] if str(err) else ''}); in a script, put the call "
                                 "under `if __name__ == \"__main__\":`, or use workers=N") from None
        finally:
            _restore_environ(saved)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError) as err:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler!r} ({err}); start one with "
                             "`dask scheduler` and workers with `dask worker ADDRESS`, or use 'local:N'") from None


def _restore_environ(saved: dict) -> None:
    """Undo what starting local Dask workers wrote into ``os.environ`` (OMP_NUM_THREADS=1,
    MALLOC_TRIM_THRESHOLD_=65536, ...): left there, every process this one starts later inherits
    them (measured: a later notebook's grouped training ran 0.85x nine separate fits instead of 1.6x)."""
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


@contextlib.contextmanager
def _executor(workers: int | None, scheduler: str | None):
    if scheduler is not None:
        client, cluster = _dask_client(str(scheduler))
        try:
            yield _Dask(client)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif workers:
        pool = _Pool(int(workers))
        try:
            yield pool
        except BaseException:
            pool.pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.pool.shutdown()
    else:
        yield _InProcess()


def bind_data(specs: Sequence[Spec], data, progress: bool | None = False):
    """Bind each spec to its data: -> (specs with ``data_key`` set, ``{draw: {dataset: folder}}``).

    Examples
    --------
    >>> from cerlib.examples import data_folder, example_data
    >>> specs, folders = bind_data([Spec("recola", 0)], data_folder())
    >>> specs[0].data_key == data_key(folders[0]["recola"]) != ""
    True
    """
    folders = resolve(data, draws={s.draw for s in specs}, datasets={s.dataset for s in specs}, progress=progress)
    for draw, paths in folders.items():
        missing = sorted({s.dataset for s in specs if s.draw == draw} - set(paths))
        if missing:
            raise FileNotFoundError(f"the grid needs {missing} but the data folder of draw {draw} has only "
                                    f"{sorted(paths)}: expected {', '.join(m + '/' for m in missing)} beside them")
    keys = {(d, name): data_key(folder) for d, paths in folders.items() for name, folder in paths.items()}
    bound = [dataclasses.replace(s, data_key=keys[s.draw, s.dataset]) for s in specs]
    return merge_specs(bound), folders


def run_grid(specs: Sequence[Spec], *, data=None, store=None, workers: int | None = None,
             scheduler: str | None = None, device: str | None = "cpu", progress: bool | None = None):
    """Run the specs (skipping those finished in ``store``) and return their results.

    Parameters
    ----------
    specs : sequence of Spec
        E.g. :func:`cerlib.experiments.course_grid` or :func:`cerlib.experiments.quick_grid`;
        duplicates are run once.
    data : "course", a path or a mapping, default "data_stubs"
        ``"course"``: the course-scale stubs, one folder per draw (written into
        the cache on first use). A folder holding ``creativeit/`` and/or
        ``recola/`` (stubs or the real corpora), one dataset folder, or
        ``{"creativeit": path, ...}``: one draw. Every spec is bound to a digest
        of its data, which is part of its run id.
    store : path, optional
        The resumable store (:class:`cerlib.experiments.Store`). Without one nothing is kept.
    workers : int, optional
        A local pool of this many spawned processes (>= 1).
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
        One row per (table, run, task): :data:`RESULT_COLUMNS`. Every spec
        given is in it, whether it ran now or was in the store.

    Examples
    --------
    >>> import tempfile
    >>> from cerlib.examples import data_folder, example_data
    >>> spec = Spec("recola", 0, modalities="speech", epochs=1, frames_per_epoch=256, lr=1e-3, tables=("II",))
    >>> out = tempfile.mkdtemp()
    >>> df = run_grid([spec], data=data_folder(), store=out, progress=False)
    >>> run_grid([spec], data=data_folder(), store=out, progress=False).equals(df)   # from the store
    True
    """
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1 (a local pool), got {workers!r}")
    if workers and scheduler:
        raise ValueError("give workers=N (a local process pool) or scheduler=... (Dask), not both")
    specs, folders = bind_data(merge_specs(specs), data, progress=progress_enabled(progress))
    store = Store(store) if store is not None else None
    with (store.lock() if store is not None else contextlib.nullcontext()):
        stored, damaged = store.scan() if store is not None else ({}, {})
        for name, why in damaged.items():
            print(f"{store.runs / name}: {why}; rerunning it", file=sys.stderr)
        todo = [s for s in specs if s.run_id not in stored]
        bar = None
        if progress_enabled(progress) and todo:
            bar = tqdm(total=len(todo), desc=f"runs ({len(specs) - len(todo)} stored)", unit="run")
        fresh = {}
        try:
            with _executor(workers, scheduler) as pool:
                in_process = isinstance(pool, _InProcess)
                futures = []
                for batch in batches(todo):
                    args = (batch, folders, device)
                    if in_process and bar is not None and len(batch) == 1:
                        def on_epoch(row, *_, _spec=batch[0]):
                            bar.set_postfix_str(f"{_spec.run_id[:40]} epoch {row.get('epoch')}/{_spec.epochs}")
                        args = args + (on_epoch,)
                    futures.append(pool.submit(execute, *args))
                for future in pool.as_completed(futures):
                    for result in future.result():
                        if str(data) == COURSE_DATA:  # portable: the cache folder is this machine's
                            result["record"]["data"] = COURSE_DATA
                        if store is not None:
                            store.write(result)
                        rec = result["record"]
                        fresh[rec["run_id"]] = rec
                        if bar is not None:
                            bar.set_postfix_str(f"{rec['run_id'][:40]} {rec['seconds']:.1f} s", refresh=False)
                            bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    records = [dict(fresh.get(s.run_id) or stored[s.run_id], spec=s.fields()) for s in specs]
    return results_frame(records)


#: The columns of a results table: the paper's (``cerlib.paper.TABLE_COLUMNS``) and then ours.
RESULT_COLUMNS = ("table", "dataset", "setting", "loss", "model", "n_frames", "task", "ccc", "ccc_pp",
                  "draw", "fold", "seed", "run_id", "epochs", "epochs_run", "best_epoch", "stopped_early",
                  "seconds", "parameters", "synthetic")


def results_frame(records: Iterable[Mapping]):
    """Tidy rows from run records (as stored): one per (table, run, task).

    A NaN score is an error naming the run: a claim must never silently lose a unit.

    Examples
    --------
    >>> rec = {"run_id": "r", "spec": Spec("recola", 0, tables=("II",)).fields(), "best_epoch": 3,
    ...        "epochs_run": 9, "stopped_early": True, "seconds": 1.0, "parameters": 4000,
    ...        "scores": {"activation": {"ccc": 0.5, "ccc_pp": 0.6}, "valence": {"ccc": 0.2, "ccc_pp": 0.2}}}
    >>> results_frame([rec])[["table", "setting", "task", "ccc", "ccc_pp", "draw"]].values.tolist()
    [['II', 'multimodal', 'activation', 0.5, 0.6, 0], ['II', 'multimodal', 'valence', 0.2, 0.2, 0]]
    """
    rows = []
    for rec in records:
        spec = Spec(**{**rec["spec"], "tasks": tuple(rec["spec"]["tasks"]), "tables": tuple(rec["spec"]["tables"])})
        for task, score in rec["scores"].items():
            bad = [k for k in ("ccc", "ccc_pp") if not isinstance(score.get(k), (int, float)) or math.isnan(score[k])]
            if bad:
                raise ValueError(f"run {rec['run_id']}: its {task} score {bad[0]} is {score.get(bad[0])!r}, "
                                 "not a number; delete its record to rerun it")
        synthetic = bool(rec.get("synthetic", False))
        for table in spec.tables or ("",):
            for task, score in rec["scores"].items():
                rows.append({"table": table, "dataset": spec.dataset, "setting": spec.setting, "loss": spec.loss,
                             "model": spec.model_name, "n_frames": spec.n_frames, "task": task,
                             "ccc": score["ccc"], "ccc_pp": score["ccc_pp"], "draw": spec.draw,
                             "fold": spec.fold, "seed": spec.seed, "run_id": rec["run_id"], "epochs": spec.epochs,
                             "epochs_run": rec.get("epochs_run"), "best_epoch": rec.get("best_epoch"),
                             "stopped_early": rec.get("stopped_early"), "seconds": rec.get("seconds"),
                             "parameters": rec.get("parameters"), "synthetic": synthetic})
    df = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    df["n_frames"] = df["n_frames"].astype("Int64")
    return df


def load_results(store):
    """Every finished run of a store as :func:`results_frame` rows.

    Examples
    --------
    >>> import tempfile
    >>> load_results(tempfile.mkdtemp()).shape[0]
    0
    """
    return results_frame(Store(store).records())
