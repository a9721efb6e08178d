"""Per-column z-score normalisation with training statistics (:class:`Normaliser`).

Per-column z-scores whose statistics come from training speakers only: fit
on the training recordings (speaker-independent folds), apply the same
statistics to validation and test recordings. Pure NumPy; importable from
:mod:`cerlib.features` as well.

Examples
--------
>>> import numpy as np
>>> from cerlib.normaliser import Normaliser
>>> Normaliser.fit([np.array([[0.0], [2.0]])]).mean
array([1.], dtype=float32)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

__all__ = ["Normaliser"]


@dataclass(frozen=True, eq=False)
class Normaliser:
    """Per-column z-scores, ``(x - mean) / std``.

    Fit it on the training recordings only (speaker-independent folds) and
    apply the same statistics to validation and test recordings.

    Attributes
    ----------
    mean : np.ndarray, float32, shape (P,)
    std : np.ndarray, float32, shape (P,)
        Population standard deviation. A column that does not vary in the
        training data (std below ``1e-8``, e.g. a face column missing in every
        training recording) gets unit scale, as scikit-learn's StandardScaler
        does: dividing by a floored std would multiply test values by 1e8.

    Examples
    --------
    >>> import numpy as np
    >>> train = [np.array([[0.0, 5.0], [2.0, 5.0]]), np.array([[4.0, 5.0]])]
    >>> norm = Normaliser.fit(train)
    >>> norm.mean, norm.std.round(3)
    (array([2., 5.], dtype=float32), array([1.633, 1.   ], dtype=float32))
    >>> norm.transform(np.array([[2.0, 5.0]]))
    array([[0., 0.]], dtype=float32)
    """

    mean: np.ndarray
    std: np.ndarray

    #: Standard deviations below this are treated as zero variance (unit scale).
    STD_FLOOR = 1e-8

    def __post_init__(self):
        mean = np.array(self.mean, dtype=np.float32).reshape(-1)
        std = np.array(self.std, dtype=np.float32).reshape(-1)
        std = np.where(std < self.STD_FLOOR, np.float32(1.0), std).astype(np.float32)
        if mean.shape != std.shape:
            raise ValueError(f"mean has {mean.size} columns but std has {std.size}")
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise ValueError("mean and std must be finite")
        mean.flags.writeable = False
        std.flags.writeable = False
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def n_features(self) -> int:
        """Number of columns P."""
        return int(self.mean.shape[0])

    @classmethod
    def fit(cls, arrays: np.ndarray | Iterable[np.ndarray]) -> "Normaliser":
        """Pooled per-column mean and standard deviation over all frames.

        Parameters
        ----------
        arrays : array (T, P) or list of arrays (T_i, P)
            Training features; every array must have the same P.

        Returns
        -------
        Normaliser
        """
        if isinstance(arrays, np.ndarray):
            arrays = [arrays]
        arrays = [np.asarray(x) for x in arrays]
        if not arrays:
            raise ValueError("Normaliser.fit needs at least one (T, P) array, got none")
        n_cols = None
        count, mean, m2 = 0, None, None
        for i, x in enumerate(arrays):
            if x.ndim != 2:
                raise ValueError(f"array {i} must be 2-D (T, P), got shape {x.shape}")
            if n_cols is None:
                n_cols = x.shape[1]
                mean = np.zeros(n_cols)
                m2 = np.zeros(n_cols)
            elif x.shape[1] != n_cols:
                raise ValueError(
                    f"array {i} has {x.shape[1]} columns but array 0 has {n_cols}; "
                    "all arrays must share P"
                )
            if x.shape[0] == 0:
                continue
            x = x.astype(np.float64)
            if not np.isfinite(x).all():
                raise ValueError(f"array {i} contains NaN or infinite values")
            # Chan et al.'s pairwise update: stable, no concatenated copy.
            n_i = x.shape[0]
            mean_i = x.mean(axis=0)
            m2_i = ((x - mean_i) ** 2).sum(axis=0)
            total = count + n_i
            diff = mean_i - mean
            mean = mean + diff * (n_i / total)
            m2 = m2 + m2_i + diff**2 * (count * n_i / total)
            count = total
        if count == 0:
            raise ValueError("Normaliser.fit got only empty arrays (0 frames in total)")
        return cls(mean=mean, std=np.sqrt(m2 / count))

    def transform(self, x) -> np.ndarray:
        """``(x - mean) / std`` as float32.

        Parameters
        ----------
        x : array_like, shape (..., P)

        Returns
        -------
        np.ndarray, float32, same shape as ``x``
        """
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"expected an array with {self.n_features} columns (..., {self.n_features}), "
                f"got shape {x.shape} ({x.shape[-1] if x.ndim else 0} columns)"
            )
        return ((x - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        """Plain-Python form (lists of floats), e.g. for JSON."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normaliser":
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(mean=d["mean"], std=d["std"])
        except KeyError as err:
            raise ValueError(f"Normaliser dict needs 'mean' and 'std' keys, got {sorted(d)}") from err
