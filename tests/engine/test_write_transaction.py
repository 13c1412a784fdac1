"""On Django's default SQLite settings (DEFERRED transactions) the engine still takes the write lock at BEGIN."""

import sqlite3

import pytest
from django.db import connection

import durableflows as df
from durableflows.transactions import DEFAULT_SQLITE_BUSY_TIMEOUT_MS, write_transaction

from .workflows import approval

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's locking")


@pytest.fixture
def deferred(transactional_db, monkeypatch):
    """The connection as a project with Django's default SQLite settings has it."""
    connection.ensure_connection()
    monkeypatch.setattr(connection, "transaction_mode", None)


def someone_else_can_write() -> bool:
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_the_write_lock_is_held_from_begin_before_anything_is_written(deferred):
    with write_transaction():
        assert not someone_else_can_write()
    assert someone_else_can_write()
    assert connection.transaction_mode is None  # the project's own transactions are left as they are


def test_a_plain_atomic_block_on_these_settings_does_not_hold_it(deferred):
    from django.db import transaction

    with transaction.atomic():
        assert someone_else_can_write()  # why the engine cannot rely on the project's transaction mode


def test_a_signal_outside_any_transaction_is_written_under_the_lock(deferred, monkeypatch):
    handle = df.start(approval, id="order-1")
    held = []
    from durableflows import storage

    real_add_fact = storage.add_fact

    def add_fact(*args, **kwargs):
        held.append(not someone_else_can_write())
        return real_add_fact(*args, **kwargs)

    monkeypatch.setattr(storage, "add_fact", add_fact)
    handle.signal("approve", "yes")
    assert held == [True]


def test_without_a_timeout_of_the_projects_sqlite_waits_30_s_for_the_lock(transactional_db):
    from django.db.backends.sqlite3.base import DatabaseWrapper

    settings = {**connection.settings_dict, "ENGINE": "django.db.backends.sqlite3", "OPTIONS": {}}
    default_settings = DatabaseWrapper(settings, alias="default")
    own_timeout = DatabaseWrapper({**settings, "OPTIONS": {"timeout": 7}}, alias="default")
    try:
        for wrapper, expected in ((default_settings, DEFAULT_SQLITE_BUSY_TIMEOUT_MS), (own_timeout, 7000)):
            with wrapper.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout")
                assert cursor.fetchone()[0] == expected
    finally:
        default_settings.close()
        own_timeout.close()
