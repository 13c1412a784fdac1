"""Housekeeping inside every ``celery worker``: a daemon thread started when the worker is ready.

No beat process is needed; with many workers each sweeps, and row locks keep
the sweeps from doing anything twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import signals as celery_signals
from django.db import close_old_connections, connection

from ..conf import df_settings
from . import purger

log = logging.getLogger("durableflows.housekeeping")


class Housekeeper(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(name="durableflows-housekeeping", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        from .housekeeping import sweep

        log.info("durableflows housekeeping started (every %ss)", self.interval)
        while not self.stopping.wait(self.interval):
            close_old_connections()
            try:
                counts = sweep()
                if any(counts.values()):
                    log.debug("housekeeping: %s", counts)
            except Exception:
                log.exception("housekeeping sweep failed; trying again in %ss", self.interval)
        connection.close()

    def stop(self) -> None:
        self.stopping.set()


_housekeeper: Housekeeper | None = None


def _on_worker_ready(**kwargs: Any) -> None:
    global _housekeeper
    if df_settings.HOUSEKEEPING and _housekeeper is None:
        _housekeeper = Housekeeper(float(df_settings.HOUSEKEEPING_INTERVAL))
        _housekeeper.start()


def _on_worker_shutdown(**kwargs: Any) -> None:
    global _housekeeper
    if _housekeeper is not None:
        _housekeeper.stop()
        _housekeeper.join(timeout=5)
        _housekeeper = None


def connect() -> None:
    """Hook housekeeping into Celery's worker lifecycle (called from the AppConfig)."""
    celery_signals.worker_ready.connect(_on_worker_ready, dispatch_uid="durableflows.housekeeping.start")
    celery_signals.worker_shutdown.connect(_on_worker_shutdown, dispatch_uid="durableflows.housekeeping.stop")
    purger.connect()  # retention runs in a thread of its own, never inside a sweep
