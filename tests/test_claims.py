"""Claims are judged over independent units, and their verdicts are calibrated on simulated tables."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cerlib.experiments import CLAIMS, FUSION_MARGIN, MIN_UNITS, claims, t_interval

CCC_PCC = next(c for c in CLAIMS if c.comparison.startswith("CCC loss − PCC loss"))
MOTION_VALENCE = next(c for c in CLAIMS if c.kind == "level")
FUSION = next(c for c in CLAIMS if c.kind == "non-inferiority")


def table(unit_effects, cell_effects=None, *, a="ccc", b="pcc", column="loss", cells=9, cell_sd=0.02, rng=None,
          draws=3):
    """A results table of CreativeIT cells: per unit (draw, fold), ``cells`` task/setting cells of
    ``a`` and ``b``; ``a - b`` = the unit's effect + independent cell noise. The unit effect moves
    all cells of a unit together, as a good or bad fold does."""
    rng = rng or np.random.default_rng(0)
    rows = []
    other = "setting" if column == "loss" else "loss"
    others = ["multimodal", "speech", "motion"] if other == "setting" else ["ccc", "pcc", "mse"]
    tasks = ["activation", "valence", "dominance"]
    for u, effect in enumerate(unit_effects):
        draw, fold = u % draws, u // draws
        level = rng.normal(0.3, 0.1)
        for k in range(cells):
            kind, task = others[k // 3 % 3], tasks[k % 3]
            noise = rng.normal(0, cell_sd) if cell_effects is None else cell_effects[u][k]
            for value, ccc in ((a, level + effect + noise), (b, level)):
                row = dict(table="I", dataset="creativeit", setting="multimodal", loss="ccc", model="CER-MTL",
                           n_frames=20, task=task, draw=draw, fold=fold, seed=0, ccc=ccc, ccc_pp=ccc,
                           epochs=50, epochs_run=20, stopped_early=True, run_id=f"{draw}-{fold}-{kind}-{value}")
                row.update({other: kind, column: value})
                rows.append(row)
    return pd.DataFrame(rows)


def verdict(df, claim=CCC_PCC):
    return claims(df, claim_list=[claim]).iloc[0]


def test_the_interval_is_the_student_t_interval_at_95_percent():
    v = np.array([0.12, -0.03, 0.08, 0.2, 0.01, 0.05])
    low, high = t_interval(v)
    want = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
    assert (low, high) == pytest.approx(want, rel=1e-12)


def test_the_interval_covers_the_true_mean_95_percent_of_the_time_with_five_units():
    rng = np.random.default_rng(7)
    draws = rng.normal(0.1, 0.15, size=(4000, 5))
    covered = 0
    for v in draws:
        low, high = t_interval(v)
        covered += low <= 0.1 <= high
    assert 0.935 <= covered / len(draws) <= 0.965


def test_zero_effect_with_fold_level_spread_gives_a_verdict_about_five_percent_of_the_time():
    # 15 units (3 draws x 5 folds), fold-level spread 0.1 CCC shared by the unit's 9 cells: counting the
    # 135 cells as independent would give a verdict in about half of these tables.
    rng = np.random.default_rng(11)
    n_sim = 300
    verdicts = [verdict(table(rng.normal(0, 0.1, 15), rng=rng))["verdict"] for _ in range(n_sim)]
    rate = np.mean([v in ("holds", "reversed") for v in verdicts])
    assert rate <= 0.09, f"{rate:.3f} of zero-effect tables got a verdict"
    assert all(v in ("holds", "reversed", "not resolved by this data") for v in verdicts)


def test_a_clear_effect_is_found():
    rng = np.random.default_rng(12)
    found = [verdict(table(0.2 + rng.normal(0, 0.1, 15), rng=rng))["verdict"] == "holds" for _ in range(50)]
    assert np.mean(found) >= 0.9


def test_cells_of_a_unit_are_averaged_before_the_interval():
    df = table([0.1, 0.2, 0.3, 0.1, 0.2], cells=9, draws=1)
    row = verdict(df)
    assert row["units"] == 5 and row["cells"] == 45
    assert row["mean"] == pytest.approx(df[df["loss"] == "ccc"]["ccc"].sum() / 45
                                        - df[df["loss"] == "pcc"]["ccc"].sum() / 45, abs=1e-12)
    low, high = t_interval(df.assign(d=np.where(df["loss"] == "ccc", 1, -1) * df["ccc"])
                           .groupby(["draw", "fold"])["d"].sum().to_numpy() / 9)
    assert (row["low"], row["high"]) == pytest.approx((low, high))


def test_too_few_units_give_no_verdict_however_clear():
    row = verdict(table([0.3, 0.31, 0.29, 0.3], draws=1))
    assert row["units"] == 4 < MIN_UNITS and row["verdict"] == "too few units"
    assert verdict(table([0.3, 0.31, 0.29, 0.3, 0.3], draws=1))["verdict"] == "holds"


def test_reversed_and_wins_count_units_on_the_claims_side():
    effects = [-0.2, -0.25, -0.18, -0.22, 0.05]
    row = verdict(table(effects, draws=1, cell_sd=0.0))
    assert row["verdict"] == "reversed" and row["wins"] == 1


def test_a_level_claim_holds_when_the_interval_lies_below_the_threshold_and_counts_wins_below():
    rows = [dict(table="I", dataset="creativeit", setting="motion", loss="ccc", model="CER-MTL", n_frames=20,
                 task="valence", draw=0, fold=f, seed=0, ccc=c, ccc_pp=c, run_id=str(f), epochs=9, epochs_run=9,
                 stopped_early=False)
            for f, c in enumerate([0.01, 0.03, -0.02, 0.02, 0.12])]
    row = verdict(pd.DataFrame(rows), MOTION_VALENCE)
    assert row["wins"] == 4  # four units below 0.10
    assert row["high"] < 0.10 and row["verdict"] == "holds"
    assert row["not_converged"] == 5 and row["runs"] == 5  # every run used all its epochs


def test_fusion_is_judged_as_non_inferiority_with_the_stated_margin():
    assert FUSION.margin == FUSION_MARGIN == 0.02
    kw = dict(a="multimodal", b="speech", column="setting", cell_sd=0.0, draws=1)
    assert verdict(table([-0.01, -0.005, -0.012, -0.008, -0.01], **kw), FUSION)["verdict"] == "holds"
    assert verdict(table([-0.05, -0.06, -0.04, -0.055, -0.05], **kw), FUSION)["verdict"] == "reversed"


def test_a_nan_score_is_an_error_naming_the_run():
    df = table([0.1] * 5, draws=1)
    df.loc[3, "ccc"] = np.nan
    with pytest.raises(ValueError, match=f"run {df.loc[3, 'run_id']}: its ccc is NaN"):
        claims(df)


def test_every_claim_of_the_paper_is_listed_with_its_paper_value():
    names = {c.comparison for c in CLAIMS}
    assert "CCC loss − MSE loss (Tables I, II)" in names
    assert "CER-MTL − CER-STL, valence (Table III)" in names
    assert {"speech − face, activation (Table II)", "speech − face, valence (Table II)"} <= names
    df = claims(table([0.1] * 5, draws=1))
    paper = df.set_index("comparison")["paper"]
    ccc_mse = [0.38 - 0.26, 0.16 - 0.07, 0.18 - 0.11, 0.15 - 0.12, 0.06 - 0.00, 0.10 - 0.04, 0.37 - 0.23,
               0.13 - 0.08, 0.18 - 0.06, 0.66 - 0.50, 0.34 - 0.21, 0.15 - 0.22, 0.06 - 0.19, 0.61 - 0.49, 0.32 - 0.19]
    assert paper["CCC loss − MSE loss (Tables I, II)"] == pytest.approx(np.mean(ccc_mse))
    assert paper["CER-MTL − CER-STL, valence (Table III)"] == pytest.approx(np.mean([0.16 - 0.10, 0.34 - 0.27]))
