"""durableflows: durable workflows for Django, on the Celery and Redis you already run.

Import everything from here: ``import durableflows as df``. The client calls
(``df.start``, ``df.get_handle``, ``df.schedule``) need Django to be set up and
are loaded on first use, so this module imports cleanly from ``settings.py``
and from the pure runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .activity_context import ActivityInfo, activity_info, heartbeat
from .errors import (
    ActivityAttemptClosed,
    ActivityCancelled,
    ActivityError,
    ActivityNotFound,
    ChildWorkflowError,
    CompleteAsync,
    DurableFlowsError,
    InvalidArguments,
    NonDeterminismError,
    NonRetryableError,
    QueryNotFound,
    ScheduleNotFound,
    SerializationError,
    SideEffectError,
    UnknownWorkflowError,
    UpdateFailed,
    UpdateRejected,
    WorkflowAlreadyExists,
    WorkflowFailed,
    WorkflowNotFound,
)
from .options import ActivityOptions, RetryPolicy
from .registry import activity, activity_method, register_activities, workflow
from .runtime.api import (
    ChildWorkflowHandle,
    all_handlers_finished,
    continue_as_new,
    deprecate_patch,
    execute_activity,
    execute_child_workflow,
    info,
    logger,
    now,
    patched,
    random,
    set_query_handler,
    set_signal_handler,
    set_update_handler,
    set_var,
    side_effect,
    signal_workflow,
    sleep,
    start_child_workflow,
    uuid4,
    wait_condition,
    wait_signal,
)
from .runtime.events import Event, EventType
from .runtime.execution import WorkflowInfo
from .runtime.saga import Saga
from .status import Status
from .workflow_classes import query, run, signal, update

if TYPE_CHECKING:  # visible to type checkers and documentation tools; loaded lazily at run time (needs Django)
    from .activity_handles import ActivityHandle, get_activity_handle
    from .client import WorkflowHandle, aget_handle, astart, get_handle, start
    from .schedules import ScheduleHandle, aget_schedule, aschedule, get_schedule, schedule
    from .updates import UpdateHandle
    from .with_start import asignal_with_start, aupdate_with_start, signal_with_start, update_with_start

_CLIENT_NAMES = ("start", "astart", "get_handle", "aget_handle", "WorkflowHandle")
_ACTIVITY_HANDLE_NAMES = ("get_activity_handle", "ActivityHandle")
_UPDATE_NAMES = ("UpdateHandle",)
_WITH_START_NAMES = ("signal_with_start", "asignal_with_start", "update_with_start", "aupdate_with_start")
_SCHEDULE_NAMES = ("schedule", "aschedule", "get_schedule", "aget_schedule", "ScheduleHandle")

__all__ = [
    "ActivityAttemptClosed",
    "ActivityCancelled",
    "ActivityError",
    "ActivityHandle",
    "ActivityInfo",
    "ActivityNotFound",
    "ActivityOptions",
    "ChildWorkflowError",
    "ChildWorkflowHandle",
    "CompleteAsync",
    "DurableFlowsError",
    "Event",
    "EventType",
    "InvalidArguments",
    "NonDeterminismError",
    "NonRetryableError",
    "QueryNotFound",
    "RetryPolicy",
    "Saga",
    "ScheduleHandle",
    "ScheduleNotFound",
    "SerializationError",
    "SideEffectError",
    "Status",
    "UnknownWorkflowError",
    "UpdateFailed",
    "UpdateHandle",
    "UpdateRejected",
    "WorkflowAlreadyExists",
    "WorkflowFailed",
    "WorkflowHandle",
    "WorkflowInfo",
    "WorkflowNotFound",
    "activity",
    "activity_info",
    "activity_method",
    "aget_handle",
    "aget_schedule",
    "all_handlers_finished",
    "aschedule",
    "asignal_with_start",
    "astart",
    "aupdate_with_start",
    "continue_as_new",
    "deprecate_patch",
    "execute_activity",
    "execute_child_workflow",
    "get_activity_handle",
    "get_handle",
    "get_schedule",
    "heartbeat",
    "info",
    "logger",
    "now",
    "patched",
    "query",
    "random",
    "register_activities",
    "run",
    "schedule",
    "set_query_handler",
    "set_signal_handler",
    "set_update_handler",
    "set_var",
    "side_effect",
    "signal",
    "signal_with_start",
    "signal_workflow",
    "sleep",
    "start",
    "start_child_workflow",
    "update",
    "update_with_start",
    "uuid4",
    "wait_condition",
    "wait_signal",
    "workflow",
]


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from . import client

        return getattr(client, name)
    if name in _ACTIVITY_HANDLE_NAMES:
        from . import activity_handles

        return getattr(activity_handles, name)
    if name in _UPDATE_NAMES:
        from . import updates

        return getattr(updates, name)
    if name in _WITH_START_NAMES:
        from . import with_start

        return getattr(with_start, name)
    if name in _SCHEDULE_NAMES:
        from . import schedules

        return getattr(schedules, name)
    raise AttributeError(f"module 'durableflows' has no attribute {name!r}")
