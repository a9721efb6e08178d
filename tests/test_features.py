"""Tests for cerlib.features: speech MFCC-39, motion features, Normaliser."""
from __future__ import annotations

from fractions import Fraction

import librosa
import numpy as np
import pytest
import scipy.fft
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cerlib.features import (
    SPEECH_FEATURE_NAMES,
    Normaliser,
    frame_centres,
    frame_count,
    frame_times,
    motion_feature_names,
    motion_features,
    speech_features,
)

RNG = np.random.default_rng(1234)


def noise(n, scale=0.1, seed=0):
    return scale * np.random.default_rng(seed).standard_normal(n)


def htk_lifter():
    n = np.arange(1, 13)
    return 1 + 11 * np.sin(np.pi * n / 22)


def htk_delta(c, theta=2):
    """HTK's regression formula with replicated edges, written out."""
    T = c.shape[0]
    padded = np.concatenate([np.repeat(c[:1], theta, 0), c, np.repeat(c[-1:], theta, 0)])
    num = sum(th * (padded[theta + th:theta + th + T] - padded[theta - th:theta - th + T])
              for th in range(1, theta + 1))
    return num / (2 * sum(th * th for th in range(1, theta + 1)))


# ---------------------------------------------------------------------------
# Docstring examples
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# Frame positions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("n", [1, 2, 99, 266, 267, 268, 8000, 16001, 44101, 123457])
def test_frame_count_formula_and_shape(sr, n):
    expected = 1 + (n - 1) * 60 // sr
    # brute force: frames whose ideal centre k*sr/fps lies within the signal
    brute = sum(1 for k in range(expected + 3) if Fraction(k * sr, 60) <= n - 1)
    assert expected == brute
    assert frame_count(n, sr, 60) == expected
    centres = frame_centres(n, sr, 60)
    assert centres.shape == (expected,)
    assert centres.min() >= 0 and centres.max() <= n - 1
    if n <= 16001:  # keep the feature computation cheap
        feats = speech_features(np.zeros(n, dtype=np.float32) + noise(n, 0.01), sr)
        assert feats.shape == (expected, 39)
        assert feats.dtype == np.float32
        assert np.isfinite(feats).all()


def test_frame_centres_no_drift_over_one_hour():
    sr, fps = 16000, 60.0
    n = 3600 * sr
    c = frame_centres(n, sr, fps)
    k = np.arange(c.shape[0])
    assert c.shape[0] == 3600 * 60
    # exact ideal positions: k*sr/fps = k*800/3
    err = np.abs(3 * c - 800 * k)  # in thirds of a sample
    assert err.max() <= 1  # |c - k*sr/fps| <= 1/3 sample, never more than 0.5
    assert c[-1] == round(Fraction((c.shape[0] - 1) * sr, 60))


def test_frame_centres_non_integer_rates_and_half_rounding():
    # 22050 Hz at 60 fps: 367.5 samples per frame, halves round up
    c = frame_centres(22050, 22050, 60)
    assert c[1] == 368 and c[3] == 1103
    # non-integer fps takes the float path, still within half a sample
    sr, fps = 44100, 29.97
    c = frame_centres(44100 * 600, sr, fps)
    k = np.arange(c.shape[0])
    assert np.abs(c - k * sr / fps).max() <= 0.5 + 1e-6
    assert c.shape[0] == frame_count(44100 * 600, sr, fps)


def test_frame_times():
    t = frame_times(5, 25.0)
    np.testing.assert_allclose(t, [0, 0.04, 0.08, 0.12, 0.16])
    assert frame_times(0, 60).shape == (0,)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 10**7),
    sr=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000]),
    fps=st.sampled_from([10, 25, 29.97, 30, 50, 60, 100]),
)
def test_frame_centres_property(n, sr, fps):
    c = frame_centres(n, sr, fps)
    k = np.arange(c.shape[0])
    assert c.shape[0] == frame_count(n, sr, fps) >= 1
    assert c[0] == 0 and c[-1] <= n - 1
    assert np.all(np.diff(c) > 0)
    assert np.abs(c - k * sr / fps).max() <= 0.5 + 1e-6
    # the next frame's ideal centre would fall outside the signal
    assert c.shape[0] * sr / fps > n - 1 - 1e-6


# ---------------------------------------------------------------------------
# Speech: alignment and reference computations
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sr", [16000, 44100])
def test_bursts_peak_in_the_expected_frame(sr):
    fps = 60.0
    times = [1.0, 2.5, 3.31, 4.2]  # 3.31 s is 6.7 ms before frame 199's centre
    x = np.zeros(int(5 * sr))
    rng = np.random.default_rng(5)
    for t in times:
        start = int(round(t * sr)) - int(0.0025 * sr)  # 5 ms burst centred at t
        x[start:start + int(0.005 * sr)] = 0.5 * rng.standard_normal(int(0.005 * sr))
    energy = speech_features(x, sr, fps)[:, 0]
    for t in times:
        k = int(round(t * fps))
        lo, hi = k - 5, k + 6
        assert lo + int(np.argmax(energy[lo:hi])) == k, (sr, t)
        # and it is a clear peak well above silence
        assert energy[k] > energy[k - 3] + 5


def test_bursts_at_25_fps():
    sr, fps = 16000, 25.0
    x = np.zeros(3 * sr)
    t = 1.64  # frame 41
    c = int(round(t * sr))
    x[c - 40:c + 40] = 0.5
    energy = speech_features(x, sr, fps)[:, 0]
    assert int(np.argmax(energy)) == 41


def reference_static(x, sr, fps, k):
    """log energy and MFCC 1..12 of frame k, by hand."""
    win = int(round(0.025 * sr))
    n_fft = int(2 ** np.ceil(np.log2(win)))
    centre = int(np.floor(k * sr / fps + 0.5))
    y = np.concatenate([[x[0]], x[1:] - 0.97 * x[:-1]])
    pad = win + 10
    xp = np.pad(x, pad)
    yp = np.pad(y, pad)
    start = centre - win // 2 + pad
    w = np.hamming(win)
    energy = np.log(max(np.sum((xp[start:start + win] * w) ** 2), 1e-10))
    spec = np.abs(np.fft.rfft(yp[start:start + win] * w, n_fft)) ** 2
    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=26, fmin=0, fmax=min(8000, sr / 2),
                             htk=True, norm=None)
    logmel = np.log(np.maximum(fb @ spec, 1e-10))
    c = scipy.fft.dct(logmel, type=2, norm="ortho")[1:13] * htk_lifter()
    return energy, c


@pytest.mark.parametrize("sr,k", [(16000, 0), (16000, 1), (16000, 37), (16000, -1),
                                  (22050, 13), (44100, 20), (44100, -1)])
def test_static_features_match_hand_computation(sr, k):
    # k = -1: the last frame, whose window overhangs the end of the signal
    n = sr + 123
    t = np.arange(n) / sr
    x = 0.3 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + noise(n, 0.02, seed=abs(k))
    feats = speech_features(x, sr, 60.0)
    if k < 0:
        k = feats.shape[0] - 1
        assert frame_centres(n, sr, 60.0)[k] + int(0.025 * sr) // 2 > n - 1
    energy, mfcc = reference_static(x, sr, 60.0, k)
    assert feats[k, 0] == pytest.approx(energy, rel=1e-5, abs=1e-4)
    np.testing.assert_allclose(feats[k, 1:13], mfcc, rtol=1e-4, atol=1e-3)


def test_mfcc_match_librosa_stft_pipeline_at_integer_hop():
    """librosa's own framing (centre=True, zero padding) at a whole-sample hop."""
    sr, fps = 16000, 50.0  # hop 320
    n = 2 * sr + 77
    x = noise(n, 0.1, seed=3) + 0.2 * np.sin(2 * np.pi * 500 * np.arange(n) / sr)
    y = np.concatenate([[x[0]], x[1:] - 0.97 * x[:-1]])
    mel = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=512, hop_length=320, win_length=400, window=np.hamming(400),
        center=True, pad_mode="constant", power=2.0, n_mels=26, fmin=0, fmax=8000,
        htk=True, norm=None)
    mfcc = librosa.feature.mfcc(S=np.log(np.maximum(mel, 1e-10)), n_mfcc=13, norm="ortho",
                                lifter=0)[1:13].T * htk_lifter()
    feats = speech_features(x, sr, fps)
    T = feats.shape[0]
    np.testing.assert_allclose(feats[:, 1:13], mfcc[:T], rtol=1e-4, atol=1e-3)


def test_deltas_follow_htk_regression():
    sr = 16000
    x = noise(sr, 0.1) * np.linspace(0, 1, sr) ** 2
    feats = speech_features(x, sr).astype(np.float64)
    static = feats[:, :13]
    d = htk_delta(static)
    np.testing.assert_allclose(feats[:, 13:26], d, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(feats[:, 26:39], htk_delta(d), rtol=1e-4, atol=1e-4)
    # column 13 is librosa's delta (width 5, nearest edges) of column 0
    np.testing.assert_allclose(
        feats[:, 13], librosa.feature.delta(static[:, 0], width=5, mode="nearest"), atol=1e-4)


def test_delta_width_keyword():
    x = noise(16000, 0.1, seed=9) * np.linspace(0, 1, 16000)
    f5 = speech_features(x, 16000)
    f9 = speech_features(x, 16000, delta_width=9)
    np.testing.assert_array_equal(f5[:, :13], f9[:, :13])
    np.testing.assert_allclose(f9[:, 13], htk_delta(f9[:, :13].astype(float), theta=4)[:, 0],
                               atol=1e-4)
    assert not np.allclose(f5[:, 13:], f9[:, 13:])


# ---------------------------------------------------------------------------
# Speech: inputs
# ---------------------------------------------------------------------------

def test_stereo_both_layouts_equal_mono_mix():
    sr = 16000
    left, right = noise(sr, 0.2, 1), noise(sr, 0.1, 2)
    mono = speech_features((left + right) / 2, sr)
    np.testing.assert_allclose(speech_features(np.stack([left, right], axis=1), sr), mono,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(speech_features(np.stack([left, right], axis=0), sr), mono,
                               rtol=1e-5, atol=1e-5)


def test_int16_equals_float_over_32768():
    sr = 16000
    pcm = (noise(sr, 0.2, 4) * 32767).astype(np.int16)
    np.testing.assert_allclose(speech_features(pcm, sr), speech_features(pcm / 32768.0, sr),
                               rtol=1e-4, atol=1e-4)
    pcm32 = pcm.astype(np.int32) * 65536
    np.testing.assert_allclose(speech_features(pcm32, sr), speech_features(pcm / 32768.0, sr),
                               rtol=1e-4, atol=1e-4)


def test_silence_is_finite_and_at_the_floor():
    f = speech_features(np.zeros(16000, dtype=np.int16), 16000)
    assert np.isfinite(f).all()
    np.testing.assert_allclose(f[:, 0], np.log(1e-10), rtol=1e-6)
    np.testing.assert_allclose(f[:, 1:], 0, atol=1e-6)


@pytest.mark.parametrize("n", [1, 5, 100, 267, 300])
def test_very_short_audio(n):
    sr = 16000
    f = speech_features(noise(n, 0.3, seed=n), sr)
    assert f.shape == (1 + (n - 1) * 60 // sr, 39)
    assert np.isfinite(f).all()


@pytest.mark.parametrize(
    "wave,sr,fps,match",
    [
        (np.zeros(0), 16000, 60, "empty"),
        (np.zeros((2, 0)), 16000, 60, "empty"),
        (np.array([0.0, np.nan, 0.0]), 16000, 60, "NaN or infinite"),
        (np.array([0.0, np.inf]), 16000, 60, "NaN or infinite"),
        (np.zeros((2, 3, 100)), 16000, 60, r"1-D .* 2-D"),
        (np.float64(0.5), 16000, 60, r"1-D"),
        (np.zeros(100), 0, 60, "sr"),
        (np.zeros(100), -16000, 60, "sr"),
        (np.zeros(100), float("nan"), 60, "sr"),
        (np.zeros(100), 16000, 0, "fps"),
        (np.zeros(100), 16000, -1, "fps"),
        (np.zeros(100, dtype=np.int64), 16000, 60, "int16/int32"),
        (np.array(["a", "b"]), 16000, 60, "numeric"),
    ],
)
def test_speech_errors(wave, sr, fps, match):
    with pytest.raises(ValueError, match=match):
        speech_features(wave, sr, fps)


@pytest.mark.parametrize("sr,fps", [(16000, 60.0), (16000, 100.0), (44100, 60.0), (22050, 25.0)])
def test_chunking_does_not_change_results(sr, fps):
    # 16 kHz at 100 fps is a whole-sample hop (frames are a strided view), 16 kHz
    # at 60 fps is not (frames are gathered); one chunk, chunks of 7 and of 1 frame
    x = noise(3 * sr, 0.1, seed=11)
    whole = speech_features(x, sr, fps, chunk_frames=10**6)
    np.testing.assert_array_equal(speech_features(x, sr, fps), whole)
    np.testing.assert_array_equal(speech_features(x, sr, fps, chunk_frames=7), whole)
    np.testing.assert_array_equal(speech_features(x[:sr // 2], sr, fps, chunk_frames=1),
                                  speech_features(x[:sr // 2], sr, fps))


def test_feature_names():
    assert len(SPEECH_FEATURE_NAMES) == 39 == len(set(SPEECH_FEATURE_NAMES))
    assert SPEECH_FEATURE_NAMES[:2] == ("log_energy", "mfcc_1")
    assert SPEECH_FEATURE_NAMES[12] == "mfcc_12"
    assert SPEECH_FEATURE_NAMES[13] == "d_log_energy"
    assert SPEECH_FEATURE_NAMES[38] == "dd_mfcc_12"


# ---------------------------------------------------------------------------
# Motion
# ---------------------------------------------------------------------------

def test_motion_wrap_gives_small_delta_with_sign():
    a = np.zeros((4, 6))
    a[:, 0] = [177, 179, -179, -177]  # turning positively through 180
    a[:, 4] = [-177, -179, 179, 177]  # turning negatively through -180
    f = motion_features(a)
    assert f.shape == (4, 12)
    np.testing.assert_allclose(f[:, 6], [2, 2, 2, 2])
    np.testing.assert_allclose(f[:, 10], [-2, -2, -2, -2])
    np.testing.assert_array_equal(f[:, :6], a.astype(np.float32))  # passthrough, not unwrapped


def test_motion_central_difference():
    a = np.array([[0.0, 0, 0], [1, 0, 0], [4, 0, 0], [9, 0, 0]])
    np.testing.assert_allclose(motion_features(a)[:, 3], [1, 2, 4, 5])


def test_motion_shapes_and_single_frame():
    a = RNG.uniform(-180, 180, size=(50, 24))
    f = motion_features(a)
    assert f.shape == (50, 48) and f.dtype == np.float32
    one = motion_features(np.array([[10.0, 20.0, 30.0]]))
    np.testing.assert_array_equal(one, [[10, 20, 30, 0, 0, 0]])


@pytest.mark.parametrize("bad", [np.zeros(9), np.zeros((5, 4)), np.zeros((5, 0)),
                                 np.zeros((0, 3)), np.zeros((2, 3, 3)),
                                 np.array([[0.0, np.nan, 0.0]])])
def test_motion_errors(bad):
    with pytest.raises(ValueError, match=r"\(T, 3J\)|NaN"):
        motion_features(bad)


def test_motion_feature_names():
    names = motion_feature_names(["Hips", "Head"])
    assert len(names) == 12
    assert names[:3] == ["Hips_Xrotation", "Hips_Yrotation", "Hips_Zrotation"]
    assert names[6] == "d_Hips_Xrotation" and names[-1] == "d_Head_Zrotation"
    assert motion_feature_names("Hips", axes="ZXY")[0] == "Hips_Zrotation"
    with pytest.raises(ValueError):
        motion_feature_names(["Hips"], axes="XXY")


# A smooth random walk: consecutive steps well under 180 degrees.
walks = st.integers(2, 40).flatmap(
    lambda T: hnp.arrays(np.float64, (T, 6), elements=st.floats(-60, 60)))


@settings(max_examples=40, deadline=None)
@given(steps=walks, start=st.floats(-180, 180), data=st.data())
def test_motion_deltas_invariant_to_360_shifts(steps, start, data):
    angles = (start + np.cumsum(steps, axis=0) + 180) % 360 - 180
    shifts = data.draw(hnp.arrays(np.int64, angles.shape, elements=st.integers(-2, 2)))
    base = motion_features(angles)
    shifted = motion_features(angles + 360.0 * shifts)
    np.testing.assert_allclose(shifted[:, 6:], base[:, 6:], atol=1e-3)
    # and the deltas are the deltas of the un-wrapped walk
    walk = start + np.cumsum(steps, axis=0)
    np.testing.assert_allclose(base[:, 6:], np.gradient(walk, axis=0), atol=1e-3)


# ---------------------------------------------------------------------------
# Normaliser
# ---------------------------------------------------------------------------

def test_normaliser_standardises_training_data():
    a = RNG.normal([1, -5, 100], [2, 0.1, 30], size=(300, 3))
    b = RNG.normal([1, -5, 100], [2, 0.1, 30], size=(200, 3))
    norm = Normaliser.fit([a, b])
    assert norm.mean.dtype == np.float32 and norm.mean.shape == (3,)
    both = np.concatenate([a, b])
    np.testing.assert_allclose(norm.mean, both.mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.std, both.std(0), rtol=1e-5)
    z = norm.transform(both)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-4)
    # single array accepted too
    np.testing.assert_allclose(Normaliser.fit(both).mean, norm.mean, rtol=1e-6)


def test_normaliser_constant_column():
    x = np.column_stack([np.full(10, 7.0), np.arange(10.0)])
    norm = Normaliser.fit(x)
    assert norm.std[0] == 1.0  # unit scale, as scikit-learn's StandardScaler: a floored std would multiply by 1e8
    z = norm.transform(x)
    assert np.isfinite(z).all()
    np.testing.assert_array_equal(z[:, 0], 0)
    assert norm.transform(np.array([[7.5, 0.0]]))[0, 0] == pytest.approx(0.5)  # a test value off by 0.5 stays 0.5


def test_normaliser_errors_and_roundtrip():
    norm = Normaliser.fit([np.ones((5, 3)), np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"3 columns.*4 columns|4 columns.*3"):
        norm.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"4 columns.*3"):
        Normaliser.fit([np.zeros((5, 3)), np.zeros((5, 4))])
    with pytest.raises(ValueError):
        Normaliser.fit([])
    back = Normaliser.from_dict(norm.to_dict())
    np.testing.assert_array_equal(back.mean, norm.mean)
    np.testing.assert_array_equal(back.std, norm.std)
    import json
    json.dumps(norm.to_dict())
