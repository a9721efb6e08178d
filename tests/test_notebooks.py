"""The notebooks' stored state: what nbval needs to compare, and the course's shape.

nbval (run by the same `pytest`) re-executes every notebook and compares
outputs; these tests catch what it cannot: stripped or stale notebooks, stored
errors, missing sections.
"""
import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# What JupyterLab 4 writes when it saves a notebook on the python3 kernel: stored any other way, every
# notebook a student opens shows as modified in git, and pulling course updates conflicts.
JUPYTERLAB_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EXPECTED = ["00_start_here", "01_features", "02_data_and_splits", "03_framing", "04_model", "05_losses", "06_training",
            "07_experiments", "08_explorer"]
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def load(path):
    return json.loads(path.read_text())


def test_the_course_is_complete():
    names = [p.stem for p in PATHS]
    assert names[: len(EXPECTED)] == EXPECTED


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_stored_outputs_are_a_clean_top_to_bottom_run(path):
    cells = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, f"{path.name}: a code cell was not run (nbval would skip or fail it)"
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: cells were not run once, in order"
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{path.name}: stores an error output"
    assert sum(bool(c["outputs"]) for c in cells) >= len(cells) // 2, f"{path.name}: most cells store no output"
    streams = "".join(o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", []))
                      for c in cells for o in c["outputs"] if o["output_type"] == "stream")
    assert "it/s]" not in streams and "s/it]" not in streams, f"{path.name}: stores a progress bar"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_each_notebook_has_goals_exercises_and_open_questions(path):
    text = "\n".join("".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "markdown").lower()
    assert "learning goals" in text, f"{path.name}: no learning goals"
    assert "exercises" in text, f"{path.name}: no exercises"
    assert "paper leaves open" in text, f"{path.name}: does not say what the paper leaves open"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_nbval_markers_are_exact(path):
    """nbval recognises a marker only when the comment is exactly the marker:
    `# NBVAL_IGNORE_OUTPUT  (why)` silently leaves the cell compared."""
    markers = {"NBVAL_IGNORE_OUTPUT", "NBVAL_CHECK_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION"}
    for cell in load(path)["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if line.lstrip("# ").startswith("NBVAL"):
                assert line.lstrip("# ").strip() in markers and line.startswith("# NBVAL"), (
                    f"{path.name}: {line!r} is not an exact nbval marker; put the explanation on the next line")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_kernelspec_is_stored_as_jupyterlab_writes_it(path):
    assert load(path)["metadata"].get("kernelspec") == JUPYTERLAB_KERNELSPEC, (
        f"{path.name}: kernelspec differs from what JupyterLab writes; re-run it with .ci/execute-notebooks")


def widget_views_without_state(notebook):
    """Model ids of stored widget views whose state the notebook does not store."""
    state = notebook["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    stored = set(state.get("state", {}))
    return [o["data"][WIDGET_VIEW].get("model_id") for c in notebook["cells"] if c["cell_type"] == "code"
            for o in c["outputs"] if WIDGET_VIEW in o.get("data", {})
            and o["data"][WIDGET_VIEW].get("model_id") not in stored]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_stored_widget_view_points_at_a_missing_model(path):
    """A widget view saved without its model shows "Error displaying widget: model not found" on reopening
    (JupyterLab does not save widget state by default): store text, no output, or the state with it."""
    missing = widget_views_without_state(load(path))
    assert not missing, f"{path.name}: stores widget views whose models are not stored: {missing}"


def test_the_widget_check_sees_a_view_without_its_model():
    view = {"output_type": "display_data", "metadata": {},
            "data": {"text/plain": "HBox(...)", WIDGET_VIEW: {"model_id": "abc", "version_major": 2}}}
    notebook = {"metadata": {}, "cells": [{"cell_type": "code", "outputs": [view]}]}
    assert widget_views_without_state(notebook) == ["abc"]
    notebook["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"abc": {}}}}
    assert widget_views_without_state(notebook) == []


def test_readme_opens_the_course_rooted_at_the_repository():
    """Rooted at notebooks/, JupyterLab cannot open the README, cerlib/*.py or the data READMEs the notebooks
    point to; `jupyter lab notebooks/00...` alone roots it there (the file's folder)."""
    readme = (NOTEBOOKS.parent / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    course = next(line.strip() for line in section.splitlines() if "jupyter lab" in line)
    assert "--ServerApp.root_dir=." in course.split() and course.endswith("notebooks/00_start_here.ipynb"), course


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_notebook_reads_a_path_relative_to_its_folder(path):
    """Data come through cerlib (cerlib.examples.data_folder / example_data), so a notebook runs wherever it is."""
    sources = ["".join(c["source"]) for c in load(path)["cells"]]
    found = sorted({hit for s in sources for hit in ("../data_stubs", "../benchmarks") if hit in s})
    assert not found, f"{path.name} names {found}; use cerlib.examples.data_folder() or example_data()"


def test_a_notebook_copied_outside_the_repository_runs_top_to_bottom(tmp_path):
    import shutil

    import nbformat
    from nbclient import NotebookClient

    alone = tmp_path / "alone"
    alone.mkdir()
    copy = alone / "00_start_here.ipynb"
    shutil.copy(NOTEBOOKS / "00_start_here.ipynb", copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(alone)}}).execute()   # raises on the first error
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code) and not any(o.output_type == "error" for c in code for o in c.outputs)
    assert sorted(p.name for p in alone.iterdir()) == ["00_start_here.ipynb"]    # it wrote nothing beside itself


def _course_command():
    readme = (NOTEBOOKS.parent / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    line = next(line.strip() for line in section.splitlines() if "jupyter lab" in line)
    return line.split("jupyter lab", 1)[1].split()


def test_the_course_command_opens_notebook_00_and_saves_widget_state(tmp_path):
    """The README's JupyterLab options, started from the repository root: its URL opens notebook 00, and the
    course's settings make saving a notebook save its widget state (no "model not found" on reopening)."""
    import urllib.request

    from _browser import jupyterlab

    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None                                  # report the redirect instead of following it

    with jupyterlab(tmp_path, _course_command(), cwd=NOTEBOOKS.parent, token="course") as (base, log):
        try:
            urllib.request.build_opener(Keep).open(f"{base}/?token=course", timeout=10)
            location = None
        except urllib.error.HTTPError as redirect:
            location = redirect.headers["Location"]
        settings = json.loads(urllib.request.urlopen(
            f"{base}/lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin?token=course", timeout=10).read())
    printed = [line for line in log.read_text().splitlines() if f"{base}/" in line]
    assert location and location.split("?")[0].endswith("/lab/tree/notebooks/00_start_here.ipynb"), location
    assert any("/lab/tree/notebooks/00_start_here.ipynb" in line for line in printed), printed
    assert settings["schema"]["properties"]["saveState"]["default"] is True, settings["schema"]["properties"]
