"""Grouped training: many models of one fold and framing trained in one pass.

The paper's grid is about a hundred small networks (Tables I-V x 5 folds),
each of ~6k parameters. Models that share a fold and a framing (Table I's
losses, several seeds, modalities by masking input rows, CER-STL models as
single-task members) see the same feature images, so :func:`fit_group`
trains them as one :class:`cerlib.engine.StackedGroup` in the engine's one
training loop (:func:`cerlib.engine.train_members`), the loop that
:func:`cerlib.training.fit` runs for a group of one. Each member ends as its
own ``fit`` would leave it, to float rounding (``tests/test_grouped.py``
checks CCC, PCC and MSE members); notebook 09 explains why.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .engine import Bank, build_group, train_members
from .framing import Framing
from .models import CERMTL
from .training import as_items, describe_device, is_recording, pick_device, prepare_inputs, training_preprocessing

__all__ = ["fit_group"]


class _Union:
    """What ``training.prepare_inputs`` needs of a model: the columns and tasks of the shared bank."""

    def __init__(self, n_features, tasks):
        self.n_features, self.tasks = n_features, tuple(tasks)


def _layout(items, models, modalities_per_member):
    """-> (bank width, per-member columns into the bank): all columns for arrays."""
    recording = next((it for it in items if is_recording(it)), None)
    if recording is None:
        if any(m is not None for m in modalities_per_member):
            raise ValueError("modalities_per_member needs Recordings; (features, labels) pairs have no modalities")
        width = models[0].n_features
        return width, [list(range(width))] * len(models)
    names = recording.modalities
    widths = {m: recording.features[m].shape[1] for m in names}
    starts = dict(zip(names, np.cumsum([0] + [widths[m] for m in names])[:-1].tolist()))
    columns = []
    for mods in modalities_per_member:
        chosen = recording._resolve(mods)
        columns.append([starts[m] + j for m in chosen for j in range(widths[m])])
    return sum(widths.values()), columns


def fit_group(
    models: Sequence[CERMTL],
    train,
    valid=None,
    *,
    losses: str | Sequence[str | Callable] = "ccc",
    alphas: Sequence | None = None,
    modalities_per_member: Sequence | None = None,
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
):
    """Train several CER-MTL / CER-STL models on the same data in one pass.

    Each model ends as :func:`cerlib.training.fit` would leave it (trained in
    place, best validation weights, normaliser and framing attached) and its
    :class:`~cerlib.training.History` is returned, in order.

    Parameters
    ----------
    models : sequence of CERMTL
        Same ``n_frames``, ``batch_norm`` and layer sizes; any tasks (a subset
        of the data's), any initial weights (seed each before building it).
    train, valid :
        As for ``fit``: Recordings, (features, labels) pairs or lists of them.
    losses : str or callable, or one per model
        Each member's per-task loss ("ccc", "pcc", "mse").
    alphas : one task-weight sequence (or None) per model, optional
    modalities_per_member : one modalities choice per model, optional
        Recordings only; a member that reads some modalities has the other
        input rows masked out of its convolution (as ``fit(modalities=...)``
        would train it). Default: all modalities for every member.
    epochs, batch_size, lr, patience, stride, normalise, frames_per_epoch, device, seed, progress, cpu_threads :
        As for ``fit``; one batch order (``seed``) for the whole group.

    Returns
    -------
    list of History, one per model.

    Examples
    --------
    >>> from cerlib.training import Example, seed_everything
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(600, 4)).astype("float32")
    >>> y = np.stack([np.convolve(x[:, j], np.ones(30) / 30, mode="same") for j in range(3)], 1)
    >>> seed_everything(0); a = CERMTL(n_features=4)
    >>> seed_everything(1); b = CERMTL(n_features=4, tasks=["valence"])
    >>> histories = fit_group([a, b], Example(x, y[:, :3]), epochs=2, lr=1e-3, losses=["ccc", "mse"],
    ...                       progress=False, device="cpu")
    Traceback (most recent call last):
    ...
    ValueError: (features, labels) pairs carry no task names: every model of a group on pairs needs the same tasks
    >>> histories = fit_group([a, CERMTL(n_features=4)], Example(x, y), epochs=2, lr=1e-3, losses=["ccc", "mse"],
    ...                       progress=False, device="cpu")
    >>> [len(h.epochs) for h in histories], [h.loss for h in histories]
    ([2, 2], ['ccc', 'mse'])
    """
    models = list(models)
    M = len(models)
    if M == 0:
        raise ValueError("fit_group needs at least one model")
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"need epochs >= 1 and batch_size >= 2 (correlation needs pairs), got {epochs}, {batch_size}")
    if patience is not None and patience < 0:
        raise ValueError(f"patience must be >= 0 or None, got {patience}")
    losses = [losses] * M if isinstance(losses, str) or callable(losses) else list(losses)
    alphas = [None] * M if alphas is None else list(alphas)
    mods = [None] * M if modalities_per_member is None else list(modalities_per_member)
    if not (len(losses) == len(alphas) == len(mods) == M):
        raise ValueError(f"losses, alphas and modalities_per_member need one entry per model ({M})")
    framing = Framing(models[0].n_frames, stride)   # the members share N (build_group checks)
    dev = pick_device(device)

    train_items = as_items(train, "train")
    if not train_items:
        raise ValueError("no training data: an empty list of recordings was given")
    width, columns = _layout(train_items, models, mods)
    if any(is_recording(it) for it in train_items):
        tasks = tuple(dict.fromkeys(t for m in models for t in m.tasks))
    else:
        tasks = tuple(models[0].tasks)
        if any(tuple(m.tasks) != tasks for m in models):
            raise ValueError("(features, labels) pairs carry no task names: every model of a group on pairs "
                             "needs the same tasks")
    for i, (m, cols) in enumerate(zip(models, columns)):
        if m.n_features != len(cols):
            raise ValueError(f"model {i} has n_features={m.n_features} but its modalities give {len(cols)} columns")
    group = build_group(models, columns, width).to(dev)  # refuses members that cannot be stacked, before any work
    union = _Union(width, tasks)
    union_pre = training_preprocessing(union, train_items, modalities=None, framing=framing, normalise=normalise)
    train_x, train_y = prepare_inputs(union, train_items, union_pre, True, "train")
    for m, md in zip(models, mods):  # each member's own preprocessing, exactly as fit would fix it
        m.preprocessing = training_preprocessing(m, train_items, modalities=md, framing=framing, normalise=normalise)
    bank = Bank(train_x, train_y, framing, dev)
    valid_items = as_items(valid, "valid")
    valid_data = None
    if valid_items:
        valid_x, valid_y = prepare_inputs(union, valid_items, union_pre, True, "valid")
        valid_data = ([Bank([x], None, framing, dev) for x in valid_x], valid_y)
    device_name = describe_device(dev)
    threads_before = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads:
        torch.set_num_threads(int(cpu_threads))
    try:
        return train_members(group, models, bank, valid_data, losses=losses, alphas=alphas,
                             task_cols=[[tasks.index(t) for t in m.tasks] for m in models], epochs=epochs,
                             batch_size=batch_size, lr=lr, patience=patience, frames_per_epoch=frames_per_epoch,
                             seed=seed, progress=progress, desc=f"group of {M} · {dev.type}", device_name=device_name)
    finally:
        torch.set_num_threads(threads_before)
