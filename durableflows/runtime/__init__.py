"""The deterministic engine: workflow code plus history in, new events out. No Django, no Celery."""

from .events import CLOSING_TYPES, COMMAND_TYPES, Event, EventType
from .execution import ContinueAsNew, WorkflowExecution, WorkflowInfo

__all__ = ["CLOSING_TYPES", "COMMAND_TYPES", "ContinueAsNew", "Event", "EventType", "WorkflowExecution", "WorkflowInfo"]
