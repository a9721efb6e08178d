"""Faults a user or a damaged file can bring in, each refused or warned by name, nothing lost or misplaced."""
from __future__ import annotations

import pytest

from cerlib.data import DatasetError, DatasetWarning, load_corpus, read_ratings


def load(path, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("cache_dir", False)
    return load_corpus(path, **kw)


def _rename_first_recording(index, new_name):
    lines = index.read_text().splitlines()
    row = lines[1].split(",")
    row[0] = new_name
    lines[1] = ",".join(row)
    index.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("how", ["parent", "absolute", "subfolder"])
def test_a_recording_name_that_is_not_a_file_stem_is_refused_at_load_time(tiny, how):
    root = tiny / "creativeit"
    first = (root / "recordings.csv").read_text().splitlines()[1].split(",")[0]
    if how == "parent":     # audio/../pwn.wav etc. exist, so only the name check can stop it
        name = "../pwn"
        for sub, ext in [("audio", ".wav"), ("mocap", ".bvh")]:
            (root / sub / f"{first}{ext}").rename(root / f"pwn{ext}")
        for task in ("activation", "valence", "dominance"):
            (root / "annotations" / task / f"{first}.csv").rename(root / "annotations" / f"pwn_{task}.csv")
    elif how == "absolute":
        name = str(root / "annotations" / "activation" / first)
    else:
        name = f"x/{first}"
    _rename_first_recording(root / "recordings.csv", name)
    with pytest.raises(DatasetError, match=r"recordings\.csv, line 2: recording .* is not a file stem"):
        load(root)


def test_every_output_file_of_predict_data_stays_inside_out(tmp_path):
    from cerlib.__main__ import UsageError, _output_in

    out = tmp_path / "out"
    out.mkdir()
    assert _output_in(out, "s1_i01_A01", ".csv") == out / "s1_i01_A01.csv"
    for name in ("../pwn", str(tmp_path / "labels"), "a/b", "..", ""):
        with pytest.raises(UsageError, match="outside --out"):
            _output_in(out, name, ".csv")


def test_a_ratings_file_with_a_byte_order_mark_is_read(tiny):
    """Excel writes UTF-8 CSV files with a byte-order mark before 'time'."""
    import numpy as np

    path = tiny / "recola" / "ratings_individual" / "valence" / "train_2.csv"
    before = load(tiny / "recola")["train_2"].labels
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    np.testing.assert_array_equal(load(tiny / "recola")["train_2"].labels, before)
    assert read_ratings(path)[2][0] == "FM1"


def test_a_ratings_header_that_lost_a_rater_name_says_so(tiny):
    path = tiny / "recola" / "ratings_individual" / "arousal" / "train_1.csv"
    lines = path.read_text().splitlines()
    lines[0] = ";".join(lines[0].split(";")[:-1])          # the last rater's name is gone
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"train_1\.csv: the header names 6 columns .* but the rows hold 7 "
                                           r"values: a rater name is missing from the header"):
        load(tiny / "recola")
