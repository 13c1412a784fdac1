"""What an activity can ask about itself while it runs: ``df.heartbeat()`` and ``df.activity_info()``."""

from __future__ import annotations

import contextvars
import dataclasses
from datetime import timedelta
from typing import Any, Protocol


@dataclasses.dataclass(frozen=True)
class ActivityInfo:
    workflow_id: str
    run_id: str
    activity_id: int
    activity_name: str
    attempt: int
    heartbeat_details: Any = None
    heartbeat_timeout: timedelta | None = None
    #: Names this attempt for ``df.get_activity_handle()`` (after ``raise df.CompleteAsync()``): opaque, URL-safe.
    task_token: str = ""


class _Context(Protocol):
    info: ActivityInfo

    def heartbeat(self, details: Any) -> None: ...


current_activity: contextvars.ContextVar[_Context | None] = contextvars.ContextVar(
    "durableflows_activity", default=None
)


def _context(fn: str) -> _Context:
    ctx = current_activity.get()
    if ctx is None:
        raise RuntimeError(f"df.{fn}() is only available inside a running activity")
    return ctx


def activity_info() -> ActivityInfo:
    """Who and where this activity attempt is, and the details of its last heartbeat."""
    return _context("activity_info").info


def heartbeat(details: Any = None) -> None:
    """Record liveness (and progress details); raises ``df.ActivityCancelled`` once cancel was asked."""
    _context("heartbeat").heartbeat(details)
