"""fit / predict / evaluate / save / load end to end on small synthetic data (CPU, seconds).

Several tests here exist to catch one specific mistake; the mistake is named
in the test's docstring.
"""
import copy
import subprocess
import sys

import numpy as np
import pytest
import torch

from cerlib import CERMTL, PureCNN, ccc, feature_images, fit, predict
from cerlib.features import Normaliser
from cerlib.losses import ccc_loss
from cerlib.models import layer_table
from cerlib.engine import Bank
from cerlib.framing import Framing
from cerlib.training import (CheckpointError, EarlyStopping, Example, evaluate, load_model, pick_device,
                             save_model, seed_everything)


def make(seed, T=2000, P=4):
    """Smooth random features; targets are smooth functions of them."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(T + 200, P))
    k = np.hanning(61)
    k /= k.sum()
    x = np.stack([np.convolve(raw[:, j], k, mode="same") for j in range(P)], 1)[100:-100] * 5
    y = np.stack([x[:, 0] + 0.5 * x[:, 1], x[:, 2] - x[:, 3]], 1)
    return Example((x + 0.3 * rng.normal(size=x.shape)).astype("float32"), y.astype("float32"))


class Rec:
    """A minimal Recording: what training reads of one."""

    def __init__(self, name, speaker, x, y, tasks=("a", "b"), fps=60.0):
        self.name, self.speaker, self.fps, self.tasks = name, speaker, fps, tuple(tasks)
        self.features, self.labels = {"speech": x}, y
        self.feature_names = {"speech": tuple(f"f{j}" for j in range(x.shape[1]))}

    def _resolve(self, modalities):
        return ("speech",)

    def inputs(self, modalities=None):
        return self.features["speech"]


@pytest.fixture(scope="module")
def trained():
    train, valid, test = [make(s) for s in range(3)], make(10), make(11)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    history = fit(model, train, valid, epochs=25, lr=1e-2, progress=False, device="cpu")
    return model, history, test


def test_learns_a_synthetic_target(trained):
    model, history, test = trained
    y_hat = predict(model, test.features)
    assert y_hat.shape == test.labels.shape and y_hat.dtype == np.float32
    assert (ccc(test.labels, y_hat) > 0.8).all()  # measured 0.94 and 0.94 on a held-out recording
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]


def test_best_weights_are_restored_when_the_best_epoch_is_not_the_last():
    """Catches: fit returning the last weights instead of the best."""
    x, y = make(0, T=600)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    # validating against the negated target: the better it learns, the worse it scores
    history = fit(model, Example(x, y), Example(x, -y), epochs=50, patience=3, lr=3e-3, progress=False, device="cpu")
    assert history.stopped_early and history.best_epoch < len(history.epochs)
    assert len(history.epochs) - history.best_epoch == 3  # patience 3, as Keras counts
    assert history.best["valid_mean_ccc"] == max(r["valid_mean_ccc"] for r in history.epochs)
    assert history.best["valid_mean_ccc"] > history.epochs[-1]["valid_mean_ccc"] + 1e-3
    assert evaluate(model, Example(x, -y))["mean_ccc"] == pytest.approx(history.best["valid_mean_ccc"], abs=1e-5)


def test_normaliser_comes_from_training_data_only(trained):
    model, _, _ = trained
    train_x = np.concatenate([make(s).features for s in range(3)])
    norm = model.preprocessing.normaliser
    np.testing.assert_allclose(norm.mean, train_x.mean(0), rtol=1e-4, atol=1e-5)
    assert model.preprocessing.normalise == "global"


def test_seed_sets_the_batch_order_and_nothing_else_does():
    """Catches: fit ignoring its ``seed`` (or drawing from the global generator)."""
    data = [make(0, T=600)]
    seed_everything(3)
    start = CERMTL(n_features=4, tasks=("a", "b"))
    runs = {}
    for name, seed, global_seed in [("a", 5, 1), ("b", 5, 2), ("c", 6, 1)]:
        torch.manual_seed(global_seed)
        np.random.seed(global_seed)
        model = copy.deepcopy(start)
        fit(model, data, epochs=2, lr=1e-3, progress=False, device="cpu", seed=seed, frames_per_epoch=300)
        runs[name] = predict(model, data[0].features)
    np.testing.assert_array_equal(runs["a"], runs["b"])  # the global generators do not matter
    assert np.abs(runs["a"] - runs["c"]).max() > 1e-6   # the seed does


def _manual_predict(model, x, stride):
    pre = model.preprocessing
    images = feature_images(pre.normaliser.transform(x), model.n_frames, stride)
    with torch.no_grad():
        return model(torch.as_tensor(np.ascontiguousarray(images))).numpy()


def test_predict_prepares_data_exactly_as_training_did():
    """Catches: predict ignoring the training normaliser, or the trained stride."""
    ex = make(0, T=500)
    shifted = Example(ex.features * 3 + 50, ex.labels)  # a normaliser that matters
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    fit(model, shifted, epochs=1, lr=1e-3, stride=3, progress=False, device="cpu")
    assert model.preprocessing.stride == 3
    np.testing.assert_allclose(predict(model, shifted.features), _manual_predict(model, shifted.features, 3),
                               rtol=1e-5, atol=1e-6)
    assert np.abs(predict(model, shifted.features) - _manual_predict(model, shifted.features, 10)).max() > 1e-4


def test_bank_pairs_each_image_with_its_own_frames_label():
    """Catches: labels shifted against the images (e.g. by 3 frames) when batches are drawn."""
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(n, 3)).astype("float32") for n in (40, 55)]
    ys = [rng.normal(size=(n, 2)).astype("float32") for n in (40, 55)]
    bank = Bank(xs, ys, Framing(4, 5), "cpu")
    index = torch.arange(len(bank))
    images, labels = bank.images(index), bank.labels[index]
    x, y = np.concatenate(xs), np.concatenate(ys)
    np.testing.assert_array_equal(images[:, :, 4 // 2 - 1].numpy(), x)  # frame l is column N/2 - 1
    np.testing.assert_array_equal(labels.numpy(), y)
    np.testing.assert_array_equal(images[40].numpy(), feature_images(xs[1], 4, 5)[0])  # no bleed across recordings


def test_labels_line_up_with_images_in_training():
    """Catches the same shift behaviourally: the target is the current frame of white noise."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 2)).astype("float32")
    ex = Example(x, x[:, :1].copy())
    seed_everything(0)
    model = CERMTL(n_features=2, tasks=("a",))
    fit(model, ex, epochs=6, lr=1e-2, progress=False, device="cpu", stride=10)
    assert ccc(ex.labels[:, 0], predict(model, x)[:, 0]) > 0.15  # measured 0.32; shifted 3 frames it is ~0 (stride 10)


def test_stl_trains_on_its_own_task_column():
    """Catches: a CER-STL training on the first label column instead of its task's."""
    ex = make(0, T=1500)
    rec = Rec("r1", "S1", ex.features, ex.labels)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=["b"])
    fit(model, rec, [], epochs=8, lr=1e-2, progress=False, device="cpu")  # an empty validation list: no early stopping
    y_hat = predict(model, rec)
    assert y_hat.shape == (1500, 1)
    assert ccc(ex.labels[:, 1], y_hat[:, 0]) > 0.6 and ccc(ex.labels[:, 1], y_hat[:, 0]) > ccc(ex.labels[:, 0], y_hat[:, 0]) + 0.3
    both = predict(model, (rec, rec))  # a tuple of recordings is two recordings
    assert len(both) == 2 and both[0].shape == (1500, 1)
    with pytest.raises(ValueError, match="tasks"):
        fit(CERMTL(n_features=4, tasks=["c"]), rec, epochs=1, progress=False)


def test_one_input_type():
    ex = make(0, T=300)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    fit(model, (ex, ex), epochs=1, progress=False, device="cpu")  # a tuple of Examples is two Examples
    with pytest.raises(TypeError, match=r"Example\(features, labels\)"):
        fit(model, ((ex.features, ex.labels), (ex.features, ex.labels)), epochs=1, progress=False)
    with pytest.raises(TypeError, match="Example"):
        fit(model, {"x": ex.features}, epochs=1, progress=False)


def test_pure_cnn_trains_too():
    model = PureCNN(n_features=4, tasks=("a", "b"), channels=8)
    history = fit(model, make(0, T=400), epochs=1, progress=False, device="cpu")
    assert np.isfinite(history.epochs[0]["train_loss"])


def test_clear_errors():
    x, y = make(0, T=200)
    with pytest.raises(ValueError, match="n_features=63"):
        fit(CERMTL(), Example(x, y), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"labels must be \(T, n_tasks\)"):
        fit(CERMTL(n_features=4), Example(x, y), epochs=1, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(CERMTL(n_features=4, tasks=("a", "b")), Example(x, y), batch_size=1, progress=False)
    with pytest.raises(ValueError, match="empty"):
        fit(CERMTL(n_features=4, tasks=("a", "b")), [], progress=False)
    with pytest.raises(ValueError, match="normalise"):
        fit(CERMTL(n_features=4, tasks=("a", "b")), Example(x, y), normalise="per-frame", progress=False)


def test_whole_number_framing_arguments():
    """stride=10.0 (a slider's float) works; 2.5 is refused before any work; N is the model's alone."""
    ex = make(0, T=300)
    model = CERMTL(n_features=4, n_frames=20.0, tasks=("a", "b"))
    fit(model, ex, epochs=1, stride=10.0, progress=False, device="cpu")
    assert model.preprocessing.framing == Framing(20, 10) and isinstance(model.preprocessing.stride, int)
    for bad in (dict(stride=2.5), dict(stride="10"), dict(stride=True)):
        with pytest.raises(ValueError, match="whole number"):
            fit(model, ex, epochs=1, progress=False, **bad)
    with pytest.raises(TypeError, match="n_frames"):     # one N: the model's, never a second one beside it
        fit(model, ex, epochs=1, n_frames=20, progress=False)


def test_nan_or_inf_in_labels_or_features_is_refused_with_where():
    x, y = make(0, T=300)
    y = y.copy()
    y[17, 1] = np.nan
    model = CERMTL(n_features=4, tasks=("a", "b"))
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError, match=r"item 0: labels .*frame 17, column 1 \(b\)"):
        fit(model, Example(x, y), epochs=1, progress=False)
    x2 = x.copy()
    x2[5, 2] = np.inf
    with pytest.raises(ValueError, match="features .*frame 5"):
        fit(model, Example(x2, make(0, T=300).labels), epochs=1, progress=False)
    rec = Rec("bad-rec", "S", x, y)
    with pytest.raises(ValueError, match="recording 'bad-rec'"):
        fit(model, rec, epochs=1, progress=False)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_a_diverging_run_never_returns_a_nan_model():
    ex = make(0, T=600)
    calls = {"n": 0}

    def sometimes_nan(y_hat, y):
        calls["n"] += 1
        out = ((y_hat - y) ** 2).mean(0)
        return out * float("nan") if calls["n"] > 4 else out

    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    with pytest.raises(FloatingPointError, match="diverged"):
        fit(model, ex, ex, loss=sometimes_nan, epochs=5, lr=1e-3, progress=False, device="cpu")
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert np.isfinite(predict(model, ex.features)).all()


def test_early_stopping_counts_patience_after_the_best():
    stop = EarlyStopping(patience=0)
    model = torch.nn.Linear(1, 1)
    assert [stop.update(s, e, model) for e, s in enumerate([0.1, 0.2, 0.3], 1)] == [False] * 3
    assert stop.update(0.3, 4, model) is True and stop.best_epoch == 3


def test_patience_zero_trains_while_validation_improves():
    """Catches: patience=0 stopping after epoch 1 although validation improves."""
    ex = make(0, T=600)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    history = fit(model, ex, ex, epochs=6, patience=0, lr=3e-3, progress=False, device="cpu")
    scores = [r["valid_mean_ccc"] for r in history.epochs]
    assert len(scores) > 1  # measured: validation improves for several epochs here
    assert all(b > a for a, b in zip(scores[:-2], scores[1:-1]))  # it stopped at the first non-improvement
    assert len(scores) == 6 or scores[-1] <= max(scores[:-1])


def test_interrupt_keeps_the_best_model(monkeypatch):
    x, y = make(0, T=600)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    calls = {"n": 0}
    real_step = torch.optim.Adam.step

    def step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 8:  # during epoch 3 (three batches an epoch), after two validated epochs
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    ex, flipped = Example(x, y), Example(x, -y)  # validation gets worse as training goes on: epoch 1 is best
    history = fit(model, ex, flipped, epochs=5, lr=3e-3, progress=False, device="cpu")
    assert history.interrupted and len(history.epochs) == 2 and history.best_epoch == 1
    assert evaluate(model, flipped)["mean_ccc"] == pytest.approx(history.best["valid_mean_ccc"], abs=1e-5)
    assert not model.training


def test_interrupt_during_the_best_weights_copy_leaves_a_consistent_history(monkeypatch):
    x, y = make(0, T=600)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    ex = Example(x, y)
    real_clone = torch.Tensor.clone
    state = {"epoch2": False, "n": 0}

    def on_epoch(row, _model):
        state["epoch2"] = row["epoch"] >= 1

    def clone(self, *a, **k):
        if state["epoch2"]:
            state["n"] += 1
            if state["n"] == 3:  # halfway through copying epoch 2's weights
                raise KeyboardInterrupt
        return real_clone(self, *a, **k)

    monkeypatch.setattr(torch.Tensor, "clone", clone)
    history = fit(model, ex, ex, epochs=5, lr=3e-3, progress=False, device="cpu", on_epoch=on_epoch)
    monkeypatch.setattr(torch.Tensor, "clone", real_clone)
    assert history.interrupted and history.best_epoch == 1
    assert evaluate(model, ex)["mean_ccc"] == pytest.approx(history.best["valid_mean_ccc"], abs=1e-5)


def test_on_epoch_can_stop_training():
    ex = make(0, T=400)
    seen = []
    history = fit(CERMTL(n_features=4, tasks=("a", "b")), ex, ex, epochs=10, progress=False, device="cpu",
                  on_epoch=lambda row, model: seen.append(row["epoch"]) or row["epoch"] == 3)
    assert seen == [1, 2, 3] and len(history.epochs) == 3 and history.interrupted


def test_speaker_normalisation_removes_a_speaker_constant_offset():
    ex = make(0, T=800)
    a = Rec("a1", "A", ex.features, ex.labels)
    b = Rec("b1", "B", ex.features + np.array([40, -3, 7, 0], "float32"), ex.labels)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    fit(model, [a], epochs=1, progress=False, device="cpu", normalise="speaker")
    assert model.preprocessing.normalise == "speaker"
    np.testing.assert_allclose(predict(model, a), predict(model, b), atol=1e-4)
    seed_everything(0)
    glob = CERMTL(n_features=4, tasks=("a", "b"))
    fit(glob, [a], epochs=1, progress=False, device="cpu", normalise="global")
    assert np.abs(predict(glob, a) - predict(glob, b)).max() > 1e-2


def test_predict_checks_frame_rate_and_feature_names(trained):
    ex = make(0, T=300)
    rec = Rec("r", "S", ex.features, ex.labels)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    fit(model, rec, epochs=1, progress=False, device="cpu")
    assert model.preprocessing.fps == 60.0 and model.preprocessing.feature_names == ("f0", "f1", "f2", "f3")
    with pytest.raises(ValueError, match="25 fps but the model was trained at 60 fps"):
        predict(model, Rec("r25", "S", ex.features, ex.labels, fps=25.0))
    renamed = Rec("r2", "S", ex.features, ex.labels)
    renamed.feature_names = {"speech": ("f0", "f1", "zz", "f3")}
    with pytest.raises(ValueError, match=r"column 2: 'zz' where the model has 'f2'"):
        predict(model, renamed)


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    assert pick_device().type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            pick_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(RuntimeError, match="MPS"):
            pick_device("mps")


def test_predict_and_evaluate_move_the_model_to_the_device_asked(trained, monkeypatch):
    """Catches: predict(device=...) moving the inputs but not the model (a GPU-trained model on the CPU)."""
    model = copy.deepcopy(trained[0])
    moved = []
    real_to = torch.nn.Module.to

    def to(self, *a, **k):
        moved.append(a[0] if a else k.get("device"))
        return real_to(self, *a, **k)

    monkeypatch.setattr(torch.nn.Module, "to", to)
    predict(model, trained[2].features, device="cpu")
    evaluate(model, trained[2], device="cpu")
    assert [torch.device(d).type for d in moved] == ["cpu", "cpu"]


def test_layer_table_restores_the_mode_when_its_probe_fails():
    model = CERMTL(n_features=4, tasks=("a",))
    model.train()
    model.n_features = 5  # the probe's zeros no longer fit the convolution
    with pytest.raises(Exception):
        layer_table(model)
    assert model.training


def test_ccc_loss_in_half_precision_is_finite():
    y = torch.zeros(64, dtype=torch.float16)
    out = ccc_loss(y + 1, y)
    assert torch.isfinite(out) and out.item() == pytest.approx(1.0)
    y_hat = torch.linspace(-1, 1, 64, dtype=torch.float16, requires_grad=True)
    ccc_loss(y_hat, torch.full((64,), 0.5, dtype=torch.float16)).backward()
    assert torch.isfinite(y_hat.grad).all()


def test_a_constant_training_column_gets_unit_scale():
    train = np.c_[np.random.default_rng(0).normal(size=(50, 1)), np.zeros((50, 1))]
    norm = Normaliser.fit(train)
    assert norm.std[1] == 1.0
    assert norm.transform(np.array([[0.0, 3.0]]))[0, 1] == pytest.approx(3.0)


# --------------------------------------------------------------------------- checkpoints
def test_save_and_load_give_the_same_predictions_in_a_new_process(tmp_path):
    ex = make(0, T=500)
    rec = Rec("r", "S", ex.features * 2 + 9, ex.labels)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"), gru_over="filters", batch_norm=True)
    fit(model, rec, epochs=2, lr=1e-2, stride=4, progress=False, device="cpu")
    expected = predict(model, rec.inputs())
    np.save(tmp_path / "x.npy", rec.inputs())
    save_model(model, tmp_path / "m.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "x.npy"]  # no temporary file left
    code = ("import numpy as np, sys; from cerlib.training import load_model, predict; "
            "m = load_model(sys.argv[1], device='cpu'); "
            "print(m.preprocessing.stride, m.preprocessing.fps, m.preprocessing.normalise); "
            "np.save(sys.argv[2], predict(m, np.load(sys.argv[3])))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.pt"), str(tmp_path / "y.npy"),
                          str(tmp_path / "x.npy")], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["4", "60.0", "global"]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_a_crafted_checkpoint_does_not_run_code(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w').write('x')",))

    path = tmp_path / "evil.pt"
    torch.save({"kind": "cerlib-model", "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a model at all", "truncated", "foreign", "newer", "missing-keys"])
def test_bad_checkpoints_give_one_clear_error(tmp_path, content):
    path = tmp_path / "m.pt"
    good = tmp_path / "good.pt"
    save_model(CERMTL(n_features=4, tasks=("a",)), good)
    if content == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif content == "foreign":
        torch.save({"weights": torch.zeros(3)}, path)
    elif content == "newer":
        payload = torch.load(good, weights_only=True)
        payload["format"] = 99
        torch.save(payload, path)
    elif content == "missing-keys":
        payload = torch.load(good, weights_only=True)
        del payload["state"]
        torch.save(payload, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"m\.pt"):
        load_model(path)


def test_save_is_atomic_and_refuses_a_missing_folder(tmp_path, monkeypatch):
    model = CERMTL(n_features=4, tasks=("a",))
    save_model(model, tmp_path / "m.pt")
    before = (tmp_path / "m.pt").read_bytes()

    def broken_save(obj, f, *a, **k):
        f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, tmp_path / "m.pt")
    assert (tmp_path / "m.pt").read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.pt"]
    monkeypatch.undo()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_model(model, tmp_path / "nope" / "m.pt")


@pytest.mark.parametrize("value, match", [(0, "frames_per_epoch must be None"),
                                          (-5, "frames_per_epoch must be None"),
                                          (1, "frames_per_epoch must be None"),
                                          (2.5, "frames_per_epoch must be a whole")])
def test_frames_per_epoch_that_trains_nothing_is_refused(value, match):
    """Catches: frames_per_epoch=0 training nothing and reporting a loss of 0.0 every epoch."""
    model = CERMTL(n_features=4, tasks=("a", "b"))
    with pytest.raises(ValueError, match=match):
        fit(model, make(0, T=300), epochs=1, frames_per_epoch=value, progress=False, device="cpu")
    history = fit(model, make(0, T=300), epochs=1, frames_per_epoch=64, lr=1e-3, progress=False, device="cpu")
    assert history.epochs[0]["train_loss"] > 0


@pytest.mark.parametrize("kw, match", [({"lr": 0}, "lr must be a positive"), ({"lr": -1e-3}, "lr must be a positive"),
                                       ({"stride": 0}, "stride must be"), ({"epochs": 0}, "epochs >= 1")])
def test_fit_arguments_that_cannot_train_are_refused_by_name(kw, match):
    with pytest.raises(ValueError, match=match):
        fit(CERMTL(n_features=4, tasks=("a", "b")), make(0, T=300), progress=False, device="cpu", **kw)


def _tamper(payload, how):
    pre = payload["preprocessing"]
    if how == "n_frames":
        pre["n_frames"] = 24
        return r"preprocessing\.n_frames is 24 but the model was built for n_frames=20"
    if how == "nan-weights":
        name = next(k for k, v in payload["state"].items() if v.is_floating_point() and v.numel() > 1)
        payload["state"][name].view(-1)[0] = float("nan")
        return rf"weights '{name}' hold 1 NaN"
    if how == "normalise":
        pre["normalise"] = "per-frame"
        return r"preprocessing\.normalise is 'per-frame'"
    if how == "tasks":
        pre["tasks"] = ["b", "a"]
        return r"preprocessing\.tasks \['b', 'a'\] differ from the model's tasks \['a', 'b'\]"
    if how == "normaliser-width":
        pre["normaliser"] = {k: list(v)[:3] if isinstance(v, list) else v for k, v in pre["normaliser"].items()}
        return r"the normaliser has 3 columns but the model takes 4 features"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["n_frames", "nan-weights", "normalise", "tasks", "normaliser-width"])
def test_a_tampered_checkpoint_is_refused_naming_the_file(tmp_path, how):
    """Catches: a checkpoint whose parts disagree loading quietly and predicting the wrong thing."""
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    fit(model, make(0, T=300), epochs=1, lr=1e-3, progress=False, device="cpu")
    save_model(model, tmp_path / "good.pt")
    load_model(tmp_path / "good.pt", device="cpu")       # the untouched file loads
    payload = torch.load(tmp_path / "good.pt", weights_only=True)
    match = _tamper(payload, how)
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match=rf"edited\.pt: inconsistent cerlib model file: {match}"):
        load_model(tmp_path / "edited.pt", device="cpu")


def test_the_progress_bar_shows_the_loss_of_the_epoch_it_counts(monkeypatch):
    """Catches: the bar redrawing before the postfix is set, so that it shows the previous epoch's loss."""
    import io

    from tqdm import tqdm

    from cerlib.engine import loop

    stream = io.StringIO()
    monkeypatch.setattr(loop, "_bar", lambda progress, epochs, desc: tqdm(
        total=epochs, file=stream, mininterval=0, miniters=1, ascii=True))
    seed_everything(0)
    history = fit(CERMTL(n_features=4, tasks=("a", "b")), make(0, T=300), epochs=3, lr=1e-2, device="cpu")
    screens = [s for s in stream.getvalue().split("\r") if "/3" in s]
    for row in history.epochs:
        shown = [s for s in screens if f"{row['epoch']}/3" in s]
        assert shown and all(f"loss={row['train_loss']:.3f}" in s for s in shown), (row, shown)


def test_epoch_train_loss_weights_each_batch_by_its_size():
    """Catches: the epoch's train loss as the plain mean of batch losses (the last batch is smaller)."""
    ex = make(4, T=300)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    start = copy.deepcopy(model)
    history = fit(model, ex, epochs=1, lr=1e-12, loss="mse", batch_size=128, normalise=None, stride=3, seed=5,
                  progress=False, device="cpu")
    order = torch.randperm(len(ex.features), generator=torch.Generator().manual_seed(5))
    images = torch.as_tensor(np.ascontiguousarray(feature_images(ex.features, 20, 3)))
    labels = torch.as_tensor(ex.labels)
    losses, sizes = [], []
    with torch.no_grad():
        for s in range(0, len(order), 128):
            idx = order[s: s + 128]
            losses.append(float(torch.nn.functional.mse_loss(start(images[idx]), labels[idx])))
            sizes.append(len(idx))
    assert sizes == [128, 128, 44]
    weighted = float(np.average(losses, weights=sizes))
    assert history.epochs[0]["train_loss"] == pytest.approx(weighted, rel=1e-5)
    assert abs(float(np.mean(losses)) - weighted) > 1e-3 * weighted  # the two readings differ here
