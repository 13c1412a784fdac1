"""The ``durableflows_env`` pytest fixture (needs pytest-django).

Enable it with ``pytest_plugins = ["durableflows.testing.pytest_plugin"]`` in
your ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .environment import WorkflowEnvironment


@pytest.fixture
def durableflows_env(db: None) -> Iterator[WorkflowEnvironment]:
    """A ``WorkflowEnvironment`` for one test, inside the test's database transaction."""
    with WorkflowEnvironment() as env:
        yield env
