"""Where a grid's data comes from: folders per draw and dataset, and a digest of each.

A grid names its data once (``data=``): a folder holding ``creativeit/`` and/or
``recola/`` (the committed stubs, CreativeIT-scale stubs or the real corpora),
one dataset folder, a mapping ``{dataset: folder}``, or ``"course"``: the
course-scale stubs, one folder per draw, written into the cache on first use
(:func:`cerlib.stubs.course.course_stubs`). A folder is one draw: the seed its
``stub_manifest.json`` names, or draw 0 for real data.

:func:`data_key` digests what a folder holds, so a run id covers its data:
``reproduce --data OTHER --out SAME`` never reuses the first data's runs.

Examples
--------
>>> from cerlib.examples import data_folder, example_data
>>> resolve(data_folder(), draws=[0])[0]["recola"].endswith("recola")
True
>>> resolve(data_folder(), draws=[1])                      # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
ValueError: ... is one draw of the stubs (draw 0); ...
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Mapping

from ..layouts import detect_layout
from ..stubs import course_stubs
from .grid import DATASET_TASKS

__all__ = ["resolve", "data_key", "stub_manifest", "is_synthetic", "COURSE_DATA"]

#: The ``data=`` value that means the course-scale stubs, one folder per draw.
COURSE_DATA = "course"


def stub_manifest(folder) -> dict | None:
    """The ``stub_manifest.json`` of a stub dataset folder (None for real data).

    Examples
    --------
    >>> from cerlib.examples import data_folder, example_data
    >>> stub_manifest(example_data("recola"))["corpus"]
    'recola'
    """
    path = Path(folder) / "stub_manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable stub manifest ({err})") from None


def is_synthetic(folder) -> bool:
    """Whether a dataset folder holds synthetic stubs (it has a stub manifest).

    Examples
    --------
    >>> from cerlib.examples import data_folder, example_data
    >>> is_synthetic(example_data("creativeit"))
    True
    """
    return (Path(folder) / "stub_manifest.json").is_file()


def data_key(folder) -> str:
    """A digest of a dataset folder: of its stub manifest (generator version, scale, seed,
    knobs, drawn traits) for stubs, else of every file's relative path and size.

    Examples
    --------
    >>> from cerlib.examples import data_folder, example_data
    >>> data_key(example_data("creativeit")) == data_key(example_data("creativeit"))
    True
    >>> data_key(example_data("creativeit")) == data_key(example_data("recola"))
    False
    """
    folder = Path(folder)
    manifest = folder / "stub_manifest.json"
    h = hashlib.sha1()
    if manifest.is_file():
        h.update(b"stub:" + manifest.read_bytes())
    else:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(f"{path.relative_to(folder).as_posix()}\0{path.stat().st_size}\n".encode())
    return h.hexdigest()[:12]


def _folder(data) -> dict[str, str]:
    """-> {dataset: folder} for one draw's data."""
    if isinstance(data, Mapping):
        return {k: str(Path(v).expanduser()) for k, v in data.items()}
    root = Path(data).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data {root}: no such folder; expected a folder holding creativeit/ "
                                "and/or recola/ (e.g. data_stubs), one dataset folder, or 'course'")
    found = {name: str(root / name) for name in DATASET_TASKS if (root / name).is_dir()}
    if not found:
        try:
            found = {detect_layout(root): str(root)}
        except Exception as err:
            raise FileNotFoundError(f"{root}: neither a CreativeIT/RECOLA folder nor a folder holding "
                                    f"creativeit/ or recola/ ({err})") from None
    return found


def resolve(data, draws: Iterable[int] = (0,), datasets: Iterable[str] | None = None,
            progress: bool | None = False) -> dict[int, dict[str, str]]:
    """-> ``{draw: {dataset: folder}}`` for every draw a grid needs.

    Parameters
    ----------
    data : "course", a folder, or a mapping {dataset: folder}
    draws : iterable of int
        ``"course"`` writes each draw's stubs into the cache when missing
        (about 15 s each); a folder is one draw and accepts only that draw.
    datasets : iterable of str, optional
        Which datasets the grid needs ("course" writes only those).

    Raises
    ------
    ValueError
        A draw a folder does not hold, named.

    Examples
    --------
    >>> from cerlib.examples import data_folder, example_data
    >>> sorted(resolve(data_folder(), draws=[0])[0])
    ['creativeit', 'recola']
    """
    draws = sorted({int(d) for d in draws})
    if data is None:
        data = "data_stubs"
    if isinstance(data, (str, Path)) and str(data) == COURSE_DATA:
        which = tuple(datasets or DATASET_TASKS)
        return {d: _folder(course_stubs(which, seed=d, progress=progress)) for d in draws}
    folders = _folder(data)
    seeds = {}
    for name, folder in folders.items():
        manifest = stub_manifest(folder)
        seeds[name] = int(manifest.get("seed", 0)) if manifest else 0
    own = set(seeds.values())
    if len(own) > 1:
        raise ValueError(f"{data}: its datasets are different draws of the stubs ({seeds}); "
                         "give one dataset folder at a time")
    own_draw = own.pop() if own else 0
    wrong = [d for d in draws if d != own_draw]
    if wrong:
        raise ValueError(f"{data} is one draw of the stubs (draw {own_draw}); the grid asks for draw(s) "
                         f"{wrong}. Several draws need data='course' (reproduce --data course --draws K)")
    return {own_draw: folders}
