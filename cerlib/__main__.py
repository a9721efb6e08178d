"""``python -m cerlib``: the course's work from a shell.

    python -m cerlib info data_stubs/creativeit
    python -m cerlib make-stubs OUT [--scale creativeit] [--seed 0] [--set KNOB=VALUE]
    python -m cerlib train data_stubs/creativeit --fold 0 --loss ccc --epochs 100 --out model.pt
    python -m cerlib predict model.pt data_stubs/creativeit --out predictions/

``train`` evaluates on the fold's test speakers and prints their CCC per task;
``predict`` writes one CSV per recording (time, one column per task) into
``--out``, never into the dataset folder.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _info(args) -> int:
    from .data import load_corpus

    corpus = load_corpus(args.data, fps=args.fps, progress=not args.quiet)
    print(corpus)
    print(corpus.summary().to_string())
    for fold in corpus.folds():
        print(fold)
    return 0


def _make_stubs(argv) -> int:
    from .stubs import main_make_stubs

    return main_make_stubs(argv)


def _build_model(kind: str, n_features: int, n_frames: int, tasks, reading: str):
    from .models import CERMTL, PureCNN

    if kind == "pure-cnn":
        return PureCNN(n_features=n_features, n_frames=n_frames, tasks=tasks)
    options = {"literal": dict(gru_over="time", batch_norm=False),
               "table-v": dict(gru_over="filters", batch_norm=True)}[reading]
    return CERMTL(n_features=n_features, n_frames=n_frames, tasks=tasks, **options)


def _train(args) -> int:
    from .data import load_corpus
    from .training import evaluate, fit, save_model, seed_everything

    corpus = load_corpus(args.data, fps=args.fps, progress=not args.quiet)
    folds = corpus.folds()
    if not 0 <= args.fold < len(folds):
        raise SystemExit(f"--fold must be 0..{len(folds) - 1} for {corpus.name}, got {args.fold}")
    fold = folds[args.fold]
    modalities = args.modalities or None
    n_features = fold.train[0].inputs(modalities).shape[1]
    tasks = [args.task] if args.model == "cer-stl" else corpus.tasks
    seed_everything(args.seed)
    model = _build_model(args.model, n_features, args.n_frames, tasks, args.reading)
    history = fit(model, fold.train, fold.valid, modalities=modalities, loss=args.loss, epochs=args.epochs,
                  batch_size=args.batch_size, lr=args.lr, patience=args.patience, stride=args.stride,
                  device=args.device, seed=args.seed, progress=not args.quiet)
    print(history)
    scores = evaluate(model, fold.test, loss=args.loss)
    print(f"test ({fold.name}): " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if k != "loss"))
    if args.out:
        save_model(model, args.out)
        print(f"saved {args.out}")
    return 0


def _predict(args) -> int:
    import numpy as np

    from .data import load_corpus
    from .training import load_model, predict

    model = load_model(args.model, device=args.device)
    corpus = load_corpus(args.data, fps=args.fps, progress=not args.quiet)
    out = Path(args.out)
    data_root = Path(args.data).resolve()
    if out.resolve() == data_root or data_root in out.resolve().parents:
        raise SystemExit(f"--out {out} is inside the dataset folder {args.data}; cerlib never writes there")
    out.mkdir(parents=True, exist_ok=True)
    for recording in corpus.recordings:
        y_hat = predict(model, recording)
        table = np.column_stack([recording.times, y_hat])
        np.savetxt(out / f"{recording.name}.csv", table, delimiter=",", fmt="%.6f",
                   header="time," + ",".join(model.tasks), comments="")
    print(f"wrote {len(corpus.recordings)} prediction files to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["make-stubs"]:  # the generator owns its options (stubs.main_make_stubs)
        return _make_stubs(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m cerlib", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="summarise a corpus and its folds", parents=[common])
    p.add_argument("data")
    p.add_argument("--fps", type=float, default=60.0)
    p.set_defaults(run=_info)

    sub.add_parser("make-stubs", help="write the synthetic corpora (make-stubs --help for its options)")

    p = sub.add_parser("train", help="train on one fold, report test CCC, optionally save", parents=[common])
    p.add_argument("data")
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--model", default="cer-mtl", choices=["cer-mtl", "cer-stl", "pure-cnn"])
    p.add_argument("--task", default="activation", help="the task of a CER-STL model")
    p.add_argument("--reading", default="literal", choices=["literal", "table-v"],
                   help="CER-MTL's layer reading: 6,235 (literal) or 5,615 parameters (table-v)")
    p.add_argument("--modalities", nargs="*", help="e.g. speech motion (default: all)")
    p.add_argument("--loss", default="ccc", choices=["ccc", "pcc", "mse"])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--patience", type=int, default=20)
    p.add_argument("--n-frames", type=int, default=20)
    p.add_argument("--stride", type=int, default=10)
    p.add_argument("--fps", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device")
    p.add_argument("--out", help="save the trained model here")
    p.set_defaults(run=_train)

    p = sub.add_parser("predict", help="predict every recording of a corpus with a saved model", parents=[common])
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--out", required=True, help="folder for one CSV per recording")
    p.add_argument("--fps", type=float, default=60.0)
    p.add_argument("--device")
    p.set_defaults(run=_predict)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
