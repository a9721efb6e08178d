"""The one training loop: a group of models (a single ``fit`` is a group of one).

Each epoch draws one shuffled order of the frames (``seed``), gathers each
batch of feature images once for every member (:class:`Bank`), runs the
group (:mod:`cerlib.engine.stacked`), sums the members' objectives and takes
one Adam step over the stacked parameters. After the epoch every member is
scored on validation data (:func:`score_predictions`) and early-stops on its
own validation mean CCC (:class:`EarlyStopping`). A member that stops leaves
the group with its best weights; the others go on with their slices of the
weights and of Adam's state (:func:`regroup`), so nothing moves it on.

Why grouped equals separate: every member's outputs depend only on its own
slice of the stacked parameters, so the gradient of the summed objective is
each member's own gradient, and Adam is elementwise. The one exception is
made exact on purpose: a PCC member's output bias. PCC does not see the
level of the prediction, so the gradient of its loss with respect to the
output bias is exactly zero in theory; in floats it is rounding noise of
about 1e-9, and Adam divides the gradient by its own running scale, so this
noise becomes steps of up to ``lr`` in a random direction that depends on
the order of the sums (one model or nine). The output bias of a PCC member
is therefore held at its initial value (its gradient is set to exactly 0),
alone or in a group: the level a PCC model predicts is arbitrary anyway.
"""
from __future__ import annotations

import copy
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .._util import progress_enabled
from ..framing import Framing
from ..losses import LOSSES, ccc_loss, get_loss, multitask_loss, pcc_loss
from ..metrics import mean_ccc

__all__ = ["Bank", "History", "EarlyStopping", "score_predictions", "stacked_adam", "regroup", "train_members"]


class Bank:
    """Every feature image of several recordings, drawn in shuffled batches.

    The padded features of all recordings are concatenated once on the device;
    a batch is one gather (B, N) -> (B, P, N), so no image is ever stored and
    nothing is copied from the host during training.

    Parameters
    ----------
    arrays : list of (T_r, P) float32 arrays
    labels : list of (T_r, M) arrays, or None
    framing : cerlib.framing.Framing
    device : torch.device or str

    Examples
    --------
    >>> bank = Bank([np.zeros((30, 4), "float32")], [np.ones((30, 2), "float32")], Framing(8, 3), "cpu")
    >>> len(bank), tuple(bank.images(torch.arange(5)).shape), tuple(bank.labels.shape)
    (30, (5, 4, 8), (30, 2))
    """

    def __init__(self, arrays, labels, framing: Framing, device):
        padded, rows, start = [], [], 0
        for x in arrays:
            p = framing.pad(x)
            padded.append(p)
            rows.append(start + np.arange(len(x)))
            start += len(p)
        self.padded = torch.as_tensor(np.concatenate(padded), device=device)
        self.rows = torch.as_tensor(np.concatenate(rows), device=device)
        self.labels = torch.as_tensor(np.concatenate(labels), device=device) if labels is not None else None
        self.framing = framing

    def __len__(self) -> int:
        return len(self.rows)

    def images(self, index: torch.Tensor) -> torch.Tensor:
        """(B,) frame indices on the bank's device -> (B, P, N) images (a frames-last view)."""
        # no transposing copy: the convolution reads it as channels_last
        return self.framing.gather(self.padded, self.rows.index_select(0, index), contiguous=False)


@dataclass
class History:
    """What :func:`cerlib.training.fit` did, epoch by epoch.

    Attributes
    ----------
    epochs : list of dict
        One row per epoch: ``epoch``, ``train_loss`` (the mean over the
        epoch's frames, each batch weighted by its size), ``seconds``, and
        with validation data ``valid_loss``, ``valid_ccc_<task>`` for each
        task and ``valid_mean_ccc``.
    best_epoch : int or None
        The epoch whose weights the model holds at the end (with validation).
    stopped_early, interrupted : bool
        Patience ran out / the user pressed Ctrl-C (or Interrupt in Jupyter),
        or an ``on_epoch`` callback asked to stop.

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


class EarlyStopping:
    """Keeps the best weights seen on validation and says when patience ran out.

    Training stops after ``patience`` epochs in a row without a better score,
    as Keras' ``EarlyStopping`` (the paper's framework) counts; 0 and 1 both
    stop at the first epoch that does not improve, never on an improving one.
    The best (score, epoch, weights) is stored as one object, so an interrupt
    can never leave a score that belongs to other weights.

    Examples
    --------
    >>> stop = EarlyStopping(patience=2)
    >>> [stop.update(s, e, torch.nn.Linear(1, 1)) for e, s in enumerate([0.1, 0.3, 0.2, 0.25], 1)]
    [False, False, False, True]
    >>> stop.best_epoch
    2
    """

    def __init__(self, patience: int | float):
        self.patience = patience
        self.best: tuple[float, int, dict] | None = None
        self.waited = 0

    @property
    def best_epoch(self) -> int | None:
        return None if self.best is None else self.best[1]

    def update(self, score: float, epoch: int, model: torch.nn.Module | None = None, *,
               state: Callable[[], dict] | None = None) -> bool:
        """Record an epoch's score (the weights: ``model``'s, or ``state()``); True when training should stop."""
        if self.best is None or score > self.best[0]:
            weights = state() if state is not None else {k: v.detach().clone() for k, v in model.state_dict().items()}
            self.best = (score, epoch, weights)  # one assignment: consistent under Ctrl-C
            self.waited = 0
        else:
            self.waited += 1
        return self.waited >= max(self.patience, 1)

    def restore(self, model: torch.nn.Module) -> None:
        if self.best is not None:
            model.load_state_dict(self.best[2])


def score_predictions(tasks, labels, predictions, loss, alpha, how="pooled") -> dict:
    """One validation row from per-recording predictions: CCC per task, their mean, the loss.

    Every model, alone or in a group, is scored by this function.

    Examples
    --------
    >>> y = [np.array([[0.0], [1.0], [2.0]], "float32")]
    >>> score_predictions(("a",), y, y, "mse", None)
    {'ccc_a': 1.0, 'mean_ccc': 1.0, 'loss': 0.0}
    """
    per_task = np.atleast_1d(mean_ccc(labels, predictions, how=how))
    scores = {f"ccc_{t}": float(c) for t, c in zip(tasks, per_task)}
    scores["mean_ccc"] = float(np.mean(per_task))
    with torch.no_grad():
        scores["loss"] = float(multitask_loss(torch.as_tensor(np.concatenate(predictions)),
                                              torch.as_tensor(np.concatenate(labels)), loss=loss, alpha=alpha))
    return scores


def stacked_adam(group: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam over a group's stacked parameters: elementwise, so each member's slice moves as its own Adam would.

    Examples
    --------
    >>> type(stacked_adam(torch.nn.Linear(2, 1), 1e-3)).__name__
    'Adam'
    """
    device = next(group.parameters()).device
    return torch.optim.Adam(group.parameters(), lr=lr, fused=device.type in ("cpu", "cuda"))


def regroup(group, optimiser, keep: Sequence[int], lr: float):
    """The members ``keep`` of ``group`` with their slices of Adam's state: the same optimisation, fewer members.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> from cerlib.engine import StackedGroup
    >>> group = StackedGroup([CERMTL(n_features=4), CERMTL(n_features=4)])
    >>> smaller, _ = regroup(group, stacked_adam(group, 1e-3), [1], 1e-3)
    >>> smaller.sizes["M"]
    1
    """
    new = group.keep(keep)
    new_opt = stacked_adam(new, lr)
    idx = torch.as_tensor(list(keep), dtype=torch.long, device=next(group.parameters()).device)
    old_params = dict(group.named_parameters())
    for name, p in new.named_parameters():
        state = optimiser.state.get(old_params[name])
        if state:
            lead = old_params[name].shape[:1]
            new_opt.state[p] = {k: (v.index_select(0, idx).clone() if v.ndim and v.shape[:1] == lead else v.clone())
                                for k, v in state.items()}
    return new, new_opt


def _weights(alpha, n_tasks, dtype, device):
    if alpha is None:
        return torch.full((n_tasks,), 1.0 / n_tasks, dtype=dtype, device=device)
    w = torch.as_tensor(alpha, dtype=torch.float64).detach().cpu()
    if w.shape != (n_tasks,):
        raise ValueError(f"alpha must hold one weight per task ({n_tasks}), got shape {tuple(w.shape)}")
    if not torch.all(torch.isfinite(w)) or torch.any(w < 0):
        raise ValueError(f"alpha must be finite and non-negative, got {w.tolist()}")
    return w.to(dtype=dtype, device=device)  # once per fit: no copy inside a step


class _Objective:
    """The members' losses, grouped by loss function, with every index tensor built once on the device."""

    def __init__(self, members, losses, weights, task_cols, K, device, dtype):
        self.slots = []
        by_loss = {}
        for j, i in enumerate(members):
            fn = get_loss(losses[i])
            entry = by_loss.setdefault(id(fn), {"fn": fn, "named": fn in _NAMED, "out": [], "target": [], "w": [],
                                                "member": []})
            n = len(task_cols[i])
            entry["out"] += [j * K + t for t in range(n)]
            entry["target"] += list(task_cols[i])
            entry["w"].append(weights[i])
            entry["member"] += [j] * n
        for e in by_loss.values():
            if e["fn"] is ccc_loss:  # the labels were checked once, before the first step: no read-back per step
                e["fn"] = functools.partial(ccc_loss, check_target=False)
            member = torch.as_tensor(e["member"], device=device)
            e["out"] = torch.as_tensor(e["out"], device=device)
            e["target"] = torch.as_tensor(e["target"], device=device)
            e["w"] = torch.cat(e["w"])
            e["sum"] = (member[:, None] == torch.arange(len(members), device=device)).to(dtype)  # columns -> members
            self.slots.append(e)

    def __call__(self, out, y):
        """``out`` (M, B, K), ``y`` (B, n_labels) -> (sum of the members' objectives, each one's value, detached)."""
        flat = out.permute(1, 0, 2).reshape(out.shape[1], -1)  # (B, M K), member-major
        parts = 0
        for e in self.slots:
            y_hat = flat.index_select(1, e["out"])
            target = y.index_select(1, e["target"]).to(y_hat.dtype)
            if e["named"]:  # the built-in losses work column by column already
                per_task = e["fn"](y_hat, target)
            else:
                per_task = torch.stack([_scalar(e["fn"](y_hat[:, t], target[:, t]), e["fn"])
                                        for t in range(y_hat.shape[1])])
            parts = parts + (e["w"] * per_task) @ e["sum"]
        return parts.sum(), parts.detach()


_NAMED = set(LOSSES.values())


def _scalar(value, fn):
    if not isinstance(value, torch.Tensor) or value.ndim != 0:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"loss {getattr(fn, '__name__', fn)!r} must return a scalar tensor for one task, got {shape}")
    return value


def _frames(group, bank: Bank, chunk: int = 4096) -> torch.Tensor:
    """The group's (M, T, K) outputs for every frame of a one-recording bank."""
    extra, out = bank.framing.span - 1, []
    for s in range(0, len(bank), chunk):
        stop = min(s + chunk, len(bank))
        if hasattr(group, "forward_frames"):  # convolve the recording once, not once per image
            out.append(group.forward_frames(bank.padded[s: stop + extra], bank.framing.stride))
        else:
            out.append(group(bank.images(torch.arange(s, stop, device=bank.padded.device))))
    return torch.cat(out, dim=1)


def train_members(group, models, bank: Bank, valid=None, *, losses, alphas, task_cols, epochs, batch_size, lr,
                  patience, frames_per_epoch, seed, progress, desc, device_name, on_epoch=None) -> list[History]:
    """Train the members of ``group`` (built from ``models``) together; write each one's weights back.

    Parameters
    ----------
    group : StackedGroup or PlainGroup, on the bank's device
    models : the plain models the group was built from, in order
    bank : Bank of the training frames and their labels (all tasks the members need)
    valid : (list of one-recording Banks, list of (T_r, n_labels) label arrays), optional
    losses, alphas, task_cols : one per member (task_cols: the member's columns of the labels)
    epochs, batch_size, lr, patience, frames_per_epoch, seed, progress :
        As for :func:`cerlib.training.fit`.
    desc, device_name : str
        The progress bar's label, the device's description for the histories.
    on_epoch : callable(row, model) -> bool, optional (a group of one only)

    Returns
    -------
    list of History, one per member. Each model holds its best validation
    weights (its last without validation) and is left in eval mode.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> from cerlib.engine import build_group
    >>> x = np.random.default_rng(0).normal(size=(200, 4)).astype("float32")
    >>> model = CERMTL(n_features=4, tasks=["a"])
    >>> bank = Bank([x], [x[:, :1]], Framing(20, 10), "cpu")
    >>> h = train_members(build_group([model]), [model], bank, losses=["mse"], alphas=[None], task_cols=[[0]],
    ...                   epochs=2, batch_size=64, lr=1e-3, patience=None, frames_per_epoch=None, seed=0,
    ...                   progress=False, desc="demo", device_name="cpu")
    >>> len(h[0].epochs)
    2
    """
    M = len(models)
    dev = bank.padded.device
    dtype = next(group.parameters()).dtype
    for b in [bank] + (list(valid[0]) if valid is not None else []):  # a float64 model trains in float64
        b.padded = b.padded.to(dtype)
        b.labels = b.labels.to(dtype) if b.labels is not None else None
    names = [l if isinstance(l, str) else getattr(l, "__name__", "custom") for l in losses]
    weights = [_weights(a, len(c), dtype, dev) for a, c in zip(alphas, task_cols)]
    histories = [History(tasks=tuple(m.tasks), loss=n, device=device_name) for m, n in zip(models, names)]
    stoppers = [EarlyStopping(patience if patience is not None else math.inf) for _ in models]
    initial = [copy.deepcopy(m.state_dict()) for m in models]
    final: list[dict | None] = [None] * M
    held = [j for j, l in enumerate(losses) if get_loss(l) is pcc_loss]
    if held:
        group.hold_output_bias(held)
    optimiser = stacked_adam(group, lr)
    active = list(range(M))  # model index of each group member
    objective = _Objective(active, losses, weights, task_cols, max(group.n_tasks), dev, dtype)
    n_draw = len(bank) if frames_per_epoch is None else min(int(frames_per_epoch), len(bank))
    order_gen = torch.Generator().manual_seed(int(seed))
    bar = _bar(progress, epochs, desc)
    started, diverged = time.perf_counter(), None
    try:
        for epoch in range(1, epochs + 1):
            tick = time.perf_counter()
            group.train()
            order = torch.randperm(len(bank), generator=order_gen)[:n_draw].to(dev)  # one copy an epoch
            total, count = torch.zeros(len(active), device=dev, dtype=dtype), 0  # summed on the device: no sync
            for start in range(0, n_draw, batch_size):
                index = order[start: start + batch_size]
                if len(index) < 2:  # a batch of one has no correlation
                    continue
                loss_sum, parts = objective(group(bank.images(index)), bank.labels.index_select(0, index))
                optimiser.zero_grad(set_to_none=True)
                loss_sum.backward()
                optimiser.step()
                total += parts * len(index)  # weighted by the batch's size: the last batch is smaller
                count += len(index)
            train_loss = (total / max(count, 1)).tolist()
            bad = [active[j] for j, v in enumerate(train_loss) if not math.isfinite(v)]
            if bad:
                diverged = (epoch, bad)
                break
            if valid is not None:
                with torch.no_grad():
                    group.eval()
                    outs = [_frames(group, b).float().cpu() for b in valid[0]]
            stopped, stop_all = [], False
            for j, i in enumerate(active):
                row = {"epoch": epoch, "train_loss": float(train_loss[j])}
                if valid is not None:
                    preds = [o[j, :, : len(task_cols[i])].numpy() for o in outs]
                    labels = [y[:, task_cols[i]] for y in valid[1]]
                    row.update({f"valid_{k}": v for k, v in
                                score_predictions(models[i].tasks, labels, preds, losses[i], alphas[i]).items()})
                    if stoppers[i].update(row["valid_mean_ccc"], epoch, state=lambda j=j: group.member_state(j)):
                        histories[i].stopped_early = True
                        stopped.append(j)
                row["seconds"] = time.perf_counter() - tick
                histories[i].epochs.append(row)
                if on_epoch is not None:
                    models[i].load_state_dict(group.member_state(j))
                    if on_epoch(row, models[i]):
                        histories[i].interrupted = stop_all = True
            if bar is not None:  # the postfix first: the redraw of update() then shows this epoch's loss
                first = histories[active[0]].epochs[-1]
                bar.set_postfix({"members": len(active) - len(stopped)} if M > 1 else
                                {"loss": f"{first['train_loss']:.3f}",
                                 **({"ccc": f"{first['valid_mean_ccc']:.3f}"} if valid is not None else {})},
                                refresh=False)
                bar.update(1)
            if stop_all:
                break
            if stopped:
                for j in stopped:
                    final[active[j]] = group.member_state(j)
                keep = [j for j in range(len(active)) if j not in stopped]
                if not keep:
                    active = []
                    break
                group, optimiser = regroup(group, optimiser, keep, lr)
                active = [active[j] for j in keep]
                objective = _Objective(active, losses, weights, task_cols, max(group.n_tasks), dev, dtype)
    except KeyboardInterrupt:
        for i in active:
            histories[i].interrupted = True
    finally:
        _close_bar(bar)
        getattr(group, "release", lambda: None)()  # a plain model keeps no hook of the engine
    for j, i in enumerate(active):
        final[i] = group.member_state(j)
    seconds = time.perf_counter() - started
    for i, m in enumerate(models):
        best = stoppers[i].best
        m.load_state_dict(best[2] if best is not None else final[i] if diverged is None else initial[i])
        m.to(dev).eval()
        histories[i].best_epoch = stoppers[i].best_epoch
        histories[i].seconds = seconds
    if diverged is not None:
        epoch, bad = diverged
        which = "" if M == 1 else f"model {bad[0]}: "
        reset = "best" if stoppers[bad[0]].best is not None else "initial"
        raise FloatingPointError(
            f"{which}training diverged: the {names[bad[0]]} loss became NaN or infinite in epoch {epoch}; the model "
            f"was reset to its {reset} weights. Try a smaller lr")
    return histories


def _bar(progress, epochs: int, desc: str):
    if not progress_enabled(progress):
        return None
    return tqdm(total=epochs, desc=desc, unit="epoch",
                bar_format="{desc} {bar} {n_fmt}/{total_fmt} [{elapsed}, {rate_inv_fmt}{postfix}]")


def _close_bar(bar) -> None:
    if bar is None:
        return
    if bar.n < bar.total:  # early stopping is a normal end: no red 'unfinished' bar in Jupyter
        bar.total = bar.n
        bar.refresh()
    bar.close()
