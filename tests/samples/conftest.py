"""Fixtures of the samples: real workers started once for the whole package, and the toolkit's fixture.

The workers see the test database, so every real-worker test asks for ``sample_workers`` (which
brings pytest-django's ``transactional_db``: rows must be committed for the workers to see them).
Runs a test leaves open are terminated before the database is flushed, so the shared workers
never chase rows that vanish under them.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import WorkerFactory, check_broker, purge_broker, worker_environment

#: Seconds a real-worker test waits for a result or an update.
TIMEOUT = 60


@pytest.fixture(scope="package")
def sample_worker_pool(
    django_db_setup, django_db_blocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerFactory]:
    """Two-process prefork workers, started once for every real-worker test of the samples."""
    check_broker()
    with django_db_blocker.unblock():
        purge_broker()
        factory = WorkerFactory(worker_environment(), Path(tmp_path_factory.mktemp("sample-workers")))
    try:
        factory.start(concurrency=2)
        yield factory
    finally:
        for worker in factory.started:
            if worker.alive:
                worker.kill(signal.SIGKILL)
        purge_broker()


@pytest.fixture
def sample_workers(
    request: pytest.FixtureRequest, transactional_db: None, sample_worker_pool: WorkerFactory
) -> Iterator[WorkerFactory]:
    """The package's workers, for one test; their logs are printed if it fails."""
    yield sample_worker_pool
    import durableflows as df
    from durableflows.models import WorkflowRun

    for run in WorkflowRun.objects.filter(status__in=(df.Status.PENDING, df.Status.RUNNING)):
        df.get_handle(run.workflow_id, run.run_id).terminate(reason="the test is over")
    if any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")):
        print(f"\n===== sample workers =====\n{sample_worker_pool.logs()}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on the package's real workers are ``integration`` tests, like those under tests/integration."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).parents and "sample_workers" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


def activity_name(fn: object) -> str:
    """The name an activity registered without ``name=`` goes by: its module and qualified name."""
    return f"{fn.__module__}.{fn.__qualname__}"  # type: ignore[attr-defined]


def event_data(handle: object, event_type: str) -> list[dict]:
    """The data of the handle's history events of one type, in order."""
    return [event.data for event in handle.history() if str(event.type) == event_type]  # type: ignore[attr-defined]
