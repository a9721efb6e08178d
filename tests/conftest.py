"""Fixtures shared by the reader and cache tests: tiny generated corpora to copy and break."""
import shutil

import pytest

from cerlib.stubs import make_stubs

#: make_stubs knobs for tiny corpora: 6 CreativeIT recordings and 4 RECOLA ones of 6 s.
TINY = dict(creativeit_pairs=(1, 1, 1), creativeit_improvisations=(1, 1, 1), creativeit_duration_s=6.0,
            recola_train=3, recola_dev=1, recola_duration_s=6.0)


@pytest.fixture(scope="session")
def tiny_knobs():
    """The make_stubs knobs of the tiny corpora (a fresh dict each time)."""
    return dict(TINY)


@pytest.fixture(scope="session")
def tiny_source(tmp_path_factory):
    """Tiny generated corpora, written once per test run; never modified (copy them with ``tiny``)."""
    root = tmp_path_factory.mktemp("tiny")
    make_stubs(root, seed=7, **TINY)
    return root


@pytest.fixture
def tiny(tiny_source, tmp_path):
    """A private copy of the tiny corpora."""
    dst = tmp_path / "tiny"
    shutil.copytree(tiny_source, dst)
    return dst
