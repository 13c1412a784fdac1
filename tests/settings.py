"""Settings for the test suite: the project's settings plus the integration tests' app.

pytest (pyproject.toml) and the worker processes that the integration tests
spawn both use this module, so the test workflows are registered on both sides
while the demo project itself never installs them. Their state (the SQLite test
database, the filesystem broker's folder) lives in ``var/test/``, apart from the
demo's, so ``./run.sh`` and ``./test.sh`` can run side by side on one checkout.
"""
import os
from pathlib import Path

os.environ.setdefault("DJANGO_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from project.settings import *  # noqa: E402, F403
from project.settings import INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.integration_app"]
