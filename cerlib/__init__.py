"""cerlib: continuous emotion recognition after Köprü & Erzin (2020).

The package is imported lazily: ``from cerlib import ccc`` loads NumPy only,
while ``from cerlib import CERMTL`` loads PyTorch. Every public name below is
documented in its own module.

Modules, in the order data flows through them::

    _util       progress bars and small helpers shared by every module
    paper       the paper's reported numbers (Tables I-VI), shipped as data
    normaliser  z-scores with training statistics (re-exported by features)
    features    speech (MFCC-39), body motion (Euler + deltas); pure array functions
    formats     file readers: wav, BVH, ARFF, ratings CSV
    corpus      Recording, Fold, Corpus, speaker-independent folds
    layouts     the CreativeIT and RECOLA layouts: which files make a recording
    cache       computed features on disk, keyed and written atomically
    data        load_corpus: layouts + formats + features + cache -> Corpus
    stubs       the synthetic corpora in ``data_stubs/``: a package (knobs, simulate, writers,
                course, cli)
    examples    example_data: those corpora wherever cerlib is installed
    framing     feature images F_l, the paper's Eq. (1)
    metrics     CCC / PCC on arrays, rolling CCC
    losses      CCC / PCC / MSE losses in torch, the multi-task sum
    models      CER-MTL, CER-STL, Pure CNN in plain PyTorch; Keras-style parameter counts
    device      the device to train on, seeds
    modelfile   Preprocessing, the safe model file: save / load, CheckpointError
    engine      the speed work: models stacked into one, fused heads, stacked Adam, the one
                training loop (notebook 09)
    training    fit / predict / evaluate (and re-exports device and modelfile's names)
    grouped     fit_group: many models in one pass, the engine's loop as fit's
    plots       figures used by the notebooks and the report (never trains anything)
    experiments the paper's grid, resumable store, executors, claims, the reproduce report
    widgets     the live explorer and the loss playground
    __main__    the ``cerlib`` command; each subcommand imports what it needs when it runs
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "speech_features": "features",
    "motion_features": "features",
    "Normaliser": "features",
    "feature_images": "framing",
    "CERMTL": "models",
    "PureCNN": "models",
    "parameter_count": "models",
    "ccc": "metrics",
    "pcc": "metrics",
    "rolling_ccc": "metrics",
    "mean_ccc": "metrics",
    "ccc_loss": "losses",
    "pcc_loss": "losses",
    "mse_loss": "losses",
    "multitask_loss": "losses",
    "load_corpus": "data",
    "Corpus": "data",
    "Recording": "data",
    "Fold": "data",
    "DatasetError": "data",
    "make_stubs": "stubs",
    "example_data": "examples",
    "fit": "training",
    "predict": "training",
    "evaluate": "training",
    "History": "training",
    "Example": "training",
    "Preprocessing": "training",
    "CheckpointError": "training",
    "save_model": "training",
    "load_model": "training",
    "DatasetWarning": "data",
    "pick_device": "training",
    "seed_everything": "training",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    try:
        module = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'cerlib' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"cerlib.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
