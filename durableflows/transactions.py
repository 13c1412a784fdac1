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

from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.backends.signals import connection_created
from django.dispatch import receiver

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
