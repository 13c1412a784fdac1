"""The transactions the engine and the client write in, safe on SQLite's default settings.

SQLite refuses to upgrade a transaction that has read to one that writes while another
connection writes: it answers "database is locked" at once instead of waiting, to avoid
a deadlock. Django's default SQLite transactions are DEFERRED, and every engine
transaction reads before it writes, so :func:`write_transaction` begins them IMMEDIATE
(the write lock taken at BEGIN, waited for like any lock) whatever the project's
``OPTIONS`` say. On other databases, and inside the caller's own transaction, it is
``transaction.atomic()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, OperationalError, transaction
from django.db.backends.signals import connection_created
from django.dispatch import receiver

T = TypeVar("T")

#: SQLite's busy timeout (ms) when the project sets no ``OPTIONS["timeout"]``: Python's default of 5 s is
#: shorter than a queue of workers and web requests can take to pass the write lock along.
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 30_000


class _WriteTransaction(transaction.Atomic):
    def __enter__(self) -> None:
        connection = transaction.get_connection(self.using)
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            return super().__enter__()
        connection.ensure_connection()
        mode = connection.transaction_mode
        connection.transaction_mode = "EXCLUSIVE" if mode == "EXCLUSIVE" else "IMMEDIATE"
        try:
            return super().__enter__()
        finally:
            connection.transaction_mode = mode


def write_transaction() -> transaction.Atomic:
    """``transaction.atomic()`` on the default database that takes SQLite's write lock at BEGIN."""
    return _WriteTransaction(DEFAULT_DB_ALIAS, savepoint=True, durable=False)


def batch_is_atomic_alone() -> bool:
    """Whether a ``sql.Batch`` of writes run outside any transaction is still all-or-nothing.

    True on PostgreSQL when the batch goes out as one query: the server runs the statements of
    one query as one implicit transaction, which saves the BEGIN and COMMIT round trips.
    """
    from .sql import _sends_many_at_once

    connection = transaction.get_connection(DEFAULT_DB_ALIAS)
    return connection.vendor == "postgresql" and not connection.in_atomic_block and _sends_many_at_once(connection)


@receiver(connection_created, dispatch_uid="durableflows.sqlite_busy_timeout")
def _lengthen_sqlite_busy_timeout(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite" and connection.alias == DEFAULT_DB_ALIAS:
        if "timeout" not in connection.settings_dict.get("OPTIONS", {}):
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {DEFAULT_SQLITE_BUSY_TIMEOUT_MS}")


#: MariaDB/MySQL's error code and PostgreSQL's SQLSTATE for a transaction rolled back to break a deadlock.
_DEADLOCK_CODES = (1213, "40P01")


def retrying_deadlocks(fn: Callable[[], T], attempts: int = 3) -> T:
    """Run ``fn`` (a unit of work in a transaction of its own) again if the database broke a deadlock with it.

    InnoDB rolls back one of two deadlocked transactions and asks the client to retry it. Inside the
    caller's transaction nothing is retried: the whole transaction is gone, and the caller owns it.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as exc:
            cause = exc.__cause__
            code = getattr(cause, "sqlstate", None) or (getattr(cause, "args", None) or (None,))[0]
            if attempt == attempts or code not in _DEADLOCK_CODES or transaction.get_connection().in_atomic_block:
                raise
    raise AssertionError("unreachable")
