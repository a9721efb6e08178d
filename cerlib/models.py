"""The networks of Section II.D and Table V.

CER-MTL (Fig. 1 of the paper)::

    feature image (B, P, N)          P = 63 (39 speech + 24 motion), N = 20
      -> Conv1d(P -> 25, kernel 3)   "meta-feature extractor", shared by all tasks
      -> [BatchNorm1d(25)]           only in the 5,615-parameter reconstruction
      -> ReLU -> MaxPool1d(2)        (B, 25, 9)
      -> per task: GRU(5) -> Dense(2) -> Dense(1)        one branch per attribute
    -> (B, n_tasks)

CER-STL is the same network with one task: the paper trains one per attribute.

What the paper leaves open, and the two readings offered here
-------------------------------------------------------------
The paper reports 5,615 parameters but its layer sizes, read literally
(``gru_over="time"``: the GRU runs over the 9 pooled time steps, each a
25-filter vector), give 4,750 + 3 x 495 = 6,235. A reading that gives exactly
5,615 (``gru_over="filters", batch_norm=True``) lets the GRU run over the 25
filters, each step a 9-long pooled time series, which is what a channels-first
Keras tensor fed to a GRU without a permute does, and adds a batch
normalisation over the filters (100 numbers, counting Keras' running
statistics, as Keras' ``count_params`` does). It is a hypothesis: it matches
the count, not a statement of the authors. It is not the only one: with
'same' padding (10 pooled steps) and Keras 2's one-bias GRU(10 -> 5) the count
is 5,615 as well; both need the batch norm over the 25 filters (Keras' default
axis on a channels-first (25, 18) tensor would normalise the 18 steps: 72
numbers, 5,587 in all). Notebook 04 tabulates every combination. :func:`parameter_count` counts the
Keras way so both figures can be checked.

Other open choices, made here and easy to change: 'valid' convolution (Keras'
default), the GRU's last state feeds the dense layers, and the 2-unit dense
layer uses ``tanh`` (a 2-unit ReLU layer can die and leave a flat output).
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

__all__ = ["CERMTL", "PureCNN", "parameter_count", "layer_table", "fused_heads", "relu_max_pool", "conv1d_as_2d", "StackedGroup", "DEFAULT_TASKS"]

DEFAULT_TASKS = ("activation", "valence", "dominance")

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "linear": nn.Identity}


def _check_tasks(tasks) -> tuple[str, ...]:
    if isinstance(tasks, str):
        tasks = (tasks,)
    tasks = tuple(tasks)
    if not tasks or len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks must be a non-empty sequence of distinct names, got {tasks!r}")
    return tasks


class _Branch(nn.Module):
    """One task's head: GRU -> Dense(fc_units) -> Dense(1)."""

    def __init__(self, input_size: int, gru_units: int, fc_units: int, fc_activation: str):
        super().__init__()
        self.gru = nn.GRU(input_size, gru_units, batch_first=True)
        self.fc = nn.Linear(gru_units, fc_units)
        self.act = _ACTIVATIONS[fc_activation]()
        self.out = nn.Linear(fc_units, 1)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:  # (B, L, input_size) -> (B,)
        _, h_last = self.gru(seq)
        return self.out(self.act(self.fc(h_last[-1]))).squeeze(-1)


def conv1d_as_2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``conv1d(x, weight, bias)`` computed as a 2-D convolution of height 1.

    On the CPU, oneDNN's 2-D kernels read a frames-last batch (the transpose
    of a (B, N, P) gather, as ``channels_last``) without a copy and run about
    20 % faster than ``conv1d``, forward and backward.

    Examples
    --------
    >>> x, w = torch.randn(4, 6, 10), torch.randn(5, 6, 3)
    >>> bool(torch.allclose(conv1d_as_2d(x, w, None), torch.nn.functional.conv1d(x, w), atol=1e-5))
    True
    """
    return torch.nn.functional.conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias).squeeze(2)


def relu_max_pool(y: torch.Tensor, pool: int) -> torch.Tensor:
    """``MaxPool1d(pool)(relu(y))`` over the last axis, written with elementwise ops.

    ``max(a, b) = b + relu(a - b)`` and ``relu`` commutes with ``max``; the
    backward of these is a few elementwise passes, several times cheaper on
    the CPU than autograd's max-pool. On a tie the gradient goes to the later
    element (max-pool picks the first); ties come from repeated edge frames,
    whose columns have the same gradient anyway.

    Parameters
    ----------
    y : torch.Tensor, shape (..., L_in)
    pool : int

    Returns
    -------
    torch.Tensor, shape (..., L_in // pool)

    Examples
    --------
    >>> y = torch.tensor([[-1.0, 2.0, 3.0, -4.0, -5.0]])
    >>> relu_max_pool(y, 2)
    tensor([[2., 3.]])
    """
    pool = int(pool[0] if isinstance(pool, (tuple, list)) else pool)
    n = y.shape[-1] // pool
    cols = y[..., : n * pool].reshape(*y.shape[:-1], n, pool).unbind(-1)
    z = cols[0]
    for c in cols[1:]:
        z = c + torch.relu(z - c)
    return torch.relu(z)


def _gate_rows(weights, gate: int, hidden: int):
    return [w[gate * hidden:(gate + 1) * hidden] for w in weights]


def _head_parameters(branch: _Branch) -> list[torch.Tensor]:
    g = branch.gru
    return [g.weight_ih_l0, g.bias_ih_l0, g.weight_hh_l0, g.bias_hh_l0,
            branch.fc.weight, branch.fc.bias, branch.out.weight, branch.out.bias]


def _fused_weights(params: Sequence[Sequence[torch.Tensor]], hidden: int) -> list[torch.Tensor]:
    """The fused matrices from K branches' parameters (``_head_parameters`` each).

    Returns ``[w_ih (3KH, I), b_ih (3KH,), w_hh^T (KH, 3KH), b_hh (3KH,),
    fc_w^T (KH, KF), fc_b (KF,), out_w^T (KF, K), out_b (K,)]``: gates grouped
    (all reset rows, then all update rows, then all new rows), each gate's
    recurrent block block-diagonal over the branches.
    """
    w_ih, b_ih, w_hh, b_hh, fc_w, fc_b, out_w, out_b = zip(*params)
    gates = range(3)
    return [
        torch.cat([torch.cat(_gate_rows(w_ih, i, hidden)) for i in gates]),
        torch.cat([torch.cat(_gate_rows(b_ih, i, hidden)) for i in gates]),
        torch.cat([torch.block_diag(*_gate_rows(w_hh, i, hidden)) for i in gates]).t(),
        torch.cat([torch.cat(_gate_rows(b_hh, i, hidden)) for i in gates]),
        torch.block_diag(*fc_w).t(),
        torch.cat(fc_b),
        torch.block_diag(*out_w).t(),
        torch.cat(out_b),
    ]


_LAYOUTS: dict = {}


def _fused_layout(params: Sequence[Sequence[torch.Tensor]], hidden: int):
    """Where each fused weight's entries come from, built once per shape.

    :func:`_fused_weights` run on *positions* instead of values: every
    parameter entry is numbered by its place in the flat vector
    ``[0, branch 0's parameters, branch 1's, ...]`` (slot 0 holds the zero of
    the block-diagonal's off-diagonal blocks). A step then builds all eight
    fused weights with one ``index_select`` (one ``index_add`` backward)
    instead of ~60 slices, cats and block-diagonals.
    """
    shapes = tuple(tuple(p.shape) for branch in params for p in branch)
    key = (shapes, hidden, params[0][0].device)
    if key not in _LAYOUTS:
        offset, positions = 1, []
        for branch in params:
            row = []
            for p in branch:
                row.append(torch.arange(offset, offset + p.numel()).reshape(p.shape))
                offset += p.numel()
            positions.append(row)
        fused = _fused_weights(positions, hidden)
        index = torch.cat([f.reshape(-1) for f in fused]).to(key[2])
        _LAYOUTS[key] = index, [f.numel() for f in fused], [tuple(f.shape) for f in fused]
    return _LAYOUTS[key]


def fused_heads(branches: Sequence[_Branch], seq: torch.Tensor) -> torch.Tensor:
    """K task branches (GRU -> Dense -> Dense) run as one network.

    The K GRUs read the same sequence, so their input projections are one
    matrix product, and their recurrences one block-diagonal recurrence: the
    hidden state is the K states side by side and the recurrent matrix holds
    each GRU's matrix on its diagonal block (zeros elsewhere), so the outputs
    and gradients are those of K separate ``nn.GRU`` (the same sums, in an
    order that differs only by exact zeros). The dense layers likewise. The
    weights stay each branch's own parameters (same ``state_dict``, same
    parameter count); only the arithmetic is fused, and the fused matrices
    are gathered from the parameters in one indexing op (:func:`_fused_layout`).
    PyTorch's gate order (reset, update, new) and formula are kept::

        r = s(W_ir x + b_ir + W_hr h + b_hr),  z = s(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) n + z h

    the last written ``h' = n + z (h - n)``.

    Parameters
    ----------
    branches : sequence of K ``_Branch``
    seq : torch.Tensor, shape (B, L, input_size)

    Returns
    -------
    torch.Tensor, shape (B, K)

    Examples
    --------
    >>> model = CERMTL()
    >>> seq = torch.randn(4, 9, 25)
    >>> separate = torch.stack([b(seq) for b in model.branches], 1)
    >>> bool(torch.allclose(fused_heads(model.branches, seq), separate, atol=1e-6))
    True
    """
    params = [_head_parameters(b) for b in branches]
    hidden = branches[0].gru.hidden_size
    kh = len(branches) * hidden
    index, sizes, shapes = _fused_layout(params, hidden)
    flat = torch.cat([seq.new_zeros(1)] + [p.reshape(-1) for branch in params for p in branch])
    w_ih, b_ih, w_hh_t, b_hh, fc_w_t, fc_b, out_w_t, out_b = (
        f.view(s) for f, s in zip(flat.index_select(0, index).split(sizes), shapes))
    # split/unbind, not gi[:, t] or gi[:, :kh]: the backward of an index or a slice
    # zero-fills the whole tensor each time; split's and unbind's are one cat/stack
    gi = torch.nn.functional.linear(seq, w_ih, b_ih).split([2 * kh, kh], dim=2)
    h = None
    for gi_rz, gi_n in zip(*(g.unbind(1) for g in gi)):
        gh = b_hh.expand(gi_rz.shape[0], -1) if h is None else torch.addmm(b_hh, h, w_hh_t)
        gh_rz, gh_n = gh.split([2 * kh, kh], dim=1)
        r, z = torch.sigmoid(gi_rz + gh_rz).split(kh, dim=1)
        n = torch.tanh(gi_n + r * gh_n)
        h = n - z * n if h is None else n + z * (h - n)
    hidden_fc = branches[0].act(torch.addmm(fc_b, h, fc_w_t))
    return torch.addmm(out_b, hidden_fc, out_w_t)


class CERMTL(nn.Module):
    """CNN-GRU multi-task network (CER-MTL); with one task it is CER-STL.

    Parameters
    ----------
    n_features : int, default 63
        ``P``, rows of a feature image (39 speech + 24 motion on CreativeIT).
    n_frames : int, default 20
        ``N``, columns of a feature image.
    tasks : sequence of str, default ("activation", "valence", "dominance")
        One output (and one GRU branch) per task, in this order.
    gru_over : {"time", "filters"}, default "time"
        What the GRU scans. ``"time"``: the ``(N - 2) // 2`` pooled time steps,
        each a vector of ``n_filters`` (the text's literal reading, 6,235
        parameters). ``"filters"``: the ``n_filters`` filters, each a
        ``(N - 2) // 2``-long series (the reading that reproduces Table V's
        5,615 together with ``batch_norm=True``).
    batch_norm : bool, default False
        Batch normalisation over the filters after the convolution.
    n_filters, kernel_size, pool_size, gru_units, fc_units : int
        Section III's sizes: 25, 3, 2, 5, 2.
    fc_activation : {"tanh", "relu", "linear"}, default "tanh"

    Shapes
    ------
    input (B, P, N) -> output (B, len(tasks)), one column per task.

    Examples
    --------
    >>> model = CERMTL()
    >>> model(torch.zeros(8, 63, 20)).shape
    torch.Size([8, 3])
    >>> parameter_count(model), parameter_count(CERMTL(gru_over="filters", batch_norm=True))
    (6235, 5615)
    >>> CERMTL(tasks=["valence"]).name
    'CER-STL'
    """

    def __init__(
        self,
        n_features: int = 63,
        n_frames: int = 20,
        tasks: Sequence[str] = DEFAULT_TASKS,
        gru_over: str = "time",
        batch_norm: bool = False,
        *,
        n_filters: int = 25,
        kernel_size: int = 3,
        pool_size: int = 2,
        gru_units: int = 5,
        fc_units: int = 2,
        fc_activation: str = "tanh",
    ):
        super().__init__()
        if gru_over not in ("time", "filters"):
            raise ValueError(f"gru_over must be 'time' or 'filters', got {gru_over!r}")
        if fc_activation not in _ACTIVATIONS:
            raise ValueError(f"fc_activation must be one of {sorted(_ACTIVATIONS)}, got {fc_activation!r}")
        pooled = (n_frames - kernel_size + 1) // pool_size
        if pooled < 1:
            raise ValueError(
                f"n_frames={n_frames} is too short for a kernel of {kernel_size} and pooling of {pool_size}"
            )
        self.n_features, self.n_frames = int(n_features), int(n_frames)
        self.tasks = _check_tasks(tasks)
        self.gru_over, self.batch_norm = gru_over, bool(batch_norm)
        self.config = dict(n_features=self.n_features, n_frames=self.n_frames, tasks=self.tasks,
                           gru_over=gru_over, batch_norm=self.batch_norm, n_filters=n_filters,
                           kernel_size=kernel_size, pool_size=pool_size, gru_units=gru_units,
                           fc_units=fc_units, fc_activation=fc_activation)
        self.pooled_steps = pooled
        layers: list[nn.Module] = [nn.Conv1d(n_features, n_filters, kernel_size)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_filters))
        layers += [nn.ReLU(), nn.MaxPool1d(pool_size)]
        self.shared = nn.Sequential(*layers)
        step_size = n_filters if gru_over == "time" else pooled
        self.branches = nn.ModuleList(
            _Branch(step_size, gru_units, fc_units, fc_activation) for _ in self.tasks
        )

    @property
    def name(self) -> str:
        return "CER-MTL" if len(self.tasks) > 1 else "CER-STL"

    #: The fast path: ReLU + max-pool written by hand (:func:`relu_max_pool`) and the
    #: task heads as one block-diagonal recurrence (:func:`fused_heads`). False runs
    #: the modules one by one, each branch's own ``nn.GRU`` (same numbers, slower).
    #: A forward hook on a layer (``layer_table``) turns it off for that layer.
    fast: bool = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(self, x)
        return self.heads(self._shared(x))

    def _shared(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fast or any(m._forward_hooks for m in self.shared):
            return self.shared(x)
        conv = self.shared[0]
        z = conv1d_as_2d(x, conv.weight, conv.bias)
        if self.batch_norm:
            z = self.shared[1](z)
        return relu_max_pool(z, self.shared[-1].kernel_size)

    def heads(self, z: torch.Tensor) -> torch.Tensor:
        """The task branches on the shared layers' output ``z`` (B, n_filters, pooled) -> (B, n_tasks)."""
        seq = z.transpose(1, 2) if self.gru_over == "time" else z
        # a forward hook on a branch's GRU (layer_table) must see that GRU called
        if self.fast and not any(b.gru._forward_hooks for b in self.branches):
            return fused_heads(self.branches, seq)
        return torch.stack([branch(seq) for branch in self.branches], dim=1)

    def forward_frames(self, padded: torch.Tensor, stride: int = 10) -> torch.Tensor:
        """Every feature image of one padded recording at once, convolving it only once.

        The convolution is linear in the frames, so instead of convolving each
        of the T images (T x N columns) it convolves the padded recording
        (T + (N-1) t rows) at dilation ``stride`` and reads image ``l``'s
        columns off the result: one pass costs N times fewer operations.

        Parameters
        ----------
        padded : torch.Tensor, shape (T + (N - 1) * stride, P)
            :func:`cerlib.framing.pad_features` of a recording.
        stride : int
            ``t`` of the framing.

        Returns
        -------
        torch.Tensor, shape (T, n_tasks): equal to ``model(feature_images(x))``.

        Examples
        --------
        >>> from cerlib.framing import feature_images, pad_features
        >>> model = CERMTL(n_features=4).eval()
        >>> x = torch.randn(50, 4)
        >>> bool(torch.allclose(model.forward_frames(pad_features(x, 20, 10), 10),
        ...                     model(feature_images(x, 20, 10)), atol=1e-5))
        True
        """
        conv = self.shared[0]
        n_rows = padded.shape[0] - (self.n_frames - 1) * stride
        if padded.ndim != 2 or padded.shape[1] != self.n_features or n_rows < 1:
            raise ValueError(
                f"forward_frames expects a padded recording (T + {(self.n_frames - 1)} * stride, "
                f"{self.n_features}), got {tuple(padded.shape)}"
            )
        # (1, P, R) -> (1, F, R - (k-1) t): column c is the filter at columns c, c+t, c+2t
        full = torch.nn.functional.conv1d(padded.t()[None], conv.weight, conv.bias, dilation=stride)[0]
        width = self.n_frames - conv.kernel_size[0] + 1
        # image l's conv output column j is full[:, l + j t]
        z = full.unfold(1, (width - 1) * stride + 1, 1)[:, :n_rows, ::stride].permute(1, 0, 2)
        if self.batch_norm:
            z = self.shared[1](z)
        return self.heads(relu_max_pool(z, self.shared[-1].kernel_size))

    def extra_repr(self) -> str:
        return f"tasks={self.tasks}, gru_over={self.gru_over!r}, batch_norm={self.batch_norm}"


class PureCNN(nn.Module):
    """The Table V baseline: a purely convolutional network, no recurrence.

    After Schmitt, Cummins and Schuller (Interspeech 2019), "Continuous
    emotion recognition in speech -- do we need recurrence?". The paper under
    study reports only that it has 240,643 parameters and that its filter
    lengths were "adapted" to the data. This is our adaptation, not a copy:
    Schmitt et al. convolve along time over frame-level features; here the
    time axis is the N columns of a feature image (one column = ``stride``
    frames, 167 ms at 60 fps), so the filters are 5 columns long (0.83 s) and
    four layers see 17 of the 20 columns (161 frames, 2.7 s). The filter outputs are
    averaged over the image and a linear layer gives one value per task.
    With ``channels=116`` that is 239,195 parameters at P = 63, within 0.6 %
    of the paper's figure.

    Parameters
    ----------
    n_features, n_frames, tasks
        As for :class:`CERMTL`.
    channels : int, default 116
    kernel_size : int, default 5
    n_layers : int, default 4

    Examples
    --------
    >>> model = PureCNN()
    >>> model(torch.zeros(4, 63, 20)).shape, parameter_count(model)
    (torch.Size([4, 3]), 239195)
    """

    name = "Pure CNN"

    def __init__(
        self,
        n_features: int = 63,
        n_frames: int = 20,
        tasks: Sequence[str] = DEFAULT_TASKS,
        *,
        channels: int = 116,
        kernel_size: int = 5,
        n_layers: int = 4,
    ):
        super().__init__()
        self.n_features, self.n_frames = int(n_features), int(n_frames)
        self.tasks = _check_tasks(tasks)
        self.config = dict(n_features=self.n_features, n_frames=self.n_frames, tasks=self.tasks,
                           channels=channels, kernel_size=kernel_size, n_layers=n_layers)
        layers: list[nn.Module] = []
        width = n_features
        for _ in range(n_layers):
            layers += [nn.Conv1d(width, channels, kernel_size, padding="same"), nn.ReLU()]
            width = channels
        self.conv = nn.Sequential(*layers)
        self.out = nn.Linear(channels, len(self.tasks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(self, x)
        return self.out(self.conv(x).mean(dim=2))


class StackedGroup(nn.Module):
    """M CER-MTL / CER-STL members as one network, for training them in one pass.

    Members read the same feature images (one gather serves all) and stay
    independent: member ``m``'s outputs depend only on its own slice of every
    stacked parameter, so the gradient of the sum of the members' losses is
    each member's own gradient, and an elementwise optimiser (Adam) over the
    stacked tensors updates each member exactly as its own optimiser would.

    - the M convolutions are one ``conv1d(P -> M * n_filters)``; a member that
      reads only some columns of the images (a modality) has zeros in the
      other columns of its kernels, held at zero by a fixed mask;
    - ReLU and max-pooling are :func:`relu_max_pool`;
    - the M x K GRU heads are one batched recurrence (``baddbmm``): member by
      member the block-diagonal recurrence of :func:`fused_heads`, its
      off-diagonal blocks masked to zero; members with fewer tasks get unused
      heads whose gradients are exactly zero.

    Parameters
    ----------
    members : sequence of CERMTL
        Same ``n_frames``, ``gru_over`` and layer sizes, no batch norm.
    columns : sequence of M integer sequences, optional
        The image rows each member reads, in its own column order (default:
        all ``members[0].n_features`` rows). ``n_inputs`` rows in all.
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

    def __init__(self, members: Sequence["CERMTL"], columns=None, n_inputs: int | None = None):
        super().__init__()
        members = list(members)
        if not members:
            raise ValueError("StackedGroup needs at least one member")
        first = members[0]
        keys = ("n_frames", "gru_over", "n_filters", "kernel_size", "pool_size", "gru_units", "fc_units",
                "fc_activation")
        for i, m in enumerate(members):
            if not isinstance(m, CERMTL):
                raise ValueError(f"member {i} is a {type(m).__name__}; a StackedGroup stacks CERMTL models")
            if m.batch_norm:
                raise ValueError(f"member {i} has batch_norm=True; a StackedGroup stacks models without it")
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
        self.config = dict(cfg)
        self.n_frames, self.gru_over = first.n_frames, first.gru_over
        self.tasks = [m.tasks for m in members]
        self.n_tasks = [len(t) for t in self.tasks]
        M, F, k = len(members), cfg["n_filters"], cfg["kernel_size"]
        H, K, U = cfg["gru_units"], max(self.n_tasks), cfg["fc_units"]
        I = F if self.gru_over == "time" else first.pooled_steps
        self.sizes = dict(M=M, F=F, k=k, H=H, K=K, U=U, I=I, pool=cfg["pool_size"], L=first.pooled_steps)
        self.act = _ACTIVATIONS[cfg["fc_activation"]]()
        z = lambda *shape: torch.zeros(*shape, dtype=first.shared[0].weight.dtype)  # noqa: E731
        self.conv_w, self.conv_b = nn.Parameter(z(M, F, self.n_inputs, k)), nn.Parameter(z(M, F))
        self.w_ih, self.b_ih = nn.Parameter(z(M, I, 3 * K * H)), nn.Parameter(z(M, 1, 3 * K * H))
        self.w_hh, self.b_hh = nn.Parameter(z(M, K * H, 3 * K * H)), nn.Parameter(z(M, 1, 3 * K * H))
        self.fc_w, self.fc_b = nn.Parameter(z(M, K * H, K * U)), nn.Parameter(z(M, 1, K * U))
        self.out_w, self.out_b = nn.Parameter(z(M, K * U, K)), nn.Parameter(z(M, 1, K))
        conv_mask = z(M, 1, self.n_inputs, 1)
        for i, c in enumerate(self.columns):
            conv_mask[i, 0, c] = 1
        eye = torch.eye(K, dtype=conv_mask.dtype)
        self.register_buffer("conv_mask", conv_mask)
        # block (head i -> head j) of the recurrent / dense matrices is kept only for i == j
        self.register_buffer("hh_mask", eye[:, None, None, :, None].expand(K, H, 3, K, H).reshape(1, K * H, 3 * K * H))
        self.register_buffer("fc_mask", eye[:, None, :, None].expand(K, H, K, U).reshape(1, K * H, K * U))
        self.register_buffer("out_mask", eye[:, None, :].expand(K, U, K).reshape(1, K * U, K))
        with torch.no_grad():
            for i, m in enumerate(members):
                self._load_member(i, m)

    # layout: gate-major columns [r of heads 0..K-1 | z ... | n ...], head blocks of H
    def _gate_cols(self, head: int, gate: int) -> slice:
        K, H = self.sizes["K"], self.sizes["H"]
        start = gate * K * H + head * H
        return slice(start, start + H)

    def _load_member(self, i: int, member: "CERMTL") -> None:
        H, U = self.sizes["H"], self.sizes["U"]
        conv = member.shared[0]
        self.conv_w[i][:, self.columns[i]] = conv.weight.detach().to(self.conv_w.dtype)
        self.conv_b[i] = conv.bias.detach()
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.n_inputs or x.shape[2] != self.n_frames:
            raise ValueError(f"StackedGroup expects (B, {self.n_inputs}, {self.n_frames}) images, got {tuple(x.shape)}")
        y = conv1d_as_2d(x, self._conv_weight(), self.conv_b.reshape(-1))  # (B, M F, N - k + 1)
        return self._heads(y)

    def _conv_weight(self) -> torch.Tensor:
        s = self.sizes
        return (self.conv_w * self.conv_mask).reshape(s["M"] * s["F"], self.n_inputs, s["k"])

    def forward_frames(self, padded: torch.Tensor, stride: int = 10) -> torch.Tensor:
        """Every image of one padded recording, convolved once (see :meth:`CERMTL.forward_frames`).

        ``padded`` (T + (N - 1) * stride, n_inputs) -> (M, T, K_max).
        """
        n_rows = padded.shape[0] - (self.n_frames - 1) * stride
        if padded.ndim != 2 or padded.shape[1] != self.n_inputs or n_rows < 1:
            raise ValueError(f"forward_frames expects a padded recording (T + {self.n_frames - 1} * stride, "
                             f"{self.n_inputs}), got {tuple(padded.shape)}")
        full = torch.nn.functional.conv1d(padded.t()[None], self._conv_weight(), self.conv_b.reshape(-1),
                                          dilation=stride)[0]
        width = self.n_frames - self.sizes["k"] + 1
        return self._heads(full.unfold(1, (width - 1) * stride + 1, 1)[:, :n_rows, ::stride].permute(1, 0, 2))

    def _heads(self, y: torch.Tensor) -> torch.Tensor:
        s = self.sizes
        M, F, L, pool = s["M"], s["F"], s["L"], s["pool"]
        B = y.shape[0]
        z = relu_max_pool(y, pool).reshape(B, M, F, L)
        seq = z.permute(1, 0, 3, 2) if self.gru_over == "time" else z.permute(1, 0, 2, 3)  # (M, B, steps, I)
        n_steps = seq.shape[2]
        kh = s["K"] * s["H"]
        gi = torch.baddbmm(self.b_ih, seq.reshape(M, B * n_steps, s["I"]), self.w_ih)
        gi = gi.reshape(M, B, n_steps, -1).split([2 * kh, kh], dim=3)  # split/unbind: see fused_heads
        w_hh = self.w_hh * self.hh_mask
        h = None
        for gi_ru, gi_n in zip(*(g.unbind(2) for g in gi)):
            gh = self.b_hh.expand(M, B, -1) if h is None else torch.baddbmm(self.b_hh, h, w_hh)
            gh_ru, gh_n = gh.split([2 * kh, kh], dim=2)
            r, u = torch.sigmoid(gi_ru + gh_ru).split(kh, dim=2)
            n = torch.tanh(gi_n + r * gh_n)
            h = n - u * n if h is None else n + u * (h - n)  # (1 - u) n + u h, two ops fewer
        hidden = self.act(torch.baddbmm(self.fc_b, h, self.fc_w * self.fc_mask))
        return torch.baddbmm(self.out_b, hidden, self.out_w * self.out_mask)  # (M, B, K)

    def keep(self, index: Sequence[int]) -> "StackedGroup":
        """A group of the members ``index`` only, with their current weights (shared, not copied)."""
        new = copy.copy(self)
        new._parameters = dict(self._parameters)
        new._buffers = dict(self._buffers)
        new._modules = dict(self._modules)
        idx = torch.as_tensor(list(index), dtype=torch.long, device=self.conv_w.device)
        for name, p in self._parameters.items():
            new._parameters[name] = nn.Parameter(p.detach().index_select(0, idx))
        new._buffers["conv_mask"] = self.conv_mask.index_select(0, idx)
        new.columns = [self.columns[i] for i in index]
        new.tasks = [self.tasks[i] for i in index]
        new.n_tasks = [self.n_tasks[i] for i in index]
        new.sizes = dict(self.sizes, M=len(idx))
        return new


def _check_input(model: nn.Module, x: torch.Tensor) -> None:
    if x.ndim != 3 or x.shape[1] != model.n_features or x.shape[2] != model.n_frames:
        raise ValueError(
            f"{type(model).__name__} expects feature images of shape (B, {model.n_features}, "
            f"{model.n_frames}) (batch, features P, frames N), got {tuple(x.shape)}"
        )


def parameter_count(model: nn.Module) -> int:
    """Number of parameters as Keras' ``count_params`` reports it.

    Keras counts a BatchNormalization layer's moving mean and variance (its
    "non-trainable parameters") along with the trainable weights; PyTorch
    keeps them as buffers. This adds them, so figures compare with the paper's.

    Examples
    --------
    >>> parameter_count(nn.BatchNorm1d(25))     # gamma, beta + running mean, var
    100
    """
    n = sum(p.numel() for p in model.parameters())
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            n += m.running_mean.numel() + m.running_var.numel()
    return int(n)


def layer_table(model: nn.Module, batch_size: int = 1):
    """A Keras-style summary: each layer, its output shape and parameter count.

    Runs one forward pass on zeros and records every leaf module.

    Returns
    -------
    pandas.DataFrame with columns ``layer``, ``output shape``, ``parameters``;
    the parameters column sums to :func:`parameter_count`.

    Examples
    --------
    >>> int(layer_table(CERMTL())["parameters"].sum())
    6235
    """
    import pandas as pd

    rows = []

    def hook(name):
        def record(module, _inputs, output):
            if isinstance(output, tuple):  # GRU: (sequence, last state); the model uses the last state
                output = output[1][-1]
            rows.append(
                {
                    "layer": f"{name} ({type(module).__name__})",
                    "output shape": tuple(output.shape),
                    "parameters": parameter_count(module),
                }
            )

        return record

    handles = [
        m.register_forward_hook(hook(name))
        for name, m in model.named_modules()
        if name and not list(m.children())
    ]
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(batch_size, model.n_features, model.n_frames, device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return pd.DataFrame(rows)
