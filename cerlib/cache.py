"""Computed features on disk, keyed on a plain description of the source files.

A cache entry is one ``.npz`` per recording under
:func:`default_cache_dir`'s ``recordings/`` folder. Its key is the SHA-256 of
the loading parameters, a fingerprint of the code that computes features and
the content digests of the recording's source files; a digest is recomputed
only when a file's size or modification time changes (:class:`Digests`), so a
warm load reads no source file. Files are written to a temporary name in the
cache folder and renamed (atomic); temporaries left by a killed write are
removed (:func:`remove_stale_temporaries`). An entry that lacks a key the
loader needs is recomputed. Each entry carries its own key (its file name)
and a SHA-256 of its contents: an entry copied over another one, or edited,
is recomputed with a warning naming it. The cache never
writes into a dataset folder and never stores a layout's own types.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ._util import atomic_write
from .formats import DatasetWarning

__all__ = ["default_cache_dir", "Digests", "cache_key", "code_fingerprint", "read_entry",
           "write_entry", "remove_stale_temporaries"]


# ---------------------------------------------------------------------------
# Cache location
# ---------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """Folder where loaded recordings are cached.

    ``$CERLIB_CACHE`` if set, else ``$XDG_CACHE_HOME/cerlib``, else
    ``~/.cache/cerlib``. Recordings go to its ``recordings/`` subfolder.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import os
    >>> path = default_cache_dir()
    >>> path == Path(os.environ["CERLIB_CACHE"]) if os.environ.get("CERLIB_CACHE") else path.name == "cerlib"
    True
    """
    env = os.environ.get("CERLIB_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cerlib"


_STALE_TMP_S = 3600.0   # a temporary older than this is left by a killed write


def code_fingerprint(paths) -> str:
    """SHA-256 of the source files that compute cached values: a code change invalidates the cache.

    Parameters
    ----------
    paths : iterable of path-like

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> len(code_fingerprint([__file__]))
    64
    """
    h = hashlib.sha256()
    for p in paths:
        try:
            h.update(Path(p).read_bytes())
        except OSError:
            h.update(str(p).encode())
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:   # hashlib.file_digest would need Python 3.11
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Digests:
    """Content digests of source files, re-hashed only when a file's size or mtime changes.

    The table lives in ``<folder>/digests.json``: absolute path -> size,
    ``st_mtime_ns`` and SHA-256. A warm load therefore reads no source file,
    only ``stat`` s it; a file whose size or modification time changed is
    hashed again (as make and rsync decide what changed). :meth:`save` writes
    the table atomically, and only if it changed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "a.txt").write_text("hello")
    5
    >>> d = Digests(folder / "cache")
    >>> d.digest(folder / "a.txt")[:8]
    '2cf24dba'
    >>> d.save(); (folder / "cache" / "digests.json").is_file()
    True
    """

    def __init__(self, folder: Path | None):
        self.path = Path(folder) / "digests.json" if folder is not None else None
        self.table: dict = {}
        self.changed = False
        if self.path is not None and self.path.is_file():
            try:
                table = json.loads(self.path.read_text())
                if isinstance(table, dict):
                    self.table = table
            except (OSError, ValueError):
                pass   # a damaged table is rebuilt

    def digest(self, path: Path) -> str:
        path = Path(path)
        st = path.stat()
        key = str(path.resolve())
        entry = self.table.get(key)
        if (isinstance(entry, dict) and entry.get("size") == st.st_size
                and entry.get("mtime_ns") == st.st_mtime_ns and isinstance(entry.get("sha256"), str)):
            return entry["sha256"]
        sha = file_digest(path)
        self.table[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
        self.changed = True
        return sha

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(self.table, sort_keys=True).encode())
        self.changed = False


def cache_key(name: str, files: dict, params: dict, code: str, digests: Digests) -> str:
    """Key of one cache entry: parameters, code fingerprint, and each named file's digest.

    Parameters
    ----------
    name : str
        The recording's name.
    files : dict of str to pathlib.Path
        Role (e.g. ``"audio"``, ``"labels/valence"``) -> source file; a
        missing file enters the key as missing.
    params : dict
        JSON-serialisable loading parameters.
    code : str
        :func:`code_fingerprint` of the code that computes the entry.
    digests : Digests

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> d = Digests(None)
    >>> k1 = cache_key("r", {"audio": Path("/no/such.wav")}, {"fps": 60.0}, "c", d)
    >>> k1 == cache_key("r", {"audio": Path("/no/such.wav")}, {"fps": 25.0}, "c", d)
    False
    """
    h = hashlib.sha256()
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(code.encode())
    h.update(name.encode())
    for role in sorted(files):
        p = Path(files[role])
        h.update(role.encode())
        h.update(digests.digest(p).encode() if p.is_file() else b"<missing>")
    return h.hexdigest()


_INTEGRITY = "_integrity"   # meta field: {"key": the entry's file stem, "sha256": digest of the contents}


def _contents_digest(arrays: dict, meta: dict) -> str:
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def read_entry(path: Path, arrays_needed=(), meta_needed=()):
    """``(arrays, meta)`` of a cache entry, or None if it is missing, damaged or lacks a key.

    An entry whose stored key is not its own file name (another entry copied
    over it) or whose contents no longer match their stored digest (edited)
    is not trusted: a :class:`~cerlib.formats.DatasetWarning` names the file
    and None is returned, so that the caller recomputes and replaces it.

    Examples
    --------
    >>> read_entry(Path("/no/such/entry.npz")) is None
    True
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"]))
    except Exception:
        return None  # a damaged or foreign cache file is recomputed and replaced
    if not isinstance(meta, dict) or not isinstance(meta.get(_INTEGRITY), dict):
        return None  # written by other code (no integrity record): recomputed and replaced
    integrity = meta.pop(_INTEGRITY)
    if integrity.get("key") != path.stem:
        warnings.warn(f"cache entry {path} holds the entry {integrity.get('key')!r}, not its own "
                      f"({path.stem!r}): it was swapped or copied over; recomputing it", DatasetWarning,
                      stacklevel=2)
        return None
    if integrity.get("sha256") != _contents_digest(arrays, meta):
        warnings.warn(f"cache entry {path} does not match the digest stored in it (edited or damaged); "
                      "recomputing it", DatasetWarning, stacklevel=2)
        return None
    if any(k not in arrays for k in arrays_needed) or any(k not in meta for k in meta_needed):
        return None  # an entry written by other code: recomputed and replaced
    return arrays, meta


def write_entry(path: Path, arrays: dict, meta: dict) -> None:
    """Store ``arrays`` and a JSON ``meta`` dict as one ``.npz``, atomically.

    The entry records its own key (``path``'s stem) and a digest of its
    contents, checked by :func:`read_entry`.

    Examples
    --------
    >>> import tempfile
    >>> entry = Path(tempfile.mkdtemp()) / "r.npz"
    >>> write_entry(entry, {"labels": np.zeros(3)}, {"raters": {}})
    >>> read_entry(entry, ["labels"], ["raters"])[1]
    {'raters': {}}
    """
    meta = {k: v for k, v in meta.items() if k != _INTEGRITY}
    stored = {**meta, _INTEGRITY: {"key": Path(path).stem, "sha256": _contents_digest(arrays, meta)}}
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(stored)), **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buf.getvalue())


def remove_stale_temporaries(folder: Path, older_than_s: float = _STALE_TMP_S) -> list:
    """Delete ``.*.tmp`` files (:func:`cerlib._util.atomic_write`'s temporaries) a killed write left in ``folder``; returns the paths removed.

    Only temporaries older than ``older_than_s`` go: a younger one may belong
    to a write in progress in another process.

    Examples
    --------
    >>> remove_stale_temporaries(Path("/no/such/folder"))
    []
    """
    removed = []
    if not Path(folder).is_dir():
        return removed
    now = time.time()
    for p in Path(folder).glob(".*.tmp"):
        try:
            if now - p.stat().st_mtime > older_than_s:
                p.unlink()
                removed.append(p)
        except OSError:
            pass
    return removed
