"""The knobs of the stub simulation and the corpus sizes (part of :mod:`cerlib.stubs`).

:class:`Knobs` holds every parameter of the simulation, ``SCALES`` the corpus
sizes that :func:`cerlib.stubs.writers.make_stubs` names, and ``STUBS_VERSION`` the
version written into every manifest.

Examples
--------
>>> from cerlib.stubs.knobs import Knobs, SCALES
>>> Knobs(**SCALES["course"]).recola_dev
9
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Knobs", "SCALES", "STUBS_VERSION", "CONTROL_RATE"]

#: Bump when the simulation changes so that regenerated stubs are expected to differ.
STUBS_VERSION = 4

#: Rate (Hz) at which the latent affect and the turn-taking are simulated.
CONTROL_RATE = 100.0


@dataclass(frozen=True)
class Knobs:
    """Every parameter of the simulation; pass any of them to :func:`~cerlib.stubs.writers.make_stubs`.

    Affect values live on the annotation scale, -1 (passive / negative /
    submissive) to +1. "Per unit" below means per unit of that scale.

    The knobs, by group::

        Corpus size (the ``scale`` argument of :func:`~cerlib.stubs.writers.make_stubs` sets these)
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
#: audio, written in well under a minute into the cache (:func:`~cerlib.stubs.course.course_stubs`) for
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
