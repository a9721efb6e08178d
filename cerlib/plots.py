"""Figures for the course. Plots draw what they are given; they never train.

Every function returns the matplotlib ``Figure`` (end a notebook cell with
``;`` or ``plt.show()`` so no repr is printed) and labels its axes with units.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import seaborn as sns

from .layouts import TASKS
from .metrics import rolling_ccc

__all__ = ["plot_history", "plot_traces", "plot_feature_image", "plot_table_heatmap", "plot_claims",
           "TASK_COLOURS", "LOSS_COLOURS", "VERDICT_COLOURS"]

TASK_COLOURS = {"activation": "tab:red", "valence": "tab:green", "dominance": "tab:blue"}
LOSS_COLOURS = {"ccc": "tab:blue", "pcc": "tab:orange", "mse": "tab:gray"}


def plot_history(history, *, title: str | None = None):
    """Learning curves of one :class:`cerlib.training.History`.

    Left: training objective per epoch (and the validation objective, computed
    over all validation frames at once). Right: validation CCC per task and
    their mean, with the restored best epoch marked.

    Examples
    --------
    >>> fig = plot_history(history)          # doctest: +SKIP
    """
    df = history.to_frame()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), constrained_layout=True)
    left.plot(df["epoch"], df["train_loss"], label="train")
    if "valid_loss" in df:
        left.plot(df["epoch"], df["valid_loss"], label="validation")
    left.set(xlabel="epoch", ylabel=f"objective J ({history.loss} loss)", title="loss")
    left.legend()
    for task in history.tasks:
        column = f"valid_ccc_{task}"
        if column in df:
            right.plot(df["epoch"], df[column], label=task, color=TASK_COLOURS.get(task))
    if "valid_mean_ccc" in df:
        right.plot(df["epoch"], df["valid_mean_ccc"], "k--", label="mean")
        if history.best_epoch is not None:
            right.axvline(history.best_epoch, color="k", lw=0.8, alpha=0.5)
            right.annotate("best", (history.best_epoch, right.get_ylim()[1]), ha="left", va="top", fontsize=8)
    right.set(xlabel="epoch", ylabel="CCC", title="validation CCC")
    right.legend(fontsize=8)
    for ax in (left, right):      # epochs are whole numbers: no tick at 1.5 on a short run
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    return fig


def plot_traces(
    reference: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    tasks: Sequence[str],
    *,
    fps: float,
    start: int = 0,
    length: int = 256,
    window: int | Sequence[int] = 100,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
):
    """The paper's Figure 2: predicted traces against the reference, with a
    running CCC over the previous ``window`` predictions.

    Parameters
    ----------
    reference : (T, n_tasks) array
        The annotation (mean of raters).
    predictions : mapping label -> (T, n_tasks) array
        One entry per model, e.g. ``{"ccc": ..., "pcc": ..., "mse": ...}``.
    tasks : names of the columns
    fps : frame rate of the traces, for a time axis in seconds
    start, length : which frames to draw (the paper draws 256)
    window : int or sequence of int
        Frames in the running CCC (the paper: 100). Several windows draw one
        running-CCC row each, e.g. ``window=[100, 600]`` for the paper's
        1.7 s beside one matched to how slowly the labels change.
    figsize : (width, height) in inches; default 9 wide, 2.6 high per task
        plus 1.1 per extra window

    Returns
    -------
    Figure with 1 + len(window) rows per task: the traces, then one running
    CCC per window. The legend sits above the first row, outside the traces.

    Notes
    -----
    The running CCC is computed over the whole recording and then cut to the
    frames drawn, so its first values already see ``window`` predictions.

    Examples
    --------
    >>> t = np.linspace(0, 6, 400)[:, None]
    >>> fig = plot_traces(np.sin(t), {"ccc": np.sin(t - 0.2)}, ["activation"], fps=60)
    >>> fig = plot_traces(np.sin(t), {"ccc": np.sin(t - 0.2)}, ["activation"], fps=60, window=[100, 300])
    >>> len(fig.axes)                     # traces, then one running CCC per window
    3
    >>> bool(fig.axes[0].get_legend().get_bbox_to_anchor().y0 >= fig.axes[0].get_window_extent().y1)  # above
    True
    """
    reference = np.atleast_2d(np.asarray(reference).T).T
    windows = [window] if isinstance(window, (int, np.integer)) else list(window)
    if not windows:
        raise ValueError("window: give at least one window length in frames")
    stop = min(start + length, len(reference))
    if stop - start < 2:
        raise ValueError(f"nothing to draw: start={start}, length={length}, but only {len(reference)} frames")
    seconds = np.arange(start, stop) / fps
    rows = 1 + len(windows)
    fig, axes = plt.subplots(
        rows * len(tasks), 1, figsize=figsize or (9, (2.6 + 1.1 * (len(windows) - 1)) * len(tasks)),
        sharex=True, constrained_layout=True, gridspec_kw={"height_ratios": ([3] + [1.3] * len(windows)) * len(tasks)},
    )
    axes = np.atleast_1d(axes)
    for m, task in enumerate(tasks):
        trace_ax, ccc_axes = axes[rows * m], axes[rows * m + 1: rows * (m + 1)]
        trace_ax.plot(seconds, reference[start:stop, m], color="k", lw=2, label="reference")
        for label, pred in predictions.items():
            pred = np.atleast_2d(np.asarray(pred).T).T
            colour = LOSS_COLOURS.get(label)
            trace_ax.plot(seconds, pred[start:stop, m], color=colour, lw=1.2, label=f"{label}")
            for w, ccc_ax in zip(windows, ccc_axes):
                running = rolling_ccc(reference[:, m], pred[:, m], window=int(w))
                ccc_ax.plot(seconds, running[start:stop], color=colour, lw=1.2)
        trace_ax.set_ylabel(f"{task} (rating)", fontsize=9)
        for w, ccc_ax in zip(windows, ccc_axes):
            ccc_ax.set_ylabel(f"CCC {int(w) / fps:.3g} s", fontsize=8)   # the window, in seconds
            ccc_ax.set_ylim(-1, 1)
            ccc_ax.set_yticks([-1, 0, 1], ["-1", "0", "1"], fontsize=7)
            ccc_ax.axhline(0, color="k", lw=0.5)
    # One legend, above the first traces: inside an axes it hides the curves it names.
    axes[0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(predictions) + 1, fontsize=8,
                   frameon=False, borderaxespad=0.2)
    axes[-1].set_xlabel("time (s); running CCC over the previous " + ", ".join(f"{int(w)}" for w in windows)
                        + " frames")
    fig.align_ylabels(axes)
    if title:
        fig.suptitle(title)
    return fig


def plot_feature_image(image: np.ndarray, *, feature_names: Sequence[str] | None = None,
                       stride: int = 10, fps: float = 60.0, ax=None, title: str | None = None):
    """Draw one feature image F_l (P x N) as a heat map, columns labelled by
    their offset from frame l in seconds.

    Examples
    --------
    >>> fig = plot_feature_image(np.random.default_rng(0).normal(size=(63, 20)))
    """
    image = np.asarray(image)
    n_rows, n_cols = image.shape
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    else:
        fig = ax.figure
    offsets = (np.arange(n_cols) - n_cols // 2 + 1) * stride / fps
    mesh = ax.imshow(image, aspect="auto", cmap="coolwarm", interpolation="nearest",
                     vmin=-np.abs(image).max(), vmax=np.abs(image).max())
    ticks = np.arange(0, n_cols, max(1, n_cols // 5))
    ax.set_xticks(ticks, [f"{offsets[i]:+.2f}" for i in ticks])
    ax.set_xlabel("column offset from frame l (s)")
    ax.set_ylabel("feature (row)")
    if feature_names is not None and len(feature_names) == n_rows and n_rows <= 70:
        step = max(1, n_rows // 12)
        ax.set_yticks(np.arange(0, n_rows, step), [feature_names[i] for i in range(0, n_rows, step)], fontsize=7)
    fig.colorbar(mesh, ax=ax, label="value (z-score)")
    if title:
        ax.set_title(title)
    return fig


def plot_prediction(times, y_hat, tasks: Sequence[str], *, title: str | None = None):
    """The predicted trace of one recording, one row per task (no reference: a new recording).

    Parameters
    ----------
    times : array (T,) seconds
    y_hat : array (T, n_tasks)
    tasks : names of the columns of ``y_hat``

    Examples
    --------
    >>> fig = plot_prediction(np.arange(100) / 60, np.zeros((100, 2)), ["activation", "valence"])
    >>> len(fig.axes)
    2
    """
    y_hat = np.asarray(y_hat).reshape(len(times), -1)
    fig, axes = plt.subplots(len(tasks), 1, figsize=(9, 1.8 * len(tasks)), sharex=True, squeeze=False)
    for ax, task, column in zip(axes[:, 0], tasks, y_hat.T):
        ax.plot(times, column, color=TASK_COLOURS.get(task, "black"), lw=1)
        ax.set_ylabel(task)
        ax.axhline(0, color="0.8", lw=0.5)
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def plot_table_heatmap(summary, table: str, *, title: str | None = None):
    """One of the paper's tables as two heat maps side by side: ours (mean, with
    ± std written in each cell) | the paper's number.

    Parameters
    ----------
    summary : DataFrame from :func:`cerlib.experiments.summarise`
        (columns table, dataset, setting, loss, model, n_frames, task, mean, std, paper).
    table : "I" .. "V"

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame([dict(table="V", dataset="creativeit", setting="multimodal", loss="ccc",
    ...       model=m, n_frames=20, task="activation", mean=0.3, std=0.1, n=5, paper=0.38)
    ...       for m in ("CER-MTL", "Pure CNN")])
    >>> fig = plot_table_heatmap(s, "V")
    >>> len(fig.axes) >= 2
    True
    """
    part = summary[summary["table"] == table].copy()
    if part.empty:
        raise ValueError(f"no results for Table {table}")
    part["row"] = [f"{d} · {s} · {l} · {m} · N={n}" for d, s, l, m, n in
                   zip(part["dataset"], part["setting"], part["loss"], part["model"], part["n_frames"])]
    order = list(dict.fromkeys(part["row"]))
    tasks = [t for t in TASKS if t in set(part["task"])]

    def grid(column):
        return part.pivot_table(index="row", columns="task", values=column, aggfunc="first").reindex(
            index=order, columns=tasks)

    ours, spread, paper = grid("mean"), grid("std"), grid("paper")
    labels = ours.map(lambda v: "" if v != v else f"{v:.2f}") + spread.map(
        lambda v: "" if v != v else f"\n±{v:.2f}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, max(3.6, 1.6 + 0.55 * len(order))), sharey=True,
                                      constrained_layout=True)
    options = dict(vmin=-0.2, vmax=0.8, cmap="viridis", cbar=False, linewidths=0.5)
    sns.heatmap(ours.astype(float), annot=labels.values, fmt="", ax=left, annot_kws={"fontsize": 8}, **options)
    sns.heatmap(paper.astype(float), annot=True, fmt=".2f", ax=right, annot_kws={"fontsize": 8}, **options)
    left.set(title="ours: mean CCC ± std over draws x folds x seeds", xlabel="", ylabel="")
    right.set(title="paper", xlabel="", ylabel="")
    fig.colorbar(left.collections[0], ax=[left, right], label="CCC", shrink=0.8)
    fig.suptitle(title or f"Table {table}")
    return fig


VERDICT_COLOURS = {"holds": "tab:green", "reversed": "tab:red", "not resolved by this data": "tab:gray",
                   "too few units": "tab:orange", "no data": "white"}


def plot_claims(claims, *, title: str | None = None):
    """The claims table as a figure: each comparison's mean difference over independent
    units with its 95 % t interval, coloured by verdict, and the paper's difference as a cross.

    Parameters
    ----------
    claims : DataFrame from :func:`cerlib.experiments.claims`

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame([dict(claim="MTL > STL", comparison="MTL − STL", units=5, mean=0.05, low=0.01,
    ...       high=0.09, wins=4, paper=0.05, verdict="holds")])
    >>> fig = plot_claims(c)
    """
    claims = claims.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, max(2.5, 1.2 + 0.45 * len(claims))), constrained_layout=True)
    y = np.arange(len(claims))[::-1]
    for yi, row in zip(y, claims.itertuples(index=False)):
        colour = VERDICT_COLOURS.get(row.verdict, "k")
        ax.errorbar(row.mean, yi, xerr=[[row.mean - row.low], [row.high - row.mean]], fmt="o", color=colour,
                    capsize=3)
        if row.paper == row.paper:
            ax.plot(row.paper, yi, "kx")
    ax.axvline(0, color="k", lw=0.6)
    ax.set_yticks(y, [f"{c} ({w}/{n})" for c, w, n in zip(claims["comparison"], claims["wins"], claims["units"])],
                  fontsize=8)
    ax.set_xlabel("mean difference in CCC over independent units (wins/units), 95 % t interval\n"
                  "(level claim: mean CCC); x: the paper")
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in VERDICT_COLOURS.items()
               if v in set(claims["verdict"])]
    ax.legend(handles=handles + [plt.Line2D([], [], marker="x", ls="", color="k", label="paper")], fontsize=8,
              loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or "The paper's claims on these results")
    return fig
