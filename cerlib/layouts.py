"""The CreativeIT and RECOLA layouts: one :class:`Layout` object per dataset.

Everything cerlib knows about a dataset lives in its layout object: the files
that make a recording, the tasks (label columns) and the modalities, how to
recognise the folder, and the fold rule of the paper. :mod:`cerlib.data`
reads whatever a layout lists; no other module asks "is this CreativeIT?".

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
A layout turns a folder into a list of recording specifications (names,
speakers, file paths); it reads only the index, never the signals.

Examples
--------
>>> from cerlib import example_data
>>> layout = layout_of(example_data("recola"))
>>> layout.name, layout.tasks, layout.modalities
('recola', ('activation', 'valence'), ('speech', 'face'))
>>> [l.title for l in LAYOUTS]
['CreativeIT', 'RECOLA']
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .corpus import Fold, Recording
from .formats import DatasetError, require_file

__all__ = ["Layout", "CREATIVEIT", "RECOLA", "LAYOUTS", "TASKS", "layout_of", "detect_layout",
           "enclosing_dataset", "CREATIVEIT_TASKS", "RECOLA_TASKS", "CREATIVEIT_JOINTS"]

#: The four joints whose three Euler angles give the paper's 12 angles (see
#: data_stubs/creativeit/README.md for why these four).
CREATIVEIT_JOINTS: tuple[str, ...] = ("Head", "Spine", "LeftForeArm", "RightForeArm")
#: Documented scale of the ratings in both layouts (the READMEs in data_stubs/).
LABEL_SCALE: tuple[float, float] = (-1.0, 1.0)


@dataclass
class RecordingSpec:
    """The files that make one recording (package-internal: :mod:`cerlib.data` reads them)."""

    name: str
    speaker: str
    session: int | None
    partition: str | None
    primary: dict            # modality -> (kind, path): must exist
    labels: dict             # task -> path of the label source (individual ratings or gold)
    extra_ratings: dict      # task -> path of individual ratings when labels come from gold
    meta: dict


class Layout:
    """What cerlib knows about one dataset: files, tasks, modalities, detection, folds.

    There is one instance per dataset (:data:`CREATIVEIT`, :data:`RECOLA`);
    a new dataset is a new subclass with these attributes and methods.

    Attributes
    ----------
    name : str
        Short name used in tables, file names and the cache (``"creativeit"``).
    title : str
        The name to print (``"CreativeIT"``).
    tasks : tuple of str
        Label columns, in label order.
    modalities : tuple of str
        Input modalities, speech first.
    listing : str
        The expected files, shown in every error about this layout.

    Examples
    --------
    >>> from cerlib import example_data, load_corpus
    >>> corpus = load_corpus(example_data("creativeit"), progress=False)
    >>> corpus.layout is CREATIVEIT, CREATIVEIT.tasks
    (True, ('activation', 'valence', 'dominance'))
    >>> [f.name for f in CREATIVEIT.folds(corpus, valid_sessions=1)][:2]     # the fold rule
    ['session1', 'session2']
    >>> RECOLA.recognises(example_data("recola")), RECOLA.recognises(example_data("creativeit"))
    (True, False)
    """

    name: str
    title: str
    tasks: tuple[str, ...]
    modalities: tuple[str, ...]
    listing: str

    def recognises(self, folder: Path, strict: bool = False) -> bool:
        """Whether ``folder`` has this layout (``strict``: enough to refuse writing into it)."""
        raise NotImplementedError

    def specs(self, root: Path, *, partitions: Sequence[str], gold_standard: bool) -> list[RecordingSpec]:
        """The recordings a folder of this layout lists (reads only the index)."""
        raise NotImplementedError

    def folds(self, corpus, *, valid_sessions: int, valid_speakers: int, seed: int) -> list[Fold]:
        """The paper's speaker-independent folds of a corpus with this layout."""
        raise NotImplementedError

    def parts(self, recordings: Sequence[Recording]) -> str:
        """How the recordings divide, for a corpus's repr (``"5 sessions"``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.title} layout: tasks={self.tasks}, modalities={self.modalities}>"


class CreativeIT(Layout):
    """CreativeIT: one recording per actor and improvisation; leave one session out."""

    name, title = "creativeit", "CreativeIT"
    tasks = ("activation", "valence", "dominance")
    modalities = ("speech", "motion")
    listing = """\
CreativeIT layout (cerlib's; see data_stubs/creativeit/README.md):
  <root>/recordings.csv                 header: recording,session,improvisation,actor,partner
  <root>/audio/<recording>.wav          one actor's microphone
  <root>/mocap/<recording>.bvh          the same actor's motion capture (BVH, Euler rotations)
  <root>/annotations/<task>/<recording>.csv   task in activation, valence, dominance;
                                        header: time,<annotator>,<annotator>,... (time in s)"""

    def recognises(self, folder: Path, strict: bool = False) -> bool:
        # reading: the index or the motion folder is enough; refusing to write needs more than a
        # lone mocap/ folder (a user may keep one of their own anywhere)
        if (folder / "recordings.csv").is_file():
            return True
        return (folder / "mocap").is_dir() and (not strict or (folder / "audio").is_dir())

    def specs(self, root: Path, *, partitions: Sequence[str] = (), gold_standard: bool = False
              ) -> list[RecordingSpec]:
        if gold_standard:
            raise ValueError("gold_standard=True is for RECOLA; CreativeIT labels are always the "
                             "mean of its annotators")
        return _creativeit_specs(root, self.tasks, self.listing)

    def folds(self, corpus, *, valid_sessions: int = 1, valid_speakers: int = 2, seed: int = 0) -> list[Fold]:
        """Fold ``k`` tests session ``k``; the ``valid_sessions`` sessions after it validate.

        The validation sessions follow the test session cyclically (k+1, k+2,
        ... wrapping after the last); the remaining sessions train. Each actor
        belongs to one session, so the parts share no speaker.
        """
        recordings = corpus.recordings
        sessions = sorted({r.session for r in recordings})
        by_speaker: dict[str, set] = {}
        for r in recordings:
            by_speaker.setdefault(r.speaker, set()).add(r.session)
        mixed = {s: sorted(v) for s, v in by_speaker.items() if len(v) > 1}
        if mixed:
            raise DatasetError(
                f"{corpus.path / 'recordings.csv'}: speakers {mixed} appear in more than one session, "
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
                train=[r for r in recordings if r.session != s and r.session not in valid],
                valid=[r for r in recordings if r.session in valid],
                test=[r for r in recordings if r.session == s]))
        return folds

    def parts(self, recordings: Sequence[Recording]) -> str:
        return f"{len({r.session for r in recordings})} sessions"


class Recola(Layout):
    """RECOLA (AVEC 2016): train and dev partitions; the dev partition tests."""

    name, title = "recola", "RECOLA"
    tasks = ("activation", "valence")
    modalities = ("speech", "face")
    #: RECOLA calls activation "arousal" in its folder names.
    task_folders = {"activation": "arousal", "valence": "valence"}
    partitions = ("train", "dev")
    listing = """\
RECOLA layout (AVEC 2016 release):
  <root>/recordings_audio/<split>_<N>.wav               split in train, dev
  <root>/ratings_individual/<arousal|valence>/<split>_<N>.csv   ';'-separated,
                                        header: time;FM1;FM2;FM3;FF1;FF2;FF3 (40 ms steps)
  <root>/ratings_gold_standard/<arousal|valence>/<split>_<N>.arff   (optional)
  <root>/features_video_geometric/<split>_<N>.arff   Instance_name, frameTime, numeric columns"""

    def recognises(self, folder: Path, strict: bool = False) -> bool:
        return (folder / "recordings_audio").is_dir()

    def specs(self, root: Path, *, partitions: Sequence[str] = ("train", "dev"), gold_standard: bool = False
              ) -> list[RecordingSpec]:
        return _recola_specs(root, self.tasks, tuple(partitions), gold_standard, self.task_folders, self.listing)

    def folds(self, corpus, *, valid_sessions: int = 1, valid_speakers: int = 2, seed: int = 0) -> list[Fold]:
        """One fold, ``"dev"``: the dev partition tests (as the paper reports).

        ``valid_speakers`` training speakers, drawn with ``seed``, validate;
        the other training speakers train. Early stopping on the dev set
        itself would let the test set choose the model.
        """
        train = [r for r in corpus.recordings if r.partition == "train"]
        test = [r for r in corpus.recordings if r.partition == "dev"]
        speakers = sorted({r.speaker for r in train})
        if not 0 <= valid_speakers < len(speakers):
            raise ValueError(f"valid_speakers must be in 0..{len(speakers) - 1} "
                             f"({len(speakers)} training speakers), got {valid_speakers}")
        rng = np.random.default_rng(seed)
        held = set(rng.choice(speakers, size=valid_speakers, replace=False).tolist()) if valid_speakers else set()
        return [Fold(name="dev",
                     train=[r for r in train if r.speaker not in held],
                     valid=[r for r in train if r.speaker in held],
                     test=test)]

    def parts(self, recordings: Sequence[Recording]) -> str:
        return ", ".join(f"{sum(r.partition == p for r in recordings)} {p}" for p in self.partitions)


#: The two datasets of the paper, each as its layout object.
CREATIVEIT: CreativeIT = CreativeIT()
RECOLA: Recola = Recola()
LAYOUTS: tuple[Layout, ...] = (CREATIVEIT, RECOLA)
#: Every task of either dataset, in label order.
TASKS: tuple[str, ...] = tuple(dict.fromkeys(t for layout in LAYOUTS for t in layout.tasks))
#: Tasks (label columns) of each corpus, in label order (the layouts' own, under older names).
CREATIVEIT_TASKS, RECOLA_TASKS = CREATIVEIT.tasks, RECOLA.tasks


def _all_listings() -> str:
    return "\n".join(layout.listing for layout in LAYOUTS)


# ---------------------------------------------------------------------------
# Layout detection
# ---------------------------------------------------------------------------

def layout_of(path: str | os.PathLike) -> Layout:
    """The layout object of a dataset folder: :data:`CREATIVEIT` or :data:`RECOLA`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Layout

    Raises
    ------
    DatasetError
        If the folder is missing or has no known layout (the message lists them all).

    Examples
    --------
    >>> from cerlib import example_data
    >>> layout_of(example_data("creativeit")) is CREATIVEIT
    True
    """
    path = Path(path).expanduser()
    if path.is_file():
        raise DatasetError(f"{path} is a file ({path.suffix or 'no suffix'}), not a dataset folder: give the "
                           f"folder that holds a corpus"
                           + (" (a single recording is predicted with: cerlib predict AUDIO.wav --model ...)"
                              if path.suffix.lower() == ".wav" else "")
                           + f"\n{_all_listings()}")
    if not path.is_dir():
        raise DatasetError(f"dataset folder {path} does not exist\n{_all_listings()}")
    # RECOLA first: its folder is recognised by one fixed name, CreativeIT's by its index or mocap/
    # (a new layout goes into this order too, before any layout whose loose check it could pass)
    for layout in (RECOLA, CREATIVEIT):
        if layout.recognises(path):
            return layout
    hint = ""
    subs = [p.name for p in sorted(path.iterdir()) if p.is_dir() and
            any(layout.recognises(p, strict=True) for layout in LAYOUTS)]
    if subs:
        hint = f" (it holds corpora in {subs}: pass one of those folders)"
    raise DatasetError(f"{path} has neither the {' nor the '.join(l.title for l in LAYOUTS)} layout{hint}.\n"
                       f"Expected one of:\n{_all_listings()}")


def detect_layout(path: str | os.PathLike) -> str:
    """Which layout a dataset folder has, by name: ``"creativeit"`` or ``"recola"``.

    The name of :func:`layout_of`'s answer.

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
    >>> from cerlib import example_data
    >>> detect_layout(example_data("recola"))
    'recola'
    """
    return layout_of(path).name


def enclosing_dataset(path: str | os.PathLike) -> Path | None:
    """The dataset folder (any layout) that holds ``path``, or None.

    Used before writing anything: cerlib never writes inside a dataset folder,
    whether or not the command was given that dataset. ``path`` need not exist.

    Parameters
    ----------
    path : path-like
        A file or folder about to be written (``~`` is expanded).

    Returns
    -------
    Path or None
        The innermost enclosing folder with the CreativeIT or RECOLA layout.

    Examples
    --------
    >>> import os
    >>> os.makedirs("corpus/recordings_audio", exist_ok=True)     # a RECOLA-layout folder
    >>> enclosing_dataset("corpus/recordings_audio/predictions").name
    'corpus'
    >>> enclosing_dataset("/") is None
    True
    """
    path = Path(path).expanduser().resolve()
    for folder in (path, *path.parents):
        if folder.is_dir() and any(layout.recognises(folder, strict=True) for layout in LAYOUTS):
            return folder
    return None


# ---------------------------------------------------------------------------
# Per-recording specs
# ---------------------------------------------------------------------------

def _check_recording_name(name: str, index: Path, n_row: int) -> None:
    """A recording name is a file stem: it becomes ``audio/<name>.wav`` and an output ``<name>.csv``,
    so a separator, ``..`` or an absolute path would read or write outside the folders it names."""
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
            or name.startswith("~") or Path(name).is_absolute() or name != Path(name).name):
        raise DatasetError(f"{index}, line {n_row}: recording {name!r} is not a file stem (no '/', '\\', "
                           f"'..' or absolute path; e.g. s1_i01_A01); a recording name becomes "
                           f"audio/<recording>.wav and the file names cerlib writes")


def _creativeit_specs(root: Path, tasks: tuple[str, ...], listing: str) -> list[RecordingSpec]:
    index = require_file(root / "recordings.csv", "index", None, listing)
    try:
        df = pd.read_csv(index, dtype=str, skipinitialspace=True).fillna("")
    except Exception as err:
        raise DatasetError(f"cannot read {index}: {err}\n{listing}") from err
    need = {"recording", "session", "actor"}
    if not need <= set(df.columns):
        raise DatasetError(f"{index}: header must include {sorted(need)} "
                           f"(found {list(df.columns)})\n{listing}")
    if df.empty:
        raise DatasetError(f"{index} lists no recordings: it has a header and no rows; add one row per "
                           f"recording (recording,session,improvisation,actor,partner)\n{listing}")
    specs = []
    seen: dict = {}          # name -> row number; (device, inode) of the audio file -> name
    for n_row, row in enumerate(df.to_dict("records"), start=2):
        name = row["recording"].strip()
        _check_recording_name(name, index, n_row)
        if name in seen:
            raise DatasetError(f"{index}: recording {name!r} is listed twice (lines {seen[name]} and "
                               f"{n_row}); each recording must appear once, or it could land in both "
                               f"the training and the test part of a fold")
        seen[name] = n_row
        audio = root / "audio" / f"{name}.wav"
        if audio.is_file():
            st = audio.stat()
            other = seen.get((st.st_dev, st.st_ino))
            if other is not None:
                raise DatasetError(f"{index}: recordings {other!r} and {name!r} (line {n_row}) share one "
                                   f"audio file ({audio} is the same file as the other's); each "
                                   f"recording needs its own")
            seen[(st.st_dev, st.st_ino)] = name
        try:
            session = int(row["session"])
        except ValueError:
            raise DatasetError(f"{index}: recording {name!r} has session {row['session']!r}, "
                               "expected an integer (1..5)") from None
        specs.append(RecordingSpec(
            name=name, speaker=row["actor"].strip(), session=session, partition=None,
            primary={"audio": audio,
                     "motion": root / "mocap" / f"{name}.bvh"},
            labels={t: root / "annotations" / t / f"{name}.csv" for t in tasks},
            extra_ratings={},
            meta={k: v for k, v in row.items() if k not in ("recording", "session", "actor")}))
    return specs


def _natural_key(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _recola_specs(root: Path, tasks, partitions, gold_standard: bool, folders: dict, listing: str
                  ) -> list[RecordingSpec]:
    audio_dir = root / "recordings_audio"
    # A recording is any name with a wav, a face file or ratings: a missing wav is then an
    # error naming it (load_corpus checks every primary file), not a recording that vanishes.
    found = list(audio_dir.glob("*.wav")) + list((root / "features_video_geometric").glob("*.arff"))
    for t in tasks:
        found += list((root / "ratings_individual" / folders[t]).glob("*.csv"))
    names = sorted({p.stem for p in found
                    if re.fullmatch(r"([a-z]+)_\d+", p.stem) and p.stem.split("_")[0] in partitions})
    if not list(audio_dir.glob("*.wav")) or not names:
        raise DatasetError(f"{audio_dir} holds no {'/'.join(partitions)}_N.wav files\n{listing}")
    names.sort(key=lambda n: (list(partitions).index(n.split("_")[0]), _natural_key(n)))
    specs = []
    for name in names:
        individual = {t: root / "ratings_individual" / folders[t] / f"{name}.csv" for t in tasks}
        gold = {t: root / "ratings_gold_standard" / folders[t] / f"{name}.arff" for t in tasks}
        specs.append(RecordingSpec(
            name=name, speaker=name, session=None, partition=name.split("_")[0],
            primary={"audio": audio_dir / f"{name}.wav",
                     "face": root / "features_video_geometric" / f"{name}.arff"},
            labels=gold if gold_standard else individual,
            extra_ratings=individual if gold_standard else {},
            meta={}))
    return specs
