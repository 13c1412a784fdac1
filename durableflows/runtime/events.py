"""The closed vocabulary of history events.

Two kinds: *facts* come from outside the workflow code (an activity finished,
a timer fired, a signal arrived) and are applied to it; *commands* record what
the code decided (schedule an activity, start a timer). Replay re-derives the
commands and checks each against the recorded one.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any


class EventType(enum.StrEnum):
    WORKFLOW_STARTED = "WorkflowStarted"
    ACTIVITY_SCHEDULED = "ActivityScheduled"
    ACTIVITY_STARTED = "ActivityStarted"
    ACTIVITY_COMPLETED = "ActivityCompleted"
    ACTIVITY_FAILED = "ActivityFailed"
    ACTIVITY_TIMED_OUT = "ActivityTimedOut"
    ACTIVITY_CANCEL_REQUESTED = "ActivityCancelRequested"
    TIMER_STARTED = "TimerStarted"
    TIMER_FIRED = "TimerFired"
    TIMER_CANCELLED = "TimerCancelled"
    SIGNAL_RECEIVED = "SignalReceived"
    CHILD_WORKFLOW_STARTED = "ChildWorkflowStarted"
    CHILD_WORKFLOW_COMPLETED = "ChildWorkflowCompleted"
    CHILD_WORKFLOW_FAILED = "ChildWorkflowFailed"
    SIGNAL_EXTERNAL_SENT = "SignalExternalSent"
    SIDE_EFFECT_RECORDED = "SideEffectRecorded"
    PATCH_MARKER = "PatchMarker"
    VAR_SET = "VarSet"
    CANCEL_REQUESTED = "CancelRequested"
    UPDATE_ACCEPTED = "UpdateAccepted"
    UPDATE_COMPLETED = "UpdateCompleted"
    WORKFLOW_COMPLETED = "WorkflowCompleted"
    WORKFLOW_FAILED = "WorkflowFailed"
    WORKFLOW_CANCELLED = "WorkflowCancelled"
    WORKFLOW_TERMINATED = "WorkflowTerminated"
    WORKFLOW_CONTINUED_AS_NEW = "WorkflowContinuedAsNew"
    WORKFLOW_TIMED_OUT = "WorkflowTimedOut"

    @property
    def is_command(self) -> bool:
        return self in COMMAND_TYPES

    @property
    def closes_run(self) -> bool:
        return self in CLOSING_TYPES


COMMAND_TYPES = frozenset(
    {
        EventType.ACTIVITY_SCHEDULED,
        EventType.ACTIVITY_CANCEL_REQUESTED,
        EventType.TIMER_STARTED,
        EventType.TIMER_CANCELLED,
        EventType.CHILD_WORKFLOW_STARTED,
        EventType.SIGNAL_EXTERNAL_SENT,
        EventType.SIDE_EFFECT_RECORDED,
        EventType.PATCH_MARKER,
        EventType.VAR_SET,
        EventType.UPDATE_COMPLETED,
        EventType.WORKFLOW_COMPLETED,
        EventType.WORKFLOW_FAILED,
        EventType.WORKFLOW_CANCELLED,
        EventType.WORKFLOW_CONTINUED_AS_NEW,
    }
)
CLOSING_TYPES = frozenset(
    {
        EventType.WORKFLOW_COMPLETED,
        EventType.WORKFLOW_FAILED,
        EventType.WORKFLOW_CANCELLED,
        EventType.WORKFLOW_TERMINATED,
        EventType.WORKFLOW_CONTINUED_AS_NEW,
        EventType.WORKFLOW_TIMED_OUT,
    }
)
#: The key of each command's data that identifies it when replay matches commands.
COMMAND_KEYS: dict[EventType, tuple[str, ...]] = {
    EventType.ACTIVITY_SCHEDULED: ("activity_id", "name"),
    EventType.ACTIVITY_CANCEL_REQUESTED: ("activity_id",),
    EventType.TIMER_STARTED: ("timer_id",),
    EventType.TIMER_CANCELLED: ("timer_id",),
    EventType.CHILD_WORKFLOW_STARTED: ("child_id", "name"),
    EventType.SIGNAL_EXTERNAL_SENT: ("workflow_id", "name"),
    EventType.SIDE_EFFECT_RECORDED: (),
    EventType.PATCH_MARKER: ("patch_id",),
    EventType.VAR_SET: ("name",),
    EventType.UPDATE_COMPLETED: ("update_id",),
}


@dataclasses.dataclass(frozen=True)
class Event:
    """One entry of a run's history. ``data`` is JSON-compatible."""

    sequence: int
    type: EventType
    timestamp: datetime
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "type": self.type.value,
            "timestamp": self.timestamp.isoformat(),
            "data": self.data,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            data["sequence"], EventType(data["type"]), datetime.fromisoformat(data["timestamp"]), data.get("data") or {}
        )
