"""Synthetic stand-ins for CreativeIT and RECOLA, in the real corpora's layouts.

The real corpora are licensed; the course ships corpora simulated here and
written in the same file layouts (see :mod:`cerlib.data` and the READMEs in
``data_stubs/``), so the same code runs on the stubs today and on the real
data the day a student has it. The files are real signals, not features:
waveforms (WAV), motion capture (BVH), annotators' traces (CSV / ARFF) and,
for RECOLA, face descriptors (ARFF).

The simulation is causal, and every arrow below is a knob (:class:`Knobs`)::

    latent affect per speaker (activation A, valence V, dominance D)
        slowly varying (Gaussian-smoothed noise, ``affect_timescale_s``),
        correlated as real affect is (``affect_corr``: A-D strongly, V weakly),
        plus a per-recording mood and a per-speaker disposition,
        partners in a dyad pulling on each other (``dyad_coupling``)
      -> who speaks (turn-taking): turns last longer for the more dominant
         and more activated partner; listeners back-channel more when activated
      -> speech: loudness (+A, +D), pitch (+A), speaking rate (+A), fewer and
         shorter pauses (+A), flatter spectral tilt / vocal effort (+A),
         laughter (+V), wider intonation and "smiling" formants (+V, weak)
      -> body (CreativeIT, BVH): movement energy (+A, more while speaking),
         expansiveness: arms open, torso upright (+D); valence barely
         (``motion_valence_deg``), as the paper found
      -> face (RECOLA): smile / cheek raise (+V), brow lowering (-V), head
         movement and optical flow (+A), lips apart while speaking
    annotators see the latent affect and report it late (``annotator_lag_s``),
    scaled (``annotator_scale``), offset and noisy; the reference the paper
    trains on is their mean.

Nothing is tuned to a result: the effect sizes are round numbers of the order
the speech and gesture literature reports, and a student can turn any of them
(``make_stubs(..., motion_strength=0)`` removes what the body says about affect).

Determinism: every random number comes from a NumPy Generator seeded with
``seed`` and the name of the thing it is for (the improvisation, the actor,
the annotator), so regenerating one corpus or changing one recording's count
does not change the others.

Examples
--------
>>> from cerlib.stubs import make_stubs
>>> paths = make_stubs("/tmp/stubs", which="recola", seed=1, recola_train=2, recola_dev=1,
...                    recola_duration_s=5.0)                                  # doctest: +SKIP
>>> sorted(p.name for p in paths.values())                                     # doctest: +SKIP
['recola']
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import math
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import signal

from ._util import progress as _progress

__all__ = ["Knobs", "SCALES", "make_stubs", "course_stubs", "data_root", "main_make_stubs"]

#: Bump when the simulation changes so that regenerated stubs are expected to differ.
STUBS_VERSION = 4

#: Rate (Hz) at which the latent affect and the turn-taking are simulated.
CONTROL_RATE = 100.0

CREATIVEIT_TASKS = ("activation", "valence", "dominance")
RECOLA_RATERS = ("FM1", "FM2", "FM3", "FF1", "FF2", "FF3")
FACE_COLUMNS = ("AU01_r", "AU02_r", "AU04_r", "AU06_r", "AU12_r", "AU15_r", "AU25_r",
                "head_yaw", "head_pitch", "flow_mean", "flow_std")

#: Vowel formants (F1, F2, F3) in Hz for an adult male vocal tract: /a e i o u/.
VOWELS = np.array([[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010],
                   [570, 840, 2410], [300, 870, 2240]], dtype=np.float64)
FORMANT_BANDWIDTHS = np.array([80.0, 100.0, 150.0])

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


@dataclass(frozen=True)
class Knobs:
    """Every parameter of the simulation; pass any of them to :func:`make_stubs`.

    Affect values live on the annotation scale, -1 (passive / negative /
    submissive) to +1. "Per unit" below means per unit of that scale.

    The knobs, by group::

        Corpus size (the ``scale`` argument of :func:`make_stubs` sets these)
            creativeit_pairs : actor pairs in each session (one entry per session)
            creativeit_improvisations : improvisations each pair performs, per session
            creativeit_duration_s : length of one improvisation
            recola_train, recola_dev : subjects per partition
            recola_duration_s : length of one RECOLA recording
        Files
            audio_sr : sample rate of the written WAV files (Hz)
            audio_subtype : soundfile subtype, "ULAW" (8-bit µ-law, half the bytes of
                16-bit PCM; used for the committed stubs) or "PCM_16"
            creativeit_label_rate : CreativeIT annotation rate (Hz); 10 Hz exercises
                the loader's resampling. RECOLA's is fixed at 25 Hz (40 ms), as released.
            creativeit_annotators : annotators per CreativeIT recording, drawn from a pool
                of ``creativeit_annotator_pool``
        Latent affect
            affect_timescale_s : smoothing width (s) of the within-recording affect changes
            affect_within_sd : size of those changes
            affect_between_sd : size of a recording's overall mood
            speaker_sd : size of a speaker's disposition (mean affect across recordings)
            affect_corr : correlations (A-V, A-D, V-D)
            dyad_coupling : share of the partner's affect each speaker takes on
        Turn-taking
            turn_mean_s : mean turn length between equals
            turn_dominance, turn_activation : log turn length per unit D difference / unit A
            backchannel_rate : listener vocalisations per second at A = 0 (x e^A)
            laughter_rate, laughter_valence : laughs per second at V = 0, and the log
                change per unit V (laughter is the clearest vocal sign of positive valence)
        Speech (all scaled by ``speech_strength``; 0 removes affect from speech)
            loudness_db, dominance_loudness_db : dB per unit A / D
            pitch_st : semitones per unit A
            rate_gain : log syllable rate per unit A
            pause_prob, pause_gain : pause after a syllable, and its log change per unit A
            tilt_gain : vocal effort (flatter spectrum) per unit A
            intonation_valence : relative widening of pitch accents per unit V
            smile_formant : relative formant raise per unit V
            crosstalk_db : level of the partner's voice in an actor's microphone
            noise_db : microphone noise floor (dBFS)
        Body (CreativeIT; scaled by ``motion_strength``)
            gesture_gain : log movement energy per unit A
            speaking_gesture : extra movement energy while speaking
            expansiveness_deg : arm opening per unit D (degrees)
            lean_deg : torso straightening per unit D (degrees)
            motion_valence_deg : head tilt per unit V (small on purpose)
            rest_pose_sd : spread (degrees) of each actor's own rest pose, one offset per
                rotation channel held for all of that actor's recordings: what lets raw
                angles identify the actor (0 gives every actor the same rest pose)
            posture_shift_deg, posture_shift_interval_s : affect-free posture changes
                (crossing arms, shifting weight) of this size, this often
            action_rate : affect-free stage actions per second (walking, handling
                props) that triple movement for 1-4 s
            gesture_style_sd : spread of how much each actor moves (log scale)
        Face (RECOLA; scaled by ``face_strength``)
            face_valence, face_activation : AU intensity / head-motion gains
            face_missing : share of frames where the face is not found ('?')
            expressivity_sd : spread of how expressive each subject's face is (baselines and gains)
        Annotators
            annotator_lag_s, annotator_scale : ranges drawn per annotator
            annotator_bias_sd, annotator_noise_sd, annotator_noise_timescale_s

    Examples
    --------
    >>> Knobs().loudness_db
    9.0
    >>> Knobs(motion_strength=0.0).motion_strength
    0.0
    """

    # corpus size (overridden by the scale)
    creativeit_pairs: tuple = (2, 2, 2, 1, 1)
    creativeit_improvisations: tuple = (1, 1, 1, 2, 2)
    creativeit_duration_s: float = 20.0
    recola_train: int = 6
    recola_dev: int = 3
    recola_duration_s: float = 25.0
    # files
    audio_sr: int = 16000
    audio_subtype: str = "ULAW"
    creativeit_label_rate: float = 10.0
    creativeit_annotators: int = 3
    creativeit_annotator_pool: int = 6
    # latent affect
    affect_timescale_s: float = 3.0
    affect_within_sd: float = 0.45
    affect_between_sd: float = 0.3
    speaker_sd: float = 0.15
    affect_corr: tuple = (0.15, 0.6, 0.25)
    dyad_coupling: float = 0.25
    affect_event_rate: float = 0.1
    affect_event_sd: float = 0.3
    affect_event_ease_s: float = 0.4
    unseen_affect_share: float = 0.25
    # turn-taking
    turn_mean_s: float = 3.5
    turn_dominance: float = 0.8
    turn_activation: float = 0.4
    backchannel_rate: float = 0.25
    laughter_rate: float = 0.04
    laughter_valence: float = 3.0
    # speech
    speech_strength: float = 1.0
    voice_expressivity_sd: float = 0.3
    loudness_db: float = 9.0
    dominance_loudness_db: float = 3.0
    pitch_st: float = 4.0
    rate_gain: float = 0.35
    pause_prob: float = 0.15
    pause_gain: float = 1.0
    tilt_gain: float = 2.5
    intonation_valence: float = 0.5
    smile_formant: float = 0.05
    crosstalk_db: float = -22.0
    noise_db: float = -55.0
    # body
    motion_strength: float = 1.0
    gesture_expressivity_sd: float = 0.3
    gesture_gain: float = 0.8
    speaking_gesture: float = 0.6
    expansiveness_deg: float = 15.0
    lean_deg: float = 5.0
    motion_valence_deg: float = 1.0
    rest_pose_sd: float = 6.0
    posture_shift_deg: float = 12.0
    posture_shift_interval_s: float = 8.0
    action_rate: float = 0.1
    gesture_style_sd: float = 0.4
    # face
    face_strength: float = 1.0
    face_valence: float = 1.0
    face_activation: float = 0.3
    face_missing: float = 0.01
    face_motion_sd: float = 0.5
    expressivity_sd: float = 0.3
    # annotators
    annotator_lag_s: tuple = (1.0, 3.0)
    annotator_scale: tuple = (0.7, 1.3)
    annotator_bias_sd: float = 0.08
    rater_actor_bias_sd: float = 0.1
    annotator_noise_sd: tuple = (0.15, 0.2, 0.15)
    annotator_noise_timescale_s: float = 0.8
    missing_labels: int = 0

    def __post_init__(self):
        if len(self.creativeit_pairs) != len(self.creativeit_improvisations):
            raise ValueError("creativeit_pairs and creativeit_improvisations need one entry per session")
        if len(self.creativeit_pairs) < 3:
            raise ValueError("need at least 3 sessions (test, validation and training)")
        if self.creativeit_annotators > self.creativeit_annotator_pool:
            raise ValueError("creativeit_annotators cannot exceed creativeit_annotator_pool")
        if len(self.annotator_noise_sd) != 3:
            raise ValueError("annotator_noise_sd needs one value per task: (activation, valence, dominance)")
        if not 0.0 <= self.unseen_affect_share <= 1.0:
            raise ValueError(f"unseen_affect_share is a share of variance, 0 to 1; got {self.unseen_affect_share}")
        corr = self.correlation()
        if np.linalg.eigvalsh(corr).min() <= 0:
            raise ValueError(f"affect_corr {self.affect_corr} is not a valid correlation matrix")

    def correlation(self) -> np.ndarray:
        """The 3x3 correlation matrix of (A, V, D) implied by ``affect_corr``.

        Examples
        --------
        >>> Knobs(affect_corr=(0.1, 0.5, 0.2)).correlation()[0]
        array([1. , 0.1, 0.5])
        """
        av, ad, vd = self.affect_corr
        return np.array([[1.0, av, ad], [av, 1.0, vd], [ad, vd, 1.0]])


#: Corpus sizes. "small" is the committed instance: CreativeIT's 16 actors and 5
#: sessions (two pairs in sessions 1-3, one pair with two improvisations in 4-5),
#: 20 recordings of 20 s; RECOLA 6 + 3 subjects of 25 s; 8-bit µ-law audio, under
#: 20 MB in all. "course" keeps that shape with the real corpora's number of
#: recordings (40 CreativeIT, 9 + 9 RECOLA) of 60 s each: about 60 minutes of
#: audio, written in well under a minute into the cache (:func:`course_stubs`) for
#: the notebooks' and ``reproduce``'s larger runs. "creativeit" matches the paper's
#: CreativeIT (40 recordings of 3.5 min) and RECOLA (9 + 9 subjects of 5 min), for GPU runs.
SCALES: dict[str, dict] = {
    "small": dict(creativeit_pairs=(2, 2, 2, 1, 1), creativeit_improvisations=(1, 1, 1, 2, 2),
                  creativeit_duration_s=20.0, recola_train=6, recola_dev=3, recola_duration_s=25.0,
                  audio_subtype="ULAW"),
    "course": dict(creativeit_pairs=(2, 2, 2, 1, 1), creativeit_improvisations=(2, 2, 2, 4, 4),
                   creativeit_duration_s=60.0, recola_train=9, recola_dev=9, recola_duration_s=60.0,
                   audio_subtype="ULAW"),
    "creativeit": dict(creativeit_pairs=(2, 2, 2, 1, 1), creativeit_improvisations=(2, 2, 2, 4, 4),
                       creativeit_duration_s=210.0, recola_train=9, recola_dev=9,
                       recola_duration_s=300.0, audio_subtype="PCM_16"),
}


# ---------------------------------------------------------------------------
# Random numbers and smooth noise
# ---------------------------------------------------------------------------

def _rng(seed: int, *parts: str) -> np.random.Generator:
    """A Generator for one named thing: the same name and seed give the same numbers."""
    words = [int(seed) & 0xFFFFFFFF]
    for p in parts:
        words.append(int.from_bytes(hashlib.sha256(str(p).encode()).digest()[:4], "little"))
    return np.random.default_rng(np.random.SeedSequence(words))


def _smooth_noise(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Gaussian-smoothed white noise of unit variance; ``sigma`` in samples."""
    if sigma < 0.5:
        return rng.standard_normal(n)
    half = int(math.ceil(4 * sigma))
    x = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= math.sqrt(np.sum(kernel ** 2))  # unit output variance for unit white input
    white = rng.standard_normal(n + 2 * half)
    return signal.fftconvolve(white, kernel, mode="valid")


def _at(series: np.ndarray, rate: float, times: np.ndarray) -> np.ndarray:
    """Sample a control-rate series at arbitrary times (edge values held)."""
    grid = np.arange(series.shape[0]) / rate
    return np.interp(times, grid, series)


# ---------------------------------------------------------------------------
# Latent affect and turn-taking
# ---------------------------------------------------------------------------

def _speaker_traits(seed: int, corpus: str, speaker: str, gender: str, k: Knobs) -> dict:
    rng = _rng(seed, corpus, "speaker", speaker)
    female = gender == "F"
    chol = np.linalg.cholesky(k.correlation())
    return {
        "gender": gender,
        "f0": (200.0 if female else 115.0) * float(np.exp(rng.normal(0, 0.08))),
        "tract": (1.17 if female else 1.0) * float(np.exp(rng.normal(0, 0.03))),
        "level_db": float(rng.normal(0, 1.5)),
        "rate": float(rng.uniform(4.0, 5.0)),            # syllables per second at A = 0
        # mean (A, V, D) across recordings, correlated as the moment-to-moment affect is
        "disposition": chol @ rng.normal(0, k.speaker_sd, 3),
        "gesture_style": float(np.exp(rng.normal(0, k.gesture_style_sd))),
        "rest_pose": rng.normal(0, k.rest_pose_sd, 15),  # degrees, one per rotation channel
        "expressivity": float(np.exp(rng.normal(0, k.expressivity_sd))),
        "au_baseline": rng.normal(0, k.expressivity_sd, 7),
        # how strongly this speaker's voice and body show their affect (1 = the knobs' gains)
        "voice_gain": float(np.exp(rng.normal(0, k.voice_expressivity_sd))),
        "gesture_gain": float(np.exp(rng.normal(0, k.gesture_expressivity_sd))),
    }


def _voice_knobs(k: Knobs, traits: dict) -> Knobs:
    """The knobs as this speaker's voice applies them: every affect effect scaled by its voice gain."""
    return dataclasses.replace(k, speech_strength=k.speech_strength * traits["voice_gain"])


def _body_knobs(k: Knobs, traits: dict) -> Knobs:
    """The knobs as this speaker's body applies them: every affect effect scaled by its gesture gain."""
    return dataclasses.replace(k, motion_strength=k.motion_strength * traits["gesture_gain"])


def _events(rng: np.random.Generator, n: int, k: Knobs) -> np.ndarray:
    """Event-like affect changes at CONTROL_RATE: (n, 3), a new level at each event, eased in.

    Events (a plot turn, a partner's remark) arrive as a Poisson process of rate
    ``affect_event_rate`` per second; each sets a new offset of size
    ``affect_event_sd`` (independent per dimension here; the caller correlates
    them) that holds until the next event, reached over ``affect_event_ease_s``.
    """
    out = np.zeros((n, 3))
    if k.affect_event_rate <= 0 or k.affect_event_sd <= 0:
        return out
    t, level = 0.0, np.zeros(3)
    while True:
        a = int(t)
        t += float(rng.exponential(CONTROL_RATE / k.affect_event_rate))
        out[a:int(min(t, n))] = level
        if t >= n:
            break
        level = rng.normal(0, k.affect_event_sd, 3)
    return _ease(out, int(round(k.affect_event_ease_s * CONTROL_RATE)))


def _ease(steps: np.ndarray, width: int) -> np.ndarray:
    """Piecewise-constant (n, C) levels eased into each other by a moving average of ``width`` samples."""
    if width <= 1:
        return steps
    return signal.fftconvolve(np.pad(steps, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge"),
                              np.ones((width, 1)) / width, mode="valid", axes=0)


def _dyad_affect(rng: np.random.Generator, n: int, dispositions: Sequence[np.ndarray],
                 k: Knobs) -> tuple[np.ndarray, np.ndarray]:
    """Latent (A, V, D) of two interacting speakers at CONTROL_RATE.

    Returns ``(expressed, perceived)``, each (2, n, 3) in (-1, 1). ``expressed``
    drives every simulated signal (voice, body, face, turn-taking);
    ``perceived`` is what the raters see: the same plus a share
    ``unseen_affect_share`` of the mood and changes that reach them through
    channels the simulation does not write (words, context, the plot).
    """
    chol = np.linalg.cholesky(k.correlation())
    sigma = k.affect_timescale_s * CONTROL_RATE

    def changes(g: np.random.Generator) -> np.ndarray:   # mood + slow wander + events, (n, 3)
        mood = chol @ g.normal(0, k.affect_between_sd, 3)
        wander = np.stack([_smooth_noise(g, n, sigma) for _ in range(3)], axis=1) @ chol.T
        return mood + k.affect_within_sd * wander + _events(g, n, k) @ chol.T

    u = k.unseen_affect_share          # a share of variance, 0..1 (Knobs checks it)
    seen, unseen = np.empty((2, n, 3)), np.empty((2, n, 3))
    for s in range(2):
        # each part from its own stream, so that turning a knob leaves the other draws alone
        g_seen, g_unseen = (np.random.default_rng(int(x)) for x in rng.integers(0, 2 ** 63, 2))
        seen[s] = dispositions[s] + math.sqrt(1 - u) * changes(g_seen)
        unseen[s] = math.sqrt(u) * changes(g_unseen)
    c = k.dyad_coupling

    def couple(z):
        return np.stack([(1 - c) * z[0] + c * z[1], (1 - c) * z[1] + c * z[0]])

    seen, unseen = couple(seen), couple(unseen)
    return np.tanh(seen), np.tanh(seen + unseen)


def _turns(rng: np.random.Generator, duration: float, affect: np.ndarray, k: Knobs) -> list:
    """Alternating turns of two speakers: list of (speaker, start_s, end_s)."""
    turns = []
    t = float(rng.uniform(0.1, 0.6))
    cur = int(rng.integers(2))
    while t < duration - 0.4:
        i = min(int(t * CONTROL_RATE), affect.shape[1] - 1)
        a, d_diff = affect[cur, i, 0], affect[cur, i, 2] - affect[1 - cur, i, 2]
        mean = k.turn_mean_s * math.exp(k.turn_dominance * d_diff + k.turn_activation * a)
        length = float(np.clip(rng.gamma(2.0, mean / 2.0), 0.6, 15.0))
        end = min(t + length, duration - 0.05)
        turns.append((cur, t, end))
        t = end + float(rng.uniform(0.15, 0.8))
        if rng.random() < 0.85:
            cur = 1 - cur
    return turns


# ---------------------------------------------------------------------------
# Speech
# ---------------------------------------------------------------------------

def _syllables(rng, start: float, end: float, affect: np.ndarray, traits: dict, k: Knobs,
               max_syllables: int | None = None) -> list:
    """Syllables of one stretch of talk: dicts with start, end, vowel, consonant, accent, phrase time."""
    s = k.speech_strength
    out = []
    t, phrase_start = start, start
    while t < end - 0.08 and (max_syllables is None or len(out) < max_syllables):
        i = min(int(t * CONTROL_RATE), affect.shape[0] - 1)
        a = affect[i, 0]
        rate = traits["rate"] * math.exp(k.rate_gain * s * a)
        d = min(float(rng.uniform(0.7, 1.3)) / rate, end - t)
        out.append({"start": t, "end": t + d, "vowel": int(rng.integers(len(VOWELS))),
                    "consonant": int(rng.choice(3, p=[0.4, 0.35, 0.25])),  # none, fricative, plosive
                    "accent": float(rng.uniform(1.0, 3.0)) if rng.random() < 0.35 else 0.0,
                    "since_phrase": t - phrase_start})
        t += d
        p = min(0.6, k.pause_prob * math.exp(-k.pause_gain * s * a))
        if rng.random() < p:
            t += 0.08 + float(rng.exponential(0.35 * math.exp(-k.pause_gain * s * a)))
            phrase_start = t
    return out


def _resonator_sos(freqs: np.ndarray, bandwidths: np.ndarray, sr: int) -> np.ndarray:
    """Cascade of Klatt resonators (unit gain at 0 Hz) as second-order sections."""
    sos = []
    for f, bw in zip(freqs, bandwidths):
        f = min(f, 0.45 * sr)
        r = math.exp(-math.pi * bw / sr)
        b1, b2 = 2 * r * math.cos(2 * math.pi * f / sr), -r * r
        sos.append([1 - b1 - b2, 0.0, 0.0, 1.0, -b1, -b2])
    return np.array(sos)


def _envelope(n: int, sr: int, attack: float = 0.015, release: float = 0.03) -> np.ndarray:
    env = np.ones(n)
    na, nr = min(n // 2, int(attack * sr)), min(n // 2, int(release * sr))
    if na:
        env[:na] = 0.5 - 0.5 * np.cos(np.pi * np.arange(na) / na)
    if nr:
        env[n - nr:] = 0.5 + 0.5 * np.cos(np.pi * np.arange(nr) / nr)
    return env


def _synth_speech(rng, n: int, sr: int, syllables: list, affect: np.ndarray, traits: dict, k: Knobs) -> np.ndarray:
    """One speaker's voice (float, full scale 1) for the given syllables; silence elsewhere."""
    s = k.speech_strength
    out = np.zeros(n)
    if not syllables:
        return out
    t = np.arange(n) / sr
    A = _at(affect[:, 0], CONTROL_RATE, t)
    D = _at(affect[:, 2], CONTROL_RATE, t)

    # Pitch: speaker's base, raised with activation; per-syllable accents and a
    # falling phrase declination give intonation, wider with positive valence.
    st = k.pitch_st * s * A + 0.35 * _smooth_noise(rng, n, 0.02 * sr)
    for syl in syllables:
        a, b = int(syl["start"] * sr), min(n, int(syl["end"] * sr))
        if b <= a:
            continue
        i = min(int(syl["start"] * CONTROL_RATE), affect.shape[0] - 1)
        width = 1.0 + k.intonation_valence * s * affect[i, 1]
        decl = -min(4.0, 1.5 * syl["since_phrase"])
        st[a:b] += decl + syl.get("pitch", 0.0) + syl["accent"] * max(width, 0.2) * np.linspace(1.0, 0.3, b - a)
    f0 = traits["f0"] * 2.0 ** (st / 12.0)
    phase = np.cumsum(f0 / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    pulses[0] = 0.0
    # Glottal source with lip radiation; vocal effort flattens the tilt.
    dark = signal.lfilter([1.0, -1.0], np.poly([0.97, 0.97]), pulses)
    bright = signal.lfilter([1.0, -1.0], np.poly([0.75, 0.75]), pulses)
    dark /= np.sqrt(np.mean(dark ** 2)) + 1e-12
    bright /= np.sqrt(np.mean(bright ** 2)) + 1e-12
    w = 1.0 / (1.0 + np.exp(-(k.tilt_gain * s * A - 0.5)))
    source = (1 - w) * dark + w * bright
    noise = rng.standard_normal(n)
    hiss = signal.sosfilt(signal.butter(4, min(3500.0, 0.4 * sr), "highpass", fs=sr, output="sos"), noise)
    hush = signal.sosfilt(signal.butter(4, [1200.0, min(3000.0, 0.45 * sr)], "bandpass", fs=sr, output="sos"), noise)

    for syl in syllables:
        a, b = int(syl["start"] * sr), min(n, int(syl["end"] * sr))
        if b - a < int(0.04 * sr):
            continue
        v0 = a
        if syl["consonant"] == 1:   # fricative onset
            c = min(int(float(rng.uniform(0.05, 0.09)) * sr), (b - a) // 2)
            src = hiss if rng.random() < 0.5 else hush
            out[a:a + c] += 0.35 * src[a:a + c] * _envelope(c, sr, 0.01, 0.01)
            v0 = a + c
        elif syl["consonant"] == 2:  # plosive: closure, then a burst
            c = min(int(0.03 * sr), (b - a) // 3)
            burst = min(int(0.012 * sr), (b - a) // 4)
            out[a + c:a + c + burst] += 0.6 * noise[a + c:a + c + burst] * _envelope(burst, sr, 0.001, 0.008)
            v0 = a + c + burst
        if b - v0 < int(0.03 * sr):
            continue
        i = min(int(0.5 * (v0 + b) / sr * CONTROL_RATE), affect.shape[0] - 1)
        formants = VOWELS[syl["vowel"]] * traits["tract"] * (1.0 + k.smile_formant * s * affect[i, 1])
        sos = _resonator_sos(formants, FORMANT_BANDWIDTHS, sr)
        pad = int(0.01 * sr)
        lo = max(0, v0 - pad)
        seg = signal.sosfilt(sos, source[lo:b] + syl.get("breath", 0.05) * noise[lo:b])[v0 - lo:]
        out[v0:b] += seg * _envelope(b - v0, sr)
    gain_db = -28.0 + traits["level_db"] + s * (k.loudness_db * A + k.dominance_loudness_db * D)
    return out * 10.0 ** (gain_db / 20.0)


def _talk(rng, duration: float, sr: int, turns_of_speaker: list, listen_spans: list,
          affect: np.ndarray, traits: dict, k: Knobs) -> tuple[np.ndarray, np.ndarray]:
    """A speaker's voice over the whole recording, and where they speak at CONTROL_RATE."""
    n = int(round(duration * sr))
    syllables = []
    for start, end in turns_of_speaker:
        syllables += _syllables(rng, start, end, affect, traits, k)
    # Back-channels ("mm-hm", a laugh) while listening: more when activated.
    for start, end in listen_spans:
        t = start + 0.3
        while t < end - 0.5:
            i = min(int(t * CONTROL_RATE), affect.shape[0] - 1)
            t += float(rng.exponential(1.0 / (k.backchannel_rate * math.exp(k.speech_strength * affect[i, 0]))))
            if t < end - 0.5:
                syllables += _syllables(rng, t, min(t + 0.6, end), affect, traits, k, max_syllables=2)
                t += 0.6
    # Laughter: a burst of breathy, high-pitched "ha"s, far more likely when valence is positive.
    for step in range(int(duration / 0.1)):
        t = step * 0.1
        i = min(int(t * CONTROL_RATE), affect.shape[0] - 1)
        rate = k.laughter_rate * math.exp(k.laughter_valence * k.speech_strength * affect[i, 1])
        if t < duration - 1.5 and rng.random() < rate * 0.1:
            for p in range(int(rng.integers(3, 7))):
                syllables.append({"start": t + 0.2 * p, "end": t + 0.2 * p + 0.13, "vowel": 0,
                                  "consonant": 0, "accent": 0.0, "since_phrase": 0.0,
                                  "pitch": 5.0, "breath": 0.6})
    syllables.sort(key=lambda x: x["start"])
    voice = _synth_speech(rng, n, sr, syllables, affect, traits, k)
    speaking = np.zeros(int(round(duration * CONTROL_RATE)))
    for syl in syllables:
        speaking[int(syl["start"] * CONTROL_RATE):int(syl["end"] * CONTROL_RATE) + 1] = 1.0
    return voice, speaking[:int(round(duration * CONTROL_RATE))]


def _mic_noise(rng, n: int, k: Knobs) -> np.ndarray:
    pink = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(n)) * math.sqrt(1 - 0.81)
    return pink * 10.0 ** (k.noise_db / 20.0)


def _write_wav(path: Path, wave: np.ndarray, sr: int, k: Knobs) -> None:
    import soundfile as sf

    sf.write(str(path), np.clip(wave, -1.0, 1.0).astype(np.float32), sr, subtype=k.audio_subtype, format="WAV")


def _gaps(turns: Sequence[tuple], duration: float) -> list:
    """Complement of a speaker's turns within [0, duration]."""
    spans, t = [], 0.0
    for a, b in sorted(turns):
        if a > t:
            spans.append((t, a))
        t = max(t, b)
    if t < duration:
        spans.append((t, duration))
    return spans


# ---------------------------------------------------------------------------
# Body, face, annotators
# ---------------------------------------------------------------------------

def _motion(rng, duration: float, affect: np.ndarray, speaking: np.ndarray, partner_speaking: np.ndarray,
            traits: dict, k: Knobs, fps: float = 60.0) -> np.ndarray:
    """BVH channel values (n_frames, 18) for the stub skeleton, degrees and cm."""
    n = int(round(duration * fps))
    t = np.arange(n) / fps
    m = k.motion_strength
    A, V, D = (_at(affect[:, j], CONTROL_RATE, t) for j in range(3))
    talk = _at(np.convolve(speaking, np.ones(30) / 30, mode="same"), CONTROL_RATE, t)
    listen = _at(partner_speaking, CONTROL_RATE, t)
    # Stage actions (walking, handling a prop) have nothing to do with affect.
    action = np.zeros(n)
    tt = 0.0
    while k.action_rate > 0:
        tt += float(rng.exponential(1.0 / k.action_rate))
        if tt >= duration:
            break
        a, b = int(tt * fps), int(min(duration, tt + float(rng.uniform(1.0, 4.0))) * fps)
        action[a:b] = 1.0
    action = np.convolve(action, np.ones(15) / 15, mode="same")
    energy = (traits["gesture_style"] * np.exp(k.gesture_gain * m * A) * (1 + k.speaking_gesture * talk)
              * (1 + 2.0 * action))
    energy = 4.0 * np.tanh(energy / 4.0)   # arms have a range: saturate, don't grow without bound

    def gesture(amplitude_deg: float) -> np.ndarray:   # ~1 Hz movement, scaled by energy
        return amplitude_deg * energy * _smooth_noise(rng, n, 0.12 * fps)

    def drift(amplitude: float) -> np.ndarray:
        return amplitude * _smooth_noise(rng, n, 2.0 * fps)

    # Listener nods: short 2 Hz head pitch bursts while the partner talks.
    nods = np.zeros(n)
    i = 0
    while i < n:
        i += int(rng.exponential(3.0) * fps) + 1
        if i < n and listen[i] > 0.5:
            j = min(n, i + int(0.5 * fps))
            nods[i:j] += 4.0 * np.sin(2 * np.pi * 2.0 * np.arange(j - i) / fps)
    # Posture shifts (crossing arms, shifting weight): piecewise constant, eased over 0.5 s.
    shifts = np.zeros((n, 15))
    tt, level = 0.0, np.zeros(15)
    scale = k.posture_shift_deg * np.array([0.3, 0.3, 0.5, 0.3, 0.4, 0.5, 0.4, 0.4, 0.6] + [1.0] * 6)
    while k.posture_shift_deg > 0:
        a = int(tt * fps)
        tt += float(rng.exponential(k.posture_shift_interval_s))
        shifts[a:int(min(tt, duration) * fps)] = level
        if tt >= duration:
            break
        level = rng.normal(0, 1, 15) * scale
    shifts = _ease(shifts, 31)
    rest = traits["rest_pose"] + shifts
    open_arms = 15.0 + k.expansiveness_deg * m * D
    cols = [
        drift(2.0), 95.0 + drift(0.5), drift(2.0),                                     # Hips position
        rest[:, 0] + gesture(1.0), rest[:, 1] + gesture(1.0), rest[:, 2] + drift(6.0) + gesture(2.0),  # Hips Z X Y
        rest[:, 3] + gesture(2.0), rest[:, 4] - k.lean_deg * m * D + gesture(1.5), rest[:, 5] + gesture(4.0),  # Spine
        rest[:, 6] + k.motion_valence_deg * m * V + gesture(3.0),                          # Head roll
        rest[:, 7] - 3.0 * m * D + nods + gesture(4.0), rest[:, 8] + gesture(8.0),          # Head pitch, yaw
        rest[:, 9] + open_arms + gesture(15.0), rest[:, 10] - 20.0 + gesture(20.0), rest[:, 11] + gesture(10.0),  # LeftForeArm
        rest[:, 12] - open_arms + gesture(15.0), rest[:, 13] - 20.0 + gesture(20.0), rest[:, 14] + gesture(10.0),  # RightForeArm
    ]
    values = np.stack(cols, axis=1)
    # Exporters write rotations in [-180, 180): a rare wrap there exercises the reader's unwrap.
    values[:, 3:] = (values[:, 3:] + 180.0) % 360.0 - 180.0
    return values


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


def _face(rng, duration: float, affect: np.ndarray, speaking: np.ndarray, traits: dict, k: Knobs,
          rate: float = 25.0) -> np.ndarray:
    """Face descriptors (n, 11) at ``rate``: AU intensities 0-5, head yaw/pitch (deg), optical flow."""
    n = int(round(duration * rate))
    t = np.arange(n) / rate
    f = k.face_strength
    A, V, D = (_at(affect[:, j], CONTROL_RATE, t) for j in range(3))
    talk = _at(speaking, CONTROL_RATE, t)

    gain, base = traits["expressivity"], traits["au_baseline"]

    def au(i: int, b: float, drive: np.ndarray) -> np.ndarray:
        x = b + base[i] + gain * drive + 0.3 * _smooth_noise(rng, n, 0.3 * rate)
        return np.logaddexp(0.0, 2.0 * x)                       # softplus: intensity >= 0

    fa = k.face_activation * f       # the face shows activation less than the voice does (AVEC 2016)
    energy = np.exp(fa * A)
    # affect-free face and head movement (looking around, shifting in the chair): slow, in log units
    idle = k.face_motion_sd * _smooth_noise(rng, n, 2.0 * rate)
    cols = [
        au(0, -0.6, 0.7 * fa * A),                              # AU01 inner brow raiser
        au(1, -0.8, 0.5 * fa * A),                              # AU02 outer brow raiser
        au(2, -0.5, -0.8 * k.face_valence * f * V),             # AU04 brow lowerer
        au(3, -0.4, 0.8 * k.face_valence * f * V + 0.3 * fa * A),  # AU06 cheek raiser
        au(4, -0.2, 1.0 * k.face_valence * f * V + 0.3 * fa * A),  # AU12 lip corner puller (smile)
        au(5, -0.8, -0.5 * k.face_valence * f * V),             # AU15 lip corner depressor
        au(6, -0.8, 1.5 * talk),                                # AU25 lips part
        8.0 * energy * _smooth_noise(rng, n, 0.4 * rate) + 10.0 * _smooth_noise(rng, n, 3 * rate),  # yaw
        5.0 * energy * _smooth_noise(rng, n, 0.3 * rate) - 2.0 * f * D,                          # pitch
        0.3 * energy * (1 + 0.5 * talk) * np.exp(0.2 * _smooth_noise(rng, n, 0.2 * rate) + idle),  # flow mean
        0.2 * energy * (1 + 0.3 * talk) * np.exp(0.2 * _smooth_noise(rng, n, 0.2 * rate) + idle),  # flow std
    ]
    face = np.stack(cols, axis=1)
    if k.face_missing > 0:   # face not found: runs of frames with no values
        i = 0
        while i < n:
            i += int(rng.exponential(9.0 / k.face_missing)) + 1   # runs of 3-14 frames, ~9 on average
            if i < n:
                face[i:i + int(rng.integers(3, 15))] = np.nan
                i += 15
    return face


def _annotator_traits(seed: int, corpus: str, annotator: str, k: Knobs) -> dict:
    rng = _rng(seed, corpus, "annotator", annotator)
    return {"lag": float(rng.uniform(*k.annotator_lag_s)),
            "scale": rng.uniform(*k.annotator_scale, 3),
            "bias": rng.normal(0, k.annotator_bias_sd, 3)}


def _rater_actor_bias(seed: int, corpus: str, annotator: str, actor: str, k: Knobs) -> np.ndarray:
    """How much higher than their usual this annotator rates this actor: (3,), held across recordings."""
    return _rng(seed, corpus, "rater-actor", annotator, actor).normal(0, k.rater_actor_bias_sd, 3)


def _annotate(rng, latent: np.ndarray, duration: float, rate: float, who: dict, task: int, k: Knobs,
              offset: float = 0.0) -> np.ndarray:
    """One annotator's trace of one dimension at ``rate``: late, scaled, offset, noisy.

    ``offset`` is this annotator's offset for this actor (:func:`_rater_actor_bias`);
    the noise has the task's size, ``annotator_noise_sd[task]``.
    """
    n = int(round(duration * rate))
    t = np.arange(n) / rate
    seen = _at(latent, CONTROL_RATE, np.maximum(t - who["lag"], 0.0))
    noise = k.annotator_noise_sd[task] * _smooth_noise(rng, n, k.annotator_noise_timescale_s * rate)
    return np.clip(who["scale"][task] * seen + who["bias"][task] + offset + noise, -1.0, 1.0)


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
    annotators = {a: _annotator_traits(seed, "creativeit", a, k) for a in pool}

    jobs, rows, actor = [], [], 0
    for s, (pairs, improvs) in enumerate(zip(k.creativeit_pairs, k.creativeit_improvisations), start=1):
        for _ in range(pairs):
            ids = (f"A{actor + 1:02d}", f"A{actor + 2:02d}")
            actor += 2
            for _ in range(improvs):
                jobs.append((s, len([j for j in jobs if j[0] == s]) + 1, ids))
    speakers, recordings, pairs_seen = {}, {}, {}
    missing_rng = _rng(seed, "creativeit", "missing")
    n_rec = 2 * len(jobs)
    missing = set(missing_rng.choice(n_rec, size=min(k.missing_labels, n_rec), replace=False).tolist())

    for j, (session, imp, ids) in enumerate(_progress(jobs, enabled=progress, desc="creativeit stubs", unit="improv")):
        imp_name = f"s{session}_i{imp:02d}"
        rng = _rng(seed, "creativeit", "improvisation", imp_name)
        genders = ("F", "M") if int.from_bytes(hashlib.sha256(ids[0].encode()).digest()[:1], "little") % 2 else ("M", "F")
        traits = [_speaker_traits(seed, "creativeit", a, g, k) for a, g in zip(ids, genders)]
        speakers.update(zip(ids, traits))
        affect, perceived = _dyad_affect(rng, n_ctl, [t["disposition"] for t in traits], k)
        turns = _turns(rng, duration, affect, k)
        voices, speaking = [], []
        for s_ in range(2):
            mine = [(a, b) for who, a, b in turns if who == s_]
            voice, talk = _talk(rng, duration, sr, mine, _gaps(mine, duration), affect[s_], traits[s_],
                                _voice_knobs(k, traits[s_]))
            voices.append(voice)
            speaking.append(talk)
        cross = 10.0 ** (k.crosstalk_db / 20.0)
        for s_ in range(2):
            name = f"{imp_name}_{ids[s_]}"
            mic = voices[s_] + cross * voices[1 - s_] + _mic_noise(rng, voices[s_].shape[0], k)
            _write_wav(root / "audio" / f"{name}.wav", mic, sr, k)
            motion = _motion(rng, duration, affect[s_], speaking[s_], speaking[1 - s_], traits[s_],
                             _body_knobs(k, traits[s_]))
            (root / "mocap" / f"{name}.bvh").write_text(_bvh_text(motion))
            chosen = sorted(rng.choice(len(pool), size=k.creativeit_annotators, replace=False).tolist())
            rate = float(k.creativeit_label_rate)
            times = np.arange(int(round(duration * rate))) / rate
            offsets = {pool[c]: _rater_actor_bias(seed, "creativeit", pool[c], ids[s_], k) for c in chosen}
            pairs_seen.update({f"{a}/{ids[s_]}": o for a, o in offsets.items()})
            recordings[name] = {"annotators": [pool[c] for c in chosen], "turns": sum(w == s_ for w, _, _ in turns),
                                "speaking_share": float(speaking[s_].mean()), **_affect_traits(affect[s_], perceived[s_], 3)}
            for ti, task in enumerate(CREATIVEIT_TASKS):
                traces = np.stack([_annotate(rng, perceived[s_][:, ti], duration, rate, annotators[pool[c]], ti, k,
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
                *(f"ratings_individual/{d}" for d in ("arousal", "valence")),
                *(f"ratings_gold_standard/{d}" for d in ("arousal", "valence"))):
        (root / sub).mkdir(parents=True, exist_ok=True)
    sr, duration = int(k.audio_sr), float(k.recola_duration_s)
    n_ctl = int(round(duration * CONTROL_RATE))
    raters = {r: _annotator_traits(seed, "recola", r, k) for r in RECOLA_RATERS}
    names = [f"train_{i}" for i in range(1, k.recola_train + 1)] + [f"dev_{i}" for i in range(1, k.recola_dev + 1)]
    rate = 25.0
    times = np.arange(int(round(duration * rate))) / rate
    speakers, recordings, pairs_seen = {}, {}, {}
    for name in _progress(names, enabled=progress, desc="recola stubs", unit="rec"):
        rng = _rng(seed, "recola", "subject", name)
        gender = "F" if rng.random() < 0.5 else "M"
        traits = _speaker_traits(seed, "recola", name, gender, k)
        partner = _speaker_traits(seed, "recola", name + "/partner", "M" if gender == "F" else "F", k)
        speakers[name] = traits
        affect, perceived = _dyad_affect(rng, n_ctl, [traits["disposition"], partner["disposition"]], k)
        turns = _turns(rng, duration, affect, k)
        mine = [(a, b) for who, a, b in turns if who == 0]
        voice, talk = _talk(rng, duration, sr, mine, _gaps(mine, duration), affect[0], traits,
                            _voice_knobs(k, traits))
        _write_wav(root / "recordings_audio" / f"{name}.wav", voice + _mic_noise(rng, voice.shape[0], k), sr, k)
        face = _face(rng, duration, affect[0], talk, traits, k, rate)
        (root / "features_video_geometric" / f"{name}.arff").write_text(
            _arff("'features_video_geometric'", FACE_COLUMNS, name, times, face))
        offsets = {r: _rater_actor_bias(seed, "recola", r, name, k) for r in RECOLA_RATERS}
        pairs_seen.update({f"{r}/{name}": o[:2] for r, o in offsets.items()})
        recordings[name] = {"gender": gender, "turns": len(mine), "speaking_share": float(talk.mean()),
                            **_affect_traits(affect[0], perceived[0], 2)}
        for ti, (task, folder) in enumerate((("activation", "arousal"), ("valence", "valence"))):
            traces = np.stack([_annotate(rng, perceived[0][:, ti], duration, rate, raters[r], ti, k, offsets[r][ti])
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
        CreativeIT and 9 + 9 RECOLA recordings of 60 s (see :func:`course_stubs`).
        ``"creativeit"``: the paper's sizes (40 recordings of 3.5 min, 16
        actors, 5 sessions; RECOLA 9 + 9 subjects of 5 min; 16-bit audio),
        about 340 MB, for GPU runs.
    seed : int, default 0
        Same seed, same files (on the same machine).
    progress : bool, default False
        Show a progress bar.
    **knobs
        Any field of :class:`Knobs`, overriding the scale's and the defaults.

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
    unknown = set(which) - {"creativeit", "recola"}
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
    if "creativeit" in which:
        paths["creativeit"] = out / "creativeit"
        _creativeit(paths["creativeit"], seed, k, scale, progress)
    if "recola" in which:
        paths["recola"] = out / "recola"
        _recola(paths["recola"], seed, k, scale, progress)
    return paths


def course_dir(seed: int = 0) -> Path:
    """Where :func:`course_stubs` keeps the course-scale corpora: a folder of the cache.

    Examples
    --------
    >>> course_dir().name
    'stubs-v4-course-seed0'
    """
    from .cache import default_cache_dir

    return default_cache_dir() / f"stubs-v{STUBS_VERSION}-course-seed{int(seed)}"


def course_stubs(which: str | Sequence[str] = ("creativeit", "recola"), seed: int = 0, *,
                 progress: bool | None = None) -> Path:
    """The course-scale synthetic corpora, written into the cache on first use.

    ``SCALES["course"]``: CreativeIT's 16 actors and 40 recordings, RECOLA's
    9 + 9 subjects, 60 s each, from the default knobs. The first call writes
    them (well under a minute on a laptop; nothing is downloaded); later calls
    find them by their manifest and return at once. Delete the folder to
    regenerate it.

    Parameters
    ----------
    which : str or sequence of str
        ``"creativeit"``, ``"recola"`` or both.
    seed : int, default 0
    progress : bool, optional
        Show a progress bar while writing (default: yes, unless ``$CERLIB_QUIET``).

    Returns
    -------
    pathlib.Path
        The folder holding ``creativeit/`` and ``recola/`` (:func:`course_dir`).

    Examples
    --------
    >>> from cerlib import load_corpus
    >>> corpus = load_corpus(course_stubs("creativeit") / "creativeit")      # doctest: +SKIP
    >>> len(corpus.recordings), len(corpus.speakers)                         # doctest: +SKIP
    (40, 16)
    """
    from ._util import progress_enabled

    if isinstance(which, str):
        which = (which,)
    root = course_dir(seed)
    want = dataclasses.asdict(Knobs(**SCALES["course"]))
    for name in which:
        try:
            info = json.loads((root / name / "stub_manifest.json").read_text())
        except (OSError, ValueError):
            info = {}
        if not (info.get("stubs_version") == STUBS_VERSION and info.get("scale") == "course"
                and info.get("seed") == int(seed) and info.get("knobs") == json.loads(json.dumps(want))):
            make_stubs(root, which=name, scale="course", seed=seed, progress=progress_enabled(progress))
    return root


def data_root(spec: str | Path) -> Path:
    """A data folder from a notebook's or a command's ``--data`` value.

    ``"course"`` means the course-scale stubs (:func:`course_stubs`, written on
    first use); anything else is a folder, returned as a Path.

    Examples
    --------
    >>> data_root("../data_stubs")
    PosixPath('../data_stubs')
    """
    if str(spec) == "course":
        return course_stubs()
    return Path(spec)


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main_make_stubs(argv: Sequence[str] | None = None) -> int:
    """``python -m cerlib make-stubs [OUT] [--which ...] [--scale ...] [--seed N] [--set KNOB=VALUE ...]``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after ``make-stubs`` (default: ``sys.argv[1:]``, as argparse does).

    Returns
    -------
    int
        Exit status: 0, or 2 after a one-line error (an unknown knob, a bad value,
        a folder it will not overwrite); ``--debug`` raises it with its traceback.

    Examples
    --------
    >>> main_make_stubs(["/tmp/stubs", "--which", "recola", "--set", "recola_duration_s=5"])  # doctest: +SKIP
    0
    """
    p = argparse.ArgumentParser(prog="python -m cerlib make-stubs",
                                description="Write the synthetic CreativeIT / RECOLA corpora.")
    p.add_argument("out", nargs="?", help="output folder (default: data_stubs; with --scale course, the "
                                          "course folder in the cache, see cerlib.stubs.course_dir)")
    p.add_argument("--which", nargs="+", default=["creativeit", "recola"], choices=["creativeit", "recola"])
    p.add_argument("--scale", default="small", choices=sorted(SCALES),
                   help="small: the committed instance; course: 60-s recordings, CreativeIT's 40 and RECOLA's "
                        "18, for the notebooks' larger runs; creativeit: the paper's sizes (default: small)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="knobs", action="append", default=[], metavar="KNOB=VALUE",
                   help="override a knob of cerlib.stubs.Knobs (JSON value), e.g. --set motion_strength=0")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    args = p.parse_args(argv)
    fields = {f.name: f for f in dataclasses.fields(Knobs)}
    knobs = {}
    for item in args.knobs:
        if "=" not in item:
            p.error(f"--set expects KNOB=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        key, value = key.strip(), _parse_value(value)
        if key not in fields:
            import difflib

            close = difflib.get_close_matches(key, fields, n=3)
            print(f"{p.prog}: error: --set {item}: no knob {key!r}"
                  + (f" (did you mean {', '.join(close)}?)" if close else "")
                  + "; the knobs are the fields of cerlib.stubs.Knobs", file=sys.stderr)
            return 2
        knobs[key] = tuple(value) if isinstance(value, list) else value
    out = Path(args.out).expanduser() if args.out else (
        course_dir(args.seed) if args.scale == "course" else Path("data_stubs"))
    try:
        paths = make_stubs(out, which=args.which, scale=args.scale, seed=args.seed,
                           progress=not args.quiet, **knobs)
    except (ValueError, TypeError, OSError) as err:
        if args.debug:
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"{p.prog}: error: {message}", file=sys.stderr)
        return 2
    for name, path in paths.items():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        print(f"{name}: {path} ({size / 1e6:.1f} MB)")
    return 0
