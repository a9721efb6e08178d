"""Every module's docstring examples run and give what they show.

One example per public function is a promise of the course (librosa and
scikit-learn style): this keeps the examples true.
"""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest
import torch

import cerlib

MODULES = sorted(m.name.removeprefix("cerlib.") for m in pkgutil.walk_packages(cerlib.__path__, "cerlib.")
                 if not m.name.rsplit(".", 1)[-1].startswith("_"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write here
    module = importlib.import_module(f"cerlib.{name}")
    result = doctest.testmod(module, extraglobs={"np": np, "torch": torch},
                             optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_public_functions_have_examples(name):
    module = importlib.import_module(f"cerlib.{name}")
    missing = [
        attr for attr in getattr(module, "__all__", [])
        if callable(getattr(module, attr)) and "Examples" not in (getattr(module, attr).__doc__ or "")
        and "Example" not in (getattr(module, attr).__doc__ or "")
    ]
    assert not missing, f"cerlib.{name}: public names without an example: {missing}"


def test_no_example_names_a_path_of_the_checkout():
    """Examples find data with cerlib.example_data, so they run wherever cerlib is installed (and here)."""
    import re
    from pathlib import Path

    bad = []
    for path in sorted(Path(cerlib.__file__).parent.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not re.match(r"\s*(>>>|\.\.\.) ", line):
                continue
            # a file inside the checkout's folders, or an example skipped because it names them
            if re.search(r"data_stubs/|benchmarks/", line) or ("+SKIP" in line and "data_stubs" in line):
                bad.append(f"{path.name}:{number}: {line.strip()}")
    assert not bad, "examples naming checkout paths (use cerlib.example_data):\n" + "\n".join(bad)
