"""One unit of work: train a run (or a group of runs sharing fold, framing, seed and schedule),
score it on its fold's test speakers, raw and post-processed, and pack its record.

Every executor (this process, a process pool, Dask) calls :func:`execute` and
nothing else, so the numbers do not depend on where a run went: each run
trains with one torch thread on the CPU and is seeded from its spec alone.

Examples
--------
>>> from cerlib.experiments.grid import Spec
>>> build_model(Spec("creativeit", 0, model="pure-cnn"), n_features=63).tasks
('activation', 'valence', 'dominance')
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from .. import __version__
from ..data import load_corpus
from ..grouped import fit_group
from ..metrics import ccc
from .. import models
from ..models import parameter_count
from ..training import fit, predict, save_model, seed_everything
from .grid import STORE_FORMAT, Spec
from .postprocess import fit_postprocess
from .sources import is_synthetic

__all__ = ["build_model", "execute", "groupable", "batches", "load_fold", "one_thread", "GROUP_SIZE"]

#: Runs trained together at most: about 9 members still fit in a CPU's cache (benchmarks/).
GROUP_SIZE = 9

_CORPORA: dict = {}


def corpus(path: str, fps: float):
    """The corpus at ``path``, loaded once per process (workers keep it between runs).

    Examples
    --------
    >>> from cerlib.examples import example_data
    >>> corpus(example_data("recola"), 25.0) is corpus(example_data("recola"), 25.0)
    True
    """
    key = (str(Path(path).resolve()), float(fps))
    if key not in _CORPORA:
        _CORPORA[key] = load_corpus(path, fps=fps, progress=False)
    return _CORPORA[key]


def build_model(spec: Spec, n_features: int):
    """The untrained network of a spec (seed it first with :func:`cerlib.device.seed_everything`).

    Examples
    --------
    >>> build_model(Spec("recola", 0, n_frames=40), n_features=50).n_frames
    40
    """
    return models.build_model(spec.model, reading=spec.reading, n_features=n_features, n_frames=spec.n_frames,
                              tasks=spec.task_names)


def load_fold(spec: Spec, folder: str):
    """-> (corpus, fold) of a spec, with an error naming the run if the fold does not exist.

    Examples
    --------
    >>> from cerlib.examples import example_data
    >>> load_fold(Spec("recola", 0), example_data("recola"))[1].name
    'dev'
    >>> load_fold(Spec("recola", 3), example_data("recola"))   # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: .../recola: recola has folds 0..0, the run ... asks for fold 3
    """
    c = corpus(folder, spec.fps)
    folds = c.folds()
    if not 0 <= spec.fold < len(folds):
        raise ValueError(f"{folder}: {c.name} has folds 0..{len(folds) - 1}, "
                         f"the run {spec.run_id} asks for fold {spec.fold}")
    return c, folds[spec.fold]


def modalities(spec: Spec):
    """None (every modality) for "multimodal", else the one modality as a list.

    Examples
    --------
    >>> modalities(Spec("recola", 0)), modalities(Spec("recola", 0, "face"))
    (None, ['face'])
    """
    return None if spec.modalities == "multimodal" else [spec.modalities]


def schedule(spec: Spec, device) -> dict:
    """The keyword arguments of :func:`cerlib.training.fit` a spec decides.

    Examples
    --------
    >>> schedule(Spec("recola", 0, epochs=3), "cpu")["epochs"]
    3
    """
    return dict(epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr, patience=spec.patience,
                stride=spec.stride, frames_per_epoch=spec.frames_per_epoch, normalise=spec.normalise,
                device=device, seed=spec.seed, progress=False)


def groupable(spec: Spec) -> bool:
    """Runs the engine trains as a group: CER-MTL / CER-STL without batch norm, trained with
    CCC or MSE. PCC runs train alone: grouped PCC members drifted from their separate runs
    (a PCC loss ignores the output's level, so its bias gradient is rounding noise that Adam
    normalises into steps).

    Examples
    --------
    >>> groupable(Spec("recola", 0)), groupable(Spec("creativeit", 0, model="pure-cnn"))
    (True, False)
    >>> groupable(Spec("recola", 0, loss="pcc"))
    False
    """
    return spec.model in ("cer-mtl", "cer-stl") and spec.reading == "literal" and spec.loss != "pcc"


def batches(specs: Sequence[Spec], size: int = GROUP_SIZE) -> list[list[Spec]]:
    """The units of work: runs sharing :meth:`Spec.group_key` in groups of up to ``size``, the rest alone.

    Examples
    --------
    >>> specs = [Spec("recola", 0, loss=l, seed=s) for l in ("ccc", "mse") for s in (0, 1)]
    >>> [len(b) for b in batches(specs)]
    [2, 2]
    """
    groups: dict = {}
    for spec in specs:
        key = spec.group_key() if groupable(spec) else ("alone", spec.run_id)
        groups.setdefault(key, []).append(spec)
    return [members[i: i + size] for members in groups.values() for i in range(0, len(members), size)]


class one_thread:
    """One torch thread per run: the same numbers whichever executor ran it.

    Examples
    --------
    >>> with one_thread():
    ...     torch.get_num_threads()
    1
    """

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def _run_one(spec: Spec, folder: str, device, on_epoch: Callable | None) -> dict:
    started = time.perf_counter()
    c, fold = load_fold(spec, folder)
    mods = modalities(spec)
    with one_thread():
        seed_everything(spec.seed)
        model = build_model(spec, fold.train[0].inputs(mods).shape[1])
        history = fit(model, fold.train, fold.valid, modalities=mods, loss=spec.loss, on_epoch=on_epoch,
                      **schedule(spec, device))
        if history.interrupted:
            raise KeyboardInterrupt
        return _result(spec, folder, c, fold, model, history, time.perf_counter() - started)


def _run_group(specs: Sequence[Spec], folder: str, device) -> list[dict]:
    """Runs that share fold, framing, seed and schedule in one pass: each member starts from the
    weights its own run would (seeded the same way) and sees the same batches, so it ends as its
    separate run would, to float tolerance (``tests/test_grouped.py``)."""
    started = time.perf_counter()
    c, fold = load_fold(specs[0], folder)
    models = []
    for spec in specs:
        seed_everything(spec.seed)
        models.append(build_model(spec, fold.train[0].inputs(modalities(spec)).shape[1]))
    with one_thread():
        histories = fit_group(models, fold.train, fold.valid, losses=[s.loss for s in specs],
                              modalities_per_member=[modalities(s) for s in specs], **schedule(specs[0], device))
        if any(h.interrupted for h in histories):
            raise KeyboardInterrupt
        seconds = (time.perf_counter() - started) / len(specs)
        return [_result(s, folder, c, fold, m, h, seconds) for s, m, h in zip(specs, models, histories)]


def _result(spec, folder, c, fold, model, history, seconds) -> dict:
    """Score a trained run on its fold's test speakers (raw, and post-processed with a
    :class:`PostProcess` fitted on the validation speakers only) and pack its record."""
    test_pred = predict(model, list(fold.test))
    valid_pred = predict(model, list(fold.valid)) if fold.valid else []
    max_shift = int(round(spec.max_shift_s * c.fps))
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
    epochs_run = len(history.epochs)
    record = {
        "format": STORE_FORMAT, "run_id": spec.run_id, "spec": spec.fields(), "scores": scores,
        "postprocess": post, "best_epoch": history.best_epoch, "epochs_run": epochs_run,
        "stopped_early": bool(history.stopped_early), "train_seconds": history.seconds,
        "seconds": seconds, "parameters": parameter_count(model),
        "device": history.device, "fold_name": fold.name, "data": str(folder), "synthetic": is_synthetic(folder),
        "history": history.epochs, "cerlib": __version__, "torch": torch.__version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return {"record": record, "checkpoint": checkpoint}


def execute(specs: Sequence[Spec], folders: Mapping[int, Mapping[str, str]], device: str | None = None,
            on_epoch: Callable | None = None) -> list[dict]:
    """Run one unit of work (one run, or a group from :func:`batches`) in this process:
    what every executor submits. -> ``[{"record": dict, "checkpoint": bytes}, ...]``.

    ``folders`` is ``{draw: {dataset: folder}}`` (:func:`cerlib.experiments.sources.resolve`).

    Examples
    --------
    >>> from cerlib.examples import example_data
    >>> spec = Spec("recola", 0, epochs=1, frames_per_epoch=256, lr=1e-3)
    >>> out = execute([spec], {0: {"recola": str(example_data("recola"))}})
    >>> sorted(out[0]["record"]["scores"]), out[0]["record"]["epochs_run"]
    (['activation', 'valence'], 1)
    """
    folder = folders[specs[0].draw][specs[0].dataset]
    if len(specs) > 1:
        return _run_group(specs, folder, device)
    return [_run_one(specs[0], folder, device, on_epoch)]
