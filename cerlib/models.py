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

What ``model(x)`` runs is exactly the modules built here, one layer at a
time, in training and in evaluation. ``fit`` trains the same arithmetic
through :mod:`cerlib.engine` (several models stacked into one, fewer and
larger operations; notebook 09) and writes the trained weights back here.

Other open choices, made here and easy to change: 'valid' convolution (Keras'
default), the GRU's last state feeds the dense layers, and the 2-unit dense
layer uses ``tanh`` (a 2-unit ReLU layer can die and leave a flat output).
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd
import torch
from torch import nn

from ._util import whole_number
from .layouts import CREATIVEIT

__all__ = ["CERMTL", "PureCNN", "build_model", "parameter_count", "layer_table", "DEFAULT_TASKS", "ACTIVATIONS",
           "READINGS"]

#: CreativeIT's three tasks (the paper's main corpus).
DEFAULT_TASKS = CREATIVEIT.tasks

#: The 2-unit dense layer's choices of activation, by name.
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "linear": nn.Identity}


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
        self.act = ACTIVATIONS[fc_activation]()
        self.out = nn.Linear(fc_units, 1)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:  # (B, L, input_size) -> (B,)
        _, h_last = self.gru(seq)
        return self.out(self.act(self.fc(h_last[-1]))).squeeze(-1)


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
        n_features, n_frames = whole_number(n_features, "n_features"), whole_number(n_frames, "n_frames")
        if gru_over not in ("time", "filters"):
            raise ValueError(f"gru_over must be 'time' or 'filters', got {gru_over!r}")
        if fc_activation not in ACTIVATIONS:
            raise ValueError(f"fc_activation must be one of {sorted(ACTIVATIONS)}, got {fc_activation!r}")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(self, x)
        z = self.shared(x)                                       # (B, n_filters, pooled)
        seq = z.transpose(1, 2) if self.gru_over == "time" else z  # (B, steps, step_size)
        return torch.stack([branch(seq) for branch in self.branches], dim=1)

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
        self.n_features = whole_number(n_features, "n_features")
        self.n_frames = whole_number(n_frames, "n_frames")
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


def _check_input(model: nn.Module, x: torch.Tensor) -> None:
    if x.ndim != 3 or x.shape[1] != model.n_features or x.shape[2] != model.n_frames:
        raise ValueError(
            f"{type(model).__name__} expects feature images of shape (B, {model.n_features}, "
            f"{model.n_frames}) (batch, features P, frames N), got {tuple(x.shape)}"
        )


#: The two readings of the paper's layer sizes (notebook 04): its literal text (6,235 parameters) and
#: the reconstruction that gives Table V's 5,615 (a GRU over the 25 filters, plus a batch norm).
READINGS = {"literal": dict(gru_over="time", batch_norm=False), "table-v": dict(gru_over="filters", batch_norm=True)}


def build_model(model: str = "cer-mtl", *, reading: str = "literal", n_features: int = 63, n_frames: int = 20,
                tasks: Sequence[str] = DEFAULT_TASKS) -> nn.Module:
    """A network by the names the grid and the command line use.

    Parameters
    ----------
    model : {"cer-mtl", "cer-stl", "pure-cnn"}
        CER-MTL and CER-STL are both :class:`CERMTL` (CER-STL: give one task);
        "pure-cnn" is :class:`PureCNN`, the Table V baseline.
    reading : {"literal", "table-v"}
        CER-MTL's layer reading (:data:`READINGS`); ignored by the Pure CNN.
    n_features, n_frames, tasks
        As for :class:`CERMTL`.

    Returns
    -------
    torch.nn.Module, untrained (seed it first with :func:`cerlib.device.seed_everything`).

    Examples
    --------
    >>> parameter_count(build_model()), parameter_count(build_model(reading="table-v"))
    (6235, 5615)
    >>> build_model("cer-stl", tasks=["valence"]).tasks, type(build_model("pure-cnn")).__name__
    (('valence',), 'PureCNN')
    """
    if model not in ("cer-mtl", "cer-stl", "pure-cnn"):
        raise ValueError(f"model must be 'cer-mtl', 'cer-stl' or 'pure-cnn', got {model!r}")
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {sorted(READINGS)}, got {reading!r}")
    if model == "cer-stl" and len(tasks) != 1:
        raise ValueError(f"CER-STL is one network per task: give one task, got {list(tasks)}")
    if model == "pure-cnn":
        return PureCNN(n_features=n_features, n_frames=n_frames, tasks=tasks)
    return CERMTL(n_features=n_features, n_frames=n_frames, tasks=tasks, **READINGS[reading])


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
