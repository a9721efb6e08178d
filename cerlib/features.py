"""Frame-level features: MFCC-39 speech, Euler-angle motion, z-score normalisation.

The paper (Section II.A) describes its features in one sentence each: per
frame, speech is "energy + MFCC 1..12 with deltas and delta-deltas" (39
numbers) and body motion is "raw Euler angles plus their deltas". Everything
else is a choice we have to make, and this module makes each one explicitly.

Pure array functions: NumPy in, NumPy out; the only imports are NumPy, SciPy
and librosa.

Speech (:func:`speech_features`)
--------------------------------
Frames. Frame ``k`` is centred at sample ``round(k * sr / fps)`` (halves
rounded up), computed from ``k`` directly rather than by adding a hop, so
there is no cumulative drift even when the hop is not a whole number of
samples (16 kHz at 60 fps is 266.67 samples). There are
``T = 1 + floor((n_samples - 1) * fps / sr)`` frames: one for every frame
centre that falls inside the signal, so the features line up one-to-one with
labels sampled at ``fps`` from time 0. See :func:`frame_centres`.

The choices below follow HTK's ``MFCC_E_D_A`` recipe (the AVEC baselines
and most of the literature this paper cites), adapted to 60 fps:

=================  ==========================================================
window             25 ms symmetric Hamming (HTK, AVEC). ``round(0.025*sr)``
                   samples; the window for centre ``c`` starts at
                   ``c - win_length // 2``.
edges              the signal is extended with **zeros** (not reflected), so
                   windows that overhang the start or end see silence. Zeros
                   invent no signal, work for audio shorter than a window,
                   and match librosa's default ``pad_mode="constant"``.
pre-emphasis       ``y[n] = x[n] - 0.97 x[n-1]`` (``y[0] = x[0]``) on the
                   whole signal, before zero extension (HTK's 0.97). It only
                   feeds the MFCCs, not the energy.
n_fft              the next power of two >= the window (512 at 16 kHz, 2048
                   at 44.1/48 kHz): HTK's convention, a bin spacing of
                   about 20-30 Hz at every sample rate.
spectrum           power, ``|rfft|**2`` (librosa/Kaldi; HTK's default uses
                   magnitude, which only changes the scale of the log-mels).
mel filterbank     26 triangular filters on the HTK mel scale, peak 1, not
                   area-normalised (``librosa.filters.mel(htk=True,
                   norm=None)``), from 0 Hz to ``min(8000, sr/2)`` Hz. The
                   8 kHz cap makes 16, 44.1 and 48 kHz recordings give
                   comparable cepstra (speech above 8 kHz carries little
                   emotion information and much microphone character).
                   One difference from HTK remains: librosa's triangles
                   are straight in Hz, HTK's straight in mel (weights
                   differ by at most 0.012; cepstra correlate at
                   r >= 0.9999, measured in notebook 01).
log                natural log, floored at ``1e-10`` (-100 dB re full
                   scale). The floor is about 20 dB below the quantisation
                   noise of 16-bit audio in one frame, so real recordings
                   never reach it; digital silence and zero padding do, and
                   get a finite value instead of ``-inf``.
cepstrum           DCT-II, orthonormal (``scipy.fft.dct(norm="ortho")``,
                   the same as HTK's ``sqrt(2/N)`` DCT for c1..c12); keep
                   c1..c12, drop c0 (log energy stands in for it).
lifter             HTK's sinusoidal lifter, L = 22:
                   ``c_n *= 1 + (L/2) sin(pi n / L)`` for n = 1..12. (We do
                   not use ``librosa.feature.mfcc(lifter=...)``: it counts
                   from c0 = 1, one off from HTK.)
log energy         ``log(max(sum((w * x)**2), 1e-10))`` of the
                   Hamming-windowed frame of the raw (not pre-emphasised)
                   signal; amplitude full scale = 1. (HTK's default,
                   ``RAWENERGY=T``, takes it before windowing: the two
                   correlate at r = 0.996 with an offset of about 0.93.)
deltas             HTK's regression over +-2 frames,
                   ``d_t = sum_th th (c_{t+th} - c_{t-th}) / (2 sum_th th**2)``,
                   which is ``librosa.feature.delta(width=5, order=1)``;
                   first/last frames replicated at the edges
                   (``mode="nearest"``, as HTK does, and it works for any T).
                   Units: per frame. At 60 fps +-2 frames spans +-33 ms, the
                   closest we can get to HTK's +-20 ms (at 100 fps) while
                   keeping HTK's 5-point regression; width 9 (+-67 ms) would
                   smooth over syllable onsets. Choose ``delta_width`` to
                   change it.
delta-deltas       the same regression applied to the deltas (HTK), not
                   librosa's ``order=2`` quadratic fit; support +-4 frames.
=================  ==========================================================

Memory: frames are cut and transformed ``chunk_frames`` (default
``2**19 // n_fft``, 1024 at 16 kHz) at a time, so one hour of 44.1 kHz audio
never builds the full (T, window) or (T, n_fft/2+1) matrices (which would be
2-4 GB); the signal itself is held once, in float32 unless it arrived as
float64 or int32; windowing, FFT and energy run in float32 (as librosa's),
the mel sums, the DCT and the deltas in float64.

Motion (:func:`motion_features`)
--------------------------------
The angles as given, then their deltas: the central difference
``(a[t+1] - a[t-1]) / 2`` (one-sided at the two ends; ``np.gradient``) of the
angles unwrapped along time with period 360, so a joint turning from 179 to
-179 degrees moves +2 degrees, not -358. Units: degrees, degrees per frame.
We use the plain central difference, not the +-2 regression of the speech
deltas, because motion capture at 60 fps is already smooth and the paper
calls them simply "deltas".

Normalisation (:class:`Normaliser`)
-----------------------------------
Per-column z-scores whose statistics come from training speakers only; the
class lives in :mod:`cerlib.normaliser` and is importable from here.
"""
from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Sequence

import librosa
import numpy as np
import scipy.fft

from .normaliser import Normaliser

__all__ = [
    "SPEECH_FEATURE_NAMES",
    "speech_features",
    "frame_count",
    "frame_centres",
    "frame_times",
    "motion_features",
    "motion_feature_names",
    "Normaliser",
]

# Defaults of speech_features; see the module docstring for the reasons.
WINDOW_S = 0.025
N_MELS = 26
N_MFCC = 12
FMIN = 0.0
FMAX = 8000.0
LIFTER = 22
PREEMPHASIS = 0.97
LOG_FLOOR = 1e-10
DELTA_WIDTH = 5
# FFT input per chunk when chunk_frames is None: 2 MiB of float32, small enough
# for a chunk's arrays to stay in cache from one pass over them to the next
CHUNK_SAMPLES = 2**19

_STATIC_NAMES = ("log_energy",) + tuple(f"mfcc_{i}" for i in range(1, N_MFCC + 1))

#: Names of the 39 columns of :func:`speech_features`, in order.
SPEECH_FEATURE_NAMES: tuple[str, ...] = (
    _STATIC_NAMES
    + tuple(f"d_{name}" for name in _STATIC_NAMES)
    + tuple(f"dd_{name}" for name in _STATIC_NAMES)
)


# ---------------------------------------------------------------------------
# Frame positions
# ---------------------------------------------------------------------------

def _positive(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive finite number, got {value!r}")
    return value


def _n_samples(n_samples) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
        raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}")
    if n_samples < 0:
        raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}")
    return int(n_samples)


def frame_count(n_samples: int, sr: float, fps: float = 60.0) -> int:
    """Number of frame centres inside a signal of ``n_samples`` samples.

    Parameters
    ----------
    n_samples : int
        Length of the signal in samples (>= 0).
    sr : float
        Sample rate in Hz.
    fps : float
        Frame rate in frames per second.

    Returns
    -------
    int
        ``1 + floor((n_samples - 1) * fps / sr)``, or 0 for an empty signal,
        computed exactly (rational arithmetic, no rounding error).

    Examples
    --------
    >>> frame_count(16000, 16000, 60)   # one second: frames at 0, 1/60, ..., 59/60 s
    60
    >>> frame_count(16001, 16000, 60)
    61
    """
    n = _n_samples(n_samples)
    sr = _positive(sr, "sr (sample rate in Hz)")
    fps = _positive(fps, "fps (frames per second)")
    if n == 0:
        return 0
    return 1 + math.floor(Fraction(n - 1) * Fraction(fps) / Fraction(sr))


def frame_centres(n_samples: int, sr: float, fps: float = 60.0) -> np.ndarray:
    """Sample index of the centre of every frame, ``round(k * sr / fps)``.

    Each centre is computed from ``k`` on its own (not by accumulating a
    hop), with halves rounded up, so the error against the ideal position
    ``k * sr / fps`` is at most half a sample however long the signal is.
    With whole-number ``sr`` and ``fps`` the arithmetic is exact integer
    arithmetic.

    Parameters
    ----------
    n_samples : int
        Length of the signal in samples.
    sr : float
        Sample rate in Hz.
    fps : float
        Frame rate in frames per second.

    Returns
    -------
    np.ndarray, int64, shape (T,)
        ``T = frame_count(n_samples, sr, fps)``; every value lies in
        ``[0, n_samples - 1]``.

    Examples
    --------
    >>> frame_centres(1000, 16000, 60)
    array([  0, 267, 533, 800])
    """
    n_frames = frame_count(n_samples, sr, fps)
    sr, fps = float(sr), float(fps)
    k = np.arange(n_frames, dtype=np.int64)
    if sr.is_integer() and fps.is_integer() and sr * n_frames < 2**62:
        # round half up, exactly: floor((2 k sr + fps) / (2 fps))
        s, f = int(sr), int(fps)
        centres = (2 * s * k + f) // (2 * f)
    else:
        centres = np.floor(k * sr / fps + 0.5).astype(np.int64)
    # Guard against float rounding at the very end of the signal.
    return np.minimum(centres, max(n_samples - 1, 0))


def frame_times(n_frames: int, fps: float = 60.0) -> np.ndarray:
    """Time in seconds of the centre of each frame, ``k / fps``.

    Parameters
    ----------
    n_frames : int
        Number of frames T.
    fps : float
        Frame rate in frames per second.

    Returns
    -------
    np.ndarray, float64, shape (T,)
        Nominal centre times; the sampled centre of frame ``k`` in
        :func:`speech_features` is within half a sample of this.

    Examples
    --------
    >>> frame_times(4, fps=25.0)
    array([0.  , 0.04, 0.08, 0.12])
    """
    fps = _positive(fps, "fps (frames per second)")
    if isinstance(n_frames, bool) or not isinstance(n_frames, numbers.Integral) or n_frames < 0:
        raise ValueError(f"n_frames must be a non-negative integer, got {n_frames!r}")
    return np.arange(int(n_frames), dtype=np.float64) / fps


# ---------------------------------------------------------------------------
# Speech
# ---------------------------------------------------------------------------

def _as_mono(wave) -> np.ndarray:
    """Validate ``wave`` and return a 1-D float signal scaled to about [-1, 1]."""
    x = np.asarray(wave)
    if x.dtype == object or x.dtype.kind not in "iuf":
        raise ValueError(
            "wave must be a numeric array of audio samples (float, or int16/int32 PCM), "
            f"got dtype {x.dtype}"
        )
    if x.ndim not in (1, 2):
        raise ValueError(
            "wave must be 1-D (n_samples,) mono or 2-D (n_samples, channels) / "
            f"(channels, n_samples) audio, got an array of shape {x.shape}"
        )
    if x.size == 0:
        raise ValueError(f"wave is empty (shape {x.shape}); expected at least one sample")

    if x.dtype.kind in "iu":
        bits = 8 * x.dtype.itemsize
        if bits > 32:
            raise ValueError(
                f"wave has dtype {x.dtype}, whose full scale is ambiguous; pass float "
                "samples in [-1, 1] or int16/int32 PCM"
            )
        # int32 needs float64 to keep its 31 bits; smaller ints fit float32 exactly.
        work = np.float64 if bits == 32 else np.float32
        half = float(2 ** (bits - 1))
        offset = half if x.dtype.kind == "u" else 0.0  # unsigned PCM (8-bit WAV) is offset
        scale = lambda a: (a.astype(work) - offset) / half  # noqa: E731
    else:
        work = np.float64 if x.dtype == np.float64 else np.float32
        scale = lambda a: a.astype(work, copy=False)  # noqa: E731
        if not np.isfinite(x).all():
            bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
            raise ValueError(
                f"wave contains {bad} NaN or infinite sample(s); expected finite audio"
            )

    if x.ndim == 2:
        # The shorter axis holds channels; on a tie assume (n_samples, channels),
        # the layout soundfile returns.
        channel_axis = 0 if x.shape[0] < x.shape[1] else 1
        return scale(x).mean(axis=channel_axis, dtype=work)
    return scale(x)


def _windows(signal: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """The stretches ``signal[s:s + length]`` for each ``s`` in ``starts``.

    Parameters
    ----------
    signal : np.ndarray, shape (L,)
    starts : np.ndarray, int, shape (K,)
        Increasing window starts, each in ``[0, L - length]``.
    length : int

    Returns
    -------
    np.ndarray, shape (K, length)
        A strided view of ``signal`` when the starts are evenly spaced (a
        whole-sample hop), else a copy of its rows.
    """
    view = np.lib.stride_tricks.sliding_window_view(signal, length)
    step = int(starts[1] - starts[0]) if starts.shape[0] > 1 else 1
    if step > 0 and np.all(np.diff(starts) == step):
        return view[int(starts[0]):int(starts[-1]) + 1:step]
    return view[starts]


# OpenBLAS runs a matrix product on the calling thread when it has at most
# this many multiply-adds (its GEMM_MULTITHREAD_THRESHOLD of 4 x 65536).
_SINGLE_THREAD_MADDS = 4 * 65536


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` in blocks of rows small enough for BLAS to keep on one thread.

    The products of the feature pipeline are thin ((4096, 257) x (257, 26)):
    on one core they take about a millisecond, but handed to a BLAS thread
    pool they wait for a second core, which on a busy machine costs a
    scheduler tick of several milliseconds per call.

    Parameters
    ----------
    a : np.ndarray, shape (M, K)
    b : np.ndarray, shape (K, N)

    Returns
    -------
    np.ndarray, shape (M, N)
    """
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    block = max(1, _SINGLE_THREAD_MADDS // max(1, b.shape[0] * b.shape[1]))
    for i in range(0, a.shape[0], block):
        np.matmul(a[i:i + block], b, out=out[i:i + block])
    return out


def _delta(x: np.ndarray, width: int) -> np.ndarray:
    # HTK's regression with replicated edges; mode="nearest" also works when
    # T < width, where librosa's default mode="interp" refuses.
    return librosa.feature.delta(x, width=width, order=1, axis=0, mode="nearest")


def speech_features(
    wave,
    sr: float,
    fps: float = 60.0,
    *,
    window_s: float = WINDOW_S,
    n_mels: int = N_MELS,
    fmin: float = FMIN,
    fmax: float | None = FMAX,
    lifter: float = LIFTER,
    preemphasis: float = PREEMPHASIS,
    log_floor: float = LOG_FLOOR,
    delta_width: int = DELTA_WIDTH,
    chunk_frames: int | None = None,
) -> np.ndarray:
    """MFCC-39 speech features at ``fps`` frames per second.

    Columns (see :data:`SPEECH_FEATURE_NAMES`): log frame energy,
    MFCC 1..12, the 13 deltas of those, the 13 delta-deltas. Frame ``k`` is
    centred at sample ``round(k * sr / fps)``, i.e. at time ``k / fps``
    within half a sample, for any sample rate. The module docstring gives
    every parameter choice and its reason.

    Parameters
    ----------
    wave : array_like, shape (n,) or (n, channels) or (channels, n)
        Audio. Float samples (full scale 1) or integer PCM (int16 / int32
        scaled by 2**15 / 2**31; uint8 offset by 128). 2-D input is mixed to
        mono by the mean over the shorter axis (taken as channels).
    sr : float
        Sample rate in Hz (> 0).
    fps : float, default 60.0
        Frame rate in frames per second (> 0); 60 for CreativeIT,
        25 for RECOLA's labels.
    window_s : float, default 0.025
        Analysis window length in seconds (Hamming).
    n_mels : int, default 26
        Number of mel bands.
    fmin, fmax : float, default 0 and 8000
        Band edges of the mel filterbank in Hz; ``fmax`` is capped at
        ``sr / 2`` (``None`` means ``sr / 2``).
    lifter : float, default 22
        HTK cepstral lifter L; 0 disables liftering.
    preemphasis : float, default 0.97
        Pre-emphasis coefficient for the MFCC path; 0 disables it.
    log_floor : float, default 1e-10
        Floor applied before each log (energy and mel bands).
    delta_width : int, default 5
        Odd regression width in frames for deltas and delta-deltas.
    chunk_frames : int, optional
        Frames processed at a time; bounds the memory used. By default
        ``2**19 // n_fft`` (1024 at 16 kHz, 256 at 44.1 kHz): a few MiB,
        which stay in the processor's cache between the steps of a chunk.

    Returns
    -------
    np.ndarray, float32, shape (T, 39)
        ``T = 1 + floor((n - 1) * fps / sr)``; log energy in natural-log
        units of squared full scale, cepstra dimensionless, deltas per frame.

    Raises
    ------
    ValueError
        For empty, non-finite, non-numeric or more than 2-D ``wave``,
        non-positive ``sr`` or ``fps``, or invalid parameters.

    Examples
    --------
    One second of a 440 Hz tone at 16 kHz gives 60 frames at 60 fps:

    >>> import numpy as np
    >>> sr = 16000
    >>> t = np.arange(sr) / sr
    >>> feats = speech_features(0.5 * np.sin(2 * np.pi * 440 * t), sr)
    >>> feats.shape, feats.dtype
    ((60, 39), dtype('float32'))
    >>> SPEECH_FEATURE_NAMES[0], SPEECH_FEATURE_NAMES[13], SPEECH_FEATURE_NAMES[26]
    ('log_energy', 'd_log_energy', 'dd_log_energy')
    >>> bool(np.isfinite(feats).all())
    True
    >>> float(np.round(feats[30, 0], 1))  # log(sum((0.5 sin * hamming)**2)) ~ log(19.9)
    3.0
    """
    sr = _positive(sr, "sr (sample rate in Hz)")
    fps = _positive(fps, "fps (frames per second)")
    window_s = _positive(window_s, "window_s (window length in seconds)")
    log_floor = _positive(log_floor, "log_floor")
    if not (isinstance(delta_width, numbers.Integral) and delta_width >= 3 and delta_width % 2 == 1):
        raise ValueError(f"delta_width must be an odd integer >= 3, got {delta_width!r}")
    if not (isinstance(n_mels, numbers.Integral) and n_mels > N_MFCC):
        raise ValueError(f"n_mels must be an integer > {N_MFCC} (12 cepstra are kept), got {n_mels!r}")
    if chunk_frames is not None and not (isinstance(chunk_frames, numbers.Integral)
                                         and chunk_frames >= 1):
        raise ValueError(f"chunk_frames must be a positive integer, got {chunk_frames!r}")
    fmax = sr / 2 if fmax is None else min(float(fmax), sr / 2)
    if not 0 <= fmin < fmax:
        raise ValueError(f"need 0 <= fmin < fmax (fmax capped at sr/2 = {sr / 2:g} Hz), "
                         f"got fmin={fmin!r}, fmax={fmax!r}")

    x = _as_mono(wave)
    n = x.shape[0]
    centres = frame_centres(n, sr, fps)
    n_frames = centres.shape[0]

    win_length = max(1, int(round(window_s * sr)))
    half = win_length // 2
    n_fft = 1 << max(0, (win_length - 1).bit_length())
    chunk_frames = max(1, CHUNK_SAMPLES // n_fft) if chunk_frames is None else int(chunk_frames)
    # Single precision throughout the transforms, as librosa: 24-bit mantissas are
    # far below the 16-bit audio's noise floor, and float32 halves the memory traffic
    window = (np.hamming(win_length) if win_length > 1 else np.ones(1)).astype(np.float32)
    window_sq = np.square(window)
    mel_basis = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=int(n_mels), fmin=fmin, fmax=fmax, htk=True, norm=None
    ).T  # (n_fft//2 + 1, n_mels)
    # Only the bins some filter covers (up to 8 kHz: about a third of them at 44.1 kHz)
    covered = np.flatnonzero(mel_basis.any(axis=1))
    bins = slice(int(covered[0]), int(covered[-1]) + 1) if covered.size else slice(0, 1)
    mel_basis = np.ascontiguousarray(mel_basis[bins], dtype=np.float64)
    cep_index = np.arange(1, N_MFCC + 1)
    lifter_weights = (1.0 + (lifter / 2.0) * np.sin(np.pi * cep_index / lifter) if lifter
                      else np.ones(N_MFCC))

    static = np.empty((n_frames, 1 + N_MFCC), dtype=np.float64)
    for k0 in range(0, n_frames, chunk_frames):
        c = centres[k0:k0 + chunk_frames]
        # Zero-extended stretch of signal covering this chunk's windows, with
        # one sample before it for the pre-emphasis recursion.
        lo = int(c[0]) - half - 1
        hi = int(c[-1]) - half + win_length
        seg = np.zeros(hi - lo, dtype=np.float32)
        a, b = max(lo, 0), min(hi, n)
        if b > a:
            seg[a - lo:b - lo] = x[a:b]
        raw = seg[1:]
        emph = raw - np.float32(preemphasis) * seg[:-1]
        # Pre-emphasis belongs to the signal: nothing past its last sample.
        past_end = n - (lo + 1)
        if past_end < emph.shape[0]:
            emph[max(past_end, 0):] = 0.0
        starts = c - half - (lo + 1)  # first sample of each window in raw/emph
        rows = slice(k0, k0 + c.shape[0])

        raw_frames = _windows(raw, starts, win_length)
        # sum((w x)^2) of each frame, by einsum rather than BLAS (see _matmul)
        energy = np.einsum("ij,ij,j->i", raw_frames, raw_frames, window_sq)
        static[rows, 0] = np.log(np.maximum(energy, log_floor))
        # the windowed frames written straight into the zero-padded FFT input
        frames = np.zeros((c.shape[0], n_fft), dtype=np.float32)
        np.multiply(_windows(emph, starts, win_length), window, out=frames[:, :win_length])
        spectrum = scipy.fft.rfft(frames, axis=1, overwrite_x=True)[:, bins]  # complex64
        del frames
        power = np.square(spectrum.real)
        power += np.square(spectrum.imag)
        del spectrum
        # float64 from here on where a sum's order could depend on the chunk's size
        log_mel = np.log(np.maximum(_matmul(power.astype(np.float64), mel_basis), log_floor))
        # DCT-II of each frame's log-mels; keep c1..c12
        cepstra = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, 1:N_MFCC + 1]
        static[rows, 1:] = cepstra * lifter_weights

    out = np.empty((n_frames, 3 * (1 + N_MFCC)), dtype=np.float32)
    out[:, :1 + N_MFCC] = static
    delta = _delta(static, int(delta_width))
    out[:, 1 + N_MFCC:2 * (1 + N_MFCC)] = delta
    out[:, 2 * (1 + N_MFCC):] = _delta(delta, int(delta_width))
    return out


# ---------------------------------------------------------------------------
# Motion
# ---------------------------------------------------------------------------

def motion_feature_names(joints: str | Sequence[str], axes: str = "XYZ") -> list[str]:
    """Column names of :func:`motion_features` for the given joints.

    Parameters
    ----------
    joints : str or sequence of str
        Joint names in the order of the angle columns (J of them).
    axes : str, default "XYZ"
        Order of the three rotation channels within each joint, as in the
        BVH file (e.g. "ZXY").

    Returns
    -------
    list of str, length 6J
        ``"<joint>_<axis>rotation"`` for every joint and axis, then the same
        names prefixed with ``"d_"`` for the deltas.

    Examples
    --------
    >>> motion_feature_names(["Hips"])
    ['Hips_Xrotation', 'Hips_Yrotation', 'Hips_Zrotation', 'd_Hips_Xrotation', 'd_Hips_Yrotation', 'd_Hips_Zrotation']
    """
    if isinstance(joints, str):
        joints = [joints]
    if len(axes) != 3 or sorted(axes.upper()) != ["X", "Y", "Z"]:
        raise ValueError(f"axes must be an ordering of 'XYZ', got {axes!r}")
    angles = [f"{joint}_{axis}rotation" for joint in joints for axis in axes.upper()]
    return angles + [f"d_{name}" for name in angles]


def motion_features(angles) -> np.ndarray:
    """Euler angles and their per-frame deltas.

    Parameters
    ----------
    angles : array_like, shape (T, 3J)
        Euler rotation angles in degrees, frames first, three columns per
        joint (J >= 1, T >= 1). Values may wrap at +-180.

    Returns
    -------
    np.ndarray, float32, shape (T, 6J)
        Columns ``[:3J]`` are the angles as given; columns ``[3J:]`` are
        their deltas in degrees per frame: ``np.gradient`` (central
        difference, one-sided at the two ends, 0 when T = 1) of the angles
        unwrapped along time with period 360, so 179 -> -179 is +2.

    Raises
    ------
    ValueError
        If ``angles`` is not 2-D with a positive multiple of 3 columns and at
        least one frame, or holds NaN / infinite values.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[178.0, 0, 0], [-179.0, 0, 0], [-177.0, 0, 0]])
    >>> motion_features(a)[:, 3]   # 178 -> 181 -> 183 after unwrapping
    array([3. , 2.5, 2. ], dtype=float32)
    """
    a = np.asarray(angles)
    if a.dtype == object or a.dtype.kind not in "iuf":
        raise ValueError(f"angles must be a numeric (T, 3J) array of degrees, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 3 or a.shape[1] % 3:
        raise ValueError(
            "angles must be a 2-D (T, 3J) array of Euler angles in degrees, frames first, "
            f"three columns per joint, T >= 1; got shape {a.shape}"
        )
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError("angles contains NaN or infinite values; expected finite degrees")
    if a.shape[0] == 1:
        delta = np.zeros_like(a)
    else:
        delta = np.gradient(np.unwrap(a, period=360.0, axis=0), axis=0)
    return np.concatenate([a, delta], axis=1).astype(np.float32)
