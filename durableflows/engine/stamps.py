"""A doorbell's recorded time, kept within ``SLACK`` of when its message really left.

A transaction records when it rings (a run's ``rung_at``, a fact's ``created_at``, an attempt's
``dispatched_at``) as it writes the row, but the message is published only after commit. A
transaction that ran long (a bulk start in one ``atomic()`` block, a slow sweep) would leave a
time earlier than the publish, and a probe sent in between would seem to have passed a message
that was still to come. So, at commit and before its first doorbell, such a transaction's rows are
stamped again with the time of commit, in one UPDATE per table, and once more after its last
doorbell if sending them took long too; probes allow for the ``SLACK`` left.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.utils import timezone

#: The most a recorded time may precede its publish; transactions longer than this are stamped again.
SLACK = timedelta(seconds=1)

_local = threading.local()


class Stamps:
    """The rows one transaction stamped with the time of a doorbell it sends at commit."""

    def __init__(self, pending: list[Any]) -> None:
        self.pending = pending  # the connection's on-commit list: a new one means a new transaction
        self.rows: dict[tuple[type[models.Model], str], list[Any]] = defaultdict(list)
        self.earliest: datetime | None = None
        self.rings = self.sent = 0

    def before_send(self) -> None:
        """Before each doorbell: at the first, stamp the rows again if the transaction ran long."""
        if self.sent == 0 and self.earliest is not None and timezone.now() - self.earliest > SLACK:
            self._stamp()

    def after_send(self) -> None:
        """After each doorbell: at the last, stamp the rows again if sending them all took long."""
        self.sent += 1
        if self.sent == self.rings and self.earliest is not None and timezone.now() - self.earliest > SLACK:
            self._stamp()

    def _stamp(self) -> None:
        now = self.earliest = timezone.now()
        for (model, field), pks in self.rows.items():
            for start in range(0, len(pks), 500):
                rows = model._default_manager.filter(pk__in=pks[start : start + 500], **{f"{field}__isnull": False})
                rows.update(**{field: now})


def record(model: type[models.Model], field: str, pk: Any, at: datetime) -> Stamps | None:
    """Note that row ``pk`` of ``model`` has ``field`` = ``at`` for a doorbell sent at commit."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None  # autocommit: the doorbell leaves right after this statement
    current: Stamps | None = getattr(_local, "stamps", None)
    if current is None or current.pending is not connection.run_on_commit:
        current = _local.stamps = Stamps(connection.run_on_commit)
    current.rows[(model, field)].append(pk)
    current.rings += 1
    current.earliest = at if current.earliest is None else min(current.earliest, at)
    return current
