"""Settings for the test suite: the project's settings plus the integration tests' app.

pytest (pyproject.toml) and the worker processes that the integration tests
spawn both use this module, so the test workflows are registered on both sides
while the demo project itself never installs them.
"""
from project.settings import *  # noqa: F403
from project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.integration_app"]
