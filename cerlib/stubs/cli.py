"""``python -m cerlib make-stubs``: the command line of the stub generator (part of :mod:`cerlib.stubs`).

Examples
--------
>>> from cerlib.stubs.cli import main_make_stubs
>>> main_make_stubs(["out", "--which", "recola", "--quiet", "--set", "recola_duration_s=2",
...                  "--set", "recola_train=1", "--set", "recola_dev=1"])   # doctest: +ELLIPSIS
recola: out/recola (... MB)
0
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import sys
from pathlib import Path
from typing import Sequence

from ..layouts import LAYOUTS
from .course import course_dir
from .knobs import SCALES, Knobs
from .writers import make_stubs

__all__ = ["main_make_stubs"]


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
    names = [layout.name for layout in LAYOUTS]
    p.add_argument("--which", nargs="+", default=names, choices=names)
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
