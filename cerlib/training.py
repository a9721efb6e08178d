"""Training and inference (Section III): fit, predict, evaluate; save and load re-exported.

The set-up follows the paper: Adam, learning rate 5e-5, batch size 256, up to
100 epochs, early stopping with patience 20 on the validation mean CCC, and the
best weights restored at the end. The validation set is for early stopping
only and must come from training speakers (``Corpus.folds`` arranges that).
Notebook 06 tells the story; this module holds the mechanics.

Data in: a :class:`cerlib.data.Recording`, an :class:`Example` (features
(T, P), labels (T, n_tasks)), or a list or tuple of them; :func:`predict` also
takes a bare (T, P) array. Recordings give the model the columns of its
``tasks`` by name and fuse their modalities in the order of ``modalities``
(early fusion; default: all of them, speech first).

A trained model carries its preprocessing
(:class:`~cerlib.modelfile.Preprocessing`, as ``model.preprocessing``):
framing, modalities, feature names, tasks, frame rate and normalisation.
:func:`predict`, :func:`evaluate`, :func:`~cerlib.modelfile.save_model` and
the CLI all read it from there, so test data is prepared exactly as the
training data was. The model file (:func:`~cerlib.modelfile.save_model`,
:func:`~cerlib.modelfile.load_model`, :class:`~cerlib.modelfile.CheckpointError`,
:class:`~cerlib.modelfile.Preprocessing`) lives in :mod:`cerlib.modelfile`,
the device and seeds (:func:`~cerlib.device.pick_device`,
:func:`~cerlib.device.seed_everything`) in :mod:`cerlib.device`; both are
importable from here as before.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from ._util import whole_number
from .device import describe_device, pick_device, seed_everything
from .engine import (Bank, EarlyStopping, History, build_group, forward_frames,  # noqa: F401 (EarlyStopping:
                     score_predictions, train_members)                         # re-exported for callers)
from .framing import Framing
from .normaliser import Normaliser
from .modelfile import (CHECKPOINT_FORMAT, NORMALISE_MODES, CheckpointError, Preprocessing,  # noqa: F401
                        load_model, preprocessing_of, save_model)              # (re-exported for callers)

__all__ = ["fit", "predict", "evaluate", "History", "Example", "Preprocessing", "CheckpointError",
           "pick_device", "describe_device", "seed_everything", "save_model", "load_model"]


# --------------------------------------------------------------------------- what goes in, what comes out
class Example(NamedTuple):
    """Labelled frames that are not a :class:`~cerlib.data.Recording`.

    Examples
    --------
    >>> ex = Example(np.zeros((10, 4), "float32"), np.zeros((10, 1), "float32"))
    >>> ex.features.shape, ex.labels.shape
    ((10, 4), (10, 1))
    """

    features: np.ndarray  # (T, P)
    labels: np.ndarray    # (T, n_tasks), or (T,) for one task


# as_items, is_recording and prepare_inputs are package-internal (cerlib.grouped uses them too):
# public names so that no private name crosses a module wall, not in __all__.
def as_items(data, what: str) -> list:
    """One input type: Recording, Example, (predict only) an array, or a list/tuple of them."""
    if data is None:
        return []
    if is_recording(data) or isinstance(data, (Example, np.ndarray)) or torch.is_tensor(data):
        return [data]
    if isinstance(data, (list, tuple)):
        return list(data)
    raise TypeError(f"{what}: expected a Recording, an Example(features, labels), an array or a list of "
                    f"them, got {type(data).__name__}")


def is_recording(item) -> bool:
    return hasattr(item, "inputs") and hasattr(item, "labels") and hasattr(item, "tasks")


def _as_float32(a, what: str) -> np.ndarray:
    return np.asarray(a.detach().cpu() if torch.is_tensor(a) else a, dtype=np.float32)


def _check_finite(a: np.ndarray, what: str, columns: Sequence[str] | None = None) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        frame, col = np.argwhere(bad.reshape(len(a), -1))[0]
        name = f" ({columns[col]})" if columns is not None and col < len(columns) else ""
        raise ValueError(f"{what} hold {int(bad.sum())} NaN or infinite values; the first at frame {frame}, "
                         f"column {col}{name}. Repair or drop them before training")


def _unpack(item, index: int, model, modalities, need_labels: bool):
    """-> (name, speaker, features (T, P) float32, labels (T, M) float32 or None)."""
    tasks = tuple(model.tasks)
    if is_recording(item):
        x = _as_float32(item.inputs(modalities), item.name)
        _check_width(model, f"recording {item.name!r}", x)
        _check_finite(x, f"recording {item.name!r}: features")
        missing = [t for t in tasks if t not in item.tasks]
        if missing:
            raise ValueError(f"recording {item.name!r} has tasks {tuple(item.tasks)}; the model asks for {missing}")
        y = _as_float32(item.labels, item.name)[:, [list(item.tasks).index(t) for t in tasks]]
        _check_finite(y, f"recording {item.name!r}: labels", tasks)
        return item.name, getattr(item, "speaker", item.name), x, y
    name = f"item {index}"
    if isinstance(item, Example):
        x, y = item
    elif isinstance(item, np.ndarray) or torch.is_tensor(item):
        x, y = item, None
    else:
        raise TypeError(f"{name}: expected a Recording, an Example(features, labels) or a (T, P) array, got "
                        f"{type(item).__name__}" + (" (wrap a (features, labels) pair as Example(features, labels))"
                                                    if isinstance(item, tuple) else ""))
    x = _as_float32(x, name)
    if x.ndim != 2:
        raise ValueError(f"{name}: features must be (T, P), got shape {x.shape}")
    _check_width(model, name, x)
    _check_finite(x, f"{name}: features")
    if y is not None:
        y = _as_float32(y, name)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape != (x.shape[0], len(tasks)):
            raise ValueError(f"{name}: labels must be (T, n_tasks) = ({x.shape[0]}, {len(tasks)}) for tasks "
                             f"{tasks}, got {y.shape}")
        _check_finite(y, f"{name}: labels", tasks)
    elif need_labels:
        raise ValueError(f"{name}: training and validation data need labels: pass Recordings or "
                         "Example(features, labels)")
    return name, name, x, y


def _check_width(model, name: str, x) -> None:
    if x.shape[1] != model.n_features:
        raise ValueError(
            f"{name}: features have P={x.shape[1]} columns but the model expects "
            f"n_features={model.n_features}; pick `modalities` or build the model with "
            f"n_features={x.shape[1]}"
        )


def _feature_names(item, modalities) -> tuple | None:
    names = getattr(item, "feature_names", None) or {}
    try:
        resolved = item._resolve(modalities)
    except AttributeError:
        return None
    if not all(m in names for m in resolved):
        return None
    return tuple(n for m in resolved for n in names[m])


def _check_matches(pre: Preprocessing, item) -> None:
    """A Recording must have the frame rate and the columns the model was trained on."""
    if not is_recording(item):
        return
    fps = getattr(item, "fps", None)
    if pre.fps is not None and fps is not None and abs(float(fps) - pre.fps) > 1e-9:
        raise ValueError(f"recording {item.name!r} is at {fps:g} fps but the model was trained at {pre.fps:g} fps; "
                         f"load the data with load_corpus(..., fps={pre.fps:g})")
    names = _feature_names(item, pre.modalities)
    if pre.feature_names is not None and names is not None and names != pre.feature_names:
        differ = [(i, a, b) for i, (a, b) in enumerate(zip(pre.feature_names, names)) if a != b]
        what = (f"{len(names)} columns, the model {len(pre.feature_names)}" if len(names) != len(pre.feature_names)
                else "column " + ", ".join(f"{i}: {b!r} where the model has {a!r}" for i, a, b in differ[:3]))
        raise ValueError(f"recording {item.name!r} has other features than the model was trained on: {what}")


def _normalised(xs: list, keys: list, pre: Preprocessing) -> list:
    if pre.normalise is None:
        return xs
    if pre.normalise == "global":
        return [pre.normaliser.transform(x) for x in xs]
    stats = {k: Normaliser.fit([x for x, kx in zip(xs, keys) if kx == k]) for k in dict.fromkeys(keys)}
    return [stats[k].transform(x) for x, k in zip(xs, keys)]


def prepare_inputs(model, data, pre: Preprocessing, need_labels: bool, what: str):
    """-> (list of normalised (T, P) features, list of (T, M) labels or None)."""
    xs, ys, keys = [], [], []
    for i, item in enumerate(as_items(data, what)):
        _check_matches(pre, item)
        name, speaker, x, y = _unpack(item, i, model, pre.modalities, need_labels)
        xs.append(x)
        ys.append(y)
        keys.append(speaker if pre.normalise == "speaker" else name)
    labelled = all(y is not None for y in ys)
    return _normalised(xs, keys, pre), (ys if labelled else None)


def training_preprocessing(model, train_items, *, modalities, framing: Framing, normalise) -> Preprocessing:
    """The :class:`~cerlib.modelfile.Preprocessing` that :func:`fit` fixes from the training data (normaliser included)."""
    mode = "global" if normalise is True else None if normalise in (False, None) else normalise
    if mode not in NORMALISE_MODES + (None,):
        raise ValueError(f"normalise must be one of {NORMALISE_MODES}, True (global) or False/None, got {normalise!r}")
    first = train_items[0]
    recordings = all(is_recording(r) for r in train_items)
    resolved = tuple(first._resolve(modalities)) if recordings and hasattr(first, "_resolve") else (
        tuple(modalities) if modalities is not None else None)
    names = {_feature_names(r, resolved) for r in train_items} if recordings else {None}
    fps = {float(r.fps) for r in train_items if getattr(r, "fps", None)} if recordings else set()
    if len(fps) > 1:
        raise ValueError(f"training recordings have different frame rates {sorted(fps)}; load them at one rate")
    pre = Preprocessing(framing=framing, tasks=tuple(model.tasks), modalities=resolved,
                        feature_names=names.pop() if len(names) == 1 else None,
                        fps=fps.pop() if fps else None, normalise=mode)
    if mode == "global":
        raw = [_unpack(item, i, model, resolved, True)[2] for i, item in enumerate(train_items)]
        pre = dataclasses.replace(pre, normaliser=Normaliser.fit(raw))
    return pre


# --------------------------------------------------------------------------- public API
def fit(
    model: torch.nn.Module,
    train,
    valid=None,
    *,
    modalities: Sequence[str] | None = None,
    loss: str | Callable = "ccc",
    alpha: Sequence[float] | None = None,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 5e-5,
    patience: int | None = 20,
    stride: int = 10,
    normalise: bool | str | None = "global",
    frames_per_epoch: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool | None = None,
    cpu_threads: int | None = 1,
    on_epoch: Callable[[dict, torch.nn.Module], bool | None] | None = None,
) -> History:
    """Train ``model`` on feature images of ``train``; early-stop on ``valid``.

    Parameters
    ----------
    model : CERMTL or PureCNN (any module mapping (B, P, N) -> (B, n_tasks)
        with ``tasks``, ``n_features`` and ``n_frames`` attributes)
    train, valid : Recording, Example, or a list of them
    modalities : sequence of str, optional
        Which of a Recording's modalities to fuse, in order (default: all).
    loss : {"ccc", "pcc", "mse"} or callable
        Per-task loss; the objective is J = sum_m alpha_m L_m.
    alpha : sequence of float, optional
        Task weights (default 1 / n_tasks each, the paper's 1/3).
    epochs, batch_size, lr : the paper's 100, 256, 5e-5.
    patience : int or None
        Stop after this many epochs in a row without a better validation
        mean CCC, as Keras counts (the paper: 20; 0 or 1 stop at the first
        epoch that does not improve; None never stops early).
    stride : int, default 10
        Frames between two columns of a feature image (Eq. 1's t). The
        image's width N is the model's (``model.n_frames``, fixed when it was
        built); the pair is kept as one :class:`~cerlib.framing.Framing` in
        ``model.preprocessing.framing``.
    normalise : {"global", "recording", "speaker"}, True or None
        "global" (or True): z-score with the training data's statistics.
        "recording" / "speaker": z-score each recording / each speaker's
        recordings with their own statistics, in training and in
        :func:`predict` alike. This is common practice in continuous emotion
        recognition and removes what identifies a speaker (a rest pose, a
        voice), but it is transductive: at test time it uses the test
        speaker's unlabelled features. None: raw features.
    frames_per_epoch : int, optional
        Draw only this many (random) frames per epoch; consecutive frames are
        nearly identical, so a fraction of an epoch teaches almost as much.
    device : str or torch.device, optional
        Default: :func:`~cerlib.device.pick_device`.
    seed : int
        Seeds the batch order: epoch e draws ``randperm`` number e of one
        generator seeded with ``seed``. Seed the model's initial weights
        yourself with :func:`~cerlib.device.seed_everything` before building it.
    progress : bool, optional
        Show a progress bar (default: yes); ``$CERLIB_QUIET`` turns every bar off.
    cpu_threads : int or None, default 1
        Torch threads while training on the CPU (restored afterwards). The
        network is so small that a second thread barely helps when the machine
        is idle and hurts badly when another process is busy
        (``benchmarks/results/``). None keeps torch's setting.
    on_epoch : callable(row, model) -> bool, optional
        Called after every epoch with its history row; returning True stops
        training there (``history.interrupted``; best weights restored).

    Returns
    -------
    History
        The model is trained in place, holds the best validation weights and
        its :class:`~cerlib.modelfile.Preprocessing` (``model.preprocessing``). Interrupting the
        kernel stops training cleanly: the model keeps the best weights so far
        and the history says ``interrupted=True``. A loss that turns NaN stops
        training with an error, restoring the best (or initial) weights.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(600, 4)).astype("float32")
    >>> y = np.convolve(x[:, 0], np.ones(30) / 30, mode="same")[:, None]
    >>> seed_everything(0); model = CERMTL(n_features=4, tasks=["activation"])
    >>> history = fit(model, Example(x, y), epochs=2, lr=1e-3, progress=False, device="cpu")
    >>> len(history.epochs), predict(model, x).shape
    (2, (600, 1))
    """
    framing = Framing(model.n_frames, stride)   # N is the model's, the stride the data's: one value from here on
    epochs, batch_size = whole_number(epochs, "epochs"), whole_number(batch_size, "batch_size")
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"need epochs >= 1 and batch_size >= 2 (correlation needs pairs), got {epochs}, {batch_size}")
    if patience is not None and patience < 0:
        raise ValueError(f"patience must be >= 0 or None, got {patience}")
    if frames_per_epoch is not None:
        frames_per_epoch = whole_number(frames_per_epoch, "frames_per_epoch")
        if frames_per_epoch < 2:
            raise ValueError(f"frames_per_epoch must be None (every frame) or a whole number >= 2 (a batch needs "
                             f"pairs of frames), got {frames_per_epoch}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite learning rate (the paper: 5e-5), got {lr!r}")
    dev = pick_device(device)
    loss_name = loss if isinstance(loss, str) else getattr(loss, "__name__", "custom")

    train_items = as_items(train, "train")
    if not train_items:
        raise ValueError("no training data: an empty list of recordings was given")
    pre = training_preprocessing(model, train_items, modalities=modalities, framing=framing, normalise=normalise)
    train_x, train_y = prepare_inputs(model, train_items, pre, True, "train")
    valid_items = as_items(valid, "valid")
    valid_x, valid_y = prepare_inputs(model, valid_items, pre, True, "valid") if valid_items else (None, None)
    bank = Bank(train_x, train_y, framing, dev)
    valid_data = ([Bank([x], None, framing, dev) for x in valid_x], valid_y) if valid_items else None

    model.preprocessing = pre
    model.to(dev)
    device_name = describe_device(dev)
    threads_before = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads:
        torch.set_num_threads(int(cpu_threads))
    try:  # the engine's loop, a group of one: the same loop as cerlib.grouped.fit_group
        (history,) = train_members(
            build_group([model]).to(dev), [model], bank, valid_data, losses=[loss], alphas=[alpha],
            task_cols=[list(range(len(model.tasks)))], epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
            frames_per_epoch=frames_per_epoch, seed=seed, progress=progress, on_epoch=on_epoch,
            desc=f"{getattr(model, 'name', type(model).__name__)} {loss_name}", device_name=device_name)
    finally:
        torch.set_num_threads(threads_before)
    return history


def predict(model: torch.nn.Module, data, *, modalities=None, batch_size: int = 4096,
            device: str | torch.device | None = None, cpu_threads: int | None = 1):
    """One prediction per frame, with the preprocessing the model was trained with.

    Parameters
    ----------
    model : a model trained by :func:`fit` or loaded by :func:`~cerlib.modelfile.load_model`
    data : Recording, Example, features (T, P), or a list of these
        Recordings must have the model's frame rate and feature columns.
    device : optional
        Where to run (the model is moved there); default: where the model is.

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
    pre = _check_modalities(model, modalities)
    single = not isinstance(data, (list, tuple))
    xs, _ = prepare_inputs(model, data, pre, False, "data")
    out = _predict_arrays(model, xs, device, batch_size, cpu_threads)
    return out[0] if single else out


@torch.no_grad()
def _predict_arrays(model, xs, device, batch_size: int = 4096, cpu_threads: int | None = 1) -> list[np.ndarray]:
    """Predictions for already normalised (T, P) arrays; the model is moved to ``device``."""
    pre = preprocessing_of(model)
    dev = pick_device(device) if device is not None else next(model.parameters()).device
    model.to(dev)
    was_training = model.training
    threads_before = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads:
        torch.set_num_threads(int(cpu_threads))
    model.eval()
    out = []
    try:
        for x in xs:
            bank = Bank([x], None, pre.framing, dev)
            chunks = [forward_frames(model, bank.padded, pre.stride, chunk=batch_size).float().cpu()]
            out.append(torch.cat(chunks).numpy())
    finally:
        model.train(was_training)
        torch.set_num_threads(threads_before)
    return out


def _check_modalities(model, modalities) -> Preprocessing:
    """The model's preprocessing; ``modalities``, if given, must be the ones it was trained on."""
    pre = preprocessing_of(model)
    if modalities is not None:
        asked = (modalities,) if isinstance(modalities, str) else tuple(modalities)
        if pre.modalities is not None and asked != pre.modalities:
            raise ValueError(f"the model was trained on modalities {pre.modalities}, not {asked}")
        if pre.modalities is None:
            pre = dataclasses.replace(pre, modalities=asked)
    return pre


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
    >>> scores = evaluate(CERMTL(n_features=4, tasks=["activation"]), Example(x, x[:, :1]))
    >>> sorted(scores)
    ['ccc_activation', 'loss', 'mean_ccc']
    """
    xs, labels = prepare_inputs(model, data, _check_modalities(model, modalities), True, "data")
    return _scores(model, xs, labels, loss, alpha, how, device)


def _scores(model, xs, labels, loss, alpha, how, device) -> dict:
    predictions = _predict_arrays(model, xs, device, cpu_threads=None)
    return score_predictions(model.tasks, labels, predictions, loss, alpha, how)
