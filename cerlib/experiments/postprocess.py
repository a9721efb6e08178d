"""The AVEC post-processing of predictions, fitted on the validation recordings only.

Examples
--------
>>> pp = PostProcess(shift=0, mean_pred=0.0, mean_ref=1.0, scale=2.0)
>>> pp.apply(np.array([0.0, 1.0]))
array([1., 3.])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..metrics import ccc

__all__ = ["PostProcess", "fit_postprocess", "shift_trace"]


@dataclass(frozen=True)
class PostProcess:
    """The AVEC post-processing of one task's predictions: optional time shift, then
    centring and scaling to the validation reference's mean and spread.

    ``apply(y_hat) = mean_ref + (shift(y_hat) - mean_pred) * scale`` with
    ``scale = std_ref / std_pred``, all fitted on the validation set only.

    Examples
    --------
    >>> pp = PostProcess(shift=0, mean_pred=0.0, mean_ref=1.0, scale=2.0)
    >>> pp.apply(np.array([0.0, 1.0]))
    array([1., 3.])
    """

    shift: int
    mean_pred: float
    mean_ref: float
    scale: float

    def apply(self, y_hat: np.ndarray) -> np.ndarray:
        return self.mean_ref + (shift_trace(np.asarray(y_hat, float), self.shift) - self.mean_pred) * self.scale


def shift_trace(y: np.ndarray, frames: int) -> np.ndarray:
    """Delay (frames > 0) or advance (< 0) a trace, repeating its edge value.

    Examples
    --------
    >>> shift_trace(np.array([1.0, 2.0, 3.0]), 1), shift_trace(np.array([1.0, 2.0, 3.0]), -1)
    (array([1., 1., 2.]), array([2., 3., 3.]))
    """
    if frames == 0 or len(y) == 0:
        return y
    k = min(abs(frames), len(y))
    if frames > 0:
        return np.concatenate([np.full(k, y[0]), y[:-k]])
    return np.concatenate([y[k:], np.full(k, y[-1])])


def fit_postprocess(references: Sequence[np.ndarray], predictions: Sequence[np.ndarray], *,
                    max_shift: int = 0) -> PostProcess:
    """Fit :class:`PostProcess` for one task on validation recordings.

    Parameters
    ----------
    references, predictions : sequences of (T_r,) arrays, one per validation recording
    max_shift : int
        Shifts -max_shift..max_shift frames are tried (per recording, edges repeated);
        the one with the best pooled CCC wins.

    Examples
    --------
    >>> t = np.arange(600) / 60
    >>> ref = np.sin(t); pred = 0.1 * np.sin(t - 0.5) - 3      # late, small and off level
    >>> pp = fit_postprocess([ref], [pred], max_shift=60)
    >>> pp.shift, round(pp.scale, 1), round(float(np.corrcoef(ref, pp.apply(pred))[0, 1]), 3)
    (-30, 10.1, 0.996)
    """
    refs = [np.asarray(r, float) for r in references]
    preds = [np.asarray(p, float) for p in predictions]
    if not refs or sum(len(r) for r in refs) < 2:
        raise ValueError("post-processing needs validation recordings with at least two frames")
    ref = np.concatenate(refs)
    best = None
    for shift in range(-int(max_shift), int(max_shift) + 1):
        pred = np.concatenate([shift_trace(p, shift) for p in preds])
        sd = pred.std()
        scale = float(ref.std() / sd) if sd > 1e-12 else 1.0
        candidate = PostProcess(shift, float(pred.mean()), float(ref.mean()), scale)
        score = float(ccc(ref, candidate.mean_ref + (pred - candidate.mean_pred) * scale))
        if best is None or score > best[0] + 1e-12:
            best = (score, candidate)
    return best[1]
