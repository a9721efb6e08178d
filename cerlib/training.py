"""Training and inference (Section III): fit, predict, evaluate, device, seeds.

The set-up follows the paper: Adam, learning rate 5e-5, batch size 256, up to
100 epochs, early stopping with patience 20 on the validation mean CCC, and the
best weights restored at the end. The validation set is for early stopping
only and must come from training speakers (``Corpus.folds`` arranges that).

Data in, data out
-----------------
``train`` / ``valid`` / the input of :func:`predict` may be a
:class:`cerlib.data.Recording`, a ``(features (T, P), labels (T, n_tasks))``
pair, or a list of either. Recordings give the model the columns of its
``tasks`` by name (so a CER-STL for valence trains on the valence column), and
their modalities are concatenated in the order of ``modalities`` (early
fusion; default: all of them, speech first).

Normalisation
-------------
With ``normalise=True`` (default) ``fit`` computes a z-score per feature from
the *training* data only and attaches it to the model as
``model.cer_normaliser``; :func:`predict` applies it. The framing (``n_frames``,
``stride``) and the modalities are attached likewise (``model.cer_framing``),
so predict frames test data exactly as training did.
"""
from __future__ import annotations

import copy
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ._util import progress_enabled
from .features import Normaliser
from .framing import gather_images, pad_features
from .losses import multitask_loss
from .metrics import mean_ccc

__all__ = ["fit", "predict", "evaluate", "History", "pick_device", "describe_device", "seed_everything",
           "progress_enabled", "save_model", "load_model"]


# --------------------------------------------------------------------------- device, seeds, bars
def pick_device(device: str | torch.device | None = None, *, verbose: bool = False) -> torch.device:
    """The device to train on: the one asked for, else ``$CERLIB_DEVICE``,
    else CUDA, then Apple's MPS, then the CPU.

    Examples
    --------
    >>> pick_device("cpu")
    device(type='cpu')
    """
    choice = device if device is not None else os.environ.get("CERLIB_DEVICE") or None
    if choice is None:
        if torch.cuda.is_available():
            choice = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            choice = "mps"
        else:
            choice = "cpu"
    dev = torch.device(choice)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for, but torch sees no CUDA GPU on this machine")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("device 'mps' was asked for, but torch sees no Apple GPU (MPS) on this machine")
    if verbose:
        print(f"cerlib uses {describe_device(dev)}")
    return dev


def describe_device(device: torch.device | str | None = None) -> str:
    """A human-readable name, e.g. ``'cuda (NVIDIA H100 80GB HBM3)'`` or ``'cpu (2 threads)'``.

    Examples
    --------
    >>> describe_device("cpu")                        # doctest: +ELLIPSIS
    'cpu (... thread...)'
    """
    dev = pick_device(device)
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    if dev.type == "cpu":
        n = torch.get_num_threads()
        return f"cpu ({n} thread{'s' if n != 1 else ''})"
    return dev.type


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (all devices). Call before building a model
    so that its initial weights repeat; ``fit(seed=...)`` seeds the batch order.

    Examples
    --------
    >>> seed_everything(0); a = torch.rand(1)
    >>> seed_everything(0); bool(a == torch.rand(1))
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- history
@dataclass
class History:
    """What :func:`fit` did, epoch by epoch.

    Attributes
    ----------
    epochs : list of dict
        One row per epoch: ``epoch``, ``train_loss``, and with validation data
        ``valid_loss``, ``valid_ccc_<task>`` for each task, ``valid_mean_ccc``.
    best_epoch : int or None
        The epoch whose weights the model holds at the end (with validation).
    stopped_early, interrupted : bool
        Patience ran out / the user pressed Ctrl-C (or Interrupt in Jupyter).

    ``cerlib.plots.plot_history(history)`` draws it; ``history.to_frame()``
    gives a DataFrame.

    Examples
    --------
    >>> h = History(tasks=("activation",), loss="ccc", device="cpu")
    >>> h.epochs.append({"epoch": 1, "train_loss": 0.9, "valid_mean_ccc": 0.2}); h.best_epoch = 1
    >>> h.best["valid_mean_ccc"], h
    (0.2, History(1 epochs completed, best epoch 1, loss='ccc', device='cpu'))
    """

    tasks: tuple[str, ...]
    loss: str
    device: str
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    interrupted: bool = False
    seconds: float = 0.0

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.epochs)

    @property
    def best(self) -> dict:
        """The row of the best epoch (the last one without validation)."""
        if not self.epochs:
            return {}
        if self.best_epoch is None:
            return self.epochs[-1]
        return next(row for row in self.epochs if row["epoch"] == self.best_epoch)

    def __repr__(self) -> str:
        state = "interrupted" if self.interrupted else "stopped early" if self.stopped_early else "completed"
        best = f", best epoch {self.best_epoch}" if self.best_epoch is not None else ""
        return f"History({len(self.epochs)} epochs {state}{best}, loss={self.loss!r}, device={self.device!r})"


# --------------------------------------------------------------------------- data plumbing
def _is_pair(item: Any) -> bool:
    """A (features, labels) pair, as opposed to a tuple of two Recordings."""
    return isinstance(item, tuple) and len(item) == 2 and not hasattr(item[0], "features")


def _items(data) -> list:
    if data is None:
        return []
    if hasattr(data, "features") or _is_pair(data) or isinstance(data, np.ndarray) or torch.is_tensor(data):
        return [data]
    return list(data)


def _unpack(item, model, modalities, need_labels: bool):
    """-> (features (T, P) float32, labels (T, M) float32 or None)."""
    tasks = model.tasks
    if hasattr(item, "features"):  # a Recording
        x = item.inputs(modalities)
        _check_width(model, item.name, x)
        missing = [t for t in tasks if t not in item.tasks]
        if missing:
            raise ValueError(
                f"recording {item.name!r} has tasks {tuple(item.tasks)}; the model asks for {missing}"
            )
        y = item.labels[:, [list(item.tasks).index(t) for t in tasks]]
        return np.asarray(x, np.float32), np.asarray(y, np.float32)
    if _is_pair(item):
        x, y = item
    else:
        x, y = item, None
    x = np.asarray(x.detach().cpu() if torch.is_tensor(x) else x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"features must be (T, P), got shape {x.shape}")
    _check_width(model, "array", x)
    if y is not None:
        y = np.asarray(y.detach().cpu() if torch.is_tensor(y) else y, dtype=np.float32)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape != (x.shape[0], len(tasks)):
            raise ValueError(
                f"labels must be (T, n_tasks) = ({x.shape[0]}, {len(tasks)}) for tasks {tuple(tasks)}, "
                f"got {y.shape}"
            )
    elif need_labels:
        raise ValueError("training and validation data need labels: pass (features, labels) pairs or Recordings")
    return x, y


def _check_width(model, name: str, x) -> None:
    if x.shape[1] != model.n_features:
        raise ValueError(
            f"{name}: features have P={x.shape[1]} columns but the model expects "
            f"n_features={model.n_features}; pick `modalities` or build the model with "
            f"n_features={x.shape[1]}"
        )


class _Bank:
    """Every feature image of several recordings, drawn in shuffled batches.

    The padded features of all recordings are concatenated once on the device;
    a batch is one gather (B, N) -> (B, P, N), so no image is ever stored.
    """

    def __init__(self, arrays, labels, n_frames, stride, device):
        padded, rows, start = [], [], 0
        for x in arrays:
            p = pad_features(x, n_frames, stride)
            padded.append(p)
            rows.append(start + np.arange(len(x)))
            start += len(p)
        self.padded = torch.as_tensor(np.concatenate(padded), device=device)
        self.rows = torch.as_tensor(np.concatenate(rows), device=device)
        self.labels = (
            torch.as_tensor(np.concatenate(labels), device=device) if labels is not None else None
        )
        self.n_frames, self.stride = n_frames, stride

    def __len__(self) -> int:
        return len(self.rows)

    def images(self, index: torch.Tensor) -> torch.Tensor:
        return gather_images(self.padded, self.rows[index], self.n_frames, self.stride)


def _prepare(model, data, modalities, need_labels, normaliser):
    """-> (list of normalised (T, P) features, list of (T, M) labels or None).

    ``normaliser`` is a Normaliser, None, or "recording" / "speaker": z-score
    each recording (each speaker's recordings together) with its own statistics.
    """
    xs, ys, items = [], [], _items(data)
    for item in items:
        x, y = _unpack(item, model, modalities, need_labels)
        xs.append(normaliser.transform(x) if isinstance(normaliser, Normaliser) else x)
        ys.append(y)
    if isinstance(normaliser, str):
        keys = [getattr(it, "speaker", i) if normaliser == "speaker" else i for i, it in enumerate(items)]
        stats = {k: Normaliser.fit([x for x, kx in zip(xs, keys) if kx == k]) for k in set(keys)}
        xs = [stats[k].transform(x) for x, k in zip(xs, keys)]
    return xs, (ys if need_labels or all(y is not None for y in ys) else None)


# --------------------------------------------------------------------------- public API
def fit(
    model: torch.nn.Module,
    train,
    valid=None,
    *,
    modalities: Sequence[str] | None = None,
    loss: str = "ccc",
    alpha: Sequence[float] | None = None,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 5e-5,
    patience: int = 20,
    n_frames: int | None = None,
    stride: int = 10,
    normalise: bool | str = True,
    on_epoch=None,
    frames_per_epoch: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool | None = None,
    cpu_threads: int | None = 1,
) -> History:
    """Train ``model`` on feature images of ``train``; early-stop on ``valid``.

    Parameters
    ----------
    model : CERMTL or PureCNN (any module mapping (B, P, N) -> (B, n_tasks)
        with ``tasks``, ``n_features`` and ``n_frames`` attributes)
    train, valid : Recording, (features (T, P), labels (T, n_tasks)) pair, or a list of either
    modalities : sequence of str, optional
        Which of a Recording's modalities to fuse, in order (default: all).
    loss : {"ccc", "pcc", "mse"} or callable
        Per-task loss; the objective is J = sum_m alpha_m L_m.
    alpha : sequence of float, optional
        Task weights (default 1 / n_tasks each, the paper's 1/3).
    epochs, batch_size, lr, patience :
        The paper's 100, 256, 5e-5, 20. ``patience`` counts epochs without a
        better validation mean CCC.
    n_frames, stride : int
        Framing (Eq. 1); ``n_frames`` defaults to ``model.n_frames``.
    normalise : bool or {"global", "recording", "speaker"}
        z-score the features: True / "global" with training statistics (see
        module docstring); "recording" / "speaker" each recording / speaker
        with its own statistics, at training and prediction time alike.
    on_epoch : callable(row, model) -> bool or None, optional
        Called after every epoch with the history row; returning True stops
        training there (the best weights are restored as usual).
    frames_per_epoch : int, optional
        Draw only this many (random) frames per epoch; consecutive frames are
        nearly identical, so a fraction of an epoch teaches almost as much.
    device : str or torch.device, optional
        Default: :func:`pick_device`.
    seed : int
        Seeds the batch order. Seed the model's initial weights yourself with
        :func:`seed_everything` before building it.
    progress : bool, optional
        Show a progress bar (default: yes); ``$CERLIB_QUIET`` turns every bar off.
    cpu_threads : int or None, default 1
        Torch threads while training on the CPU (restored afterwards). The
        network is so small that a second thread barely helps when the machine
        is idle and hurts badly when another process is busy: on a 2-core
        x86_64 machine a step took 7.8 ms with one thread, 7.1 ms with two,
        and 31.5 ms with two while another process kept one core busy
        (``benchmarks/results/cpu-x86_64-2core.md``). None keeps torch's
        setting.

    Returns
    -------
    History
        The model is trained in place and holds the best validation weights.
        Interrupting the kernel stops training cleanly: the model keeps the
        best weights so far and the history says ``interrupted=True``.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(600, 4)).astype("float32")
    >>> y = np.convolve(x[:, 0], np.ones(30) / 30, mode="same")[:, None]
    >>> seed_everything(0); model = CERMTL(n_features=4, tasks=["activation"])
    >>> history = fit(model, (x, y), epochs=2, lr=1e-3, progress=False, device="cpu")
    >>> len(history.epochs), predict(model, x).shape
    (2, (600, 1))
    """
    n_frames = model.n_frames if n_frames is None else int(n_frames)
    if n_frames != model.n_frames:
        raise ValueError(f"n_frames={n_frames} but the model was built for n_frames={model.n_frames}")
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"need epochs >= 1 and batch_size >= 2 (correlation needs pairs), got {epochs}, {batch_size}")
    dev = pick_device(device)
    seed_gen = torch.Generator().manual_seed(int(seed))
    loss_name = loss if isinstance(loss, str) else getattr(loss, "__name__", "custom")

    train_items = _items(train)
    if not train_items:
        raise ValueError("no training data: an empty list of recordings was given")
    mode = {True: "global", False: None}.get(normalise, normalise)
    if mode not in ("global", "recording", "speaker", None):
        raise ValueError(f"normalise must be True, False, 'global', 'recording' or 'speaker', got {normalise!r}")
    train_x, train_y = _prepare(model, train_items, modalities, True, mode if mode != "global" else None)
    normaliser = Normaliser.fit(train_x) if mode == "global" else mode
    if mode == "global":
        train_x = [normaliser.transform(x) for x in train_x]
    model.cer_normaliser = normaliser if mode == "global" else None
    model.cer_framing = {"n_frames": n_frames, "stride": int(stride), "modalities": modalities, "normalise": mode}
    bank = _Bank(train_x, train_y, n_frames, stride, dev)
    valid_items = _items(valid)
    if valid_items:
        valid_x, valid_y = _prepare(model, valid_items, modalities, True, normaliser)

    model.to(dev)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    best_score, best_state, waited = -np.inf, None, 0
    n_draw = len(bank) if frames_per_epoch is None else min(int(frames_per_epoch), len(bank))
    started = time.perf_counter()

    threads_before = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads:
        torch.set_num_threads(int(cpu_threads))
    history = History(tasks=tuple(model.tasks), loss=loss_name, device=describe_device(dev))
    bar = None
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"{getattr(model, 'name', type(model).__name__)} · {loss_name} · {dev.type}", unit="epoch")
    try:
        for epoch in range(1, epochs + 1):
            tick = time.perf_counter()
            model.train()
            order = torch.randperm(len(bank), generator=seed_gen)[:n_draw].to(dev)
            total, count = torch.zeros((), device=dev), 0  # summed on the device: no sync per batch
            for start in range(0, n_draw, batch_size):
                index = order[start : start + batch_size]
                if len(index) < 2:  # a batch of one has no correlation
                    continue
                prediction = model(bank.images(index))
                objective = multitask_loss(prediction, bank.labels[index], loss=loss, alpha=alpha)
                optimiser.zero_grad(set_to_none=True)
                objective.backward()
                optimiser.step()
                total += objective.detach() * len(index)
                count += len(index)
            row = {"epoch": epoch, "train_loss": float(total) / max(count, 1)}
            if valid_items:
                scores = _scores(model, valid_x, valid_y, loss, alpha, "pooled", dev)
                row.update({f"valid_{k}": v for k, v in scores.items()})
                if row["valid_mean_ccc"] > best_score:
                    best_score, waited = row["valid_mean_ccc"], 0
                    history.best_epoch = epoch
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    waited += 1
            row["seconds"] = time.perf_counter() - tick
            history.epochs.append(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    {k: f"{row[k]:.3f}" for k in ("train_loss", "valid_mean_ccc") if k in row}, refresh=False
                )
            if on_epoch is not None and on_epoch(row, model):
                history.interrupted = True
                break
            if valid_items and waited >= patience:
                history.stopped_early = True
                break
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        torch.set_num_threads(threads_before)
        if bar is not None:
            bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - started
    return history


def predict(model: torch.nn.Module, data, *, modalities: Sequence[str] | None = None,
            batch_size: int = 4096, device: str | torch.device | None = None):
    """One prediction per frame.

    Parameters
    ----------
    model : a model trained by :func:`fit` (its normaliser and framing are reused)
    data : Recording, features (T, P), (features, labels) pair, or a list of these

    Returns
    -------
    np.ndarray float32 (T, n_tasks), or a list of them for a list input.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> model = CERMTL(n_features=4, tasks=["activation"])
    >>> predict(model, np.zeros((50, 4), "float32")).shape
    (50, 1)
    """
    framing = _framing(model)
    modalities = framing["modalities"] if modalities is None else modalities
    single = not isinstance(data, (list, tuple)) or _is_pair(data)
    xs, _ = _prepare(model, data, modalities, False, _normaliser(model))
    out = _predict_arrays(model, xs, device, batch_size)
    return out[0] if single else out


def _normaliser(model):
    mode = _framing(model).get("normalise")
    return mode if mode in ("recording", "speaker") else getattr(model, "cer_normaliser", None)


def _framing(model) -> dict:
    return getattr(model, "cer_framing", {"n_frames": model.n_frames, "stride": 10, "modalities": None})


@torch.no_grad()
def _predict_arrays(model, xs, device, batch_size: int = 4096) -> list[np.ndarray]:
    """Predictions for already normalised (T, P) arrays."""
    framing = _framing(model)
    dev = pick_device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    for x in xs:
        bank = _Bank([x], None, framing["n_frames"], framing["stride"], dev)
        chunks = [
            model(bank.images(torch.arange(s, min(s + batch_size, len(bank)), device=dev))).float().cpu()
            for s in range(0, len(bank), batch_size)
        ]
        out.append(torch.cat(chunks).numpy())
    model.train(was_training)
    return out


def evaluate(model, data, *, modalities=None, loss="ccc", alpha=None, how: str = "pooled", device=None) -> dict:
    """CCC of ``model`` on labelled ``data``, per task and their mean.

    Returns
    -------
    dict with ``ccc_<task>`` per task, ``mean_ccc`` (their mean), and ``loss``
    (the training objective evaluated on all frames at once).
    ``how`` is passed to :func:`cerlib.metrics.mean_ccc`: "pooled" (CCC of
    the concatenated recordings, the default) or "per_recording".

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> x = np.random.default_rng(0).normal(size=(300, 4)).astype("float32")
    >>> scores = evaluate(CERMTL(n_features=4, tasks=["activation"]), (x, x[:, :1]))
    >>> sorted(scores)
    ['ccc_activation', 'loss', 'mean_ccc']
    """
    if modalities is None:
        modalities = _framing(model)["modalities"]
    xs, labels = _prepare(model, data, modalities, True, _normaliser(model))
    return _scores(model, xs, labels, loss, alpha, how, device)


def _scores(model, xs, labels, loss, alpha, how, device) -> dict:
    predictions = _predict_arrays(model, xs, device)
    per_task = np.atleast_1d(mean_ccc(labels, predictions, how=how))
    scores = {f"ccc_{t}": float(c) for t, c in zip(model.tasks, per_task)}
    scores["mean_ccc"] = float(np.mean(per_task))
    with torch.no_grad():
        scores["loss"] = float(
            multitask_loss(torch.as_tensor(np.concatenate(predictions)), torch.as_tensor(np.concatenate(labels)),
                           loss=loss, alpha=alpha)
        )
    return scores


# --------------------------------------------------------------------------- saving
def save_model(model: torch.nn.Module, path) -> None:
    """Save a trained model with what :func:`predict` needs: its constructor
    arguments, weights, normaliser and framing. Written atomically.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> save_model(CERMTL(), "cer_mtl.pt")
    """
    from pathlib import Path

    path = Path(path)
    normaliser = getattr(model, "cer_normaliser", None)
    payload = {
        "class": type(model).__name__,
        "config": model.config,
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "normaliser": normaliser.to_dict() if normaliser is not None else None,
        "framing": _framing(model),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_model(path, device: str | torch.device | None = None) -> torch.nn.Module:
    """Load a model written by :func:`save_model`, ready for :func:`predict`.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> save_model(CERMTL(), "m.pt"); load_model("m.pt", device="cpu").name
    'CER-MTL'
    """
    from . import models

    payload = torch.load(path, map_location="cpu", weights_only=False)
    if payload.get("class") not in ("CERMTL", "PureCNN"):
        raise ValueError(f"{path}: not a cerlib model file (no known 'class' entry)")
    model = getattr(models, payload["class"])(**payload["config"])
    model.load_state_dict(payload["state"])
    model.cer_normaliser = Normaliser.from_dict(payload["normaliser"]) if payload["normaliser"] else None
    model.cer_framing = payload["framing"]
    return model.to(pick_device(device)).eval()
