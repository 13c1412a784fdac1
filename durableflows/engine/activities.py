"""Activity attempts: claim with a conditional update, run, and settle only if the claim still holds.

A duplicate delivery finds the attempt already claimed and does nothing; a
late result from an attempt that timed out finds it settled and is dropped.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast, overload

from .. import registry, serialization, storage, task_tokens
from ..activity_context import ActivityInfo, current_activity
from ..conf import df_settings
from ..errors import ActivityCancelled, CompleteAsync, NonRetryableError
from ..models import ActivityTask, WorkflowRun
from ..options import ActivityOptions
from ..runtime import EventType
from ..sql import Batch, Pending
from ..transactions import write_transaction
from . import async_activities, doorbell, transactional

log = logging.getLogger("durableflows.activities")
State = ActivityTask.State

#: Activity name -> callable used instead of the registered function (``durableflows.testing`` mocks).
overrides: dict[str, Callable[..., Any]] = {}


@dataclasses.dataclass(frozen=True)
class Failure:
    type: str
    message: str
    traceback: str = ""
    retryable: bool = True

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        formatted = "".join(traceback.format_exception(exc))
        if isinstance(exc, NonRetryableError):
            return cls(exc.type, exc.message, formatted, retryable=False)
        return cls(type(exc).__name__, str(exc), formatted)


#: ``Outcome.heartbeat_details`` when the attempt left no heartbeat details unsaved.
UNCHANGED: Any = type("Unchanged", (), {"__repr__": lambda self: "UNCHANGED"})()


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one attempt ended: an encoded result, or a failure; with details of heartbeats not yet saved.

    ``recorded``: a transactional attempt already committed its completion, with its writes.
    """

    result: Any = None
    failure: Failure | None = None
    timed_out: bool = False
    heartbeat_details: Any = UNCHANGED
    #: The activity raised ``df.CompleteAsync``: the attempt stays started until its task token settles it.
    pending: bool = False
    #: A transactional attempt committed its fact with its own writes: only the doorbell is left.
    recorded: bool = False

    @property
    def details_update(self) -> dict[str, Any]:
        """The column update that saves the attempt's last heartbeat details, if a throttled one was not."""
        return {} if self.heartbeat_details is UNCHANGED else {"heartbeat_details": self.heartbeat_details}


def execute(task_pk: int, attempt: int, *, ring_workflow: bool = True) -> Any:
    """Claim, run and record one attempt; returns the run id when the attempt settled the activity."""
    task = claim(task_pk, attempt)
    if task is None:
        return None
    return record(task, run_attempt(task), ring_workflow=ring_workflow)


def claim(task_pk: int, attempt: int) -> ActivityTask | None:
    """Take attempt ``attempt`` with a conditional update; ``None`` if it is not due or someone else has it."""
    now = storage.now()
    task = storage.activity_tasks.get({"id": task_pk})
    if task is None or task.attempt != attempt or task.state != State.SCHEDULED or task.due_at > now:
        return None
    deadline = attempt_deadline(ActivityOptions.from_json(task.options), now)
    claimed = storage.activity_tasks.update(
        {"id": task_pk, "attempt": attempt, "state": State.SCHEDULED, "cancel_requested": False},
        state=State.STARTED,
        started_at=now,
        deadline=deadline,
    )
    if not claimed:
        return None
    task.state, task.started_at, task.deadline = State.STARTED, now, deadline
    task.run = cast(WorkflowRun, storage.runs.get({"run_id": task.run_id}))  # deleting a run deletes its tasks
    return task


def attempt_deadline(options: ActivityOptions, started_at: datetime) -> datetime:
    """When an attempt started at ``started_at`` times out, absent heartbeats."""
    deadline = started_at + timedelta(seconds=options.start_to_close_timeout)
    if options.heartbeat_timeout:
        deadline = min(deadline, started_at + timedelta(seconds=options.heartbeat_timeout))
    return deadline


def heartbeat_deadline(options: ActivityOptions, started_at: datetime, now: datetime) -> datetime | None:
    """The deadline a heartbeat at ``now`` gives an attempt (one heartbeat timeout on, within start-to-close)."""
    if not options.heartbeat_timeout:
        return None
    hard_deadline = started_at + timedelta(seconds=options.start_to_close_timeout)
    return min(hard_deadline, now + timedelta(seconds=options.heartbeat_timeout))


def run_attempt(task: ActivityTask) -> Outcome:
    """Run the activity's code for a claimed attempt, outside any transaction.

    An ``async def`` activity runs on a loop thread of its own and is cancelled at its deadline;
    a transactional one runs inside the transaction that records its completion (``transactional``).
    """
    options = ActivityOptions.from_json(task.options)
    if options.transactional:
        return transactional.run_attempt(task, _AttemptContext(task, options, in_transaction=True))
    context = _AttemptContext(task, options)
    token = current_activity.set(context)
    try:
        definition = registry.get_activity(task.name)
        args, _ = serialization.decode_arguments(definition.fn, task.args)
        result = overrides.get(task.name, definition.fn)(*args)
        if inspect.isawaitable(result):
            result = async_activities.run(result, context)
        encoded = serialization.check(
            result, what=f"result of activity {task.name!r}", limit=df_settings.MAX_PAYLOAD_BYTES
        )
    except CompleteAsync:
        return Outcome(pending=True, heartbeat_details=context.unsaved_details)
    except async_activities.AttemptTimedOut as exc:
        failure = Failure("TimeoutError", str(exc))
        return Outcome(failure=failure, timed_out=True, heartbeat_details=context.unsaved_details)
    except Exception as exc:  # noqa: BLE001 - every failure of user code is recorded
        return Outcome(failure=Failure.from_exception(exc), heartbeat_details=context.unsaved_details)
    finally:
        current_activity.reset(token)
    return Outcome(result=encoded, heartbeat_details=context.unsaved_details)


def record(task: ActivityTask, outcome: Outcome, *, timed_out: bool = False, ring_workflow: bool = True) -> Any:
    """Settle an attempt in its own transaction, queueing the fact for the workflow; returns the run id if settled."""
    if outcome.pending:  # left open for its task token; only heartbeat details the throttle held back are saved
        if outcome.details_update:
            holds = {"id": task.pk, "attempt": task.attempt, "state": State.STARTED}
            storage.activity_tasks.update(holds, **outcome.details_update)
        return None
    if outcome.recorded:  # committed with the activity's own writes: only the doorbell is left
        if ring_workflow:
            doorbell.ring_workflow(task.run_id, queue=task.run.queue or None)
        return task.run_id
    with write_transaction():
        fact = settle(task, outcome, timed_out=timed_out)
        if fact is None:
            return None
        storage.add_fact(task.run_id, *fact, ring=ring_workflow, queue=task.run.queue or None)
    return task.run_id


def settle(task: ActivityTask, outcome: Outcome, *, timed_out: bool = False) -> tuple[EventType, dict] | None:
    """Apply an attempt's outcome if the attempt still holds (inside the caller's transaction).

    Returns the fact for the workflow when the activity is done for good; ``None``
    when a retry was scheduled or the attempt no longer holds (a late result).
    """
    if outcome.pending:
        return None
    if outcome.failure is None:
        return completed_fact(task, outcome, complete(task, details=outcome.heartbeat_details))
    timed_out = timed_out or outcome.timed_out
    details = outcome.details_update  # saved with the attempt's end, so a retry resumes from the last ones
    now = storage.now()
    attempt = task.attempt
    holds = {"id": task.pk, "attempt": attempt, "state": (State.STARTED, State.SCHEDULED)}
    update = storage.activity_tasks.update
    failure = outcome.failure
    options = ActivityOptions.from_json(task.options)
    delay = options.retry.next_delay(attempt, failure.type) if failure.retryable else None
    if delay is not None and task.expires_at is not None and now + timedelta(seconds=delay) >= task.expires_at:
        delay = None
    error = {"type": failure.type, "message": failure.message, "traceback": failure.traceback, "attempt": attempt}
    if update({**holds, "cancel_requested": True}, state=State.CANCELLED, closed_at=now, last_error=error, **details):
        return None  # the workflow asked to cancel it and has moved on: no retry, no fact
    if delay is not None:
        due = now + timedelta(seconds=delay)
        countdown = delay <= df_settings.MAX_COUNTDOWN
        retried = update(
            holds,
            state=State.SCHEDULED,
            attempt=attempt + 1,
            due_at=due,
            dispatched_at=due if countdown else None,
            started_at=None,
            deadline=None,
            last_error=error,
            **details,
        )
        if retried and countdown:
            doorbell.ring_activity(task.pk, attempt + 1, queue=task.queue or None, countdown=delay)
        return None
    closed = State.TIMED_OUT if timed_out else State.FAILED
    if not update(holds, state=closed, closed_at=now, last_error=error, **details):
        return None
    data = {
        "activity_id": task.activity_id,
        "name": task.name,
        "type": failure.type,
        "message": failure.message,
        "attempts": attempt,
    }
    if task.started_at:
        data["started"] = _started(task, attempt)
    return (EventType.ACTIVITY_TIMED_OUT if timed_out else EventType.ACTIVITY_FAILED), data


@overload
def complete(task: ActivityTask, *, batch: None = None, details: Any = ...) -> int: ...
@overload
def complete(task: ActivityTask, *, batch: Batch, details: Any = ...) -> Pending[int]: ...
def complete(task: ActivityTask, *, batch: Batch | None = None, details: Any = UNCHANGED) -> int | Pending[int]:
    """Mark a successful attempt completed if it still holds (saving unsaved heartbeat ``details``): 1 if it did."""
    where, values = _completion(task, details)
    return storage.activity_tasks.update(where, batch=batch, **values)


def complete_required(task: ActivityTask, *, batch: Batch, details: Any = UNCHANGED) -> None:
    """``complete`` as a check of ``batch`` (``Table.update_required``): the batch fails unless the attempt holds."""
    where, values = _completion(task, details)
    storage.activity_tasks.update_required(where, batch=batch, **values)


def _completion(task: ActivityTask, details: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    holds = {"id": task.pk, "attempt": task.attempt, "state": State.STARTED}
    saved = {} if details is UNCHANGED else {"heartbeat_details": details}
    return holds, {"state": State.COMPLETED, "closed_at": storage.now(), **saved}


def completed_fact(task: ActivityTask, outcome: Outcome, held: int) -> tuple[EventType, dict] | None:
    """The ActivityCompleted fact of a successful attempt that ``complete`` found holding (``held``)."""
    if not held:
        log.info("dropping a late result of %s: the attempt no longer holds", task)
        return None
    data = {"activity_id": task.activity_id, "result": outcome.result, "started": _started(task, task.attempt)}
    return EventType.ACTIVITY_COMPLETED, data


def _started(task: ActivityTask, attempt: int) -> dict[str, Any]:
    return {"attempt": attempt, "started_at": task.started_at.isoformat() if task.started_at else None}


class _AttemptContext:
    """Backs ``df.heartbeat()`` and ``df.activity_info()`` for one running attempt."""

    def __init__(self, task: ActivityTask, options: ActivityOptions, *, in_transaction: bool = False) -> None:
        self._task = task
        #: A transactional attempt keeps its heartbeats in memory: they are saved with its outcome.
        self._in_transaction = in_transaction
        self._started_at = cast(datetime, task.started_at)  # the attempt is claimed: it has started
        self._options = options
        self._last: datetime | None = None
        self._deadline = task.deadline
        self._deadline_at = self._monotonic_deadline()
        #: Details of heartbeats the throttle did not write: saved with the attempt's outcome.
        self.unsaved_details: Any = UNCHANGED
        #: Runs a database call on the thread that claimed the attempt (an async activity's loop has its own).
        self.on_owner_thread: Callable[[Callable[[], Any]], Any] = _call
        timeout = options.heartbeat_timeout
        self.info = ActivityInfo(
            workflow_id=task.run.workflow_id,
            run_id=str(task.run_id),
            activity_id=task.activity_id,
            activity_name=task.name,
            attempt=task.attempt,
            heartbeat_details=serialization.decode(task.heartbeat_details),
            heartbeat_timeout=timedelta(seconds=timeout) if timeout else None,
            task_token=task_tokens.make(task.run_id, task.activity_id, task.attempt),
        )

    def heartbeat(self, details: Any = None) -> None:
        now = storage.now()
        encoded = serialization.check(details, what="heartbeat details", limit=df_settings.MAX_PAYLOAD_BYTES)
        timeout = self._options.heartbeat_timeout
        throttle = timedelta(seconds=(timeout * 0.5) if timeout else 10.0)
        if self._in_transaction or (self._last is not None and now - self._last < throttle):
            self.unsaved_details = encoded
            return
        self.unsaved_details = UNCHANGED
        alive = self.on_owner_thread(lambda: self._save(now, encoded))
        self._last = now
        if not alive:
            raise ActivityCancelled(f"activity {self._task.name!r} was cancelled or timed out")

    def _save(self, now: datetime, encoded: Any) -> bool:
        update: dict[str, Any] = {"heartbeat_at": now, "heartbeat_details": encoded}
        deadline = heartbeat_deadline(self._options, self._started_at, now)
        if deadline is not None:
            update["deadline"] = deadline
        alive = ActivityTask.objects.filter(
            pk=self._task.pk, attempt=self._task.attempt, state=State.STARTED, cancel_requested=False
        ).update(**update)
        if alive and deadline is not None:
            self._deadline = deadline
            self._deadline_at = self._monotonic_deadline()
        return bool(alive)

    # -- the deadline, for the runner of async activities ---------------------------------
    def _monotonic_deadline(self) -> float:
        if self._deadline is None:
            return float("inf")
        return time.monotonic() + (self._deadline - storage.now()).total_seconds()

    def seconds_left(self) -> float:
        return self._deadline_at - time.monotonic()

    def timeout_cause(self) -> str:
        hard_deadline = self._started_at + timedelta(seconds=self._options.start_to_close_timeout)
        if self._options.heartbeat_timeout and self._deadline is not None and self._deadline < hard_deadline:
            return "heartbeat_timeout exceeded"
        return "start_to_close_timeout exceeded"


def _call(fn: Callable[[], Any]) -> Any:
    return fn()
