"""The explorer and the loss playground, driven from Python as their buttons would drive them.

Outside a browser a widget's observers run synchronously when a value is set,
so these tests set values, press Train through the same method the button
calls, and check what the panel stores: the PNGs of the curve and the trace,
the table, the trained models.
"""
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def creativeit():
    from cerlib import load_corpus

    return load_corpus(ROOT / "data_stubs" / "creativeit", progress=False)


@pytest.fixture(scope="module")
def recola():
    from cerlib import load_corpus

    return load_corpus(ROOT / "data_stubs" / "recola", progress=False)


def small(corpus, **kw):
    from cerlib.widgets import Explorer

    kw.setdefault("epochs", 2)
    return Explorer(corpus, frames_per_epoch=512, device="cpu", **kw)


def test_train_updates_the_curve_the_trace_and_the_table(creativeit):
    ex = small(creativeit)
    curve, trace, table = ex.curve.value, ex.trace.value, ex.table.value
    assert bytes(trace).startswith(b"\x89PNG") and not ex.runs  # the reference is drawn before any run
    ex.train(block=True)
    assert bytes(ex.curve.value).startswith(b"\x89PNG") and ex.curve.value != curve
    assert ex.trace.value != trace and ex.table.value != table
    assert [row["epoch"] for row in ex.live] == [1, 2]  # redrawn after each epoch
    df = ex.results()
    assert len(df) == 1 and df.loc[0, "epochs_run"] == 2 and not df.loc[0, "stopped"]
    assert (df.loc[0, "setting"], df.loc[0, "model"], df.loc[0, "paper_table"]) == ("multimodal", "CER-MTL", "I")
    assert df.loc[0, "paper_activation"] == 0.38
    assert all(np.isfinite(df.loc[0, f"ccc_{t}"]) for t in creativeit.tasks)
    assert "0.38" in ex.table.value
    run = ex.runs[0]
    assert np.isfinite(run["prediction"]).all() and run["prediction"].shape == (1200, 3)

    overlaid = ex.trace.value  # a second run overlays the first; without overlay, only the last shows
    ex.controls["loss"].value = "mse"
    ex.train(block=True)
    assert ex.results()["loss"].tolist() == ["ccc", "mse"] and ex.trace.value != overlaid
    with_both = ex.trace.value
    ex.controls["overlay"].value = False
    assert ex.trace.value != with_both


def test_stop_ends_the_run_within_one_epoch_and_keeps_the_best_model(creativeit):
    from cerlib.training import predict

    ex = small(creativeit, epochs=100)
    ex.train()
    assert ex.controls["stop"].disabled is False and ex.controls["train"].disabled is True
    deadline = time.monotonic() + 120
    while len(ex.live) < 2 and ex.running and time.monotonic() < deadline:
        time.sleep(0.02)
    ex.stop()
    seen = len(ex.live)
    ex.wait(timeout=120)
    assert not ex.running and 2 <= seen < 100
    run = ex.runs[-1]
    assert run["stopped"] and run["epochs_run"] <= seen + 1
    history, model = run["histories"][0], run["models"][0]
    assert history.interrupted and 1 <= history.best_epoch <= run["epochs_run"]
    rec = ex._trace_recording()
    np.testing.assert_allclose(run["prediction"], predict(model, rec), atol=1e-6)  # the kept (best) weights
    assert ex.controls["train"].disabled is False and ex.controls["stop"].disabled is True
    ex.controls["epochs"].value = 1
    ex.train(block=True)  # a stopped explorer trains again
    assert len(ex.runs) == 2 and not ex.runs[-1]["stopped"]


def test_a_changed_n_retrains_with_the_new_framing(creativeit):
    ex = small(creativeit, epochs=1)
    assert "3.33 s" in ex.extent.value  # 20 frames every 10 at 60 fps
    ex.controls["n_frames"].value = 40
    ex.controls["stride"].value = 5
    assert "200 frames" in ex.extent.value and "3.33 s" in ex.extent.value
    ex.controls["stride"].value = 10
    assert "6.67 s" in ex.extent.value
    ex.train(block=True)
    model = ex.runs[-1]["models"][0]
    assert model.n_frames == 40 and model.preprocessing.n_frames == 40 and model.preprocessing.stride == 10
    assert ex.runs[-1]["paper_table"] == "IV" and ex.runs[-1]["paper_ccc"]["activation"] == 0.42
    ex.controls["n_frames"].value = 24
    ex.controls["stride"].value = 3
    ex.train(block=True)
    model = ex.runs[-1]["models"][0]
    assert (model.n_frames, model.preprocessing.n_frames, model.preprocessing.stride) == (24, 24, 3)
    assert ex.runs[-1]["paper_table"] is None  # the paper has no N = 24 cell
    assert ex.results()["n_frames"].tolist() == [40, 24]


def test_stl_trains_one_network_per_task_with_the_chosen_modality_and_normalisation(creativeit):
    ex = small(creativeit, epochs=1)
    ex.controls["mtl"].value = False
    ex.controls["modalities"].value = "speech"
    ex.controls["normalise"].value = "speaker"
    ex.train(block=True)
    run = ex.runs[-1]
    assert [m.tasks for m in run["models"]] == [("activation",), ("valence",), ("dominance",)]
    assert all(m.n_features == 39 and m.preprocessing.modalities == ("speech",) for m in run["models"])
    assert all(m.preprocessing.normalise == "speaker" and m.preprocessing.normaliser is None for m in run["models"])
    assert (run["setting"], run["model"], run["paper_table"]) == ("speech", "CER-STL", None)
    assert sorted(run["test_ccc"]) == ["activation", "dominance", "valence"]


def test_recola_offers_face_and_finds_its_paper_cells(recola):
    ex = small(recola, epochs=1)
    options = dict(ex.controls["modalities"].options)
    assert options == {"speech + face": "multimodal", "speech": "speech", "face": "face"}
    ex.controls["modalities"].value = "face"
    assert ex.config()["setting"] == "face" and ex.config()["modalities"] == ("face",)
    ex.controls["loss"].value = "pcc"
    ex.train(block=True)
    assert ex.runs[-1]["paper_table"] == "II" and ex.runs[-1]["paper_ccc"] == {"activation": 0.09, "valence": 0.18}


def test_a_failed_run_is_reported_and_re_raised(creativeit):
    ex = small(creativeit, epochs=1)
    ex.batch_size = 1  # fit refuses a batch of one
    with pytest.raises(RuntimeError, match="batch_size"):
        ex.train(block=True)
    assert "Training failed" in ex.status.value and not ex.runs and ex.controls["train"].disabled is False


def test_the_fit_hooks_the_explorer_relies_on():
    from cerlib import CERMTL
    from cerlib.training import Example, fit, predict, seed_everything

    rng = np.random.default_rng(0)
    xs = [rng.normal(loc=i, size=(300, 4)).astype("float32") for i in range(3)]
    pairs = [Example(x, x[:, :1]) for x in xs]
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=["activation"])
    seen = []
    history = fit(model, pairs, pairs[:1], epochs=10, lr=1e-3, progress=False, device="cpu",
                  normalise="recording", on_epoch=lambda row, m: seen.append((row["epoch"], m)) or len(seen) == 3)
    assert [e for e, _ in seen] == [1, 2, 3] and all(m is model for _, m in seen)
    assert len(history.epochs) == 3 and history.interrupted
    assert model.preprocessing.normaliser is None and model.preprocessing.normalise == "recording"
    shifted = predict(model, xs[0] + 100.0)  # z-scored with its own statistics: a shift changes nothing
    np.testing.assert_allclose(shifted, predict(model, xs[0]), atol=1e-4)
    with pytest.raises(ValueError, match="normalise"):
        fit(model, pairs, epochs=1, normalise="per-frame", progress=False)


def test_the_loss_playground_shows_what_each_loss_ignores():
    from cerlib.widgets import LossPlayground

    pg = LossPlayground()
    v = pg.values
    assert v["mse"] == 0 and v["ccc"] == pytest.approx(1, abs=1e-6) and v["pcc"] == pytest.approx(1, abs=1e-6)
    before = pg.image.value
    pg.controls["offset"].value = 1.0
    v = pg.values
    assert pg.image.value != before
    assert v["mse"] == pytest.approx(1.0) and v["dmse/doffset"] == pytest.approx(2.0)  # d(offset^2)/d offset
    assert v["pcc"] == pytest.approx(1, abs=1e-6) and v["ccc"] < 0.9 and v["dccc/doffset"] > 0
    pg.controls["offset"].value = 0.0
    pg.controls["scale"].value = 0.5
    v = pg.values
    assert v["pcc"] == pytest.approx(1, abs=1e-6) and v["dpcc/dscale"] == pytest.approx(0, abs=1e-6)
    assert v["ccc"] < 1 and v["dccc/dscale"] < 0  # CCC wants the scale back up
    pg.controls["scale"].value = 0.0  # a flat prediction: correlation 0, finite gradients
    assert pg.values["pcc"] == 0 and np.isfinite(list(pg.values.values())).all()
    pg.controls["scale"].value = 1.0
    pg.controls["lag"].value = 30
    assert pg.values["ccc"] < 0.99 and pg.prediction()[0] == pg.reference[0]  # held edge, no wrap-around


def test_the_playground_gradients_match_finite_differences():
    from cerlib.widgets import LossPlayground

    pg = LossPlayground(scale=0.7, offset=0.3, noise=0.5, lag=5)
    h = 1e-5
    for name in ("mse", "pcc", "ccc"):
        sign = 1 if name == "mse" else -1  # values are metrics; gradients are of the losses

        def loss(scale, offset):
            pg.controls["scale"].value, pg.controls["offset"].value = scale, offset
            return sign * pg.values[name]

        numeric = (loss(0.7 + h, 0.3) - loss(0.7 - h, 0.3)) / (2 * h)
        pg.controls["scale"].value, pg.controls["offset"].value = 0.7, 0.3
        assert pg.values[f"d{name}/dscale"] == pytest.approx(numeric, rel=1e-3, abs=1e-6)



@pytest.mark.parametrize("kw, match", [
    ({"n_frames": 100}, r"n_frames must be a whole number in 4\.\.60, got 100"),
    ({"n_frames": -2}, r"n_frames must be a whole number in 4\.\.60, got -2"),
    ({"n_frames": 21}, r"n_frames must be even .* got 21; allowed: 4, 6, \.\.\., 60"),
    ({"stride": 0}, r"stride must be a whole number in 1\.\.20, got 0"),
    ({"epochs": 0}, r"epochs must be a whole number in 1\.\.100, got 0"),
    ({"lr": 0}, r"lr must be a learning rate in 1e-05\.\.0\.01 .* got 0"),
    ({"lr": 1}, r"lr must be a learning rate in 1e-05\.\.0\.01 .* got 1"),
    ({"loss": "huber"}, r"loss must be one of \['ccc', 'pcc', 'mse'\], got 'huber'"),
    ({"fold": 9}, r"fold must be a whole number in 0\.\.4, got 9"),
    ({"mtl": "yes"}, r"mtl must be one of \[True, False\], got 'yes'"),
    ({"modalities": "face"}, r"modalities must be one of \['multimodal', 'speech', 'motion'\], got 'face'"),
    ({"normalise": "recording"}, r"normalise must be one of \['global', 'speaker'\], got 'recording'"),
    ({"frames_per_epoch": 0}, r"frames_per_epoch must be a whole number in >= 2, got 0"),
])
def test_an_argument_outside_its_widget_is_refused_by_name_at_construction(creativeit, kw, match):
    """Catches: sliders clamping N=100 to 60 (and the like) without a word, an odd N failing only at Train."""
    from cerlib.widgets import Explorer

    with pytest.raises(ValueError, match=rf"^Explorer: {match}"):
        Explorer(creativeit, device="cpu", **kw)


def test_the_checked_ranges_are_the_sliders_ranges(creativeit):
    from cerlib.widgets import EXPLORER_RANGES

    ex = small(creativeit, n_frames=60, stride=20, epochs=100, lr=1e-2)   # the edges are allowed and kept
    c = ex.controls
    for name in ("n_frames", "stride", "epochs"):
        assert (c[name].min, c[name].max) == EXPLORER_RANGES[name]
        assert c[name].value == EXPLORER_RANGES[name][1]
    assert (10.0 ** c["lr"].min, 10.0 ** c["lr"].max) == pytest.approx(EXPLORER_RANGES["lr"])
    assert c["lr"].value == pytest.approx(1e-2)


def test_the_explorer_finds_its_default_corpus_wherever_cerlib_is_installed(monkeypatch, tmp_path):
    """Not a path built from the checkout: the example corpus, or $CERLIB_DATA as the notebooks read it."""
    from cerlib import examples
    from cerlib.widgets import default_corpus_path

    monkeypatch.delenv("CERLIB_DATA", raising=False)
    assert default_corpus_path() == examples.example_data("creativeit")
    # an installed cerlib (no checkout beside it) finds the examples in its cache, and so must the explorer
    monkeypatch.setattr(examples, "example_data", lambda name="creativeit": tmp_path / "cache" / name)
    assert default_corpus_path() == tmp_path / "cache" / "creativeit"
    monkeypatch.setenv("CERLIB_DATA", "/data/cer")
    assert default_corpus_path() == Path("/data/cer/creativeit")
