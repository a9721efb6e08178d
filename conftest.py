"""Test-run settings shared by the unit tests and the notebooks under nbval.

Environment variables set here reach the notebook kernels nbval starts, so a
plain ``pytest`` runs the course in its quiet mode: no progress bars (their
timings would differ from the stored outputs), and features cached in a
temporary folder of this run, never in the user's own cache. Nothing here
changes what a student sees when running the notebooks in JupyterLab.
"""
import os
import shutil
import tempfile

os.environ.setdefault("CERLIB_QUIET", "1")
# librosa compiles with numba on first use; give it a cache it can write.
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "cerlib-numba-cache"))
_OWN_CACHE = None
if "CERLIB_CACHE" not in os.environ:
    _OWN_CACHE = tempfile.mkdtemp(prefix="cerlib-test-cache-")
    os.environ["CERLIB_CACHE"] = _OWN_CACHE

import matplotlib  # noqa: E402  (after the environment is set)

matplotlib.use("Agg")  # this process only; kernels keep their inline backend


def pytest_unconfigure(config):
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
