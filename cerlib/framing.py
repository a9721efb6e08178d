"""Feature images: the paper's Eq. (1), Section II.C.

A network that sees one frame at a time sees 16.7 ms of a recording. To give
it context, frame ``l`` is represented by a *feature image* ``F_l``: ``N``
feature vectors taken every ``t`` (= ``stride``) frames around ``l``::

    F_l = [f_{l + k t}  for k = -N/2 + 1, ..., N/2]          (P x N)

With N = 20 and t = 10 an image spans (N - 1) t + 1 = 191 frames, about
3.2 s at 60 fps (the paper rounds this to "N t = 200 frames, 3.3 s").

The printed Eq. (1) and its off-by-one
--------------------------------------
The paper prints the image as ``f_{l+1-Nt/2}, ..., f_{l-t}, f_l, f_{l+t},
..., f_{l+Nt/2}``. Its middle terms step by ``t`` from ``l``, so every term
should be ``l`` plus a multiple of ``t``; the first term ``l + 1 - Nt/2`` is
not (with t = 10 it is ``l - 99``, between ``l - 100`` and ``l - 90``). Read
literally the list is not evenly spaced. The consistent reading, used here,
keeps the middle terms and the last one: ``k = -N/2 + 1 .. N/2``, i.e. from
``l - (N/2 - 1) t`` to ``l + (N/2) t``. Note the asymmetry this leaves: the
image looks one step further into the future than into the past, and frame
``l`` is column ``N/2 - 1`` (0-based), not the centre.

Edges
-----
Indices are clamped to ``[0, T - 1]``: near the start and end of a recording
the first or last frame repeats. This is done by padding the features once
(``(N/2 - 1) t`` rows before, ``(N/2) t`` after) and returning a strided
*view* of the padded array: framing an hour at N = 60 costs one padded copy
of the features, never N copies.

One value
---------
``N`` and ``t`` always travel together as a :class:`Framing`. ``N`` is the
model's (its GRU reads N/2 pooled columns); ``t`` is the data's. A trained
model carries the pair in ``model.preprocessing.framing``, fixed once by
:func:`cerlib.training.fit`, and prediction frames new data with it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import whole_number

__all__ = ["Framing", "feature_images", "frame_offsets", "pad_features", "gather_images"]


def _check(n_frames: int, stride: int) -> None:
    n_frames = whole_number(n_frames, "n_frames", "an even integer >= 2: Eq. 1 uses N/2")
    if n_frames < 2 or n_frames % 2:
        raise ValueError(f"n_frames must be an even integer >= 2 (Eq. 1 uses N/2), got {n_frames!r}")
    if whole_number(stride, "stride", "frames between two columns, >= 1") < 1:
        raise ValueError(f"stride must be a positive integer number of frames, got {stride!r}")


@dataclass(frozen=True)
class Framing:
    """The framing of Eq. (1) as one value: ``n_frames`` columns, ``stride`` frames apart.

    Parameters
    ----------
    n_frames : int, default 20
        ``N``, even (whole floats such as a slider's 20.0 are accepted).
    stride : int, default 10
        ``t``, frames between two columns.

    Attributes
    ----------
    span : int
        Frames an image covers, ``(N - 1) t + 1``.

    Examples
    --------
    >>> framing = Framing(20, 10)
    >>> framing.span, framing.offsets()[[0, 9, -1]].tolist()     # frame l is column N/2 - 1
    (191, [-90, 0, 100])
    >>> x = np.arange(300, dtype=np.float32)[:, None]
    >>> framing.images(x).shape, framing.pad(x).shape
    ((300, 1, 20), (490, 1))
    >>> Framing(20.0, 3) == Framing(20, 3)
    True
    >>> Framing(21, 10)
    Traceback (most recent call last):
    ...
    ValueError: n_frames must be an even integer >= 2 (Eq. 1 uses N/2), got 21
    """

    n_frames: int = 20
    stride: int = 10

    def __post_init__(self):
        _check(self.n_frames, self.stride)
        object.__setattr__(self, "n_frames", int(self.n_frames))
        object.__setattr__(self, "stride", int(self.stride))

    @property
    def span(self) -> int:
        return (self.n_frames - 1) * self.stride + 1

    def offsets(self) -> np.ndarray:
        """:func:`frame_offsets` of this framing, shape (N,)."""
        return frame_offsets(self.n_frames, self.stride)

    def pad(self, features):
        """:func:`pad_features` with this framing: (T, P) -> (T + (N - 1) t, P)."""
        return pad_features(features, self.n_frames, self.stride)

    def images(self, features):
        """:func:`feature_images` with this framing: (T, P) -> (T, P, N), a view."""
        return feature_images(features, self.n_frames, self.stride)

    def gather(self, padded, rows, *, contiguous: bool = True):
        """:func:`gather_images` with this framing: rows (B,) of a padded bank -> (B, P, N)."""
        return gather_images(padded, rows, self.n_frames, self.stride, contiguous=contiguous)


def frame_offsets(n_frames: int = 20, stride: int = 10) -> np.ndarray:
    """Offsets, in frames, of the columns of a feature image from its frame ``l``.

    Parameters
    ----------
    n_frames : int
        ``N``, the number of columns (even).
    stride : int
        ``t``, frames between two columns.

    Returns
    -------
    offsets : np.ndarray, int64, shape (N,)
        ``k * stride`` for ``k = -N/2 + 1 .. N/2``.

    Examples
    --------
    >>> frame_offsets(4, 10).tolist()
    [-10, 0, 10, 20]
    """
    _check(n_frames, stride)
    half = n_frames // 2
    return np.arange(-half + 1, half + 1, dtype=np.int64) * int(stride)


def pad_features(features, n_frames: int = 20, stride: int = 10):
    """Pad ``features`` (T, P) by repeating the edge frames, so that every
    column of every feature image exists.

    Returns an array (or tensor) of shape ``(T + (N - 1) * stride, P)`` whose
    row ``l + (N/2 - 1) * stride`` is frame ``l``.

    Examples
    --------
    >>> pad_features(np.arange(3.0)[:, None], 2, 1)[:, 0].tolist()
    [0.0, 1.0, 2.0, 2.0]
    """
    offsets = frame_offsets(n_frames, stride)
    before, after = int(-offsets[0]), int(offsets[-1])
    if _is_torch(features):
        import torch

        if features.ndim != 2 or features.shape[0] < 1:
            raise ValueError(f"features must be (T, P) with T >= 1, got shape {tuple(features.shape)}")
        return torch.cat(
            [features[:1].expand(before, -1), features, features[-1:].expand(after, -1)]
        )
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[0] < 1:
        raise ValueError(f"features must be (T, P) with T >= 1, got shape {features.shape}")
    return np.pad(features, ((before, after), (0, 0)), mode="edge")


def feature_images(features, n_frames: int = 20, stride: int = 10):
    """All feature images of a recording, as a view: ``images[l] == F_l``.

    Parameters
    ----------
    features : np.ndarray or torch.Tensor, shape (T, P)
        Frame-level features, frames first.
    n_frames : int, default 20
        ``N``, columns per image (even). The paper uses 20, 40 and 60.
    stride : int, default 10
        ``t``, frames between columns.

    Returns
    -------
    images : same type as ``features``, shape (T, P, N)
        ``images[l, :, j] = features[clip(l + (j - N/2 + 1) * stride, 0, T-1)]``.
        A read-only strided view of one padded copy of ``features``; index it
        (``images[batch_idx]``) to get a (B, P, N) batch as a copy (not
        C-contiguous; ``np.ascontiguousarray`` or :func:`gather_images` if it
        must be).

    Notes
    -----
    See the module docstring for the off-by-one in the paper's printed Eq. (1)
    and why the last column, not the middle one, is furthest from ``l``.

    Examples
    --------
    >>> x = np.arange(6, dtype=np.float32)[:, None]      # T=6 frames, P=1
    >>> feature_images(x, n_frames=4, stride=2)[0, 0].tolist()   # frames -2, 0, 2, 4
    [0.0, 0.0, 2.0, 4.0]
    >>> feature_images(x, 4, 2).shape
    (6, 1, 4)
    """
    padded = pad_features(features, n_frames, stride)
    offsets = frame_offsets(n_frames, stride)  # evenly spaced by stride: a strided view
    span = int(offsets[-1] - offsets[0]) + 1
    if _is_torch(padded):
        # unfold gives (T, P, span) as a view; stepping through it keeps it a view
        return padded.unfold(0, span, 1)[:, :, ::stride]
    windows = np.lib.stride_tricks.sliding_window_view(padded, span, axis=0)
    return windows[:, :, ::stride]


def gather_images(padded, rows, n_frames: int = 20, stride: int = 10, *, contiguous: bool = True):
    """Feature images for arbitrary frames of an already padded bank.

    Used by training to draw shuffled batches across many recordings without
    materialising every image: ``padded`` is the concatenation of several
    :func:`pad_features` outputs, ``rows`` the padded row index of frame 0 of a
    recording plus ``l``.

    Parameters
    ----------
    padded : torch.Tensor or np.ndarray, shape (R, P)
    rows : integer array or tensor, shape (B,)
        Index into ``padded`` of each image's column 0 (that is, frame
        ``l - (N/2 - 1) * stride`` after padding).

    contiguous : bool, default True
        False returns the (B, P, N) transpose of the contiguous (B, N, P)
        gather without copying it (the frames-last layout a convolution can
        read directly, as ``channels_last``).

    Returns
    -------
    batch : shape (B, P, N), a new array or tensor (C-contiguous unless asked otherwise).

    Examples
    --------
    >>> x = np.arange(6, dtype=np.float32)[:, None]
    >>> p = pad_features(x, 4, 2)
    >>> bool((gather_images(p, np.array([3]), 4, 2) == feature_images(x, 4, 2)[3]).all())
    True
    """
    if _is_torch(padded):  # the steps are built (and the framing checked) once per framing and device
        idx = rows[:, None] + _steps_on(n_frames, stride, rows.device)
        # index_select on flat rows: several times faster than advanced indexing on the CPU
        flat = padded.index_select(0, idx.reshape(-1)).view(len(rows), n_frames, padded.shape[1])
        return flat.transpose(1, 2).contiguous() if contiguous else flat.transpose(1, 2)
    idx = np.asarray(rows)[:, None] + _row_steps(n_frames, stride)
    batch = np.asarray(padded)[idx].transpose(0, 2, 1)
    return np.ascontiguousarray(batch) if contiguous else batch


_STEPS: dict = {}


def _steps_on(n_frames: int, stride: int, device):
    """The (N,) row steps of an image as a tensor on ``device``, built once per device.

    A training step then copies nothing from the host: on a GPU a copy per step
    would be a host-device synchronisation per batch.
    """
    import torch

    key = (int(n_frames), int(stride), str(device))
    if key not in _STEPS:
        _STEPS[key] = torch.as_tensor(_row_steps(n_frames, stride), device=device)
    return _STEPS[key]


def _row_steps(n_frames: int, stride: int) -> np.ndarray:
    """Rows of a padded bank that an image's N columns read, from its column 0: ``k * stride``, k = 0..N-1."""
    offsets = frame_offsets(n_frames, stride)
    return offsets - offsets[0]


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")
