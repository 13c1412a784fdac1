"""Settling an attempt that raised ``df.CompleteAsync``, by its task token, from any process.

Each call locks the attempt's row and checks that the token's attempt is still the started one
before it writes, then settles it the way a worker settles an attempt it ran (``activities``), in
one transaction: a second completion, or one for an attempt that timed out or was retried, is
refused with ``df.ActivityAttemptClosed`` and records nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from .. import serialization, storage, task_tokens
from ..conf import df_settings
from ..errors import ActivityAttemptClosed, ActivityCancelled, ActivityNotFound
from ..models import ActivityTask
from ..options import ActivityOptions
from ..transactions import write_transaction
from . import activities, transactional

State = ActivityTask.State

#: The default ``type`` of a failure reported through a task token, as if the activity raised ``Exception``.
DEFAULT_FAILURE_TYPE = "Exception"


def complete(token: str, result: Any) -> None:
    """Record the attempt's result (encoded like an activity's return value) and ring its workflow."""
    ref = task_tokens.parse(token)
    with write_transaction():
        task = _open_attempt(ref)
        encoded = serialization.check(
            result, what=f"result of activity {task.name!r}", limit=df_settings.MAX_PAYLOAD_BYTES
        )
        if activities.record(task, activities.Outcome(result=encoded)) is None:
            raise _closed(task, ref)  # unreachable while the row is locked; the conditional update decides


def fail(token: str, message: str, type: str | None = None, *, non_retryable: bool = False) -> None:
    """Fail the attempt: its retry policy decides whether another attempt follows, as for a raised error."""
    if not isinstance(message, str):
        raise TypeError(f"message must be a string, not {message.__class__.__name__}")
    if type is not None and (not isinstance(type, str) or not type):
        raise TypeError("type must be a non-empty string (an error's class name) or None")
    serialization.check_text(message, what="the failure's message")
    serialization.check_text(type or "", what="the failure's type")
    ref = task_tokens.parse(token)
    failure = activities.Failure(type or DEFAULT_FAILURE_TYPE, message, retryable=not non_retryable)
    with write_transaction():
        activities.record(_open_attempt(ref), activities.Outcome(failure=failure))


def heartbeat(token: str, details: Any = None) -> None:
    """Record liveness and ``details``, moving the heartbeat deadline; ``df.ActivityCancelled`` once cancel was asked.

    Like ``df.heartbeat()``, a heartbeat of an attempt the workflow asked to cancel records nothing and raises.
    """
    ref = task_tokens.parse(token)
    encoded = serialization.check(details, what="heartbeat details", limit=df_settings.MAX_PAYLOAD_BYTES)
    with write_transaction():
        task = _open_attempt(ref)
        if task.cancel_requested:
            raise ActivityCancelled(f"the workflow asked to cancel activity {task.name!r}")
        now = storage.now()
        update: dict[str, Any] = {"heartbeat_at": now, "heartbeat_details": encoded}
        options = ActivityOptions.from_json(task.options)
        deadline = activities.heartbeat_deadline(options, cast(datetime, task.started_at), now)
        if deadline is not None:
            update["deadline"] = deadline
        storage.activity_tasks.update({"id": task.pk, "attempt": ref.attempt, "state": State.STARTED}, **update)


def _open_attempt(ref: task_tokens.AttemptRef) -> ActivityTask:
    """The token's attempt, its run and row locked (``transactional.lock_clauses``); raises unless it is started."""
    run_lock, row_lock = transactional.lock_clauses()
    run = storage.runs.get({"run_id": ref.run_id}, lock=run_lock)
    rows = ActivityTask.objects.filter(run_id=ref.run_id, activity_id=ref.activity_id)
    task = (rows.select_for_update() if row_lock else rows).first()
    if run is None or task is None or task.attempt < ref.attempt:
        raise ActivityNotFound("no activity attempt answers to this task token (its run may have been deleted)")
    if task.attempt != ref.attempt or task.state != State.STARTED:
        raise _closed(task, ref)
    task.run = run
    return task


_CLOSED_AS = {
    State.COMPLETED: "already completed",
    State.FAILED: "already failed",
    State.TIMED_OUT: "timed out",
    State.CANCELLED: "cancelled",
}


def _closed(task: ActivityTask, ref: task_tokens.AttemptRef) -> ActivityAttemptClosed:
    if task.attempt != ref.attempt:
        state, how = "superseded", f"superseded by attempt {task.attempt}"
    else:
        state, how = str(task.state), _CLOSED_AS.get(State(task.state), f"not started ({task.state})")
    return ActivityAttemptClosed(
        f"attempt {ref.attempt} of activity {task.name!r} is over: {how}; nothing was recorded",
        state=state,
        attempt=ref.attempt,
    )
