"""One Layout object per dataset: its knowledge lives there and nowhere else."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cerlib import example_data, load_corpus
from cerlib.data import DatasetError
from cerlib.experiments import DATASET_TASKS
from cerlib.layouts import CREATIVEIT, LAYOUTS, RECOLA, TASKS, Layout, detect_layout, layout_of
from cerlib.models import DEFAULT_TASKS

ROOT = Path(__file__).resolve().parents[1]
DATASET_NAMES = {layout.name for layout in LAYOUTS}


def _dataset_switches(source: str, name: str) -> list[str]:
    """Comparisons with a dataset's name (``kind == "creativeit"``, ``"recola" in which``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value in DATASET_NAMES for o in operands):
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return sorted(found)


def _task_tuples(source: str, name: str) -> list[str]:
    """Literal tuples or lists of task names (a second definition of a layout's tasks)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) >= 2 and all(
                isinstance(e, ast.Constant) and e.value in TASKS for e in node.elts):
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_but_layouts_switches_on_a_dataset_name_or_lists_its_tasks():
    # the checks are live: they find the old string switch and the old task tuple
    probe = ('layout = A if kind == "creativeit" else B\nif "recola" in which:\n    pass\n'
             'TASKS = ("activation", "valence", "dominance")\nname = "creativeit"\n')
    assert _dataset_switches(probe, "probe") == ["probe:1: kind == 'creativeit'", "probe:2: 'recola' in which"]
    assert _task_tuples(probe, "probe") == ["probe:4: ('activation', 'valence', 'dominance')"]

    switches, tuples = [], []
    for path in sorted((ROOT / "cerlib").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name == "cerlib/layouts.py":
            continue
        source = path.read_text()
        switches += _dataset_switches(source, name)
        tuples += _task_tuples(source, name)
    assert not switches, "dataset knowledge belongs to its Layout (cerlib.layouts):\n" + "\n".join(switches)
    assert not tuples, "task names are defined once, by the layouts:\n" + "\n".join(tuples)


def test_every_task_list_is_the_layouts_own():
    assert DATASET_TASKS == {"creativeit": CREATIVEIT.tasks, "recola": RECOLA.tasks}
    assert DEFAULT_TASKS is CREATIVEIT.tasks
    assert TASKS == ("activation", "valence", "dominance")
    from cerlib.stubs.writers import CREATIVEIT_TASKS
    assert CREATIVEIT_TASKS is CREATIVEIT.tasks


@pytest.mark.parametrize("name", ["creativeit", "recola"])
def test_a_loaded_corpus_carries_its_layout_and_folds_by_its_rule(name):
    corpus = load_corpus(example_data(name), progress=False)
    layout = layout_of(example_data(name))
    assert isinstance(layout, Layout) and corpus.layout is layout and detect_layout(example_data(name)) == name
    assert (corpus.name, corpus.tasks, corpus.modalities) == (layout.name, layout.tasks, layout.modalities)
    assert all(r.tasks == layout.tasks and set(r.features) == set(layout.modalities) for r in corpus)
    folds = corpus.folds()
    assert [f.name for f in folds] == [f.name for f in layout.folds(corpus, valid_sessions=1, valid_speakers=2,
                                                                     seed=0)]
    assert layout.parts(corpus.recordings) in repr(corpus)


def test_each_layout_recognises_its_own_folder_only(tmp_path):
    assert [layout.recognises(example_data("creativeit")) for layout in LAYOUTS] == [True, False]
    assert [layout.recognises(example_data("recola")) for layout in LAYOUTS] == [False, True]
    # a lone mocap/ folder is read as CreativeIT, but is not enough to refuse writing into it
    (tmp_path / "mocap").mkdir()
    assert CREATIVEIT.recognises(tmp_path) and not CREATIVEIT.recognises(tmp_path, strict=True)
    (tmp_path / "audio").mkdir()
    assert CREATIVEIT.recognises(tmp_path, strict=True)


def test_an_unknown_folder_lists_every_layout(tmp_path):
    with pytest.raises(DatasetError) as err:
        layout_of(tmp_path)
    message = str(err.value)
    assert "neither the CreativeIT nor the RECOLA layout" in message
    assert all(layout.listing in message for layout in LAYOUTS)


def test_gold_standard_is_refused_by_the_layout_that_has_none():
    with pytest.raises(ValueError, match="gold_standard=True is for RECOLA"):
        load_corpus(example_data("creativeit"), gold_standard=True, progress=False)
    assert load_corpus(example_data("recola"), gold_standard=True, progress=False).recordings
