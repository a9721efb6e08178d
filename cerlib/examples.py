"""Example data wherever cerlib is installed, in the spirit of ``librosa.ex``.

The course's examples, docstrings and notebooks read the small synthetic
corpora (``scale="small"``, seed 0: the instance committed in the repository's
``data_stubs/``). In a checkout they are found there; where cerlib was
installed without the repository (a wheel, a hosted Jupyter) the same corpora
are written once into the cache with :func:`cerlib.stubs.writers.make_stubs` (a few
seconds, nothing is downloaded) and found there afterwards. Either way a
notebook copied anywhere runs without a relative path.

Examples
--------
>>> from cerlib import load_corpus
>>> from cerlib.examples import example_data
>>> corpus = load_corpus(example_data("recola"), progress=False)
>>> corpus.tasks
('activation', 'valence')
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

from .cache import default_cache_dir
from .layouts import LAYOUTS
from .stubs import SCALES, STUBS_VERSION, Knobs, data_root, make_stubs

__all__ = ["EXAMPLES", "example_data", "data_folder", "measured"]

#: The example corpora, by name: CreativeIT and RECOLA in their layouts.
EXAMPLES = tuple(layout.name for layout in LAYOUTS)

#: The seed of the committed instance in ``data_stubs/``.
SEED = 0

_CHECKOUT = Path(__file__).resolve().parent.parent / "data_stubs"
_MEASURED = Path(__file__).resolve().parent / "measured"


def _manifest(folder: Path) -> dict:
    try:
        info = json.loads((folder / "stub_manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _is_example(folder: Path, name: str, *, strict: bool) -> bool:
    """Whether ``folder`` holds the example corpus ``name`` (``strict``: this version, scale, seed, knobs)."""
    info = _manifest(folder)
    if info.get("generator") != "cerlib.stubs.make_stubs" or info.get("corpus") != name:
        return False
    if not strict:
        return True
    knobs = json.loads(json.dumps(dataclasses.asdict(Knobs(**SCALES["small"]))))
    return (info.get("stubs_version") == STUBS_VERSION and info.get("scale") == "small"
            and info.get("seed") == SEED and info.get("knobs") == knobs)


def _cache_root() -> Path:
    return default_cache_dir() / f"stubs-v{STUBS_VERSION}-small-seed{SEED}"


def example_data(name: str = "creativeit") -> Path:
    """The folder of an example corpus: the repository's ``data_stubs/NAME``, else a copy in the cache.

    Parameters
    ----------
    name : {"creativeit", "recola"}, default "creativeit"
        Which synthetic corpus.

    Returns
    -------
    pathlib.Path
        A folder in the corpus's layout, for :func:`cerlib.load_corpus`. Where
        there is no checkout, the first call writes the corpus into
        ``<cache>/stubs-v<version>-small-seed0/NAME`` (see
        :func:`cerlib.cache.default_cache_dir`; written to a temporary folder
        and renamed, so concurrent first calls are safe); later calls return at
        once.

    Examples
    --------
    >>> example_data("creativeit").name
    'creativeit'
    >>> sorted(p.name for p in (example_data("creativeit") / "mocap").glob("s1_*.bvh"))[:2]
    ['s1_i01_A01.bvh', 's1_i01_A02.bvh']
    """
    if name not in EXAMPLES:
        raise ValueError(f"example_data: name must be one of {list(EXAMPLES)}, got {name!r}")
    if _is_example(_CHECKOUT / name, name, strict=False):
        return _CHECKOUT / name
    target = _cache_root() / name
    if _is_example(target, name, strict=True):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        make_stubs(scratch, which=name, scale="small", seed=SEED)
        if target.exists():                  # stale (another version or seed) or half-written by hand
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(scratch / name, target)
        except OSError:                      # another process finished first: use its copy
            if not _is_example(target, name, strict=True):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def data_folder(spec: str | os.PathLike | None = None) -> Path:
    """The folder a notebook reads its corpora from.

    Parameters
    ----------
    spec : path-like or "course", optional
        A folder holding ``creativeit/`` and/or ``recola/`` (stubs or your copy
        of the real data), or ``"course"`` for the course-scale stubs
        (:func:`cerlib.stubs.course.data_root`). Notebooks pass ``$CERLIB_DATA`` here.
        None or ``""``: the example corpora (:func:`example_data`).

    Returns
    -------
    pathlib.Path
        The folder holding ``creativeit/`` and ``recola/``.

    Examples
    --------
    >>> data_folder() == example_data("creativeit").parent == example_data("recola").parent
    True
    >>> data_folder("/data/cer")
    PosixPath('/data/cer')
    """
    if spec not in (None, ""):
        return data_root(spec)
    roots = {example_data(name).parent for name in EXAMPLES}
    (root,) = roots
    return root


def measured(name: str) -> Path:
    """A file of results measured by the repository's benchmarks and shipped with the package
    (``cerlib/measured/``), so that the notebooks that discuss them run wherever cerlib is
    installed. The same files, with everything else the run wrote, are in ``benchmarks/results/``.

    Parameters
    ----------
    name : str
        E.g. ``"learning-curves/curves.csv"`` or ``"reproduce-course/claims.csv"``.

    Examples
    --------
    >>> measured("learning-curves/curves.csv").is_file()
    True
    """
    path = _MEASURED / name
    if not path.exists():
        shipped = sorted(p.relative_to(_MEASURED).as_posix() for p in _MEASURED.rglob("*") if p.is_file())
        raise FileNotFoundError(f"no measured result {name!r}; cerlib ships {shipped}")
    return path
