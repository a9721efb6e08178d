"""The course website: built offline from the stored notebook outputs, then read in a real Chromium.

The site is built once per test session into a temporary folder with
``sphinx-build -W`` (every warning an error) in a Python whose sockets refuse
to connect, so a build that fetches anything fails. The browser then reads it
from ``file://`` with every http(s) request refused and recorded: a page that
needs the network fails too. Without the docs extra (Sphinx, myst-nb, the book
theme) or Chromium the tests are skipped with the reason, except under
``CERLIB_REQUIRE_BROWSER=1`` (``.ci/run``), where that is a failure.
"""
import importlib
import json
import os
import shutil
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _browser import FLAGS, chromium, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Run sphinx-build in a Python where no socket can connect; each attempt is reported on stderr.
OFFLINE_BUILD = r"""
import socket, sys
def refuse(*args, **kwargs):
    sys.stderr.write(f"NETWORK ATTEMPT {args[1:] or args}\n")
    raise OSError("network disabled while building the site")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse
from sphinx.cmd.build import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        try:
            importlib.import_module(module)
        except ImportError:
            skip_or_fail(f"{module} is not installed: the site needs the docs extra (pip install -e \".[docs]\")")
    out = tmp_path_factory.mktemp("site") / "html"
    run = subprocess.run([sys.executable, "-c", OFFLINE_BUILD, "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(out.parent / "doctrees"), str(ROOT / "docs"), str(out)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert "NETWORK ATTEMPT" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == 0, f"sphinx-build -W failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    return out


def test_the_site_builds_offline_with_a_page_per_notebook(site):
    pages = sorted(p.stem for p in (site / "notebooks").glob("[0-9][0-9]_*.html"))
    assert pages == [p.stem for p in NOTEBOOKS]          # a new notebook appears without editing docs/
    for name in ("index", "data_stubs", "changelog", "notebooks/README", "api/index"):
        assert (site / f"{name}.html").exists(), name
    for solution in (ROOT / "notebooks" / "solutions").glob("*.md"):
        assert (site / "notebooks" / "solutions" / f"{solution.stem}.html").exists(), solution.name
    # built from the stored outputs, nothing executed: every stored PNG is on its page
    for path in NOTEBOOKS:
        stored = sum("image/png" in out.get("data", {}) for cell in json.loads(path.read_text())["cells"]
                     for out in cell.get("outputs", []))
        html = (site / "notebooks" / f"{path.stem}.html").read_text()
        assert len(re.findall(r'<img [^>]*src="\.\./_images/[^"]+\.png"', html)) >= stored, path.name
    # nothing on any page is loaded from elsewhere: scripts, styles and fonts are all in _static
    for page in site.rglob("*.html"):
        text = page.read_text()
        remote = re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="(?:https?:)?//[^"]*"', text)
        assert not remote, f"{page.relative_to(site)} loads {remote[:3]}"
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists()


def _public_names():
    import cerlib

    names = {}
    for info in pkgutil.walk_packages(cerlib.__path__, "cerlib."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        names[info.name] = list(getattr(module, "__all__", []))
    return cerlib, names


def test_the_api_reference_documents_every_public_name(site):
    cerlib, modules = _public_names()
    assert "cerlib.training" in modules and "cerlib.framing" in modules
    ids = {}
    for page in (site / "api").glob("cerlib.*.html"):
        ids.update({i: page.stem for i in re.findall(r'<dt class="sig[^"]*" id="([^"]+)"', page.read_text())})
    for module, names in modules.items():
        assert (site / "api" / f"{module}.html").exists(), f"no API page for {module}"
        for name in names:       # documented on its own module's page, or where it is imported from
            obj = getattr(importlib.import_module(module), name)
            where = [i for i, page in ids.items() if i == f"{page}.{name}"
                     and getattr(importlib.import_module(i.rpartition(".")[0]), name, None) is obj]
            assert where, f"{module}.{name} is not documented"
    index = (site / "api" / "index.html").read_text()
    for name in cerlib.__all__:
        assert re.search(rf'href="cerlib\.[\w.]+\.html#cerlib\.[\w.]+\.{name}"', index), name


def _open(p, url, blocked):
    browser = p.chromium.launch(executable_path=chromium(), args=FLAGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    def refuse_remote(route):
        if route.request.url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", refuse_remote)
    page.goto(url, wait_until="load")
    return browser, page


def _loaded_images(page):
    page.wait_for_load_state("load")
    return page.evaluate("() => [...document.querySelectorAll('article img')]"
                         ".map(i => [i.getAttribute('src'), i.complete ? i.naturalWidth : 0])")


@pytest.fixture
def browser_path():
    return chromium()          # before the site is built: without Chromium, skip (or fail) at once


def test_a_reader_opens_the_site_follows_the_notebooks_and_finds_the_api(browser_path, site, tmp_path):
    from playwright.sync_api import sync_playwright

    first, second = NOTEBOOKS[0].stem, NOTEBOOKS[1].stem
    blocked = []
    with sync_playwright() as p:
        browser, page = _open(p, (site / "index.html").as_uri(), blocked)
        try:
            assert "cerlib" in page.title()
            assert "Two commands" in page.locator("article").inner_text()
            # the navigation lists every notebook
            nav = page.locator("nav.bd-links a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            assert [h for h in nav if re.search(r"notebooks/\d\d_", h)] == [
                f"notebooks/{p.stem}.html" for p in NOTEBOOKS]
            # a notebook page with figures: every image loads
            page.goto((site / "notebooks" / "01_features.html").as_uri(), wait_until="load")
            images = _loaded_images(page)
            assert len(images) >= 3 and all(width > 0 for _, width in images), images
            # its equations are typeset by the MathJax copy in _static (remote requests are refused)
            page.wait_for_selector("mjx-container", timeout=30_000)
            math = page.locator("mjx-container").count()
            # from the first notebook, "next" leads to the second, and so on
            page.goto((site / "notebooks" / f"{first}.html").as_uri(), wait_until="load")
            page.locator("a.right-next").click()
            page.wait_for_load_state("load")
            assert page.url.endswith(f"notebooks/{second}.html")
            assert second[:2] in page.locator("article h1").first.inner_text()
            for path in NOTEBOOKS:
                page.goto((site / "notebooks" / f"{path.stem}.html").as_uri(), wait_until="load")
                assert all(width > 0 for _, width in _loaded_images(page)), path.name
            # the API page: a top-level name links to its documentation, shapes and example included
            page.goto((site / "api" / "index.html").as_uri(), wait_until="load")
            page.locator("article a", has_text="feature_images").first.click()
            page.wait_for_load_state("load")
            entry = page.locator('dl[class*="py"]:has(> dt[id="cerlib.framing.feature_images"])')
            text = entry.inner_text()
            assert "(T, P, N)" in text and ">>>" in text, text[:500]
        finally:
            page.goto((site / "notebooks" / "03_framing.html").as_uri(), wait_until="load")
            page.screenshot(path=str(tmp_path / "site.png"), full_page=False)
            if os.environ.get("CERLIB_ARTEFACTS"):
                Path(os.environ["CERLIB_ARTEFACTS"]).mkdir(parents=True, exist_ok=True)
                shutil.copy(tmp_path / "site.png", Path(os.environ["CERLIB_ARTEFACTS"]) / "site.png")
            browser.close()
    assert blocked == [], f"pages asked the network for {blocked[:5]}"
    assert math >= 10
