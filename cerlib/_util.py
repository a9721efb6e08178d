"""Small helpers shared by every module: progress bars and argument checks.

It sits at the top of the import order (it imports nothing from cerlib), so
any module may use it.
"""
from __future__ import annotations

import os

__all__ = ["progress_enabled", "progress"]


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
    from tqdm.auto import tqdm

    return tqdm(iterable, **kw)
