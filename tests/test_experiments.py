"""The experiment runner: executors agree, the store resumes, claims say what the data say."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cerlib import experiments as ex

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / "data_stubs"
TINY = dict(epochs=1, lr=1e-3, frames_per_epoch=256)


def tiny_specs():
    return [ex.Spec("recola", 0, modalities="speech", loss=loss, seed=seed, tables=("II",), **TINY)
            for loss, seed in (("ccc", 0), ("mse", 1))]


def numbers(df):
    return df.sort_values(["run_id", "task"])[["run_id", "task", "ccc", "ccc_pp", "best_epoch"]].reset_index(drop=True)


def test_a_dask_local_cluster_gives_the_in_process_numbers(tmp_path):
    pytest.importorskip("distributed")
    here = ex.run_grid(tiny_specs(), data=STUBS, progress=False)
    dask = ex.run_grid(tiny_specs(), data=STUBS, store=tmp_path, scheduler="local:2", progress=False)
    assert len(here) == 4 and set(here.columns) >= {"table", "dataset", "setting", "loss", "model", "n_frames",
                                                    "task", "ccc", "ccc_pp", "fold", "seed", "run_id"}
    pd.testing.assert_frame_equal(numbers(here), numbers(dask))
    assert len(ex.Store(tmp_path).done()) == 2
    again = ex.run_grid(tiny_specs(), data=STUBS, store=tmp_path, progress=False)  # from the store
    pd.testing.assert_frame_equal(numbers(here), numbers(again))


def test_a_killed_reproduction_resumes_without_rerunning_finished_runs(tmp_path):
    out = tmp_path / "out"
    args = ["--tables", "II", "--seeds", "2", "--epochs", "1", "--frames-per-epoch", "256",  # two groups of 9 runs
            "--data", str(STUBS), "--out", str(out), "--quiet"]
    code = f"import sys; from cerlib.experiments import main_reproduce; sys.exit(main_reproduce({args!r}))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    runs = out / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and not (runs.is_dir() and list(runs.glob("*.json"))):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert 1 <= len(first) < 18, "the kill should land mid-grid"
    for p in runs.glob("*.json"):
        json.loads(p.read_text())  # every stored record is complete
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert len(after) == 18
    assert all(after[name] == mtime for name, mtime in first.items()), "a finished run was run again"
    results = pd.read_csv(out / "results.csv")
    assert results["run_id"].nunique() == 18 and (out / "claims.md").is_file() and (out / "tables.md").is_file()


def synthetic(diffs, column="loss", a="ccc", b="pcc", table="I"):
    records = []
    for fold, d in enumerate(diffs):
        for value, c in ((a, 0.3 + d), (b, 0.3)):
            spec = ex.Spec("creativeit", fold, **{column: value}, tables=(table,))
            records.append({"run_id": spec.run_id, "spec": spec.fields(), "best_epoch": 1, "seconds": 1.0,
                            "scores": {"activation": {"ccc": c, "ccc_pp": c}}})
    return ex.results_frame(records)


@pytest.mark.parametrize("diffs, verdict", [
    ([0.10, 0.12, 0.08, 0.11, 0.09], "holds"),
    ([-0.10, -0.12, -0.08, -0.11, -0.09], "reversed"),
    ([0.10, -0.12, 0.08, -0.11, 0.02], "not resolved by this data"),
])
def test_claims_give_the_known_verdict(diffs, verdict):
    table = ex.claims(synthetic(diffs)).set_index("comparison").loc["CCC loss − PCC loss (Tables I, II)"]
    assert table["verdict"] == verdict
    assert table["pairs"] == 5 and table["wins"] == sum(d > 0 for d in diffs)
    assert table["mean"] == pytest.approx(np.mean(diffs))
    assert table["low"] <= table["mean"] <= table["high"]
    assert table["paper"] == pytest.approx(np.mean([0.38 - 0.33, 0.16 - 0.16, 0.18 - 0.14, 0.15 - 0.14, 0.06 - 0.02,
                                                    0.10 - 0.09, 0.37 - 0.32, 0.13 - 0.13, 0.18 - 0.18,
                                                    0.66 - 0.49, 0.34 - 0.24, 0.15 - 0.09, 0.06 - 0.18,
                                                    0.61 - 0.34, 0.32 - 0.13]))


def test_claims_pair_on_fold_and_seed_only():
    df = synthetic([0.1, 0.1, 0.1])
    df = df[~((df["loss"] == "pcc") & (df["fold"] == 2))]  # fold 2 has no partner
    assert ex.claims(df).set_index("comparison").loc["CCC loss − PCC loss (Tables I, II)", "pairs"] == 2


def test_the_bootstrap_interval_covers_the_mean_and_shrinks_with_data():
    rng = np.random.default_rng(1)
    small, large = rng.normal(0.05, 0.1, 5), rng.normal(0.05, 0.1, 500)
    lo_s, hi_s = ex.bootstrap_interval(small)
    lo_l, hi_l = ex.bootstrap_interval(large)
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 3


def test_postprocessing_is_fitted_on_validation_and_restores_level_and_scale():
    t = np.arange(1200) / 60
    ref = np.sin(t)
    pp = ex.fit_postprocess([ref[:600]], [0.05 * ref[:600] + 2], max_shift=0)
    fixed = pp.apply(0.05 * ref[600:] + 2)
    np.testing.assert_allclose(fixed, ref[600:], atol=1e-9)  # level and scale learnt on the first half only
    assert pp.shift == 0 and pp.scale == pytest.approx(20, rel=1e-6)


def test_the_store_writes_atomically_and_ignores_leftovers(tmp_path, monkeypatch):
    store = ex.Store(tmp_path)
    record = {"run_id": "r1", "spec": {}, "scores": {}}
    (store.runs / "r0.json.abc.tmp").write_text("{half")  # a leftover of a killed write
    real = os.replace

    def crash(src, dst):
        if str(dst).endswith(".json"):
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(ex.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.write({"record": record, "checkpoint": b"weights"})
    assert store.done() == set() and not list(store.runs.glob("r1.json*"))
    monkeypatch.setattr(ex.os, "replace", real)
    store.write({"record": record, "checkpoint": b"weights"})
    assert store.done() == {"r1"} and store.path("r1", ".pt").read_bytes() == b"weights"


def test_run_ids_are_stable_and_ignore_table_membership():
    a = ex.Spec("creativeit", 1, loss="mse", tables=("I",))
    b = ex.Spec("creativeit", 1, loss="mse", tables=("IV", "V"))
    assert a.run_id == b.run_id and a.run_id != ex.Spec("creativeit", 1, loss="mse", seed=1).run_id
    grid = ex.paper_grid(folds={"creativeit": [0], "recola": [0]})
    assert len({s.run_id for s in grid}) == len(grid) == 28
    shared = next(s for s in grid if s.dataset == "creativeit" and s.modalities == "multimodal" and s.loss == "ccc"
                  and s.model == "cer-mtl" and s.n_frames == 20)
    assert shared.tables == ("I", "III", "IV", "V")
    stl = [s for s in grid if s.model == "cer-stl"]
    assert sorted(s.tasks[0] for s in stl) == ["activation", "activation", "dominance", "valence", "valence"]


def test_clear_errors(tmp_path):
    with pytest.raises(SystemExit, match=r"unknown table\(s\) \['VII'\]"):
        ex.main_reproduce(["--tables", "I,VII"])
    with pytest.raises(SystemExit, match="no-such-folder: no such folder"):
        ex.main_reproduce(["--data", str(tmp_path / "no-such-folder"), "--out", str(tmp_path / "o")])
    with pytest.raises(ValueError, match="unknown table"):
        ex.paper_grid(["VI"])
    with pytest.raises(ValueError, match="exactly one task"):
        ex.Spec("creativeit", 0, model="cer-stl")
    with pytest.raises(FileNotFoundError, match="needs \\['creativeit'\\]"):
        ex.run_grid([ex.Spec("creativeit", 0)], data={"recola": str(STUBS / "recola")}, progress=False)
    pytest.importorskip("distributed")
    with pytest.raises(SystemExit, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        ex.main_reproduce(["--tables", "II", "--scheduler", "tcp://127.0.0.1:9", "--data", str(STUBS),
                           "--out", str(tmp_path / "o"), "--quiet", "--epochs", "1"])
