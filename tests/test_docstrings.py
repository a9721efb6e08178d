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
