"""The paper's claims, judged over independent units.

Why units, and why a t interval
-------------------------------
The cells of a grid are not independent: the runs of one CreativeIT fold share
their test speakers, their training data and their seed, and a good or bad fold
moves every cell of it together. Counting a fold's nine cell differences as nine
independent observations makes an interval far too narrow (simulated tables
with no true effect then get a verdict in 17-56 % of cases instead of 5 %).
So a claim is judged over **units** that are independent by construction: for
CreativeIT one (draw of the stubs, fold, seed), for RECOLA one (draw, seed).
A unit's cell differences are averaged first; the claim's estimate is the mean
over units, with a Student t interval on the unit means.

The t interval, not a bootstrap: with the few units a grid has (5 to 30), a
percentile bootstrap of a mean is too narrow (it covers about 83 % at n = 5
where it promises 95 %), while the t interval is exact for normal unit means
and close for the mildly skewed means of a few averaged CCCs;
``tests/test_claims.py`` checks both coverage and the verdict rate at zero
effect on simulated tables. An exact sign-flip test would need no normality,
but at n = 5 its smallest two-sided p-value is 1/16 = 0.0625: it could never
give a verdict. Below :data:`MIN_UNITS` units the verdict is "too few units".

Folds of one draw still share the draw's speakers and raters across their
training sets; the test treats them as independent, as the paper's
cross-validation does. The draw-to-draw spread in the committed results says
how much that matters.

Verdicts
--------
- a difference claim (``a > b``) *holds* when the whole interval lies above 0,
  is *reversed* when it lies below, else is *not resolved by this data*;
- a non-inferiority claim (``a ≥ b``, a ``margin``) holds when the interval lies
  above ``-margin``, is reversed when it lies below it;
- a level claim (``threshold``) holds when the interval lies below the threshold.

Examples
--------
>>> lo, hi = t_interval([0.1, 0.2, 0.3, 0.2, 0.2])
>>> round(lo, 3), round(hi, 3)
(0.112, 0.288)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..paper import tables as paper_tables
from .grid import TABLES

__all__ = ["Claim", "CLAIMS", "claims", "t_interval", "unit_values", "MIN_UNITS", "FUSION_MARGIN", "LEVEL"]

#: Fewer independent units than this and a claim gets no verdict.
MIN_UNITS = 5
#: The interval's level.
LEVEL = 0.95
#: Non-inferiority margin of "fusion ≥ speech", in CCC: the smallest difference the paper itself
#: reports as a gain (Table III, CreativeIT dominance: CER-MTL 0.18 against CER-STL 0.16). Fusion
#: that loses less than the smallest gain the paper counts as real is "no worse" than speech.
FUSION_MARGIN = 0.02

UNIT = ("dataset", "draw", "fold", "seed")
_MATCH = ("dataset", "setting", "loss", "model", "n_frames", "task", "draw", "fold", "seed")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper as a comparison of cells.

    Cells where ``column == a`` against ``column == b``, matched on everything
    else (dataset, setting, loss, model, N, task, draw, fold, seed); ``where``
    restricts the rows first (e.g. ``(("table", ("I", "II")),)``). With
    ``b=None`` the claim is about level: ``a``'s CCC below ``threshold``.
    ``margin`` makes a comparison a non-inferiority claim (``a ≥ b - margin``).

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
    margin: float | None = None

    @property
    def kind(self) -> str:
        return "level" if self.b is None else "non-inferiority" if self.margin is not None else "difference"


def _t(*where):
    return (("table", where),)


CLAIMS = (
    Claim("CCC > PCC > MSE", "CCC loss − PCC loss (Tables I, II)", "loss", "ccc", "pcc", _t("I", "II")),
    Claim("CCC > PCC > MSE", "PCC loss − MSE loss (Tables I, II)", "loss", "pcc", "mse", _t("I", "II")),
    Claim("CCC > MSE (the paper: +7 % CreativeIT, +13 % RECOLA)", "CCC loss − MSE loss (Tables I, II)",
          "loss", "ccc", "mse", _t("I", "II")),
    Claim("speech > motion", "speech − motion (Table I)", "setting", "speech", "motion", _t("I")),
    Claim("motion carries no valence", "motion-only valence CCC, below 0.10 (Table I)", "setting", "motion",
          None, _t("I") + (("task", ("valence",)),), threshold=0.10),
    Claim("speech > face on RECOLA", "speech − face, activation (Table II)", "setting", "speech", "face",
          _t("II") + (("task", ("activation",)),)),
    Claim("speech > face on RECOLA", "speech − face, valence (Table II)", "setting", "speech", "face",
          _t("II") + (("task", ("valence",)),)),
    Claim("fusion ≥ speech", f"multimodal − speech, margin {FUSION_MARGIN} (Tables I, II)", "setting",
          "multimodal", "speech", _t("I", "II"), margin=FUSION_MARGIN),
    Claim("MTL > STL", "CER-MTL − CER-STL (Table III)", "model", "CER-MTL", "CER-STL", _t("III")),
    Claim("MTL > STL, especially on valence", "CER-MTL − CER-STL, valence (Table III)", "model", "CER-MTL",
          "CER-STL", _t("III") + (("task", ("valence",)),)),
    Claim("larger N helps activation", "N = 60 − N = 20, activation (Table IV)", "n_frames", 60, 20,
          _t("IV") + (("task", ("activation",)),)),
    Claim("larger N helps activation", "N = 40 − N = 20, activation (Table IV)", "n_frames", 40, 20,
          _t("IV") + (("task", ("activation",)),)),
    Claim("CER-MTL > Pure CNN", "CER-MTL − Pure CNN (Table V)", "model", "CER-MTL", "Pure CNN", _t("V")),
)


def t_interval(values, *, level: float = LEVEL) -> tuple[float, float]:
    """Student t interval of the mean of independent ``values`` (NaN for fewer than 2).

    Parameters
    ----------
    values : (n,) array-like
        One value per independent unit.
    level : float, default 0.95

    Examples
    --------
    >>> np.round(t_interval([0.2, 0.2, 0.2]), 12).tolist()
    [0.2, 0.2]
    >>> lo, hi = t_interval([0.1, -0.1, 0.2, 0.0]); lo < 0.05 < hi
    True
    """
    v = np.asarray(values, float)
    if v.size < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean() - half), float(v.mean() + half)


def _rows(results, claim: Claim):
    rows = results.drop_duplicates(["run_id", "task"]) if "run_id" in results else results
    for column, allowed in claim.where:
        if column == "table":  # a run serves several tables: keep it if any of its rows is in one
            keep = results[results["table"].isin(list(allowed))]["run_id"].unique()
            rows = rows[rows["run_id"].isin(keep)]
        else:
            rows = rows[rows[column].isin(list(allowed))]
    return rows


def unit_values(results, claim: Claim):
    """The claim's value per independent unit: the mean of the unit's paired cell differences
    (``a - b``), or of ``a``'s CCC for a level claim.

    Returns
    -------
    (values, pairs) : ((n_units,) Series indexed by unit, DataFrame of the matched cells)

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame([dict(table="I", dataset="creativeit", setting="speech", loss=l, model="CER-MTL",
    ...     n_frames=20, task=t, draw=0, fold=f, seed=0, run_id=f"{f}{l}", ccc=c)
    ...     for f in range(2) for l, c in (("ccc", 0.5), ("pcc", 0.3)) for t in ("activation", "valence")])
    >>> unit_values(df, CLAIMS[0])[0].round(3).tolist()
    [0.2, 0.2]
    """
    return _unit_values(results, claim, "ccc")


def _unit_values(results, claim: Claim, value: str):
    rows = _rows(results, claim)
    a = rows[rows[claim.column] == claim.a]
    if claim.b is None:
        return a.groupby(list(UNIT))[value].mean(), a
    b = rows[rows[claim.column] == claim.b]
    keys = [c for c in _MATCH if c != claim.column]
    pairs = a.merge(b, on=keys, suffixes=("_a", "_b"))
    pairs["difference"] = pairs[f"{value}_a"] - pairs[f"{value}_b"]
    return pairs.groupby(list(UNIT))["difference"].mean(), pairs


def _verdict(claim: Claim, n: int, low: float, high: float) -> str:
    if n == 0:
        return "no data"
    if n < MIN_UNITS:
        return "too few units"
    if claim.kind == "level":
        return "holds" if high < claim.threshold else "reversed" if low > claim.threshold else "not resolved by this data"
    bound = -claim.margin if claim.kind == "non-inferiority" else 0.0
    return "holds" if low > bound else "reversed" if high < bound else "not resolved by this data"


def _paper_value(claim: Claim) -> float:
    paper = paper_tables()
    paper = paper[paper["table"].isin(list(TABLES))].copy()
    paper["draw"], paper["fold"], paper["seed"] = 0, 0, 0
    paper["run_id"] = paper[["dataset", "setting", "loss", "model", "n_frames"]].astype(str).agg("-".join, axis=1)
    values, pairs = _unit_values(paper, claim, "ccc")
    cells = pairs["difference"] if claim.b is not None else pairs["ccc"]
    return float(cells.mean()) if len(cells) else float("nan")


def claims(results, *, value: str = "ccc", claim_list: Sequence[Claim] = CLAIMS, level: float = LEVEL):
    """The verdict of each claim on these results, over independent units.

    Parameters
    ----------
    results : DataFrame from :func:`cerlib.experiments.run_grid` / ``load_results``
        Needs ``draw, fold, seed`` (the unit) and, for the convergence count,
        ``epochs, epochs_run, stopped_early``.
    value : "ccc" (raw) or "ccc_pp" (post-processed)
    level : float, default 0.95

    Returns
    -------
    DataFrame
        ``claim, comparison, kind, units, cells, mean, sd, low, high, p, wins,
        paper, runs, not_converged, verdict``: ``units`` independent units,
        ``cells`` matched cells in them; ``mean`` the mean over units of the
        unit means (a - b; a level claim's CCC), ``sd`` their spread,
        ``low``/``high`` the t interval, ``p`` the two-sided t test against 0
        (the margin, the threshold), ``wins`` units on the claim's side,
        ``paper`` the same comparison on the paper's numbers, ``runs`` the
        runs it rests on and ``not_converged`` those that ran out of epochs
        (their best epoch was not followed by ``patience`` worse ones).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame([dict(table="I", dataset="creativeit", setting="multimodal", loss=l,
    ...     model="CER-MTL", n_frames=20, task="activation", draw=d, fold=f, seed=0, run_id=f"{d}{f}{l}",
    ...     ccc=c + u, epochs=50, epochs_run=30, stopped_early=True)
    ...     for d in range(2) for f in range(5) for u in [rng.normal(0, 0.1)] for l, c in (("ccc", 0.5), ("pcc", 0.3))])
    >>> claims(df).set_index("comparison").loc["CCC loss − PCC loss (Tables I, II)", ["units", "wins", "verdict"]].astype(str).tolist()
    ['10', '10', 'holds']
    """
    if results[value].isna().any():
        bad = results[results[value].isna()]["run_id"].iloc[0]
        raise ValueError(f"run {bad}: its {value} is NaN; a claim cannot silently lose a unit "
                         "(delete the run's record to rerun it)")
    rows = []
    for claim in claim_list:
        values, cells = _unit_values(results, claim, value)
        v = values.to_numpy(float)
        n = int(v.size)
        low, high = t_interval(v, level=level)
        sd = float(v.std(ddof=1)) if n > 1 else float("nan")
        if claim.kind == "level":
            reference, wins = claim.threshold, int((v < claim.threshold).sum())
        else:
            reference = -claim.margin if claim.kind == "non-inferiority" else 0.0
            wins = int((v > reference).sum())
        p = float("nan")
        if n > 1:
            p = 1.0 if sd == 0 and v.mean() == reference else (
                0.0 if sd == 0 else float(2 * stats.t.sf(abs(v.mean() - reference) / (sd / np.sqrt(n)), n - 1)))
        run_ids = set()
        for col in ("run_id", "run_id_a", "run_id_b"):
            if col in cells:
                run_ids |= set(cells[col])
        runs = results[results["run_id"].isin(run_ids)].drop_duplicates("run_id")
        not_converged = 0
        if {"epochs_run", "epochs", "stopped_early"} <= set(runs.columns) and len(runs):
            ran_out = (runs["epochs_run"] >= runs["epochs"]) & ~runs["stopped_early"].astype(bool)
            not_converged = int(ran_out.sum())
        rows.append({"claim": claim.claim, "comparison": claim.comparison, "kind": claim.kind, "units": n,
                     "cells": int(len(cells)), "mean": float(v.mean()) if n else float("nan"), "sd": sd,
                     "low": low, "high": high, "p": p, "wins": wins, "paper": _paper_value(claim),
                     "runs": int(len(runs)), "not_converged": not_converged,
                     "verdict": _verdict(claim, n, low, high)})
    return pd.DataFrame(rows)
