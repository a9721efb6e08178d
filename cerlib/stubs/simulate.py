"""The stub simulation: latent affect, turn-taking, speech, body, face and annotators.

Part of :mod:`cerlib.stubs` (its docstring gives the causal chain). Each
function draws from the Generator it is given, or from :func:`named_rng`,
seeded with the seed and the name of the thing it is for. The functions are
package-internal: public names so that :mod:`cerlib.stubs.writers` can import
them, not part of the course's API (``__all__`` is empty).

Examples
--------
>>> from cerlib.stubs.simulate import named_rng
>>> float(named_rng(0, "creativeit", "A01").random()) == float(named_rng(0, "creativeit", "A01").random())
True
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Sequence

import numpy as np
from scipy import signal

from .knobs import CONTROL_RATE, Knobs

__all__: list[str] = []

#: Vowel formants (F1, F2, F3) in Hz for an adult male vocal tract: /a e i o u/.
VOWELS = np.array([[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010],
                   [570, 840, 2410], [300, 870, 2240]], dtype=np.float64)
FORMANT_BANDWIDTHS = np.array([80.0, 100.0, 150.0])


# ---------------------------------------------------------------------------
# Random numbers and smooth noise
# ---------------------------------------------------------------------------

def named_rng(seed: int, *parts: str) -> np.random.Generator:
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

def speaker_traits(seed: int, corpus: str, speaker: str, gender: str, k: Knobs) -> dict:
    rng = named_rng(seed, corpus, "speaker", speaker)
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


def voice_knobs(k: Knobs, traits: dict) -> Knobs:
    """The knobs as this speaker's voice applies them: every affect effect scaled by its voice gain."""
    return dataclasses.replace(k, speech_strength=k.speech_strength * traits["voice_gain"])


def body_knobs(k: Knobs, traits: dict) -> Knobs:
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


def dyad_affect(rng: np.random.Generator, n: int, dispositions: Sequence[np.ndarray],
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


def simulate_turns(rng: np.random.Generator, duration: float, affect: np.ndarray, k: Knobs) -> list:
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


def simulate_talk(rng, duration: float, sr: int, turns_of_speaker: list, listen_spans: list,
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


def mic_noise(rng, n: int, k: Knobs) -> np.ndarray:
    pink = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(n)) * math.sqrt(1 - 0.81)
    return pink * 10.0 ** (k.noise_db / 20.0)


def gaps(turns: Sequence[tuple], duration: float) -> list:
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

def simulate_motion(rng, duration: float, affect: np.ndarray, speaking: np.ndarray, partner_speaking: np.ndarray,
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


def simulate_face(rng, duration: float, affect: np.ndarray, speaking: np.ndarray, traits: dict, k: Knobs,
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


def annotator_traits(seed: int, corpus: str, annotator: str, k: Knobs) -> dict:
    rng = named_rng(seed, corpus, "annotator", annotator)
    return {"lag": float(rng.uniform(*k.annotator_lag_s)),
            "scale": rng.uniform(*k.annotator_scale, 3),
            "bias": rng.normal(0, k.annotator_bias_sd, 3)}


def rater_actor_bias(seed: int, corpus: str, annotator: str, actor: str, k: Knobs) -> np.ndarray:
    """How much higher than their usual this annotator rates this actor: (3,), held across recordings."""
    return named_rng(seed, corpus, "rater-actor", annotator, actor).normal(0, k.rater_actor_bias_sd, 3)


def annotate(rng, latent: np.ndarray, duration: float, rate: float, who: dict, task: int, k: Knobs,
              offset: float = 0.0) -> np.ndarray:
    """One annotator's trace of one dimension at ``rate``: late, scaled, offset, noisy.

    ``offset`` is this annotator's offset for this actor (:func:`rater_actor_bias`);
    the noise has the task's size, ``annotator_noise_sd[task]``.
    """
    n = int(round(duration * rate))
    t = np.arange(n) / rate
    seen = _at(latent, CONTROL_RATE, np.maximum(t - who["lag"], 0.0))
    noise = k.annotator_noise_sd[task] * _smooth_noise(rng, n, k.annotator_noise_timescale_s * rate)
    return np.clip(who["scale"][task] * seen + who["bias"][task] + offset + noise, -1.0, 1.0)
