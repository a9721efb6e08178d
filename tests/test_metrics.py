"""Tests for cerlib.metrics: CCC, PCC, mean CCC over recordings, rolling CCC."""
from __future__ import annotations

import subprocess
import sys

import audmetric
import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cerlib import metrics
from cerlib.metrics import ccc, mean_ccc, pcc, rolling_ccc

PROPS = settings(max_examples=60, deadline=None)

# well-conditioned traces: integers on a grid, so that rounding never decides
# whether a trace is "constant" and the reference libraries agree to 1e-10
_grid = st.integers(-1000, 1000).map(lambda k: k / 8.0)
_lengths = st.integers(2, 40)


@st.composite
def pairs(draw, min_len=2):
    n = draw(st.integers(min_len, 40))
    y = draw(arrays(np.float64, n, elements=_grid))
    y_hat = draw(arrays(np.float64, n, elements=_grid))
    return y, y_hat


# any finite floats of moderate size, for the "never NaN, always in range" properties
_wild = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def wild_pairs(draw):
    n = draw(_lengths)
    return (draw(arrays(np.float64, n, elements=_wild)),
            draw(arrays(np.float64, n, elements=_wild)))


def population_ccc(y, y_hat):
    """The textbook formula, written out independently."""
    y = np.asarray(y, float)
    y_hat = np.asarray(y_hat, float)
    n = len(y)
    my, mh = sum(y) / n, sum(y_hat) / n
    vy = sum((v - my) ** 2 for v in y) / n
    vh = sum((v - mh) ** 2 for v in y_hat) / n
    cov = sum((a - my) * (b - mh) for a, b in zip(y, y_hat)) / n
    return 2 * cov / (vy + vh + (my - mh) ** 2)


def sample_ccc(y, y_hat):
    """CCC with 1/(n-1) variances and covariance, as torchmetrics computes it."""
    y = np.asarray(y, float)
    y_hat = np.asarray(y_hat, float)
    cov = np.cov(y, y_hat, ddof=1)
    return 2 * cov[0, 1] / (cov[0, 0] + cov[1, 1] + (y.mean() - y_hat.mean()) ** 2)


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

@PROPS
@given(wild_pairs())
def test_ccc_and_pcc_are_finite_and_in_range(pair):
    y, y_hat = pair
    for f in (ccc, pcc):
        value = f(y, y_hat)
        assert isinstance(value, float)
        assert np.isfinite(value)
        assert -1.0 <= value <= 1.0


@PROPS
@given(wild_pairs())
def test_ccc_of_a_trace_with_itself_is_one(pair):
    y, _ = pair
    assume(np.ptp(y) > 0)
    assert abs(ccc(y, y) - 1.0) <= 1e-12
    assert abs(pcc(y, y) - 1.0) <= 1e-12


@PROPS
@given(wild_pairs())
def test_ccc_and_pcc_are_symmetric(pair):
    y, y_hat = pair
    assert ccc(y, y_hat) == pytest.approx(ccc(y_hat, y), abs=1e-12)
    assert pcc(y, y_hat) == pytest.approx(pcc(y_hat, y), abs=1e-12)


@PROPS
@given(pairs(), st.floats(0.1, 10.0), st.floats(-10.0, 10.0))
def test_pcc_is_affine_invariant_but_ccc_is_not(pair, scale, shift):
    y, y_hat = pair
    assume(np.ptp(y) > 0 and np.ptp(y_hat) > 0)
    assert pcc(y, scale * y_hat + shift) == pytest.approx(pcc(y, y_hat), abs=1e-9)
    assert pcc(y, 2 * y + 1) == pytest.approx(1.0, abs=1e-12)
    assert ccc(y, 2 * y + 1) < 1.0 - 1e-6


@PROPS
@given(wild_pairs())
def test_ccc_is_bounded_by_pcc(pair):
    y, y_hat = pair
    assert abs(ccc(y, y_hat)) <= abs(pcc(y, y_hat)) + 1e-12


@PROPS
@given(_lengths, _wild, st.data())
def test_constant_input_gives_zero_not_nan(n, level, data):
    other = data.draw(arrays(np.float64, n, elements=_wild))
    flat = np.full(n, level)
    for f in (ccc, pcc):
        assert f(flat, other) == 0.0
        assert f(other, flat) == 0.0
        assert f(flat, flat) == 0.0           # both constant and equal: 0/0 -> 0
        assert f(flat, flat + 1.0) == 0.0     # both constant, different


# --------------------------------------------------------------------------
# against references
# --------------------------------------------------------------------------

@PROPS
@given(pairs(min_len=3))
def test_matches_audmetric_scipy_and_the_textbook_formula(pair):
    y, y_hat = pair
    assume(np.ptp(y) > 0 and np.ptp(y_hat) > 0)
    assert ccc(y, y_hat) == pytest.approx(audmetric.concordance_cc(y, y_hat), abs=1e-10)
    assert ccc(y, y_hat) == pytest.approx(population_ccc(y, y_hat), abs=1e-10)
    assert pcc(y, y_hat) == pytest.approx(scipy.stats.pearsonr(y, y_hat)[0], abs=1e-10)


def test_population_and_sample_ccc_differ_for_small_n_by_the_predicted_factor():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    y_hat = np.array([1.0, 2.0, 2.0, 5.0])
    n = len(y)
    pop = ccc(y, y_hat)
    smp = sample_ccc(y, y_hat)
    # population, by hand: means 1.5 / 2.5, var 1.25 / 2.25, cov 1.5
    assert pop == pytest.approx(3.0 / 4.5, abs=1e-12)
    # sample statistics weigh the squared mean difference D by (n-1)/n ...
    d = (y.mean() - y_hat.mean()) ** 2
    assert smp == pytest.approx(3.0 / (3.5 + d * (n - 1) / n), abs=1e-12)
    # ... so CCC_sample / CCC_pop = 1 / (1 - D / (n (var_y + var_h + D)))
    assert smp / pop == pytest.approx(1.0 / (1.0 - d / (n * 4.5)), abs=1e-12)
    assert smp - pop > 0.03                      # 0.7059 vs 0.6667: visible at n = 4
    # equal means: the two conventions agree exactly
    assert sample_ccc(y, y_hat - 1.0) == pytest.approx(ccc(y, y_hat - 1.0), abs=1e-12)


def test_population_and_sample_ccc_agree_for_large_n():
    rng = np.random.default_rng(0)
    for n in (10, 256, 12_600):
        y = rng.normal(size=n)
        y_hat = 0.5 * y + rng.normal(size=n) + 0.5   # offset, so they do differ
        rel = abs(sample_ccc(y, y_hat) - ccc(y, y_hat)) / abs(ccc(y, y_hat))
        assert 0 < rel <= 1.0 / (n - 1)


# --------------------------------------------------------------------------
# shapes and errors
# --------------------------------------------------------------------------

def test_per_task_columns_and_axis():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(50, 3))
    y_hat = y + rng.normal(size=(50, 3))
    y_hat[:, 2] = 4.0                                   # a flat task
    per_task = ccc(y, y_hat)
    assert isinstance(per_task, np.ndarray) and per_task.shape == (3,)
    for m in range(3):
        assert per_task[m] == pytest.approx(ccc(y[:, m], y_hat[:, m]), abs=1e-14)
        assert pcc(y, y_hat)[m] == pytest.approx(pcc(y[:, m], y_hat[:, m]), abs=1e-14)
    assert per_task[2] == 0.0
    np.testing.assert_allclose(ccc(y.T, y_hat.T, axis=1), per_task, atol=1e-14)


def test_exact_values_and_python_float():
    y = np.array([-1.0, 1.0, 1.0, -1.0])
    assert ccc(y, y) == 1.0
    assert ccc(y, -y) == -1.0
    assert ccc(y, y + 1.0) == pytest.approx(2 / 3, abs=1e-15)
    assert ccc(y, 2 * y) == pytest.approx(0.8, abs=1e-15)
    assert ccc(list(y), list(y)) == 1.0             # lists are fine
    assert ccc(y.astype(np.float32), y) == 1.0      # computed in float64


def test_large_offsets_and_tiny_scales_are_handled():
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    y_hat = y + rng.normal(size=200)
    ref = ccc(y, y_hat)
    assert ccc(y * 1e-200, y_hat * 1e-200) == pytest.approx(ref, abs=1e-12)
    assert ccc(y * 1e200, y_hat * 1e200) == pytest.approx(ref, abs=1e-12)
    assert ccc(y + 1e6, y_hat + 1e6) == pytest.approx(ref, abs=1e-8)


def test_nan_is_rejected_with_a_message():
    y = np.array([0.0, 1.0, np.nan])
    with pytest.raises(ValueError, match="y contains 1 NaN"):
        ccc(y, np.zeros(3))
    with pytest.raises(ValueError, match="y_hat contains 1 NaN"):
        pcc(np.zeros(3), y)
    with pytest.raises(ValueError, match="infinite"):
        ccc(np.array([0.0, np.inf]), np.zeros(2))


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(5,\).*\(4,\)"):
        ccc(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(5, 3\)"):
        pcc(np.zeros((5, 2)), np.zeros((5, 3)))


def test_fewer_than_two_samples_is_an_error():
    for f in (ccc, pcc):
        with pytest.raises(ValueError, match="at least 2"):
            f([1.0], [1.0])
        with pytest.raises(ValueError, match="at least 2"):
            f(np.zeros((1, 3)), np.zeros((1, 3)))
    assert ccc([0.0, 1.0], [0.0, 1.0]) == 1.0        # two are enough


# --------------------------------------------------------------------------
# mean_ccc
# --------------------------------------------------------------------------

def test_mean_ccc_pooled_and_per_recording_on_a_known_case():
    # levels right, within-recording movement wrong
    ys = [np.array([0.0, 1.0]), np.array([10.0, 11.0])]
    y_hats = [np.array([1.0, 0.0]), np.array([11.0, 10.0])]
    # pooled: means 5.5 / 5.5, variances 25.25, covariance 24.75
    assert mean_ccc(ys, y_hats) == pytest.approx(49.5 / 50.5, abs=1e-12)
    assert mean_ccc(ys, y_hats, how="pooled") == pytest.approx(49.5 / 50.5, abs=1e-12)
    assert mean_ccc(ys, y_hats, how="per_recording") == pytest.approx(-1.0, abs=1e-12)


def test_mean_ccc_per_task_and_unequal_lengths():
    rng = np.random.default_rng(3)
    ys = [rng.normal(size=(n, 3)) for n in (30, 80, 5)]
    y_hats = [y + rng.normal(size=y.shape) + k for k, y in enumerate(ys)]
    pooled = mean_ccc(ys, y_hats)
    per_rec = mean_ccc(ys, y_hats, how="per_recording")
    assert pooled.shape == per_rec.shape == (3,)
    np.testing.assert_allclose(pooled, ccc(np.concatenate(ys), np.concatenate(y_hats)), atol=1e-14)
    # unweighted: the 5-frame recording counts as much as the 80-frame one
    np.testing.assert_allclose(per_rec, np.mean([ccc(a, b) for a, b in zip(ys, y_hats)], axis=0),
                               atol=1e-14)


def test_mean_ccc_errors():
    a = [np.zeros((4, 2)), np.ones((6, 2))]
    with pytest.raises(ValueError, match="how must be"):
        mean_ccc(a, a, how="mean")
    with pytest.raises(ValueError, match="2 recordings .* 1"):
        mean_ccc(a, a[:1])
    with pytest.raises(ValueError, match="at least one"):
        mean_ccc([], [])
    with pytest.raises(ValueError, match=r"recording 1: .*\(6, 2\).*\(6, 3\)"):
        mean_ccc(a, [np.zeros((4, 2)), np.ones((6, 3))])
    with pytest.raises(ValueError, match="recording 1 has shape"):
        mean_ccc([np.zeros((4, 2)), np.zeros((4, 3))], [np.zeros((4, 2)), np.zeros((4, 3))])
    with pytest.raises(ValueError, match="recording 1: .*at least 2"):
        mean_ccc([np.zeros(4), np.zeros(1)], [np.zeros(4), np.zeros(1)], how="per_recording")
    with pytest.raises(TypeError, match="list of arrays"):
        mean_ccc(np.zeros((10, 3)), np.zeros((10, 3)))


# --------------------------------------------------------------------------
# rolling_ccc
# --------------------------------------------------------------------------

def rolling_by_loop(y, y_hat, window):
    out = np.zeros(y.shape, dtype=np.float64)
    for t in range(len(y)):
        s = max(0, t - window + 1)
        if t - s + 1 >= 2:
            out[t] = ccc(y[s:t + 1], y_hat[s:t + 1])
    return out


@pytest.mark.parametrize("window", [1, 2, 7, 100, 1000])
def test_rolling_ccc_matches_a_direct_loop(window):
    rng = np.random.default_rng(4)
    t = np.arange(400)
    y = np.sin(t / 15) + 0.1 * rng.normal(size=400)
    y_hat = np.where(t < 200, y, -y) + 0.3 * rng.normal(size=400)
    y[250:320] = 0.25          # a flat stretch of annotation
    y_hat[300:330] = -1.0      # and a flat stretch of prediction
    got = rolling_ccc(y, y_hat, window=window)
    assert got.shape == (400,)
    assert not np.any(np.isnan(got))
    np.testing.assert_allclose(got, rolling_by_loop(y, y_hat, window), atol=1e-9)
    assert got[0] == 0.0
    if window >= 400:          # window longer than the trace: expanding window
        assert got[-1] == pytest.approx(ccc(y, y_hat), abs=1e-9)
    if window == 1:
        assert np.all(got == 0.0)
    if window == 7:            # windows inside the flat stretch are exactly 0
        assert np.all(got[256:320] == 0.0)


def test_rolling_ccc_is_safe_far_from_zero_and_per_task():
    rng = np.random.default_rng(5)
    y = rng.normal(size=(3000, 2))
    y_hat = y + rng.normal(size=(3000, 2))
    ref = rolling_ccc(y, y_hat, window=100)
    assert ref.shape == (3000, 2)
    # a shared offset of 1e6 would wreck naive running sums of squares
    np.testing.assert_allclose(rolling_ccc(y + 1e6, y_hat + 1e6, window=100), ref, atol=1e-6)
    np.testing.assert_allclose(ref[:, 1], rolling_ccc(y[:, 1], y_hat[:, 1], window=100), atol=1e-12)
    np.testing.assert_allclose(ref[-1], ccc(y[-100:], y_hat[-100:]), atol=1e-9)


def test_rolling_ccc_errors():
    with pytest.raises(ValueError, match="window"):
        rolling_ccc(np.zeros(5), np.zeros(5), window=0)
    with pytest.raises(ValueError, match="window"):
        rolling_ccc(np.zeros(5), np.zeros(5), window=2.5)
    with pytest.raises(ValueError, match="NaN"):
        rolling_ccc(np.array([0.0, np.nan]), np.zeros(2))
    with pytest.raises(ValueError, match=r"\(5,\).*\(4,\)"):
        rolling_ccc(np.zeros(5), np.zeros(4))


# --------------------------------------------------------------------------
# module hygiene
# --------------------------------------------------------------------------

def test_every_public_function_documents_shapes_and_examples():
    for name in metrics.__all__:
        doc = getattr(metrics, name).__doc__
        assert "Parameters" in doc and "Returns" in doc and "Examples" in doc, name
        assert "(T,)" in doc or "(T_i,)" in doc, name


def test_metrics_does_not_import_torch():
    code = "import sys, cerlib.metrics; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
