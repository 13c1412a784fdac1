"""Housekeeping inside every ``celery worker``: a daemon thread started when the worker is ready.

No beat process is needed; with many workers each sweeps, and row locks keep
the sweeps from doing anything twice. Between full sweeps (every ``HOUSEKEEPING_INTERVAL``)
the thread sleeps until the next timer or attempt deadline falls due, and then handles just those.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from celery import signals as celery_signals
from django.db import close_old_connections, connection

from .. import storage
from ..conf import df_settings
from . import fork_guard, purger

log = logging.getLogger("durableflows.housekeeping")

#: Seconds to wait before looking again at rows that are due but held by another worker.
BUSY_PAUSE = 0.01
#: A sleep toward a due time ends this much after it, so that the rows are due when the thread looks.
OVERSHOOT = 0.001


def planned_sleep(now: datetime, next_due: datetime | None, until_sweep: float, *, progressed: bool) -> float:
    """Seconds to sleep: until ``next_due`` (a timer or an attempt deadline), at most ``until_sweep``.

    Rows already due mean either a bounded pass left some (``progressed``: go on at once) or
    another worker holds them (look again after a short pause).
    """
    until_sweep = max(0.0, until_sweep)
    if next_due is None:
        return until_sweep
    until_due = (next_due - now).total_seconds()
    if until_due <= 0:
        return 0.0 if progressed else min(BUSY_PAUSE, until_sweep)
    return min(until_due + OVERSHOOT, until_sweep)


class Housekeeper(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(name="durableflows-housekeeping", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()
        self.next_sweep = 0.0  # on the monotonic clock

    def run(self) -> None:
        log.info("durableflows housekeeping started (full sweep every %ss)", self.interval)
        delay = 0.0
        while not self.stopping.wait(delay):
            close_old_connections()
            try:
                with fork_guard.holding_off_forks():
                    delay = self.step()
            except Exception:
                delay = self.interval
                log.exception("housekeeping failed; trying again in %ss", delay)
        connection.close()

    def step(self) -> float:
        """A full sweep when one is due, else only the due timers and deadlines; returns how long to sleep."""
        from .housekeeping import sweep, time_out_activities
        from .timers import fire_due_timers, next_due

        now = storage.now()
        if time.monotonic() >= self.next_sweep:
            counts = sweep(now)
            self.next_sweep = time.monotonic() + self.interval
        else:
            counts = {"timers_fired": fire_due_timers(now), "activities_timed_out": time_out_activities(now)}
        progressed = any(counts.values())
        if progressed:
            log.debug("housekeeping: %s", counts)
        return planned_sleep(storage.now(), next_due(), self.next_sweep - time.monotonic(), progressed=progressed)

    def stop(self) -> None:
        self.stopping.set()


#: The threads this worker process runs beside its pool: housekeeping, and retention when it is set.
_threads: list[Housekeeper | purger.Purger] = []


def _on_worker_ready(**kwargs: Any) -> None:
    if not df_settings.HOUSEKEEPING or _threads:
        return
    fork_guard.install()
    _threads.append(Housekeeper(float(df_settings.HOUSEKEEPING_INTERVAL)))
    if df_settings.RETENTION is not None:  # in a thread of its own, never inside a sweep
        _threads.append(purger.Purger(float(df_settings.RETENTION_INTERVAL)))
    for thread in _threads:
        thread.start()


def _on_worker_shutdown(**kwargs: Any) -> None:
    for thread in _threads:
        thread.stop()
    for thread in _threads:
        thread.join(timeout=5)
    _threads.clear()


def connect() -> None:
    """Hook housekeeping and retention into Celery's worker lifecycle (called from the AppConfig)."""
    celery_signals.worker_ready.connect(_on_worker_ready, dispatch_uid="durableflows.housekeeping.start")
    celery_signals.worker_shutdown.connect(_on_worker_shutdown, dispatch_uid="durableflows.housekeeping.stop")
