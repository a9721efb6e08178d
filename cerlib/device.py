"""The device to train on and the seeds that make a run repeat.

Part of the training story (:mod:`cerlib.training` re-exports every name):
:func:`pick_device` chooses CUDA, Apple's MPS or the CPU, :func:`describe_device`
names it for a report, :func:`seed_everything` seeds Python, NumPy and torch.

Examples
--------
>>> from cerlib.device import pick_device
>>> pick_device("cpu").type
'cpu'
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["pick_device", "describe_device", "seed_everything"]


def pick_device(device: str | torch.device | None = None, *, verbose: bool = False) -> torch.device:
    """The device to train on: the one asked for, else ``$CERLIB_DEVICE``,
    else CUDA, then Apple's MPS, then the CPU.

    Examples
    --------
    >>> pick_device("cpu")
    device(type='cpu')
    """
    choice = device if device is not None else os.environ.get("CERLIB_DEVICE") or None
    if choice is None:
        if torch.cuda.is_available():
            choice = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            choice = "mps"
        else:
            choice = "cpu"
    dev = torch.device(choice)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for, but torch sees no CUDA GPU on this machine")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("device 'mps' was asked for, but torch sees no Apple GPU (MPS) on this machine")
    if verbose:
        print(f"cerlib uses {describe_device(dev)}")
    return dev


def describe_device(device: torch.device | str | None = None) -> str:
    """A human-readable name, e.g. ``'cuda (NVIDIA H100 80GB HBM3)'`` or ``'cpu (2 threads)'``.

    Examples
    --------
    >>> describe_device("cpu")                        # doctest: +ELLIPSIS
    'cpu (... thread...)'
    """
    dev = pick_device(device)
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    if dev.type == "cpu":
        n = torch.get_num_threads()
        return f"cpu ({n} thread{'s' if n != 1 else ''})"
    return dev.type


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (all devices). Call before building a model
    so that its initial weights repeat; ``fit(seed=...)`` seeds the batch order.

    Examples
    --------
    >>> seed_everything(0); a = torch.rand(1)
    >>> seed_everything(0); bool(a == torch.rand(1))
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
