"""Fixtures shared by every test suite.

Service fixtures (``redis_url``, ``postgres``, ``row_locking_database``) skip when the service cannot be
reached, or fail when DURABLEFLOWS_REQUIRE_SERVICES=1 (as CI sets it).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import service_unavailable, wait_until

#: The fixture users get: ``durableflows_env`` (see the README's "Testing your workflows").
pytest_plugins = ["durableflows.testing.pytest_plugin"]

TESTS_DIR = Path(__file__).resolve().parent
INTEGRATION_DIR = TESTS_DIR / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/integration is marked ``integration`` (select with -m)."""
    for item in items:
        if INTEGRATION_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item, so fixtures can tell in teardown whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def redis_reachable(url: str) -> str | None:
    """None if a Redis server answers PING at ``url``, else why not."""
    try:
        import redis
    except ImportError as exc:
        return f"the redis package is not installed: {exc}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"Redis at {url} is not reachable: {exc}"
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis URL: CELERY_BROKER_URL when it is Redis, else DURABLEFLOWS_TEST_REDIS_URL or localhost."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    url = broker if broker.startswith(("redis://", "rediss://")) else (
        os.environ.get("DURABLEFLOWS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    problem = redis_reachable(url)
    if problem:
        service_unavailable(problem)
    return url


@pytest.fixture
def postgres(db):
    """The default connection, when the tests run on PostgreSQL; skips on other databases.

    Running on another database is a choice (DATABASE_URL), not an outage, so this
    skips even under DURABLEFLOWS_REQUIRE_SERVICES; an unreachable PostgreSQL fails
    earlier, when pytest-django creates the test database.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL (DATABASE_URL=postgres://...); the tests run on {connection.vendor}")
    try:
        connection.ensure_connection()
    except Exception as exc:  # noqa: BLE001
        service_unavailable(f"PostgreSQL is not reachable: {exc}")
    return connection


@pytest.fixture
def row_locking_database(db):
    """The default connection, when several connections can hold row locks at once (PostgreSQL, MariaDB/MySQL).

    Skips on SQLite, whose one writer at a time leaves nothing to race; like ``postgres``,
    an unreachable server fails earlier, when pytest-django creates the test database.
    """
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("needs a database server with row locks (DATABASE_URL=postgres://... or mysql://...)")
    return connection


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    """``wait_until(predicate, timeout=30, interval=0.05, message="")`` as a fixture."""
    return wait_until
