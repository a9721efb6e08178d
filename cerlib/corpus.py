"""The corpus model: Recording, Fold, Corpus and speaker-independent folds.

A :class:`Recording` holds one speaker's per-modality frames and labels on one
clock; a :class:`Corpus` holds the recordings of one dataset and builds the
paper's folds (CreativeIT: leave one session out; RECOLA: train/dev), which
never share a speaker between their parts (:func:`assert_speaker_independent`).
Notebook 02 tells why the folds are built this way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from . import features as _features
from .formats import DatasetError

__all__ = ["Recording", "Fold", "Corpus", "assert_speaker_independent"]



# ---------------------------------------------------------------------------
# Data classes
# ---------------------------------------------------------------------------

def modality_order(names: Iterable[str]) -> tuple[str, ...]:
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
        return modality_order(self.features)

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
    >>> from cerlib import example_data, load_corpus
    >>> corpus = load_corpus(example_data("creativeit"), progress=False)
    >>> fold = corpus.folds()[0]
    >>> norm = fold.normaliser()          # statistics of the training speakers only
    >>> x = norm.transform(fold.test[0].inputs())
    """

    name: str
    train: list
    valid: list
    test: list

    def speakers(self) -> dict[str, set]:
        """Speakers of each part: ``{"train": {...}, "valid": {...}, "test": {...}}``.

        Examples
        --------
        >>> from cerlib import example_data, load_corpus
        >>> fold = load_corpus(example_data("creativeit"), progress=False).folds()[0]
        >>> sorted(fold.speakers()["test"])
        ['A01', 'A02', 'A03', 'A04']
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
        cerlib.formats.DatasetError: fold 'f' is not speaker independent: train and test share ['S1']
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
        """A :class:`cerlib.normaliser.Normaliser` fitted on the training recordings only.

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
    >>> from cerlib import example_data, load_corpus
    >>> corpus = load_corpus(example_data("creativeit"), progress=False)
    >>> assert_speaker_independent(corpus.folds())
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
    layout : cerlib.layouts.Layout
        The dataset's layout object: its files, tasks and fold rule.

    Examples
    --------
    >>> from cerlib import example_data, load_corpus
    >>> corpus = load_corpus(example_data("recola"), progress=False)
    >>> corpus["dev_1"].partition, len(corpus.folds())
    ('dev', 1)
    """

    name: str
    path: Path
    fps: float
    tasks: tuple
    recordings: list
    modalities: tuple
    layout: object         # a cerlib.layouts.Layout (layouts comes after corpus in the module order)

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
        >>> from cerlib import example_data, load_corpus
        >>> load_corpus(example_data("recola"), progress=False).summary().shape
        (9, 6)
        """
        return pd.DataFrame([
            {"recording": r.name, "speaker": r.speaker, "session": r.session,
             "partition": r.partition, "n_frames": r.n_frames,
             "duration_s": round(r.duration_s, 2)}
            for r in self.recordings])

    def folds(self, valid_sessions: int = 1, valid_speakers: int = 2, seed: int = 0) -> list[Fold]:
        """Speaker-independent folds, by the fold rule of the corpus's layout.

        CreativeIT (:meth:`cerlib.layouts.CreativeIT.folds`): one fold per
        session (5 for the corpus): fold ``k`` tests session ``k``; the
        ``valid_sessions`` sessions that follow it (cyclically: k+1, k+2, ...
        wrapping after the last) are the validation set, used for early
        stopping and nothing else; the remaining sessions train. Each speaker
        belongs to one session, so the parts share no speaker.

        RECOLA (:meth:`cerlib.layouts.Recola.folds`): one fold, ``"dev"``:
        test = the dev partition (as the paper reports); valid =
        ``valid_speakers`` training speakers drawn with ``seed``; train = the
        other training speakers. Early stopping on the dev set itself would
        let the test set choose the model.

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
        >>> from cerlib import example_data, load_corpus
        >>> corpus = load_corpus(example_data("creativeit"), progress=False)
        >>> [f.name for f in corpus.folds()]
        ['session1', 'session2', 'session3', 'session4', 'session5']
        """
        folds = self.layout.folds(self, valid_sessions=int(valid_sessions), valid_speakers=int(valid_speakers),
                                  seed=seed)
        assert_speaker_independent(folds)
        return folds

    def __repr__(self) -> str:
        return (f"Corpus({self.name!r}, {len(self)} recordings, {len(self.speakers)} speakers, "
                f"{self.layout.parts(self.recordings)}, {self.duration_s / 60:.1f} min at {self.fps:g} fps, "
                f"modalities={self.modalities}, tasks={self.tasks})")

