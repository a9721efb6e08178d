"""The arithmetic of the speed work: a convolution the CPU runs faster, ReLU and
max-pooling without autograd's pooling, and many GRUs as one recurrence.

Every function here computes what a plain layer of :mod:`cerlib.models`
computes, to float rounding; ``tests/test_engine.py`` checks outputs and
gradients. Notebook 09 explains why each helps a 6k-parameter network.
"""
from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["conv1d_as_2d", "relu_max_pool", "stacked_gru", "fused_heads"]


def conv1d_as_2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``conv1d(x, weight, bias)`` computed as a 2-D convolution of height 1.

    On the CPU, oneDNN's 2-D kernels read a frames-last batch (the transpose
    of a (B, N, P) gather, as ``channels_last``) without a copy and run about
    20 % faster than ``conv1d``, forward and backward.

    Parameters
    ----------
    x : torch.Tensor, shape (B, C_in, L)
    weight : torch.Tensor, shape (C_out, C_in, k)
    bias : torch.Tensor, shape (C_out,), or None

    Returns
    -------
    torch.Tensor, shape (B, C_out, L - k + 1)

    Examples
    --------
    >>> x, w = torch.randn(4, 6, 10), torch.randn(5, 6, 3)
    >>> bool(torch.allclose(conv1d_as_2d(x, w, None), torch.nn.functional.conv1d(x, w), atol=1e-5))
    True
    """
    return torch.nn.functional.conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias).squeeze(2)


def relu_max_pool(y: torch.Tensor, pool: int, dim: int = -1) -> torch.Tensor:
    """``MaxPool1d(pool)(relu(y))`` over axis ``dim`` (default: the last), written with elementwise ops.

    ``max(a, b) = b + relu(a - b)`` and ``relu`` commutes with ``max``; the
    backward of these is a few elementwise passes, several times cheaper on
    the CPU than autograd's max-pool. On a tie the gradient goes to the later
    element (max-pool picks the first); ties come from repeated edge frames,
    whose columns have the same gradient anyway.

    Parameters
    ----------
    y : torch.Tensor, shape (..., L_in) (or L_in on axis ``dim``)
    pool : int
    dim : int, default -1
        The axis to pool. Pooling the axis the data is laid out along
        (frames-last batches: the frames axis is not the last) reads the
        pairs as views, where a reshape of the transposed layout would copy.

    Returns
    -------
    torch.Tensor, shape (..., L_in // pool)

    Examples
    --------
    >>> y = torch.tensor([[-1.0, 2.0, 3.0, -4.0, -5.0]])
    >>> relu_max_pool(y, 2)
    tensor([[2., 3.]])
    >>> relu_max_pool(y.t(), 2, dim=0)
    tensor([[2.],
            [3.]])
    """
    pool = int(pool[0] if isinstance(pool, (tuple, list)) else pool)
    dim = dim % y.ndim
    n = y.shape[dim] // pool
    cols = y.narrow(dim, 0, n * pool).unflatten(dim, (n, pool)).unbind(dim + 1)
    z = cols[0]
    for c in cols[1:]:
        z = c + torch.relu(z - c)
    return torch.relu(z)


def stacked_gru(seq: torch.Tensor, w_ih: torch.Tensor, b_ih: torch.Tensor, w_hh: torch.Tensor,
                b_hh: torch.Tensor) -> torch.Tensor:
    """The last state of M independent GRUs, one per leading index, run as one batched recurrence.

    PyTorch's gate order (reset, update, new) and formula::

        r = s(W_ir x + b_ir + W_hr h + b_hr),  z = s(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) n + z h

    the last written ``h' = n + z (h - n)`` (two ops fewer). Weights are stored
    transposed and gate-major: columns ``[r | z | n]``, each ``S`` wide. K
    GRUs reading the same sequence are one GRU of ``S = K H`` with a
    block-diagonal ``w_hh`` (see :class:`cerlib.engine.StackedGroup`).

    Parameters
    ----------
    seq : torch.Tensor, shape (M, B, L, I)
    w_ih : (M, I, 3 S); b_ih : (M, 1, 3 S); w_hh : (M, S, 3 S); b_hh : (M, 1, 3 S)

    Returns
    -------
    torch.Tensor, shape (M, B, S): the state after the last step (zeros before the first).

    Examples
    --------
    >>> gru = torch.nn.GRU(4, 3, batch_first=True)
    >>> x = torch.randn(2, 6, 4)
    >>> w = lambda t: t.detach().t()[None]
    >>> b = lambda t: t.detach()[None, None]
    >>> h = stacked_gru(x[None], w(gru.weight_ih_l0), b(gru.bias_ih_l0), w(gru.weight_hh_l0), b(gru.bias_hh_l0))
    >>> bool(torch.allclose(h[0], gru(x)[1][0], atol=1e-6))
    True
    """
    M, B, L, I = seq.shape
    s = w_hh.shape[1]
    gi = torch.baddbmm(b_ih, seq.reshape(M, B * L, I), w_ih)
    # split/unbind, not gi[:, :, t] or gi[..., :s]: the backward of an index or a slice
    # zero-fills the whole tensor each time; split's and unbind's are one cat/stack
    gi = gi.reshape(M, B, L, -1).split([2 * s, s], dim=3)
    h = None
    for gi_rz, gi_n in zip(*(g.unbind(2) for g in gi)):
        gh = b_hh.expand(M, B, -1) if h is None else torch.baddbmm(b_hh, h, w_hh)
        gh_rz, gh_n = gh.split([2 * s, s], dim=2)
        r, z = torch.sigmoid(gi_rz + gh_rz).split(s, dim=2)
        n = torch.tanh(gi_n + r * gh_n)
        h = n - z * n if h is None else n + z * (h - n)
    return h


def fused_heads(branches: Sequence[torch.nn.Module], seq: torch.Tensor) -> torch.Tensor:
    """K task branches of a CER-MTL (GRU -> Dense -> Dense) run as one network.

    The K GRUs read the same sequence, so their input projections are one
    matrix product, and their recurrences one block-diagonal recurrence: the
    hidden state is the K states side by side and the recurrent matrix holds
    each GRU's matrix on its diagonal block (zeros elsewhere). The outputs and
    gradients are those of the K ``nn.GRU`` (the same sums, plus exact zeros).
    The fused matrices are rebuilt from the branches' own parameters on every
    call, so the gradients land on those parameters.

    Parameters
    ----------
    branches : sequence of K branches (``model.branches`` of a CERMTL)
    seq : torch.Tensor, shape (B, L, input_size)

    Returns
    -------
    torch.Tensor, shape (B, K)

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> model = CERMTL()
    >>> seq = torch.randn(4, 9, 25)
    >>> separate = torch.stack([b(seq) for b in model.branches], 1)
    >>> bool(torch.allclose(fused_heads(model.branches, seq), separate, atol=1e-6))
    True
    """
    grus = [b.gru for b in branches]

    def gates(name, i):  # gate i's rows of every branch's matrix
        return [getattr(g, name)[i * g.hidden_size:(i + 1) * g.hidden_size] for g in grus]

    w_ih = torch.cat([torch.cat(gates("weight_ih_l0", i)) for i in range(3)]).t()
    w_hh = torch.cat([torch.block_diag(*gates("weight_hh_l0", i)) for i in range(3)]).t()
    b_ih = torch.cat([torch.cat(gates("bias_ih_l0", i)) for i in range(3)])
    b_hh = torch.cat([torch.cat(gates("bias_hh_l0", i)) for i in range(3)])
    h = stacked_gru(seq[None], w_ih[None], b_ih[None, None], w_hh[None], b_hh[None, None])[0]
    fc_w = torch.block_diag(*[b.fc.weight for b in branches]).t()
    fc = torch.addmm(torch.cat([b.fc.bias for b in branches]), h, fc_w)
    out_w = torch.block_diag(*[b.out.weight for b in branches]).t()
    return torch.addmm(torch.cat([b.out.bias for b in branches]), branches[0].act(fc), out_w)
