"""Readers for the CreativeIT and RECOLA layouts: files on disk -> a Corpus of Recordings.

CreativeIT and RECOLA are licensed, so the course ships synthetic stand-ins
(``data_stubs/``, written by :func:`cerlib.stubs.writers.make_stubs`) in the same
layouts; the code below reads the stubs today and the real corpora the day a
student has them. ``load_corpus(path)`` tells the two layouts apart by their
files.

The pieces, in the order data flows (each in its own module):
:mod:`cerlib.formats` reads files, :mod:`cerlib.layouts` says which files
make a recording (both layouts are listed there), :mod:`cerlib.features`
computes the features, :mod:`cerlib.cache` keeps them on disk and
:mod:`cerlib.corpus` holds the result. This module composes them.

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
file, the recording and the expected layout; so do NaN/inf in a wav or a BVH
rotation, ``?`` in a time column, a face file lacking a column the other
recordings have, and a recording listed twice. Face columns are matched by
name, whatever their order in the file. Labels that load but look wrong give
a :class:`DatasetWarning` naming the file, with this handling: ratings
outside the documented -1..+1 scale are kept unchanged; a gap of more than
:data:`LABEL_GAP_S` (1 s) in label time is bridged by linear interpolation;
labels starting more than 1 s late hold their first value before it. A recording whose labels are
missing (no file, no rows) or hold NaN is dropped with a
:class:`DatasetWarning` naming it, as the paper drops such recordings; the
rest loads. Audio at another sample rate is resampled (soxr) to ``sr``
(16 kHz); stereo is mixed down. Missing face frames (``?`` in the ARFF, face
not found) are interpolated.

Cache. Features are computed once per recording and stored under
:func:`default_cache_dir` (``$CERLIB_CACHE``, else ``$XDG_CACHE_HOME/cerlib``,
else ``~/.cache/cerlib``), keyed by the digests of the recording's source
files, the loading parameters and the code that computes them (see
:mod:`cerlib.cache`). Nothing is ever written into a dataset folder.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from . import features as _features
from ._util import is_inside
from ._util import progress as _progress
from .formats import (AUDIO_SR, Bvh, DatasetError, DatasetWarning, coverage_s, fill_gaps, frames_within,
                      read_arff, read_audio, read_bvh, read_ratings, require_file, resample_series, sample_step,
                      warn_dataset)
from .corpus import Corpus, Fold, Recording, assert_speaker_independent, modality_order
from .layouts import (CREATIVEIT_JOINTS, CREATIVEIT_TASKS, LABEL_SCALE, RECOLA, RECOLA_TASKS, Layout,
                      RecordingSpec, detect_layout, enclosing_dataset, layout_of)
from . import cache as _cache
from . import corpus as _corpus
from . import formats as _formats
from . import layouts as _layouts
from .cache import default_cache_dir

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
    "enclosing_dataset",
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

#: Modalities whose durations differ by more than this many seconds are an error.
MAX_LENGTH_MISMATCH_S = 1.0

#: Label time with a gap (or a late start) longer than this many seconds is warned about.
LABEL_GAP_S = 1.0


def _label_problems(times: np.ndarray, values: np.ndarray, path: Path, task: str) -> list[str]:
    """What is off in a label series that still loads: scale, gaps, a late start (see module doc)."""
    out = []
    lo, hi = LABEL_SCALE
    outside = (values < lo - 1e-9) | (values > hi + 1e-9)
    if outside.any():
        out.append(f"{path}: {int(outside.sum())} {task} rating(s) outside the documented scale "
                   f"{lo:g}..{hi:g} (they range {values.min():g}..{values.max():g}); kept as they are. "
                   "Rescale the file if it uses another scale")
    if times.size > 1:
        steps = np.diff(times)
        k = int(np.argmax(steps))
        if steps[k] > LABEL_GAP_S:
            out.append(f"{path}: {task} label time jumps {steps[k]:.2f} s, from {times[k]:.2f} s to "
                       f"{times[k + 1]:.2f} s; the gap is bridged by linear interpolation")
    if times.size and times[0] > LABEL_GAP_S:
        out.append(f"{path}: {task} labels start at {times[0]:.2f} s, not near 0 s; the first "
                   "value is held before it")
    return out


class _Dropped(Exception):
    """The recording's labels are missing or NaN; it is dropped with a warning."""


def _read_label_series(spec: RecordingSpec, task: str, path: Path, layout: Layout, gold: bool):
    """(times, values (N, R), raters) of one task; raises _Dropped if labels are missing."""
    if not path.is_file():
        raise _Dropped(f"dropping recording {spec.name!r}: no {task} labels (expected {path})")
    try:
        return _parse_label_series(spec, task, path, gold)
    except DatasetError as err:
        if str(err).startswith("recording "):
            raise
        raise DatasetError(f"recording {spec.name!r}: {err}\n{layout.listing}") from None


def _parse_label_series(spec: RecordingSpec, task: str, path: Path, gold: bool):
    if gold:
        _, df = read_arff(path)
        cols = list(df.columns)
        need = ("frameTime", "GoldStandard")
        if not all(c in cols for c in need):
            raise DatasetError(f"recording {spec.name!r}: gold-standard file {path} must have "
                               f"attributes Instance_name, frameTime, GoldStandard (found {cols})\n"
                               f"{RECOLA.listing}")
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


def _compute_recording(spec: RecordingSpec, layout: Layout, fps: float, sr: int, joints,
                       gold_standard: bool) -> tuple[dict, list[str]]:
    tasks, expected = layout.tasks, layout.listing
    messages: list[str] = []
    # Labels first: a recording without them is dropped before any feature work.
    label_series = {t: _read_label_series(spec, t, spec.labels[t], layout, gold_standard) for t in tasks}
    for t, (times, values, _) in label_series.items():
        messages += [f"recording {spec.name!r}: {m}" for m in _label_problems(times, values, spec.labels[t], t)]
    extra_series = {}
    for t, p in spec.extra_ratings.items():
        if p.is_file():
            try:
                extra_series[t] = _read_label_series(spec, t, p, layout, False)
            except _Dropped:
                pass  # individual traces are a plotting extra when labels come from the gold standard

    coverage: dict[str, float] = {}
    frames: dict[str, int] = {}
    periods = [1.0 / fps]

    try:
        problems: list[str] = []
        wave, wsr = read_audio(spec.primary["audio"], sr, problems=problems)
        messages += [f"recording {spec.name!r}: {m}" for m in problems]
    except DatasetError as err:
        raise DatasetError(f"recording {spec.name!r}: {err}\n{expected}") from None
    speech = _features.speech_features(wave, wsr, fps)
    coverage["audio"] = wave.shape[0] / wsr
    frames["audio"] = speech.shape[0]

    other: dict[str, np.ndarray] = {}
    if "motion" in spec.primary:
        path = spec.primary["motion"]
        try:
            bvh = read_bvh(path)
            motion_angles = bvh.angles_at(joints, fps)
        except DatasetError as err:
            raise DatasetError(f"recording {spec.name!r}: {err}\n{expected}") from None
        coverage["motion"] = bvh.duration_s
        periods.append(1.0 / bvh.fps)
        frames["motion"] = motion_angles.shape[0]
        other["motion"] = motion_angles
    if "face" in spec.primary:
        path = spec.primary["face"]
        try:
            _, df = read_arff(path)
        except DatasetError as err:
            raise DatasetError(f"recording {spec.name!r}: {err}\n{expected}") from None
        cols = list(df.columns)
        time_cols = [c for c in cols if c.lower() == "frametime"]
        if not time_cols or df[time_cols[0]].dtype.kind != "f":
            raise DatasetError(f"recording {spec.name!r}: {path} must have attributes Instance_name, "
                               f"frameTime (numeric), then numeric features (found {cols[:5]})\n{expected}")
        times = df[time_cols[0]].to_numpy(np.float64)
        if not np.isfinite(times).all():
            row = int(np.argmax(~np.isfinite(times)))
            raise DatasetError(f"recording {spec.name!r}: {path} has a missing ('?') or non-finite "
                               f"frameTime in data row {row + 1}; every frame needs its time\n{expected}")
        numeric = [c for c in cols if c != time_cols[0] and df[c].dtype.kind == "f"]
        if times.size == 0 or not numeric:
            raise DatasetError(f"recording {spec.name!r}: {path} holds no numeric face frames\n{expected}")
        values, empty = fill_gaps(df[numeric].to_numpy(np.float64))
        if empty:
            messages.append(f"recording {spec.name!r}: {path} has no values at all in columns "
                            f"{[numeric[c] for c in empty]}; filled with 0")
        coverage["face"] = coverage_s(times)
        periods.append(sample_step(times))
        frames["face"] = frames_within(coverage["face"], fps)
        other["face"] = resample_series(times, values, fps, frames["face"])
    for t, (times, _, _) in label_series.items():
        coverage[f"{t} labels"] = coverage_s(times)
        periods.append(sample_step(times))
        frames[f"{t} labels"] = frames_within(coverage[f"{t} labels"], fps)

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


def _match_face_columns(spec: RecordingSpec, arrays: dict, meta: dict, reference):
    """Reorder a recording's face columns to ``reference`` by name; a missing or extra column is an error."""
    names = list(meta["feature_names"]["face"])
    if reference is None:
        return names
    if names != reference:
        path = spec.primary["face"]
        missing = [c for c in reference if c not in names]
        extra = [c for c in names if c not in reference]
        if missing or extra:
            raise DatasetError(
                f"recording {spec.name!r}: face file {path} "
                + (f"lacks column(s) {missing}" if missing else "")
                + (" and " if missing and extra else "")
                + (f"has column(s) {extra} the other recordings lack" if extra else "")
                + f"; every face file must have the same attributes ({len(reference)} numeric columns)")
        arrays["feat_face"] = arrays["feat_face"][:, [names.index(c) for c in reference]]
        meta["feature_names"]["face"] = list(reference)
    return reference


def _code_fingerprint() -> str:
    """Fingerprint of the code that computes a cached recording (readers, layouts, features, this)."""
    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        _CODE_FINGERPRINT = _cache.code_fingerprint(
            [__file__, _formats.__file__, _layouts.__file__, _corpus.__file__, _features.__file__])
    return _CODE_FINGERPRINT


_CODE_FINGERPRINT: str | None = None


def _source_files(spec: RecordingSpec) -> dict:
    """Role -> path of every file a recording is computed from (the cache key's description)."""
    return {**{k: p for k, p in spec.primary.items()},
            **{f"labels/{t}": p for t, p in spec.labels.items()},
            **{f"ratings/{t}": p for t, p in spec.extra_ratings.items()}}


def _build(spec: RecordingSpec, arrays: dict, meta: dict, tasks, fps: float) -> Recording:
    features = {k[len("feat_"):]: arrays[k] for k in arrays if k.startswith("feat_")}
    ratings = {t: arrays[f"ratings_{t}"] for t in tasks if f"ratings_{t}" in arrays}
    sources = {k: p for k, p in spec.primary.items()}
    sources.update({t: p for t, p in spec.labels.items()})
    return Recording(name=spec.name, speaker=spec.speaker, fps=float(fps),
                     features={m: features[m] for m in modality_order(features)},
                     labels=arrays["labels"], tasks=tuple(tasks), session=spec.session,
                     partition=spec.partition, ratings=ratings or None,
                     raters={t: tuple(v) for t, v in meta["raters"].items()},
                     sources=sources, meta=dict(spec.meta),
                     feature_names={m: tuple(v) for m, v in meta.get("feature_names", {}).items()})


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
    >>> from cerlib import example_data
    >>> corpus = load_corpus(example_data("creativeit"), progress=False)
    >>> rec = corpus.recordings[0]
    >>> rec.features["speech"].shape[1], rec.features["motion"].shape[1], rec.labels.shape[1]
    (39, 24, 3)
    """
    root = Path(path).expanduser()
    layout = layout_of(root)
    fps = float(fps)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    specs = layout.specs(root, partitions=tuple(partitions), gold_standard=gold_standard)

    cache_root = None
    if cache_dir is not False:
        cache_root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        if is_inside(cache_root, root):
            raise ValueError(f"cache_dir {cache_root} lies inside the dataset folder {root}; "
                             "cerlib never writes into a dataset folder")
        cache_root = cache_root / "recordings"
    params = {"version": DATA_VERSION, "corpus": layout.name, "fps": fps, "sr": int(sr),
              "joints": list(joints) if "motion" in layout.modalities else None,
              "gold_standard": bool(gold_standard)}

    recordings = []
    cache_ok = cache_root is not None
    digests = _cache.Digests(cache_root.parent if cache_ok else None)   # <cache>/digests.json
    if cache_ok:
        _cache.remove_stale_temporaries(cache_root)
    code = _code_fingerprint()
    need_arrays = ["labels", "feat_speech"] + [f"feat_{m}" for m in layout.modalities if m != "speech"]
    need_meta = ["raters", "messages", "feature_names"]
    face_names = None     # the face columns of the first recording: every other is matched to them
    for spec in _progress(specs, enabled=progress, desc=f"loading {layout.name}", unit="rec"):
        for what, p in spec.primary.items():
            require_file(p, "motion capture (BVH)" if what == "motion" else
                          "face features (ARFF)" if what == "face" else what, spec.name, layout.listing)
        entry = None
        cached = None
        if cache_ok:
            entry = cache_root / f"{_cache.cache_key(spec.name, _source_files(spec), params, code, digests)}.npz"
            cached = _cache.read_entry(entry, need_arrays, need_meta)
        if cached is None:
            try:
                arrays, meta = _compute_recording(spec, layout, fps, int(sr), joints, gold_standard)
            except _Dropped as drop:
                warn_dataset(str(drop))
                continue
            if cache_ok:
                try:
                    _cache.write_entry(entry, arrays, meta)
                except OSError as err:
                    warn_dataset(f"cannot write the feature cache in {cache_root} ({err}); loading without it")
                    cache_ok = False
        else:
            arrays, meta = cached
        for message in meta.get("messages", []):
            warn_dataset(message)
        if "feat_face" in arrays:
            face_names = _match_face_columns(spec, arrays, meta, face_names)
        recordings.append(_build(spec, arrays, meta, layout.tasks, fps))
    if cache_ok:
        try:
            digests.save()
        except OSError:
            pass   # the digests are an optimisation: the next load hashes again
    if not recordings:
        raise DatasetError(f"{root}: no recording could be loaded (all were dropped)\n{layout.listing}")
    return Corpus(name=layout.name, path=root, fps=fps, tasks=layout.tasks, recordings=recordings,
                  modalities=layout.modalities, layout=layout)
