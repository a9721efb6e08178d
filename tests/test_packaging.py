"""The project's promises about itself: dependencies in step, two README commands, CI runs the README's line."""
import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = pyproject()["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    text = (ROOT / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1]
    listed = {m.group(1).strip() for m in re.finditer(r"^\s+- (.+)$", pip_section, re.M)}
    listed.discard("-e .[dev]")
    assert listed == wanted
    assert "-e .[dev]" in pip_section  # the conda route installs this checkout


def test_readme_gives_two_command_lines_and_ci_runs_the_test_line():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]
    assert len(commands) == 2, commands
    assert commands[0].startswith("pip install") and "jupyter lab" in commands[0]
    assert commands[1].startswith("pip install") and commands[1].endswith("pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci and 'bash -c "$test_line"' in ci
    extracted = subprocess.run(
        ["awk", "/<!-- test-command -->/{found=1; next} found && /^    [^ ]/{sub(/^    /, \"\"); print; exit}",
         str(ROOT / "README.md")], capture_output=True, text=True, check=True).stdout.strip()
    assert extracted == commands[1]


def test_pytest_runs_the_notebooks_too():
    addopts = pyproject()["tool"]["pytest"]["ini_options"]["addopts"]
    assert "--nbval" in addopts and "--nbval-current-env" in addopts
    assert "notebooks" in pyproject()["tool"]["pytest"]["ini_options"]["testpaths"]


def test_paper_tables_ship_with_the_package_and_match_the_lazy_api():
    import cerlib
    from cerlib import paper

    assert len(paper.tables()) > 80 and set(paper.TABLE_COLUMNS) == set(paper.tables().columns)
    for name in cerlib.__all__:
        assert getattr(cerlib, name) is not None


def test_importing_metrics_does_not_load_torch():
    code = "import sys; from cerlib import ccc, rolling_ccc; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


NUMPY_FEATURES = {"np.exceptions": (1, 25), "np.unwrap(": (1, 21), "numpy.exceptions": (1, 25)}


def _numpy_floor():
    spec = next(d for d in pyproject()["project"]["dependencies"] if d.startswith("numpy"))
    return tuple(int(p) for p in spec.split(">=")[1].split(".")[:2])


def test_numpy_floor_covers_the_numpy_features_the_code_uses():
    import numpy

    floor = _numpy_floor()
    code = "\n".join(p.read_text() for p in (ROOT / "cerlib").rglob("*.py"))
    needed = {f: v for f, v in NUMPY_FEATURES.items() if f in code}
    assert "np.exceptions" in needed          # the check is live: metrics.py uses it
    for feature, version in needed.items():
        assert floor >= version, f"{feature} needs NumPy >= {version}, pyproject allows {floor}"
    assert tuple(int(p) for p in numpy.__version__.split(".")[:2]) >= floor


def test_wheel_builds_without_warnings_and_ships_the_paper_tables(tmp_path):
    """Build with the installed setuptools (no network), every warning an error."""
    import zipfile

    import setuptools

    need = tuple(int(x) for x in pyproject()["build-system"]["requires"][0].split(">=")[1].split(".")[:1])
    assert tuple(int(x) for x in setuptools.__version__.split(".")[:1]) >= need
    src = tmp_path / "src"                     # a copy: building writes build/ and *.egg-info
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (src / name).write_bytes((ROOT / name).read_bytes())
    import shutil
    shutil.copytree(ROOT / "cerlib", src / "cerlib", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    code = ("import sys; from setuptools import build_meta; "
            f"print(build_meta.build_wheel({str(out)!r}))")
    import os
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # else a warning by design
    run = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=src, capture_output=True, text=True,
                         env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Warning" not in run.stderr and "warning:" not in run.stderr.lower(), run.stderr[-3000:]
    wheel = out / run.stdout.strip().splitlines()[-1]
    names = zipfile.ZipFile(wheel).namelist()
    assert "cerlib/paperdata/tables.csv" in names and "cerlib/formats.py" in names
    shipped = ROOT / "cerlib" / "measured"
    for path in shipped.rglob("*"):   # the measured results notebooks 06 and 07 read, wherever cerlib is installed
        if path.is_file() and "__pycache__" not in path.parts:
            assert f"cerlib/{path.relative_to(shipped.parent).as_posix()}" in names, path
    assert {"cerlib/engine/loop.py", "cerlib/experiments/claims.py"} <= set(names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in meta
    import cerlib
    assert f"\nVersion: {cerlib.__version__}\n" in meta           # the one version string, read by setuptools
    assert "Requires-Python: >=3.11" in meta
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_one_version_string_read_by_pyproject_from_the_package():
    import cerlib

    project = pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cerlib.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", cerlib.__version__)
    for path in [ROOT / "CITATION.cff", ROOT / "environment.yml", *(ROOT / "cerlib").rglob("*.py")]:
        if path.name == "__init__.py" and path.parent.name == "cerlib":
            continue
        text = path.read_text()
        assert not re.search(r"""(?<![-\w])(version|__version__)\s*[:=]\s*["']?\d+\.\d+\.\d+""", text), \
            f"{path.relative_to(ROOT)} repeats a version string; read cerlib.__version__ instead"


def test_requires_python_covers_what_the_tests_import():
    floor = pyproject()["project"]["requires-python"]
    assert floor.startswith(">=")
    floor = tuple(int(p) for p in floor[2:].split("."))
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("*.py"))
    if re.search(r"^\s*import tomllib", tests, re.M):        # tomllib arrived in Python 3.11
        assert floor >= (3, 11), f"the tests import tomllib but requires-python allows {floor}"
    assert sys.version_info[:2] >= floor


def test_license_citation_and_changelog():
    import yaml

    import cerlib

    license_text = (ROOT / "LICENSE").read_text()
    assert pyproject()["project"]["license"] == "MIT" and license_text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in license_text
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    assert cff["title"] and cff["authors"] and cff["message"]
    (paper,) = [r for r in cff["references"] if "2011.00876" in r["url"]]
    assert paper["type"] == "article" and paper["year"] == 2020
    assert [a["family-names"] for a in paper["authors"]] == ["Köprü", "Erzin"]
    assert "Correlation Loss" in paper["title"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
    assert headings[0] == "Unreleased" and cerlib.__version__ in headings, headings


def test_readme_shows_the_docs_command_and_ci_builds_the_site_before_the_tests():
    readme = (ROOT / "README.md").read_text()
    after = readme.split("<!-- docs-command -->\n", 1)[1]
    line = after.splitlines()[0]
    assert line.startswith("    ") and not line.startswith("     "), line
    line = line.strip()
    assert line.startswith('pip install -e ".[docs]"') and "sphinx-build -W -b html docs docs/_build/html" in line
    docs = pyproject()["project"]["optional-dependencies"]["docs"]
    assert {d.split(">=")[0] for d in docs} >= {"sphinx", "myst-nb", "sphinx-book-theme"}
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("readme_line docs-command") < ci.index("readme_line test-command")
    assert 'bash -c "$docs_line"' in ci and "export CERLIB_REQUIRE_BROWSER=1" in ci
    assert ci.index("torch==") < ci.index("chromium") < ci.index('bash -c "$docs_line"')
    # the shell function .ci/run uses finds exactly the README's lines
    script = ci.split("readme_line() {", 1)[1].split("\n}", 1)[0]
    for marker, wanted in (("docs-command", line), ("test-command", None)):
        got = subprocess.run(["bash", "-c", f"readme_line() {{{script}\n}}; readme_line {marker}"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        assert got and (wanted is None or got == wanted), (marker, got)
    assert "docs/_build/" in (ROOT / ".gitignore").read_text().split()


def test_every_test_run_reports_its_slowest_tests():
    addopts = pyproject()["tool"]["pytest"]["ini_options"]["addopts"].split()
    assert "--durations=15" in addopts
    ci = (ROOT / ".ci" / "run").read_text()
    assert "CI test run took" in ci and "CI took" in ci


def test_notebooks_readme_says_how_to_get_the_stored_version_back():
    text = (ROOT / "notebooks" / "README.md").read_text()
    assert "git checkout -- notebooks/" in text and "model not found" in text
    settings = json.loads((ROOT / ".jupyter" / "lab" / "settings" / "overrides.json").read_text())
    assert settings["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True


def test_the_shipped_measurements_are_the_benchmarks_own():
    """cerlib/measured/ holds copies (benchmarks/ship_results.py) of files in benchmarks/results/: the same bytes."""
    root = Path(__file__).resolve().parent.parent
    shipped = root / "cerlib" / "measured"
    copies = [p for p in shipped.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".pt")]
    assert {"learning-curves/curves.csv", "reproduce-course/claims.csv"} <= {
        p.relative_to(shipped).as_posix() for p in copies}
    for copy in copies:
        rel = copy.relative_to(shipped).as_posix().replace("reproduce-course/figure2/runs/", "reproduce-course/runs/")
        assert copy.read_bytes() == (root / "benchmarks" / "results" / rel).read_bytes(), rel


# --------------------------------------------------------------------------- one file per concern
MAX_MODULE_LINES = 700
#: Private modules every cerlib module may import from (DESIGN.md: one shared helper module at the top).
SHARED_PRIVATE_MODULES = {"_util"}
#: Private names still imported across a module wall: none today. A new one fails the test below;
#: rename it public in its home module (kept out of ``__all__`` if package-internal) instead of adding it here.
KNOWN_PRIVATE_IMPORTS: set[str] = set()


def _private_imports(text: str, label: str) -> list[str]:
    """``label: from X import _name`` for every private cerlib name the module ``text`` imports."""
    found = []
    for node in ast.walk(ast.parse(text, label)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0 and (node.module or "").split(".")[0] != "cerlib":
            continue   # another package's names are its business
        source = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name.startswith("_") and not alias.name.startswith("__") \
                    and alias.name not in SHARED_PRIVATE_MODULES:
                found.append(f"{label}: from {source} import {alias.name}")
    return found


def test_no_module_of_cerlib_exceeds_700_lines():
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines())
             for p in (ROOT / "cerlib").rglob("*.py")}
    assert len(sizes) > 30 and "cerlib/stubs/writers.py" in sizes   # the walk sees the subpackages
    too_long = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them along their concerns): {too_long}"


def test_no_private_name_crosses_a_module_wall():
    # the check is live: it finds the private imports in a module written for the purpose
    probe = ("from .training import _secret\nfrom cerlib.stubs.simulate import _x as y\n"
             "from ._util import progress\nfrom . import _util\nfrom numpy import _private\n"
             "def f():\n    from ..data import _inside\n")
    assert _private_imports(probe, "probe") == ["probe: from .training import _secret",
                                                "probe: from cerlib.stubs.simulate import _x",
                                                "probe: from ..data import _inside"]

    found = {line for p in sorted((ROOT / "cerlib").rglob("*.py"))
             for line in _private_imports(p.read_text(), p.relative_to(ROOT).as_posix())}
    new = sorted(found - KNOWN_PRIVATE_IMPORTS)
    assert not new, "private names imported across modules (make them public in their home module):\n" \
        + "\n".join(new)
    assert not KNOWN_PRIVATE_IMPORTS - found, "fixed exceptions: remove them from KNOWN_PRIVATE_IMPORTS"


# --------------------------------------------------------------------------- one order of modules
#: cerlib's modules, first to last (CONTRIBUTING.md, "Code"; the package docstring): a module imports only from
#: the modules before it. A subpackage (``stubs``, ``engine``, ``experiments``) is one module here.
MODULE_ORDER = ("_util", "paper", "normaliser", "features", "formats", "corpus", "layouts", "cache", "data", "stubs",
                "examples", "framing", "metrics", "losses", "models", "device", "modelfile", "engine", "training",
                "grouped", "plots", "experiments", "widgets", "__main__")
#: Packages that ship data and hold no code (read by path: cerlib.examples.measured); outside the order.
DATA_PACKAGES = ("measured",)
#: Names of the package root (cerlib/__init__.py, which imports no module of cerlib) a module may import.
ROOT_NAMES = {"__version__"}


def _imported_modules(node, path: str) -> list[str]:
    """The absolute names an import statement of the file ``path`` (``cerlib/...``) imports from:
    ``from ..framing import x`` in cerlib/engine/stacked.py imports from ``cerlib.framing``; ``from . import x``
    and ``from cerlib import x`` import ``<package>.x``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    package = path.removesuffix(".py").split("/")[:-1]
    if node.level > len(package):
        raise ValueError(f"{path}:{node.lineno}: a relative import beyond the package cerlib")
    base = package[:len(package) - node.level + 1] if node.level else []
    module = base + (node.module.split(".") if node.module else [])
    if node.module is None or module == ["cerlib"]:
        return [".".join(module + [alias.name]) for alias in node.names]
    return [".".join(module)]


def _top_module(path: str) -> str:
    """``cerlib/experiments/report.py`` -> ``experiments``; ``cerlib/data.py`` -> ``data``."""
    return path.removesuffix(".py").split("/")[1]


def _layering_violations(text: str, path: str) -> list[str]:
    """Every import of a cerlib module (at any depth, inside functions too) in the file ``path`` that goes to a
    module after it in :data:`MODULE_ORDER`, or to no module of the order."""
    here = _top_module(path)
    found = []
    for node in ast.walk(ast.parse(text, path)):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        for name in _imported_modules(node, path):
            parts = name.split(".")
            if parts[0] != "cerlib" or (len(parts) > 1 and parts[1] in ROOT_NAMES):
                continue
            target = parts[1] if len(parts) > 1 else "cerlib"
            if target == here and here in MODULE_ORDER:
                continue   # within one module or package: the package's own docstring orders its submodules
            if here not in MODULE_ORDER:
                found.append(f"{path}:{node.lineno}: {here} imports {target}, but {here} is not in MODULE_ORDER")
            elif target not in MODULE_ORDER:
                found.append(f"{path}:{node.lineno}: {here} imports {name}, which is not a module in MODULE_ORDER "
                             "(a name of the lazy package root? import it from its module)")
            elif MODULE_ORDER.index(target) > MODULE_ORDER.index(here):
                found.append(f"{path}:{node.lineno}: {here} imports {target}, which comes after it")
    return found


def _cerlib_files() -> dict[str, str]:
    """``cerlib/...py`` -> its text, for every file but the package root (the lazy loader, which imports by name)."""
    return {p.relative_to(ROOT).as_posix(): p.read_text() for p in sorted((ROOT / "cerlib").rglob("*.py"))
            if p != ROOT / "cerlib" / "__init__.py"}


def test_modules_import_only_modules_before_them():
    cerlib = ROOT / "cerlib"
    modules = ({p.stem for p in cerlib.glob("*.py") if p.name != "__init__.py"}
               | {p.parent.name for p in cerlib.glob("*/__init__.py")})
    assert len(set(MODULE_ORDER)) == len(MODULE_ORDER) and not set(MODULE_ORDER) & set(DATA_PACKAGES)
    placed = set(MODULE_ORDER) | set(DATA_PACKAGES)
    assert modules == placed, f"place every module in MODULE_ORDER: missing {sorted(modules - placed)}, " \
        f"gone {sorted(placed - modules)}"
    for package in DATA_PACKAGES:   # data only: a docstring, no code (and so no import)
        for path in (cerlib / package).rglob("*.py"):
            body = ast.parse(path.read_text()).body
            assert all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body), path

    # the check is live: it finds the imports that go against the order in modules written for the purpose
    probe = ("from ..framing import gather_images\nfrom .kernels import fused_heads\nfrom . import loop\n"
             "from .. import __version__\nfrom .. import training\nimport cerlib.widgets\nfrom cerlib import ccc\n"
             "from numpy import ones\ndef f():\n    from ..experiments.grid import Spec\n"
             "    from cerlib.metrics import ccc\n")
    assert _layering_violations(probe, "cerlib/engine/probe.py") == [
        "cerlib/engine/probe.py:5: engine imports training, which comes after it",
        "cerlib/engine/probe.py:6: engine imports widgets, which comes after it",
        "cerlib/engine/probe.py:7: engine imports cerlib.ccc, which is not a module in MODULE_ORDER "
        "(a name of the lazy package root? import it from its module)",
        "cerlib/engine/probe.py:10: engine imports experiments, which comes after it"]
    probe = "from .training import fit\nfrom ._util import progress\nfrom . import stubs\n"
    assert _layering_violations(probe, "cerlib/metrics.py") == [
        "cerlib/metrics.py:1: metrics imports training, which comes after it"]
    assert _layering_violations("from . import data\n", "cerlib/newmodule.py") == [
        "cerlib/newmodule.py:1: newmodule imports data, but newmodule is not in MODULE_ORDER"]

    found = [line for path, text in _cerlib_files().items() for line in _layering_violations(text, path)]
    assert not found, "imports against the module order (CONTRIBUTING.md, \"Code\"):\n" + "\n".join(found)


def test_contributing_and_the_package_docstring_give_the_module_order():
    import cerlib

    code = (ROOT / "CONTRIBUTING.md").read_text().split("## Code", 1)[1].split("\n- ", 2)[1]
    named = [m for m in re.findall(r"`(\w+)`", code.split("A module imports only", 1)[0]) if m in MODULE_ORDER]
    assert named == list(MODULE_ORDER), named
    listed = re.findall(r"^    (\w+) ", cerlib.__doc__.split("Modules, in the order", 1)[1], re.M)
    assert listed == list(MODULE_ORDER), listed


#: Imports inside a function (or class) by design, (file, imported module) -> why; "*" matches any
#: (CONTRIBUTING.md, "Code": every other import sits at the top of its module).
LAZY_IMPORTS = {
    ("cerlib/__main__.py", "*"): "the CLI's lazy boundary: a subcommand imports the library parts it needs when it "
                                 "runs, so that `cerlib --help` imports no torch",
    ("*", "distributed"): "an optional extra (cerlib[cluster]): imported where used, so that cerlib works without it",
    ("cerlib/framing.py", "torch"): "framing works on NumPy arrays without torch",
}
#: Being moved: in-function imports of modules being changed elsewhere, on their way to the top of their modules
#: (none today: the data half's went to the top). The test below says when one is gone; remove it here then.
PENDING_LAZY_IMPORTS: set[tuple[str, str]] = set()


def _nested_imports(text: str, path: str) -> list[tuple[str, str, int]]:
    """``(path, module, line)`` for every module imported inside a function or a class of the file ``path``."""
    found = []

    def visit(node, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if nested and isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((path, module, child.lineno) for module in _imported_modules(child, path))
            visit(child, nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))

    visit(ast.parse(text, path), False)
    return sorted(found, key=lambda f: f[2])


def _allows(entry: tuple[str, str], path: str, module: str) -> bool:
    where, what = entry
    return where in ("*", path) and (what in ("*", module) or module.startswith(what + "."))


def _unexplained(nested: list[tuple[str, str, int]]) -> list[str]:
    allowed = set(LAZY_IMPORTS) | PENDING_LAZY_IMPORTS
    return [f"{path}:{line}: import {module}" for path, module, line in nested
            if not any(_allows(entry, path, module) for entry in allowed)]


def test_imports_sit_at_the_top_except_documented_boundaries():
    assert all(why.strip() for why in LAZY_IMPORTS.values())
    # the check is live: it finds the imports inside functions and classes of a module written for the purpose
    probe = ("import os\nfrom .metrics import ccc\ntry:\n    import yaml\nexcept ImportError:\n    yaml = None\n"
             "def f():\n    import pandas as pd\n    from .data import load_corpus\n    def g():\n"
             "        import json\nclass C:\n    import math\n    def m(self):\n"
             "        from distributed import Client\n        from . import plots\n")
    nested = _nested_imports(probe, "cerlib/probe.py")
    assert nested == [("cerlib/probe.py", "pandas", 8), ("cerlib/probe.py", "cerlib.data", 9),
                      ("cerlib/probe.py", "json", 11), ("cerlib/probe.py", "math", 13),
                      ("cerlib/probe.py", "distributed", 15), ("cerlib/probe.py", "cerlib.plots", 16)]
    assert _unexplained(nested) == ["cerlib/probe.py:8: import pandas", "cerlib/probe.py:9: import cerlib.data",
                                    "cerlib/probe.py:11: import json", "cerlib/probe.py:13: import math",
                                    "cerlib/probe.py:16: import cerlib.plots"]
    assert _unexplained([("cerlib/__main__.py", "cerlib.data", 1), ("cerlib/framing.py", "torch", 1),
                         ("cerlib/framing.py", "torch.nn", 1), ("cerlib/metrics.py", "torch", 1)]) == [
        "cerlib/metrics.py:1: import torch"]

    nested = [n for path, text in _cerlib_files().items() for n in _nested_imports(text, path)]
    unexplained = _unexplained(nested)
    assert not unexplained, "imports inside functions: move them to the top of the module, or (a lazy boundary " \
        "CONTRIBUTING.md names) add them to LAZY_IMPORTS with the reason:\n" + "\n".join(unexplained)
    unused = sorted(entry for entry in set(LAZY_IMPORTS) | PENDING_LAZY_IMPORTS
                    if not any(_allows(entry, path, module) for path, module, _ in nested))
    assert not unused, f"no import inside a function needs these any more: remove them from the test: {unused}"
