"""Engine tests drive the real engine in-process through ``durableflows.testing`` (``durableflows_env``)."""

from . import workflows  # noqa: F401 - registers the test workflows
