"""The exceptions users see. Pure Python: the runtime imports these too."""

from __future__ import annotations


class DurableFlowsError(Exception):
    """Base class of every durableflows error."""


class SerializationError(DurableFlowsError, TypeError):
    """A value cannot cross the boundary as JSON (or is larger than allowed)."""


class InvalidArguments(DurableFlowsError, TypeError):
    """A start's arguments do not fit the workflow's signature (their number, or a plain value's type)."""


class WorkflowNotFound(DurableFlowsError, LookupError):
    """No workflow (or run) with that id exists."""


class WorkflowAlreadyExists(DurableFlowsError):
    """``df.start(..., id_conflict="fail")`` found an open run with that id."""

    def __init__(self, workflow_id: str, run_id: str | None = None) -> None:
        super().__init__(f"workflow {workflow_id!r} already has an open run")
        self.workflow_id = workflow_id
        self.run_id = run_id


class ScheduleNotFound(DurableFlowsError, LookupError):
    """No schedule with that id exists."""


class UnknownWorkflowError(DurableFlowsError, LookupError):
    """No workflow or activity is registered under that name."""


class QueryNotFound(DurableFlowsError, LookupError):
    """The workflow has no query handler of that name."""


class WorkflowFailed(DurableFlowsError):
    """``handle.result()`` of a run that did not complete."""

    def __init__(self, status: str, type: str = "", message: str = "", workflow_id: str = "") -> None:
        detail = f"{type}: {message}" if type else message
        super().__init__(f"workflow {workflow_id!r} ended {status}" + (f" ({detail})" if detail else ""))
        self.status = status
        self.type = type
        self.message = message
        self.workflow_id = workflow_id


class ActivityError(DurableFlowsError):
    """An activity failed for good: retries exhausted, non-retryable, or timed out."""

    def __init__(self, type: str, message: str, attempts: int, activity_name: str = "") -> None:
        super().__init__(f"activity {activity_name!r} failed after {attempts} attempt(s): {type}: {message}")
        self.type = type
        self.message = message
        self.attempts = attempts
        self.activity_name = activity_name


class ChildWorkflowError(DurableFlowsError):
    """A child workflow ended without completing."""

    def __init__(self, workflow_id: str, status: str, type: str = "", message: str = "") -> None:
        super().__init__(f"child workflow {workflow_id!r} ended {status}: {type}: {message}")
        self.workflow_id = workflow_id
        self.status = status
        self.type = type
        self.message = message


class SideEffectError(DurableFlowsError):
    """``df.side_effect``'s function raised; recorded, so a replay raises the same error."""

    def __init__(self, type: str, message: str) -> None:
        super().__init__(f"side effect failed: {type}: {message}")
        self.type = type
        self.message = message


class NonRetryableError(DurableFlowsError):
    """Raised by an activity to fail at once, whatever its retry policy says."""

    def __init__(self, message: str = "", type: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.type = type or "NonRetryableError"


class ActivityCancelled(DurableFlowsError):
    """Raised by ``df.heartbeat()`` (and an activity handle's ``heartbeat()``) once the workflow asked to cancel."""


class CompleteAsync(BaseException):
    """Raised by an activity to leave its attempt open: ``df.get_activity_handle(task_token)`` completes it later.

    A ``BaseException``, like ``asyncio.CancelledError``, so an ``except Exception`` in the activity lets it through.
    """


class ActivityNotFound(DurableFlowsError, LookupError):
    """No activity attempt answers to that task token: it is malformed or forged, or its run was deleted."""


class ActivityAttemptClosed(ActivityNotFound):
    """The attempt a task token names is over: completed, failed, timed out, cancelled, or superseded by a retry.

    A subclass of ``ActivityNotFound``, as Temporal reports both as "not found"; nothing was recorded.
    """

    def __init__(self, message: str, state: str = "", attempt: int = 0) -> None:
        super().__init__(message)
        self.state = state
        self.attempt = attempt


class NonDeterminismError(DurableFlowsError):
    """Replaying the workflow code diverged from its recorded history.

    The run is not failed: its task is held with this error and retried later,
    so deploying fixed code lets it carry on.
    """


class UpdateRejected(DurableFlowsError):
    """The workflow refused an update: its validator raised, or it has no handler of that name.

    Nothing was recorded in the run's history.
    """

    def __init__(self, message: str, type: str = "") -> None:
        super().__init__(f"{type}: {message}" if type else message)
        self.message = message
        self.type = type


class UpdateFailed(DurableFlowsError):
    """An accepted update did not complete: its handler raised, or the run closed before it finished."""

    def __init__(self, type: str, message: str, update_id: str = "") -> None:
        super().__init__(f"update {update_id!r} failed: {type}: {message}" if update_id else f"{type}: {message}")
        self.type = type
        self.message = message
        self.update_id = update_id
