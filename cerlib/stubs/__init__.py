"""Synthetic stand-ins for CreativeIT and RECOLA, in the real corpora's layouts.

The real corpora are licensed; the course ships corpora simulated here and
written in the same file layouts (see :mod:`cerlib.data` and the READMEs in
``data_stubs/``), so the same code runs on the stubs today and on the real
data the day a student has it. The files are real signals, not features:
waveforms (WAV), motion capture (BVH), annotators' traces (CSV / ARFF) and,
for RECOLA, face descriptors (ARFF).

The simulation is causal, and every arrow below is a knob (:class:`~cerlib.stubs.knobs.Knobs`)::

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

The package, in the order its modules import each other::

    knobs      Knobs (every parameter), SCALES (corpus sizes), STUBS_VERSION
    simulate   latent affect, turn-taking, speech, body, face, annotators
    writers    the WAV / BVH / CSV / ARFF files and make_stubs
    course     course_stubs (the course-scale corpora in the cache), data_root
    cli        ``python -m cerlib make-stubs``

Every name below is importable from ``cerlib.stubs`` itself.

Examples
--------
>>> from cerlib.stubs import make_stubs
>>> paths = make_stubs("/tmp/stubs", which="recola", seed=1, recola_train=2, recola_dev=1,
...                    recola_duration_s=5.0)                                  # doctest: +SKIP
>>> sorted(p.name for p in paths.values())                                     # doctest: +SKIP
['recola']
"""
from __future__ import annotations

# Re-exported so that every ``cerlib.stubs.X`` of before the split still resolves.
from .cli import main_make_stubs
from .course import course_dir, course_stubs, data_root  # noqa: F401
from .knobs import CONTROL_RATE, SCALES, STUBS_VERSION, Knobs  # noqa: F401
from .simulate import FORMANT_BANDWIDTHS, VOWELS  # noqa: F401
from .writers import CREATIVEIT_TASKS, FACE_COLUMNS, RECOLA_RATERS, make_stubs  # noqa: F401

__all__ = ["Knobs", "SCALES", "make_stubs", "course_stubs", "data_root", "main_make_stubs"]
