"""Hold off forks of the worker's main process while its own threads use the database.

Celery's prefork pool forks its children from the worker's main process, where housekeeping runs
in threads. A child forked while such a thread holds a SQLite lock inherits SQLite's in-process
record of that lock without the lock itself, and its own connections then find the database busy
until their timeout, holding up every other writer. Each unit of database work in those threads
runs inside ``holding_off_forks()``, and a fork waits for the unit in progress to end.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_installed = False


@contextmanager
def holding_off_forks() -> Iterator[None]:
    """Run a unit of database work that no fork of this process may interrupt."""
    with _lock:
        yield


def install() -> None:
    """Make every later fork of this process wait for the unit of work in progress (idempotent)."""
    global _installed
    if not _installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_lock.release)
        _installed = True
