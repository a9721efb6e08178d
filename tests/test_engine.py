"""The engine computes what the plain models compute: outputs, gradients, weights written back."""
import doctest
import importlib

import numpy as np
import pytest
import torch

from cerlib import CERMTL, PureCNN
from cerlib.engine import (AtenCalls, PlainGroup, StackedGroup, build_group, forward_frames, fused_heads, regroup,
                           stacked_adam)
from cerlib.framing import feature_images, pad_features

VARIANTS = [{}, {"gru_over": "filters", "batch_norm": True}, {"tasks": ["valence"]}, {"fc_activation": "relu"}]


@pytest.mark.parametrize("kwargs", VARIANTS)
def test_engine_equals_the_plain_model_outputs_and_gradients(kwargs):
    torch.manual_seed(0)
    model = CERMTL(**kwargs).double()
    x = torch.randn(32, 63, 20, dtype=torch.float64)
    x[:, :, 12:] = x[:, :, 11:12]  # repeated edge frames: ties in the max-pool
    weights = torch.randn(len(model.tasks), dtype=torch.float64)
    group = StackedGroup([model])
    want = model(x)
    (want * weights).sum().backward()
    got = group(x)[0]
    (got * weights).sum().backward()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    # the group's gradients, read back in the model's layout, are the model's own
    grads = StackedGroup([model])
    with torch.no_grad():
        for name, p in group.named_parameters():
            dict(grads.named_parameters())[name].copy_(p.grad)
    state = grads.member_state(0)
    for name, p in model.named_parameters():
        torch.testing.assert_close(state[name], p.grad, rtol=0, atol=1e-12, msg=name)
    if model.batch_norm:  # the running statistics moved alike
        torch.testing.assert_close(group.member_state(0)["shared.1.running_mean"], model.shared[1].running_mean)


def test_member_state_round_trips_and_loads_into_the_plain_model():
    torch.manual_seed(1)
    model = CERMTL(gru_over="filters", batch_norm=True)
    state = StackedGroup([model]).member_state(0)
    assert state.keys() == model.state_dict().keys()
    for k, v in model.state_dict().items():
        assert torch.equal(state[k], v), k


def test_fused_heads_equal_the_branches_outputs_and_gradients():
    torch.manual_seed(2)
    model = CERMTL().double()
    seq = torch.randn(16, 9, 25, dtype=torch.float64)
    fused = fused_heads(model.branches, seq)
    fused.sum().backward()
    fused_grads = {k: p.grad.clone() for k, p in model.named_parameters() if k.startswith("branches")}
    model.zero_grad()
    plain = torch.stack([b(seq) for b in model.branches], 1)
    plain.sum().backward()
    torch.testing.assert_close(fused, plain, rtol=0, atol=1e-12)
    for k, g in fused_grads.items():
        torch.testing.assert_close(g, dict(model.named_parameters())[k].grad, rtol=0, atol=1e-12)


def test_forward_frames_equals_the_per_image_path():
    torch.manual_seed(3)
    for model, stride in ((CERMTL(), 10), (CERMTL(gru_over="filters", batch_norm=True, n_frames=40), 3),
                          (PureCNN(n_features=63, n_frames=20, channels=8), 4)):
        model = model.double().eval()
        x = torch.randn(130, 63, dtype=torch.float64)
        want = model(feature_images(x, model.n_frames, stride))
        got = forward_frames(model, pad_features(x, model.n_frames, stride), stride, chunk=50)
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="padded recording"):
        forward_frames(CERMTL(), torch.zeros(5, 63), 10)


def test_build_group_and_plain_group():
    assert isinstance(build_group([PureCNN()]), PlainGroup)
    with pytest.raises(ValueError, match="only CERMTL"):
        build_group([PureCNN(), PureCNN()])
    model = PureCNN(n_features=4, n_frames=8, channels=4)
    group = PlainGroup(model)
    x = torch.randn(3, 4, 8)
    torch.testing.assert_close(group(x)[0], model(x))
    assert group.member_state(0).keys() == model.state_dict().keys()


def test_a_pcc_fit_of_a_plain_model_holds_its_output_bias_and_leaves_no_hook():
    from cerlib import fit
    from cerlib.training import Example

    rng = np.random.default_rng(1)
    data = Example(rng.normal(size=(400, 4)).astype("float32"), rng.normal(size=(400, 3)).astype("float32"))
    torch.manual_seed(0)
    model = PureCNN(n_features=4, n_frames=8, channels=4)
    bias = model.out.bias.detach().clone()
    fit(model, data, loss="pcc", epochs=2, lr=1e-2, batch_size=64, stride=2, progress=False, device="cpu")
    assert torch.equal(model.out.bias.detach(), bias)
    fit(model, data, loss="mse", epochs=1, lr=1e-2, batch_size=64, stride=2, progress=False, device="cpu")
    assert not torch.equal(model.out.bias.detach(), bias)  # no hook left: MSE moves it


def test_regroup_keeps_each_members_weights_and_adam_state():
    torch.manual_seed(4)
    models = [CERMTL(n_features=5, n_frames=8) for _ in range(3)]
    group = StackedGroup(models)
    opt = stacked_adam(group, 1e-2)
    x = torch.randn(8, 5, 8)
    group(x).square().sum().backward()
    opt.step()
    smaller, new_opt = regroup(group, opt, [0, 2], 1e-2)
    for j, i in enumerate([0, 2]):
        for k, v in group.member_state(i).items():
            assert torch.equal(smaller.member_state(j)[k], v)
    exp_avg = opt.state[group.w_ih]["exp_avg"]
    assert torch.equal(new_opt.state[smaller.w_ih]["exp_avg"], exp_avg[[0, 2]])


def test_a_training_step_makes_no_tensor_from_host_data_and_reads_none_back():
    """No host-device copy or synchronisation inside a step: tensors made from host data (NumPy,
    lists) and values read back to Python (``bool(t)``, ``t.item()``: a wait for the device on a GPU)
    are counted below autograd; an epoch of 8 steps makes no more of either than an epoch of 4
    (catches, e.g., an index array copied to the device in every gather, task weights in every loss,
    or a NaN check of the targets in every loss)."""
    from cerlib import fit
    from cerlib.training import Example

    rng = np.random.default_rng(0)
    data = Example(rng.normal(size=(1200, 6)).astype("float32"), rng.normal(size=(1200, 3)).astype("float32"))
    made = {}
    for steps in (4, 4, 8):  # the first run builds what is built once per device
        with AtenCalls() as count:
            fit(CERMTL(n_features=6), data, epochs=1, frames_per_epoch=64 * steps, batch_size=64, alpha=[0.5, 0.3, 0.2],
                progress=False, device="cpu")
        made[steps] = count.counts["lift_fresh"], count.counts["_local_scalar_dense"]
    assert made[8] == made[4], made
    assert made[8][1] < 8, made   # the epoch's own reads (the early-stopping score, the history), not one per step


def test_multitask_loss_uses_a_weight_tensor_on_the_device_as_it_is():
    from cerlib.losses import multitask_loss

    y_hat, y = torch.randn(16, 3), torch.randn(16, 3)
    weights = torch.tensor([0.5, 0.3, 0.2])
    with AtenCalls() as as_list:
        want = multitask_loss(y_hat, y, alpha=[0.5, 0.3, 0.2])
    with AtenCalls() as as_tensor:
        got = multitask_loss(y_hat, y, alpha=weights)
    copies = ("lift_fresh", "_to_copy")
    assert sum(as_list.counts[c] for c in copies) > 0 and sum(as_tensor.counts[c] for c in copies) == 0
    torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match="one weight per task"):
        multitask_loss(y_hat, y, alpha=weights[:2])


@pytest.mark.parametrize("name", ["kernels", "stacked", "loop"])
def test_engine_docstring_examples_run(name):
    module = importlib.import_module(f"cerlib.engine.{name}")
    result = doctest.testmod(module, extraglobs={"np": np, "torch": torch, "CERMTL": CERMTL},
                             optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_wheel_lists_the_engine_package():
    """setuptools ships only the packages pyproject names: without this line an install has no engine."""
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "cerlib.engine" in pyproject["tool"]["setuptools"]["packages"]
