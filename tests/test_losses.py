"""Tests for cerlib.losses: CCC / PCC / MSE losses and the multi-task sum."""
from __future__ import annotations


import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cerlib import losses, metrics
from cerlib.losses import LOSSES, ccc_loss, get_loss, mse_loss, multitask_loss, pcc_loss

torch.set_num_threads(1)


def batch(b=256, m=None, seed=0, dtype=torch.float32):
    """A target and a partly right, offset, mis-scaled prediction."""
    g = torch.Generator().manual_seed(seed)
    shape = (b,) if m is None else (b, m)
    y = torch.randn(shape, generator=g, dtype=torch.float64)
    y_hat = 0.6 * y + 0.5 * torch.randn(shape, generator=g, dtype=torch.float64) + 0.3
    return y_hat.to(dtype), y.to(dtype)


# --------------------------------------------------------------------------
# agreement with the metrics
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("m", [None, 3])
def test_losses_match_one_minus_the_metrics(dtype, m):
    y_hat, y = batch(m=m, dtype=dtype)
    yn, pn = y.double().numpy(), y_hat.double().numpy()
    for fn, metric in ((ccc_loss, metrics.ccc), (pcc_loss, metrics.pcc)):
        got = fn(y_hat, y)
        assert got.dtype == dtype
        assert got.shape == (() if m is None else (m,))
        np.testing.assert_allclose(got.double().numpy(), 1.0 - np.asarray(metric(yn, pn)), atol=1e-5)
    np.testing.assert_allclose(mse_loss(y_hat, y).double().numpy(),
                               ((pn - yn) ** 2).mean(axis=0), rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 64), st.integers(0, 2**31 - 1))
def test_ccc_loss_is_mse_normalised_by_the_spread(b, seed):
    # 1 - CCC = MSE / (var_p + var_y + (mu_p - mu_y)^2), population statistics
    y_hat, y = batch(b=b, seed=seed, dtype=torch.float64)
    spread = y_hat.var(unbiased=False) + y.var(unbiased=False) + (y_hat.mean() - y.mean()) ** 2
    assert ccc_loss(y_hat, y, eps=0.0).item() == pytest.approx((mse_loss(y_hat, y) / spread).item(),
                                                                abs=1e-12)


def test_losses_are_in_range_at_the_extremes():
    y = torch.tensor([-1.0, 1.0, 1.0, -1.0])
    assert ccc_loss(y, y).item() == pytest.approx(0.0, abs=1e-6)
    assert ccc_loss(-y, y).item() == pytest.approx(2.0, abs=1e-6)
    assert pcc_loss(5 * y - 3, y).item() == pytest.approx(0.0, abs=1e-6)
    assert ccc_loss(5 * y - 3, y).item() > 0.5     # CCC sees scale and level


# --------------------------------------------------------------------------
# numerical safety
# --------------------------------------------------------------------------

def _value_and_grad(fn, y_hat, y):
    y_hat = y_hat.clone().requires_grad_(True)
    y = y.clone().requires_grad_(True)
    value = fn(y_hat, y)
    value.sum().backward()
    return value.detach(), y_hat.grad, y.grad


CASES = {
    "constant prediction": (torch.zeros(32), torch.randn(32, generator=torch.Generator().manual_seed(1))),
    "constant target": (torch.randn(32, generator=torch.Generator().manual_seed(2)), torch.full((32,), 0.5)),
    "both constant, equal": (torch.full((32,), 0.5), torch.full((32,), 0.5)),
    "both constant, different": (torch.zeros(32), torch.ones(32)),
    "batch of two": (torch.tensor([0.1, 0.3]), torch.tensor([1.0, -1.0])),
    "batch of two, constant": (torch.tensor([0.0, 0.0]), torch.tensor([1.0, -1.0])),
    "per task, one flat": (torch.zeros(16, 3), torch.randn(16, 3, generator=torch.Generator().manual_seed(3))),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("fn", [ccc_loss, pcc_loss, mse_loss], ids=["ccc", "pcc", "mse"])
def test_values_and_gradients_are_finite(fn, case):
    y_hat, y = CASES[case]
    value, g_hat, g_y = _value_and_grad(fn, y_hat, y)
    assert torch.all(torch.isfinite(value))
    assert torch.all(torch.isfinite(g_hat)) and torch.all(torch.isfinite(g_y))


@pytest.mark.parametrize("fn", [ccc_loss, pcc_loss])
def test_constant_prediction_has_loss_one_and_a_useful_gradient(fn):
    y_hat, y = CASES["constant prediction"]
    value, g_hat, _ = _value_and_grad(fn, y_hat, y)
    assert value.item() == pytest.approx(1.0, abs=1e-6)
    # descending the gradient moves the prediction toward the target's shape
    assert torch.corrcoef(torch.stack([-g_hat, y]))[0, 1].item() > 0.99


@pytest.mark.parametrize("fn", [ccc_loss, pcc_loss])
def test_constant_target_teaches_nothing(fn):
    y_hat, y = CASES["constant target"]
    value, g_hat, _ = _value_and_grad(fn, y_hat, y)
    assert value.item() == pytest.approx(1.0, abs=1e-6)
    assert torch.all(g_hat == 0)


@pytest.mark.parametrize("fn", [ccc_loss, pcc_loss])
def test_batch_of_one_gives_loss_one_and_zero_gradient(fn):
    value, g_hat, g_y = _value_and_grad(fn, torch.tensor([0.7]), torch.tensor([-0.2]))
    assert value.item() == 1.0
    assert torch.all(g_hat == 0) and torch.all(g_y == 0)
    value, g_hat, _ = _value_and_grad(fn, torch.tensor([[0.7, 0.1]]), torch.tensor([[-0.2, 0.1]]))
    assert value.shape == (2,) and torch.all(value == 1.0) and torch.all(g_hat == 0)


def test_pcc_without_eps_would_have_nan_gradients():
    """Documents why pcc_loss puts eps under the square roots."""
    y_hat = torch.zeros(8, requires_grad=True)
    y = torch.arange(8.0)
    a, b = y_hat - y_hat.mean(), y - y.mean()
    naive = 1 - (a * b).mean() / (torch.sqrt((a * a).mean()) * torch.sqrt((b * b).mean()))
    naive.backward()
    assert torch.isnan(y_hat.grad).any()
    value, g_hat, _ = _value_and_grad(pcc_loss, torch.zeros(8), y)
    assert torch.isfinite(value) and torch.all(torch.isfinite(g_hat))


def test_shape_and_type_errors():
    with pytest.raises(ValueError, match=r"\(4,\).*\(5,\)"):
        ccc_loss(torch.zeros(4), torch.zeros(5))
    with pytest.raises(ValueError, match="empty"):
        pcc_loss(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match=r"\(B,\) or \(B, M\)"):
        mse_loss(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))
    with pytest.raises(TypeError, match="floating-point"):
        ccc_loss(torch.zeros(4, dtype=torch.long), torch.zeros(4))
    with pytest.raises(TypeError, match="torch tensors"):
        ccc_loss(np.zeros(4), np.zeros(4))
    # an integer target is cast to the prediction's dtype
    assert ccc_loss(torch.arange(4.0), torch.arange(4)).item() == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------
# optimisation behaviour
# --------------------------------------------------------------------------

def test_one_sgd_step_from_a_flat_prediction_lowers_the_ccc_loss_as_predicted():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(64, generator=g, dtype=torch.float64)
    y_hat = torch.zeros(64, dtype=torch.float64, requires_grad=True)
    lr = 1e-3
    opt = torch.optim.SGD([y_hat], lr=lr)
    before = ccc_loss(y_hat, y)
    before.backward()
    predicted_drop = lr * (y_hat.grad ** 2).sum().item()   # first-order Taylor
    opt.step()
    after = ccc_loss(y_hat, y)
    assert before.item() == pytest.approx(1.0, abs=1e-12)
    assert predicted_drop > 0
    assert before.item() - after.item() == pytest.approx(predicted_drop, rel=0.01)


def test_one_sgd_step_from_a_flat_prediction_nearly_solves_pcc():
    # PCC is blind to scale: any step along the target's shape is a perfect fit
    g = torch.Generator().manual_seed(0)
    y = torch.randn(64, generator=g)
    y_hat = torch.zeros(64, requires_grad=True)
    opt = torch.optim.SGD([y_hat], lr=1e-3)
    pcc_loss(y_hat, y).backward()
    opt.step()
    assert pcc_loss(y_hat, y).item() < 1e-3


def test_one_adam_step_on_a_zero_initialised_model_lowers_the_ccc_loss():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 5, generator=g)
    y = x @ torch.tensor([1.0, -0.5, 0.3, 0.0, 2.0]) + 0.5 * torch.randn(256, generator=g)
    model = torch.nn.Linear(5, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)            # a fresh model outputting all zeros
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = ccc_loss(model(x)[:, 0], y)
    before.backward()
    assert all(torch.all(torch.isfinite(p.grad)) for p in model.parameters())
    opt.step()
    after = ccc_loss(model(x)[:, 0], y)
    assert after.item() < before.item() - 1e-4


# --------------------------------------------------------------------------
# multi-task sum and lookup
# --------------------------------------------------------------------------

def test_multitask_weights():
    y_hat, y = batch(b=128, m=3)
    per_task = ccc_loss(y_hat, y)
    assert multitask_loss(y_hat, y).item() == pytest.approx(per_task.mean().item(), abs=1e-6)
    assert multitask_loss(y_hat, y, alpha=(1, 0, 0)).item() == pytest.approx(per_task[0].item(), abs=1e-6)
    assert multitask_loss(y_hat, y, alpha=[0.2, 0.3, 0.5]).item() == pytest.approx(
        (0.2 * per_task[0] + 0.3 * per_task[1] + 0.5 * per_task[2]).item(), abs=1e-6)
    total, parts = multitask_loss(y_hat, y, loss="mse", alpha=torch.tensor([1.0, 1.0, 1.0]),
                                  return_per_task=True)
    torch.testing.assert_close(parts, mse_loss(y_hat, y))
    assert total.item() == pytest.approx(parts.sum().item(), rel=1e-6)
    assert multitask_loss(y_hat[:, 0], y[:, 0]).item() == pytest.approx(per_task[0].item(), abs=1e-6)


def test_multitask_gradient_flows_only_to_weighted_tasks():
    y_hat, y = batch(b=64, m=3)
    y_hat.requires_grad_(True)
    multitask_loss(y_hat, y, loss="pcc", alpha=(0.0, 1.0, 0.0)).backward()
    assert torch.all(y_hat.grad[:, [0, 2]] == 0)
    assert torch.any(y_hat.grad[:, 1] != 0)


def test_multitask_accepts_a_callable_loss():
    y_hat, y = batch(b=32, m=2)
    got = multitask_loss(y_hat, y, loss=torch.nn.functional.l1_loss)
    assert got.item() == pytest.approx((y_hat - y).abs().mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match="scalar"):
        multitask_loss(y_hat, y, loss=lambda p, t: (p - t) ** 2)


def test_multitask_validates_alpha():
    y_hat, y = batch(b=16, m=3)
    with pytest.raises(ValueError, match="one weight per task"):
        multitask_loss(y_hat, y, alpha=(0.5, 0.5))
    with pytest.raises(ValueError, match="non-negative"):
        multitask_loss(y_hat, y, alpha=(1.0, -1.0, 1.0))
    with pytest.raises(ValueError, match="non-negative"):
        multitask_loss(y_hat, y, alpha=(1.0, float("nan"), 1.0))
    with pytest.raises(ValueError, match="unknown loss"):
        multitask_loss(y_hat, y, loss="huber")


def test_get_loss_and_registry():
    assert set(LOSSES) == {"ccc", "pcc", "mse"}
    assert get_loss("ccc") is ccc_loss and get_loss("PCC") is pcc_loss and get_loss("mse") is mse_loss
    assert get_loss(torch.nn.functional.l1_loss) is torch.nn.functional.l1_loss
    with pytest.raises(ValueError, match="'ccc', 'pcc', 'mse'"):
        get_loss("cc")
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss(3)


# --------------------------------------------------------------------------
# the teaching fact: MSE prefers flat predictions, CCC prefers following changes
# --------------------------------------------------------------------------

def test_mse_prefers_a_flat_prediction_that_ccc_rejects():
    t = torch.arange(256, dtype=torch.float64)
    y = torch.sin(t / 10)
    flat = torch.full_like(y, y.mean().item())          # stays at the mean
    follows = 2 * y + 0.5                               # follows every change, wrong scale and level
    assert mse_loss(flat, y) < mse_loss(follows, y)     # MSE: flat wins
    assert ccc_loss(flat, y).item() == pytest.approx(1.0, abs=1e-9)   # CCC 0
    assert ccc_loss(follows, y) < ccc_loss(flat, y)     # CCC: following wins
    assert 1 - ccc_loss(follows, y).item() > 0.5


def test_mse_optimal_scale_shrinks_toward_the_mean_ccc_optimal_does_not():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(4096, generator=g, dtype=torch.float64)
    p = y + 1.5 * torch.randn(4096, generator=g, dtype=torch.float64)   # rho about 0.55
    ks = torch.linspace(0.05, 1.5, 300, dtype=torch.float64)
    mse = torch.stack([mse_loss(k * p, y) for k in ks])
    cccl = torch.stack([ccc_loss(k * p, y) for k in ks])
    k_mse, k_ccc = ks[mse.argmin()].item(), ks[cccl.argmin()].item()
    rho = 1 - pcc_loss(p, y).item()
    sd_ratio = (y.std() / p.std()).item()
    assert k_mse == pytest.approx(rho * sd_ratio, abs=0.01)   # shrunk by rho
    assert k_ccc == pytest.approx(sd_ratio, abs=0.01)         # full spread of the target
    assert k_mse < 0.7 * k_ccc


# --------------------------------------------------------------------------
# module hygiene
# --------------------------------------------------------------------------

def test_docstrings_state_what_the_code_needs_and_point_to_the_notebook():
    doc = losses.__doc__
    assert "05_losses" in doc and "flat" in doc and "a batch of one" in doc.lower() and "population" in doc.lower()
    for fn in (ccc_loss, pcc_loss, mse_loss, multitask_loss, get_loss):
        assert "Examples" in fn.__doc__ and "Returns" in fn.__doc__


@pytest.mark.parametrize("shape", [(8,), (8, 3)])
def test_ccc_loss_with_a_nan_target_says_so_instead_of_returning_nan(shape):
    """Catches: a NaN label turning the loss NaN silently (training then stops as 'diverged')."""
    y = torch.linspace(-1, 1, 8).repeat_interleave(shape[1] if len(shape) > 1 else 1).reshape(shape)
    y_hat = torch.zeros(shape, requires_grad=True)
    assert torch.isfinite(ccc_loss(y_hat, y)).all()
    y[5] = float("nan")
    with pytest.raises(ValueError, match=r"ccc_loss: the target holds \d+ NaN .*first at row 5"):
        ccc_loss(y_hat, y)
