"""Example data wherever cerlib is installed, in the spirit of librosa's ``ex()``.

Examples
--------
>>> (example_data() / "creativeit").is_dir()
True
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["example_data", "measured"]

_MEASURED = Path(__file__).resolve().parent / "measured"

_REPOSITORY_STUBS = Path(__file__).resolve().parent.parent / "data_stubs"


def example_data(dataset: str | None = None) -> Path:
    """The committed synthetic stubs: the repository's ``data_stubs/`` when cerlib runs from a
    checkout, else the same corpora written once into the user cache (seed 0, small scale).

    Parameters
    ----------
    dataset : {"creativeit", "recola"}, optional
        One dataset's folder; default the folder holding both.

    Examples
    --------
    >>> example_data("recola").name
    'recola'
    """
    if dataset is not None and dataset not in ("creativeit", "recola"):
        raise ValueError(f"dataset must be 'creativeit', 'recola' or None, got {dataset!r}")
    root = _REPOSITORY_STUBS
    if not all((root / name / "stub_manifest.json").is_file() for name in ("creativeit", "recola")):
        from .cache import default_cache_dir
        from .stubs import STUBS_VERSION, make_stubs

        root = default_cache_dir() / f"stubs-v{STUBS_VERSION}-small-seed0"
        missing = [n for n in ("creativeit", "recola") if not (root / n / "stub_manifest.json").is_file()]
        if missing:
            make_stubs(root, which=missing, scale="small", seed=0)
    return root / dataset if dataset else root


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
