"""The engine computes what the plain models compute: outputs, gradients, weights written back."""
import doctest
import importlib

import numpy as np
import pytest
import torch

from cerlib import CERMTL, PureCNN
from cerlib.engine import (Bank, PlainGroup, StackedGroup, build_group, forward_frames, fused_heads, regroup,
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


def test_bank_copies_nothing_from_the_host_in_a_step():
    """The gather's index grid is built once per device; a step reuses it (no host-device copy)."""
    bank = Bank([np.zeros((40, 3), "float32")], None, 4, 5, "cpu")
    from cerlib import framing

    bank.images(torch.arange(4))
    before = dict(framing._STEPS)
    bank.images(torch.arange(4, 9))
    assert framing._STEPS.keys() == before.keys() and all(framing._STEPS[k] is before[k] for k in before)


@pytest.mark.parametrize("name", ["kernels", "stacked", "loop"])
def test_engine_docstring_examples_run(name):
    module = importlib.import_module(f"cerlib.engine.{name}")
    result = doctest.testmod(module, extraglobs={"np": np, "torch": torch, "CERMTL": CERMTL},
                             optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
