"""Correlation metrics on arrays: CCC, PCC, mean CCC over recordings, rolling CCC.

NumPy only, float64, *population* statistics (divide by ``n``): the AVEC
challenges' and ``audmetric``'s convention. :mod:`cerlib.losses` computes the
same quantities in torch. What CCC rewards that PCC does not (level and
spread, so ``|CCC| <= |PCC|``), and population against sample statistics:
notebook ``05_losses`` (Sections 1, 2 and 7); pooled against per-recording
scores: notebook ``06_training`` (Section 4).

Conventions shared by every function here:

* Frames first: ``(T,)`` for one task or ``(T, M)`` for ``M`` tasks, one value
  per task back.
* A side that is constant over the frames gives ``0.0``, never NaN ("constant
  input -> 0"), also when both sides are the *same* constant: such a
  "prediction" has learnt nothing about change, and a metric that jumped
  between 0 and 1 on flat stretches would make rolling CCC plots unreadable.
* NaN or infinite values, mismatched shapes and fewer than two frames raise
  ``ValueError``: silently ignoring them is how evaluation bugs hide.

Reference: Lin (1989), "A concordance correlation coefficient to evaluate
reproducibility", Biometrics 45(1).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ccc", "pcc", "mean_ccc", "rolling_ccc"]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _as_pair(y, y_hat, axis: int = 0, *, what: str = "y and y_hat"):
    """Validate a (reference, prediction) pair; return float64 arrays, frames first."""
    y = np.asarray(y, dtype=np.float64)
    y_hat = np.asarray(y_hat, dtype=np.float64)
    if y.shape != y_hat.shape:
        raise ValueError(
            f"{what} must have the same shape, got y {y.shape} and y_hat {y_hat.shape}"
        )
    if y.ndim == 0:
        raise ValueError(f"{what} must be arrays of frames, got scalars")
    try:
        y = np.moveaxis(y, axis, 0)
        y_hat = np.moveaxis(y_hat, axis, 0)
    except np.exceptions.AxisError:
        raise ValueError(f"axis {axis} is out of range for arrays of shape {y_hat.shape}") from None
    if y.shape[0] < 2:
        raise ValueError(
            f"{what} need at least 2 samples along axis {axis} for a correlation, "
            f"got shape {np.moveaxis(y, 0, axis).shape}"
        )
    for name, arr in (("y", y), ("y_hat", y_hat)):
        if not np.all(np.isfinite(arr)):
            n_nan = int(np.isnan(arr).sum())
            n_inf = int(np.isinf(arr).sum())
            raise ValueError(
                f"{name} contains {n_nan} NaN and {n_inf} infinite values; "
                "drop or fill missing frames before computing a correlation"
            )
    return y, y_hat


def _moments(y: np.ndarray, y_hat: np.ndarray):
    """Population moments over axis 0, jointly rescaled, constants made exact.

    Returns ``(var_y, var_h, cov, dmean, const_y, const_h)``. CCC and PCC are
    invariant to multiplying *both* traces by the same positive number, so we
    divide by the largest centred magnitude: squares then never overflow, and
    a column that is constant gets exactly zero variance and covariance
    (rather than the 1e-34 that rounding in the mean would leave).
    """
    const_y = y.max(axis=0) == y.min(axis=0)
    const_h = y_hat.max(axis=0) == y_hat.min(axis=0)
    mu_y = np.where(const_y, y[0], y.mean(axis=0))
    mu_h = np.where(const_h, y_hat[0], y_hat.mean(axis=0))
    a = y - mu_y
    b = y_hat - mu_h
    dmean = mu_h - mu_y
    scale = np.maximum(np.maximum(np.abs(a).max(axis=0), np.abs(b).max(axis=0)), np.abs(dmean))
    scale = np.where(scale > 0, scale, 1.0)
    a = a / scale
    b = b / scale
    dmean = dmean / scale
    var_y = np.mean(a * a, axis=0)
    var_h = np.mean(b * b, axis=0)
    cov = np.mean(a * b, axis=0)
    return var_y, var_h, cov, dmean, const_y, const_h


def _out(value: np.ndarray):
    value = np.clip(value, -1.0, 1.0)  # rounding may leave 1 + 1e-16
    if value.ndim == 0:
        return float(value)
    return value


# --------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------

def ccc(y, y_hat, axis: int = 0):
    r"""Concordance correlation coefficient (Lin, 1989), population statistics.

    .. math::

        \mathrm{CCC} = \frac{2\,\sigma_{y\hat y}}
                            {\sigma_y^2 + \sigma_{\hat y}^2 + (\mu_y - \mu_{\hat y})^2}

    with means, variances and the covariance taken with ``1/n`` (population
    statistics), as in the AVEC challenges and ``audmetric.concordance_cc``.

    Parameters
    ----------
    y : array_like, shape (T,) or (T, M)
        Reference (gold standard) trace(s); ``M`` tasks side by side.
    y_hat : array_like, same shape as ``y``
        Predicted trace(s).
    axis : int, default 0
        The frame (time) axis the statistics are taken over.

    Returns
    -------
    float or ndarray of shape (M,)
        A Python float for 1-D input, one value per task otherwise, in
        ``[-1, 1]``.

    Raises
    ------
    ValueError
        If the shapes differ (both are named), if there are fewer than two
        frames, or if either input holds NaN or infinite values.

    Notes
    -----
    *Constant input.* If either trace is constant over the frames, the
    result is ``0.0``. When only one side is constant this is what the formula
    gives anyway (the covariance is 0 and the denominator is not); when both
    are the same constant the formula is 0/0, and we define it as 0 (see the
    module docstring). Identical non-constant traces give exactly 1.0.

    *Population versus sample statistics.* ``torchmetrics`` and some MuSe
    baselines divide by ``n - 1``. The two agree when the means agree and
    otherwise differ by a factor of at most ``1 + 1/(n-1)`` (under 0.4 % for a
    batch of 256); PCC is the same under both. Notebook 05, Section 7, derives
    it and compares with both libraries.

    Examples
    --------
    >>> import numpy as np
    >>> from cerlib.metrics import ccc
    >>> y = np.array([-1.0, 1.0, 1.0, -1.0])    # mean 0, variance 1
    >>> ccc(y, y)
    1.0
    >>> round(ccc(y, y + 1.0), 4)    # same shape, wrong level: 2 / (1 + 1 + 1)
    0.6667
    >>> round(ccc(y, 2 * y), 4)      # same shape, wrong spread: 4 / (1 + 4)
    0.8
    >>> ccc(y, np.zeros(4))          # a flat prediction
    0.0
    >>> ccc(np.stack([y, -y], axis=1), np.stack([y, y], axis=1))  # two tasks
    array([ 1., -1.])
    """
    y, y_hat = _as_pair(y, y_hat, axis)
    var_y, var_h, cov, dmean, const_y, const_h = _moments(y, y_hat)
    denom = var_y + var_h + dmean * dmean
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denom > 0, 2.0 * cov / np.where(denom > 0, denom, 1.0), 0.0)
    value = np.where(const_y | const_h, 0.0, value)
    return _out(value)


def pcc(y, y_hat, axis: int = 0):
    r"""Pearson correlation coefficient, population statistics.

    .. math::

        \mathrm{PCC} = \frac{\sigma_{y\hat y}}{\sigma_y\,\sigma_{\hat y}}

    The ``1/n`` versus ``1/(n-1)`` choice cancels here, so this equals
    ``scipy.stats.pearsonr`` and ``numpy.corrcoef``; it is computed the same
    way as :func:`ccc` for consistency.

    Parameters
    ----------
    y : array_like, shape (T,) or (T, M)
        Reference trace(s).
    y_hat : array_like, same shape as ``y``
        Predicted trace(s).
    axis : int, default 0
        The frame (time) axis.

    Returns
    -------
    float or ndarray of shape (M,)
        A Python float for 1-D input, one value per task otherwise, in
        ``[-1, 1]``.

    Raises
    ------
    ValueError
        If the shapes differ, there are fewer than two frames, or an input
        holds NaN or infinite values.

    Notes
    -----
    If either side is constant the correlation is undefined (0/0); we return
    ``0.0``. PCC ignores level and scale: ``pcc(y, a * y + b) == 1`` for any
    ``a > 0``, which is why a model trained on PCC alone may need its outputs
    re-scaled before its CCC is any good.

    Examples
    --------
    >>> import numpy as np
    >>> from cerlib.metrics import pcc
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> round(pcc(y, 2 * y + 1), 12)   # blind to scale and offset
    1.0
    >>> pcc(y, np.zeros(4))            # constant side -> 0, not NaN
    0.0
    """
    y, y_hat = _as_pair(y, y_hat, axis)
    var_y, var_h, cov, _, const_y, const_h = _moments(y, y_hat)
    denom = np.sqrt(var_y) * np.sqrt(var_h)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denom > 0, cov / np.where(denom > 0, denom, 1.0), 0.0)
    value = np.where(const_y | const_h, 0.0, value)
    return _out(value)


def mean_ccc(ys: Sequence, y_hats: Sequence, how: str = "pooled"):
    """CCC over a set of recordings (a test fold), pooled or per recording.

    The paper reports a "mean CCC" without saying how recordings are
    combined (see the paper summary, "Known gaps"). Two readings are common:

    ``how="pooled"`` (the course's default)
        Concatenate all recordings of the fold frame by frame and compute one
        CCC per task over the whole. Every frame counts once. This is stable
        on short recordings (a CCC over a few hundred frames swings wildly)
        and is how AVEC scores its development and test partitions.
    ``how="per_recording"``
        Compute a CCC per recording, then take the unweighted mean over
        recordings. Every recording counts once, however long; it asks
        "does the model follow changes *within* a conversation?"

    They can differ a lot. Pooling rewards getting each recording's *level*
    right (between-recording variation is part of the pooled variance);
    per-recording CCC ignores levels and looks only within recordings.

    Parameters
    ----------
    ys : sequence of array_like, each (T_i,) or (T_i, M)
        Reference traces, one array per recording; lengths ``T_i`` may
        differ, the trailing shape may not.
    y_hats : sequence of array_like
        Predictions, one per recording, each the shape of its reference.
    how : {"pooled", "per_recording"}, default "pooled"

    Returns
    -------
    float or ndarray of shape (M,)
        A float for 1-D recordings, one value per task otherwise.

    Raises
    ------
    ValueError
        If the lists differ in length or are empty, if a recording's
        prediction does not match its reference (the recording's index is
        named), if ``how`` is unknown, or for any reason :func:`ccc` raises.
    TypeError
        If a single 1-D or 2-D array is passed instead of a list of
        recordings (it would otherwise be read row by row).

    Examples
    --------
    Two recordings whose levels differ (one speaker is calmer than the
    other). The prediction gets each level right but moves the wrong way
    inside each recording:

    >>> import numpy as np
    >>> from cerlib.metrics import mean_ccc
    >>> ys = [np.array([0.0, 1.0]), np.array([10.0, 11.0])]
    >>> y_hats = [np.array([1.0, 0.0]), np.array([11.0, 10.0])]
    >>> round(mean_ccc(ys, y_hats, how="pooled"), 4)
    0.9802
    >>> mean_ccc(ys, y_hats, how="per_recording")
    -1.0
    """
    if how not in ("pooled", "per_recording"):
        raise ValueError(f"how must be 'pooled' or 'per_recording', got {how!r}")
    for name, seq in (("ys", ys), ("y_hats", y_hats)):
        if isinstance(seq, np.ndarray) and seq.ndim < 3:
            raise TypeError(
                f"{name} must be a list of arrays, one per recording, got a single "
                f"array of shape {seq.shape}; wrap it as [{name}] for one recording"
            )
    ys = [np.asarray(y, dtype=np.float64) for y in ys]
    y_hats = [np.asarray(y, dtype=np.float64) for y in y_hats]
    if len(ys) != len(y_hats):
        raise ValueError(
            f"ys has {len(ys)} recordings but y_hats has {len(y_hats)}"
        )
    if not ys:
        raise ValueError("mean_ccc needs at least one recording, got none")
    trailing = ys[0].shape[1:]
    for i, (y, y_hat) in enumerate(zip(ys, y_hats)):
        if y.shape != y_hat.shape:
            raise ValueError(
                f"recording {i}: y has shape {y.shape} but y_hat has shape {y_hat.shape}"
            )
        if y.ndim == 0 or y.shape[1:] != trailing:
            raise ValueError(
                f"recording {i} has shape {y.shape}; every recording must be "
                f"(T_i,) + {trailing}, like recording 0 with shape {ys[0].shape}"
            )
    if how == "pooled":
        return ccc(np.concatenate(ys, axis=0), np.concatenate(y_hats, axis=0))
    values = []
    for i, (y, y_hat) in enumerate(zip(ys, y_hats)):
        try:
            values.append(np.asarray(ccc(y, y_hat)))
        except ValueError as err:
            raise ValueError(f"recording {i}: {err}") from None
    return _out(np.mean(values, axis=0))


def rolling_ccc(y, y_hat, window: int = 100):
    """Running CCC over the previous ``window`` frames, as in the paper's Fig. 2.

    The value at frame ``t`` is ``ccc(y[s:t+1], y_hat[s:t+1])`` with
    ``s = max(0, t - window + 1)``: the current frame and up to
    ``window - 1`` before it. Near the start fewer frames are available and
    the window simply grows (so with ``window >= T`` the last value equals
    ``ccc(y, y_hat)``).

    Parameters
    ----------
    y : array_like, shape (T,) or (T, M)
        Reference trace(s).
    y_hat : array_like, same shape as ``y``
        Predicted trace(s).
    window : int, default 100
        Number of frames in each window, at least 1.

    Returns
    -------
    ndarray, shape (T,) or (T, M)
        Float64, never NaN. Frames whose window holds fewer than 2 samples
        (frame 0, or every frame when ``window == 1``) are ``0.0``, as are
        windows over which either trace is constant (the rule of :func:`ccc`).

    Raises
    ------
    ValueError
        As :func:`ccc` (shape mismatch, NaN/inf, fewer than 2 frames), or if
        ``window`` is not a positive integer.

    Notes
    -----
    Computed in O(T) with cumulative sums of ``x``, ``x**2`` and ``x*y``
    rather than a loop over frames. Running sums of squares lose precision
    when the data sit far from zero (``E[x^2] - E[x]^2`` cancels), so both
    traces are first shifted by one common offset and divided by one common
    scale (CCC does not change under a shared affine map). Windows over which
    a trace is exactly constant are found with a running count of changes
    and get exactly 0; windows whose variance is below the rounding error of
    the running sums are treated as constant too.

    Examples
    --------
    >>> import numpy as np
    >>> from cerlib.metrics import rolling_ccc, ccc
    >>> t = np.arange(300)
    >>> y = np.sin(t / 20)
    >>> y_hat = np.where(t < 150, y, -y)     # right, then upside down
    >>> r = rolling_ccc(y, y_hat, window=100)
    >>> r.shape
    (300,)
    >>> round(float(r[149]), 6)               # last 100 frames all right
    1.0
    >>> bool(r[-1] < -0.99)                   # last 100 frames all upside down
    True
    >>> bool(np.isclose(r[120], ccc(y[21:121], y_hat[21:121])))
    True
    """
    if isinstance(window, (bool, np.bool_)) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    y, y_hat = _as_pair(y, y_hat, 0)
    n_frames = y.shape[0]
    # one shared affine map: centre on the pooled mean, scale by the pooled spread
    centre = 0.5 * (y.mean(axis=0) + y_hat.mean(axis=0))
    x1 = y - centre
    x2 = y_hat - centre
    scale = np.maximum(np.abs(x1).max(axis=0), np.abs(x2).max(axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    x1 = x1 / scale
    x2 = x2 / scale

    end = np.arange(1, n_frames + 1)                    # window is [start, end)
    start = np.maximum(0, end - window)
    count = (end - start).astype(np.float64)
    if y.ndim > 1:
        count = count.reshape((-1,) + (1,) * (y.ndim - 1))

    def window_sum(values):
        csum = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
        return csum[end] - csum[start], csum[end]

    def changes(values):
        # number of t in (start, end) with values[t] != values[t-1]: 0 <=> constant window
        diff = (values[1:] != values[:-1]).astype(np.int64)
        csum = np.concatenate([np.zeros((2,) + values.shape[1:], dtype=np.int64),
                               np.cumsum(diff, axis=0)])
        return csum[end] - csum[start + 1]

    s1, _ = window_sum(x1)
    s2, _ = window_sum(x2)
    s11, prefix11 = window_sum(x1 * x1)
    s22, prefix22 = window_sum(x2 * x2)
    s12, _ = window_sum(x1 * x2)
    m1 = s1 / count
    m2 = s2 / count
    var1 = s11 / count - m1 * m1
    var2 = s22 / count - m2 * m2
    cov = s12 / count - m1 * m2
    # rounding error of a difference of running sums is ~ eps * (prefix sum)
    tol1 = 1e3 * np.finfo(np.float64).eps * (prefix11 + 1.0) / count
    tol2 = 1e3 * np.finfo(np.float64).eps * (prefix22 + 1.0) / count
    flat1 = (changes(y) == 0) | (var1 <= tol1)
    flat2 = (changes(y_hat) == 0) | (var2 <= tol2)
    var1 = np.where(flat1, 0.0, var1)
    var2 = np.where(flat2, 0.0, var2)
    # |cov| <= sqrt(var1 var2) holds exactly; enforce it against rounding
    bound = np.sqrt(var1 * var2)
    cov = np.clip(cov, -bound, bound)
    denom = var1 + var2 + (m1 - m2) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denom > 0, 2.0 * cov / np.where(denom > 0, denom, 1.0), 0.0)
    small = (count < 2) if y.ndim == 1 else np.broadcast_to(count < 2, value.shape)
    value = np.where(small | flat1 | flat2, 0.0, value)
    return np.clip(value, -1.0, 1.0)
