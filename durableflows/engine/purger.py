"""Retention inside every ``celery worker``: a daemon thread of its own, apart from the housekeeping sweep.

Started and stopped with housekeeping (``worker``) when ``RETENTION`` is set.

A purge can have a large backlog; in its own thread it never delays due timers or
timeouts, and it paces its batches (``retention.purge_pass``) so other writers keep
the database. With many workers each purges; ``SKIP LOCKED`` keeps them off each other's rows.
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connection

log = logging.getLogger("durableflows.retention")

#: Seconds from the worker being ready to the first pass.
FIRST_PASS_DELAY = 1.0


class Purger(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(name="durableflows-retention", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        from .retention import purge_pass

        log.info("durableflows retention started (a pass every %ss)", self.interval)
        delay = min(FIRST_PASS_DELAY, self.interval)
        while not self.stopping.wait(delay):
            delay = self.interval
            close_old_connections()
            try:
                purge_pass(self.stopping)
            except Exception:
                log.exception("retention pass failed; trying again in %ss", self.interval)
        connection.close()

    def stop(self) -> None:
        self.stopping.set()
