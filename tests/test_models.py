"""CER-MTL, CER-STL and the Pure CNN: shapes, parameter counts, the two readings."""
import pytest
import torch
from torch import nn

from cerlib import CERMTL, PureCNN, parameter_count
from cerlib.models import layer_table


def test_literal_reading_has_6235_parameters():
    model = CERMTL()
    assert parameter_count(model) == 6235
    # the decomposition the notebook teaches: conv 4,750 + three heads of 495
    assert sum(p.numel() for p in model.shared.parameters()) == 4750
    assert all(sum(p.numel() for p in b.parameters()) == 495 for b in model.branches)
    assert model.branches[0].gru.input_size == 25


def test_filters_reading_with_batch_norm_gives_the_papers_5615():
    model = CERMTL(gru_over="filters", batch_norm=True)
    assert parameter_count(model) == 5615
    assert model.branches[0].gru.input_size == 9  # 9-long pooled series per filter
    # torch alone does not count the running statistics: Keras does
    assert sum(p.numel() for p in model.parameters()) == 5615 - 50


@pytest.mark.parametrize("gru_over", ["time", "filters"])
@pytest.mark.parametrize("n_frames", [20, 40, 60])
def test_output_shape(gru_over, n_frames):
    model = CERMTL(n_frames=n_frames, gru_over=gru_over)
    assert model(torch.randn(7, 63, n_frames)).shape == (7, 3)


def test_stl_is_one_task():
    model = CERMTL(tasks=["valence"])
    assert model.name == "CER-STL" and CERMTL().name == "CER-MTL"
    assert model(torch.randn(4, 63, 20)).shape == (4, 1)
    assert parameter_count(model) == 4750 + 495


def test_tasks_share_only_the_convolution():
    model = CERMTL()
    x = torch.randn(16, 63, 20)
    model(x)[:, 0].sum().backward()
    assert model.shared[0].weight.grad.abs().sum() > 0
    assert model.branches[0].gru.weight_ih_l0.grad.abs().sum() > 0
    untouched = model.branches[1].gru.weight_ih_l0.grad  # valence head: activation's loss does not reach it
    assert untouched is None or untouched.abs().sum() == 0


def test_pure_cnn_is_about_240k_and_has_no_recurrence():
    model = PureCNN()
    n = parameter_count(model)
    assert abs(n - 240_643) / 240_643 < 0.01
    assert not any(isinstance(m, nn.RNNBase) for m in model.modules())
    assert model(torch.randn(3, 63, 20)).shape == (3, 3)


def test_layer_table_sums_to_the_count_and_shows_shapes():
    table = layer_table(CERMTL(gru_over="filters", batch_norm=True))
    assert table["parameters"].sum() == 5615
    shapes = dict(zip(table["layer"], table["output shape"]))
    assert shapes["shared.3 (MaxPool1d)"] == (1, 25, 9)


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(B, 63, 20\)"):
        CERMTL()(torch.randn(2, 39, 20))
    with pytest.raises(ValueError, match="gru_over"):
        CERMTL(gru_over="space")
    with pytest.raises(ValueError, match="too short"):
        CERMTL(n_frames=2)
    with pytest.raises(ValueError, match="distinct"):
        CERMTL(tasks=["a", "a"])


def _gru_last_state(gru, seq):
    """A hand-written GRU (PyTorch's gate equations) over (B, L, I) -> the state after the last step."""
    w_ih, w_hh, b_ih, b_hh = gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0
    h = torch.zeros(seq.shape[0], gru.hidden_size)
    for t in range(seq.shape[1]):
        gi = seq[:, t] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        r = torch.sigmoid(gi[:, :gru.hidden_size] + gh[:, :gru.hidden_size])
        z = torch.sigmoid(gi[:, gru.hidden_size:2 * gru.hidden_size] + gh[:, gru.hidden_size:2 * gru.hidden_size])
        n = torch.tanh(gi[:, 2 * gru.hidden_size:] + r * gh[:, 2 * gru.hidden_size:])
        h = (1 - z) * n + z * h
    return h


@pytest.mark.parametrize("gru_over", ["time", "filters"])
def test_each_head_reads_the_last_gru_state(gru_over):
    """Catches: a head reading step 0 (or any step but the last) of its GRU."""
    torch.manual_seed(0)
    model = CERMTL(n_features=6, n_frames=20, tasks=("a", "b", "c"), gru_over=gru_over).eval()
    x = torch.randn(7, 6, 20)
    with torch.no_grad():
        z = model.shared(x)
        seq = z.transpose(1, 2) if gru_over == "time" else z
        expected = torch.stack([b.out(b.act(b.fc(_gru_last_state(b.gru, seq)))).squeeze(-1)
                                for b in model.branches], 1)
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("hooked", [False, True])
def test_the_model_runs_its_own_gru_modules(monkeypatch, train, hooked):
    """What runs is what notebook 04 draws: each branch's nn.GRU, in training and eval, hooks or not."""
    calls = []
    original = torch.nn.GRU.forward

    def counting(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.GRU, "forward", counting)
    model = CERMTL().train(train)
    if hooked:
        model.shared[0].register_forward_hook(lambda *a: None)
    model(torch.randn(4, 63, 20))
    assert calls == [b.gru for b in model.branches]


def test_models_module_holds_no_fused_kernel():
    import inspect

    import cerlib.models as models

    source = inspect.getsource(models)
    for name in ("fused_heads", "relu_max_pool", "conv1d_as_2d", "StackedGroup", "forward_frames", "block_diag",
                 "baddbmm", "addmm", "torch.sigmoid", "fast"):
        assert name not in source, name
