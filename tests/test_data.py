"""cerlib.data: readers for the CreativeIT and RECOLA layouts, folds, cache, bad input."""
from __future__ import annotations

import os
import shutil
import stat
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cerlib import _util, data
from cerlib.data import (CREATIVEIT_JOINTS, DatasetError, DatasetWarning, Fold, Recording,
                         assert_speaker_independent, detect_layout, load_corpus, read_arff, read_bvh,
                         resample_series)
from cerlib.features import speech_features
from cerlib.stubs import make_stubs

REPO = Path(__file__).resolve().parents[1]
STUBS = REPO / "data_stubs"

# ---------------------------------------------------------------------------
# A guard that records every write under the folders it watches. An audit hook
# sees Python-level opens for writing, renames, deletions and mkdirs whatever
# the file permissions (chmod does not stop root), so "nothing is written into
# the dataset folder" is checked directly.
# ---------------------------------------------------------------------------
_WATCHED: list[str] = []
_WRITES: list[tuple] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _audit(event, args):
    if not _WATCHED:
        return
    paths, writes = [], False
    if event == "open":
        path, mode, flags = args
        if isinstance(mode, str):
            writes = any(c in mode for c in "wax+")
        elif isinstance(flags, int):
            writes = bool(flags & _WRITE_FLAGS)
        paths = [path]
    elif event in ("os.rename", "os.replace", "os.link", "os.symlink"):
        paths, writes = [args[0], args[1]], True
    elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.truncate", "shutil.rmtree"):
        paths, writes = [args[0]], True
    if not writes:
        return
    for p in paths:
        if isinstance(p, (str, bytes, os.PathLike)):
            p = os.path.abspath(os.fsdecode(p))
            if any(p == w or p.startswith(w + os.sep) for w in _WATCHED):
                _WRITES.append((event, p))


sys.addaudithook(_audit)


class no_writes_into:
    """Context manager: fail if anything is written under ``path``."""

    def __init__(self, path):
        self.path = os.path.abspath(path)

    def __enter__(self):
        _WRITES.clear()
        _WATCHED.append(self.path)
        return self

    def __exit__(self, *exc):
        _WATCHED.remove(self.path)
        assert not _WRITES, f"wrote into the dataset folder: {_WRITES}"


def snapshot(root: Path) -> dict:
    """Recursive listing with sizes and modification times."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))} | {".": root.stat().st_mtime_ns}


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _quiet_and_private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CERLIB_QUIET", "1")
    monkeypatch.setenv("CERLIB_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("shared-cache")


@pytest.fixture(scope="module")
def creativeit(cache):
    return load_corpus(STUBS / "creativeit", cache_dir=cache, progress=False)


@pytest.fixture(scope="module")
def recola(cache):
    return load_corpus(STUBS / "recola", cache_dir=cache, progress=False)


def load(path, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("cache_dir", False)
    return load_corpus(path, **kw)


# ---------------------------------------------------------------------------
# The committed stubs load, in the right layout
# ---------------------------------------------------------------------------

def test_creativeit_stub_loads(creativeit):
    c = creativeit
    assert c.name == "creativeit" and c.fps == 60.0
    assert c.tasks == ("activation", "valence", "dominance")
    assert c.modalities == ("speech", "motion")
    assert len(c) == 20 and len(c.speakers) == 16          # CreativeIT's 16 actors
    assert sorted({r.session for r in c}) == [1, 2, 3, 4, 5]
    for r in c:
        T = r.n_frames
        assert abs(T - 20 * 60) <= 1
        assert r.features["speech"].shape == (T, 39) and r.features["speech"].dtype == np.float32
        assert r.features["motion"].shape == (T, 24) and r.features["motion"].dtype == np.float32
        assert r.labels.shape == (T, 3) and r.labels.dtype == np.float32
        assert r.inputs().shape == (T, 63)
        assert np.isfinite(r.inputs()).all() and np.isfinite(r.labels).all()
        assert set(r.ratings) == set(c.tasks) and all(v.shape[0] == T for v in r.ratings.values())
        assert r.partition is None and r.meta["partner"] != r.speaker
        assert all(Path(p).is_file() for p in r.sources.values())
        assert r.sources["audio"].suffix == ".wav" and r.sources["motion"].suffix == ".bvh"


def test_recola_stub_loads(recola):
    c = recola
    assert c.name == "recola" and c.tasks == ("activation", "valence")
    assert c.modalities == ("speech", "face")
    assert [r.name for r in c] == [f"train_{i}" for i in range(1, 7)] + [f"dev_{i}" for i in range(1, 4)]
    for r in c:
        T = r.n_frames
        assert abs(T - 25 * 60) <= 1
        assert r.features["face"].shape == (T, 11) and r.labels.shape == (T, 2)
        assert r.ratings["activation"].shape == (T, 6)
        assert r.raters["valence"] == ("FM1", "FM2", "FM3", "FF1", "FF2", "FF3")
        assert r.speaker == r.name and r.session is None
        assert r.partition == r.name.split("_")[0]
        assert np.isfinite(r.features["face"]).all()   # '?' frames were interpolated


def test_inputs_order_and_selection(creativeit):
    r = creativeit[0]
    assert np.array_equal(r.inputs(["motion", "speech"])[:, :24], r.features["motion"])
    assert np.array_equal(r.inputs()[:, :39], r.features["speech"])
    assert np.array_equal(r.inputs("multimodal"), r.inputs())
    assert np.array_equal(r.inputs("motion"), r.features["motion"])
    with pytest.raises(ValueError, match="face"):
        r.inputs("face")
    assert np.array_equal(r.label("valence"), r.labels[:, 1])
    assert "s1_i01_A01" in repr(r) and "Corpus('creativeit'" in repr(creativeit)


def test_detect_layout(tmp_path):
    assert detect_layout(STUBS / "creativeit") == "creativeit"
    assert detect_layout(STUBS / "recola") == "recola"
    with pytest.raises(DatasetError, match=r"creativeit.*recola|pass one of those"):
        detect_layout(STUBS)
    with pytest.raises(DatasetError, match="recordings_audio") as err:
        load_corpus(tmp_path, progress=False)
    assert "recordings.csv" in str(err.value)  # both layouts are shown
    with pytest.raises(DatasetError, match="does not exist"):
        load_corpus(tmp_path / "nope")


# ---------------------------------------------------------------------------
# Folds: speaker independent, validation from training speakers only
# ---------------------------------------------------------------------------

def test_creativeit_folds_are_sessions(creativeit):
    folds = creativeit.folds()
    assert [f.name for f in folds] == [f"session{s}" for s in range(1, 6)]
    for k, fold in enumerate(folds, start=1):
        assert {r.session for r in fold.test} == {k}
        assert {r.session for r in fold.valid} == {k % 5 + 1}
        assert {r.session for r in fold.train} == set(range(1, 6)) - {k, k % 5 + 1}
        parts = fold.speakers()
        assert not (parts["train"] & parts["test"]) and not (parts["valid"] & parts["test"])
        assert not (parts["train"] & parts["valid"])
        assert len(fold.train) + len(fold.valid) + len(fold.test) == len(creativeit)
    assert_speaker_independent(folds)
    # every recording is tested exactly once
    tested = sorted(r.name for f in folds for r in f.test)
    assert tested == sorted(r.name for r in creativeit)


def test_creativeit_valid_sessions_parameter(creativeit):
    no_valid = creativeit.folds(valid_sessions=0)
    assert all(not f.valid for f in no_valid) and len(no_valid[0].train) == 16
    two = creativeit.folds(valid_sessions=2)
    assert {r.session for r in two[4].valid} == {1, 2}   # wraps after the last session
    with pytest.raises(ValueError):
        creativeit.folds(valid_sessions=4)


def test_recola_fold_validates_on_training_speakers(recola):
    (fold,) = recola.folds()
    assert fold.name == "dev"
    assert {r.partition for r in fold.test} == {"dev"} and len(fold.test) == 3
    assert {r.partition for r in fold.train + fold.valid} == {"train"}
    assert len(fold.valid) == 2 and len(fold.train) == 4
    assert_speaker_independent(fold)
    assert [r.name for r in recola.folds(seed=0)[0].valid] == [r.name for r in fold.valid]
    choices = {tuple(r.name for r in recola.folds(seed=s)[0].valid) for s in range(6)}
    assert len(choices) > 1   # the seed picks which training speakers validate
    assert recola.folds(valid_speakers=0)[0].valid == []


def test_speaker_leak_is_detected():
    def rec(name, speaker):
        return Recording(name, speaker, 60.0, {"speech": np.zeros((3, 39), np.float32)},
                         np.zeros((3, 1), np.float32), ("activation",))
    leaky = Fold("f", train=[rec("a", "S1"), rec("b", "S2")], valid=[rec("c", "S3")], test=[rec("d", "S2")])
    with pytest.raises(DatasetError, match="S2"):
        assert_speaker_independent([leaky])
    leaky_valid = Fold("g", train=[rec("a", "S1")], valid=[rec("c", "S3")], test=[rec("d", "S3")])
    with pytest.raises(DatasetError, match="valid and test"):
        leaky_valid.check_speaker_independent()


def test_speaker_in_two_sessions_is_refused(tiny):
    index = tiny / "creativeit" / "recordings.csv"
    lines = index.read_text().splitlines()
    # actor A01 (session 1) also plays in session 2
    assert lines[3].startswith("s2_i01_A03,")
    lines[3] = lines[3].replace(",A03,", ",A01,", 1)
    index.write_text("\n".join(lines) + "\n")
    corpus = load(tiny / "creativeit")
    with pytest.raises(DatasetError, match="more than one session"):
        corpus.folds()


@pytest.mark.parametrize("which", ["creativeit", "recola"])
def test_normaliser_sees_training_speakers_only(which, creativeit, recola):
    """Neither test nor validation recordings may change the normalisation statistics."""
    corpus = creativeit if which == "creativeit" else recola
    fold = corpus.folds()[0]
    before = fold.normaliser()
    held_out = fold.valid + fold.test
    saved = [dict(r.features) for r in held_out]
    try:
        for r in held_out:
            r.features = {m: v * 100.0 + 7.0 for m, v in r.features.items()}
        after = fold.normaliser()
        assert np.array_equal(before.mean, after.mean) and np.array_equal(before.std, after.std)
        # the statistics are exactly those of the training recordings
        train = np.vstack([r.inputs() for r in fold.train])
        np.testing.assert_allclose(after.mean, train.mean(axis=0), rtol=1e-4, atol=1e-4)
    finally:
        for r, f in zip(held_out, saved):
            r.features = f
    # a training recording does change them (the check above is not vacuous)
    r0 = fold.train[0]
    saved0 = dict(r0.features)
    try:
        r0.features = {m: v + 1.0 for m, v in r0.features.items()}
        assert not np.array_equal(fold.normaliser().mean, before.mean)
    finally:
        r0.features = saved0
    assert before.n_features == fold.train[0].inputs().shape[1]
    assert fold.normaliser("speech").n_features == 39


# ---------------------------------------------------------------------------
# Labels and alignment
# ---------------------------------------------------------------------------

def _read_table(path, sep):
    """Independent reader: the standard library's csv, no cerlib."""
    import csv
    with open(path) as f:
        rows = list(csv.reader(f, delimiter=sep))
    return rows[0], np.array([[float(v) for v in row] for row in rows[1:]])


@pytest.mark.parametrize("which", ["creativeit", "recola"])
def test_label_is_mean_of_raters(which, creativeit, recola):
    corpus = creativeit if which == "creativeit" else recola
    for r in corpus.recordings[:4]:
        for j, task in enumerate(corpus.tasks):
            np.testing.assert_allclose(r.labels[:, j], r.ratings[task].mean(axis=1), atol=1e-6)
            header, table = _read_table(r.sources[task], ";" if which == "recola" else ",")
            assert tuple(header[1:]) == r.raters[task]
            frame_t = np.arange(r.n_frames) / r.fps
            expected = np.mean([np.interp(frame_t, table[:, 0], table[:, c])
                                for c in range(1, table.shape[1])], axis=0)
            np.testing.assert_allclose(r.labels[:, j], expected, atol=1e-5)


def test_recola_gold_standard_option(recola, cache):
    gold = load_corpus(STUBS / "recola", fps=25.0, gold_standard=True, cache_dir=cache, progress=False)
    mean = load_corpus(STUBS / "recola", fps=25.0, cache_dir=cache, progress=False)
    r = gold["dev_2"]
    rel, df = data.read_arff(STUBS / "recola" / "ratings_gold_standard" / "arousal" / "dev_2.arff")
    assert rel == "GOLDSTANDARD"
    np.testing.assert_allclose(r.label("activation"), df["GoldStandard"].to_numpy()[:r.n_frames], atol=1e-6)
    assert not np.allclose(r.labels, mean["dev_2"].labels)
    assert r.ratings["activation"].shape[1] == 6   # the raters are still there for plots
    with pytest.raises(ValueError, match="RECOLA"):
        load(STUBS / "creativeit", gold_standard=True)


def test_modalities_aligned_to_one_clock(creativeit):
    r = creativeit["s2_i01_A05"]
    wave, sr = sf.read(r.sources["audio"], dtype="float32")
    bvh = read_bvh(r.sources["motion"])
    assert sr == 16000 and bvh.n_frames == 1200 and abs(bvh.fps - 60) < 1e-3
    T = r.n_frames
    assert T == min(1 + (len(wave) - 1) * 60 // sr, bvh.n_frames, 200 * 6)
    # motion columns are the BVH rotations of the four joints, frame for frame, X Y Z order
    np.testing.assert_allclose(r.features["motion"][:, :12], bvh.angles(CREATIVEIT_JOINTS)[:T], atol=1e-4)
    head_x = bvh.motion[:T, bvh.column("Head", "Xrotation")]
    np.testing.assert_allclose(r.features["motion"][:, 0], head_x, atol=1e-4)
    # speech frames are the features of the wav itself at 60 fps
    np.testing.assert_allclose(r.features["speech"], speech_features(wave, sr, 60.0)[:T], atol=1e-4)


def test_other_frame_rates(cache):
    c25 = load_corpus(STUBS / "creativeit", fps=25.0, cache_dir=cache, progress=False)
    r = c25[0]
    assert r.fps == 25.0 and abs(r.n_frames - 20 * 25) <= 1
    assert r.features["motion"].shape == (r.n_frames, 24) and r.labels.shape == (r.n_frames, 3)
    # BVH at 60 fps interpolated to 25 fps: frame k at k/25 s
    bvh = read_bvh(r.sources["motion"])
    angles = bvh.angles(CREATIVEIT_JOINTS)
    expected = resample_series(np.arange(bvh.n_frames) / 60.0, angles, 25.0, r.n_frames, period=360)
    np.testing.assert_allclose(r.features["motion"][:, :12], expected, atol=1e-3)
    # 10 Hz annotations interpolated to 25 fps: every 5th frame (0.2 s) hits an annotation row
    _, table = _read_table(r.sources["activation"], ",")
    np.testing.assert_allclose(r.label("activation")[::5], table[::2, 1:].mean(axis=1)[:len(r.labels[::5])], atol=1e-5)


def test_resample_series_unwraps_angles():
    out = resample_series([0.0, 1.0], [[179.0, 0.0], [-179.0, 10.0]], fps=4, n_frames=4, period=360)
    assert out.shape == (4, 2)
    np.testing.assert_allclose(out[:, 1], [0, 2.5, 5, 7.5])
    assert resample_series([0.0, 1.0], [0.0, 1.0], fps=4).shape == (8,)   # covers 2 steps: 2 s
    assert np.all(np.abs(np.abs(out[:, 0]) - 179.5) <= 0.5 + 1e-9)   # goes through 180, not 0


# ---------------------------------------------------------------------------
# Cache: computed once, keyed by content, outside the dataset, atomic
# ---------------------------------------------------------------------------

def test_cache_second_load_is_fast_and_dataset_untouched(tiny, tmp_path):
    cache_dir = tmp_path / "mycache"
    for which in ("creativeit", "recola"):
        root = tiny / which
        before = snapshot(root)
        with no_writes_into(root):
            t0 = time.perf_counter()
            first = load_corpus(root, cache_dir=cache_dir, progress=False)
            t1 = time.perf_counter()
            second = load_corpus(root, cache_dir=cache_dir, progress=False)
            t2 = time.perf_counter()
        assert snapshot(root) == before
        assert t2 - t1 < t1 - t0, (t1 - t0, t2 - t1)
        for a, b in zip(first, second):
            assert a.name == b.name
            for m in a.features:
                assert np.array_equal(a.features[m], b.features[m])
            assert np.array_equal(a.labels, b.labels)
            assert a.raters == b.raters and a.sources == b.sources
    files = list((cache_dir / "recordings").iterdir())
    assert len(files) == 6 + 4 and all(f.suffix == ".npz" for f in files)   # no temp files left


def test_cache_default_location_and_disable(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("CERLIB_CACHE", str(tmp_path / "env-cache"))
    assert data.default_cache_dir() == tmp_path / "env-cache"
    load_corpus(tiny / "recola", progress=False)
    assert len(list((tmp_path / "env-cache" / "recordings").glob("*.npz"))) == 4
    monkeypatch.delenv("CERLIB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.default_cache_dir() == tmp_path / "xdg" / "cerlib"
    load_corpus(tiny / "recola", cache_dir=False, progress=False)
    assert not (tmp_path / "xdg").exists()
    with pytest.raises(ValueError, match="inside the dataset"):
        load_corpus(tiny / "recola", cache_dir=tiny / "recola" / "cache", progress=False)


def test_cache_is_keyed_by_content(tiny, tmp_path):
    cache_dir = tmp_path / "c"
    root = tiny / "recola"
    first = load_corpus(root, cache_dir=cache_dir, progress=False)
    csv_path = root / "ratings_individual" / "arousal" / "train_2.csv"
    lines = csv_path.read_text().splitlines()
    lines[1:] = [";".join([l.split(";")[0]] + ["0.5000"] * 6) for l in lines[1:]]
    csv_path.write_text("\n".join(lines) + "\n")
    second = load_corpus(root, cache_dir=cache_dir, progress=False)
    assert len(list((cache_dir / "recordings").glob("*.npz"))) == 5   # one new entry
    assert np.allclose(second["train_2"].label("activation"), 0.5)
    assert np.array_equal(first["train_1"].labels, second["train_1"].labels)
    # other parameters are other keys
    load_corpus(root, fps=25.0, cache_dir=cache_dir, progress=False)
    assert len(list((cache_dir / "recordings").glob("*.npz"))) == 9


def test_damaged_cache_file_is_recomputed(tiny, tmp_path):
    cache_dir = tmp_path / "c"
    first = load_corpus(tiny / "recola", cache_dir=cache_dir, progress=False)
    for f in (cache_dir / "recordings").glob("*.npz"):
        f.write_bytes(b"garbage")
    again = load_corpus(tiny / "recola", cache_dir=cache_dir, progress=False)
    assert np.array_equal(first[0].features["speech"], again[0].features["speech"])


def test_read_only_dataset_loads(tiny, tmp_path):
    root = tiny / "creativeit"
    paths = [root, *root.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(stat.S_IMODE(modes[p]) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        before = snapshot(root)
        with no_writes_into(root):
            corpus = load_corpus(root, cache_dir=tmp_path / "c", progress=False)
        assert len(corpus) == 6 and snapshot(root) == before
    finally:
        for p in reversed(paths):
            p.chmod(stat.S_IMODE(modes[p]))


def test_progress_helper_respects_quiet(monkeypatch):
    items = [1, 2, 3]
    monkeypatch.setenv("CERLIB_QUIET", "1")
    assert _util.progress(items) is items
    monkeypatch.setenv("CERLIB_QUIET", "0")
    bar = _util.progress(items, disable=True)
    assert list(bar) == items and bar is not items
    assert _util.progress(items, enabled=False) is items


# ---------------------------------------------------------------------------
# Bad input, one test each
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("which, rel, what", [
    ("creativeit", "audio/s2_i01_A04.wav", "audio"),
    ("creativeit", "mocap/s2_i01_A04.bvh", "motion capture"),
    ("creativeit", "recordings.csv", "index"),
    ("recola", "features_video_geometric/train_2.arff", "face"),
])
def test_missing_file_names_file_and_layout(tiny, which, rel, what):
    (tiny / which / rel).unlink()
    with pytest.raises(DatasetError) as err:
        load(tiny / which)
    msg = str(err.value)
    assert str(tiny / which / rel) in msg and what in msg
    assert ("CreativeIT layout" if which == "creativeit" else "RECOLA layout") in msg
    if "recordings.csv" not in rel:
        assert Path(rel).stem in msg   # the recording


@pytest.mark.parametrize("which, rel", [
    ("creativeit", "audio/s3_i01_A05.wav"),
    ("creativeit", "mocap/s3_i01_A05.bvh"),
    ("creativeit", "annotations/valence/s3_i01_A05.csv"),
    ("recola", "recordings_audio/dev_1.wav"),
    ("recola", "features_video_geometric/dev_1.arff"),
])
def test_unreadable_file_names_file(tiny, which, rel):
    path = tiny / which / rel
    if path.suffix == ".bvh":
        text = path.read_text()
        path.write_text(text[: len(text) // 2])   # truncated: fewer values than Frames x channels
    elif path.suffix == ".csv":
        path.write_text("time,E01\n0.0,abc\n0.1,def\n")
    elif path.suffix == ".arff":
        path.write_text("this is not an arff file\n")
    else:
        path.write_bytes(b"RIFF\x00\x00garbage" * 10)
    with pytest.raises(DatasetError) as err:
        load(tiny / which)
    assert str(path) in str(err.value) and path.stem in str(err.value).split(str(path))[0]


def test_missing_labels_drop_the_recording(tiny):
    (tiny / "creativeit" / "annotations" / "dominance" / "s2_i01_A03.csv").unlink()
    with pytest.warns(DatasetWarning, match=r"s2_i01_A03.*dominance"):
        corpus = load(tiny / "creativeit")
    assert len(corpus) == 5 and "s2_i01_A03" not in [r.name for r in corpus]


def test_nan_labels_drop_the_recording(tiny):
    path = tiny / "recola" / "ratings_individual" / "valence" / "train_3.csv"
    lines = path.read_text().splitlines()
    fields = lines[20].split(";")
    fields[2] = ""                                  # an empty cell
    lines[20] = ";".join(fields)
    lines[30] = lines[30].rsplit(";", 1)[0] + ";NaN"
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(DatasetWarning, match=r"train_3.*NaN"):
        corpus = load(tiny / "recola")
    assert [r.name for r in corpus] == ["train_1", "train_2", "dev_1"]


def test_empty_label_file_drops_the_recording(tiny):
    (tiny / "recola" / "ratings_individual" / "arousal" / "dev_1.csv").write_text("time;FM1;FM2\n")
    with pytest.warns(DatasetWarning, match="dev_1"):
        corpus = load(tiny / "recola")
    assert len(corpus) == 3


def test_missing_labels_knob_of_the_generator(tmp_path, tiny_knobs):
    make_stubs(tmp_path, which="creativeit", seed=7, missing_labels=1, **tiny_knobs)
    with pytest.warns(DatasetWarning, match="dropping recording"):
        corpus = load(tmp_path / "creativeit")
    assert len(corpus) == 5


def _cut_bvh(path: Path, keep: int) -> None:
    head, body = path.read_text().split("MOTION\n")
    lines = body.splitlines()
    n = int(lines[0].split()[1])
    frames = lines[2:2 + n][:keep]
    path.write_text(head + "MOTION\n" + f"Frames: {keep}\n" + lines[1] + "\n" + "\n".join(frames) + "\n")


def test_length_mismatch_over_a_second_is_an_error(tiny):
    _cut_bvh(tiny / "creativeit" / "mocap" / "s1_i01_A02.bvh", keep=6 * 60 - 90)   # 1.5 s short
    with pytest.raises(DatasetError, match=r"s1_i01_A02.*1\.50 s"):
        load(tiny / "creativeit")


def test_small_length_mismatch_is_trimmed_with_warning(tiny):
    _cut_bvh(tiny / "creativeit" / "mocap" / "s1_i01_A02.bvh", keep=6 * 60 - 30)   # 0.5 s short
    with pytest.warns(DatasetWarning, match=r"s1_i01_A02.*trimmed"):
        corpus = load(tiny / "creativeit")
    r = corpus["s1_i01_A02"]
    assert r.n_frames == 330 and r.features["speech"].shape == (330, 39) and r.labels.shape == (330, 3)
    assert corpus["s1_i01_A01"].n_frames == 360
    # the warning comes back on a cached load too
    with warnings.catch_warnings(record=True):
        load_corpus(tiny / "creativeit", progress=False)
    with pytest.warns(DatasetWarning, match="trimmed"):
        load_corpus(tiny / "creativeit", progress=False)


def test_sampling_granularity_is_not_a_mismatch(tiny):
    # one more 40 ms row of RECOLA ratings than audio: sampling, not an error or a warning
    path = tiny / "recola" / "ratings_individual" / "arousal" / "train_1.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + ["6.00" + lines[-1][4:]]) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corpus = load(tiny / "recola")
    assert corpus["train_1"].n_frames == 360


@pytest.mark.parametrize("new_sr", [8000, 44100])
def test_wrong_sample_rate_is_resampled(tiny, new_sr):
    import librosa
    path = tiny / "recola" / "recordings_audio" / "train_1.wav"
    ref = load(tiny / "recola")["train_1"]
    wave, sr = sf.read(path, dtype="float32")
    sf.write(path, librosa.resample(wave, orig_sr=sr, target_sr=new_sr), new_sr, subtype="PCM_16")
    r = load(tiny / "recola")["train_1"]
    assert r.n_frames == ref.n_frames
    energy_corr = np.corrcoef(r.features["speech"][:, 0], ref.features["speech"][:, 0])[0, 1]
    assert energy_corr > 0.97
    if new_sr > sr:   # nothing lost: the cepstra agree too
        assert np.corrcoef(r.features["speech"][:, 1], ref.features["speech"][:, 1])[0, 1] > 0.95


def test_stereo_is_mixed_down(tiny):
    path = tiny / "creativeit" / "audio" / "s1_i01_A01.wav"
    ref = load(tiny / "creativeit")["s1_i01_A01"]
    wave, sr = sf.read(path, dtype="float32")
    sf.write(path, np.stack([wave, wave], axis=1), sr, subtype="FLOAT")
    r = load(tiny / "creativeit")["s1_i01_A01"]
    np.testing.assert_allclose(r.features["speech"], ref.features["speech"], atol=1e-4)


def test_bvh_without_a_joint_lists_the_joints(tiny):
    path = tiny / "creativeit" / "mocap" / "s1_i01_A01.bvh"
    path.write_text(path.read_text().replace("JOINT LeftForeArm", "JOINT LeftElbow"))
    with pytest.raises(DatasetError) as err:
        load(tiny / "creativeit")
    msg = str(err.value)
    assert str(path) in msg and "LeftForeArm" in msg and "LeftElbow" in msg and "joints=" in msg
    # choosing joints the file has works (here for every recording, a different four)
    corpus = load(tiny / "creativeit", joints=["Hips", "Spine", "Head"])
    assert corpus[1].features["motion"].shape[1] == 18


def test_bvh_reader_on_a_full_skeleton(tmp_path):
    """A hand-written BVH with namespaced joints, other channel orders and extra joints."""
    joints = ["Hips", "Spine", "Spine1", "Neck", "Head", "LeftShoulder", "LeftArm", "LeftForeArm",
              "LeftHand", "RightShoulder", "RightArm", "RightForeArm", "RightHand"]
    lines = ["HIERARCHY", "ROOT Actor1:Hips", "{", "\tOFFSET 0 0 0",
             "\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    for j in joints[1:]:
        order = "Xrotation Yrotation Zrotation" if j.startswith("Right") else "Yrotation Xrotation Zrotation"
        lines += [f"JOINT Actor1:{j}", "{", "OFFSET 1 2 3", f"CHANNELS 3 {order}",
                  "End Site", "{", "OFFSET 0 1 0", "}", "}"]
    lines += ["}", "MOTION", "Frames: 4", "Frame Time: 0.008333"]
    n_ch = 6 + 3 * (len(joints) - 1)
    values = np.arange(4 * n_ch, dtype=float).reshape(4, n_ch) / 10
    lines += [" ".join(f"{v:.1f}" for v in row) for row in values]
    path = tmp_path / "full.bvh"
    path.write_text("\n".join(lines) + "\n")
    bvh = read_bvh(path)
    assert len(bvh.joints) == len(joints) and abs(bvh.fps - 120) < 0.1
    ang = bvh.angles(CREATIVEIT_JOINTS)
    assert ang.shape == (4, 12)
    head = 6 + 3 * (joints.index("Head") - 1)           # Y X Z in the file
    np.testing.assert_allclose(ang[:, 0:3], values[:, [head + 1, head, head + 2]])
    right = 6 + 3 * (joints.index("RightForeArm") - 1)  # X Y Z in the file
    np.testing.assert_allclose(ang[:, 9:12], values[:, right:right + 3])


def test_bvh_at_another_frame_rate_is_interpolated(tiny):
    """A 120 fps BVH (every frame doubled by interpolation) gives the same 60 fps angles."""
    path = tiny / "creativeit" / "mocap" / "s1_i01_A01.bvh"
    ref = load(tiny / "creativeit")["s1_i01_A01"]
    bvh = read_bvh(path)
    m = bvh.motion
    fine = np.empty((2 * m.shape[0], m.shape[1]))
    fine[0::2] = m
    fine[1:-1:2] = (m[:-1] + m[1:]) / 2
    fine[-1] = m[-1]
    head, _ = path.read_text().split("MOTION\n")
    body = "\n".join(" ".join(f"{v:.3f}" for v in row) for row in fine)
    path.write_text(head + f"MOTION\nFrames: {fine.shape[0]}\nFrame Time: {1 / 120:.7f}\n" + body + "\n")
    r = load(tiny / "creativeit")["s1_i01_A01"]
    np.testing.assert_allclose(r.features["motion"][:, :12], ref.features["motion"][:, :12], atol=2e-3)


def test_face_frames_with_question_marks_are_interpolated(tiny):
    path = tiny / "recola" / "features_video_geometric" / "train_2.arff"
    lines = path.read_text().splitlines()
    i = lines.index("@data") + 2
    for k in range(i + 10, i + 20):
        name, t, *vals = lines[k].split(",")
        lines[k] = ",".join([name, t] + ["?"] * len(vals))
    path.write_text("\n".join(lines) + "\n")
    r = load(tiny / "recola", fps=25.0)["train_2"]
    assert np.isfinite(r.features["face"]).all()


def test_all_recordings_dropped_is_an_error(tiny):
    shutil.rmtree(tiny / "recola" / "ratings_individual" / "arousal")
    with pytest.warns(DatasetWarning):
        with pytest.raises(DatasetError, match="no recording could be loaded"):
            load(tiny / "recola")


# ---------------------------------------------------------------------------
# A RECOLA-layout corpus written without cerlib loads correctly
# ---------------------------------------------------------------------------

def test_independently_written_recola_corpus(tmp_path):
    """Files written here with soundfile and hand-formatted strings, as a student's script would."""
    root = tmp_path / "RECOLA-AVEC2016"
    for d in ("recordings_audio", "ratings_individual/arousal", "ratings_individual/valence",
              "ratings_gold_standard/arousal", "ratings_gold_standard/valence", "features_video_geometric"):
        (root / d).mkdir(parents=True)
    raters = ["FM1", "FM2", "FM3", "FF1", "FF2", "FF3"]
    duration, sr = 4.0, 44100                      # a rate the loader must resample
    n_rows = int(duration * 25)
    names = ["train_1", "train_2", "train_3", "train_10", "dev_1", "dev_2", "test_1"]
    for n_rec, name in enumerate(names):
        t = np.arange(int(duration * sr)) / sr
        tone = 0.2 * np.sin(2 * np.pi * (150 + 20 * n_rec) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
        pcm = np.round(tone * 32767).astype(np.int16)
        sf.write(root / "recordings_audio" / f"{name}.wav", np.stack([pcm, pcm], axis=1), sr, subtype="PCM_16")
        if name.startswith("test"):
            continue   # the test partition has no labels in AVEC 2016
        for folder, slope in (("arousal", 0.1), ("valence", -0.05)):
            rows = ["time;" + ";".join(raters)]
            for i in range(n_rows):
                time_s = i * 0.04
                rows.append(f"{time_s:.2f};" + ";".join(f"{slope * time_s + 0.01 * r:.6f}" for r in range(6)))
            (root / "ratings_individual" / folder / f"{name}.csv").write_text("\n".join(rows) + "\n")
            gold = ["@relation GOLDSTANDARD", "", "@attribute Instance_name string",
                    "@attribute frameTime numeric", "@attribute GoldStandard numeric", "", "@data"]
            gold += [f"'{name}',{i * 0.04:.6f},{0.5:.6f}" for i in range(n_rows)]
            (root / "ratings_gold_standard" / folder / f"{name}.arff").write_text("\n".join(gold) + "\n")
        face = ["@relation features_video_geometric", "% written by hand", "@attribute Instance_name string",
                "@attribute frameTime numeric", "@attribute geo_1 numeric", "@attribute geo_2 numeric",
                "@attribute 'geo 3' numeric", "@data"]
        for i in range(n_rows):
            a = "?" if i == 7 else f"{i * 0.04:.4f}"
            face.append(f"'{name}',{i * 0.04:.2f},{a},{n_rec},{-1.5:.1f}")
        (root / "features_video_geometric" / f"{name}.arff").write_text("\n".join(face) + "\n")

    before = snapshot(root)
    with no_writes_into(root):
        corpus = load_corpus(root, fps=25.0, cache_dir=tmp_path / "cache", progress=False)
    assert snapshot(root) == before
    assert [r.name for r in corpus] == ["train_1", "train_2", "train_3", "train_10", "dev_1", "dev_2"]
    assert [r.partition for r in corpus] == ["train"] * 4 + ["dev"] * 2
    for n_rec, r in enumerate(corpus.recordings):
        assert r.n_frames == 100 and r.features["speech"].shape == (100, 39)
        t = np.arange(100) * 0.04
        np.testing.assert_allclose(r.label("activation"), 0.1 * t + 0.025, atol=1e-5)   # mean of the 6
        np.testing.assert_allclose(r.label("valence"), -0.05 * t + 0.025, atol=1e-5)
        np.testing.assert_allclose(r.ratings["activation"][:, 5], 0.1 * t + 0.05, atol=1e-5)
        face = r.features["face"]
        assert face.shape == (100, 3)
        np.testing.assert_allclose(face[:, 0], t, atol=1e-4)    # including the interpolated '?' at row 7
        np.testing.assert_allclose(face[:, 1], n_rec, atol=1e-6)
        np.testing.assert_allclose(face[:, 2], -1.5)
    # the amplitude modulation of the tone shows in the log energy, on time
    e = corpus["train_1"].features["speech"][:, 0]
    assert np.argmax(e[:60]) in range(10, 16)           # peak of 0.5 + 0.5 sin(pi t) at t = 0.5 s
    at60 = load_corpus(root, cache_dir=tmp_path / "cache", progress=False)
    assert at60["dev_2"].n_frames == 240
    np.testing.assert_allclose(at60["dev_2"].label("activation"), 0.1 * np.minimum(np.arange(240) / 60, 3.96) + 0.025,
                               atol=1e-5)
    gold = load_corpus(root, gold_standard=True, cache_dir=tmp_path / "cache", progress=False)
    assert np.allclose(gold["train_2"].labels, 0.5)
    (fold,) = corpus.folds()
    assert [r.name for r in fold.test] == ["dev_1", "dev_2"] and len(fold.valid) == 2


# ---------------------------------------------------------------------------
# Bad input refused by name, or warned about with a documented handling
# ---------------------------------------------------------------------------

def _arff_rows(path: Path):
    lines = path.read_text().splitlines()
    i = lines.index("@data")
    return lines, i


def test_recola_missing_wav_names_recording_and_file(tiny):
    wav = tiny / "recola" / "recordings_audio" / "train_2.wav"
    wav.unlink()
    with pytest.raises(DatasetError, match=r"recording 'train_2'.*train_2\.wav"):
        load(tiny / "recola")


def _permute_face_columns(path: Path, order) -> None:
    """Rewrite an ARFF with its attributes (all of them, frameTime too) in another order."""
    lines, i = _arff_rows(path)
    attrs = [l for l in lines[:i] if l.lower().startswith("@attribute")]
    head = [l for l in lines[:i] if not l.lower().startswith("@attribute")]
    rows = [l.split(",") for l in lines[i + 1:] if l.strip()]
    new_attrs = [attrs[k] for k in order]
    new_rows = [",".join(r[k] for k in order) for r in rows]
    path.write_text("\n".join(head[:1] + [""] + new_attrs + ["", "@data", ""] + new_rows) + "\n")


def test_face_columns_are_matched_by_name(tiny):
    path = tiny / "recola" / "features_video_geometric" / "train_2.arff"
    ref = load(tiny / "recola")
    n = 2 + ref[0].features["face"].shape[1]
    order = [0, 1] + list(range(n - 1, 1, -1))          # features reversed
    _permute_face_columns(path, order)
    got = load(tiny / "recola")
    assert got["train_2"].feature_names["face"] == ref["train_2"].feature_names["face"]
    np.testing.assert_array_equal(got["train_2"].features["face"], ref["train_2"].features["face"])
    order = [1, 0] + list(range(2, n))                  # frameTime first
    _permute_face_columns(path, order)
    np.testing.assert_array_equal(load(tiny / "recola")["train_2"].features["face"],
                                  ref["train_2"].features["face"])


def test_face_file_lacking_a_column_names_file_and_column(tiny):
    path = tiny / "recola" / "features_video_geometric" / "dev_1.arff"
    n = 2 + load(tiny / "recola")[0].features["face"].shape[1]
    _permute_face_columns(path, list(range(n - 1)))      # drops the last attribute
    last = read_arff(tiny / "recola" / "features_video_geometric" / "train_1.arff")[1].columns[-1]
    with pytest.raises(DatasetError, match=rf"dev_1\.arff lacks column\(s\) \['{last}'\]"):
        load(tiny / "recola")


@pytest.mark.parametrize("how", ["name", "audio"])
def test_recording_listed_twice_is_refused(tiny, how):
    index = tiny / "creativeit" / "recordings.csv"
    lines = index.read_text().splitlines()
    if how == "name":
        lines.append(lines[1])
        match = r"'s1_i01_A01' is listed twice"
    else:
        row = lines[1].split(",")
        row[0] = "copy_of_A01"
        lines.append(",".join(row))
        os.link(tiny / "creativeit" / "audio" / "s1_i01_A01.wav", tiny / "creativeit" / "audio" / "copy_of_A01.wav")
        match = r"'s1_i01_A01' and 'copy_of_A01'.*share one audio file"
    index.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=match):
        load(tiny / "creativeit")


def _edit_ratings(path: Path, fn) -> None:
    lines = path.read_text().splitlines()
    rows = [[float(v) for v in l.split(";")] for l in lines[1:]]
    rows = fn(rows)
    path.write_text("\n".join([lines[0]] + [";".join(f"{v:.4f}" for v in r) for r in rows]) + "\n")


@pytest.mark.parametrize("problem, edit, match", [
    ("scale", lambda rows: [[r[0]] + [v * 50 for v in r[1:]] for r in rows], r"outside the documented scale -1\.\.1"),
    ("gap", lambda rows: rows[:40] + rows[140:], r"label time jumps 4\.04 s"),
    # shifted and cut, so that the lengths still agree within a second
    ("late", lambda rows: [[r[0] + 1.5] + r[1:] for r in rows][:-38], r"labels start at 1\.50 s"),
])
def test_suspicious_labels_warn_naming_the_file(tiny, problem, edit, match):
    path = tiny / "recola" / "ratings_individual" / "arousal" / "train_3.csv"
    _edit_ratings(path, edit)
    with pytest.warns(DatasetWarning, match=rf"train_3\.csv: .*{match}"):
        corpus = load(tiny / "recola")
    assert corpus["train_3"].labels.shape[0] > 0     # the documented handling: it still loads


def test_clean_stub_gives_no_label_warning(tiny):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatasetWarning)
        load(tiny / "recola")
        load(tiny / "creativeit")


def test_nan_in_float_wav_names_the_file(tiny):
    path = tiny / "recola" / "recordings_audio" / "train_1.wav"
    wave, sr = sf.read(path, dtype="float32")
    wave[1000] = np.nan
    sf.write(path, wave, sr, subtype="FLOAT")
    with pytest.raises(DatasetError, match=r"train_1\.wav: 1 NaN or infinite sample"):
        load(tiny / "recola")


def test_nan_in_bvh_rotation_names_the_file(tiny):
    path = tiny / "creativeit" / "mocap" / "s1_i01_A02.bvh"
    text = path.read_text()
    head, body = text.split("Frame Time:", 1)
    time_line, *rows = body.split("\n")
    vals = rows[5].split()
    vals[4] = "nan"
    rows[5] = " ".join(vals)
    path.write_text(head + "Frame Time:" + "\n".join([time_line] + rows))
    with pytest.raises(DatasetError, match=r"s1_i01_A02\.bvh: 1 NaN or infinite value.*frame 5"):
        load(tiny / "creativeit")


def test_question_mark_in_arff_time_column_names_the_file(tiny):
    path = tiny / "recola" / "features_video_geometric" / "train_1.arff"
    lines, i = _arff_rows(path)
    parts = lines[i + 10].split(",")
    parts[1] = "?"
    lines[i + 10] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"train_1\.arff has a missing \('\?'\) or non-finite frameTime"):
        load(tiny / "recola")


# ---------------------------------------------------------------------------
# Reader bugs
# ---------------------------------------------------------------------------

def test_resample_series_wraps_into_half_open_range():
    out = resample_series([0.0, 1.0], [170.0, -170.0], fps=2, period=360)
    assert out[1] == -180.0
    rng = np.random.default_rng(0)
    out = resample_series(np.arange(50) / 10, rng.uniform(-720, 720, (50, 3)), fps=37, period=360)
    assert out.min() >= -180.0 and out.max() < 180.0


def test_bvh_joint_names_with_spaces(tmp_path):
    path = tmp_path / "biped.bvh"
    path.write_text("HIERARCHY\nROOT Bip01\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition Yposition Zposition "
                    "Zrotation Xrotation Yrotation\n  JOINT Bip01 L Forearm\n  {\n    OFFSET 0 1 0\n"
                    "    CHANNELS 3 Zrotation Xrotation Yrotation\n    End Site\n    {\n      OFFSET 0 1 0\n"
                    "    }\n  }\n  JOINT Bip01 R Forearm {\n    OFFSET 0 -1 0\n    CHANNELS 3 Zrotation Xrotation "
                    "Yrotation\n    End Site\n    {\n      OFFSET 0 1 0\n    }\n  }\n}\n"
                    "MOTION\nFrames: 2\nFrame Time: 0.0166667\n"
                    + "0 0 0 1 2 3 4 5 6 7 8 9\n" * 2)
    bvh = read_bvh(path)
    assert bvh.joints == ["Bip01", "Bip01 L Forearm", "Bip01 R Forearm"]
    assert bvh.parents["Bip01 R Forearm"] == "Bip01"
    np.testing.assert_array_equal(bvh.angles(["Bip01 L Forearm"])[0], [5, 6, 4])   # X, Y, Z
