"""Tables beside the paper's, the claims, Figure 2, and the report ``reproduce`` writes.

Every file written here says where its numbers come from: results from
synthetic stubs carry ``creativeit-stub`` / ``recola-stub`` as their dataset
and "synthetic" in every heading and figure title, never beside the paper's
numbers as if they were results on the real corpora. A report whose runs ran
out of epochs says so first.

Examples
--------
>>> import pandas as pd
>>> s = pd.DataFrame([dict(table="V", dataset="creativeit", setting="multimodal", loss="ccc",
...       model="CER-MTL", n_frames=20, task="activation", mean=0.3, std=0.1, n=5, paper=0.38)])
>>> compare_with_paper(s, "V").iloc[0]["activation"]
'0.30 ± 0.10 (0.38)'
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import torch

from .. import __version__
from ..layouts import TASKS
from ..paper import TABLE_COLUMNS
from ..paper import parameters as paper_parameters
from ..paper import tables as paper_tables
from ..plots import plot_claims, plot_table_heatmap, plot_traces
from ..training import predict
from .claims import FUSION_MARGIN, LEVEL, MIN_UNITS, claims
from .execution import load_results
from .grid import LOSSES, TABLES
from .runner import corpus
from .sources import resolve
from .store import Store

__all__ = ["summarise", "compare_with_paper", "table_markdown", "write_report", "figure2", "convergence",
           "label_synthetic", "read_results", "CELL"]

CELL = list(TABLE_COLUMNS[:-1])  # table, dataset, setting, loss, model, n_frames, task


def summarise(results, *, value: str = "ccc"):
    """Mean, std and count over draws x folds x seeds per cell, with the paper's number beside.

    Parameters
    ----------
    results : DataFrame from :func:`cerlib.experiments.run_grid` / ``load_results``
    value : "ccc" (raw) or "ccc_pp" (post-processed)

    Returns
    -------
    DataFrame: the cell columns, ``mean, std, n, paper``.

    Examples
    --------
    >>> from cerlib.experiments import Spec, results_frame
    >>> rec = lambda fold, c: {"run_id": str(fold), "spec": Spec("creativeit", fold, tables=("V",)).fields(),
    ...     "scores": {"activation": {"ccc": c, "ccc_pp": c}}}
    >>> s = summarise(results_frame([rec(0, 0.2), rec(1, 0.4)]))
    >>> s[["mean", "n", "paper"]].round(2).values.tolist()
    [[0.3, 2.0, 0.38]]
    """
    grouped = results.groupby(CELL, dropna=False)[value]
    summary = grouped.agg(mean="mean", std="std", n="count").reset_index()
    summary["std"] = summary["std"].fillna(0.0)
    paper = paper_tables()
    paper = paper[paper["table"].isin(list(TABLES))]
    merged = summary.merge(paper.rename(columns={"ccc": "paper"}), on=CELL, how="left")
    return merged.astype({"n": float}) if len(merged) else pd.DataFrame(columns=CELL + ["mean", "std", "n", "paper"])


def compare_with_paper(summary, table: str):
    """One table laid out as the paper does: a row per setting/loss/model/N, a column
    per task holding ``"ours ± std (paper)"``.

    Examples
    --------
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
    order = [t for t in TASKS if t in wide.columns]
    wide = wide[order].fillna("").reset_index()  # RECOLA has no dominance: an empty cell, not NaN
    wide.columns.name = None
    return wide


def table_markdown(summary, table: str, *, parameters=None) -> str:
    """Markdown of :func:`compare_with_paper`; for Table V with our and the paper's parameter counts.

    Examples
    --------
    >>> s = pd.DataFrame([dict(table="V", dataset="creativeit", setting="multimodal", loss="ccc",
    ...       model="CER-MTL", n_frames=20, task="activation", mean=0.3, std=0.1, n=5, paper=0.38)])
    >>> print(table_markdown(s, "V").splitlines()[2])
    | creativeit | multimodal | ccc | CER-MTL | 20 | 0.30 ± 0.10 (0.38) |
    """
    wide = compare_with_paper(summary, table).fillna("")
    if table == "V" and parameters is not None:
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


def label_synthetic(df):
    """A copy whose ``dataset`` names say ``-stub`` where the rows come from synthetic stubs.

    Examples
    --------
    >>> label_synthetic(pd.DataFrame({"dataset": ["recola"], "synthetic": [True]}))["dataset"].tolist()
    ['recola-stub']
    """
    out = df.copy()
    if "synthetic" in out:
        stub = out["synthetic"].astype(bool)
        out.loc[stub, "dataset"] = out.loc[stub, "dataset"].astype(str) + "-stub"
    return out


def read_results(path):
    """A ``results.csv`` written by ``reproduce``, read back as :func:`cerlib.experiments.run_grid`
    returns it (dataset names without the ``-stub`` label; ``synthetic`` says which rows are stubs).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "results.csv"
    >>> label_synthetic(pd.DataFrame({"dataset": ["recola"], "n_frames": [20], "synthetic": [True]})).to_csv(path)
    >>> read_results(path)["dataset"].tolist()
    ['recola']
    """
    df = pd.read_csv(path)
    if "synthetic" in df:
        stub = df["synthetic"].astype(bool)
        df.loc[stub, "dataset"] = df.loc[stub, "dataset"].str.removesuffix("-stub")
    if "n_frames" in df:
        df["n_frames"] = df["n_frames"].astype("Int64")
    return df


def convergence(results) -> dict:
    """How the runs ended: counts of runs stopped early and runs that used every epoch.

    Examples
    --------
    >>> df = pd.DataFrame({"run_id": ["a", "b"], "epochs": [10, 10], "epochs_run": [6, 10],
    ...                    "stopped_early": [True, False]})
    >>> convergence(df)
    {'runs': 2, 'stopped_early': 1, 'ran_out_of_epochs': 1, 'share_stopped_early': 0.5}
    """
    runs = results.drop_duplicates("run_id")
    stopped = int(runs["stopped_early"].fillna(False).astype(bool).sum())
    ran_out = int(((runs["epochs_run"] >= runs["epochs"]) & ~runs["stopped_early"].fillna(False).astype(bool)).sum())
    n = int(len(runs))
    return {"runs": n, "stopped_early": stopped, "ran_out_of_epochs": ran_out,
            "share_stopped_early": round(stopped / n, 3) if n else float("nan")}


def _claims_markdown(raw, post) -> str:
    fmt = raw.copy()
    fmt["interval"] = [f"[{lo:+.3f}, {hi:+.3f}]" if lo == lo else "" for lo, hi in zip(fmt["low"], fmt["high"])]
    fmt["mean"] = fmt["mean"].map(lambda v: "" if v != v else f"{v:+.3f}")
    fmt["p"] = fmt["p"].map(lambda v: "" if v != v else f"{v:.3f}")
    fmt["paper"] = fmt["paper"].map(lambda v: "" if v != v else f"{v:+.3f}")
    fmt["wins"] = [f"{w}/{n}" for w, n in zip(fmt["wins"], fmt["units"])]
    fmt["runs not converged"] = [f"{k}/{n}" for k, n in zip(fmt["not_converged"], fmt["runs"])]
    fmt["verdict (post-processed)"] = post["verdict"]
    return _markdown(fmt[["claim", "comparison", "units", "mean", "interval", "p", "wins", "paper",
                          "runs not converged", "verdict", "verdict (post-processed)"]])


def write_report(results, out, *, command: str = "", seconds: float | None = None, schedule: dict | None = None,
                 quick: bool = False) -> dict:
    """Write results.csv, summary.csv, tables.md, claims.csv/.md, run.json and the figures into ``out``.

    Returns the ``run.json`` dict. Results from synthetic stubs are labelled so in every file
    and figure; a report whose runs ran out of epochs (or a ``quick`` one) opens with a warning.

    Examples
    --------
    >>> import tempfile
    >>> from cerlib.examples import data_folder, example_data
    >>> from cerlib.experiments import Spec, run_grid
    >>> spec = Spec("recola", 0, epochs=1, frames_per_epoch=256, lr=1e-3, tables=("II",))
    >>> out = tempfile.mkdtemp()
    >>> meta = write_report(run_grid([spec], data=data_folder(), store=out, progress=False), out)
    >>> meta["data"], meta["convergence"]["ran_out_of_epochs"]
    ('synthetic stubs', 1)
    >>> "Not converged" in (Path(out) / "claims.md").read_text()
    True
    """
    # the figures are only saved: Agg needs no display (cerlib reproduce runs headless); pyplot is loaded,
    # so this is plt.switch_backend("Agg"); force=False: carry on with the current backend if Agg fails
    matplotlib.use("Agg", force=False)
    out = Path(out)
    synthetic = bool(results["synthetic"].astype(bool).any()) if "synthetic" in results else False
    source = "synthetic stubs" if synthetic else "the data given"
    conv = convergence(results)
    warning = []
    if quick or conv["share_stopped_early"] < 0.9:
        warning = [f"> **Not converged: these verdicts are not evidence.** {conv['ran_out_of_epochs']} of "
                   f"{conv['runs']} runs used every epoch without early stopping ending them "
                   f"({conv['stopped_early']} stopped early)" + (", as the quick schedule is a smoke run" if quick else "")
                   + ". Judge the paper's claims from a converged grid (`python -m cerlib reproduce`).", ""]
    order = ["table", "dataset", "draw", "fold", "seed", "setting", "loss", "model", "n_frames", "task"]
    results = results.sort_values(order, kind="stable").reset_index(drop=True)  # the same file from a run or a store
    label_synthetic(results).to_csv(out / "results.csv", index=False)
    raw, post = summarise(results), summarise(results, value="ccc_pp")
    shown_raw, shown_post = label_synthetic(raw.assign(synthetic=synthetic)), label_synthetic(post.assign(synthetic=synthetic))
    shown_raw.drop(columns="synthetic").assign(pp_mean=post["mean"], pp_std=post["std"]).to_csv(
        out / "summary.csv", index=False)
    # Table V's parameter counts: the models of that table (multimodal, N = 20), not the first run of each name
    table_v = results[results["table"] == "V"]
    params = (table_v if len(table_v) else results).drop_duplicates("model").set_index("model")["parameters"].to_dict()
    draws = sorted(set(results["draw"])) if "draw" in results else [0]
    lines = [f"# Tables I-V on {source}: ours (mean ± std over {len(draws)} draw(s) x folds x seeds) "
             "and the paper's (in brackets)", ""] + warning
    if synthetic:
        lines += ["Our numbers come from synthetic stubs (`-stub`): they say how the code behaves on simulated "
                  "data, not what the model achieves on CreativeIT or RECOLA.", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    present = [t for t in TABLES if t in set(results["table"])]
    for table in present:
        lines += [f"## Table {table} (raw CCC)", "", table_markdown(shown_raw, table, parameters=params), ""]
        lines += [f"### Table {table}, post-processed (centred, scaled on the validation set)", "",
                  table_markdown(shown_post, table), ""]
        if table == "IV":
            vi = paper_tables("VI")
            lines += ["## Table VI (the paper's published RECOLA dev numbers; not rerun)", "",
                      _markdown(vi.pivot_table(index="model", columns="task", values="ccc", sort=False).reset_index()), ""]
    (out / "tables.md").write_text("\n".join(lines))
    claim_raw, claim_pp = claims(results), claims(results, value="ccc_pp")
    claim_raw.assign(verdict_pp=claim_pp["verdict"], mean_pp=claim_pp["mean"], synthetic=synthetic).to_csv(
        out / "claims.csv", index=False)
    head = [f"# The paper's claims on {source}", ""] + warning + [
        f"Each claim is judged over independent units (CreativeIT: draw x fold x seed; RECOLA: draw x seed), "
        f"each unit's cells averaged first, with a {LEVEL:.0%} t interval on the unit means; fewer than "
        f"{MIN_UNITS} units give no verdict. \"fusion ≥ speech\" is a non-inferiority claim with a margin of "
        f"{FUSION_MARGIN} CCC (the smallest gain the paper reports). `paper`: the same comparison on the "
        "paper's published numbers.", ""]
    (out / "claims.md").write_text("\n".join(head) + "\n" + _claims_markdown(claim_raw, claim_pp) + "\n")
    tag = " (synthetic stubs)" if synthetic else ""
    for table in present:
        fig = plot_table_heatmap(shown_raw, table, title=f"Table {table}{tag}")
        fig.savefig(out / f"table_{table}.png", dpi=110)
        plt.close(fig)
    fig = plot_claims(claim_raw, title=f"The paper's claims on {source}" + (" (NOT converged)" if warning else ""))
    fig.savefig(out / "claims.png", dpi=110)
    plt.close(fig)
    fig = None
    for dataset in ("creativeit", "recola"):
        try:
            fig = figure2(out, results, dataset=dataset)
            break
        except (LookupError, FileNotFoundError):
            continue
    if fig is not None:
        fig.savefig(out / "figure2.png", dpi=110)
        plt.close(fig)
    meta = {"command": command, "seconds": seconds, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
            "load_average": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "torch": torch.__version__, "cerlib": __version__, "data": source, "draws": draws,
            "runs": int(results["run_id"].nunique()), "convergence": conv, **(schedule or {})}
    (out / "run.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def figure2(store, results=None, *, data=None, dataset: str = "creativeit", draw: int = 0, fold: int = 0,
            seed: int = 0, recording: int = 0, start: int = 0, length: int = 256, window=100):
    """The paper's Figure 2 from stored models: the multimodal CER-MTL (N = 20) trained with
    each loss, on one test recording of ``fold``.

    ``data`` (as for :func:`cerlib.experiments.run_grid`) overrides the data folder recorded
    with the runs. Raises ``LookupError`` when the store lacks one of the three runs.

    Examples
    --------
    >>> import tempfile
    >>> from cerlib.examples import data_folder, example_data
    >>> from cerlib.experiments import Spec, run_grid
    >>> out = tempfile.mkdtemp()
    >>> specs = [Spec("recola", 0, loss=loss, epochs=1, frames_per_epoch=256, lr=1e-3) for loss in LOSSES]
    >>> fig = figure2(out, run_grid(specs, data=data_folder(), store=out, progress=False), dataset="recola")
    >>> len(fig.axes) >= 2
    True
    """
    results = load_results(store) if results is None else results
    rows = results[(results["dataset"] == dataset) & (results["setting"] == "multimodal") &
                   (results["model"] == "CER-MTL") & (results["n_frames"] == 20) & (results["draw"] == draw) &
                   (results["fold"] == fold) & (results["seed"] == seed)]
    runs = {loss: rows[rows["loss"] == loss]["run_id"] for loss in LOSSES}
    if any(r.empty for r in runs.values()):
        raise LookupError(f"{store}: Figure 2 needs the multimodal CER-MTL runs of {dataset} draw {draw} fold "
                          f"{fold} seed {seed} for all three losses")
    store = Store(store)
    record = json.loads(store.path(runs["ccc"].iloc[0], ".json").read_text())
    path = resolve(record["data"] if data is None else data, draws=[draw])[draw][dataset]
    c = corpus(path, record["spec"]["fps"])
    test = c.folds()[fold].test[recording]
    predictions = {loss: predict(store.model(ids.iloc[0]), test) for loss, ids in runs.items()}
    stub = " - synthetic stubs" if record.get("synthetic") else ""
    return plot_traces(test.labels, predictions, list(c.tasks), fps=c.fps, start=start, length=length,
                       window=window, title=f"{dataset}{'-stub' if stub else ''} {test.name} (draw {draw}, fold "
                                            f"{fold}, seed {seed}): stored models{stub}")
