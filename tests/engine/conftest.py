"""Engine tests drive the real engine in-process through ``durableflows.testing`` (``durableflows_env``)."""

import pytest

from durableflows.engine import doorbell
from durableflows.engine.cache import cache

from . import workflows  # noqa: F401 - registers the test workflows


@pytest.fixture
def worker_process(transactional_db):
    """Run tasks as a worker would: real commits and rollbacks (so the execution cache fills), no broker."""
    doorbell.muted = True
    cache.clear()
    yield
    doorbell.muted = False
    cache.clear()
