"""cerlib.stubs: the synthetic corpora, their determinism, sizes, layouts and causal arrows."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.ndimage import uniform_filter1d

from cerlib.data import CREATIVEIT_JOINTS, load_corpus, read_arff, read_bvh, read_ratings
from cerlib.stubs import SCALES, Knobs, main_make_stubs, make_stubs

REPO = Path(__file__).resolve().parents[1]
STUBS = REPO / "data_stubs"
TINY = dict(creativeit_pairs=(1, 1, 1), creativeit_improvisations=(1, 1, 1), creativeit_duration_s=5.0,
            recola_train=3, recola_dev=1, recola_duration_s=5.0)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path):
    monkeypatch.setenv("CERLIB_QUIET", "1")
    monkeypatch.setenv("CERLIB_CACHE", str(tmp_path / "cache"))


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every generated file under ``root`` (hand-written READMEs excluded)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "README.md"}


_NUMBER = re.compile(rb"-?\d+\.\d+|\?")


def _numbers(path: Path) -> np.ndarray:
    return np.array([np.nan if t == b"?" else float(t) for t in _NUMBER.findall(path.read_bytes())])


def same_content(a: Path, b: Path) -> bool:
    """Byte-identical, or equal to the last printed digit (another CPU's libm may differ by an ulp)."""
    if a.read_bytes() == b.read_bytes():
        return True
    if a.suffix == ".wav":
        x, sx = sf.read(a, dtype="float32")
        y, sy = sf.read(b, dtype="float32")
        return sx == sy and x.shape == y.shape and float(np.max(np.abs(x - y))) <= 2e-3
    if a.suffix in (".csv", ".arff", ".bvh"):
        x, y = _numbers(a), _numbers(b)
        return x.shape == y.shape and bool(np.allclose(x, y, atol=0.011, equal_nan=True))
    return False


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------

def test_same_seed_same_bytes(tmp_path):
    make_stubs(tmp_path / "a", seed=5, **TINY)
    make_stubs(tmp_path / "b", seed=5, **TINY)
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert a == b and len(a) > 30
    make_stubs(tmp_path / "c", seed=6, **TINY)
    c = tree_hashes(tmp_path / "c")
    assert set(c) == set(a)
    changed = [k for k in a if a[k] != c[k] and not k.endswith((".json", "recordings.csv"))]
    assert len(changed) == len([k for k in a if not k.endswith((".json", "recordings.csv"))])


def test_corpora_draw_from_their_own_streams(tmp_path):
    make_stubs(tmp_path / "both", seed=5, **TINY)
    make_stubs(tmp_path / "alone", which="recola", seed=5,
               **{**TINY, "creativeit_duration_s": 9.0})   # a CreativeIT knob does not touch RECOLA
    both, alone = tree_hashes(tmp_path / "both" / "recola"), tree_hashes(tmp_path / "alone" / "recola")
    assert {k: v for k, v in both.items() if k != "stub_manifest.json"} == \
           {k: v for k, v in alone.items() if k != "stub_manifest.json"}
    # one more RECOLA subject leaves the others unchanged
    make_stubs(tmp_path / "more", which="recola", seed=5, **{**TINY, "recola_train": 4})
    more = tree_hashes(tmp_path / "more" / "recola")
    assert all(more[k] == v for k, v in both.items() if "train_1" in k or "dev_1" in k)


def test_committed_stubs_are_what_the_generator_writes(tmp_path):
    """data_stubs/ is make_stubs(seed=0) at the "small" scale, file for file."""
    make_stubs(tmp_path, seed=0)
    for corpus in ("creativeit", "recola"):
        committed, fresh = tree_hashes(STUBS / corpus), tree_hashes(tmp_path / corpus)
        assert set(committed) == set(fresh), f"{corpus}: file lists differ"
        differing = [k for k in committed if committed[k] != fresh[k]]
        bad = [k for k in differing if not same_content(STUBS / corpus / k, tmp_path / corpus / k)]
        assert not bad, f"{corpus}: regenerated files differ: {bad[:5]}"
        manifest = json.loads((STUBS / corpus / "stub_manifest.json").read_text())
        assert manifest["seed"] == 0 and manifest["scale"] == "small"
        assert manifest["knobs"] == json.loads(json.dumps(dataclasses.asdict(Knobs(**SCALES["small"]))))


# ---------------------------------------------------------------------------
# Sizes and layouts of the committed instance
# ---------------------------------------------------------------------------

def test_committed_size():
    total = sum(p.stat().st_size for p in STUBS.rglob("*") if p.is_file())
    assert total <= 20e6, f"data_stubs is {total / 1e6:.1f} MB"


def test_creativeit_stub_layout():
    root = STUBS / "creativeit"
    for name in ("README.md", "recordings.csv", "stub_manifest.json"):
        assert (root / name).is_file()
    rows = [line.split(",") for line in (root / "recordings.csv").read_text().splitlines()]
    assert rows[0] == ["recording", "session", "improvisation", "actor", "partner", "gender"]
    rows = rows[1:]
    assert len(rows) == 20
    sessions_of = {}
    for rec, session, improv, actor, partner, gender in rows:
        sessions_of.setdefault(actor, set()).add(int(session))
        assert rec == f"{improv}_{actor}" and partner != actor and gender in "FM"
        wave, sr = sf.read(root / "audio" / f"{rec}.wav")
        assert sr == 16000 and wave.ndim == 1 and len(wave) == 20 * 16000
        assert 0.005 < np.sqrt(np.mean(wave ** 2)) < 0.3 and np.max(np.abs(wave)) < 1.0
        assert sf.info(root / "audio" / f"{rec}.wav").subtype == "ULAW"
        bvh = read_bvh(root / "mocap" / f"{rec}.bvh")
        assert bvh.n_frames == 1200 and round(bvh.fps) == 60
        assert bvh.joints == ["Hips", "Spine", "Head", "LeftForeArm", "RightForeArm"]
        for task in ("activation", "valence", "dominance"):
            times, values, raters = read_ratings(root / "annotations" / task / f"{rec}.csv")
            assert values.shape == (200, 3) and np.allclose(np.diff(times), 0.1)
            assert np.all(np.abs(values) <= 1.0) and all(re.fullmatch(r"E0\d", r) for r in raters)
    # CreativeIT's 16 actors, each in one session: two pairs in sessions 1-3, one in 4-5
    assert len(sessions_of) == 16 and all(len(s) == 1 for s in sessions_of.values())
    assert sorted(s for v in sessions_of.values() for s in v) == [1] * 4 + [2] * 4 + [3] * 4 + [4, 4, 5, 5]


def test_recola_stub_layout():
    root = STUBS / "recola"
    names = [f"train_{i}" for i in range(1, 7)] + [f"dev_{i}" for i in range(1, 4)]
    assert sorted(p.stem for p in (root / "recordings_audio").glob("*.wav")) == sorted(names)
    for name in names:
        wave, sr = sf.read(root / "recordings_audio" / f"{name}.wav")
        assert sr == 16000 and len(wave) == 25 * 16000
        for folder in ("arousal", "valence"):
            header = (root / "ratings_individual" / folder / f"{name}.csv").read_text().splitlines()[0]
            assert header == "time;FM1;FM2;FM3;FF1;FF2;FF3"
            times, values, _ = read_ratings(root / "ratings_individual" / folder / f"{name}.csv")
            assert values.shape == (625, 6) and np.allclose(np.diff(times), 0.04)
            rel, gold = read_arff(root / "ratings_gold_standard" / folder / f"{name}.arff")
            assert rel == "GOLDSTANDARD" and list(gold.columns) == ["Instance_name", "frameTime", "GoldStandard"]
            assert (gold["Instance_name"] == name).all() and len(gold) == 625
        rel, face = read_arff(root / "features_video_geometric" / f"{name}.arff")
        assert list(face.columns[:2]) == ["Instance_name", "frameTime"] and face.shape == (625, 13)
        missing = face.iloc[:, 2:].isna().all(axis=1).mean()
        assert missing < 0.05   # a few frames where the face was not found


def test_scales():
    k = Knobs(**SCALES["creativeit"])
    pairs, improvs = np.array(k.creativeit_pairs), np.array(k.creativeit_improvisations)
    assert len(pairs) == 5                                  # sessions
    assert 2 * pairs.sum() == 16                            # actors
    assert 2 * (pairs * improvs).sum() == 40                # actor-recordings
    assert k.creativeit_duration_s == 210.0 and k.audio_subtype == "PCM_16"
    assert (k.recola_train, k.recola_dev, k.recola_duration_s) == (9, 9, 300.0)
    small = Knobs(**SCALES["small"])
    assert 2 * (np.array(small.creativeit_pairs) * np.array(small.creativeit_improvisations)).sum() == 20
    assert 2 * np.sum(small.creativeit_pairs) == 16
    course = Knobs(**SCALES["course"])                      # the real corpora's counts, 60-s recordings
    assert course.creativeit_pairs == k.creativeit_pairs and course.creativeit_improvisations == k.creativeit_improvisations
    assert course.creativeit_duration_s == course.recola_duration_s == 60.0
    assert (course.recola_train, course.recola_dev) == (9, 9)


# ---------------------------------------------------------------------------
# Interface
# ---------------------------------------------------------------------------

def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="no_such_knob"):
        make_stubs(tmp_path, no_such_knob=1)
    with pytest.raises(ValueError, match="scale"):
        make_stubs(tmp_path, scale="huge")
    with pytest.raises(ValueError, match="which"):
        make_stubs(tmp_path, which="iemocap")
    with pytest.raises(ValueError, match="correlation"):
        Knobs(affect_corr=(0.99, 0.99, -0.99))
    assert not any(tmp_path.iterdir())


def test_regenerates_in_place_but_never_over_other_data(tmp_path):
    make_stubs(tmp_path, which="recola", seed=1, **TINY)
    (tmp_path / "recola" / "README.md").write_text("notes")
    (tmp_path / "recola" / "recordings_audio" / "train_99.wav").write_bytes(b"stale")
    make_stubs(tmp_path, which="recola", seed=1, **TINY)
    assert (tmp_path / "recola" / "README.md").read_text() == "notes"
    assert not (tmp_path / "recola" / "recordings_audio" / "train_99.wav").exists()
    real = tmp_path / "real" / "creativeit"
    real.mkdir(parents=True)
    (real / "precious.wav").write_bytes(b"data")
    with pytest.raises(FileExistsError, match="refusing"):
        make_stubs(tmp_path / "real", which="creativeit", **TINY)
    assert (real / "precious.wav").read_bytes() == b"data"


def test_command_line(tmp_path, capsys):
    assert main_make_stubs([str(tmp_path), "--which", "recola", "--seed", "2", "--quiet",
                            "--set", "recola_train=3", "--set", "recola_dev=1",
                            "--set", "recola_duration_s=4", "--set", "annotator_lag_s=[0.5, 1.0]"]) == 0
    assert "recola" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "recola" / "stub_manifest.json").read_text())
    assert manifest["seed"] == 2 and manifest["knobs"]["recola_train"] == 3
    assert manifest["knobs"]["annotator_lag_s"] == [0.5, 1.0]
    corpus = load_corpus(tmp_path / "recola", progress=False)
    assert len(corpus) == 4 and corpus[0].n_frames == 240


# ---------------------------------------------------------------------------
# The simulation's causal arrows exist, and the knobs turn them
# ---------------------------------------------------------------------------

def _speech_activation(corpus) -> float:
    """Mean over recordings of corr(3 s mean log energy, activation label)."""
    return float(np.mean([np.corrcoef(uniform_filter1d(r.features["speech"][:, 0], 180),
                                      r.label("activation"))[0, 1] for r in corpus]))


def _motion_activation(corpus, task="activation") -> float:
    """Mean over recordings of corr(3 s movement energy, label)."""
    return float(np.mean([np.corrcoef(uniform_filter1d(np.abs(r.features["motion"][:, 12:]).sum(1), 180),
                                      r.label(task))[0, 1] for r in corpus]))


#: Raters who report the latent affect exactly: the arrows from affect to the signals, without the
#: raters' noise, offsets and unseen share (tested on their own below) in the way.
EXACT_RATERS = dict(unseen_affect_share=0.0, annotator_noise_sd=(0.0, 0.0, 0.0), rater_actor_bias_sd=0.0,
                    annotator_bias_sd=0.0)


def test_affect_drives_speech_and_body(tmp_path):
    small = dict(creativeit_pairs=(1, 1, 1), creativeit_improvisations=(2, 2, 2), creativeit_duration_s=30.0,
                 **EXACT_RATERS)
    runs = {}
    for label, knobs in (("default", {}), ("mute", {"speech_strength": 0.0}), ("still", {"motion_strength": 0.0})):
        make_stubs(tmp_path / label, which="creativeit", seed=11, **small, **knobs)
        runs[label] = load_corpus(tmp_path / label / "creativeit", cache_dir=False, progress=False)
    assert _speech_activation(runs["default"]) > 0.15
    assert _speech_activation(runs["default"]) - _speech_activation(runs["mute"]) > 0.1
    assert _motion_activation(runs["default"]) > 0.2
    assert _motion_activation(runs["default"]) - _motion_activation(runs["still"]) > 0.15
    # the body says less about valence than about activation
    assert _motion_activation(runs["default"], "valence") < _motion_activation(runs["default"])


def _pairwise_agreement(ratings: np.ndarray) -> float:
    """Mean correlation between the traces of every pair of raters of one recording: (T, R) -> float."""
    r = np.corrcoef(ratings[~np.isnan(ratings).any(axis=1)].T)
    return float(np.mean(r[np.triu_indices(len(r), 1)]))


def test_affect_is_slow_and_annotators_agree_moderately():
    corpus = load_corpus(STUBS / "recola", cache_dir=False, progress=False)
    agreement = {task: [] for task in corpus.tasks}
    for r in corpus:
        a = r.label("activation")
        assert np.corrcoef(a[:-60], a[60:])[0, 1] > 0.7        # one second apart: still alike
        assert not np.allclose(r.ratings["activation"][:, 0], r.ratings["activation"][:, 1], atol=0.05)
        for task in corpus.tasks:
            agreement[task].append(_pairwise_agreement(r.ratings[task]))
    mean = {task: float(np.mean(v)) for task, v in agreement.items()}
    # moderate agreement, as continuous traces of real raters show; valence raters disagree most
    assert 0.35 < mean["valence"] < mean["activation"] < 0.85, mean


def test_refuses_a_folder_with_a_foreign_or_broken_manifest(tmp_path):
    """Only a folder whose manifest make_stubs wrote for this corpus is regenerated in place."""
    for i, text in enumerate(("not json", '{"generator": "someone else", "corpus": "recola"}',
                              '{"generator": "cerlib.stubs.make_stubs", "corpus": "creativeit"}')):
        root = tmp_path / str(i) / "recola"
        (root / "recordings_audio").mkdir(parents=True)
        (root / "recordings_audio" / "subject.wav").write_bytes(b"data")
        (root / "stub_manifest.json").write_text(text)
        with pytest.raises(FileExistsError, match="did not write"):
            make_stubs(tmp_path / str(i), which="recola", **TINY)
        assert (root / "recordings_audio" / "subject.wav").read_bytes() == b"data"
    empty = tmp_path / "empty" / "recola"
    empty.mkdir(parents=True)
    (empty / "README.md").write_text("notes")      # an empty folder (or one holding only a README) is fine
    make_stubs(tmp_path / "empty", which="recola", **TINY)
    assert (empty / "README.md").read_text() == "notes" and (empty / "stub_manifest.json").is_file()


def _between_speaker_share(root: Path) -> float:
    """Share of the raw joint-angle variance that lies between actors (mean over the 12 angles)."""
    rows = [line.split(",") for line in (root / "recordings.csv").read_text().splitlines()[1:]]
    angles = {rec: read_bvh(root / "mocap" / f"{rec}.bvh").angles(CREATIVEIT_JOINTS) for rec, *_ in rows}
    actors = sorted({r[3] for r in rows})
    every = np.concatenate(list(angles.values()))
    means = np.stack([np.concatenate([angles[r[0]] for r in rows if r[3] == a]).mean(0) for a in actors])
    counts = np.array([sum(len(angles[r[0]]) for r in rows if r[3] == a) for a in actors])
    between = (counts[:, None] * (means - every.mean(0)) ** 2).sum(0) / counts.sum()
    return float(np.mean(between / every.var(0)))


def test_rest_pose_sd_sets_how_much_raw_angles_identify_the_actor(tmp_path):
    small = dict(creativeit_pairs=(1, 1, 1), creativeit_improvisations=(2, 2, 2), creativeit_duration_s=5.0)
    share = {}
    for sd in (0.0, 6.0, 20.0):
        make_stubs(tmp_path / str(sd), which="creativeit", seed=3, rest_pose_sd=sd, **small)
        share[sd] = _between_speaker_share(tmp_path / str(sd) / "creativeit")
    assert share[0.0] < 0.5 * share[6.0] < share[20.0] / 2, share
    manifest = json.loads((tmp_path / "0.0" / "creativeit" / "stub_manifest.json").read_text())
    assert manifest["knobs"]["rest_pose_sd"] == 0.0


# ---------------------------------------------------------------------------
# Each v4 knob moves what it is documented to move
# ---------------------------------------------------------------------------

PROBE = dict(creativeit_pairs=(1, 1, 1, 1), creativeit_improvisations=(2, 2, 2, 2), creativeit_duration_s=20.0)


def _probe(corpus, task: str = "activation", modalities=None) -> float:
    """Speaker-independent linear probe: ridge from 1-s smoothed features to the label, leave one session
    (RECOLA: one subject in four) out; the correlation of its pooled out-of-fold predictions."""
    xs, ys, groups = [], [], []
    for i, r in enumerate(corpus):
        x = np.concatenate([uniform_filter1d(np.nan_to_num(r.features[m]), 60, axis=0)
                            for m in (modalities or list(r.features))], axis=1)[::10]
        xs.append(x)
        ys.append(r.label(task)[::10])
        groups.append(np.full(len(x), r.session if r.session is not None else i % 4))
    x, y, g = np.concatenate(xs), np.concatenate(ys), np.concatenate(groups)
    pred = np.empty_like(y)
    for held in np.unique(g):
        tr = g != held
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-9
        a = np.column_stack([(x[tr] - mu) / sd, np.ones(tr.sum())])
        w = np.linalg.solve(a.T @ a + 10.0 * np.eye(a.shape[1]), a.T @ y[tr])
        pred[~tr] = np.column_stack([(x[~tr] - mu) / sd, np.ones((~tr).sum())]) @ w
    return float(np.corrcoef(pred, y)[0, 1])


def test_rater_noise_and_the_unseen_share_cap_what_a_linear_probe_attains(tmp_path):
    attained = {}
    for label, knobs in (("exact", EXACT_RATERS), ("noisy", dict(annotator_noise_sd=(0.4, 0.4, 0.4))),
                         ("unseen", dict(unseen_affect_share=0.6))):
        make_stubs(tmp_path / label, which="creativeit", seed=4, **PROBE, **knobs)
        attained[label] = _probe(load_corpus(tmp_path / label / "creativeit", progress=False))
    # "exact" and "noisy" have the same signals (same seed, only the raters differ)
    assert attained["exact"] > attained["noisy"] + 0.05, attained
    assert attained["exact"] > attained["unseen"] + 0.1, attained


def test_rater_noise_is_per_task(tmp_path):
    make_stubs(tmp_path, which="recola", seed=2, recola_train=3, recola_dev=1, recola_duration_s=20.0,
               annotator_noise_sd=(0.05, 0.5, 0.05))
    corpus = load_corpus(tmp_path / "recola", progress=False)
    agree = {t: np.mean([_pairwise_agreement(r.ratings[t]) for r in corpus]) for t in corpus.tasks}
    assert agree["valence"] < agree["activation"] - 0.2, agree


def _rater_pair_level_spread(root: Path) -> float:
    """Across subjects, the sd of (mean of rater 1 - mean of rater 2): what a per-(rater, actor) offset moves."""
    corpus = load_corpus(root, progress=False)
    return float(np.std([np.nanmean(r.ratings["activation"][:, 0] - r.ratings["activation"][:, 1]) for r in corpus]))


def test_rater_actor_offsets_move_a_raters_level_per_actor(tmp_path):
    spread = {}
    for sd in (0.0, 0.3):
        make_stubs(tmp_path / str(sd), which="recola", seed=2, recola_train=6, recola_dev=2, recola_duration_s=10.0,
                   rater_actor_bias_sd=sd)
        spread[sd] = _rater_pair_level_spread(tmp_path / str(sd) / "recola")
    assert spread[0.3] > 2 * spread[0.0], spread
    offsets = json.loads((tmp_path / "0.3" / "recola" / "stub_manifest.json").read_text())["traits"][
        "annotator_actor_offsets"]
    assert len(offsets) == 6 * 8 and 0.15 < np.std([v[0] for v in offsets.values()]) < 0.45


def _within_share(corpus, seconds: float) -> float:
    """Share of the label variance left after removing a moving average over ``seconds``."""
    ys = [r.label("activation") for r in corpus]
    w = int(seconds * corpus.fps)
    return float(np.mean([np.var(y - uniform_filter1d(y, w)) for y in ys]) / np.var(np.concatenate(ys)))


def test_affect_events_add_changes_within_seconds(tmp_path):
    share = {}
    for rate in (0.0, 0.3):
        make_stubs(tmp_path / str(rate), which="creativeit", seed=5, **PROBE, **EXACT_RATERS, affect_event_rate=rate)
        share[rate] = _within_share(load_corpus(tmp_path / str(rate) / "creativeit", progress=False), 3.0)
    assert share[0.3] > 1.5 * share[0.0], share


def test_dispositions_are_drawn_with_affect_corr():
    from cerlib.stubs.simulate import speaker_traits

    for corr, expected in (((0.15, 0.6, 0.25), 0.6), ((0.0, 0.0, 0.0), 0.0)):
        k = Knobs(affect_corr=corr)
        d = np.stack([speaker_traits(0, "creativeit", f"S{i}", "F", k)["disposition"] for i in range(400)])
        assert abs(np.corrcoef(d[:, 0], d[:, 2])[0, 1] - expected) < 0.12      # activation-dominance
        assert abs(d.std(0).mean() - k.speaker_sd) < 0.03


def _ramp(seconds: float = 30.0) -> np.ndarray:
    """A latent affect at CONTROL_RATE whose activation rises from -0.8 to 0.8 (valence, dominance 0): (n, 3)."""
    from cerlib.stubs import CONTROL_RATE

    n = int(seconds * CONTROL_RATE)
    return np.column_stack([np.linspace(-0.8, 0.8, n), np.zeros(n), np.zeros(n)])


def test_voice_expressivity_is_a_per_speaker_gain_on_every_vocal_effect(tmp_path):
    from cerlib.stubs.simulate import simulate_talk, speaker_traits, voice_knobs

    k, affect, sr = Knobs(), _ramp(), 8000
    traits = speaker_traits(0, "recola", "S", "F", k)
    slope = {}
    for gain in (0.0, 1.0, 2.0):
        voice, _ = simulate_talk(np.random.default_rng(1), 30.0, sr, [(0.2, 29.8)], [], affect, traits,
                                 voice_knobs(k, {**traits, "voice_gain": gain}))
        db = 10 * np.log10(np.array([np.mean(b ** 2) for b in voice.reshape(30, sr)]) + 1e-12)
        slope[gain] = np.polyfit(np.linspace(-0.8, 0.8, 30), db, 1)[0]      # dB per unit of activation
    assert abs(slope[0.0]) < 3.0 and slope[1.0] > 5.0 and slope[2.0] > 1.6 * slope[1.0], slope
    # drawn per speaker, written to the manifest; sd 0 gives everyone the knobs' own gains
    make_stubs(tmp_path / "same", which="recola", seed=6, **TINY, voice_expressivity_sd=0.0)
    make_stubs(tmp_path / "differ", which="recola", seed=6, **TINY, voice_expressivity_sd=1.0)
    gains = {name: [t["voice_gain"] for t in json.loads((tmp_path / name / "recola" / "stub_manifest.json")
                                                         .read_text())["traits"]["speakers"].values()]
             for name in ("same", "differ")}
    assert set(gains["same"]) == {1.0} and np.std(np.log(gains["differ"])) > 0.4, gains


def test_gesture_expressivity_is_a_per_speaker_gain(tmp_path):
    from cerlib.stubs.simulate import body_knobs, simulate_motion, speaker_traits

    k, affect = Knobs(action_rate=0.0, posture_shift_deg=0.0), _ramp()
    traits = speaker_traits(0, "creativeit", "A01", "F", k)
    quiet = np.zeros(affect.shape[0])
    ratio = {}
    for gain in (0.0, 1.0, 2.0):
        angles = simulate_motion(np.random.default_rng(2), 30.0, affect, quiet, quiet, traits,
                                 body_knobs(k, {**traits, "gesture_gain": gain}))[:, 12]     # left forearm
        low, high = np.diff(angles[:900]).std(), np.diff(angles[-900:]).std()
        ratio[gain] = high / low            # how much more the arm moves when activated
    assert abs(np.log(ratio[0.0])) < 0.15 and ratio[2.0] > ratio[1.0] > 1.5, ratio
    make_stubs(tmp_path, which="creativeit", seed=7, **TINY, gesture_expressivity_sd=0.8)
    gains = [t["gesture_gain"] for t in json.loads((tmp_path / "creativeit" / "stub_manifest.json")
                                                   .read_text())["traits"]["speakers"].values()]
    assert len(gains) == 6 and np.std(np.log(gains)) > 0.3


def test_recola_face_shows_activation_less_than_the_voice(tmp_path):
    """AVEC 2016's baselines: arousal is read better from the voice, valence from the face."""
    probes, flow = {}, {}
    for fa in (0.3, 1.0):
        make_stubs(tmp_path / str(fa), which="recola", seed=8, recola_train=6, recola_dev=2, recola_duration_s=20.0,
                   **EXACT_RATERS, face_activation=fa)
        corpus = load_corpus(tmp_path / str(fa) / "recola", progress=False)
        probes[fa] = {(m, t): _probe(corpus, t, [m]) for m in ("speech", "face") for t in corpus.tasks}
        flow[fa] = float(np.corrcoef(
            np.concatenate([uniform_filter1d(np.nan_to_num(r.features["face"][:, 9]), 180) for r in corpus]),
            np.concatenate([r.label("activation") for r in corpus]))[0, 1])
    assert flow[1.0] > flow[0.3] + 0.1, flow                      # the knob sets how much the face moves with A
    default = probes[0.3]
    assert default["face", "activation"] < default["speech", "activation"], default
    assert default["face", "valence"] > default["speech", "valence"], default


def test_manifest_records_every_drawn_trait(tmp_path):
    make_stubs(tmp_path, seed=9, **TINY)
    root = tmp_path / "creativeit"
    traits = json.loads((root / "stub_manifest.json").read_text())["traits"]
    rows = [line.split(",") for line in (root / "recordings.csv").read_text().splitlines()[1:]]
    assert set(traits["speakers"]) == {r[3] for r in rows}
    assert set(traits["recordings"]) == {r[0] for r in rows}
    for rec, *_ in rows:
        _, _, raters = read_ratings(root / "annotations" / "valence" / f"{rec}.csv")
        assert set(raters) == set(traits["recordings"][rec]["annotators"]) <= set(traits["annotators"])
        actor = rows[[r[0] for r in rows].index(rec)][3]
        assert all(f"{a}/{actor}" in traits["annotator_actor_offsets"] for a in raters)
    for t in traits["speakers"].values():
        assert {"disposition", "rest_pose", "voice_gain", "gesture_gain", "gesture_style", "f0"} <= set(t)
        assert len(t["rest_pose"]) == 15 and len(t["disposition"]) == 3
    recola = json.loads((tmp_path / "recola" / "stub_manifest.json").read_text())["traits"]
    assert set(recola["speakers"]) == set(recola["recordings"]) and set(recola["annotators"]) == {
        "FM1", "FM2", "FM3", "FF1", "FF2", "FF3"}


def test_course_stubs_are_written_once_into_the_cache(tmp_path, capsys):
    from cerlib.stubs import course_dir, course_stubs, data_root

    root = course_stubs("recola")
    assert root == course_dir() and root.is_relative_to(tmp_path / "cache")
    manifest = root / "recola" / "stub_manifest.json"
    info = json.loads(manifest.read_text())
    assert info["scale"] == "course" and info["stubs_version"] == 4
    assert len(list((root / "recola" / "recordings_audio").glob("*.wav"))) == 18
    stamp = manifest.stat().st_mtime_ns
    assert data_root("course") == root and manifest.stat().st_mtime_ns == stamp      # found, not rewritten
    assert data_root("elsewhere") == Path("elsewhere")
    # the command writes the same corpus to the same place
    assert main_make_stubs(["--scale", "course", "--which", "recola", "--quiet"]) == 0
    assert str(root / "recola") in capsys.readouterr().out
    assert json.loads(manifest.read_text()) == info


# Regeneration never deletes a user's files; the command ends in one line.

def test_regenerating_keeps_a_users_file_inside_a_generated_subfolder(tmp_path, capsys):
    root = tmp_path / "stubs"
    knobs = dict(recola_train=1, recola_dev=1, recola_duration_s=3.0)
    make_stubs(root, which="recola", seed=1, **knobs)
    take = root / "recola" / "recordings_audio" / "my_real_take.wav"
    take.write_bytes(b"RIFF my own recording")
    notes = root / "recola" / "ratings_individual" / "arousal" / "notes" / "a.txt"
    notes.parent.mkdir()
    notes.write_text("mine")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    with pytest.raises(FileExistsError, match=r"recordings_audio/my_real_take\.wav.*nothing was changed"):
        make_stubs(root, which="recola", seed=2, **knobs)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert take.read_bytes() == b"RIFF my own recording" and notes.read_text() == "mine"
    args = [str(root), "--which", "recola", "--quiet", "--set", "recola_train=1", "--set", "recola_dev=1",
            "--set", "recola_duration_s=3"]
    assert main_make_stubs(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "my_real_take.wav" in err and "Traceback" not in err
    take.unlink()
    notes.unlink()
    notes.parent.rmdir()
    assert main_make_stubs(args) == 0        # only generated files left: regenerated in place


@pytest.mark.parametrize("knob, match", [("nonsense=3", r"no knob 'nonsense'"),
                                         ("recola_trian=2", r"did you mean recola_train"),
                                         ("unseen_affect_share=7", r"unseen_affect_share is a share of variance")])
def test_make_stubs_command_errors_are_one_line(tmp_path, capsys, knob, match):
    assert main_make_stubs([str(tmp_path / "s"), "--which", "recola", "--quiet", "--set", knob]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(match, err) and "Traceback" not in err
    if "share" in knob:    # --debug shows the traceback
        with pytest.raises(ValueError, match=match):
            main_make_stubs([str(tmp_path / "s"), "--which", "recola", "--quiet", "--set", knob, "--debug"])


def test_a_generated_subfolder_that_is_a_link_to_the_users_files_is_left_alone(tmp_path):
    root = tmp_path / "stubs"
    knobs = dict(recola_train=1, recola_dev=1, recola_duration_s=3.0)
    make_stubs(root, which="recola", seed=1, **knobs)
    mine = tmp_path / "my_audio"
    (root / "recola" / "recordings_audio").rename(mine)
    (root / "recola" / "recordings_audio").symlink_to(mine, target_is_directory=True)
    with pytest.raises(FileExistsError, match=r"recordings_audio and|: recordings_audio;"):
        make_stubs(root, which="recola", seed=2, **knobs)
    assert (root / "recola" / "recordings_audio").is_symlink() and len(list(mine.glob("*.wav"))) == 2
