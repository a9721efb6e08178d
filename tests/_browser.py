"""Where the browser tests find Chromium, and what they do without it.

Playwright drives Debian's Chromium (``/usr/bin/chromium``, or
``$CERLIB_CHROMIUM``); Playwright's own browser download is not used. Without
Chromium (or the Playwright package) a browser test is skipped with the
reason, except where ``CERLIB_REQUIRE_BROWSER=1`` (``.ci/run`` sets it): there
the skip becomes a failure, so CI cannot go green without the browser tests.
"""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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


@contextlib.contextmanager
def jupyterlab(tmp_path, args=(), *, cwd=None, env=None, token=""):
    """A JupyterLab server on 127.0.0.1 at a free port, with a temporary home; yields (base URL, log path).

    ``args`` are extra command-line options (e.g. the README's). Waits until the server answers, fails with its
    log if it does not start in 90 s, and stops it (its whole process group) whatever the test does.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           **(env or {})}
    env.pop("MPLBACKEND", None)
    cmd = [sys.executable, "-m", "jupyterlab", *args, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.token={token}", "--ServerApp.password=", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp_path / "jupyterlab.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + log.read_text()[-3000:])
                time.sleep(0.5)
        yield base, log
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
