"""Feature images against a direct loop over Eq. (1)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cerlib import feature_images
from cerlib.framing import frame_offsets, gather_images, pad_features


def eq1_loop(x, n_frames, stride):
    """The consistent reading of Eq. (1), written as plainly as possible."""
    T, P = x.shape
    out = np.empty((T, P, n_frames), x.dtype)
    for l in range(T):
        for j, k in enumerate(range(-n_frames // 2 + 1, n_frames // 2 + 1)):
            out[l, :, j] = x[min(max(l + k * stride, 0), T - 1)]
    return out


@settings(max_examples=60, deadline=None)
@given(
    T=st.integers(1, 70),
    P=st.integers(1, 5),
    half=st.integers(1, 6),
    stride=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_matches_direct_loop_numpy_and_torch(T, P, half, stride, seed):
    x = np.random.default_rng(seed).normal(size=(T, P)).astype(np.float32)
    expected = eq1_loop(x, 2 * half, stride)
    np.testing.assert_array_equal(feature_images(x, 2 * half, stride), expected)
    np.testing.assert_array_equal(feature_images(torch.from_numpy(x), 2 * half, stride).numpy(), expected)


def test_paper_defaults_shape_and_columns():
    x = np.arange(300, dtype=np.float32)[:, None].repeat(63, axis=1)
    images = feature_images(x)
    assert images.shape == (300, 63, 20)
    # frame l sits in column N/2 - 1 = 9; the columns run from l - 90 to l + 100
    assert images[150, 0, 9] == 150
    assert images[150, 0, 0] == 60 and images[150, 0, -1] == 250
    assert frame_offsets().tolist() == list(range(-90, 101, 10))


def test_is_a_view_not_n_copies():
    x = np.random.default_rng(0).normal(size=(5000, 8)).astype(np.float32)
    images = feature_images(x, 60, 10)
    assert images.base is not None and not images.flags.owndata
    assert not images.flags.writeable  # a student cannot corrupt every image through one
    t = torch.from_numpy(x)
    timg = feature_images(t, 60, 10)
    padded_storage = timg.untyped_storage().nbytes()
    assert padded_storage == (5000 + 59 * 10) * 8 * 4  # one padded copy, not 60


def test_one_hour_at_n60_grows_memory_by_a_fraction_of_a_copy():
    import tracemalloc

    x = np.zeros((60 * 3600, 63), np.float32)  # one hour at 60 fps, 54 MB
    tracemalloc.start()
    images = feature_images(x, 60, 10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert images.shape == (216000, 63, 60)
    full_copy = images.shape[0] * 63 * 60 * 4  # what N copies would cost: 3.3 GB
    assert peak < 0.05 * full_copy, f"framing allocated {peak / 2**20:.0f} MiB"


def test_gather_matches_view_across_recordings():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 3)), rng.normal(size=(25, 3))
    pa, pb = pad_features(a, 6, 4), pad_features(b, 6, 4)
    bank = np.concatenate([pa, pb])
    rows = np.array([0, 39, len(pa) + 0, len(pa) + 24, 17])
    got = gather_images(bank, rows, 6, 4)
    want = np.stack([feature_images(a, 6, 4)[0], feature_images(a, 6, 4)[39],
                     feature_images(b, 6, 4)[0], feature_images(b, 6, 4)[24], feature_images(a, 6, 4)[17]])
    np.testing.assert_array_equal(got, want)
    tbank = torch.from_numpy(bank)
    np.testing.assert_array_equal(gather_images(tbank, torch.from_numpy(rows), 6, 4).numpy(), want)


@pytest.mark.parametrize("n_frames", [0, 3, 21, 2.5])
def test_rejects_odd_or_bad_n(n_frames):
    with pytest.raises(ValueError, match="even integer"):
        feature_images(np.zeros((10, 2)), n_frames, 10)


def test_rejects_bad_shapes_and_stride():
    with pytest.raises(ValueError, match=r"\(T, P\)"):
        feature_images(np.zeros(10))
    with pytest.raises(ValueError, match=r"\(T, P\)"):
        feature_images(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="stride"):
        feature_images(np.zeros((10, 2)), 4, 0)


def test_one_index_grid_for_views_gathers_and_padding():
    # frame_offsets is the single source: what the view and the gather read, and the padding
    x = np.arange(50, dtype=np.float32)[:, None]
    for n, t in ((4, 3), (20, 10), (6, 1)):
        off = frame_offsets(n, t)
        want = np.clip(np.arange(50)[:, None] + off, 0, 49).astype(np.float32)
        np.testing.assert_array_equal(feature_images(x, n, t)[:, 0], want)
        padded = pad_features(x, n, t)
        assert len(padded) == 50 + off[-1] - off[0] and padded[-off[0], 0] == 0
        rows = np.arange(50)  # frame l of a lone recording sits at padded row l + (-off[0]) - (-off[0])
        np.testing.assert_array_equal(gather_images(padded, rows, n, t)[:, 0], want)


def test_gather_without_copy_is_the_transposed_view():
    p = torch.randn(40, 3)
    rows = torch.tensor([0, 5, 7])
    view = gather_images(p, rows, 4, 2, contiguous=False)
    assert not view.is_contiguous() and view.transpose(1, 2).is_contiguous()
    torch.testing.assert_close(view, gather_images(p, rows, 4, 2), rtol=0, atol=0)
    np.testing.assert_array_equal(gather_images(p.numpy(), rows.numpy(), 4, 2, contiguous=False), view.numpy())
