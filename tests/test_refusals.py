"""Faults a user or a damaged file can bring in, each refused or warned by name, nothing lost or misplaced."""
from __future__ import annotations

import pytest

from cerlib.data import DatasetError, load_corpus


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
