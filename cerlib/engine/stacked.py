"""Models as one stacked module: what the training loop runs.

:class:`StackedGroup` holds M CER-MTL / CER-STL members' weights stacked
along a leading axis and runs them as one network (one wide convolution,
one batched recurrence, one Adam over the stacked tensors);
:class:`PlainGroup` runs any other model (Pure CNN, your own) as a group of
one. Both are built from plain models and give their weights back as each
model's own ``state_dict`` (:meth:`member_state`).
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from ..framing import gather_images
from ..models import ACTIVATIONS, CERMTL
from .kernels import conv1d_as_2d, relu_max_pool, stacked_gru

__all__ = ["StackedGroup", "PlainGroup", "build_group", "forward_frames"]


class StackedGroup(nn.Module):
    """M CER-MTL / CER-STL members as one network, for training them in one pass.

    Members read the same feature images (one gather serves all) and stay
    independent: member ``m``'s outputs depend only on its own slice of every
    stacked parameter, so the gradient of the sum of the members' losses is
    each member's own gradient, and an elementwise optimiser (Adam) over the
    stacked tensors updates each member exactly as its own optimiser would.

    - the M convolutions are one ``conv(P -> M * n_filters)``; a member that
      reads only some rows of the images (a modality) has zeros in the
      other rows of its kernels, held at zero by a fixed mask;
    - batch normalisation over M x n_filters channels is each member's own;
    - ReLU and max-pooling are :func:`~cerlib.engine.relu_max_pool`;
    - the M x K GRU heads are one batched recurrence
      (:func:`~cerlib.engine.stacked_gru`): member by member the
      block-diagonal recurrence of :func:`~cerlib.engine.fused_heads`, its
      off-diagonal blocks masked to zero; members with fewer tasks get unused
      heads whose gradients are exactly zero.

    Parameters
    ----------
    members : sequence of CERMTL
        Same ``n_frames``, ``gru_over``, ``batch_norm`` and layer sizes.
    columns : sequence of M integer sequences, optional
        The image rows each member reads, in its own column order (default:
        all ``members[0].n_features`` rows).
    n_inputs : int, optional
        Rows of the shared images (default: the members' ``n_features``).

    Shapes
    ------
    input (B, n_inputs, N) -> output (M, B, K_max); member m's tasks are
    ``output[m, :, :len(members[m].tasks)]``.

    Examples
    --------
    >>> members = [CERMTL(), CERMTL(tasks=["valence"]), CERMTL(n_features=39)]
    >>> group = StackedGroup(members, columns=[range(63), range(63), range(39)], n_inputs=63)
    >>> x = torch.randn(8, 63, 20)
    >>> out = group(x)
    >>> out.shape
    torch.Size([3, 8, 3])
    >>> bool(torch.allclose(out[2], members[2](x[:, :39]), atol=1e-5))
    True
    >>> group.member_state(1).keys() == members[1].state_dict().keys()
    True
    """

    def __init__(self, members: Sequence[CERMTL], columns=None, n_inputs: int | None = None):
        super().__init__()
        members = list(members)
        if not members:
            raise ValueError("StackedGroup needs at least one member")
        first = members[0]
        keys = ("n_frames", "gru_over", "batch_norm", "n_filters", "kernel_size", "pool_size", "gru_units",
                "fc_units", "fc_activation")
        for i, m in enumerate(members):
            if not isinstance(m, CERMTL):
                raise ValueError(f"member {i} is a {type(m).__name__}; a StackedGroup stacks CERMTL models")
            differ = [k for k in keys if m.config[k] != first.config[k]]
            if differ:
                raise ValueError(f"member {i} differs from member 0 in {differ}; members must share them")
        cfg = first.config
        self.n_inputs = int(n_inputs if n_inputs is not None else first.n_features)
        if columns is None:
            columns = [range(m.n_features) for m in members]
        self.columns = [list(map(int, c)) for c in columns]
        for i, (m, c) in enumerate(zip(members, self.columns)):
            if len(c) != m.n_features or not all(0 <= j < self.n_inputs for j in c):
                raise ValueError(f"member {i}: columns must be {m.n_features} rows of the {self.n_inputs} inputs")
        self.n_frames, self.gru_over, self.batch_norm = first.n_frames, first.gru_over, first.batch_norm
        self.tasks = [m.tasks for m in members]
        self.n_tasks = [len(t) for t in self.tasks]
        M, F, k = len(members), cfg["n_filters"], cfg["kernel_size"]
        H, K, U = cfg["gru_units"], max(self.n_tasks), cfg["fc_units"]
        I = F if self.gru_over == "time" else first.pooled_steps
        self.sizes = dict(M=M, F=F, k=k, H=H, K=K, U=U, I=I, pool=cfg["pool_size"], L=first.pooled_steps)
        self.act = ACTIVATIONS[cfg["fc_activation"]]()
        like = first.shared[0].weight  # built where the members are: no .to() needed
        z = lambda *shape: torch.zeros(*shape, dtype=like.dtype, device=like.device)  # noqa: E731
        self.conv_w, self.conv_b = nn.Parameter(z(M, F, self.n_inputs, k)), nn.Parameter(z(M, F))
        if self.batch_norm:
            bn = first.shared[1]
            self.bn_eps, self.bn_momentum = bn.eps, bn.momentum
            self.bn_w, self.bn_b = nn.Parameter(z(M, F)), nn.Parameter(z(M, F))
            self.register_buffer("bn_mean", z(M, F))
            self.register_buffer("bn_var", z(M, F))
            self.register_buffer("bn_batches", torch.zeros(M, dtype=torch.long, device=like.device))
        self.w_ih, self.b_ih = nn.Parameter(z(M, I, 3 * K * H)), nn.Parameter(z(M, 1, 3 * K * H))
        self.w_hh, self.b_hh = nn.Parameter(z(M, K * H, 3 * K * H)), nn.Parameter(z(M, 1, 3 * K * H))
        self.fc_w, self.fc_b = nn.Parameter(z(M, K * H, K * U)), nn.Parameter(z(M, 1, K * U))
        self.out_w, self.out_b = nn.Parameter(z(M, K * U, K)), nn.Parameter(z(M, 1, K))
        conv_mask = z(M, 1, self.n_inputs, 1)
        for i, c in enumerate(self.columns):
            conv_mask[i, 0, c] = 1
        eye = torch.eye(K, dtype=conv_mask.dtype, device=like.device)
        self.register_buffer("conv_mask", conv_mask)
        # block (head i -> head j) of the recurrent / dense matrices is kept only for i == j
        self.register_buffer("hh_mask", eye[:, None, None, :, None].expand(K, H, 3, K, H).reshape(1, K * H, 3 * K * H))
        self.register_buffer("fc_mask", eye[:, None, :, None].expand(K, H, K, U).reshape(1, K * H, K * U))
        self.register_buffer("out_mask", eye[:, None, :].expand(K, U, K).reshape(1, K * U, K))
        self.held_bias = None  # (M, 1, 1) 0/1: members whose output bias is held (hold_output_bias)
        with torch.no_grad():
            for i, m in enumerate(members):
                self._load_member(i, m)

    # layout: gate-major columns [r of heads 0..K-1 | z ... | n ...], head blocks of H
    def _gate_cols(self, head: int, gate: int) -> slice:
        K, H = self.sizes["K"], self.sizes["H"]
        start = gate * K * H + head * H
        return slice(start, start + H)

    def _load_member(self, i: int, member: CERMTL) -> None:
        H, U = self.sizes["H"], self.sizes["U"]
        conv = member.shared[0]
        self.conv_w[i][:, self.columns[i]] = conv.weight.detach().to(self.conv_w.dtype)
        self.conv_b[i] = conv.bias.detach()
        if self.batch_norm:
            bn = member.shared[1]
            self.bn_w[i], self.bn_b[i] = bn.weight.detach(), bn.bias.detach()
            self.bn_mean[i], self.bn_var[i] = bn.running_mean, bn.running_var
            self.bn_batches[i] = bn.num_batches_tracked
        for h, b in enumerate(member.branches):
            g = b.gru
            for gate in range(3):
                cols, rows = self._gate_cols(h, gate), slice(gate * H, (gate + 1) * H)
                self.w_ih[i][:, cols] = g.weight_ih_l0[rows].detach().t()
                self.b_ih[i, 0, cols] = g.bias_ih_l0[rows].detach()
                self.w_hh[i][h * H:(h + 1) * H, cols] = g.weight_hh_l0[rows].detach().t()
                self.b_hh[i, 0, cols] = g.bias_hh_l0[rows].detach()
            self.fc_w[i][h * H:(h + 1) * H, h * U:(h + 1) * U] = b.fc.weight.detach().t()
            self.fc_b[i, 0, h * U:(h + 1) * U] = b.fc.bias.detach()
            self.out_w[i][h * U:(h + 1) * U, h] = b.out.weight.detach()[0]
            self.out_b[i, 0, h] = b.out.bias.detach()[0]

    def member_state(self, i: int) -> dict:
        """Member ``i``'s weights as its own CERMTL ``state_dict`` (copies)."""
        H, U = self.sizes["H"], self.sizes["U"]
        d = lambda t: t.detach().clone()  # noqa: E731
        state = {"shared.0.weight": d(self.conv_w[i][:, self.columns[i]]), "shared.0.bias": d(self.conv_b[i])}
        if self.batch_norm:
            state.update({"shared.1.weight": d(self.bn_w[i]), "shared.1.bias": d(self.bn_b[i]),
                          "shared.1.running_mean": d(self.bn_mean[i]), "shared.1.running_var": d(self.bn_var[i]),
                          "shared.1.num_batches_tracked": d(self.bn_batches[i])})
        for h in range(self.n_tasks[i]):
            p = f"branches.{h}."
            state[p + "gru.weight_ih_l0"] = d(torch.cat([self.w_ih[i][:, self._gate_cols(h, g)].t() for g in range(3)]))
            state[p + "gru.weight_hh_l0"] = d(torch.cat(
                [self.w_hh[i][h * H:(h + 1) * H, self._gate_cols(h, g)].t() for g in range(3)]))
            state[p + "gru.bias_ih_l0"] = d(torch.cat([self.b_ih[i, 0, self._gate_cols(h, g)] for g in range(3)]))
            state[p + "gru.bias_hh_l0"] = d(torch.cat([self.b_hh[i, 0, self._gate_cols(h, g)] for g in range(3)]))
            state[p + "fc.weight"] = d(self.fc_w[i][h * H:(h + 1) * H, h * U:(h + 1) * U].t())
            state[p + "fc.bias"] = d(self.fc_b[i, 0, h * U:(h + 1) * U])
            state[p + "out.weight"] = d(self.out_w[i][h * U:(h + 1) * U, h][None])
            state[p + "out.bias"] = d(self.out_b[i, 0, h:h + 1])
        return state

    def hold_output_bias(self, members: Sequence[int]) -> None:
        """Give the output biases of ``members`` a zero gradient from now on (see ``engine.loop``, PCC)."""
        held = torch.ones(self.sizes["M"], 1, 1, dtype=self.out_b.dtype, device=self.out_b.device)
        held[list(members)] = 0
        self.held_bias = held
        if not hasattr(self, "_bias_hook"):
            self._bias_hook = self.out_b.register_hook(lambda g: g if self.held_bias is None else g * self.held_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.n_inputs or x.shape[2] != self.n_frames:
            raise ValueError(f"StackedGroup expects (B, {self.n_inputs}, {self.n_frames}) images, got {tuple(x.shape)}")
        y = conv1d_as_2d(x, self._conv_weight(), self.conv_b.reshape(-1))  # (B, M F, N - k + 1)
        return self._heads(y)

    def _conv_weight(self) -> torch.Tensor:
        s = self.sizes
        return (self.conv_w * self.conv_mask).reshape(s["M"] * s["F"], self.n_inputs, s["k"])

    def forward_frames(self, padded: torch.Tensor, stride: int = 10) -> torch.Tensor:
        """Every feature image of one padded recording at once, convolving it only once.

        The convolution is linear in the frames, so instead of convolving each
        of the T images (T x N columns) it convolves the padded recording
        (T + (N-1) t rows) at dilation ``stride`` and reads image ``l``'s
        columns off the result: N times fewer operations.

        ``padded`` (T + (N - 1) * stride, n_inputs), from
        :func:`cerlib.framing.pad_features` -> (M, T, K_max).
        """
        n_rows = padded.shape[0] - (self.n_frames - 1) * stride
        if padded.ndim != 2 or padded.shape[1] != self.n_inputs or n_rows < 1:
            raise ValueError(f"forward_frames expects a padded recording (T + {self.n_frames - 1} * stride, "
                             f"{self.n_inputs}), got {tuple(padded.shape)}")
        # (1, P, R) -> (1, M F, R - (k-1) t): column c is the filter at rows c, c+t, c+2t
        full = torch.nn.functional.conv1d(padded.t()[None], self._conv_weight(), self.conv_b.reshape(-1),
                                          dilation=stride)[0]
        width = self.n_frames - self.sizes["k"] + 1
        # image l's conv output column j is full[:, l + j t]
        return self._heads(full.unfold(1, (width - 1) * stride + 1, 1)[:, :n_rows, ::stride].permute(1, 0, 2))

    def _heads(self, y: torch.Tensor) -> torch.Tensor:
        s = self.sizes
        M, F, pool = s["M"], s["F"], s["pool"]
        if self.batch_norm:  # per channel, so each member's own statistics
            if self.training:
                self.bn_batches += 1
            y = torch.nn.functional.batch_norm(y, self.bn_mean.view(-1), self.bn_var.view(-1), self.bn_w.reshape(-1),
                                               self.bn_b.reshape(-1), self.training, self.bn_momentum, self.bn_eps)
        # pool along the frames in the convolution's own frames-last layout: (B, L, M F), no copy
        z = relu_max_pool(y.transpose(1, 2), pool, dim=1).unflatten(2, (M, F))        # (B, L, M, F)
        seq = z.permute(2, 0, 1, 3) if self.gru_over == "time" else z.permute(2, 0, 3, 1)  # (M, B, steps, I)
        h = stacked_gru(seq, self.w_ih, self.b_ih, self.w_hh * self.hh_mask, self.b_hh)
        hidden = self.act(torch.baddbmm(self.fc_b, h, self.fc_w * self.fc_mask))
        return torch.baddbmm(self.out_b, hidden, self.out_w * self.out_mask)  # (M, B, K)

    def keep(self, index: Sequence[int]) -> "StackedGroup":
        """A group of the members ``index`` only, with their current weights (copied)."""
        new = copy.copy(self)
        new._parameters, new._buffers, new._modules = {}, {}, dict(self._modules)
        new._forward_hooks, new._backward_hooks = self._forward_hooks.copy(), self._backward_hooks.copy()
        idx = torch.as_tensor(list(index), dtype=torch.long, device=self.conv_w.device)
        for name, p in self._parameters.items():
            new._parameters[name] = nn.Parameter(p.detach().index_select(0, idx))
        for name, b in self._buffers.items():
            per_member = name in ("conv_mask", "bn_mean", "bn_var", "bn_batches")
            new._buffers[name] = b.index_select(0, idx) if per_member else b
        new.columns = [self.columns[i] for i in index]
        new.tasks = [self.tasks[i] for i in index]
        new.n_tasks = [self.n_tasks[i] for i in index]
        new.sizes = dict(self.sizes, M=len(idx))
        if hasattr(new, "_bias_hook"):
            del new._bias_hook
        if self.held_bias is not None:
            new.held_bias = None
            new.hold_output_bias([j for j, i in enumerate(index) if self.held_bias[i].item() == 0])
        return new


class PlainGroup(nn.Module):
    """Any model as a group of one: ``model(x)`` as it is, with the group's interface.

    Examples
    --------
    >>> from cerlib import PureCNN
    >>> group = PlainGroup(PureCNN(n_features=4, n_frames=8))
    >>> group(torch.zeros(2, 4, 8)).shape
    torch.Size([1, 2, 3])
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.tasks = [tuple(model.tasks)]
        self.n_tasks = [len(model.tasks)]
        self.n_frames = model.n_frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[None]

    def member_state(self, i: int) -> dict:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def hold_output_bias(self, members: Sequence[int]) -> None:
        out = getattr(self.model, "out", None)
        if members and isinstance(out, nn.Linear) and out.bias is not None:  # PureCNN: one Linear out
            self._held = out.bias.register_hook(torch.zeros_like)

    def release(self) -> None:
        """Remove the hook :meth:`hold_output_bias` put on the model's own parameter."""
        if getattr(self, "_held", None) is not None:
            self._held.remove()
            self._held = None

    def keep(self, index: Sequence[int]) -> "PlainGroup":
        return self


def build_group(models: Sequence[nn.Module], columns=None, n_inputs: int | None = None) -> nn.Module:
    """The fastest group that runs ``models``: a :class:`StackedGroup` of CER-MTL / CER-STL
    models, else (one model only) a :class:`PlainGroup`.

    Examples
    --------
    >>> from cerlib import PureCNN
    >>> type(build_group([CERMTL(), CERMTL()])).__name__, type(build_group([PureCNN()])).__name__
    ('StackedGroup', 'PlainGroup')
    """
    models = list(models)
    if all(isinstance(m, CERMTL) for m in models):
        return StackedGroup(models, columns, n_inputs)
    if len(models) == 1 and columns is None:
        return PlainGroup(models[0])
    names = sorted({type(m).__name__ for m in models if not isinstance(m, CERMTL)})
    raise ValueError(f"only CERMTL models can be grouped; got {', '.join(names)} among {len(models)} models: "
                     "fit those one by one")


@torch.no_grad()
def forward_frames(model: nn.Module, padded: torch.Tensor, stride: int = 10, chunk: int = 4096) -> torch.Tensor:
    """Predictions for every frame of one padded recording, in chunks; equal to ``model(feature_images(x))``.

    A CER-MTL convolves the recording once (:meth:`StackedGroup.forward_frames`);
    other models get their images gathered chunk by chunk.

    Parameters
    ----------
    model : nn.Module (its ``training`` flag is used as it is)
    padded : torch.Tensor, shape (T + (N - 1) * stride, P), :func:`cerlib.framing.pad_features`
    stride : int

    Returns
    -------
    torch.Tensor, shape (T, n_tasks)

    Examples
    --------
    >>> from cerlib.framing import feature_images, pad_features
    >>> model = CERMTL(n_features=4).eval()
    >>> x = torch.randn(50, 4)
    >>> bool(torch.allclose(forward_frames(model, pad_features(x, 20, 10), 10),
    ...                     model(feature_images(x, 20, 10)), atol=1e-5))
    True
    """
    group = build_group([model]).train(model.training)  # on the model's device
    padded = padded.to(next(model.parameters()).dtype)
    n, extra = model.n_frames, (model.n_frames - 1) * stride
    T = padded.shape[0] - extra
    if T < 1 or padded.ndim != 2:
        raise ValueError(f"forward_frames expects a padded recording (T + {n - 1} * stride, P), "
                         f"got {tuple(padded.shape)}")
    chunks = []
    for s in range(0, T, chunk):
        stop = min(s + chunk, T)
        if isinstance(group, StackedGroup):
            chunks.append(group.forward_frames(padded[s: stop + extra], stride)[0])
        else:
            rows = torch.arange(s, stop, device=padded.device)
            chunks.append(group(gather_images(padded, rows, n, stride))[0])
    return torch.cat(chunks)
