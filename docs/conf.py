"""Sphinx configuration of the course website.

The site is built from the notebooks' STORED outputs (``nb_execution_mode =
"off"``): nothing is re-executed, so a build takes seconds and shows exactly
what ``.ci/execute-notebooks`` stored and nbval checks. Everything the build
and the pages need is installed by ``pip install -e ".[docs]"``; nothing is
downloaded at build time or when a page is read (the book theme bundles its
fonts and scripts, and MathJax is copied from ``sphinx-mathjax-offline``).
Jupyter Book 2 (mystmd) was not chosen because it downloads its site theme
when it builds.

The notebooks, their README and solutions are copied into ``docs/notebooks/``
when the build starts (Sphinx reads sources from this folder only), and the
API reference is generated into ``docs/api/`` from the package itself, so a new
notebook or module appears without editing this folder. Both are ignored by
git. The READMEs and the changelog are included where they are.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import shutil
import sys
from pathlib import Path

from sphinx.pycode import ModuleAnalyzer

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import cerlib  # noqa: E402  (after the path: the checkout being documented)

project = "cerlib"
author = "The cerlib contributors"
copyright = "2026, The cerlib contributors"
release = version = cerlib.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",   # MathJax 3 served from _static, not a CDN
]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}

# Notebooks: stored outputs only.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# API reference from the NumPy docstrings.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_param = False      # parameter types as text: "path" or "features" are not cross-references
napoleon_custom_sections = [("Shapes", "notes_style")]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": True}
autodoc_mock_imports: list[str] = []

html_theme = "sphinx_book_theme"
html_title = f"cerlib {release}"
html_theme_options = {
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "navigation_with_keys": False,
}
html_last_updated_fmt = None


# --- sources copied from the repository -------------------------------------------------------------

def _copy_sources() -> None:
    """Copy the notebooks, their README and their solutions into ``docs/notebooks/``."""
    notebooks = DOCS / "notebooks"
    if notebooks.exists():
        shutil.rmtree(notebooks)
    (notebooks / "solutions").mkdir(parents=True)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        shutil.copy2(path, notebooks / path.name)
    shutil.copy2(ROOT / "notebooks" / "README.md", notebooks / "README.md")
    for path in sorted((ROOT / "notebooks" / "solutions").glob("*.md")):
        shutil.copy2(path, notebooks / "solutions" / path.name)


# --- the API reference -------------------------------------------------------------------------------

def public_modules() -> list[str]:
    """Every public module of ``cerlib`` (no leading underscore anywhere in its name), in source order."""
    names = []
    for info in pkgutil.walk_packages(cerlib.__path__, "cerlib."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    return names


def public_names(module) -> list[str]:
    """A module's public names: its ``__all__``, else what it defines without a leading underscore."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [n for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__]


def _imported_from(module_name: str, attr: str) -> str | None:
    """The module ``attr`` is imported from in ``module_name``'s source, or None if it is assigned there."""
    module = importlib.import_module(module_name)
    tree = ast.parse(inspect.getsource(module))
    package = module_name if hasattr(module, "__path__") else module_name.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == attr for a in node.names):
            return importlib.util.resolve_name("." * node.level + (node.module or ""), package)
    return None


def _home(obj, fallback: str, attr: str | None = None) -> str:
    """The module that defines ``obj`` (where the API reference documents it)."""
    home = getattr(obj, "__module__", None)
    if isinstance(home, str) and home.startswith("cerlib.") and not inspect.ismodule(obj):
        return home
    if attr is not None and _directive(obj) == "autodata":       # a constant: follow the imports
        source = _imported_from(fallback, attr)
        if source and source.startswith("cerlib."):
            return _home(obj, source, attr)
    return fallback


def _directive(obj) -> str:
    if inspect.isclass(obj):
        return "autoclass"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "autofunction"
    return "autodata"


def _short_repr(obj, limit: int = 120) -> str:
    text = " ".join(repr(obj).split())
    return text if len(text) <= limit else text[:limit - 4] + " ..."


def _module_page(name: str) -> str:
    module = importlib.import_module(name)
    title = f"``{name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {name}", "   :no-members:", ""]
    here, elsewhere = [], []
    for attr in public_names(module):
        obj = getattr(module, attr)
        home = _home(obj, name, attr)
        (here if home == name else elsewhere).append((attr, obj, home))
    documented = ModuleAnalyzer.for_module(name).find_attr_docs() if here else {}
    for attr, obj, _ in here:
        kind = _directive(obj)
        if kind == "autodata" and ("", attr) not in documented:
            # No ``#:`` comment: autodoc would show the docstring of the value's type (dict, tuple).
            lines += [f".. py:data:: {attr}", f"   :value: {_short_repr(obj)}", ""]
            continue
        lines += [f".. {kind}:: {name}.{attr}"]
        if kind == "autoclass":
            lines += ["   :members:"]
        lines += [""]
    if elsewhere:
        lines += ["Also available here, documented where they are defined:", ""]
        lines += [f"- :py:obj:`{attr} <{home}.{attr}>`" for attr, _, home in elsewhere] + [""]
    return "\n".join(lines)


def _write_api() -> None:
    api = DOCS / "api"
    if api.exists():
        shutil.rmtree(api)
    api.mkdir()
    modules = public_modules()
    lines = ["API reference", "=============", "",
             "Every public name of ``cerlib``, generated from the NumPy docstrings (each with its shapes "
             "and an example that the tests run). The top-level names below are imported lazily "
             "from the modules that define them.", "",
             ".. list-table::", "   :header-rows: 1", "", "   * - ``from cerlib import``", "     - defined in"]
    for attr in cerlib.__all__:
        home = _home(getattr(cerlib, attr), "cerlib", attr)
        lines += [f"   * - :py:obj:`{attr} <{home}.{attr}>`", f"     - :py:mod:`{home}`"]
    lines += ["", ".. toctree::", "   :maxdepth: 1", "   :caption: Modules (alphabetical)", ""]
    lines += [f"   {name}" for name in modules] + [""]
    (api / "index.rst").write_text("\n".join(lines))
    for name in modules:
        (api / f"{name}.rst").write_text(_module_page(name))


_copy_sources()
_write_api()
