"""The CreativeIT and RECOLA layouts: which files make a recording, and detection.

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
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .formats import DatasetError, require_file

__all__ = ["CREATIVEIT_TASKS", "RECOLA_TASKS", "CREATIVEIT_JOINTS", "detect_layout", "enclosing_dataset"]

#: Tasks (label columns) of each corpus, in label order.
CREATIVEIT_TASKS: tuple[str, ...] = ("activation", "valence", "dominance")
RECOLA_TASKS: tuple[str, ...] = ("activation", "valence")

#: RECOLA calls activation "arousal" in its folder names.
RECOLA_TASK_FOLDERS = {"activation": "arousal", "valence": "valence"}

#: The four joints whose three Euler angles give the paper's 12 angles (see
#: data_stubs/creativeit/README.md for why these four).
CREATIVEIT_JOINTS: tuple[str, ...] = ("Head", "Spine", "LeftForeArm", "RightForeArm")
#: Documented scale of the ratings in both layouts (the READMEs in data_stubs/).
LABEL_SCALE: tuple[float, float] = (-1.0, 1.0)

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
    >>> from cerlib import example_data
    >>> detect_layout(example_data("recola"))
    'recola'
    """
    path = Path(path).expanduser()
    if path.is_file():
        raise DatasetError(f"{path} is a file ({path.suffix or 'no suffix'}), not a dataset folder: give the "
                           f"folder that holds a corpus"
                           + (" (a single recording is predicted with: cerlib predict AUDIO.wav --model ...)"
                              if path.suffix.lower() == ".wav" else "")
                           + f"\n{CREATIVEIT_LAYOUT}\n{RECOLA_LAYOUT}")
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
    raise DatasetError(f"{path} has neither the CreativeIT nor the RECOLA layout{hint}.\nExpected one of:\n"
                       f"{CREATIVEIT_LAYOUT}\n{RECOLA_LAYOUT}")


def _is_dataset(folder: Path) -> bool:
    """A folder with either layout's index or signal folders (a lone ``mocap/`` is not enough)."""
    return ((folder / "recordings_audio").is_dir() or (folder / "recordings.csv").is_file()
            or ((folder / "mocap").is_dir() and (folder / "audio").is_dir()))


def enclosing_dataset(path: str | os.PathLike) -> Path | None:
    """The dataset folder (either layout) that holds ``path``, or None.

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
        if folder.is_dir() and _is_dataset(folder):
            return folder
    return None


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


def _check_recording_name(name: str, index: Path, n_row: int) -> None:
    """A recording name is a file stem: it becomes ``audio/<name>.wav`` and an output ``<name>.csv``,
    so a separator, ``..`` or an absolute path would read or write outside the folders it names."""
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
            or name.startswith("~") or Path(name).is_absolute() or name != Path(name).name):
        raise DatasetError(f"{index}, line {n_row}: recording {name!r} is not a file stem (no '/', '\\', "
                           f"'..' or absolute path; e.g. s1_i01_A01); a recording name becomes "
                           f"audio/<recording>.wav and the file names cerlib writes")


def creativeit_specs(root: Path, tasks: tuple[str, ...]) -> list[RecordingSpec]:
    import pandas as pd

    index = require_file(root / "recordings.csv", "index", None, CREATIVEIT_LAYOUT)
    try:
        df = pd.read_csv(index, dtype=str, skipinitialspace=True).fillna("")
    except Exception as err:
        raise DatasetError(f"cannot read {index}: {err}\n{CREATIVEIT_LAYOUT}") from err
    need = {"recording", "session", "actor"}
    if not need <= set(df.columns):
        raise DatasetError(f"{index}: header must include {sorted(need)} "
                           f"(found {list(df.columns)})\n{CREATIVEIT_LAYOUT}")
    if df.empty:
        raise DatasetError(f"{index} lists no recordings: it has a header and no rows; add one row per "
                           f"recording (recording,session,improvisation,actor,partner)\n{CREATIVEIT_LAYOUT}")
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


def recola_specs(root: Path, tasks, partitions, gold_standard: bool) -> list[RecordingSpec]:
    audio_dir = root / "recordings_audio"
    # A recording is any name with a wav, a face file or ratings: a missing wav is then an
    # error naming it (load_corpus checks every primary file), not a recording that vanishes.
    found = list(audio_dir.glob("*.wav")) + list((root / "features_video_geometric").glob("*.arff"))
    for t in tasks:
        found += list((root / "ratings_individual" / RECOLA_TASK_FOLDERS[t]).glob("*.csv"))
    names = sorted({p.stem for p in found
                    if re.fullmatch(r"([a-z]+)_\d+", p.stem) and p.stem.split("_")[0] in partitions})
    if not list(audio_dir.glob("*.wav")) or not names:
        raise DatasetError(f"{audio_dir} holds no {'/'.join(partitions)}_N.wav files\n{RECOLA_LAYOUT}")
    names.sort(key=lambda n: (list(partitions).index(n.split("_")[0]), _natural_key(n)))
    specs = []
    for name in names:
        individual = {t: root / "ratings_individual" / RECOLA_TASK_FOLDERS[t] / f"{name}.csv" for t in tasks}
        gold = {t: root / "ratings_gold_standard" / RECOLA_TASK_FOLDERS[t] / f"{name}.arff" for t in tasks}
        specs.append(RecordingSpec(
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

