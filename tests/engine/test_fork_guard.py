"""A pool process forked while a housekeeping thread holds a SQLite lock must still be able to write."""

import os
import sqlite3
import threading
import time

import pytest

from durableflows.engine import fork_guard

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _child_can_write(path: str) -> bool:
    """Fork while another thread holds the write lock inside ``holding_off_forks``; True if the child wrote."""
    holding = threading.Event()

    def hold_the_write_lock() -> None:
        with fork_guard.holding_off_forks():
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (1)")
            holding.set()
            time.sleep(0.3)
            conn.execute("COMMIT")
            conn.close()

    thread = threading.Thread(target=hold_the_write_lock)
    thread.start()
    assert holding.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: like a pool process, opens a connection of its own and writes
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=3)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (2)")
            conn.execute("COMMIT")
        except BaseException:
            os._exit(1)
        os._exit(0)
    thread.join()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_a_fork_waits_until_the_thread_releases_its_sqlite_lock(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
    fork_guard.install()
    assert _child_can_write(path)
    with sqlite3.connect(path) as conn:
        assert sorted(x for (x,) in conn.execute("SELECT x FROM t")) == [1, 2]
