"""fit / predict / evaluate end to end on small synthetic data (CPU, seconds)."""
import numpy as np
import pytest
import torch

from cerlib import CERMTL, PureCNN, ccc, fit, predict
from cerlib.training import evaluate, pick_device, seed_everything


def make(seed, T=2000, P=4):
    """Smooth random features; targets are smooth functions of them."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(T + 200, P))
    k = np.hanning(61)
    k /= k.sum()
    x = np.stack([np.convolve(raw[:, j], k, mode="same") for j in range(P)], 1)[100:-100] * 5
    y = np.stack([x[:, 0] + 0.5 * x[:, 1], x[:, 2] - x[:, 3]], 1)
    return (x + 0.3 * rng.normal(size=x.shape)).astype("float32"), y.astype("float32")


@pytest.fixture(scope="module")
def trained():
    train, valid, test = [make(s) for s in range(3)], make(10), make(11)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    history = fit(model, train, valid, epochs=25, lr=1e-2, progress=False, device="cpu")
    return model, history, test


def test_learns_a_synthetic_target(trained):
    model, history, test = trained
    x, y = test
    y_hat = predict(model, x)
    assert y_hat.shape == y.shape and y_hat.dtype == np.float32
    assert (ccc(y, y_hat) > 0.8).all()  # measured 0.94 and 0.94 on a held-out recording
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]


def test_best_weights_are_restored(trained):
    model, history, _ = trained
    x, y = make(10)
    assert evaluate(model, (x, y))["mean_ccc"] == pytest.approx(history.best["valid_mean_ccc"], abs=1e-5)


def test_normaliser_comes_from_training_data_only(trained):
    model, _, _ = trained
    train_x = np.concatenate([make(s)[0] for s in range(3)])
    np.testing.assert_allclose(model.cer_normaliser.mean, train_x.mean(0), rtol=1e-4, atol=1e-5)


def test_same_seed_same_numbers():
    data = [make(0, T=600)]
    runs = []
    for _ in range(2):
        seed_everything(3)
        model = CERMTL(n_features=4, tasks=("a", "b"))
        h = fit(model, data, epochs=2, lr=1e-3, progress=False, device="cpu", seed=5)
        runs.append((h.epochs[-1]["train_loss"], predict(model, data[0][0])))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_early_stopping_with_patience():
    x, y = make(0, T=600)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    # validating against the negated target: the better it learns, the worse it scores
    history = fit(model, (x, y), (x, -y), epochs=50, patience=3, lr=3e-3, progress=False, device="cpu")
    assert history.stopped_early and len(history.epochs) < 50
    assert len(history.epochs) - history.best_epoch == 3
    assert history.best["valid_mean_ccc"] == max(r["valid_mean_ccc"] for r in history.epochs)


def test_interrupt_keeps_the_best_model(monkeypatch):
    x, y = make(0, T=600)
    seed_everything(0)
    model = CERMTL(n_features=4, tasks=("a", "b"))
    calls = {"n": 0}
    real_step = torch.optim.Adam.step

    def step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 7:  # during epoch 2 (three batches an epoch)
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    history = fit(model, (x, y), (x, y), epochs=5, lr=1e-3, progress=False, device="cpu")
    assert history.interrupted and history.best_epoch == 2 and len(history.epochs) == 2
    assert not model.training


def test_stl_picks_its_column_from_recordings():
    from types import SimpleNamespace

    x, y = make(0, T=400)
    rec = SimpleNamespace(name="r1", features={"speech": x}, tasks=("a", "b"), labels=y,
                          inputs=lambda modalities=None: x)
    model = CERMTL(n_features=4, tasks=["b"])
    fit(model, rec, [], epochs=1, progress=False, device="cpu")  # an empty validation list: no early stopping
    assert predict(model, rec).shape == (400, 1)
    both = predict(model, (rec, rec))  # a tuple of recordings is two recordings, not a (features, labels) pair
    assert len(both) == 2 and both[0].shape == (400, 1)
    with pytest.raises(ValueError, match="tasks"):
        fit(CERMTL(n_features=4, tasks=["c"]), rec, epochs=1, progress=False)


def test_pure_cnn_trains_too():
    x, y = make(0, T=400)
    model = PureCNN(n_features=4, tasks=("a", "b"), channels=8)
    history = fit(model, (x, y), epochs=1, progress=False, device="cpu")
    assert np.isfinite(history.epochs[0]["train_loss"])


def test_clear_errors():
    x, y = make(0, T=200)
    with pytest.raises(ValueError, match="n_features=63"):
        fit(CERMTL(), (x, y), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"labels must be \(T, n_tasks\)"):
        fit(CERMTL(n_features=4), (x, y), epochs=1, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(CERMTL(n_features=4, tasks=("a", "b")), (x, y), batch_size=1, progress=False)
    with pytest.raises(ValueError, match="empty"):
        fit(CERMTL(n_features=4, tasks=("a", "b")), [], progress=False)


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    assert pick_device().type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            pick_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(RuntimeError, match="MPS"):
            pick_device("mps")


def test_save_and_load_give_the_same_predictions(trained, tmp_path):
    from cerlib.training import load_model, save_model

    model, _, (x, _) = trained
    save_model(model, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt", device="cpu")
    np.testing.assert_array_equal(predict(loaded, x), predict(model, x))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind
