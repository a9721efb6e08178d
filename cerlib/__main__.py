"""``python -m cerlib`` (or the installed ``cerlib`` command): the course's work from a shell.

    cerlib info data_stubs/creativeit
    cerlib make-stubs OUT [--scale creativeit] [--seed 0] [--set KNOB=VALUE]
    cerlib train data_stubs/creativeit --fold 0 --loss ccc --epochs 100 --out model.pt
    cerlib predict speech.wav [--motion speech.bvh] --model model.pt --out trace/
    cerlib predict --data data_stubs/creativeit --model model.pt --out predictions/
    cerlib reproduce --quick --out results/

``train`` evaluates on the fold's test speakers and prints their CCC per task.
``predict`` writes the activation/valence/dominance trace of one new recording
(CSV and PNG), or one CSV per recording of a corpus, into ``--out``, never into
a dataset folder. A problem with the input ends in one line naming it (exit
code 2); ``--debug`` shows the traceback.

The CLI is a lazy boundary: each subcommand imports the library parts it needs
when it runs, so that ``cerlib --help`` answers without importing torch.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ._util import is_inside, whole_at_least


class UsageError(ValueError):
    """A command line that cannot be carried out (reported in one line, exit code 2)."""


def _info(args) -> int:
    # the CLI's lazy boundary (see the module docstring)
    from .data import load_corpus

    corpus = load_corpus(args.data, fps=args.fps, progress=not args.quiet)
    print(corpus)
    print(corpus.summary().to_string())
    for fold in corpus.folds():
        print(fold)
    return 0


def _make_stubs(argv) -> int:
    # the CLI's lazy boundary (see the module docstring)
    from .stubs import main_make_stubs

    return main_make_stubs(argv)


def _refuse_dataset(out: Path, data: str | None) -> None:
    # the CLI's lazy boundary (see the module docstring)
    from .data import enclosing_dataset

    if data is not None and is_inside(out, data):
        raise UsageError(f"--out {out} is inside the dataset folder {data}; cerlib never writes there")
    dataset = enclosing_dataset(out)
    if dataset is not None:
        raise UsageError(f"--out {out} is inside the dataset folder {dataset}; cerlib never writes there")


def _output_file(out: str, data: str | None) -> Path:
    """Checked before any work: never inside a dataset, not a folder; its folder is created."""
    path = Path(out)
    _refuse_dataset(path, data)
    if path.is_dir():
        raise UsageError(f"--out {out} is a folder; give the file name of the model to save (e.g. model.pt)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _output_folder(out: str, data: str | None) -> Path:
    """Checked before any work: never inside a dataset, not an existing file; created."""
    path = Path(out)
    _refuse_dataset(path, data)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out} is an existing file; give a folder for the CSV and PNG files")
    return path


def _output_in(out: Path, name: str, suffix: str) -> Path:
    """``out/<name><suffix>``, refused unless it stays directly inside ``out`` (a name is a file stem)."""
    path = out / f"{name}{suffix}"
    if Path(name).name != name or name in ("", ".", "..") or path.resolve().parent != out.resolve():
        raise UsageError(f"recording name {name!r} would write {path} outside --out {out}; "
                         "a recording name must be a plain file stem")
    return path


def _device(name: str | None):
    """--device checked before any work: a name torch knows, on hardware this machine has."""
    # the CLI's lazy boundary (see the module docstring)
    from .training import pick_device

    try:
        return pick_device(name)
    except RuntimeError as err:
        if name is None:
            raise
        if "Expected one of" in str(err):
            raise UsageError(f"--device {name}: not a device name torch knows; use cpu, cuda, cuda:N or mps, "
                             "or leave --device out to let cerlib choose") from None
        raise UsageError(f"--device {name}: {err}; use --device cpu, or leave --device out to let cerlib "
                         "choose") from None


def _stub_description(folder: Path) -> dict:
    """What a model's training data was: the corpus and whether make_stubs wrote it (its stub_manifest.json)."""
    try:
        info = json.loads((folder / "stub_manifest.json").read_text())
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict) or info.get("generator") != "cerlib.stubs.make_stubs":
        return {"synthetic": False}
    return {"synthetic": True, "stub_scale": str(info.get("scale")), "stub_seed": info.get("seed")}


def _train(args) -> int:
    # the CLI's lazy boundary (see the module docstring)
    from .data import load_corpus
    from .models import build_model
    from .training import evaluate, fit, save_model, seed_everything

    out = _output_file(args.out, args.data) if args.out else None
    _device(args.device)
    corpus = load_corpus(args.data, fps=args.fps, progress=not args.quiet)
    folds = corpus.folds()
    if not 0 <= args.fold < len(folds):
        raise UsageError(f"--fold must be 0..{len(folds) - 1} for {corpus.name}, got {args.fold}")
    fold = folds[args.fold]
    modalities = args.modalities or None
    n_features = fold.train[0].inputs(modalities).shape[1]
    tasks = [args.task] if args.model == "cer-stl" else corpus.tasks
    seed_everything(args.seed)
    model = build_model(args.model, reading=args.reading, n_features=n_features, n_frames=args.n_frames, tasks=tasks)
    history = fit(model, fold.train, fold.valid, modalities=modalities, loss=args.loss, epochs=args.epochs,
                  batch_size=args.batch_size, lr=args.lr, patience=args.patience, stride=args.stride,
                  normalise=args.normalise, device=args.device, seed=args.seed, progress=not args.quiet)
    print(history)
    scores = evaluate(model, fold.test, loss=args.loss)
    print(f"test ({fold.name}): " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if k != "loss"))
    if out is not None:
        model.trained_on = {"corpus": corpus.name, **_stub_description(Path(args.data))}
        save_model(model, out)
        print(f"saved {out}")
    return 0


def recording_from_files(audio, motion=None, *, fps: float, name: str | None = None, tasks=()):
    """A :class:`~cerlib.data.Recording` of one new recording outside any corpus (no labels).

    Parameters
    ----------
    audio : path of a wav file (any rate; resampled to 16 kHz)
    motion : path of a BVH file with the CreativeIT joints, optional
    fps : frame rate of the features (a trained model's ``preprocessing.fps``)

    Examples
    --------
    >>> import numpy as np, soundfile as sf
    >>> sf.write("tone.wav", np.sin(np.arange(16000) / 5.0) * 0.1, 16000)
    >>> recording_from_files("tone.wav", fps=60.0).features["speech"].shape
    (60, 39)
    """
    # the CLI's lazy boundary (see the module docstring)
    from .data import CREATIVEIT_JOINTS, Recording, read_audio, read_bvh
    from .features import SPEECH_FEATURE_NAMES, motion_feature_names, motion_features, speech_features

    wave, sr = read_audio(audio)
    features = {"speech": speech_features(wave, sr, fps)}
    names = {"speech": tuple(SPEECH_FEATURE_NAMES)}
    if motion is not None:
        angles = read_bvh(motion).angles_at(CREATIVEIT_JOINTS, fps)
        n = min(len(angles), len(features["speech"]))
        features = {"speech": features["speech"][:n], "motion": motion_features(angles[:n])}
        names["motion"] = tuple(motion_feature_names(CREATIVEIT_JOINTS))
    n = len(features["speech"])
    return Recording(name=name or Path(audio).stem, speaker=name or Path(audio).stem, fps=float(fps),
                     features=features, labels=np.zeros((n, len(tasks)), np.float32), tasks=tuple(tasks),
                     sources={"audio": Path(audio), **({"motion": Path(motion)} if motion else {})},
                     feature_names=names)


def _write_trace(path: Path, times, y_hat, tasks, note: str | None = None) -> None:
    """``time,<task>,...`` rows; a ``# note`` line first when there is one (pandas: ``comment="#"``)."""
    header = "time," + ",".join(tasks)
    np.savetxt(path, np.column_stack([times, y_hat]), delimiter=",", fmt="%.6f",
               header=f"# {note}\n{header}" if note else header, comments="")


def _synthetic_note(model) -> str | None:
    """A warning for traces of real recordings predicted by a model trained on the synthetic stubs."""
    trained_on = getattr(model, "trained_on", None) or {}
    if not trained_on.get("synthetic"):
        return None
    return (f"model trained on synthetic stub data ({trained_on.get('corpus', 'a stub corpus')}, "
            "cerlib make-stubs), not on real recordings: this trace is not an emotion estimate")


def _predict(args) -> int:
    # the CLI's lazy boundary (see the module docstring)
    from .training import load_model, predict

    if (args.audio is None) == (args.data is None):
        raise UsageError("give either one recording (AUDIO.wav [--motion FILE.bvh]) or --data CORPUS")
    out = _output_folder(args.out, args.data)
    _device(args.device)
    model = load_model(args.model, device=args.device)
    pre = model.preprocessing
    fps = args.fps or pre.fps or 60.0
    if args.data is not None:
        # the CLI's lazy boundary (see the module docstring)
        from .data import load_corpus

        corpus = load_corpus(args.data, fps=fps, progress=not args.quiet)
        out.mkdir(parents=True, exist_ok=True)
        paths = [_output_in(out, recording.name, ".csv") for recording in corpus.recordings]  # all before any
        for recording, path in zip(corpus.recordings, paths):
            _write_trace(path, recording.times, predict(model, recording), model.tasks)
        print(f"wrote {len(corpus.recordings)} prediction files to {out}")
        return 0
    needs = pre.modalities or ("speech",)
    if "face" in needs:
        raise UsageError(f"{args.model} needs face features (a RECOLA model); predict it on a corpus with --data")
    if "motion" in needs and args.motion is None:
        raise UsageError(f"{args.model} was trained on {' + '.join(needs)}: give the recording's motion "
                         "capture with --motion FILE.bvh")
    recording = recording_from_files(args.audio, args.motion if "motion" in needs else None, fps=fps,
                                     tasks=model.tasks)
    y_hat = predict(model, recording)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{recording.name}.csv"
    note = _synthetic_note(model)
    _write_trace(csv, recording.times, y_hat, model.tasks, note)
    # the CLI's lazy boundary; the backend is chosen before pyplot loads (the PNG is only saved)
    import matplotlib

    matplotlib.use("Agg")
    from .plots import plot_prediction

    title = f"{recording.name} ({model.name})"
    if note:
        title += "\nmodel trained on synthetic stubs, not real data: not an emotion estimate"
    fig = plot_prediction(recording.times, y_hat, model.tasks, title=title)
    fig.savefig(out / f"{recording.name}.png", dpi=120)
    print(f"wrote {csv} and {recording.name}.png ({len(y_hat)} frames at {fps:g} fps)")
    if note:
        print(f"note: {note}")
    return 0


def _reproduce(argv) -> int:
    # the CLI's lazy boundary (see the module docstring)
    from .experiments import main_reproduce

    return main_reproduce(argv)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default, except where there is none to show."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


_DESCRIPTION = ("The course's work from a shell: summarise a corpus, write the synthetic corpora, "
                "train on one fold, predict new recordings, reproduce the paper's tables.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cerlib", description=_DESCRIPTION)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    device = ("cpu, cuda, cuda:N or mps (default: CUDA if there is a GPU, then Apple's MPS, then the CPU; "
              "or $CERLIB_DEVICE)")

    p = sub.add_parser("info", help="summarise a corpus and its folds", parents=[common], formatter_class=_Help,
                       description="Load a corpus (CreativeIT or RECOLA layout) and print its recordings, "
                                   "speakers and speaker-independent folds.")
    p.add_argument("data", help="a dataset folder, e.g. data_stubs/creativeit")
    p.add_argument("--fps", type=_positive, default=60.0, help="frame rate of the features and labels (frames/s)")
    p.set_defaults(run=_info)

    sub.add_parser("make-stubs", help="write the synthetic corpora (make-stubs --help for its options)")
    sub.add_parser("reproduce", help="the paper's Tables I-V and Figure 2 (reproduce --help for its options)")

    p = sub.add_parser("train", help="train on one fold, report test CCC, optionally save", parents=[common],
                       formatter_class=_Help,
                       description="Train a model on one speaker-independent fold of a corpus, early-stop on "
                                   "its validation speakers, print the test speakers' CCC per task.")
    p.add_argument("data", help="a dataset folder, e.g. data_stubs/recola")
    p.add_argument("--fold", type=int, default=0, help="which fold (cerlib info lists them)")
    p.add_argument("--model", default="cer-mtl", choices=["cer-mtl", "cer-stl", "pure-cnn"],
                   help="CER-MTL (every task), CER-STL (one task, see --task) or the Pure CNN baseline")
    p.add_argument("--task", default="activation", help="the task of a CER-STL model")
    p.add_argument("--reading", default="literal", choices=["literal", "table-v"],
                   help="CER-MTL's layer reading: 6,235 (literal) or 5,615 parameters (table-v)")
    p.add_argument("--modalities", nargs="*",
                   help="modalities to fuse, e.g. speech motion (default: all the corpus has)")
    p.add_argument("--loss", default="ccc", choices=["ccc", "pcc", "mse"], help="per-task training loss")
    p.add_argument("--normalise", default="global", choices=["global", "recording", "speaker"],
                   help="z-scores from the training data (global), or per recording / per speaker")
    p.add_argument("--epochs", type=whole_at_least(1), default=100, help="most epochs to train")
    p.add_argument("--batch-size", type=whole_at_least(2), default=256, help="feature images per batch")
    p.add_argument("--lr", type=_positive, default=5e-5, help="Adam's learning rate")
    p.add_argument("--patience", type=whole_at_least(0), default=20,
                   help="stop after this many epochs without a better validation CCC")
    p.add_argument("--n-frames", type=whole_at_least(2), default=20, help="frames per feature image (N, even)")
    p.add_argument("--stride", type=whole_at_least(1), default=10, help="frames between an image's columns")
    p.add_argument("--fps", type=_positive, default=60.0, help="frame rate of the features and labels (frames/s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the batch order")
    p.add_argument("--device", help=device)
    p.add_argument("--out", help="save the trained model to this file (its folder is created)")
    p.set_defaults(run=_train)

    p = sub.add_parser("predict", help="the trace of a new recording, or of every recording of a corpus",
                       parents=[common], formatter_class=_Help,
                       description="Predict the emotion trace of one new recording (a CSV and a PNG) or of "
                                   "every recording of a corpus (one CSV each), written into --out.")
    p.add_argument("audio", nargs="?", help="a wav file of one recording outside any corpus")
    p.add_argument("--motion", help="its BVH motion capture (for a model trained on motion)")
    p.add_argument("--data", help="a corpus folder instead of AUDIO: one CSV per recording")
    p.add_argument("--model", required=True, help="a model file saved by 'cerlib train --out' or save_model")
    p.add_argument("--out", required=True,
                   help="folder for the CSV (and PNG) files; created; never inside a dataset folder")
    p.add_argument("--fps", type=_positive, help="frame rate of the trace (default: the model's)")
    p.add_argument("--device", help=device)
    p.set_defaults(run=_predict)
    return parser


_PATHS = ("data", "out", "model", "audio", "motion")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["make-stubs"]:  # the generator owns its options (stubs.main_make_stubs)
        return _make_stubs(argv[1:])
    if argv[:1] == ["reproduce"]:  # the experiment grid owns its options (experiments.main_reproduce)
        return _reproduce(argv[1:])
    args = _parser().parse_args(argv)
    for name in _PATHS:   # "~" in --out=~/x or a quoted path is not expanded by the shell
        if isinstance(getattr(args, name, None), str):
            setattr(args, name, str(Path(getattr(args, name)).expanduser()))
    try:
        return args.run(args)
    except (UsageError, ValueError, FileNotFoundError) as err:  # DatasetError, CheckpointError: ValueErrors
        if args.debug:
            raise
        print(f"cerlib {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2


def _one_line(err: BaseException) -> str:
    """The first line of an error message (a layout listing after it is left out; --debug shows it)."""
    text = str(err).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
