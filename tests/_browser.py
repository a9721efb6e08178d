"""Where the browser tests find Chromium, and what they do without it.

Playwright drives Debian's Chromium (``/usr/bin/chromium``, or
``$CERLIB_CHROMIUM``); Playwright's own browser download is not used. Without
Chromium (or the Playwright package) a browser test is skipped with the
reason, except where ``CERLIB_REQUIRE_BROWSER=1`` (``.ci/run`` sets it): there
the skip becomes a failure, so CI cannot go green without the browser tests.
"""
import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CERLIB_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def browser_required() -> bool:
    return os.environ.get("CERLIB_REQUIRE_BROWSER", "") not in ("", "0")


def skip_or_fail(reason: str):
    """Skip the calling test with ``reason``, or fail it where the browser tests are required."""
    if browser_required():
        pytest.fail(f"{reason}, and CERLIB_REQUIRE_BROWSER=1 requires the browser tests to run")
    pytest.skip(reason)


def chromium() -> str:
    """The Chromium executable, after checking that it and Playwright are there (else skip or fail)."""
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; or set CERLIB_CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("the playwright package is not installed (pip install -e \".[dev]\")")
    return CHROMIUM
