"""What a trained model carries and how it is kept: :class:`Preprocessing`, one safe model file.

A trained model carries its preprocessing (:class:`Preprocessing`, as
``model.preprocessing``): framing, modalities, feature names, tasks, frame
rate and normalisation. :func:`save_model` writes weights, architecture and
preprocessing as one file, atomically; :func:`load_model` reads it back with
``torch.load(weights_only=True)`` and refuses (:class:`CheckpointError`) a
file that is missing, foreign, damaged, edited into inconsistency or from a
newer format. :mod:`cerlib.training` re-exports every name.

Examples
--------
>>> from cerlib import CERMTL
>>> from cerlib.modelfile import load_model, save_model
>>> load_model(save_model(CERMTL(), "model.pt"), device="cpu").preprocessing.n_frames
20
"""
from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import __version__
from ._util import atomic_write
from .device import pick_device
from .framing import Framing
from .models import CERMTL, PureCNN
from .normaliser import Normaliser

__all__ = ["Preprocessing", "CheckpointError", "save_model", "load_model"]

#: Version of the checkpoint layout written by :func:`save_model`.
CHECKPOINT_FORMAT = 1
_CHECKPOINT_KIND = "cerlib-model"
NORMALISE_MODES = ("global", "recording", "speaker")


class CheckpointError(ValueError):
    """A model file is missing, damaged, foreign or from a newer cerlib.

    Examples
    --------
    >>> try:
    ...     load_model("no-such-model.pt")
    ... except CheckpointError as err:
    ...     print(str(err).split(":")[0])
    no-such-model.pt
    """


@dataclass(frozen=True)
class Preprocessing:
    """Everything that turns data into the model's input, fixed by :func:`~cerlib.training.fit`.

    Attributes
    ----------
    framing : cerlib.framing.Framing
        Framing of Eq. (1): ``n_frames`` (the model's N) and ``stride``, one
        value (read them as ``framing.n_frames``, ``framing.stride``, or the
        shortcuts ``n_frames``, ``stride``).
    tasks : tuple of str
        Output columns, in order.
    modalities : tuple of str or None
        Fused modalities of a Recording, in order (None: arrays were given).
    feature_names : tuple of str or None
        The P input columns by name (None when the data did not name them).
    fps : float or None
        Frame rate of the training data.
    normalise : {"global", "recording", "speaker"} or None
        "global": z-score with the training statistics ``normaliser``;
        "recording" / "speaker": each recording / speaker with its own
        statistics, at test time too (transductive: it uses the test
        speaker's unlabelled features); None: raw features.
    normaliser : Normaliser or None
        The training statistics for "global".

    Examples
    --------
    >>> p = Preprocessing(framing=Framing(20, 10), tasks=("activation",))
    >>> Preprocessing.from_dict(p.to_dict()) == p, p.n_frames, p.to_dict()["stride"]
    (True, 20, 10)
    """

    framing: Framing
    tasks: tuple
    modalities: tuple | None = None
    feature_names: tuple | None = None
    fps: float | None = None
    normalise: str | None = None
    normaliser: Normaliser | None = field(default=None, compare=False)

    @property
    def n_frames(self) -> int:
        """``framing.n_frames``, the model's N."""
        return self.framing.n_frames

    @property
    def stride(self) -> int:
        """``framing.stride``, frames between two columns of an image."""
        return self.framing.stride

    def to_dict(self) -> dict:
        """Plain Python (str, int, float, lists): safe to save and to load with ``weights_only``.

        The framing is stored as its two numbers, ``n_frames`` and ``stride``.
        """
        d = dataclasses.asdict(self)
        del d["framing"]
        d = {"n_frames": self.framing.n_frames, "stride": self.framing.stride, **d}
        d["tasks"] = list(self.tasks)
        d["modalities"] = list(self.modalities) if self.modalities is not None else None
        d["feature_names"] = list(self.feature_names) if self.feature_names is not None else None
        d["normaliser"] = self.normaliser.to_dict() if self.normaliser is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        d = dict(d)
        d["framing"] = Framing(d.pop("n_frames"), d.pop("stride"))
        for key in ("tasks", "modalities", "feature_names"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        if d.get("normaliser") is not None:
            d["normaliser"] = Normaliser.from_dict(d["normaliser"])
        return cls(**d)


def preprocessing_of(model: torch.nn.Module) -> Preprocessing:
    """The model's :class:`Preprocessing`; an untrained model gets its defaults.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> preprocessing_of(CERMTL()).n_frames, preprocessing_of(CERMTL()).normalise
    (20, None)
    """
    found = getattr(model, "preprocessing", None)
    if found is not None:
        return found
    return Preprocessing(framing=Framing(model.n_frames), tasks=tuple(model.tasks))


def save_model(model: torch.nn.Module, path) -> Path:
    """Save a model as one file: weights, architecture, :class:`Preprocessing`,
    format and cerlib versions, and ``model.trained_on`` when it is set (a
    plain dict describing the training data, e.g. ``{"corpus": "recola",
    "synthetic": True}``; :func:`load_model` restores it). Written atomically
    (a temporary file in the same folder, then renamed), so a crash never
    leaves half a model.

    Returns
    -------
    pathlib.Path of the written file.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> save_model(CERMTL(), "cer_mtl.pt").name
    'cer_mtl.pt'
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save {path}: folder {path.parent} does not exist")
    payload = {
        "kind": _CHECKPOINT_KIND,
        "format": CHECKPOINT_FORMAT,
        "cerlib_version": __version__,
        "class": type(model).__name__,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.config.items()},
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "preprocessing": preprocessing_of(model).to_dict(),
    }
    trained_on = getattr(model, "trained_on", None)
    if trained_on is not None:   # a plain description of the training data, e.g. {"corpus": ..., "synthetic": True}
        payload["trained_on"] = {str(k): v for k, v in dict(trained_on).items()
                                 if isinstance(v, (str, int, float, bool)) or v is None}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write(path, buffer.getvalue())


def load_model(path, device: str | torch.device | None = None) -> torch.nn.Module:
    """Load a model written by :func:`save_model`, ready for :func:`~cerlib.training.predict`.

    Only tensors and plain Python values are read (``torch.load(weights_only=True)``):
    a file crafted to run code when unpickled is refused, not run.

    Raises
    ------
    CheckpointError
        The file is missing, not a cerlib model, damaged, or from a newer format.

    Examples
    --------
    >>> from cerlib import CERMTL
    >>> _ = save_model(CERMTL(), "m.pt"); load_model("m.pt", device="cpu").name
    'CER-MTL'
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file" + (" (it is a folder)" if path.is_dir() else ""))
    what = _file_kind(path)
    if what is not None:
        raise CheckpointError(f"{path}: not a cerlib model file ({what}); give a model saved by "
                              "`cerlib train --out` or save_model")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, EOFError, RuntimeError (zip), ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: not a cerlib model file, or a damaged one ({type(err).__name__}: "
                              f"{first[:200]})") from None
    if not isinstance(payload, dict) or payload.get("kind") != _CHECKPOINT_KIND:
        raise CheckpointError(f"{path}: not a cerlib model file (written by something else)")
    if not isinstance(payload.get("format"), int) or payload["format"] > CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {payload.get('format')!r} from cerlib "
                              f"{payload.get('cerlib_version')}; this cerlib reads format {CHECKPOINT_FORMAT} and "
                              "older: upgrade cerlib")
    try:
        cls = {"CERMTL": CERMTL, "PureCNN": PureCNN}[payload["class"]]
        model = cls(**payload["config"])
        model.load_state_dict(payload["state"])
        model.preprocessing = Preprocessing.from_dict(payload["preprocessing"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: damaged cerlib model file ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:200]})") from None
    _check_consistent(path, model, model.preprocessing)
    trained_on = payload.get("trained_on")
    model.trained_on = dict(trained_on) if isinstance(trained_on, dict) else None
    return model.to(pick_device(device)).eval()


def _file_kind(path: Path) -> str | None:
    """What a file that cannot be a torch checkpoint is, from its first bytes; None if it may be one."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):   # torch's zip format, or a legacy pickle
        return None
    kinds = [(b"RIFF", "a WAV audio file"), (b"fLaC", "a FLAC audio file"), (b"ID3", "an MP3 audio file"),
             (b"OggS", "an Ogg audio file"), (b"HIERARCHY", "a BVH motion capture file"),
             (b"\x93NUMPY", "a NumPy .npy file"), (b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document")]
    for magic, name in kinds:
        if head.startswith(magic):
            return name
    if not head:
        return "an empty file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary file"
    return "a text file, e.g. a CSV table" if b"," in head or b";" in head else "a text file"


def _check_consistent(path: Path, model: torch.nn.Module, pre: Preprocessing) -> None:
    """A checkpoint whose parts disagree was edited or damaged: refuse it before it predicts nonsense."""
    def bad(what: str):
        raise CheckpointError(f"{path}: inconsistent cerlib model file: {what}; the file was edited or damaged")

    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad(f"weights {name!r} hold {int((~torch.isfinite(tensor)).sum())} NaN or infinite value(s)")
    if pre.n_frames != model.n_frames:
        bad(f"preprocessing.n_frames is {pre.n_frames!r} but the model was built for n_frames={model.n_frames}")
    if tuple(pre.tasks) != tuple(model.tasks):
        bad(f"preprocessing.tasks {list(pre.tasks)} differ from the model's tasks {list(model.tasks)}")
    if pre.normalise not in NORMALISE_MODES + (None,):
        bad(f"preprocessing.normalise is {pre.normalise!r}, expected one of {list(NORMALISE_MODES)} or None")
    if pre.normalise == "global" and pre.normaliser is None:
        bad("preprocessing.normalise is 'global' but no normaliser (training statistics) is stored")
    width = getattr(model, "n_features", None)
    if pre.normaliser is not None and width is not None and pre.normaliser.mean.size != width:
        bad(f"the normaliser has {pre.normaliser.mean.size} columns but the model takes {width} features")
    if pre.feature_names is not None and width is not None and len(pre.feature_names) != width:
        bad(f"preprocessing.feature_names has {len(pre.feature_names)} names but the model takes {width} features")
    if pre.fps is not None and not (isinstance(pre.fps, (int, float)) and math.isfinite(pre.fps) and pre.fps > 0):
        bad(f"preprocessing.fps is {pre.fps!r}, expected a positive frame rate")
