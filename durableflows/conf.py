"""``settings.DURABLEFLOWS``: one namespaced dict, read through :data:`df_settings` with defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from .serialization import DEFAULT_MAX_PAYLOAD_BYTES

DEFAULTS: dict[str, Any] = {
    # Seconds between full housekeeping sweeps inside each worker; due timers and deadlines are handled in between.
    "HOUSEKEEPING_INTERVAL": 1.0,
    # Whether `celery worker` processes run housekeeping at all.
    "HOUSEKEEPING": True,
    # Rows handled per sweep and kind, so one sweep stays short.
    "HOUSEKEEPING_BATCH": 500,
    # Seconds a doorbell may stay unanswered after it left its queue (a later probe was taken) before it is sent again.
    "REDELIVERY_TIMEOUT": 5.0,
    # Seconds before a run held by an error in its workflow task (e.g. NonDeterminismError) is tried again.
    "STUCK_RETRY_INTERVAL": 60.0,
    # Retries shorter than this are sent as Celery countdowns; longer ones wait for housekeeping.
    "MAX_COUNTDOWN": 60.0,
    # Largest encoded argument, result, signal payload or variable, in bytes.
    "MAX_PAYLOAD_BYTES": DEFAULT_MAX_PAYLOAD_BYTES,
    # Suspended executions kept per worker process, so a warm worker does not replay.
    "CACHE_SIZE": 1000,
    # History events those executions may add up to (None: no bound but CACHE_SIZE); least recently used go first.
    "CACHE_MAX_EVENTS": 500_000,
    # Advance a workflow in the worker that completed its activity, instead of via a new message.
    "INLINE_WORKFLOW_TASKS": True,
    # Run an activity the workflow task just scheduled in the same worker when it is the only one.
    "EAGER_ACTIVITIES": True,
    # Celery queue for workflow tasks and activities without a queue of their own (None: Celery's default).
    "DEFAULT_QUEUE": None,
    # History length past which info().continue_as_new_suggested turns true.
    "SUGGEST_CONTINUE_AS_NEW_AFTER": 4000,
    # How long closed runs (and their histories) are kept: a timedelta or seconds; None keeps them forever.
    "RETENTION": None,
    # Seconds between retention passes of each worker's retention thread (a pass drains the backlog, paced).
    "RETENTION_INTERVAL": 60.0,
    # Runs deleted per retention batch (one short transaction each, of at most ~1,000 events; 5,000 on PostgreSQL).
    "RETENTION_BATCH": 500,
}


class DurableFlowsSettings:
    """Attribute access to ``settings.DURABLEFLOWS`` with :data:`DEFAULTS`; unknown keys are errors."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, key: str) -> Any:
        if key not in DEFAULTS:
            raise AttributeError(f"unknown durableflows setting {key!r}")
        if key not in self._cache:
            user = getattr(settings, "DURABLEFLOWS", {}) or {}
            self._cache[key] = user.get(key, DEFAULTS[key])
        return self._cache[key]

    def reload(self) -> None:
        self._cache.clear()


df_settings = DurableFlowsSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "DURABLEFLOWS":
        df_settings.reload()


setting_changed.connect(_reload)
