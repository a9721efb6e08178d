"""Grouped training: many models of one fold and framing trained in one pass.

The paper's grid is about a hundred small networks (Tables I-V x 5 folds),
each of ~6k parameters. One such network cannot keep a CPU core busy: a
training step is thousands of tiny operations. Models that share a fold and
a framing (Table I's losses, several seeds, modalities by masking input rows,
CER-STL models as single-task members) see the same feature images, so
:func:`fit_group` trains them as one :class:`cerlib.models.StackedGroup`: one
gather per batch, one wide convolution, one batched recurrence, one loss per
member, one Adam over the stacked tensors.

It is the same training as :func:`cerlib.training.fit` for each member, to
float tolerance: Adam is elementwise, so the stacked update equals separate
optimisers; the members share the batch order (``seed``), which is what a
separate ``fit(seed=...)`` draws; each member early-stops on its own
validation mean CCC. A member that stops leaves the group: the others are
regrouped with their slices of the weights and of Adam's state (exact, and
cheap), so its best weights are kept and nothing moves it on.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
import torch

from ._util import progress_enabled
from .losses import get_loss
from .models import CERMTL, StackedGroup
from .training import (History, _Bank, _is_recording, _items, _prepare, describe_device, pick_device,
                       _score_predictions, training_preprocessing)

__all__ = ["fit_group"]


class _Union:
    """What ``training._prepare`` needs of a model: the columns and tasks of the shared bank."""

    def __init__(self, n_features, tasks):
        self.n_features, self.tasks = n_features, tuple(tasks)


def _layout(items, models, modalities_per_member):
    """-> (bank modalities, per-member columns into the bank) for Recordings; all columns for arrays."""
    recording = next((it for it in items if _is_recording(it)), None)
    if recording is None:
        if any(m is not None for m in modalities_per_member):
            raise ValueError("modalities_per_member needs Recordings; (features, labels) pairs have no modalities")
        width = models[0].n_features
        return None, width, [list(range(width))] * len(models)
    names = recording.modalities
    widths = {m: recording.features[m].shape[1] for m in names}
    starts = dict(zip(names, np.cumsum([0] + [widths[m] for m in names])[:-1].tolist()))
    columns = []
    for mods in modalities_per_member:
        chosen = recording._resolve(mods)
        columns.append([starts[m] + j for m in chosen for j in range(widths[m])])
    return None, sum(widths.values()), columns


def _weights(alpha, n_tasks, dtype, device):
    if alpha is None:
        return torch.full((n_tasks,), 1.0 / n_tasks, dtype=dtype, device=device)
    w = torch.as_tensor(alpha, dtype=torch.float64)
    if w.shape != (n_tasks,) or not torch.all(torch.isfinite(w)) or torch.any(w < 0):
        raise ValueError(f"alpha must hold {n_tasks} finite non-negative weights, got {alpha!r}")
    return w.to(dtype=dtype, device=device)


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
) -> list[History]:
    """Train several CER-MTL / CER-STL models on the same data in one pass.

    Each model ends as :func:`cerlib.training.fit` would leave it (trained in
    place, best validation weights, normaliser and framing attached) and its
    :class:`~cerlib.training.History` is returned, in order.

    Parameters
    ----------
    models : sequence of CERMTL
        Same ``n_frames`` and layer sizes, no batch norm; any tasks (a subset
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
    losses = [losses] * M if isinstance(losses, str) or callable(losses) else list(losses)
    alphas = [None] * M if alphas is None else list(alphas)
    mods = [None] * M if modalities_per_member is None else list(modalities_per_member)
    if not (len(losses) == len(alphas) == len(mods) == M):
        raise ValueError(f"losses, alphas and modalities_per_member need one entry per model ({M})")
    loss_fns = [get_loss(l) for l in losses]
    loss_names = [l if isinstance(l, str) else getattr(l, "__name__", "custom") for l in losses]
    n_frames = models[0].n_frames
    dev = pick_device(device)

    train_items = _items(train, "train")
    if not train_items:
        raise ValueError("no training data: an empty list of recordings was given")
    _, width, columns = _layout(train_items, models, mods)
    on_recordings = any(_is_recording(it) for it in train_items)
    if on_recordings:
        tasks = tuple(dict.fromkeys(t for m in models for t in m.tasks))
    else:
        tasks = tuple(models[0].tasks)
        if any(tuple(m.tasks) != tasks for m in models):
            raise ValueError("(features, labels) pairs carry no task names: every model of a group on pairs "
                             "needs the same tasks")
    for i, (m, cols) in enumerate(zip(models, columns)):
        if m.n_features != len(cols):
            raise ValueError(f"model {i} has n_features={m.n_features} but its modalities give {len(cols)} columns")
    union = _Union(width, tasks)
    framing = dict(n_frames=n_frames, stride=stride, normalise=normalise)
    union_pre = training_preprocessing(union, train_items, modalities=None, **framing)
    train_x, train_y = _prepare(union, train_items, union_pre, True, "train")
    for m, md in zip(models, mods):  # each member's own preprocessing, exactly as fit would fix it
        m.preprocessing = training_preprocessing(m, train_items, modalities=md, **framing)
    bank = _Bank(train_x, train_y, n_frames, stride, dev)
    valid_items = _items(valid, "valid")
    if valid_items:
        valid_x, valid_y = _prepare(union, valid_items, union_pre, True, "valid")
        valid_banks = [_Bank([x], None, n_frames, stride, dev) for x in valid_x]
    task_cols = [[tasks.index(t) for t in m.tasks] for m in models]
    dtype = models[0].shared[0].weight.dtype

    group = StackedGroup(models, columns, width).to(dev)
    optimiser = torch.optim.Adam(group.parameters(), lr=lr, fused=dev.type in ("cpu", "cuda"))
    active = list(range(M))  # model index of each group member
    weights = [_weights(a, len(m.tasks), dtype, dev) for a, m in zip(alphas, models)]
    histories = [History(tasks=tuple(m.tasks), loss=n, device=describe_device(dev)) for m, n in zip(models, loss_names)]
    best_score, best_state, waited = [-np.inf] * M, [None] * M, [0] * M
    n_draw = len(bank) if frames_per_epoch is None else min(int(frames_per_epoch), len(bank))
    seed_gen = torch.Generator().manual_seed(int(seed))
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads:
        torch.set_num_threads(int(cpu_threads))
    bar = None
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"group of {M} · {dev.type}", unit="epoch")

    def plan():
        """Per loss: the output columns, target columns and weights of its members, gathered once."""
        K = group.sizes["K"]
        by_loss, slots = {}, []
        for j, i in enumerate(active):
            key = losses[i] if isinstance(losses[i], str) else id(losses[i])
            entry = by_loss.setdefault(key, {"fn": loss_fns[i], "named": isinstance(key, str), "out": [],
                                             "target": [], "w": [], "member": []})
            entry["out"] += [j * K + t for t in range(len(models[i].tasks))]
            entry["target"] += task_cols[i]
            entry["w"].append(weights[i])
            entry["member"] += [j] * len(models[i].tasks)
        for entry in by_loss.values():
            member = torch.as_tensor(entry["member"], device=dev)
            entry["out"] = torch.as_tensor(entry["out"], device=dev)
            entry["target"] = torch.as_tensor(entry["target"], device=dev)
            entry["w"] = torch.cat(entry["w"])
            # (columns, members) 0/1: sums each member's weighted task losses
            entry["sum"] = (member[:, None] == torch.arange(len(active), device=dev)).to(dtype)
            slots.append(entry)
        return slots

    def objective(out, y, slots):
        """Sum of the members' objectives, and each one's value (detached)."""
        flat = out.permute(1, 0, 2).reshape(out.shape[1], -1)  # (B, M K), member-major
        parts = 0
        for e in slots:
            y_hat = flat.index_select(1, e["out"])
            target = y.index_select(1, e["target"]).to(y_hat.dtype)
            if e["named"]:  # the built-in losses work column by column already
                per_task = e["fn"](y_hat, target)
            else:
                per_task = torch.stack([e["fn"](y_hat[:, t], target[:, t]) for t in range(y_hat.shape[1])])
            parts = parts + (e["w"] * per_task) @ e["sum"]
        return parts.sum(), parts.detach()

    slots = plan()
    try:
        for epoch in range(1, epochs + 1):
            tick = time.perf_counter()
            group.train()
            order = torch.randperm(len(bank), generator=seed_gen)[:n_draw].to(dev)
            total, count = torch.zeros(len(active), device=dev, dtype=dtype), 0
            for start in range(0, n_draw, batch_size):
                index = order[start : start + batch_size]
                if len(index) < 2:
                    continue
                loss_sum, parts = objective(group(bank.images(index)), bank.labels[index], slots)
                optimiser.zero_grad(set_to_none=True)
                loss_sum.backward()
                optimiser.step()
                total += parts * len(index)
                count += len(index)
            train_loss = (total / max(count, 1)).tolist()
            if valid_items:
                with torch.no_grad():
                    group.eval()
                    extra = (n_frames - 1) * stride
                    outs = [torch.cat([group.forward_frames(b.padded[s : min(s + 4096, len(b)) + extra], stride).cpu()
                                       for s in range(0, len(b), 4096)], dim=1) for b in valid_banks]
            stopped = []
            for j, i in enumerate(active):
                row = {"epoch": epoch, "train_loss": float(train_loss[j])}
                if valid_items:
                    preds = [o[j, :, : len(models[i].tasks)].float().numpy() for o in outs]
                    labels = [y[:, task_cols[i]] for y in valid_y]
                    scores = _score_predictions(models[i].tasks, labels, preds, losses[i], alphas[i])
                    row.update({f"valid_{k}": v for k, v in scores.items()})
                    if row["valid_mean_ccc"] > best_score[i]:
                        best_score[i], waited[i] = row["valid_mean_ccc"], 0
                        histories[i].best_epoch = epoch
                        best_state[i] = group.member_state(j)
                    else:
                        waited[i] += 1
                    if patience is not None and waited[i] >= max(patience, 1):  # as training.EarlyStopping
                        histories[i].stopped_early = True
                        stopped.append(j)
                row["seconds"] = time.perf_counter() - tick
                histories[i].epochs.append(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({"members": len(active) - len(stopped)}, refresh=False)
            if stopped:
                for j in stopped:
                    if best_state[active[j]] is None:
                        best_state[active[j]] = group.member_state(j)
                keep = [j for j in range(len(active)) if j not in stopped]
                if not keep:
                    active = []
                    break
                group, optimiser = _regroup(group, optimiser, keep, lr, dev)
                active = [active[j] for j in keep]
                slots = plan()
    except KeyboardInterrupt:
        for h in histories:
            h.interrupted = True
    finally:
        torch.set_num_threads(threads_before)
        if bar is not None:
            bar.close()
    for j, i in enumerate(active):
        if best_state[i] is None:
            best_state[i] = group.member_state(j)
    seconds = time.perf_counter() - started
    for i, m in enumerate(models):
        m.load_state_dict(best_state[i])
        m.to(dev).eval()
        histories[i].seconds = seconds
    return histories


def _regroup(group, optimiser, keep, lr, dev):
    """The members ``keep`` of ``group`` with their slices of Adam's state: the same optimisation, fewer members."""
    new = group.keep(keep)
    idx = torch.as_tensor(keep, dtype=torch.long, device=dev)
    new_opt = torch.optim.Adam(new.parameters(), lr=lr, fused=dev.type in ("cpu", "cuda"))
    old_params = dict(group.named_parameters())
    for name, p in new.named_parameters():
        state = optimiser.state.get(old_params[name])
        if state:
            new_opt.state[p] = {k: (v.index_select(0, idx).clone() if v.ndim and v.shape[:1] == old_params[name].shape[:1]
                                    else v.clone()) for k, v in state.items()}
    return new, new_opt
