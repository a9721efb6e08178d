"""The experiment runner: executors agree, the store resumes and refuses what it cannot trust,
a run id covers its data, and the report says where its numbers come from."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cerlib import experiments as ex
from cerlib.experiments import execution, runner, sources, store as store_module

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / "data_stubs"
TINY = dict(epochs=1, lr=1e-3, frames_per_epoch=256)


def tiny_specs():
    return [ex.Spec("recola", 0, modalities="speech", loss=loss, seed=seed, tables=("II",), **TINY)
            for loss, seed in (("ccc", 0), ("mse", 1))]


def numbers(df):
    return df.sort_values(["run_id", "task"])[["run_id", "task", "ccc", "ccc_pp", "best_epoch"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def figure2_store(tmp_path_factory):
    """The three multimodal CER-MTL runs Figure 2 needs, plus a speech run; trained in this process
    (CCC and MSE as one group, PCC alone)."""
    out = tmp_path_factory.mktemp("store")
    specs = [ex.Spec("recola", 0, loss=loss, tables=("II",), **TINY) for loss in ex.LOSSES]
    specs.append(ex.Spec("recola", 0, modalities="speech", tables=("II",), **TINY))
    df = ex.run_grid(specs, data=STUBS, store=out, progress=False)
    return out, df


def test_a_dask_local_cluster_and_a_process_pool_give_the_in_process_numbers(tmp_path):
    pytest.importorskip("distributed")
    here = ex.run_grid(tiny_specs(), data=STUBS, progress=False)
    environ = dict(os.environ)
    dask = ex.run_grid(tiny_specs(), data=STUBS, store=tmp_path, scheduler="local:2", progress=False)
    assert dict(os.environ) == environ  # Dask's settings for its workers do not leak into this process
    assert len(here) == 4 and set(here.columns) >= set(ex.RESULT_COLUMNS)
    pd.testing.assert_frame_equal(numbers(here), numbers(dask))
    assert len(ex.Store(tmp_path).done()) == 2
    again = ex.run_grid(tiny_specs(), data=STUBS, store=tmp_path, progress=False)  # from the store
    pd.testing.assert_frame_equal(numbers(here), numbers(again))
    pool = ex.run_grid(tiny_specs(), data=STUBS, workers=2, progress=False)
    pd.testing.assert_frame_equal(numbers(here), numbers(pool))


def test_a_killed_reproduction_resumes_without_rerunning_finished_runs(tmp_path):
    out = tmp_path / "out"
    args = ["--quick", "--tables", "II", "--seeds", "2", "--epochs", "1", "--frames-per-epoch", "256",
            "--data", str(STUBS), "--out", str(out), "--quiet"]
    code = f"import sys; from cerlib.experiments import main_reproduce; sys.exit(main_reproduce({args!r}))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    runs = out / "runs"
    deadline = time.time() + 180
    while time.time() < deadline and not (runs.is_dir() and [p for p in runs.glob("*.json") if p.name[0] != "."]):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json") if not p.name.startswith(".")}
    assert 1 <= len(first) < 18, "the kill should land mid-grid"
    (runs / ".half.json.x.tmp").write_text('{"run_id": ')  # what a kill mid-write leaves
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json") if not p.name.startswith(".")}
    assert len(after) == 18 and len(ex.Store(out).records()) == 18
    assert all(after[name] == mtime for name, mtime in first.items()), "a finished run was run again"
    results = pd.read_csv(out / "results.csv")
    assert results["run_id"].nunique() == 18 and (out / "claims.md").is_file() and (out / "tables.md").is_file()


def test_grouped_runs_end_as_their_separate_runs(figure2_store):
    out, grouped = figure2_store
    specs = [ex.Spec("recola", 0, loss=loss, tables=("II",), **TINY) for loss in ("ccc", "mse")]
    assert [len(b) for b in runner.batches(execution.bind_data(specs, STUBS)[0])] == [2]
    alone = pd.concat([ex.run_grid([s], data=STUBS, progress=False) for s in specs])
    mine = grouped[grouped["run_id"].isin(alone["run_id"])]
    np.testing.assert_allclose(numbers(mine)[["ccc", "ccc_pp"]], numbers(alone)[["ccc", "ccc_pp"]], atol=1e-5)


def test_the_group_key_keeps_seeds_draws_and_schedules_apart():
    base = ex.Spec("recola", 0)
    for change in (dict(seed=1), dict(draw=1), dict(patience=5), dict(epochs=3), dict(lr=1e-3), dict(data_key="x")):
        assert base.group_key() != ex.Spec("recola", 0, **change).group_key(), change
    assert base.group_key() == ex.Spec("recola", 0, modalities="face", loss="mse").group_key()
    assert [len(b) for b in runner.batches([base, ex.Spec("recola", 0, seed=1)])] == [1, 1]


def test_run_ids_cover_the_schedule_the_draw_the_data_and_the_store_format(monkeypatch):
    a = ex.Spec("creativeit", 1, loss="mse", tables=("I",))
    assert a.run_id == ex.Spec("creativeit", 1, loss="mse", tables=("IV", "V")).run_id
    for change in (dict(seed=1), dict(epochs=99), dict(patience=3), dict(frames_per_epoch=10), dict(draw=2),
                   dict(data_key="abc"), dict(lr=1e-3)):
        assert ex.Spec("creativeit", 1, loss="mse", **change).run_id != a.run_id, change
    before = a.run_id
    monkeypatch.setattr("cerlib.experiments.grid.STORE_FORMAT", 99)
    assert ex.Spec("creativeit", 1, loss="mse").run_id != before
    grid = ex.paper_grid(folds={"creativeit": [0], "recola": [0]}, draws=(0, 1))
    assert len({s.run_id for s in grid}) == len(grid) == 56


def test_other_data_in_the_same_output_folder_is_never_taken_for_the_first(tmp_path):
    other = tmp_path / "other"
    shutil.copytree(STUBS / "recola", other / "recola")
    manifest = json.loads((other / "recola" / "stub_manifest.json").read_text())
    manifest["knobs"]["face_strength"] = 0.5  # another simulation, same draw
    (other / "recola" / "stub_manifest.json").write_text(json.dumps(manifest))
    first = execution.bind_data(tiny_specs(), STUBS)[0]
    second = execution.bind_data(tiny_specs(), other)[0]
    assert {s.run_id for s in first}.isdisjoint({s.run_id for s in second})
    with pytest.raises(ValueError, match="is one draw of the stubs \\(draw 0\\)"):
        execution.bind_data([ex.Spec("recola", 0, draw=1)], STUBS)


def test_postprocessing_is_fitted_on_the_validation_speakers_only(figure2_store):
    out, df = figure2_store
    run = df[(df["setting"] == "multimodal") & (df["loss"] == "ccc")]["run_id"].iloc[0]
    record = json.loads(ex.Store(out).path(run, ".json").read_text())
    fold = runner.load_fold(ex.Spec("recola", 0), str(STUBS / "recola"))[1]
    for task, pp in record["postprocess"].items():
        valid = np.concatenate([r.label(task) for r in fold.valid])
        test = np.concatenate([r.label(task) for r in fold.test])
        assert pp["mean_ref"] == pytest.approx(valid.mean(dtype=float), abs=1e-6)
        assert abs(pp["mean_ref"] - test.mean(dtype=float)) > 1e-3


def test_the_report_is_labelled_synthetic_and_warns_when_runs_did_not_converge(figure2_store, tmp_path):
    out, df = figure2_store
    meta = ex.write_report(df, out, command="test", quick=True)
    assert meta["convergence"]["runs"] == 4 and meta["data"] == "synthetic stubs"
    results = pd.read_csv(out / "results.csv")
    assert set(results["dataset"]) == {"recola-stub"} and results["synthetic"].all()
    assert {"draw", "epochs_run", "best_epoch"} <= set(results.columns)
    for name in ("tables.md", "claims.md"):
        text = (out / name).read_text()
        assert "synthetic" in text and "Not converged: these verdicts are not evidence" in text, name
    assert "recola-stub" in (out / "tables.md").read_text()
    assert "units" in pd.read_csv(out / "claims.csv").columns
    assert (out / "figure2.png").stat().st_size > 10_000 and (out / "table_II.png").is_file()
    fig = ex.figure2(out, df, dataset="recola")
    assert "synthetic stubs" in fig.axes[0].get_title() or "synthetic stubs" in fig._suptitle.get_text()


def test_the_store_writes_atomically_and_ignores_leftovers(tmp_path, monkeypatch):
    store = ex.Store(tmp_path)
    record = {"format": ex.STORE_FORMAT, "run_id": "r1", "spec": {}, "scores": {}}
    (store.runs / ".r0.json.abc.tmp").write_text("{half")  # a leftover of a killed write
    real = os.replace

    def crash(src, dst):
        if str(dst).endswith(".json"):
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr("cerlib._util.os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.write({"record": record, "checkpoint": b"weights"})
    assert store.done() == set() and not [p for p in store.runs.iterdir() if p.name.endswith(".json")]
    monkeypatch.setattr("cerlib._util.os.replace", real)
    store.write({"record": record, "checkpoint": b"weights"})
    assert store.done() == {"r1"} and store.path("r1", ".pt").read_bytes() == b"weights"


@pytest.mark.parametrize("damage, why", [
    (lambda s: s.path("r1", ".json").write_text('{"run_id": "r1", "sco'), "not a complete JSON record"),
    (lambda s: s.path("r1", ".pt").write_bytes(b"weig"), "truncated"),
    (lambda s: s.path("r1", ".pt").unlink(), "checkpoint \\(.pt\\) is missing"),
    (lambda s: s.path("r1", ".pt").write_bytes(b"WEIGHTS"), "digest differs"),
    (lambda s: s.path("r1", ".json").write_text(
        s.path("r1", ".json").read_text().replace(f'"format": {ex.STORE_FORMAT}', '"format": 99')), "format 99"),
    (lambda s: s.path("r1", ".json").write_text(s.path("r2", ".json").read_text()), "another run \\('r2'\\)"),
])
def test_damaged_runs_are_named_and_not_trusted(tmp_path, damage, why):
    store = ex.Store(tmp_path)
    for run in ("r1", "r2"):
        store.write({"record": {"format": ex.STORE_FORMAT, "run_id": run}, "checkpoint": b"weights"})
    damage(store)
    finished, damaged = store.scan()
    assert set(finished) == {"r2"}
    assert list(damaged) == ["r1.json"]
    assert re.search(why, damaged["r1.json"]), damaged


def test_a_damaged_run_is_rerun_with_a_message(figure2_store, tmp_path, capsys):
    out = tmp_path / "copy"
    shutil.copytree(figure2_store[0], out)
    spec = execution.bind_data(tiny_specs()[:1], STUBS)[0][0]
    ex.run_grid(tiny_specs()[:1], data=STUBS, store=out, progress=False)
    ex.Store(out).path(spec.run_id, ".pt").write_bytes(b"torn")
    capsys.readouterr()
    ex.run_grid(tiny_specs()[:1], data=STUBS, store=out, progress=False)
    assert f"{spec.run_id}.json: its checkpoint (.pt) is truncated" in capsys.readouterr().err
    assert spec.run_id in ex.Store(out).done()


def test_two_writers_into_one_store_are_refused_by_name(tmp_path):
    store = ex.Store(tmp_path)
    with store.lock():
        with pytest.raises(ex.StoreLocked, match=f"pid {os.getpid()}"):
            ex.run_grid(tiny_specs(), data=STUBS, store=tmp_path, progress=False)
    ex.run_grid(tiny_specs()[:1], data=STUBS, store=tmp_path, progress=False)  # free again


def test_a_nan_score_in_a_record_is_an_error_naming_the_run():
    rec = {"run_id": "r9", "spec": ex.Spec("recola", 0, tables=("II",)).fields(),
           "scores": {"activation": {"ccc": float("nan"), "ccc_pp": 0.1}}}
    with pytest.raises(ValueError, match="run r9: its activation score ccc is nan"):
        ex.results_frame([rec])


def test_clear_errors(tmp_path):
    with pytest.raises(SystemExit, match=r"unknown table\(s\) \['VII'\]"):
        ex.main_reproduce(["--tables", "I,VII"])
    with pytest.raises(SystemExit, match="no-such-folder: no such folder"):
        ex.main_reproduce(["--data", str(tmp_path / "no-such-folder"), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="inside the dataset folder"):
        ex.main_reproduce(["--quick", "--data", str(STUBS), "--out", str(STUBS / "recola" / "results")])
    assert not (STUBS / "recola" / "results").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit, match="is a file"):
        ex.main_reproduce(["--quick", "--data", str(STUBS), "--out", str(tmp_path / "file")])
    with pytest.raises(SystemExit, match="one draw of the stubs"):
        ex.main_reproduce(["--quick", "--data", str(STUBS), "--draws", "2", "--out", str(tmp_path / "o")])
    with pytest.raises(ValueError, match="unknown table"):
        ex.paper_grid(["VI"])
    with pytest.raises(ValueError, match="exactly one task"):
        ex.Spec("creativeit", 0, model="cer-stl")
    with pytest.raises(FileNotFoundError, match="needs \\['creativeit'\\]"):
        ex.run_grid([ex.Spec("creativeit", 0)], data={"recola": str(STUBS / "recola")}, progress=False)
    with pytest.raises(ValueError, match="workers must be a whole number >= 1"):
        ex.run_grid(tiny_specs(), data=STUBS, workers=-1, progress=False)
    for flag in ("--workers", "--dask-local", "--draws", "--epochs"):
        for bad in ("0", "-1"):
            with pytest.raises(SystemExit):
                ex.main_reproduce([flag, bad])
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="needs N >= 1 workers"):
        ex.run_grid(tiny_specs(), data=STUBS, scheduler="local:0", progress=False)
    with pytest.raises(SystemExit, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        ex.main_reproduce(["--quick", "--tables", "II", "--scheduler", "tcp://127.0.0.1:9", "--data", str(STUBS),
                           "--out", str(tmp_path / "o"), "--quiet", "--epochs", "1"])


def test_a_folder_of_real_data_is_draw_zero_and_keyed_on_its_files(tmp_path):
    real = tmp_path / "recola"
    shutil.copytree(STUBS / "recola", real)
    (real / "stub_manifest.json").unlink()
    assert not sources.is_synthetic(real)
    key = sources.data_key(real)
    assert sources.resolve(real, draws=[0]) == {0: {"recola": str(real)}}
    next(p for p in real.rglob("*.csv")).write_text("changed")
    assert sources.data_key(real) != key
    assert store_module.STORE_FORMAT == ex.STORE_FORMAT


def test_local_workers_that_cannot_start_say_what_to_do_in_one_line(monkeypatch):
    """A script without a __main__ guard makes Dask's spawned workers fail ("Nanny failed to start",
    measured by hand: 87 s and a screen of tracebacks from the workers); the grid says what to do."""
    distributed = pytest.importorskip("distributed")

    def nanny_fails(*args, **kwargs):
        raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(distributed, "LocalCluster", nanny_fails)
    with pytest.raises(ex.SchedulerError, match='could not start 1 local Dask workers .*if __name__ == "__main__"'):
        ex.run_grid(tiny_specs(), data=STUBS, scheduler="local:1", progress=False)


def test_stored_files_get_the_permissions_open_gives(tmp_path):
    """Catches: atomic_write's temporary file keeping mkstemp's 0600, which hid results from other users."""
    store = ex.Store(tmp_path / "out")
    store.write({"record": {"format": ex.STORE_FORMAT, "run_id": "r1"}, "checkpoint": b"weights"})
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    want = plain.stat().st_mode & 0o777
    assert {p.stat().st_mode & 0o777 for p in store.runs.glob("r1.*")} == {want}
