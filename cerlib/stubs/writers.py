"""The stub corpora on disk: WAV, BVH, CSV and ARFF writers, and :func:`make_stubs`.

Part of :mod:`cerlib.stubs`. :func:`make_stubs` simulates each recording with
:mod:`cerlib.stubs.simulate` and writes it in the real corpus's layout, with a
``stub_manifest.json`` that lets a later run regenerate the folder in place
(and refuse any folder it did not write).

Examples
--------
>>> from cerlib.stubs.writers import make_stubs
>>> make_stubs("out", which="recola", recola_train=1, recola_dev=1, recola_duration_s=2.0)["recola"].name
'recola'
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

from .._util import progress as _progress
from ..layouts import CREATIVEIT, RECOLA
from .knobs import CONTROL_RATE, SCALES, STUBS_VERSION, Knobs
from .simulate import (annotate, annotator_traits, body_knobs, dyad_affect, gaps, mic_noise, named_rng,
                       rater_actor_bias, simulate_face, simulate_motion, simulate_talk, simulate_turns,
                       speaker_traits, voice_knobs)

__all__ = ["make_stubs"]

CREATIVEIT_TASKS = CREATIVEIT.tasks
RECOLA_RATERS = ("FM1", "FM2", "FM3", "FF1", "FF2", "FF3")
FACE_COLUMNS = ("AU01_r", "AU02_r", "AU04_r", "AU06_r", "AU12_r", "AU15_r", "AU25_r",
                "head_yaw", "head_pitch", "flow_mean", "flow_std")


# The stub skeleton: a deliberately small hierarchy (real mocap has 20-30
# joints; the reader picks four by name). Offsets in cm.
_SKELETON = [  # name, parent, offset, channels
    ("Hips", None, (0.0, 0.0, 0.0), ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")),
    ("Spine", "Hips", (0.0, 20.0, 0.0), ("Zrotation", "Xrotation", "Yrotation")),
    ("Head", "Spine", (0.0, 35.0, 0.0), ("Zrotation", "Xrotation", "Yrotation")),
    ("LeftForeArm", "Spine", (35.0, 25.0, 0.0), ("Zrotation", "Xrotation", "Yrotation")),
    ("RightForeArm", "Spine", (-35.0, 25.0, 0.0), ("Zrotation", "Xrotation", "Yrotation")),
]
_END_SITES = {"Head": (0.0, 18.0, 0.0), "LeftForeArm": (27.0, 0.0, 0.0), "RightForeArm": (-27.0, 0.0, 0.0)}


def _write_wav(path: Path, wave: np.ndarray, sr: int, k: Knobs) -> None:
    sf.write(str(path), np.clip(wave, -1.0, 1.0).astype(np.float32), sr, subtype=k.audio_subtype, format="WAV")


def _bvh_text(values: np.ndarray, fps: float = 60.0) -> str:
    lines = ["HIERARCHY"]
    children = {name: [c for c, p, _, _ in _SKELETON if p == name] for name, _, _, _ in _SKELETON}
    spec = {name: (off, ch) for name, _, off, ch in _SKELETON}

    def emit(name: str, depth: int, root: bool = False) -> None:
        ind = "  " * depth
        off, ch = spec[name]
        lines.append(f"{ind}{'ROOT' if root else 'JOINT'} {name}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}  OFFSET {off[0]:.2f} {off[1]:.2f} {off[2]:.2f}")
        lines.append(f"{ind}  CHANNELS {len(ch)} {' '.join(ch)}")
        for c in children[name]:
            emit(c, depth + 1)
        if name in _END_SITES:
            e = _END_SITES[name]
            lines.extend([f"{ind}  End Site", f"{ind}  {{", f"{ind}    OFFSET {e[0]:.2f} {e[1]:.2f} {e[2]:.2f}",
                      f"{ind}  }}"])
        lines.append(f"{ind}}}")

    emit("Hips", 0, root=True)
    lines += ["MOTION", f"Frames: {values.shape[0]}", f"Frame Time: {1.0 / fps:.7f}"]
    buf = io.StringIO()
    np.savetxt(buf, np.round(values, 2) + 0.0, fmt="%.2f", delimiter=" ")
    return "\n".join(lines) + "\n" + buf.getvalue()


def _table(header: Sequence[str], times: np.ndarray, values: np.ndarray, sep: str, time_fmt: str = "%.2f") -> str:
    buf = io.StringIO()
    data = np.column_stack([times, np.round(values, 4) + 0.0])
    np.savetxt(buf, data, fmt=[time_fmt] + ["%.4f"] * values.shape[1], delimiter=sep)
    return sep.join(header) + "\n" + buf.getvalue().replace("nan", "")


# ---------------------------------------------------------------------------
# The two corpora
# ---------------------------------------------------------------------------

_GENERATED = {
    "creativeit": ("recordings.csv", "audio", "mocap", "annotations", "stub_manifest.json"),
    "recola": ("recordings_audio", "ratings_individual", "ratings_gold_standard",
               "features_video_geometric", "stub_manifest.json"),
}


def _is_stub_folder(root: Path, corpus: str) -> bool:
    """Whether ``root`` holds a manifest that make_stubs wrote for ``corpus``."""
    try:
        info = json.loads((root / "stub_manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("generator") == "cerlib.stubs.make_stubs" \
        and info.get("corpus") == corpus


#: What make_stubs writes inside its generated subfolders (paths relative to the corpus folder).
_GENERATED_FILES = {
    "creativeit": re.compile(r"(audio/s\d+_i\d+_A\d+\.wav|mocap/s\d+_i\d+_A\d+\.bvh|"
                             r"annotations/(activation|valence|dominance)/s\d+_i\d+_A\d+\.csv|"
                             r"annotations/(activation|valence|dominance))"),
    "recola": re.compile(r"(recordings_audio/(train|dev)_\d+\.wav|features_video_geometric/(train|dev)_\d+\.arff|"
                         r"ratings_individual/(arousal|valence)/(train|dev)_\d+\.csv|"
                         r"ratings_gold_standard/(arousal|valence)/(train|dev)_\d+\.arff|"
                         r"(ratings_individual|ratings_gold_standard)/(arousal|valence))"),
}


def _foreign_files(root: Path, corpus: str) -> list[str]:
    """Entries inside the generated subfolders that make_stubs would not have written there."""
    foreign = []
    for name in _GENERATED[corpus]:
        top = root / name
        if top.is_symlink():        # make_stubs never writes links: a user's, pointing at their own files
            foreign.append(name)
        elif top.is_dir():
            for p in sorted(top.rglob("*")):
                rel = p.relative_to(root).as_posix()
                if p.is_symlink() or not _GENERATED_FILES[corpus].fullmatch(rel):
                    foreign.append(rel)
    return foreign


def _prepare(root: Path, corpus: str) -> None:
    """Create ``root`` or clear what a previous make_stubs wrote there (never anything else).

    Everything is checked before anything is deleted: a file of the user's inside
    a generated subfolder (``recordings_audio/my_real_take.wav``) stops the run.
    """
    if root.exists():
        entries = [p.name for p in root.iterdir() if p.name != "README.md"]
        if entries and not _is_stub_folder(root, corpus):
            raise FileExistsError(f"{root} holds files that make_stubs did not write (no stub_manifest.json "
                                  f"from cerlib.stubs.make_stubs for {corpus!r}); refusing to overwrite it: "
                                  "choose an empty folder")
        foreign = _foreign_files(root, corpus)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise FileExistsError(f"{root} is a stub folder, but its generated subfolders hold {len(foreign)} "
                                  f"file(s) make_stubs did not write: {shown}; regenerating would delete "
                                  "them, so nothing was changed: move them out or choose another folder")
        for name in _GENERATED[corpus]:
            p = root / name
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
    root.mkdir(parents=True, exist_ok=True)


def _plain(value):
    """Traits as JSON values: arrays to lists, floats rounded to 6 digits."""
    if isinstance(value, dict):
        return {str(key): _plain(v) for key, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6) + 0.0
    if isinstance(value, np.integer):
        return int(value)
    return value


def _affect_traits(expressed: np.ndarray, perceived: np.ndarray, dims: int) -> dict:
    """A recording's perceived affect (mean, sd) and how closely the signals' affect follows it, first ``dims``."""
    return {"perceived_mean": perceived.mean(axis=0)[:dims], "perceived_sd": perceived.std(axis=0)[:dims],
            "expressed_vs_perceived_corr": [np.corrcoef(expressed[:, d], perceived[:, d])[0, 1] for d in range(dims)]}


def _manifest(root: Path, corpus: str, scale: str, seed: int, k: Knobs, traits: dict) -> None:
    info = {"generator": "cerlib.stubs.make_stubs", "stubs_version": STUBS_VERSION, "corpus": corpus,
            "scale": scale, "seed": int(seed), "knobs": dataclasses.asdict(k), "traits": _plain(traits)}
    (root / "stub_manifest.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")


def _creativeit(root: Path, seed: int, k: Knobs, scale: str, progress: bool) -> None:
    _prepare(root, "creativeit")
    for sub in ("audio", "mocap", *(f"annotations/{t}" for t in CREATIVEIT_TASKS)):
        (root / sub).mkdir(parents=True, exist_ok=True)
    sr, duration = int(k.audio_sr), float(k.creativeit_duration_s)
    n_ctl = int(round(duration * CONTROL_RATE))
    pool = [f"E{i:02d}" for i in range(1, k.creativeit_annotator_pool + 1)]
    annotators = {a: annotator_traits(seed, "creativeit", a, k) for a in pool}

    jobs, rows, actor = [], [], 0
    for s, (pairs, improvs) in enumerate(zip(k.creativeit_pairs, k.creativeit_improvisations), start=1):
        for _ in range(pairs):
            ids = (f"A{actor + 1:02d}", f"A{actor + 2:02d}")
            actor += 2
            for _ in range(improvs):
                jobs.append((s, len([j for j in jobs if j[0] == s]) + 1, ids))
    speakers, recordings, pairs_seen = {}, {}, {}
    missing_rng = named_rng(seed, "creativeit", "missing")
    n_rec = 2 * len(jobs)
    missing = set(missing_rng.choice(n_rec, size=min(k.missing_labels, n_rec), replace=False).tolist())

    for j, (session, imp, ids) in enumerate(_progress(jobs, enabled=progress, desc="creativeit stubs", unit="improv")):
        imp_name = f"s{session}_i{imp:02d}"
        rng = named_rng(seed, "creativeit", "improvisation", imp_name)
        genders = ("F", "M") if int.from_bytes(hashlib.sha256(ids[0].encode()).digest()[:1], "little") % 2 else ("M", "F")
        traits = [speaker_traits(seed, "creativeit", a, g, k) for a, g in zip(ids, genders)]
        speakers.update(zip(ids, traits))
        affect, perceived = dyad_affect(rng, n_ctl, [t["disposition"] for t in traits], k)
        turns = simulate_turns(rng, duration, affect, k)
        voices, speaking = [], []
        for s_ in range(2):
            mine = [(a, b) for who, a, b in turns if who == s_]
            voice, talk = simulate_talk(rng, duration, sr, mine, gaps(mine, duration), affect[s_], traits[s_],
                                voice_knobs(k, traits[s_]))
            voices.append(voice)
            speaking.append(talk)
        cross = 10.0 ** (k.crosstalk_db / 20.0)
        for s_ in range(2):
            name = f"{imp_name}_{ids[s_]}"
            mic = voices[s_] + cross * voices[1 - s_] + mic_noise(rng, voices[s_].shape[0], k)
            _write_wav(root / "audio" / f"{name}.wav", mic, sr, k)
            motion = simulate_motion(rng, duration, affect[s_], speaking[s_], speaking[1 - s_], traits[s_],
                             body_knobs(k, traits[s_]))
            (root / "mocap" / f"{name}.bvh").write_text(_bvh_text(motion))
            chosen = sorted(rng.choice(len(pool), size=k.creativeit_annotators, replace=False).tolist())
            rate = float(k.creativeit_label_rate)
            times = np.arange(int(round(duration * rate))) / rate
            offsets = {pool[c]: rater_actor_bias(seed, "creativeit", pool[c], ids[s_], k) for c in chosen}
            pairs_seen.update({f"{a}/{ids[s_]}": o for a, o in offsets.items()})
            recordings[name] = {"annotators": [pool[c] for c in chosen], "turns": sum(w == s_ for w, _, _ in turns),
                                "speaking_share": float(speaking[s_].mean()), **_affect_traits(affect[s_], perceived[s_], 3)}
            for ti, task in enumerate(CREATIVEIT_TASKS):
                traces = np.stack([annotate(rng, perceived[s_][:, ti], duration, rate, annotators[pool[c]], ti, k,
                                             offsets[pool[c]][ti]) for c in chosen], axis=1)
                if 2 * j + s_ in missing and task == "dominance":   # an annotator stopped for 5 s
                    a = int(rng.integers(0, max(1, len(times) - int(5 * rate))))
                    traces[a:a + int(5 * rate), 0] = np.nan
                (root / "annotations" / task / f"{name}.csv").write_text(
                    _table(["time"] + [pool[c] for c in chosen], times, traces, ","))
            rows.append(f"{name},{session},{imp_name},{ids[s_]},{ids[1 - s_]},{genders[s_]}")
    (root / "recordings.csv").write_text(
        "recording,session,improvisation,actor,partner,gender\n" + "\n".join(rows) + "\n")
    _manifest(root, "creativeit", scale, seed, k, {
        "speakers": speakers, "annotators": {a: annotators[a] for a in sorted({a for r in recordings.values()
                                                                               for a in r["annotators"]})},
        "annotator_actor_offsets": pairs_seen, "recordings": recordings})


def _arff(relation: str, attributes: Sequence[tuple], name: str, times: np.ndarray, values: np.ndarray) -> str:
    head = [f"@relation {relation}", "", "@attribute Instance_name string", "@attribute frameTime numeric"]
    head += [f"@attribute {a} numeric" for a in attributes]
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([times, np.round(values, 4) + 0.0]),
               fmt=["%.2f"] + ["%.4f"] * values.shape[1], delimiter=",")
    body = buf.getvalue().replace("nan", "?")
    body = "".join(f"'{name}',{line}\n" for line in body.splitlines())
    return "\n".join(head) + "\n\n@data\n\n" + body


def _recola(root: Path, seed: int, k: Knobs, scale: str, progress: bool) -> None:
    _prepare(root, "recola")
    for sub in ("recordings_audio", "features_video_geometric",
                *(f"ratings_individual/{d}" for d in RECOLA.task_folders.values()),
                *(f"ratings_gold_standard/{d}" for d in RECOLA.task_folders.values())):
        (root / sub).mkdir(parents=True, exist_ok=True)
    sr, duration = int(k.audio_sr), float(k.recola_duration_s)
    n_ctl = int(round(duration * CONTROL_RATE))
    raters = {r: annotator_traits(seed, "recola", r, k) for r in RECOLA_RATERS}
    names = [f"train_{i}" for i in range(1, k.recola_train + 1)] + [f"dev_{i}" for i in range(1, k.recola_dev + 1)]
    rate = 25.0
    times = np.arange(int(round(duration * rate))) / rate
    speakers, recordings, pairs_seen = {}, {}, {}
    for name in _progress(names, enabled=progress, desc="recola stubs", unit="rec"):
        rng = named_rng(seed, "recola", "subject", name)
        gender = "F" if rng.random() < 0.5 else "M"
        traits = speaker_traits(seed, "recola", name, gender, k)
        partner = speaker_traits(seed, "recola", name + "/partner", "M" if gender == "F" else "F", k)
        speakers[name] = traits
        affect, perceived = dyad_affect(rng, n_ctl, [traits["disposition"], partner["disposition"]], k)
        turns = simulate_turns(rng, duration, affect, k)
        mine = [(a, b) for who, a, b in turns if who == 0]
        voice, talk = simulate_talk(rng, duration, sr, mine, gaps(mine, duration), affect[0], traits,
                            voice_knobs(k, traits))
        _write_wav(root / "recordings_audio" / f"{name}.wav", voice + mic_noise(rng, voice.shape[0], k), sr, k)
        face = simulate_face(rng, duration, affect[0], talk, traits, k, rate)
        (root / "features_video_geometric" / f"{name}.arff").write_text(
            _arff("'features_video_geometric'", FACE_COLUMNS, name, times, face))
        offsets = {r: rater_actor_bias(seed, "recola", r, name, k) for r in RECOLA_RATERS}
        pairs_seen.update({f"{r}/{name}": o[:2] for r, o in offsets.items()})
        recordings[name] = {"gender": gender, "turns": len(mine), "speaking_share": float(talk.mean()),
                            **_affect_traits(affect[0], perceived[0], 2)}
        for ti, (task, folder) in enumerate(RECOLA.task_folders.items()):
            traces = np.stack([annotate(rng, perceived[0][:, ti], duration, rate, raters[r], ti, k, offsets[r][ti])
                               for r in RECOLA_RATERS], axis=1)
            (root / "ratings_individual" / folder / f"{name}.csv").write_text(
                _table(["time", *RECOLA_RATERS], times, traces, ";"))
            # Gold standard: evaluator-weighted estimator (each rater weighted by its
            # correlation with the others' mean), so it differs from the plain mean.
            # A constant trace (a short recording rated flat) agrees with no one: weight 0,
            # not a NaN correlation that would reset every weight to the plain mean.
            others = [np.delete(traces, r, axis=1).mean(axis=1) for r in range(traces.shape[1])]
            weights = np.array([max(np.corrcoef(traces[:, r], others[r])[0, 1], 0.0)
                                if traces[:, r].std() > 0 and others[r].std() > 0 else 0.0
                                for r in range(traces.shape[1])])
            weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(weights), 1 / len(weights))
            gold = traces @ weights
            (root / "ratings_gold_standard" / folder / f"{name}.arff").write_text(
                _arff("GOLDSTANDARD", ("GoldStandard",), name, times, gold[:, None]))
    _manifest(root, "recola", scale, seed, k, {"speakers": speakers, "annotators": raters,
                                               "annotator_actor_offsets": pairs_seen, "recordings": recordings})


#: One writer per layout, by the layout's name.
_WRITERS = {CREATIVEIT.name: _creativeit, RECOLA.name: _recola}


def make_stubs(out_dir: str | Path = "data_stubs", which: str | Sequence[str] = ("creativeit", "recola"),
               scale: str = "small", seed: int = 0, *, progress: bool = False, **knobs) -> dict[str, Path]:
    """Write synthetic CreativeIT- and RECOLA-layout corpora.

    Parameters
    ----------
    out_dir : path-like, default "data_stubs"
        Each corpus goes to ``out_dir/creativeit`` and ``out_dir/recola``. A
        folder previously written by make_stubs is regenerated in place (its
        README.md is kept); any other non-empty folder is refused.
    which : str or sequence of str
        ``"creativeit"``, ``"recola"`` or both.
    scale : {"small", "course", "creativeit"}
        ``"small"``: the committed instance (CreativeIT: 16 actors in 5
        sessions, 20 actor-recordings of 20 s; RECOLA 6 train + 3 dev subjects
        of 25 s; 8-bit µ-law audio). ``"course"``: the same shape with 40
        CreativeIT and 9 + 9 RECOLA recordings of 60 s (see :func:`~cerlib.stubs.course.course_stubs`).
        ``"creativeit"``: the paper's sizes (40 recordings of 3.5 min, 16
        actors, 5 sessions; RECOLA 9 + 9 subjects of 5 min; 16-bit audio),
        about 340 MB, for GPU runs.
    seed : int, default 0
        Same seed, same files (on the same machine).
    progress : bool, default False
        Show a progress bar.
    **knobs
        Any field of :class:`~cerlib.stubs.knobs.Knobs`, overriding the scale's and the defaults.

    Returns
    -------
    dict of str to pathlib.Path
        Corpus name -> its folder.

    Examples
    --------
    >>> paths = make_stubs("/tmp/my_stubs", which="creativeit", seed=3,
    ...                    creativeit_duration_s=8.0, motion_strength=0.0)   # doctest: +SKIP
    >>> from cerlib import load_corpus
    >>> load_corpus(paths["creativeit"], progress=False)                     # doctest: +SKIP
    """
    if isinstance(which, str):
        which = (which,)
    unknown = set(which) - set(_WRITERS)
    if unknown:
        raise ValueError(f"which must name 'creativeit' and/or 'recola', got {sorted(unknown)}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    fields = {f.name for f in dataclasses.fields(Knobs)}
    bad = set(knobs) - fields
    if bad:
        raise TypeError(f"unknown knob(s) {sorted(bad)}; the knobs are the fields of cerlib.stubs.Knobs")
    k = Knobs(**{**SCALES[scale], **knobs})
    out = Path(out_dir)
    paths = {}
    for name, write in _WRITERS.items():
        if name in which:
            paths[name] = out / name
            write(paths[name], seed, k, scale, progress)
    return paths
