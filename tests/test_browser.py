"""The explorer in a real JupyterLab, driven by a real (headless) Chromium.

JupyterLab is started on 127.0.0.1 at a free port with no token and a temporary
home, over a copy of notebook 08 (so the checked-in notebook is never
rewritten); Playwright drives Debian's Chromium (``/usr/bin/chromium``, or
``$CERLIB_CHROMIUM``), since Playwright's own browser download is not used.
Without Chromium the test is skipped with the reason, except under
``CERLIB_REQUIRE_BROWSER=1`` (``.ci/run``), where that is a failure.
The server is stopped even when the test fails. A screenshot is saved in the
test's temporary folder, and in ``$CERLIB_ARTEFACTS`` when that is set.
"""
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
from _browser import FLAGS, chromium, jupyterlab


@pytest.fixture
def lab(tmp_path):
    chromium()
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "notebooks" / "08_explorer.ipynb", course)
    with jupyterlab(tmp_path, [f"--ServerApp.root_dir={course}"],
                    env={"CERLIB_DATA": str(ROOT / "data_stubs"), "CERLIB_QUIET": "1"}) as (url, _):
        yield url, course


def test_moving_n_and_pressing_train_redraws_the_trace_in_a_real_browser(lab, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    url, _ = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/08_explorer.ipynb")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
            try:  # a fresh JupyterLab may ask which kernel to start: the notebook's own, python3
                page.locator(".jp-Dialog .jp-mod-accept").click(timeout=15_000)
            except PlaywrightTimeout:
                pass
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            train = page.locator(".widget-button", has_text="Train").first
            train.wait_for(timeout=120_000)
            # wait until every cell has run: no input prompt shows [*] any more
            page.wait_for_function("() => document.querySelectorAll('.jp-InputPrompt').length > 0 && "
                                   "![...document.querySelectorAll('.jp-InputPrompt')]"
                                   ".some(e => e.textContent.includes('*'))", timeout=150_000)
            images = page.locator(".widget-image")
            trace = images.nth(1)  # the explorer's learning curve, then its trace
            before = trace.get_attribute("src")
            slider = page.locator(".widget-slider [role=slider]").first
            value = slider.get_attribute("aria-valuenow")
            slider.focus()
            slider.press("ArrowRight")
            page.wait_for_function("([el, v]) => el.getAttribute('aria-valuenow') !== v",
                                   arg=[slider.element_handle(), value], timeout=10_000)
            moved = slider.get_attribute("aria-valuenow")
            train.click()
            page.wait_for_function("([el, src]) => el.getAttribute('src') && el.getAttribute('src') !== src",
                                   arg=[trace.element_handle(), before], timeout=120_000)
            after = trace.get_attribute("src")
            # at 1400 px with the file browser open, nothing is cut: the whole trace lies inside the notebook
            # and the checkbox shows its whole label
            notebook = page.locator(".jp-NotebookPanel-notebook").first.bounding_box()
            drawn = trace.bounding_box()
            overflow = drawn["x"] + drawn["width"] - (notebook["x"] + notebook["width"])
            shown = trace.evaluate("el => [el.clientWidth, el.naturalWidth]")
            cut_labels = page.locator(".widget-checkbox").first.evaluate(
                "el => [...el.querySelectorAll('*')].filter(l => l.textContent.trim() && "
                "l.children.length === 0 && l.scrollWidth > l.clientWidth + 1).map(l => l.textContent)")
        finally:
            shot = tmp_path / "explorer.png"
            page.screenshot(path=str(shot), full_page=True)
            if os.environ.get("CERLIB_ARTEFACTS"):
                Path(os.environ["CERLIB_ARTEFACTS"]).mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, Path(os.environ["CERLIB_ARTEFACTS"]) / shot.name)
            browser.close()
    assert float(moved) == float(value) + 2  # N moves in steps of 2 (Eq. 1 needs an even N)
    assert after != before                # the trace was redrawn by the run it started
    assert overflow <= 1, f"the trace runs {overflow:.0f} px past the notebook's right edge"
    assert shown[0] > 0.5 * shown[1], f"the trace is drawn {shown[0]} px wide of its {shown[1]} px"
    assert cut_labels == [], f"checkbox labels cut short: {cut_labels}"
