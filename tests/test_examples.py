"""example_data finds the committed stubs in a checkout and writes the same corpora where there is none."""
import filecmp
import json
from pathlib import Path

import pytest

import cerlib
from cerlib import examples

ROOT = Path(__file__).resolve().parent.parent


def test_in_a_checkout_the_examples_are_the_committed_stubs():
    assert cerlib.example_data is examples.example_data
    assert examples.example_data("creativeit") == ROOT / "data_stubs" / "creativeit"
    assert examples.data_folder() == ROOT / "data_stubs"
    assert examples.data_folder("some/where") == Path("some/where")
    with pytest.raises(ValueError, match=r"name must be one of \['creativeit', 'recola'\], got 'avec'"):
        examples.example_data("avec")


def test_without_a_checkout_the_same_corpus_is_written_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(examples, "_CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setenv("CERLIB_CACHE", str(tmp_path / "cache"))
    folder = examples.example_data("recola")
    assert folder.parent.parent == tmp_path / "cache" and folder.name == "recola"
    committed = ROOT / "data_stubs" / "recola"
    written = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    # the committed instance, file for file (its README.md is documentation, not generated)
    assert written == sorted(p.relative_to(committed) for p in committed.rglob("*")
                             if p.is_file() and p.name != "README.md")
    same = [filecmp.cmp(folder / p, committed / p, shallow=False) for p in written]
    assert all(same), [str(p) for p, s in zip(written, same) if not s][:5]
    stamp = (folder / "stub_manifest.json").stat().st_mtime_ns
    assert examples.example_data("recola") == folder                       # found, not rewritten
    assert (folder / "stub_manifest.json").stat().st_mtime_ns == stamp
    assert [p.name for p in folder.parent.iterdir()] == ["recola"]         # no scratch folder left behind
    # a copy from another version of the simulation is replaced
    info = json.loads((folder / "stub_manifest.json").read_text())
    (folder / "stub_manifest.json").write_text(json.dumps({**info, "stubs_version": -1}))
    assert examples.example_data("recola") == folder
    assert json.loads((folder / "stub_manifest.json").read_text()) == info
