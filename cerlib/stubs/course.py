"""The course-scale stubs in the cache, and the ``--data`` values notebooks and commands take.

Part of :mod:`cerlib.stubs`.

Examples
--------
>>> from cerlib.stubs.course import data_root
>>> data_root("my_data").name
'my_data'
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Sequence

from .._util import progress_enabled
from ..cache import default_cache_dir
from .knobs import SCALES, STUBS_VERSION, Knobs
from .writers import make_stubs

__all__ = ["course_dir", "course_stubs", "data_root"]


def course_dir(seed: int = 0) -> Path:
    """Where :func:`course_stubs` keeps the course-scale corpora: a folder of the cache.

    Examples
    --------
    >>> course_dir().name
    'stubs-v4-course-seed0'
    """
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
