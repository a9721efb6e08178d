"""Counting ATen calls: a stand-in for GPU kernel launches on a machine without a GPU.

Examples
--------
>>> with AtenCalls() as calls:
...     _ = torch.ones(3) * 2
>>> calls.counts["mul"]
1
"""
from __future__ import annotations

from collections import Counter

from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["AtenCalls"]


class AtenCalls(TorchDispatchMode):
    """A context that counts every ATen call made inside it, by name (``counts``, a Counter).

    Counted below autograd, so forward, backward and optimiser calls are each one kernel
    (one launch on a GPU). ``benchmarks/run.py`` reports them per training step; the tests
    use them to find work that runs once per step where it should run once per training.

    Examples
    --------
    >>> with AtenCalls() as calls:
    ...     _ = (torch.ones(2, requires_grad=True) * 3).sum().backward()
    >>> calls.counts["mul"] >= 2, sum(calls.counts.values()) > 3
    (True, True)
    """

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))
