"""The resumable store of finished runs: ``runs/<run_id>.json`` and ``runs/<run_id>.pt``.

The checkpoint is written first and the JSON record last, each to a hidden
temporary name (``.<name>.<random>.tmp``) and renamed, so a run is finished
exactly when its record exists. A record holds the size and SHA-256 of its
checkpoint. :meth:`Store.scan` sorts what the folder holds into finished runs
and damaged ones: a record that does not parse, names another run, has another
store format, or whose checkpoint is missing or not the one it wrote. Damaged
runs are rerun, with a message naming each; leftover temporary files are
ignored. One writer at a time: :meth:`Store.lock` refuses a second with a
message naming the first.

Examples
--------
>>> import tempfile
>>> store = Store(tempfile.mkdtemp())
>>> store.done(), store.path("x", ".json").name
(set(), 'x.json')
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Mapping

from .._util import atomic_write
from ..training import load_model
from .grid import STORE_FORMAT

__all__ = ["Store", "StoreLocked"]


class StoreLocked(RuntimeError):
    """Another process is writing into the same store.

    Examples
    --------
    >>> issubclass(StoreLocked, RuntimeError)
    True
    """


class Store:
    """A folder of finished runs (module docstring).

    Parameters
    ----------
    root : path
        The output folder; runs go to ``root/runs/``.

    Examples
    --------
    >>> import tempfile
    >>> Store(tempfile.mkdtemp()).records()
    []
    """

    def __init__(self, root):
        self.root = Path(root).expanduser()
        self.runs = self.root / "runs"
        if self.runs.exists() and not self.runs.is_dir():
            raise NotADirectoryError(f"store {self.root}: {self.runs} exists and is not a folder")
        self.runs.mkdir(parents=True, exist_ok=True)

    def path(self, run_id: str, suffix: str) -> Path:
        return self.runs / f"{run_id}{suffix}"

    def scan(self) -> tuple[dict[str, dict], dict[str, str]]:
        """-> (finished ``{run_id: record}``, damaged ``{file name: why}``).

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); _ = (s.runs / "r.json").write_text('{"run_id": "r"')
        >>> s.scan()[1]
        {'r.json': 'not a complete JSON record'}
        """
        finished, damaged = {}, {}
        for p in sorted(self.runs.glob("*.json")):  # temporaries end in .tmp
            try:
                record = json.loads(p.read_text())
            except (OSError, ValueError):
                damaged[p.name] = "not a complete JSON record"
                continue
            why = self._check(p, record)
            if why:
                damaged[p.name] = why
            else:
                finished[p.stem] = record
        return finished, damaged

    def _check(self, p: Path, record) -> str | None:
        if not isinstance(record, dict) or "run_id" not in record:
            return "not a cerlib run record"
        if record.get("format") != STORE_FORMAT:
            return (f"written by another version of cerlib's store (format {record.get('format')!r}, "
                    f"this version reads {STORE_FORMAT})")
        if record["run_id"] != p.stem:
            return f"holds the record of another run ({record['run_id']!r})"
        pt = self.path(p.stem, ".pt")
        want = record.get("checkpoint")
        if not pt.is_file():
            return "its checkpoint (.pt) is missing"
        if not isinstance(want, Mapping) or pt.stat().st_size != want.get("bytes"):
            return "its checkpoint (.pt) is truncated or not the one it wrote"
        if hashlib.sha256(pt.read_bytes()).hexdigest() != want.get("sha256"):
            return "its checkpoint (.pt) is not the one it wrote (digest differs)"
        return None

    def done(self) -> set:
        """Run ids with a finished, undamaged record.

        Examples
        --------
        >>> import tempfile
        >>> Store(tempfile.mkdtemp()).done()
        set()
        """
        return set(self.scan()[0])

    def write(self, result: Mapping) -> Path:
        """Checkpoint first, record last, each atomically; the record holds the checkpoint's digest.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp())
        >>> _ = s.write({"record": {"format": STORE_FORMAT, "run_id": "r"}, "checkpoint": b"weights"})
        >>> s.done()
        {'r'}
        """
        record = dict(result["record"])
        data = bytes(result["checkpoint"])
        record["checkpoint"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        atomic_write(self.path(record["run_id"], ".pt"), data)
        return atomic_write(self.path(record["run_id"], ".json"),
                            json.dumps(record, indent=1, sort_keys=True).encode())

    def records(self) -> list[dict]:
        """The finished runs' records (damaged ones left out: :meth:`scan` names them).

        Examples
        --------
        >>> import tempfile
        >>> Store(tempfile.mkdtemp()).records()
        []
        """
        return list(self.scan()[0].values())

    @contextlib.contextmanager
    def lock(self):
        """Hold the store's writer lock (``runs/.lock``) for the duration; a second writer
        gets :class:`StoreLocked` naming the holder, at once.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp())
        >>> with s.lock():
        ...     with Store(s.root).lock():
        ...         pass                                      # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        StoreLocked: ...
        """
        path = self.runs / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = path.read_text().strip() or "another process"
                raise StoreLocked(f"{self.root}: another run of the grid is writing into this store "
                                  f"({holder}); wait for it to finish or use another --out") from None
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}".encode())
            yield self
        finally:
            os.close(fd)

    def model(self, run_id: str, device: str | None = "cpu"):
        """The trained model of a stored run (:func:`cerlib.modelfile.load_model`).

        Examples
        --------
        >>> import tempfile
        >>> Store(tempfile.mkdtemp()).model("nothing")          # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...: no stored checkpoint for run 'nothing'
        """
        path = self.path(run_id, ".pt")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no stored checkpoint for run {run_id!r}")
        return load_model(path, device=device)
