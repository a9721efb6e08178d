"""Readers for the CreativeIT and RECOLA layouts: files on disk -> a Corpus of Recordings.

CreativeIT and RECOLA are licensed, so the course ships synthetic stand-ins
(``data_stubs/``, written by :func:`cerlib.stubs.make_stubs`) in the same
layouts; the code below reads the stubs today and the real corpora the day a
student has them. ``load_corpus(path)`` tells the two layouts apart by their
files.

RECOLA, as released for AVEC 2016::

    recordings_audio/{train,dev}_N.wav
    ratings_individual/{arousal,valence}/{split}_N.csv     time;FM1;FM2;FM3;FF1;FF2;FF3 (40 ms)
    ratings_gold_standard/{arousal,valence}/{split}_N.arff  (optional; @relation GOLDSTANDARD)
    features_video_geometric/{split}_N.arff                 Instance_name, frameTime, numbers...

CreativeIT (its release layout is not public; this is ours, documented in
``data_stubs/creativeit/README.md``)::

    recordings.csv                      recording,session,improvisation,actor,partner
    audio/{recording}.wav               the actor's close-talking microphone
    mocap/{recording}.bvh               the actor's motion capture, Euler rotations, 60 fps
    annotations/{activation,valence,dominance}/{recording}.csv   time,<annotator>,...

A "recording" is one actor in one improvisation (one speaker, one session).

What every loaded :class:`Recording` holds, whatever the layout:

* every modality and the labels on one clock, frame ``k`` at ``k / fps``
  seconds (60 fps by default): speech MFCC-39 from
  :func:`cerlib.features.speech_features`; body motion (4 joints x 3 Euler
  angles + deltas, :func:`cerlib.features.motion_features`) for CreativeIT;
  face descriptors for RECOLA. Series at other rates (annotations, face
  descriptors, BVH at another frame rate) are linearly interpolated at the
  frame times; angles are unwrapped first.
* ``labels`` = the mean of the raters (as the paper does), or, for RECOLA and
  ``gold_standard=True``, the released gold standard; ``ratings`` keeps each
  rater's trace at the same rate.

Lengths. Each modality covers a duration: ``n / sr`` for audio,
``frames * frame_time`` for BVH, ``rows * step`` for a series with a time
column. A recording keeps the frames every modality covers (the shortest).
Differences up to the coarsest sampling step (e.g. 40 ms for RECOLA) are
sampling granularity and pass silently, larger ones up to
:data:`MAX_LENGTH_MISMATCH_S` (1 s) are trimmed with a warning, and larger
still raise :class:`DatasetError` naming the recording.

Bad input. A missing or unreadable file raises :class:`DatasetError` naming the
file, the recording and the expected layout. A recording whose labels are
missing (no file, no rows) or hold NaN is dropped with a
:class:`DatasetWarning` naming it, as the paper drops such recordings; the
rest loads. Audio at another sample rate is resampled (soxr) to ``sr``
(16 kHz); stereo is mixed down. Missing face frames (``?`` in the ARFF, face
not found) are interpolated.

Cache. Features are computed once per recording and stored under
:func:`default_cache_dir` (``$CERLIB_CACHE``, else ``$XDG_CACHE_HOME/cerlib``,
else ``~/.cache/cerlib``), keyed by the SHA-256 of the recording's source files'
bytes, the loading parameters and the code of this module and of
:mod:`cerlib.features`; files are written to a temporary name in the cache
folder and renamed (atomic). Nothing is ever written into a dataset folder.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from . import features as _features
from ._util import progress as _progress

__all__ = [
    "AUDIO_SR",
    "CREATIVEIT_JOINTS",
    "CREATIVEIT_TASKS",
    "RECOLA_TASKS",
    "MAX_LENGTH_MISMATCH_S",
    "DatasetError",
    "DatasetWarning",
    "Recording",
    "Fold",
    "Corpus",
    "load_corpus",
    "detect_layout",
    "default_cache_dir",
    "read_audio",
    "read_bvh",
    "Bvh",
    "read_arff",
    "read_ratings",
    "resample_series",
    "assert_speaker_independent",
]

#: Version of the loading recipe; bump it to invalidate every cached recording.
DATA_VERSION = 2

#: Canonical audio sample rate (Hz): every waveform is resampled to it.
AUDIO_SR = 16000

#: Tasks (label columns) of each corpus, in label order.
CREATIVEIT_TASKS: tuple[str, ...] = ("activation", "valence", "dominance")
RECOLA_TASKS: tuple[str, ...] = ("activation", "valence")

#: RECOLA calls activation "arousal" in its folder names.
RECOLA_TASK_FOLDERS = {"activation": "arousal", "valence": "valence"}

#: The four joints whose three Euler angles give the paper's 12 angles (see
#: data_stubs/creativeit/README.md for why these four).
CREATIVEIT_JOINTS: tuple[str, ...] = ("Head", "Spine", "LeftForeArm", "RightForeArm")

#: Modalities whose durations differ by more than this many seconds are an error.
MAX_LENGTH_MISMATCH_S = 1.0

CREATIVEIT_LAYOUT = """\
CreativeIT layout (cerlib's; see data_stubs/creativeit/README.md):
  <root>/recordings.csv                 header: recording,session,improvisation,actor,partner
  <root>/audio/<recording>.wav          one actor's microphone
  <root>/mocap/<recording>.bvh          the same actor's motion capture (BVH, Euler rotations)
  <root>/annotations/<task>/<recording>.csv   task in activation, valence, dominance;
                                        header: time,<annotator>,<annotator>,... (time in s)"""

RECOLA_LAYOUT = """\
RECOLA layout (AVEC 2016 release):
  <root>/recordings_audio/<split>_<N>.wav               split in train, dev
  <root>/ratings_individual/<arousal|valence>/<split>_<N>.csv   ';'-separated,
                                        header: time;FM1;FM2;FM3;FF1;FF2;FF3 (40 ms steps)
  <root>/ratings_gold_standard/<arousal|valence>/<split>_<N>.arff   (optional)
  <root>/features_video_geometric/<split>_<N>.arff   Instance_name, frameTime, numeric columns"""


class DatasetError(ValueError):
    """A dataset file is missing, unreadable or inconsistent.

    The message names the file, the recording and what was expected.

    Examples
    --------
    >>> try:
    ...     load_corpus("/no/such/folder")
    ... except DatasetError as err:
    ...     print(str(err).splitlines()[0])
    dataset folder /no/such/folder does not exist
    """


class DatasetWarning(UserWarning):
    """Something in a dataset was repaired or skipped (dropped recording, trimmed lengths).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", DatasetWarning)   # make dropped recordings fatal
    ...     corpus = load_corpus("data_stubs/recola", progress=False)   # doctest: +SKIP
    """


def _warn(message: str) -> None:
    warnings.warn(message, DatasetWarning, stacklevel=3)


# ---------------------------------------------------------------------------
# Cache location
# ---------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """Folder where loaded recordings are cached.

    ``$CERLIB_CACHE`` if set, else ``$XDG_CACHE_HOME/cerlib``, else
    ``~/.cache/cerlib``. Recordings go to its ``recordings/`` subfolder.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import os
    >>> path = default_cache_dir()
    >>> path == Path(os.environ["CERLIB_CACHE"]) if os.environ.get("CERLIB_CACHE") else path.name == "cerlib"
    True
    """
    env = os.environ.get("CERLIB_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cerlib"


# ---------------------------------------------------------------------------
# Data classes
# ---------------------------------------------------------------------------

def _modality_order(names: Iterable[str]) -> tuple[str, ...]:
    names = list(names)
    return tuple(sorted(names, key=lambda m: (m != "speech", names.index(m))))


@dataclass(repr=False, eq=False)
class Recording:
    """One speaker's recording: per-modality frames and labels on one clock.

    Frame ``k`` of every array is at time ``k / fps`` seconds.

    Attributes
    ----------
    name : str
        Recording id, e.g. ``"s1_i01_A01"`` (CreativeIT) or ``"train_3"`` (RECOLA).
    speaker : str
        Speaker id: the actor (CreativeIT) or the subject (RECOLA).
    fps : float
        Frame rate of every array.
    features : dict of str to np.ndarray, float32, shape (T, P_m)
        ``"speech"`` (T, 39), and ``"motion"`` (T, 24) for CreativeIT or
        ``"face"`` (T, F) for RECOLA.
    labels : np.ndarray, float32, shape (T, n_tasks)
        The reference: mean of the raters (or RECOLA's gold standard).
    tasks : tuple of str
        Label columns, e.g. ``("activation", "valence", "dominance")``.
    session : int or None
        CreativeIT session, 1..5.
    partition : str or None
        RECOLA partition, ``"train"`` or ``"dev"``.
    ratings : dict of str to np.ndarray, float32, shape (T, n_raters), or None
        Each rater's trace per task, resampled to ``fps``.
    raters : dict of str to tuple of str
        Rater ids per task, in the column order of ``ratings``.
    sources : dict of str to pathlib.Path
        Files the recording was read from (``"audio"``, ``"motion"``/``"face"``,
        ``"<task>"`` for annotations).
    meta : dict
        Anything else the layout says (improvisation, partner, ...).
    feature_names : dict of str to tuple of str
        Column names per modality, e.g. ``feature_names["speech"][0] == "log_energy"``;
        a trained model records them and :func:`cerlib.training.predict`
        checks that new data has the same columns.

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(name="r", speaker="A01", fps=60.0,
    ...                 features={"speech": np.zeros((5, 39), np.float32),
    ...                           "motion": np.ones((5, 24), np.float32)},
    ...                 labels=np.zeros((5, 3), np.float32),
    ...                 tasks=("activation", "valence", "dominance"), session=1)
    >>> rec.inputs().shape, rec.inputs("motion").shape, rec.modalities
    ((5, 63), (5, 24), ('speech', 'motion'))
    """

    name: str
    speaker: str
    fps: float
    features: dict
    labels: np.ndarray
    tasks: tuple
    session: int | None = None
    partition: str | None = None
    ratings: dict | None = None
    raters: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    feature_names: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.labels.shape[0])

    @property
    def duration_s(self) -> float:
        """Duration in seconds, ``T / fps``."""
        return self.n_frames / self.fps

    @property
    def times(self) -> np.ndarray:
        """Frame times in seconds, shape (T,)."""
        return np.arange(self.n_frames) / self.fps

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modality names, speech first."""
        return _modality_order(self.features)

    def _resolve(self, modalities) -> tuple[str, ...]:
        if modalities is None or (isinstance(modalities, str) and modalities in ("multimodal", "all")):
            return self.modalities
        if isinstance(modalities, str):
            modalities = (modalities,)
        modalities = tuple(modalities)
        unknown = [m for m in modalities if m not in self.features]
        if unknown or not modalities:
            raise ValueError(
                f"recording {self.name!r} has modalities {self.modalities}; "
                f"got {modalities!r} (use a name, a sequence of names, or 'multimodal')"
            )
        return modalities

    def inputs(self, modalities: str | Sequence[str] | None = None) -> np.ndarray:
        """Per-frame model input: the modalities' features side by side.

        Parameters
        ----------
        modalities : str, sequence of str or None
            Which modalities, in this order. ``None`` or ``"multimodal"``:
            all, speech first (the paper's early fusion).

        Returns
        -------
        np.ndarray, float32, shape (T, P)
            P is the sum of the modalities' widths (63 for CreativeIT speech + motion).

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording("r", "s", 60.0, {"speech": np.zeros((4, 39), np.float32),
        ...                 "face": np.ones((4, 11), np.float32)}, np.zeros((4, 2), np.float32),
        ...                 ("activation", "valence"))
        >>> rec.inputs(["face", "speech"])[0, 0]
        np.float32(1.0)
        """
        mods = self._resolve(modalities)
        arrays = [self.features[m] for m in mods]
        if len(arrays) == 1:
            return np.asarray(arrays[0], dtype=np.float32)
        return np.concatenate(arrays, axis=1).astype(np.float32, copy=False)

    def label(self, task: str) -> np.ndarray:
        """The reference of one task, float32 (T,).

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording("r", "s", 25.0, {"speech": np.zeros((3, 39), np.float32)},
        ...                 np.array([[0.1, 0.2]] * 3, np.float32), ("activation", "valence"))
        >>> rec.label("valence")
        array([0.2, 0.2, 0.2], dtype=float32)
        """
        try:
            return self.labels[:, self.tasks.index(task)]
        except ValueError:
            raise ValueError(f"recording {self.name!r} has tasks {self.tasks}, not {task!r}") from None

    def __repr__(self) -> str:
        where = f"session={self.session}" if self.session is not None else f"partition={self.partition!r}"
        shapes = ", ".join(f"{m}={self.features[m].shape[1]}" for m in self.modalities)
        return (f"Recording({self.name!r}, speaker={self.speaker!r}, {where}, "
                f"{self.n_frames} frames at {self.fps:g} fps = {self.duration_s:.1f} s, "
                f"features: {shapes}, tasks={self.tasks})")


def _speakers(recordings: Iterable[Recording]) -> set[str]:
    return {r.speaker for r in recordings}


@dataclass(repr=False, eq=False)
class Fold:
    """One speaker-independent split: train, valid (early stopping only), test.

    Attributes
    ----------
    name : str
        E.g. ``"session1"`` (CreativeIT, session 1 is the test set) or ``"dev"``.
    train, valid, test : list of Recording
        No speaker appears in two of them (checked when the fold is made).

    Examples
    --------
    >>> corpus = load_corpus("data_stubs/creativeit", progress=False)   # doctest: +SKIP
    >>> fold = corpus.folds()[0]                                        # doctest: +SKIP
    >>> norm = fold.normaliser()          # statistics of the training speakers only  # doctest: +SKIP
    >>> x = norm.transform(fold.test[0].inputs())                       # doctest: +SKIP
    """

    name: str
    train: list
    valid: list
    test: list

    def speakers(self) -> dict[str, set]:
        """Speakers of each part: ``{"train": {...}, "valid": {...}, "test": {...}}``.

        Examples
        --------
        >>> fold = load_corpus("data_stubs/creativeit", progress=False).folds()[0]   # doctest: +SKIP
        >>> sorted(fold.speakers()["test"])                                          # doctest: +SKIP
        ['A01', 'A02']
        """
        return {"train": _speakers(self.train), "valid": _speakers(self.valid),
                "test": _speakers(self.test)}

    def check_speaker_independent(self) -> None:
        """Raise :class:`DatasetError` if a speaker is in two parts of the fold.

        Examples
        --------
        >>> import numpy as np
        >>> r = lambda name, spk: Recording(name, spk, 60.0, {"speech": np.zeros((1, 39))},
        ...                                 np.zeros((1, 1)), ("activation",))
        >>> Fold("f", [r("a", "S1")], [], [r("b", "S1")]).check_speaker_independent()
        Traceback (most recent call last):
        ...
        cerlib.data.DatasetError: fold 'f' is not speaker independent: train and test share ['S1']
        """
        parts = self.speakers()
        names = list(parts)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                shared = parts[a] & parts[b]
                if shared:
                    raise DatasetError(
                        f"fold {self.name!r} is not speaker independent: {a} and {b} share "
                        f"{sorted(shared)}")

    def normaliser(self, modalities: str | Sequence[str] | None = None):
        """A :class:`cerlib.features.Normaliser` fitted on the training recordings only.

        Validation and test recordings never contribute, so nothing about the
        held-out speakers leaks into the inputs.

        Parameters
        ----------
        modalities : str, sequence of str or None
            As in :meth:`Recording.inputs`.

        Returns
        -------
        cerlib.features.Normaliser
            Per-column mean and std, shape (P,).
        """
        if not self.train:
            raise ValueError(f"fold {self.name!r} has no training recordings to fit a normaliser on")
        return _features.Normaliser.fit([r.inputs(modalities) for r in self.train])

    def __repr__(self) -> str:
        def part(recs):
            return f"{len(recs)} recordings / {len(_speakers(recs))} speakers"
        return (f"Fold({self.name!r}, train: {part(self.train)}, valid: {part(self.valid)}, "
                f"test: {part(self.test)})")


def assert_speaker_independent(folds: Fold | Iterable[Fold]) -> None:
    """Raise :class:`DatasetError` unless no fold shares a speaker between its parts.

    Parameters
    ----------
    folds : Fold or iterable of Fold

    Examples
    --------
    >>> corpus = load_corpus("data_stubs/creativeit", progress=False)   # doctest: +SKIP
    >>> assert_speaker_independent(corpus.folds())                      # doctest: +SKIP
    """
    if isinstance(folds, Fold):
        folds = [folds]
    for fold in folds:
        fold.check_speaker_independent()


@dataclass(repr=False, eq=False)
class Corpus:
    """A loaded corpus: recordings, tasks and speaker-independent folds.

    Attributes
    ----------
    name : str
        ``"creativeit"`` or ``"recola"``.
    path : pathlib.Path
        The dataset folder.
    fps : float
        Frame rate of every recording.
    tasks : tuple of str
    recordings : list of Recording
    modalities : tuple of str
        Speech first.

    Examples
    --------
    >>> corpus = load_corpus("data_stubs/recola", progress=False)   # doctest: +SKIP
    >>> corpus["dev_1"].partition, len(corpus.folds())              # doctest: +SKIP
    ('dev', 1)
    """

    name: str
    path: Path
    fps: float
    tasks: tuple
    recordings: list
    modalities: tuple

    def __len__(self) -> int:
        return len(self.recordings)

    def __iter__(self) -> Iterator[Recording]:
        return iter(self.recordings)

    def __getitem__(self, key: int | str) -> Recording:
        if isinstance(key, str):
            for r in self.recordings:
                if r.name == key:
                    return r
            raise KeyError(f"{self.name} has no recording {key!r}")
        return self.recordings[key]

    @property
    def speakers(self) -> list[str]:
        """Speaker ids, sorted."""
        return sorted(_speakers(self.recordings))

    @property
    def duration_s(self) -> float:
        """Total duration of all recordings in seconds."""
        return float(sum(r.duration_s for r in self.recordings))

    def summary(self):
        """One row per recording (name, speaker, session/partition, frames, seconds).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> load_corpus("data_stubs/recola", progress=False).summary().shape   # doctest: +SKIP
        (9, 6)
        """
        import pandas as pd

        return pd.DataFrame([
            {"recording": r.name, "speaker": r.speaker, "session": r.session,
             "partition": r.partition, "n_frames": r.n_frames,
             "duration_s": round(r.duration_s, 2)}
            for r in self.recordings])

    def folds(self, valid_sessions: int = 1, valid_speakers: int = 2, seed: int = 0) -> list[Fold]:
        """Speaker-independent folds.

        CreativeIT: one fold per session (5 for the corpus): fold ``k`` tests
        session ``k``; the ``valid_sessions`` sessions that follow it
        (cyclically: k+1, k+2, ... wrapping after the last) are the validation
        set, used for early stopping and nothing else; the remaining sessions
        train. Each speaker belongs to one session, so the parts share no
        speaker.

        RECOLA: one fold, ``"dev"``: test = the dev partition (as the paper
        reports); valid = ``valid_speakers`` training speakers drawn with
        ``seed``; train = the other training speakers. Early stopping on the
        dev set itself would let the test set choose the model.

        Parameters
        ----------
        valid_sessions : int, default 1
            CreativeIT only; 0 gives an empty validation set.
        valid_speakers : int, default 2
            RECOLA only; 0 gives an empty validation set.
        seed : int, default 0
            RECOLA only: which training speakers validate.

        Returns
        -------
        list of Fold

        Examples
        --------
        >>> corpus = load_corpus("data_stubs/creativeit", progress=False)   # doctest: +SKIP
        >>> [f.name for f in corpus.folds()]                                # doctest: +SKIP
        ['session1', 'session2', 'session3', 'session4', 'session5']
        """
        if self.name == "creativeit":
            folds = self._session_folds(int(valid_sessions))
        else:
            folds = self._recola_folds(int(valid_speakers), seed)
        assert_speaker_independent(folds)
        return folds

    def _session_folds(self, valid_sessions: int) -> list[Fold]:
        sessions = sorted({r.session for r in self.recordings})
        by_speaker: dict[str, set] = {}
        for r in self.recordings:
            by_speaker.setdefault(r.speaker, set()).add(r.session)
        mixed = {s: sorted(v) for s, v in by_speaker.items() if len(v) > 1}
        if mixed:
            raise DatasetError(
                f"{self.path / 'recordings.csv'}: speakers {mixed} appear in more than one session, "
                "so session folds would not be speaker independent; each actor must belong to "
                "one session")
        if not 0 <= valid_sessions <= len(sessions) - 2:
            raise ValueError(f"valid_sessions must be in 0..{len(sessions) - 2} "
                             f"({len(sessions)} sessions), got {valid_sessions}")
        folds = []
        for i, s in enumerate(sessions):
            valid = {sessions[(i + j) % len(sessions)] for j in range(1, valid_sessions + 1)}
            folds.append(Fold(
                name=f"session{s}",
                train=[r for r in self.recordings if r.session != s and r.session not in valid],
                valid=[r for r in self.recordings if r.session in valid],
                test=[r for r in self.recordings if r.session == s]))
        return folds

    def _recola_folds(self, valid_speakers: int, seed: int) -> list[Fold]:
        train = [r for r in self.recordings if r.partition == "train"]
        test = [r for r in self.recordings if r.partition == "dev"]
        speakers = sorted(_speakers(train))
        if not 0 <= valid_speakers < len(speakers):
            raise ValueError(f"valid_speakers must be in 0..{len(speakers) - 1} "
                             f"({len(speakers)} training speakers), got {valid_speakers}")
        rng = np.random.default_rng(seed)
        held = set(rng.choice(speakers, size=valid_speakers, replace=False).tolist()) if valid_speakers else set()
        return [Fold(name="dev",
                     train=[r for r in train if r.speaker not in held],
                     valid=[r for r in train if r.speaker in held],
                     test=test)]

    def __repr__(self) -> str:
        parts = (f"{len({r.session for r in self.recordings})} sessions" if self.name == "creativeit"
                 else ", ".join(f"{sum(r.partition == p for r in self.recordings)} {p}"
                                for p in ("train", "dev")))
        return (f"Corpus({self.name!r}, {len(self)} recordings, {len(self.speakers)} speakers, "
                f"{parts}, {self.duration_s / 60:.1f} min at {self.fps:g} fps, "
                f"modalities={self.modalities}, tasks={self.tasks})")


# ---------------------------------------------------------------------------
# File readers
# ---------------------------------------------------------------------------

def _require_file(path: Path, what: str, recording: str | None, layout: str) -> Path:
    if not path.is_file():
        who = f"recording {recording!r}: " if recording else ""
        raise DatasetError(f"{who}missing {what} file {path}\n{layout}")
    return path


def read_audio(path: str | os.PathLike, sr: int | None = AUDIO_SR) -> tuple[np.ndarray, int]:
    """Read a sound file as mono float32, resampled to ``sr``.

    Parameters
    ----------
    path : path-like
        Any format soundfile reads (WAV PCM, µ-law, FLAC, ...).
    sr : int or None, default 16000
        Target sample rate; ``None`` keeps the file's rate. Resampling uses
        librosa's soxr (high quality).

    Returns
    -------
    wave : np.ndarray, float32, shape (n,)
        Mean of the channels, full scale 1.
    sr : int

    Raises
    ------
    DatasetError
        If the file is missing, unreadable or empty.

    Examples
    --------
    >>> wave, sr = read_audio("data_stubs/recola/recordings_audio/train_1.wav")   # doctest: +SKIP
    >>> wave.ndim, sr                                                             # doctest: +SKIP
    (1, 16000)
    """
    import soundfile as sf

    path = Path(path)
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError / OSError
        raise DatasetError(f"cannot read audio file {path}: {err}") from err
    if data.shape[0] == 0:
        raise DatasetError(f"audio file {path} holds no samples")
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if sr is not None and int(file_sr) != int(sr):
        import librosa

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
    motion : np.ndarray, float64, shape (n_frames, n_channels)
        All channels, in file order.
    path : pathlib.Path or None

    Examples
    --------
    >>> bvh = read_bvh("data_stubs/creativeit/mocap/s1_i01_A01.bvh")   # doctest: +SKIP
    >>> bvh.n_frames, bvh.channels["Head"]                               # doctest: +SKIP
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
        return 1.0 / self.frame_time

    def column(self, joint: str, channel: str) -> int:
        """Column of ``motion`` holding ``channel`` of ``joint``.

        Examples
        --------
        >>> bvh = read_bvh("data_stubs/creativeit/mocap/s1_i01_A01.bvh")   # doctest: +SKIP
        >>> bvh.column("Spine", "Zrotation")                                 # doctest: +SKIP
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

    def angles(self, joints: Sequence[str] = CREATIVEIT_JOINTS) -> np.ndarray:
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
        >>> bvh = read_bvh("data_stubs/creativeit/mocap/s1_i01_A01.bvh")   # doctest: +SKIP
        >>> bvh.angles(["Head"]).shape                                       # doctest: +SKIP
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
        If the file is missing or malformed; the message names the file and
        what was expected.

    Examples
    --------
    >>> bvh = read_bvh("data_stubs/creativeit/mocap/s1_i01_A01.bvh")   # doctest: +SKIP
    >>> bvh.joints[:2], round(bvh.fps)                                   # doctest: +SKIP
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
    tokens = _BVH_TOKEN.findall(text[:m.start()])[1:]

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
    return Bvh(joints=joints, parents=parents, offsets=offsets, channels=channels,
               frame_time=frame_time, motion=values.reshape(n_frames, n_channels), path=path)


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
    >>> rel, df = read_arff("data_stubs/recola/ratings_gold_standard/arousal/dev_1.arff")  # doctest: +SKIP
    >>> rel, list(df.columns)                                                            # doctest: +SKIP
    ('GOLDSTANDARD', ['Instance_name', 'frameTime', 'GoldStandard'])
    """
    import pandas as pd

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
    body = "\n".join(l for l in lines[data_start:] if l.strip() and not l.lstrip().startswith("%"))
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
    >>> t, v, raters = read_ratings("data_stubs/recola/ratings_individual/arousal/train_1.csv")  # doctest: +SKIP
    >>> raters                                                                                   # doctest: +SKIP
    ['FM1', 'FM2', 'FM3', 'FF1', 'FF2', 'FF3']
    """
    import pandas as pd

    path = Path(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
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
        df = pd.read_csv(path, sep=sep, dtype=np.float64, skipinitialspace=True)
    except Exception as err:
        raise DatasetError(f"ratings file {path}: unreadable or non-numeric values ({err}); "
                           f"expected numbers under the header {header.strip()!r}") from err
    values = df.to_numpy(dtype=np.float64)
    return values[:, 0], values[:, 1:], cols[1:]


def _step(times: np.ndarray) -> float:
    return float(np.median(np.diff(times))) if times.size > 1 else 0.0


def _coverage_s(times: np.ndarray) -> float:
    """Seconds a series with sample times ``times`` covers: last time plus one step."""
    return float(times[-1] + _step(times)) if times.size else 0.0


def _frames_within(duration_s: float, fps: float) -> int:
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
    array([ 170.,  180., -170., -170.])
    """
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    one_d = v.ndim == 1
    v2 = v[:, None] if one_d else v
    if n_frames is None:
        n_frames = _frames_within(_coverage_s(t), fps)
    if period is not None:
        v2 = np.unwrap(v2, period=period, axis=0)
    ft = np.arange(n_frames) / float(fps)
    out = np.empty((n_frames, v2.shape[1]))
    for c in range(v2.shape[1]):
        out[:, c] = np.interp(ft, t, v2[:, c])
    if period is not None:
        half = period / 2
        out = (out + half) % period - half
        out[np.isclose(out, -half)] = half  # keep +180 as the canonical edge value
    return out[:, 0] if one_d else out


def _fill_gaps(values: np.ndarray) -> tuple[np.ndarray, list[int]]:
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


# ---------------------------------------------------------------------------
# Layout detection and per-recording specs
# ---------------------------------------------------------------------------

def detect_layout(path: str | os.PathLike) -> str:
    """Which layout a dataset folder has: ``"creativeit"`` or ``"recola"``.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    str

    Raises
    ------
    DatasetError
        If the folder is missing or has neither layout (the message shows both).

    Examples
    --------
    >>> detect_layout("data_stubs/recola")   # doctest: +SKIP
    'recola'
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"dataset folder {path} does not exist\n{CREATIVEIT_LAYOUT}\n{RECOLA_LAYOUT}")
    if (path / "recordings_audio").is_dir():
        return "recola"
    if (path / "recordings.csv").is_file() or (path / "mocap").is_dir():
        return "creativeit"
    hint = ""
    subs = [p.name for p in sorted(path.iterdir()) if p.is_dir() and
            ((p / "recordings_audio").is_dir() or (p / "recordings.csv").is_file())]
    if subs:
        hint = f" (it holds corpora in {subs}: pass one of those folders)"
    raise DatasetError(f"{path} has neither the CreativeIT nor the RECOLA layout{hint}; expected one of\n"
                       f"{CREATIVEIT_LAYOUT}\n{RECOLA_LAYOUT}")


@dataclass
class _Spec:
    name: str
    speaker: str
    session: int | None
    partition: str | None
    primary: dict            # modality -> (kind, path): must exist
    labels: dict             # task -> path of the label source (individual ratings or gold)
    extra_ratings: dict      # task -> path of individual ratings when labels come from gold
    meta: dict


def _creativeit_specs(root: Path, tasks: tuple[str, ...]) -> list[_Spec]:
    import pandas as pd

    index = _require_file(root / "recordings.csv", "index", None, CREATIVEIT_LAYOUT)
    try:
        df = pd.read_csv(index, dtype=str, skipinitialspace=True).fillna("")
    except Exception as err:
        raise DatasetError(f"cannot read {index}: {err}\n{CREATIVEIT_LAYOUT}") from err
    need = {"recording", "session", "actor"}
    if not need <= set(df.columns):
        raise DatasetError(f"{index}: header must include {sorted(need)} "
                           f"(found {list(df.columns)})\n{CREATIVEIT_LAYOUT}")
    specs = []
    for row in df.to_dict("records"):
        name = row["recording"].strip()
        try:
            session = int(row["session"])
        except ValueError:
            raise DatasetError(f"{index}: recording {name!r} has session {row['session']!r}, "
                               "expected an integer (1..5)") from None
        specs.append(_Spec(
            name=name, speaker=row["actor"].strip(), session=session, partition=None,
            primary={"audio": root / "audio" / f"{name}.wav",
                     "motion": root / "mocap" / f"{name}.bvh"},
            labels={t: root / "annotations" / t / f"{name}.csv" for t in tasks},
            extra_ratings={},
            meta={k: v for k, v in row.items() if k not in ("recording", "session", "actor")}))
    return specs


def _natural_key(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _recola_specs(root: Path, tasks, partitions, gold_standard: bool) -> list[_Spec]:
    audio_dir = root / "recordings_audio"
    names = [p.stem for p in audio_dir.glob("*.wav")
             if re.fullmatch(r"([a-z]+)_\d+", p.stem) and p.stem.split("_")[0] in partitions]
    if not names:
        raise DatasetError(f"{audio_dir} holds no {'/'.join(partitions)}_N.wav files\n{RECOLA_LAYOUT}")
    names.sort(key=lambda n: (list(partitions).index(n.split("_")[0]), _natural_key(n)))
    specs = []
    for name in names:
        individual = {t: root / "ratings_individual" / RECOLA_TASK_FOLDERS[t] / f"{name}.csv" for t in tasks}
        gold = {t: root / "ratings_gold_standard" / RECOLA_TASK_FOLDERS[t] / f"{name}.arff" for t in tasks}
        specs.append(_Spec(
            name=name, speaker=name, session=None, partition=name.split("_")[0],
            primary={"audio": audio_dir / f"{name}.wav",
                     "face": root / "features_video_geometric" / f"{name}.arff"},
            labels=gold if gold_standard else individual,
            extra_ratings=individual if gold_standard else {},
            meta={}))
    return specs


# ---------------------------------------------------------------------------
# Loading one recording
# ---------------------------------------------------------------------------

_CODE_FINGERPRINT: str | None = None


def _code_fingerprint() -> str:
    """Hash of this module's and cerlib.features' source: a code change invalidates the cache."""
    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        h = hashlib.sha256()
        for mod_file in (__file__, _features.__file__):
            try:
                h.update(Path(mod_file).read_bytes())
            except OSError:
                h.update(str(mod_file).encode())
        _CODE_FINGERPRINT = h.hexdigest()
    return _CODE_FINGERPRINT


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:   # hashlib.file_digest would need Python 3.11
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Dropped(Exception):
    """The recording's labels are missing or NaN; it is dropped with a warning."""


def _read_label_series(spec: _Spec, task: str, path: Path, corpus: str, gold: bool):
    """(times, values (N, R), raters) of one task; raises _Dropped if labels are missing."""
    if not path.is_file():
        raise _Dropped(f"dropping recording {spec.name!r}: no {task} labels (expected {path})")
    try:
        return _parse_label_series(spec, task, path, gold)
    except DatasetError as err:
        layout = CREATIVEIT_LAYOUT if corpus == "creativeit" else RECOLA_LAYOUT
        if str(err).startswith("recording "):
            raise
        raise DatasetError(f"recording {spec.name!r}: {err}\n{layout}") from None


def _parse_label_series(spec: _Spec, task: str, path: Path, gold: bool):
    if gold:
        _, df = read_arff(path)
        cols = list(df.columns)
        need = ("frameTime", "GoldStandard")
        if not all(c in cols for c in need):
            raise DatasetError(f"recording {spec.name!r}: gold-standard file {path} must have "
                               f"attributes Instance_name, frameTime, GoldStandard (found {cols})\n"
                               f"{RECOLA_LAYOUT}")
        times = df["frameTime"].to_numpy(np.float64)
        values = df[["GoldStandard"]].to_numpy(np.float64)
        raters = ["GoldStandard"]
    else:
        times, values, raters = read_ratings(path)
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise _Dropped(f"dropping recording {spec.name!r}: {path} holds no {task} ratings")
    n_nan = int(np.isnan(values).sum()) + int(np.isnan(times).sum())
    if n_nan:
        raise _Dropped(f"dropping recording {spec.name!r}: {path} has {n_nan} missing (NaN) {task} value(s)")
    if times.size > 1 and not np.all(np.diff(times) > 0):
        raise DatasetError(f"recording {spec.name!r}: times in {path} are not increasing")
    return times, values, raters


def _compute_recording(spec: _Spec, corpus: str, tasks, fps: float, sr: int, joints,
                       gold_standard: bool) -> tuple[dict, list[str]]:
    layout = CREATIVEIT_LAYOUT if corpus == "creativeit" else RECOLA_LAYOUT
    messages: list[str] = []
    # Labels first: a recording without them is dropped before any feature work.
    label_series = {t: _read_label_series(spec, t, spec.labels[t], corpus, gold_standard) for t in tasks}
    extra_series = {}
    for t, p in spec.extra_ratings.items():
        if p.is_file():
            try:
                extra_series[t] = _read_label_series(spec, t, p, corpus, False)
            except _Dropped:
                pass  # individual traces are a plotting extra when labels come from the gold standard

    coverage: dict[str, float] = {}
    frames: dict[str, int] = {}
    periods = [1.0 / fps]

    try:
        wave, wsr = read_audio(spec.primary["audio"], sr)
    except DatasetError as err:
        raise DatasetError(f"recording {spec.name!r}: {err}\n{layout}") from None
    speech = _features.speech_features(wave, wsr, fps)
    coverage["audio"] = wave.shape[0] / wsr
    frames["audio"] = speech.shape[0]

    other: dict[str, np.ndarray] = {}
    if "motion" in spec.primary:
        path = spec.primary["motion"]
        try:
            bvh = read_bvh(path)
            angles = bvh.angles(joints)
        except DatasetError as err:
            raise DatasetError(f"recording {spec.name!r}: {err}\n{layout}") from None
        # 'Frame Time: 0.0166667' means 60 fps: snap rates written with a few digits.
        bvh_fps = 1.0 / bvh.frame_time
        if abs(bvh_fps - round(bvh_fps)) < 1e-4 * bvh_fps:
            bvh_fps = float(round(bvh_fps))
        coverage["motion"] = bvh.n_frames / bvh_fps
        periods.append(1.0 / bvh_fps)
        if bvh_fps == fps:
            motion_angles = angles
        else:
            times = np.arange(bvh.n_frames) / bvh_fps
            motion_angles = resample_series(times, angles, fps, _frames_within(coverage["motion"], fps),
                                            period=360.0)
        frames["motion"] = motion_angles.shape[0]
        other["motion"] = motion_angles
    if "face" in spec.primary:
        path = spec.primary["face"]
        try:
            _, df = read_arff(path)
        except DatasetError as err:
            raise DatasetError(f"recording {spec.name!r}: {err}\n{layout}") from None
        cols = list(df.columns)
        if len(cols) < 3 or cols[1].lower() != "frametime":
            raise DatasetError(f"recording {spec.name!r}: {path} must have attributes Instance_name, "
                               f"frameTime, then numeric features (found {cols[:5]})\n{layout}")
        times = df[cols[1]].to_numpy(np.float64)
        numeric = [c for c in cols[2:] if df[c].dtype.kind == "f"]
        if times.size == 0 or not numeric:
            raise DatasetError(f"recording {spec.name!r}: {path} holds no numeric face frames\n{layout}")
        values, empty = _fill_gaps(df[numeric].to_numpy(np.float64))
        if empty:
            messages.append(f"recording {spec.name!r}: {path} has no values at all in columns "
                            f"{[numeric[c] for c in empty]}; filled with 0")
        coverage["face"] = _coverage_s(times)
        periods.append(_step(times))
        frames["face"] = _frames_within(coverage["face"], fps)
        other["face"] = resample_series(times, values, fps, frames["face"])
    for t, (times, _, _) in label_series.items():
        coverage[f"{t} labels"] = _coverage_s(times)
        periods.append(_step(times))
        frames[f"{t} labels"] = _frames_within(coverage[f"{t} labels"], fps)

    n = min(frames.values())
    spread = max(coverage.values()) - min(coverage.values())
    listing = ", ".join(f"{k} {v:.2f} s" for k, v in coverage.items())
    if spread > MAX_LENGTH_MISMATCH_S + 1e-9:
        raise DatasetError(
            f"recording {spec.name!r}: modalities differ in length by {spread:.2f} s ({listing}); "
            f"at most {MAX_LENGTH_MISMATCH_S:g} s can be trimmed. Files: "
            + ", ".join(str(p) for p in spec.primary.values()))
    if spread > max(periods) + 1e-6:
        messages.append(f"recording {spec.name!r}: modalities differ in length by {spread:.2f} s "
                        f"({listing}); trimmed to the shortest, {n} frames at {fps:g} fps")
    if n < 1:
        raise DatasetError(f"recording {spec.name!r}: no frames in common ({listing})")

    arrays = {"feat_speech": speech[:n]}
    if "motion" in other:
        arrays["feat_motion"] = _features.motion_features(other["motion"][:n])
    if "face" in other:
        arrays["feat_face"] = other["face"][:n].astype(np.float32)
    raters = {}
    labels = np.empty((n, len(tasks)), dtype=np.float32)
    for j, t in enumerate(tasks):
        times, values, names = label_series[t]
        traces = resample_series(times, values, fps, n)
        labels[:, j] = traces.mean(axis=1)
        if t in extra_series:
            times, values, names = extra_series[t]
            traces = resample_series(times, values, fps, n)
        arrays[f"ratings_{t}"] = traces.astype(np.float32)
        raters[t] = list(names)
    arrays["labels"] = labels
    names = {"speech": list(_features.SPEECH_FEATURE_NAMES)}
    if "motion" in other:
        names["motion"] = list(_features.motion_feature_names(joints))
    if "face" in other:
        names["face"] = list(numeric)
    meta = {"raters": raters, "messages": messages, "feature_names": names}
    return arrays, meta


def _cache_key(spec: _Spec, params: dict) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(_code_fingerprint().encode())
    h.update(spec.name.encode())
    files = {**{k: p for k, p in spec.primary.items()},
             **{f"labels/{t}": p for t, p in spec.labels.items()},
             **{f"ratings/{t}": p for t, p in spec.extra_ratings.items()}}
    for key in sorted(files):
        p = files[key]
        h.update(key.encode())
        h.update(_file_digest(p).encode() if p.is_file() else b"<missing>")
    return h.hexdigest()


def _cache_read(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"]))
        return arrays, meta
    except Exception:
        return None  # a damaged or foreign cache file is recomputed and replaced


def _cache_write(path: Path, arrays: dict, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the old file or the complete new one
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _build(spec: _Spec, arrays: dict, meta: dict, tasks, fps: float) -> Recording:
    features = {k[len("feat_"):]: arrays[k] for k in arrays if k.startswith("feat_")}
    ratings = {t: arrays[f"ratings_{t}"] for t in tasks if f"ratings_{t}" in arrays}
    sources = {k: p for k, p in spec.primary.items()}
    sources.update({t: p for t, p in spec.labels.items()})
    return Recording(name=spec.name, speaker=spec.speaker, fps=float(fps),
                     features={m: features[m] for m in _modality_order(features)},
                     labels=arrays["labels"], tasks=tuple(tasks), session=spec.session,
                     partition=spec.partition, ratings=ratings or None,
                     raters={t: tuple(v) for t, v in meta["raters"].items()},
                     sources=sources, meta=dict(spec.meta),
                     feature_names={m: tuple(v) for m, v in meta.get("feature_names", {}).items()})


def _is_inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def load_corpus(path: str | os.PathLike, fps: float = 60.0, *, cache_dir=None,
                gold_standard: bool = False, progress: bool = True, sr: int = AUDIO_SR,
                joints: Sequence[str] = CREATIVEIT_JOINTS,
                partitions: Sequence[str] = ("train", "dev")) -> Corpus:
    """Load a CreativeIT- or RECOLA-layout dataset folder.

    The layout is detected from the files (:func:`detect_layout`); the module
    docstring lists both. Every modality and the labels are aligned to
    ``fps``.

    Parameters
    ----------
    path : path-like
        The dataset folder, e.g. ``"data_stubs/creativeit"``.
    fps : float, default 60.0
        Frame rate of the loaded arrays (the paper: 60).
    cache_dir : path-like, None or False
        Where computed features are cached; ``None``: :func:`default_cache_dir`;
        ``False``: no cache. Must not lie inside the dataset folder.
    gold_standard : bool, default False
        RECOLA only: use ``ratings_gold_standard`` as labels instead of the
        mean of the six raters (the paper's reference).
    progress : bool, default True
        Show a progress bar (never when ``CERLIB_QUIET=1``).
    sr : int, default 16000
        Audio is resampled to this rate before feature extraction.
    joints : sequence of str
        CreativeIT: the BVH joints whose Euler angles form the motion
        features (default :data:`CREATIVEIT_JOINTS`, 4 joints -> 24 features).
    partitions : sequence of str, default ("train", "dev")
        RECOLA: which partitions to load (test has no public labels).

    Returns
    -------
    Corpus

    Raises
    ------
    DatasetError
        Missing or unreadable files, modalities more than a second apart, or
        a folder with neither layout.

    Warns
    -----
    DatasetWarning
        A recording is dropped (missing / NaN labels) or trimmed.

    Examples
    --------
    >>> corpus = load_corpus("data_stubs/creativeit", progress=False)   # doctest: +SKIP
    >>> rec = corpus.recordings[0]                                      # doctest: +SKIP
    >>> rec.features["speech"].shape[1], rec.features["motion"].shape[1], rec.labels.shape[1]  # doctest: +SKIP
    (39, 24, 3)
    """
    root = Path(path)
    kind = detect_layout(root)
    fps = float(fps)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if kind == "creativeit":
        if gold_standard:
            raise ValueError("gold_standard=True is for RECOLA; CreativeIT labels are always the "
                             "mean of its annotators")
        tasks = CREATIVEIT_TASKS
        specs = _creativeit_specs(root, tasks)
        modalities = ("speech", "motion")
    else:
        tasks = RECOLA_TASKS
        specs = _recola_specs(root, tasks, tuple(partitions), gold_standard)
        modalities = ("speech", "face")

    cache_root = None
    if cache_dir is not False:
        cache_root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        if _is_inside(cache_root, root):
            raise ValueError(f"cache_dir {cache_root} lies inside the dataset folder {root}; "
                             "cerlib never writes into a dataset folder")
        cache_root = cache_root / "recordings"
    params = {"version": DATA_VERSION, "corpus": kind, "fps": fps, "sr": int(sr),
              "joints": list(joints) if kind == "creativeit" else None,
              "gold_standard": bool(gold_standard)}

    layout = CREATIVEIT_LAYOUT if kind == "creativeit" else RECOLA_LAYOUT
    recordings = []
    cache_ok = cache_root is not None
    for spec in _progress(specs, enabled=progress, desc=f"loading {kind}", unit="rec"):
        for what, p in spec.primary.items():
            _require_file(p, "motion capture (BVH)" if what == "motion" else
                          "face features (ARFF)" if what == "face" else what, spec.name, layout)
        key = _cache_key(spec, params) if cache_ok else None
        cached = _cache_read(cache_root / f"{key}.npz") if cache_ok and (cache_root / f"{key}.npz").is_file() else None
        if cached is None:
            try:
                arrays, meta = _compute_recording(spec, kind, tasks, fps, int(sr), joints, gold_standard)
            except _Dropped as drop:
                _warn(str(drop))
                continue
            if cache_ok:
                try:
                    _cache_write(cache_root / f"{key}.npz", arrays, meta)
                except OSError as err:
                    _warn(f"cannot write the feature cache in {cache_root} ({err}); loading without it")
                    cache_ok = False
        else:
            arrays, meta = cached
        for message in meta.get("messages", []):
            _warn(message)
        recordings.append(_build(spec, arrays, meta, tasks, fps))
    if not recordings:
        raise DatasetError(f"{root}: no recording could be loaded (all were dropped)\n{layout}")
    return Corpus(name=kind, path=root, fps=fps, tasks=tasks, recordings=recordings,
                  modalities=modalities)
