"""cerlib.cache: a warm load reads no source file, stays correct, and heals damaged entries."""
from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np
import pytest

from cerlib import cache as cache_mod
from cerlib.data import load_corpus


@pytest.fixture(autouse=True)
def _quiet(tmp_path, monkeypatch):
    monkeypatch.setenv("CERLIB_QUIET", "1")
    monkeypatch.setenv("CERLIB_CACHE", str(tmp_path / "cache"))


def _count_digests(monkeypatch):
    calls = []
    real = cache_mod.file_digest
    monkeypatch.setattr(cache_mod, "file_digest", lambda p: calls.append(p) or real(p))
    return calls


def test_warm_load_hashes_no_source_file(tiny, tmp_path, monkeypatch):
    root, c = tiny / "recola", tmp_path / "c"
    calls = _count_digests(monkeypatch)
    first = load_corpus(root, cache_dir=c, progress=False)
    n_cold = len(calls)
    assert n_cold == 4 * 4      # cold: wav, face, two rating files of 4 recordings, once each
    assert n_cold == len({str(p) for p in calls})
    second = load_corpus(root, cache_dir=c, progress=False)
    assert len(calls) == n_cold          # warm: sizes and mtimes unchanged, nothing re-read
    for a, b in zip(first, second):
        assert np.array_equal(a.features["face"], b.features["face"])
        assert np.array_equal(a.labels, b.labels)


def test_changed_file_is_rehashed_and_recomputed(tiny, tmp_path, monkeypatch):
    root, c = tiny / "recola", tmp_path / "c"
    load_corpus(root, cache_dir=c, progress=False)
    calls = _count_digests(monkeypatch)
    path = root / "ratings_individual" / "arousal" / "train_2.csv"
    lines = path.read_text().splitlines()
    # same size: every rating becomes a same-width constant, so only the mtime tells
    lines[1:] = [";".join([l.split(";")[0]] + ["0" * len(v) if not v.startswith("-") else "-" + "0" * (len(v) - 1)
                                               for v in l.split(";")[1:]]) for l in lines[1:]]
    size = path.stat().st_size
    st = path.stat()
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size == size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))   # a later time, whatever the clock
    again = load_corpus(root, cache_dir=c, progress=False)
    assert [p.name for p in calls] == ["train_2.csv"]
    assert np.allclose(again["train_2"].label("activation"), 0.0)


def test_damaged_digest_table_is_rebuilt(tiny, tmp_path):
    root, c = tiny / "recola", tmp_path / "c"
    first = load_corpus(root, cache_dir=c, progress=False)
    table = c / "digests.json"
    assert table.is_file()
    table.write_text("{not json")
    again = load_corpus(root, cache_dir=c, progress=False)
    assert np.array_equal(first[0].labels, again[0].labels)
    assert isinstance(json.loads(table.read_text()), dict)


@pytest.mark.parametrize("drop", ["arrays", "meta"])
def test_entry_with_missing_keys_is_recomputed(tiny, tmp_path, drop):
    root, c = tiny / "recola", tmp_path / "c"
    first = load_corpus(root, cache_dir=c, progress=False)
    for f in (c / "recordings").glob("*.npz"):   # entries written by other code: keys missing
        arrays, meta = cache_mod.read_entry(f)
        if drop == "arrays":
            arrays = {"labels": arrays["labels"]}
        else:
            meta = {"messages": []}
        cache_mod.write_entry(f, arrays, meta)
    again = load_corpus(root, cache_dir=c, progress=False)
    assert np.array_equal(first[0].features["speech"], again[0].features["speech"])
    assert again[0].raters == first[0].raters


def test_stale_temporaries_are_removed(tiny, tmp_path):
    root, c = tiny / "recola", tmp_path / "c"
    load_corpus(root, cache_dir=c, progress=False)
    stale, fresh = c / "recordings" / ".killed.npz.x1.tmp", c / "recordings" / ".writing.npz.x2.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    load_corpus(root, cache_dir=c, progress=False)
    assert not stale.exists()
    assert fresh.exists()      # may belong to a write in progress elsewhere


@pytest.mark.parametrize("how", ["swapped", "edited"])
def test_a_swapped_or_edited_entry_is_not_trusted(tiny, tmp_path, how):
    from cerlib.data import DatasetWarning

    root, c = tiny / "recola", tmp_path / "c"
    first = load_corpus(root, cache_dir=c, progress=False)
    entries = sorted((c / "recordings").glob("*.npz"))
    assert len(entries) == 4
    assert all(cache_mod.read_entry(e) is not None for e in entries)
    victim = entries[0]
    if how == "swapped":          # another recording's valid entry copied over this one
        victim.write_bytes(entries[1].read_bytes())
        match = r"holds the entry .* not its own"
    else:                         # the same entry with its labels changed in place
        with np.load(victim, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        data["labels"] = data["labels"] + 0.5
        np.savez(victim, **data)
        match = r"does not match the digest"
    with pytest.warns(DatasetWarning, match=rf"{victim.name}.*{match}"):
        again = load_corpus(root, cache_dir=c, progress=False)
    for a, b in zip(first, again):    # every recording has its own, correct data
        assert a.name == b.name and np.array_equal(a.labels, b.labels)
        assert np.array_equal(a.features["speech"], b.features["speech"])
    with warnings.catch_warnings():   # the entry was replaced: the next load trusts it again
        warnings.simplefilter("error", DatasetWarning)
        load_corpus(root, cache_dir=c, progress=False)
