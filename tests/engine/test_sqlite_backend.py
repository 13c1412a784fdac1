"""The SQLite backend queues writers on a lock file instead of leaving them to sleep and retry."""

import threading

import pytest
from django.db import connection

from durableflows.sqlite.base import DatabaseWrapper

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend only")


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker):
    """These tests open their own database files, outside the test database."""
    with django_db_blocker.unblock():
        yield


def open_connection(path):
    return DatabaseWrapper({**connection.settings_dict, "NAME": str(path)}, alias="writer-queue-test")


def begin(wrapper):
    wrapper.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def test_a_second_writer_waits_for_the_first_and_goes_on_when_it_commits(tmp_path):
    first = open_connection(tmp_path / "queue.sqlite3")
    begin(first)
    first.cursor().execute("CREATE TABLE t (x INTEGER)")
    entered, done = threading.Event(), threading.Event()
    errors = []

    def second_writer():
        second = open_connection(tmp_path / "queue.sqlite3")
        try:
            begin(second)
            entered.set()
            second.cursor().execute("INSERT INTO t VALUES (2)")
            second.commit()
            second.set_autocommit(True)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            second.close()
            done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert not entered.wait(0.3), "the second writer began while the first held the write lock"
    first.cursor().execute("INSERT INTO t VALUES (1)")
    first.commit()
    first.set_autocommit(True)
    assert done.wait(10) and errors == []
    thread.join()
    assert [row[0] for row in first.cursor().execute("SELECT x FROM t ORDER BY x").fetchall()] == [1, 2]
    first.close()
    assert (tmp_path / "queue.sqlite3-writers.lock").exists()


def test_a_rolled_back_writer_releases_the_queue(tmp_path):
    first = open_connection(tmp_path / "queue.sqlite3")
    begin(first)
    first.rollback()
    first.set_autocommit(True)
    second = open_connection(tmp_path / "queue.sqlite3")
    begin(second)  # would block forever if the rollback kept the lock
    second.rollback()
    second.set_autocommit(True)
    first.close()
    second.close()
