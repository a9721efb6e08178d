"""File readers: wav, BVH, ARFF and ratings CSV -> arrays on their own clocks.

Nothing here knows a corpus layout. Each reader takes a path and returns
NumPy arrays (or a DataFrame) at the file's own rate; a missing, unreadable
or malformed file raises :class:`DatasetError` naming the file and what was
expected. :func:`resample_series` puts a series with a time column on the
frame clock ``k / fps``. Notebook 02 shows each reader on the stub corpora.

Units: audio is float32 at full scale 1, resampled (soxr) to :data:`AUDIO_SR`
(16 kHz); BVH rotations are Euler degrees; times are seconds.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import librosa
import numpy as np
import pandas as pd
import soundfile as sf

__all__ = ["AUDIO_SR", "DatasetError", "DatasetWarning", "read_audio", "read_bvh", "Bvh",
           "read_arff", "read_ratings", "resample_series"]

#: Canonical audio sample rate (Hz): every waveform is resampled to it.
AUDIO_SR = 16000


class DatasetError(ValueError):
    """A dataset file is missing, unreadable or inconsistent.

    The message names the file, the recording and what was expected.

    Examples
    --------
    >>> try:
    ...     read_bvh("/no/such/file.bvh")
    ... except DatasetError as err:
    ...     print(str(err).split(":")[0])
    cannot read BVH file /no/such/file.bvh
    """


class DatasetWarning(UserWarning):
    """Something in a dataset was repaired or skipped (dropped recording, trimmed lengths).

    Examples
    --------
    >>> import warnings
    >>> from cerlib import example_data, load_corpus
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", DatasetWarning)   # make dropped recordings fatal
    ...     corpus = load_corpus(example_data("recola"), progress=False)
    """


# warn_dataset, require_file, sample_step, coverage_s, frames_within and fill_gaps are
# package-internal (cerlib.data and cerlib.layouts use them): public names, not in __all__.
def warn_dataset(message: str) -> None:
    warnings.warn(message, DatasetWarning, stacklevel=3)

# ---------------------------------------------------------------------------
# File readers
# ---------------------------------------------------------------------------

def require_file(path: Path, what: str, recording: str | None, layout: str) -> Path:
    if not path.is_file():
        who = f"recording {recording!r}: " if recording else ""
        raise DatasetError(f"{who}missing {what} file {path}\n{layout}")
    return path


#: A mean sample value beyond this (full scale 1) is a DC offset worth a warning (no stub recording warns).
DC_OFFSET_LIMIT = 0.05
#: Mixing stereo to mono that keeps less than this share of the channels' RMS: the channels cancel.
CANCEL_RATIO = 0.1


def _audio_problems(path: Path, data: np.ndarray) -> list[str]:
    """What would silently spoil speech features: a DC offset, stereo channels that cancel when mixed."""
    problems = []
    mono = data.mean(axis=1)
    offset = float(mono.mean())
    if abs(offset) > DC_OFFSET_LIMIT:
        problems.append(f"audio file {path} has a DC offset of {offset:+.2f} (mean sample, full scale 1): log "
                        "energy and MFCCs are biased by it; subtract the mean or high-pass filter the file")
    if data.shape[1] > 1:
        channel_rms = float(np.sqrt(np.mean(np.square(data, dtype=np.float64))))
        mixed_rms = float(np.sqrt(np.mean(np.square(mono - mono.mean(), dtype=np.float64))))
        if channel_rms > 1e-4 and mixed_rms < CANCEL_RATIO * channel_rms:
            problems.append(f"audio file {path}: its {data.shape[1]} channels cancel when mixed to mono "
                            f"(mixed RMS {mixed_rms:.2g} against {channel_rms:.2g} per channel; one channel is "
                            "probably phase-inverted); every frame gets the floor energy: use one channel")
    return problems


def read_audio(path: str | os.PathLike, sr: int | None = AUDIO_SR, *,
               problems: list | None = None) -> tuple[np.ndarray, int]:
    """Read a sound file as mono float32, resampled to ``sr``.

    Parameters
    ----------
    path : path-like
        Any format soundfile reads (WAV PCM, µ-law, FLAC, ...).
    sr : int or None, default 16000
        Target sample rate; ``None`` keeps the file's rate. Resampling uses
        librosa's soxr (high quality).
    problems : list, optional
        Where to append a message for a DC offset (mean beyond
        ``DC_OFFSET_LIMIT``) or stereo channels that cancel when mixed; by
        default each is a :class:`DatasetWarning` naming the file.

    Returns
    -------
    wave : np.ndarray, float32, shape (n,)
        Mean of the channels, full scale 1.
    sr : int

    Raises
    ------
    DatasetError
        If the file is missing, unreadable, empty or holds NaN/inf samples
        (possible in float WAV files).

    Examples
    --------
    >>> from cerlib import example_data
    >>> wave, sr = read_audio(example_data("recola") / "recordings_audio/train_1.wav")
    >>> wave.ndim, sr
    (1, 16000)
    """
    path = Path(path)
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError / OSError
        raise DatasetError(f"cannot read audio file {path}: {err}") from err
    if data.shape[0] == 0:
        raise DatasetError(f"audio file {path} holds no samples")
    bad = ~np.isfinite(data)
    if bad.any():
        first = int(np.argmax(bad.any(axis=1)))
        raise DatasetError(f"audio file {path}: {int(bad.sum())} NaN or infinite sample(s), the first at "
                           f"sample {first} ({first / file_sr:.3f} s); expected finite samples")
    found = _audio_problems(path, data)
    if problems is not None:
        problems.extend(found)
    for message in found if problems is None else ():
        warnings.warn(message, DatasetWarning, stacklevel=2)
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if sr is not None and int(file_sr) != int(sr):
        wave = librosa.resample(wave, orig_sr=int(file_sr), target_sr=int(sr), res_type="soxr_hq")
        file_sr = int(sr)
    return np.ascontiguousarray(wave, dtype=np.float32), int(file_sr)


@dataclass(repr=False)
class Bvh:
    """A parsed BVH file.

    Attributes
    ----------
    joints : list of str
        Joint names in file order (ROOT first; End Sites are not joints).
    parents : dict of str to str or None
    offsets : dict of str to tuple of float
    channels : dict of str to list of str
        Channel names per joint, e.g. ``["Zrotation", "Xrotation", "Yrotation"]``.
    frame_time : float
        Seconds per frame (1/60 for CreativeIT).
    motion : np.ndarray, float64, shape (T, C)
        All channels, in file order: T frames (``n_frames``), C channels.
    path : pathlib.Path or None

    Examples
    --------
    >>> from cerlib import example_data
    >>> bvh = read_bvh(example_data("creativeit") / "mocap/s1_i01_A01.bvh")
    >>> bvh.n_frames, bvh.channels["Head"]
    (1200, ['Zrotation', 'Xrotation', 'Yrotation'])
    """

    joints: list
    parents: dict
    offsets: dict
    channels: dict
    frame_time: float
    motion: np.ndarray
    path: Path | None = None

    @property
    def n_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        """Frames per second, ``1 / frame_time``; a rate written with a few digits
        (``Frame Time: 0.0166667``) is the whole number it means (60.0)."""
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) < 1e-4 * fps else fps

    @property
    def duration_s(self) -> float:
        """Seconds the motion covers, ``n_frames / fps``."""
        return self.n_frames / self.fps

    def angles_at(self, joints, fps: float) -> np.ndarray:
        """The joints' Euler angles at ``fps`` frames per second, shape (T, 3 J).

        As stored when the file has that rate; otherwise resampled over the
        file's duration (:func:`frames_within` frames), each angle unwrapped
        first so that 179 to -179 degrees passes through 180, not through 0.

        Examples
        --------
        >>> from cerlib import example_data
        >>> bvh = read_bvh(example_data("creativeit") / "mocap/s1_i01_A01.bvh")
        >>> bvh.angles_at(["Head"], 60.0).shape, bvh.angles_at(["Head"], 25.0).shape   # 20 s of motion
        ((1200, 3), (500, 3))
        """
        angles = self.angles(joints)
        if self.fps == fps:
            return angles
        return resample_series(np.arange(self.n_frames) / self.fps, angles, fps,
                               frames_within(self.duration_s, fps), period=360.0)

    def column(self, joint: str, channel: str) -> int:
        """Column of ``motion`` holding ``channel`` of ``joint``.

        Examples
        --------
        >>> from cerlib import example_data
        >>> bvh = read_bvh(example_data("creativeit") / "mocap/s1_i01_A01.bvh")
        >>> bvh.column("Spine", "Zrotation")
        6
        """
        col = 0
        for j in self.joints:
            for c in self.channels[j]:
                if j == joint and c.lower() == channel.lower():
                    return col
                col += 1
        raise KeyError(f"{joint}/{channel}")

    def find_joint(self, name: str) -> str | None:
        """The joint called ``name``: exact, else case-insensitive, ignoring a ``Subject:`` prefix.

        Examples
        --------
        >>> bvh = Bvh(["Actor1:Hips"], {"Actor1:Hips": None}, {}, {"Actor1:Hips": []}, 1 / 60,
        ...           np.zeros((1, 0)))
        >>> bvh.find_joint("hips"), bvh.find_joint("Head")
        ('Actor1:Hips', None)
        """
        if name in self.channels:
            return name
        want = name.lower()
        for j in self.joints:
            if j.lower() == want or j.split(":")[-1].lower() == want:
                return j
        return None

    def angles(self, joints: Sequence[str]) -> np.ndarray:
        """Euler rotation angles of the named joints.

        Parameters
        ----------
        joints : sequence of str
            Joint names, matched as in :meth:`find_joint`.

        Returns
        -------
        np.ndarray, float64, shape (n_frames, 3 * len(joints))
            Degrees; per joint the X, Y, Z rotation channels in that order,
            whatever order the file lists them in.

        Raises
        ------
        DatasetError
            If a joint is missing or lacks a rotation channel; the message
            lists the joints the file has.

        Examples
        --------
        >>> from cerlib import example_data
        >>> bvh = read_bvh(example_data("creativeit") / "mocap/s1_i01_A01.bvh")
        >>> bvh.angles(["Head"]).shape
        (1200, 3)
        """
        cols = []
        for name in joints:
            joint = self.find_joint(name)
            if joint is None:
                raise DatasetError(
                    f"BVH file {self.path}: no joint named {name!r}; it has joints "
                    f"{self.joints}. Pass joints=[...] to load_corpus to choose four others.")
            for axis in "XYZ":
                try:
                    cols.append(self.column(joint, f"{axis}rotation"))
                except KeyError:
                    raise DatasetError(
                        f"BVH file {self.path}: joint {joint!r} has channels {self.channels[joint]}, "
                        f"expected Xrotation, Yrotation and Zrotation") from None
        return self.motion[:, cols]


_BVH_TOKEN = re.compile(r"[{}]|[^\s{}]+")


def _hierarchy_tokens(header: str) -> list[str]:
    """Tokens of a BVH HIERARCHY; a ROOT/JOINT name is the rest of its line (names may hold spaces)."""
    tokens: list[str] = []
    for line in header.splitlines():
        jm = re.match(r"\s*(ROOT|JOINT)\s+([^{}]*?)\s*(\{?)\s*$", line)
        if jm and jm.group(2):
            tokens += [jm.group(1), jm.group(2)] + (["{"] if jm.group(3) else [])
        else:
            tokens += _BVH_TOKEN.findall(line)
    return tokens


def _read_text(path: Path, kind: str) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise DatasetError(f"cannot read {kind} file {path}: {err}") from err


def read_bvh(path: str | os.PathLike) -> Bvh:
    """Parse a BVH (Biovision hierarchy) motion-capture file.

    Reads the HIERARCHY (ROOT / JOINT / End Site, OFFSET, CHANNELS) and the
    MOTION section (``Frames:``, ``Frame Time:``, one line of channel values
    per frame).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Bvh

    Raises
    ------
    DatasetError
        If the file is missing, malformed or holds NaN/inf values; the message
        names the file and what was expected.

    Examples
    --------
    >>> from cerlib import example_data
    >>> bvh = read_bvh(example_data("creativeit") / "mocap/s1_i01_A01.bvh")
    >>> bvh.joints[:2], round(bvh.fps)
    (['Hips', 'Spine'], 60)
    """
    path = Path(path)

    def bad(what: str) -> DatasetError:
        return DatasetError(f"BVH file {path}: {what} (expected HIERARCHY with ROOT/JOINT/End Site "
                            "blocks, then MOTION, 'Frames: N', 'Frame Time: t' and N lines of values)")

    text = _read_text(path, "BVH")
    m = re.search(r"^\s*MOTION\s*$", text, flags=re.MULTILINE)
    if not text.lstrip().startswith("HIERARCHY") or m is None:
        raise bad("no HIERARCHY or MOTION section")
    tokens = _hierarchy_tokens(text[:m.start()])[1:]

    joints: list[str] = []
    parents: dict = {}
    offsets: dict = {}
    channels: dict = {}
    stack: list = []
    i = 0
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                name = tokens[i + 1]
                if tokens[i + 2] != "{":
                    raise bad(f"'{{' expected after {tok} {name}")
                if name in channels:
                    raise bad(f"joint {name!r} appears twice")
                parents[name] = stack[-1] if stack else None
                joints.append(name)
                channels[name] = []
                offsets[name] = (0.0, 0.0, 0.0)
                stack.append(name)
                i += 3
            elif tok == "End":
                # End Site { OFFSET x y z }: geometry only, no channels
                if tokens[i + 2] != "{":
                    raise bad("'{' expected after End Site")
                close = tokens.index("}", i)
                i = close + 1
            elif tok == "OFFSET":
                offsets[stack[-1]] = tuple(float(v) for v in tokens[i + 1:i + 4])
                i += 4
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                channels[stack[-1]] = list(tokens[i + 2:i + 2 + n])
                i += 2 + n
            elif tok == "}":
                stack.pop()
                i += 1
            else:
                raise bad(f"unexpected token {tok!r} in HIERARCHY")
    except (IndexError, ValueError) as err:
        raise bad(f"malformed HIERARCHY ({err})") from err
    if stack or not joints:
        raise bad("unbalanced braces or no joints in HIERARCHY")

    body = text[m.end():]
    fm = re.search(r"Frames:\s*(\d+)", body)
    tm = re.search(r"Frame\s+Time:\s*([-+0-9.eE]+)", body)
    if fm is None or tm is None:
        raise bad("no 'Frames:' or 'Frame Time:' line")
    n_frames = int(fm.group(1))
    frame_time = float(tm.group(1))
    if not frame_time > 0:
        raise bad(f"Frame Time must be positive, got {frame_time}")
    values_text = body[tm.end():]
    n_channels = sum(len(c) for c in channels.values())
    try:
        values = np.array(values_text.split(), dtype=np.float64)
    except ValueError as err:
        raise bad(f"non-numeric motion data ({err})") from err
    if values.size != n_frames * n_channels:
        raise bad(f"'Frames: {n_frames}' x {n_channels} channels = {n_frames * n_channels} values "
                  f"expected, found {values.size}")
    if n_frames == 0:
        raise bad("no frames")
    motion = values.reshape(n_frames, n_channels)
    finite = np.isfinite(motion)
    if not finite.all():
        frame, col = (int(i[0]) for i in np.nonzero(~finite))
        names = [f"{j}/{c}" for j in joints for c in channels[j]]
        raise DatasetError(f"BVH file {path}: {int((~finite).sum())} NaN or infinite value(s), the first in "
                           f"frame {frame} channel {names[col]}; expected finite numbers")
    return Bvh(joints=joints, parents=parents, offsets=offsets, channels=channels,
               frame_time=frame_time, motion=motion, path=path)


def read_arff(path: str | os.PathLike):
    """Read a (dense) ARFF file such as AVEC's gold standards and video features.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    relation : str
    data : pandas.DataFrame
        One column per ``@attribute``; numeric attributes as float64, ``?``
        (missing) as NaN; string/nominal attributes as str.

    Raises
    ------
    DatasetError
        If the file is missing or malformed.

    Examples
    --------
    >>> from cerlib import example_data
    >>> rel, df = read_arff(example_data("recola") / "ratings_gold_standard/arousal/dev_1.arff")
    >>> rel, list(df.columns)
    ('GOLDSTANDARD', ['Instance_name', 'frameTime', 'GoldStandard'])
    """
    path = Path(path)

    def bad(what: str) -> DatasetError:
        return DatasetError(f"ARFF file {path}: {what} (expected '@relation', '@attribute NAME TYPE' "
                            "lines, '@data', then one comma-separated row per instance)")

    text = _read_text(path, "ARFF")
    relation, names, types = "", [], []
    lines = text.splitlines()
    data_start = None
    for n, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("%"):
            continue
        low = s.lower()
        if low.startswith("@relation"):
            relation = s[len("@relation"):].strip().strip("'\"")
        elif low.startswith("@attribute"):
            rest = s[len("@attribute"):].strip()
            am = re.match(r"""('[^']*'|"[^"]*"|\S+)\s+(.+)$""", rest)
            if am is None:
                raise bad(f"malformed attribute line {n + 1}: {s!r}")
            names.append(am.group(1).strip("'\""))
            types.append(am.group(2).strip().lower())
        elif low.startswith("@data"):
            data_start = n + 1
            break
        else:
            raise bad(f"unexpected line {n + 1} before @data: {s!r}")
    if data_start is None or not names:
        raise bad("no @attribute lines or no @data section")
    rows = [(n + 1, l) for n, l in enumerate(lines[data_start:], start=data_start)
            if l.strip() and not l.lstrip().startswith("%")]
    for (line_no, _), fields in zip(rows, csv.reader((l for _, l in rows), quotechar="'", skipinitialspace=True)):
        if len(fields) != len(names):
            raise bad(f"data row at line {line_no} has {len(fields)} values, expected {len(names)} (one per "
                      f"@attribute; a missing value is written '?')")
    body = "\n".join(l for _, l in rows)
    try:
        df = pd.read_csv(io.StringIO(body), header=None, names=names, quotechar="'",
                         na_values=["?"], keep_default_na=False, skipinitialspace=True,
                         dtype=str)
    except Exception as err:
        raise bad(f"unreadable @data section ({err})") from err
    for name, typ in zip(names, types):
        if typ.split()[0] in ("numeric", "real", "integer"):
            try:
                df[name] = pd.to_numeric(df[name], errors="raise").astype(np.float64)
            except (ValueError, TypeError) as err:
                raise bad(f"non-numeric value in numeric attribute {name!r} ({err})") from err
    return relation, df


def read_ratings(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a table of continuous ratings: a time column, then one column per rater.

    The separator is detected from the header (``;`` as in RECOLA, or ``,``).

    Parameters
    ----------
    path : path-like
        E.g. RECOLA's ``ratings_individual/arousal/train_1.csv`` (header
        ``time;FM1;FM2;FM3;FF1;FF2;FF3``).

    Returns
    -------
    times : np.ndarray, float64, shape (N,)
        Seconds.
    values : np.ndarray, float64, shape (N, n_raters)
        Empty cells are NaN.
    raters : list of str

    Raises
    ------
    DatasetError
        If the file is missing, has no time column or holds non-numbers.

    Examples
    --------
    >>> from cerlib import example_data
    >>> t, v, raters = read_ratings(example_data("recola") / "ratings_individual/arousal/train_1.csv")
    >>> raters
    ['FM1', 'FM2', 'FM3', 'FF1', 'FF2', 'FF3']
    """
    path = Path(path)
    try:   # utf-8-sig: a byte-order mark, as Excel writes, is not part of the first column's name
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            header = f.readline()
    except OSError as err:
        raise DatasetError(f"cannot read ratings file {path}: {err}") from err
    sep = ";" if header.count(";") >= header.count(",") and ";" in header else ","
    cols = [c.strip().strip("'\"") for c in header.strip().split(sep)]
    if len(cols) < 2 or cols[0].lower() not in ("time", "frametime", "time_s"):
        raise DatasetError(
            f"ratings file {path}: expected a header 'time{sep}<rater>{sep}...' (time in seconds, "
            f"then one column per rater), got {header.strip()!r}")
    try:
        df = pd.read_csv(path, sep=sep, header=None, skiprows=1, dtype=np.float64, skipinitialspace=True,
                         encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        df = pd.DataFrame(np.empty((0, len(cols))))
    except Exception as err:
        raise DatasetError(f"ratings file {path}: unreadable or non-numeric values ({err}); "
                           f"expected numbers under the header {header.strip()!r}") from err
    if df.shape[1] > len(cols):
        raise DatasetError(f"ratings file {path}: the header names {len(cols)} columns ({header.strip()!r}) but "
                           f"the rows hold {df.shape[1]} values: a rater name is missing from the header "
                           f"(expected time then one name per rater column)")
    values = df.to_numpy(dtype=np.float64)
    if values.shape[1] < len(cols):   # rows shorter than the header: the missing cells are empty
        values = np.hstack([values, np.full((len(values), len(cols) - values.shape[1]), np.nan)])
    return values[:, 0], values[:, 1:], cols[1:]


def sample_step(times: np.ndarray) -> float:
    return float(np.median(np.diff(times))) if times.size > 1 else 0.0


def coverage_s(times: np.ndarray) -> float:
    """Seconds a series with sample times ``times`` covers: last time plus one step."""
    return float(times[-1] + sample_step(times)) if times.size else 0.0


def frames_within(duration_s: float, fps: float) -> int:
    """Number of frame times ``k / fps`` inside ``[0, duration_s)``."""
    return max(0, int(math.ceil(duration_s * fps - 1e-6)))


def resample_series(times, values, fps: float, n_frames: int | None = None, *,
                    period: float | None = None) -> np.ndarray:
    """Linearly interpolate a sampled series at frame times ``k / fps``.

    Parameters
    ----------
    times : array_like, shape (N,)
        Sample times in seconds, increasing.
    values : array_like, shape (N,) or (N, C)
    fps : float
        Target frame rate.
    n_frames : int, optional
        Number of output frames; default: the frames inside the series'
        coverage (last time plus one step). Past either end the edge value is held.
    period : float, optional
        Unwrap with this period before interpolating (360 for angles in
        degrees) and wrap back into ``[-period/2, period/2)`` afterwards.

    Returns
    -------
    np.ndarray, float64, shape (n_frames,) or (n_frames, C)

    Examples
    --------
    >>> resample_series([0.0, 0.1, 0.2], [0.0, 1.0, 2.0], fps=20)
    array([0. , 0.5, 1. , 1.5, 2. , 2. ])
    >>> resample_series([0.0, 1.0], [170.0, -170.0], fps=2, period=360)
    array([ 170., -180., -170., -170.])
    """
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    one_d = v.ndim == 1
    v2 = v[:, None] if one_d else v
    if n_frames is None:
        n_frames = frames_within(coverage_s(t), fps)
    if period is not None:
        v2 = np.unwrap(v2, period=period, axis=0)
    ft = np.arange(n_frames) / float(fps)
    out = np.empty((n_frames, v2.shape[1]))
    for c in range(v2.shape[1]):
        out[:, c] = np.interp(ft, t, v2[:, c])
    if period is not None:
        half = period / 2
        out = (out + half) % period - half   # in [-half, half): +180 maps to -180
    return out[:, 0] if one_d else out


def fill_gaps(values: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Interpolate NaN rows per column; returns the filled array and columns that were all NaN."""
    out = values.copy()
    empty = []
    idx = np.arange(out.shape[0])
    for c in range(out.shape[1]):
        ok = np.isfinite(out[:, c])
        if ok.all():
            continue
        if not ok.any():
            out[:, c] = 0.0
            empty.append(c)
            continue
        out[~ok, c] = np.interp(idx[~ok], idx[ok], out[ok, c])
    return out, empty

