"""Small helpers shared by every module: progress bars and argument checks.

It sits at the top of the import order (it imports nothing from cerlib), so
any module may use it.
"""
from __future__ import annotations

import argparse
import math
import numbers
import os
import tempfile
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["progress_enabled", "progress", "atomic_write", "is_inside", "whole_number", "whole_at_least"]


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show a progress bar: not when ``progress`` is False, nor when
    ``$CERLIB_QUIET`` is set (the test suite sets it, so stored notebook
    outputs hold no timings); otherwise yes. Every bar in cerlib asks here.

    Examples
    --------
    >>> progress_enabled(False)
    False
    """
    if progress is False:
        return False
    return os.environ.get("CERLIB_QUIET", "").strip().lower() in ("", "0", "false", "no")


def progress(iterable, *, enabled: bool = True, **kw):
    """Wrap ``iterable`` in tqdm's auto bar unless disabled or ``CERLIB_QUIET=1``."""
    if not progress_enabled(enabled):
        return iterable
    return tqdm(iterable, **kw)


def atomic_write(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a hidden temporary file in the same
    folder (``.<name>.<random>.tmp``: it neither ends in the target's suffix nor
    shows in a glob for it), then rename: a reader sees the old file or the
    complete new one, never half of one. A failed write leaves nothing behind;
    a killed process may leave a ``.tmp`` that readers ignore.

    Examples
    --------
    >>> import tempfile
    >>> p = atomic_write(Path(tempfile.mkdtemp()) / "x.bin", b"abc")
    >>> p.read_bytes(), sorted(q.name for q in p.parent.iterdir())
    (b'abc', ['x.bin'])
    >>> q = Path(tempfile.mkdtemp()) / "y.bin"; _ = q.write_bytes(b"")              # made by open()
    >>> p.stat().st_mode & 0o777 == q.stat().st_mode & 0o777
    True
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as open() would make it: mkstemp's 0600 would hide results from others
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def is_inside(path, folder) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (symlinks and ``..`` resolved).

    Examples
    --------
    >>> is_inside("/data/corpus/out", "/data/corpus"), is_inside("/data/corpus2", "/data/corpus")
    (True, False)
    """
    path, folder = Path(path).expanduser().resolve(), Path(folder).expanduser().resolve()
    return path == folder or folder in path.parents


def whole_number(value, name: str, expected: str = "") -> int:
    """``value`` as an int when it is a whole number (3, or a slider's 3.0); else a ValueError naming ``name``.

    Examples
    --------
    >>> whole_number(20.0, "n_frames")
    20
    >>> whole_number(2.5, "stride", "frames between two columns")
    Traceback (most recent call last):
    ValueError: stride must be a whole number (frames between two columns), got 2.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or int(value) != value:
        raise ValueError(f"{name} must be a whole number{f' ({expected})' if expected else ''}, got {value!r}")
    return int(value)


def whole_at_least(low: int):
    """An argparse ``type=``: a whole number >= ``low``, else argparse's one-line usage error.

    Examples
    --------
    >>> whole_at_least(1)("3")
    3
    >>> whole_at_least(1)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be at least 1, got 0
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse
