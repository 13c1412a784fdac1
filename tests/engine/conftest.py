"""Engine tests drive the real engine in-process through ``durableflows.testing``."""

from durableflows.testing.pytest_plugin import durableflows_env  # noqa: F401 - the fixture

from . import workflows  # noqa: F401 - registers the test workflows
