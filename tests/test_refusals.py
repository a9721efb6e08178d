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


def _edit_wav(path, fn):
    import soundfile as sf

    wave, sr = sf.read(path, dtype="float32")
    sf.write(path, fn(wave), sr, subtype="FLOAT")


def test_a_wav_with_a_dc_offset_warns_naming_the_file_and_the_warning_survives_the_cache(tiny, tmp_path):
    path = tiny / "recola" / "recordings_audio" / "train_2.wav"
    _edit_wav(path, lambda w: w + 0.3)
    for _ in range(2):     # computed, then read from the cache: the warning is given both times
        with pytest.warns(DatasetWarning, match=r"train_2\.wav has a DC offset of \+0\.30"):
            load(tiny / "recola", cache_dir=tmp_path / "cache")


def test_stereo_channels_that_cancel_warn_naming_the_file(tiny):
    import numpy as np

    path = tiny / "recola" / "recordings_audio" / "dev_1.wav"
    _edit_wav(path, lambda w: np.stack([w, -w], axis=1))
    with pytest.warns(DatasetWarning, match=r"dev_1\.wav: its 2 channels cancel when mixed to mono"):
        load(tiny / "recola")


def test_clean_and_ordinary_stereo_audio_gives_no_audio_warning(tiny):
    import warnings

    import numpy as np

    path = tiny / "recola" / "recordings_audio" / "dev_1.wav"
    _edit_wav(path, lambda w: np.stack([w, 0.5 * w + 0.01 * np.sin(np.arange(len(w)))], axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatasetWarning)
        load(tiny / "recola")


def test_arff_rows_missing_their_last_values_are_refused_by_line(tiny):
    path = tiny / "recola" / "features_video_geometric" / "train_3.arff"
    lines = path.read_text().splitlines()
    i = next(n for n, l in enumerate(lines) if l.strip().lower() == "@data") + 1 + 20
    n_values = len(lines[i].split(","))
    lines[i] = ",".join(lines[i].split(",")[:-3])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=rf"train_3\.arff: data row at line {i + 1} has {n_values - 3} values, "
                                           rf"expected {n_values}"):
        load(tiny / "recola")


def test_enclosing_dataset_finds_either_layout_and_not_an_ordinary_folder(tiny, tmp_path):
    from cerlib.data import enclosing_dataset

    assert enclosing_dataset(tiny / "recola" / "recordings_audio" / "new" / "x.csv") == (tiny / "recola").resolve()
    assert enclosing_dataset(tiny / "creativeit" / "annotations") == (tiny / "creativeit").resolve()
    assert enclosing_dataset(tiny) is None and enclosing_dataset(tmp_path / "out") is None
    (tmp_path / "project" / "mocap").mkdir(parents=True)     # a folder that merely holds a mocap/ folder
    assert enclosing_dataset(tmp_path / "project" / "predictions") is None
