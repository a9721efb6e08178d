"""Warnings a green run used to print, fixed where they arose (each would come back here as an error)."""
import warnings

import numpy as np

from cerlib.formats import read_arff
from cerlib.stubs import make_stubs


def test_a_flat_rater_gets_no_weight_instead_of_a_nan_correlation(tmp_path):
    # seed 2, 10-s RECOLA recordings with rater-actor offsets: one rater's trace of one recording is flat
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        root = make_stubs(tmp_path, which="recola", seed=2, recola_train=6, recola_dev=2, recola_duration_s=10.0,
                          rater_actor_bias_sd=0.3)["recola"]
    for path in sorted((root / "ratings_gold_standard").rglob("*.arff")):
        _, gold = read_arff(path)
        assert np.isfinite(gold["GoldStandard"].to_numpy()).all(), path.name
