"""The speed work, in a room of its own (taught in notebook 09).

:mod:`cerlib.models` holds the paper's networks in plain PyTorch: what
``model(x)`` runs is what notebook 04 draws. Training them one layer at a
time is slow on a CPU for a reason that has nothing to do with arithmetic: a
6k-parameter network's step is thousands of tiny operations, each costing
more in Python and dispatch than in floating point. The engine runs the same
arithmetic with fewer, larger operations, and writes the trained weights
back into the plain models::

    kernels   conv1d as a 2-D convolution, ReLU + max-pool as elementwise ops,
              many GRUs as one batched recurrence (fused heads)
    stacked   StackedGroup: M models as one network; PlainGroup: any model alone
    loop      Bank (the batch gatherer), stacked Adam, early stopping, scoring,
              and the one training loop that ``fit`` and ``fit_group`` share

Examples
--------
>>> from cerlib import CERMTL
>>> from cerlib.engine import StackedGroup
>>> model = CERMTL()
>>> x = torch.randn(4, 63, 20)
>>> bool(torch.allclose(StackedGroup([model])(x)[0], model(x), atol=1e-5))
True
"""
from .counting import AtenCalls
from .kernels import conv1d_as_2d, fused_heads, relu_max_pool, stacked_gru
from .loop import Bank, EarlyStopping, History, regroup, score_predictions, stacked_adam, train_members
from .stacked import PlainGroup, StackedGroup, build_group, forward_frames

__all__ = ["AtenCalls", "conv1d_as_2d", "relu_max_pool", "stacked_gru", "fused_heads", "StackedGroup", "PlainGroup", "build_group",
           "forward_frames", "Bank", "History", "EarlyStopping", "score_predictions", "stacked_adam", "regroup",
           "train_members"]
