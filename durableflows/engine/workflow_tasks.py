"""One workflow task: lock the run, bring its execution up to date, apply new facts, persist.

Everything a task decides is written in one transaction; the Celery messages
it implies are sent after commit. A task that finds nothing new does nothing,
so duplicate doorbells are harmless.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast, overload

from django.db import DataError, IntegrityError, connection

from .. import registry, storage
from ..conf import df_settings
from ..errors import NonDeterminismError, UnknownWorkflowError, UpdateRejected
from ..models import ActivityTask, InboxItem, Timer, UpdateRequest, WorkflowRun
from ..options import ActivityOptions
from ..runtime import Event, EventType, WorkflowExecution
from ..sql import Batch, Pending, unmet
from ..status import Status
from ..transactions import batch_is_atomic_alone, write_transaction
from . import activities, closing, doorbell, stamps, timers
from .cache import cache

log = logging.getLogger("durableflows.engine")

_ACTIVITY_OUTCOMES = (EventType.ACTIVITY_COMPLETED, EventType.ACTIVITY_FAILED, EventType.ACTIVITY_TIMED_OUT)
#: Commands whose rows need reads or other runs' rows: a task issuing one locks its run before writing.
_COMMANDS_THAT_READ = frozenset(
    {
        EventType.ACTIVITY_CANCEL_REQUESTED,
        EventType.TIMER_STARTED,
        EventType.TIMER_CANCELLED,
        EventType.SIGNAL_EXTERNAL_SENT,
        EventType.CHILD_WORKFLOW_STARTED,
        EventType.UPDATE_COMPLETED,
    }
)
_HAS_INBOX = {"has_inbox": (storage.inbox, "run_id")}


@dataclasses.dataclass
class TaskResult:
    """What a workflow task did, and an activity attempt it claimed for the caller to run right here."""

    outcome: str
    eager_activity: ActivityTask | None = None


def process_workflow_task(
    run_id: Any, *, eager: bool = False, settle: tuple[ActivityTask, activities.Outcome] | None = None
) -> TaskResult:
    """Run one workflow task for ``run_id``.

    ``settle`` is an attempt this worker just ran: its outcome is recorded in the
    same transaction that advances the workflow, ahead of locking the run when it
    succeeded and its execution is cached here (``_process_ahead``). With ``eager``,
    a lone new activity is claimed and handed back to be run here instead of via a message.
    """
    try:
        run_id = uuid.UUID(str(run_id))
    except ValueError:
        log.warning("workflow task for %r dropped: not a run id", run_id)
        return TaskResult("missing")
    eager = eager and df_settings.EAGER_ACTIVITIES
    if settle is not None and settle[1].recorded:
        settle = None  # a transactional attempt committed its fact itself: it waits in the inbox
    working: list[WorkflowExecution] = []
    try:
        if settle is not None and settle[1].failure is None and settle[0].run_id == run_id:
            try:
                result = _process_ahead(*settle, eager=eager, working=working)
            except _Moved:
                result = None
                for execution in working:
                    execution.discard()
                working.clear()
            if result is not None:
                return result
        with write_transaction():
            return _process(run_id, eager=eager, settle=settle, working=working)
    except Exception as exc:
        for execution in working:  # its state is ahead of the rolled-back history
            execution.discard()
        if settle is not None:
            _record_separately(*settle)
        _hold(run_id, exc)
        return TaskResult("held")


def process_workflow_tasks(run_ids: Sequence[Any]) -> list[TaskResult]:
    """Run the workflow tasks of runs woken together (timers due at once) in one transaction.

    Their rows are locked, and their facts and histories read, in one round trip; then each advances
    as in ``process_workflow_task``. If any of them fails, all of it rolls back and each run gets a
    task of its own, where a failure holds that run alone.
    """
    ids = []
    for run_id in run_ids:
        try:
            ids.append(uuid.UUID(str(run_id)))
        except ValueError:
            log.warning("workflow task for %r dropped: not a run id", run_id)
    ids = sorted(set(ids))  # one lock order for every crowd
    if len(ids) < 2:
        return [process_workflow_task(run_id) for run_id in ids]
    working: list[WorkflowExecution] = []
    try:
        with write_transaction():
            return _process_crowd(ids, working)
    except Exception:
        for execution in working:
            execution.discard()
        log.info("workflow tasks for %d runs failed together; running them one by one", len(ids), exc_info=True)
        return [process_workflow_task(run_id) for run_id in ids]


def _process_crowd(run_ids: list[uuid.UUID], working: list[WorkflowExecution]) -> list[TaskResult]:
    reads, keys = Batch(), tuple(run_ids)
    locked = storage.runs.rows({"run_id": keys}, lock=_lock_clause(), order_by="run_id", batch=reads)
    waiting = _inbox(keys, batch=reads)
    uncached = tuple(run_id for run_id in run_ids if run_id not in cache)
    histories = storage.load_histories_if_due(uncached, batch=reads) if uncached else None
    reads.run()
    items: dict[Any, list[InboxItem]] = {}
    for item in waiting.value:
        items.setdefault(item.run_id, []).append(item)
    history: dict[Any, list[Event]] = {}
    for run_id, event in histories.value if histories else ():
        history.setdefault(run_id, []).append(event)
    results = []
    for run in locked.value:
        result = _closed_or_not_due(run)
        if result is None:
            result = _advance(run, items.get(run.pk, []), None, history.get(run.pk), eager=False, working=working)
        results.append(result)
    return results


def _process(
    run_id: Any,
    *,
    eager: bool,
    settle: tuple[ActivityTask, activities.Outcome] | None,
    working: list[WorkflowExecution],
) -> TaskResult:
    # What this task reads, in one round trip where the database allows: the run, locked; its
    # history unless a suspended execution is cached here; whether the attempt it settles holds.
    reads = Batch()
    locked = storage.runs.get({"run_id": run_id}, lock=_lock_clause(), exists=_HAS_INBOX, batch=reads)
    history = None
    if run_id not in cache:  # with an attempt to settle there is work; else the history only if there is some
        load = storage.load_history if settle is not None else storage.load_history_if_due
        history = load(run_id, batch=reads)
    completing = None
    if settle is not None and settle[1].failure is None:
        completing = activities.complete(settle[0], batch=reads, details=settle[1].heartbeat_details)
    reads.run()
    run = locked.value
    if run is None:
        return TaskResult("missing")
    result = _closed_or_not_due(run)
    if result is not None:
        return result
    settled = None
    if settle is not None and completing is not None:
        settled = activities.completed_fact(settle[0], settle[1], completing.value)
    elif settle is not None:
        settled = activities.settle(*settle)
    items = _inbox((run.pk,)) if run.has_inbox else []
    return _advance(run, items, settled, history.value or None if history else None, eager=eager, working=working)


def _closed_or_not_due(run: WorkflowRun) -> TaskResult | None:
    """The outcome of a task for a run that is closed (its late facts settled) or not due to start yet."""
    if not run.is_open:
        closing.settle_late_facts(run)
        return TaskResult("closed")
    if run.start_at > storage.now():
        return TaskResult("not due")
    return None


def _advance(
    run: WorkflowRun,
    items: list[InboxItem],
    settled: tuple[EventType, dict[str, Any]] | None,
    history: list[Event] | None,
    *,
    eager: bool,
    working: list[WorkflowExecution],
) -> TaskResult:
    """Apply the run's waiting facts (and an attempt's outcome) to its execution and write what follows.

    ``history`` is the stored history if it was read with the run, for when no execution is cached.
    """
    now = storage.now()
    facts = [(EventType(item.type), item.data) for item in items] + ([settled] if settled else [])
    starting = run.status == Status.PENDING
    if not facts and not starting:
        if run.wake_at is not None or run.rung_at is not None:  # the doorbell is answered
            storage.runs.update({"run_id": run.pk}, wake_at=None, rung_at=None)
        return TaskResult("idle")

    terminate = next((item for item in items if item.type == EventType.WORKFLOW_TERMINATED), None)
    if terminate is not None:
        closing.terminate_run(run, terminate.data.get("reason", ""), now)
        return TaskResult("terminated")

    execution, new_events = _bring_up_to_date(run, starting, working, history)
    applied = 0
    for fact_type, data in facts:
        if execution.is_closed:
            break  # the rest stay in the inbox: closing drops them, or hands signals on to the next run
        applied += 1
        if fact_type is EventType.UPDATE_ACCEPTED and not _validate_update(run, execution, data, now):
            continue  # rejected: its outcome is stored with the request, nothing in the history
        for expanded_type, expanded in _expand(fact_type, data):
            new_events += execution.apply(expanded_type, expanded, now)
    return _persist(run, execution, new_events, now, items=items[:applied], starting=starting, eager=eager)


@overload
def _inbox(run_ids: tuple[Any, ...], *, batch: None = None) -> list[InboxItem]: ...
@overload
def _inbox(run_ids: tuple[Any, ...], *, batch: Batch) -> Pending[list[InboxItem]]: ...
def _inbox(run_ids: tuple[Any, ...], *, batch: Batch | None = None) -> list[InboxItem] | Pending[list[InboxItem]]:
    """The runs' waiting facts in arrival order, through a prebuilt statement (the ORM's costs ~1 ms of CPU)."""
    return storage.inbox.values(
        {"run_id": run_ids},
        ("id", "run_id", "type", "data"),
        order_by="id",
        row=lambda pk, run_id, type, data: InboxItem(id=pk, run_id=run_id, type=type, data=data),
        batch=batch,
    )


def _validate_update(run: WorkflowRun, execution: WorkflowExecution, data: dict[str, Any], now: datetime) -> bool:
    """Run the update's validator against the run's current state; store a rejection with its request."""
    try:
        execution.validate_update(data["name"], data.get("args") or [])
    except UpdateRejected as rejected:
        UpdateRequest.objects.filter(run=run, update_id=data["update_id"]).update(
            state=UpdateRequest.State.REJECTED,
            error={"type": rejected.type, "message": rejected.message},
            closed_at=now,
        )
        return False
    return True


def _process_ahead(
    task: ActivityTask, outcome: activities.Outcome, *, eager: bool, working: list[WorkflowExecution]
) -> TaskResult | None:
    """Advance by an attempt that just succeeded here, applying it before touching the database.

    The cached execution takes the result first; then the run is locked and read in the same
    round trip that writes what the task decided (one round trip fewer on PostgreSQL, and
    SQLite's write lock held only to write). What was read is checked afterwards: if the run
    moved on, has facts waiting or the attempt no longer holds, ``_Moved`` rolls it all back for
    the locking path. A task whose commands must read or change other rows (timers, children,
    signals, a parent) locks and checks first instead. ``None``: nothing cached to advance.
    """
    run = task.run  # the row as this worker last wrote or read it
    execution = cache.take(run.pk, run.history_length)
    if execution is None:
        return None
    working.append(execution)
    expected, now = run.history_length, storage.now()
    new_events: list[Event] = []
    fact = cast(tuple[EventType, dict[str, Any]], activities.completed_fact(task, outcome, held=1))  # held: a fact
    for fact_type, data in _expand(*fact):
        new_events += execution.apply(fact_type, data, now)
    own_rows = _writes_only_own_rows(run, execution, new_events)
    if own_rows and batch_is_atomic_alone():
        return _advance_alone(task, outcome, expected, execution, new_events, now, eager=eager)
    with write_transaction():
        batch = Batch()
        locked = storage.runs.get({"run_id": run.pk}, lock=_lock_clause(), exists=_HAS_INBOX, batch=batch)
        held = activities.complete(task, batch=batch, details=outcome.heartbeat_details)
        if not own_rows:
            batch.run()
            return _persist(_as_assumed(locked.value, expected, held.value), execution, new_events, now, eager=eager)
        try:
            result = _persist(run, execution, new_events, now, eager=eager, batch=batch)
        except IntegrityError:  # another task appended these sequence numbers first
            raise _Moved from None
        current = _as_assumed(locked.value, expected, held.value)
        if current.wake_at is not None or current.rung_at is not None or current.task_error:  # set meanwhile
            storage.runs.update({"run_id": run.pk}, wake_at=None, rung_at=None, task_error="")
        return result


def _advance_alone(
    task: ActivityTask,
    outcome: activities.Outcome,
    expected: int,
    execution: WorkflowExecution,
    new_events: list[Event],
    now: datetime,
    *,
    eager: bool,
) -> TaskResult:
    """``_process_ahead``'s writes as one query on PostgreSQL: one implicit transaction, no BEGIN or COMMIT.

    Its assumptions are checks at the head of the query, which fail all of it if the run moved on, has
    facts waiting or the attempt no longer holds.
    """
    run = task.run
    batch = Batch()
    storage.runs.require(
        {"run_id": run.pk, "status": Status.RUNNING, "history_length": expected}, lock=_lock_clause(), batch=batch
    )
    storage.inbox.require({"run_id": run.pk}, present=False, batch=batch)
    activities.complete_required(task, batch=batch, details=outcome.heartbeat_details)
    try:
        return _persist(run, execution, new_events, now, eager=eager, batch=batch, alone=True)
    except IntegrityError:  # another task appended these sequence numbers first
        raise _Moved from None
    except DataError as exc:
        if unmet(exc):
            raise _Moved from None
        raise


class _Moved(Exception):
    """The run or the attempt was not as an ahead-of-time task assumed."""


def _as_assumed(run: WorkflowRun | None, history_length: int, held: int) -> WorkflowRun:
    if run is None or run.status != Status.RUNNING or run.history_length != history_length:
        raise _Moved
    if run.has_inbox or not held:
        raise _Moved
    return run


def _writes_only_own_rows(run: WorkflowRun, execution: WorkflowExecution, new_events: list[Event]) -> bool:
    """Whether the task's writes are only rows of this run's own, which need nothing read first."""
    if any(event.type in _COMMANDS_THAT_READ for event in new_events):
        return False
    closed = execution.closed_by
    if closed is None:
        return True
    return (
        closed.type != EventType.WORKFLOW_CONTINUED_AS_NEW and run.parent_id is None and not execution.has_pending_work
    )


def _persist(
    run: WorkflowRun,
    execution: WorkflowExecution,
    new_events: list[Event],
    now: datetime,
    *,
    eager: bool,
    items: Sequence[InboxItem] = (),
    starting: bool = False,
    batch: Batch | None = None,
    alone: bool = False,
) -> TaskResult:
    """Write what the task decided: events, consumed facts, commands' rows, the run; after ``batch``'s statements.

    ``alone``: the batch is the task's whole transaction (``_advance_alone``), so what waits for a commit
    is done after it runs; and the run's doorbell fields are cleared even if ``run`` shows none, as they
    may have been set meanwhile.
    """
    writes = batch or Batch()  # this task's own rows, sent together at the end
    storage.append_events(run, new_events, batch=writes)
    if items:
        storage.inbox.delete({"id": tuple(item.pk for item in items)}, batch=writes)
    scheduled = _apply_commands(run, new_events, now, claim_lone=eager and not execution.is_closed, batch=writes)

    changed = ["history_length"]
    run.history_length = execution.last_sequence
    if execution.vars != run.vars:
        run.vars = dict(execution.vars)  # a copy: the execution's own dict changes on, unseen, in later tasks
        changed.append("vars")
    if alone or run.wake_at is not None or run.rung_at is not None or run.task_error:
        run.wake_at, run.rung_at, run.task_error = None, None, ""
        changed += ["wake_at", "rung_at", "task_error"]
    if starting:
        run.status, run.started_at = Status.RUNNING, now
        changed += ["status", "started_at"]
    if execution.closed_by is not None:
        closing.close_run(
            run, execution.closed_by, now, pending_work=execution.has_pending_work, batch=writes, notify=not alone
        )
        changed += ["status", "closed_at", "result", "error", "wake_at", "rung_at", "task_error"]
        scheduled = []  # closing cancelled them
    storage.runs.save(run, sorted(set(changed)), batch=writes)
    writes.run()
    if alone and execution.closed_by is not None:
        closing.notify_closed(run)

    eager_activity = next((task for task in scheduled if task.state == ActivityTask.State.STARTED), None)
    for task in scheduled:
        if task is not eager_activity:
            recorded = stamps.record(ActivityTask, "dispatched_at", task.pk, now)
            doorbell.ring_activity(task.pk, 1, queue=task.queue or None, stamps=recorded)
    cache.put_after_commit(run.pk, execution)
    return TaskResult("closed" if execution.is_closed else "advanced", eager_activity)


def _lock_clause() -> str:
    """How a workflow task locks its run; NO KEY UPDATE lets facts be inserted for the run meanwhile."""
    if connection.features.has_select_for_no_key_update:
        return "FOR NO KEY UPDATE"
    return "FOR UPDATE" if connection.features.has_select_for_update else ""


def _record_separately(task: ActivityTask, outcome: activities.Outcome) -> None:
    """Keep an inline attempt's outcome when the workflow task that was to apply it failed."""
    try:
        activities.record(task, outcome, ring_workflow=False)
    except Exception:
        log.exception("could not record the outcome of %s; it will time out and be retried", task)


def _bring_up_to_date(
    run: WorkflowRun, starting: bool, working: list[WorkflowExecution], history: list[Event] | None
) -> tuple[WorkflowExecution, list[Event]]:
    """The run's execution at its stored history: from the cache, or replayed; a new run is started.

    ``history`` is the stored history if it was read with the run (when nothing was cached).
    """
    execution = cache.take(run.pk, run.history_length)
    if execution is not None:
        working.append(execution)
        return execution, []
    definition = registry.get_workflow(run.workflow_name)
    execution = WorkflowExecution(
        definition.fn, suggest_continue_as_new_after=df_settings.SUGGEST_CONTINUE_AS_NEW_AFTER
    )
    working.append(execution)
    if history is None:  # the cached execution was stale
        history = storage.load_history(run.pk)
    if starting:
        started = history[0]  # stored by the client; applying it runs the code's first steps
        return execution, execution.apply(started.type, started.data, started.timestamp)[1:]
    execution.replay(history)
    return execution, []


def _expand(type: EventType, data: dict[str, Any]) -> Iterator[tuple[EventType, dict[str, Any]]]:
    """The history facts behind one recorded fact: an activity outcome is preceded by its ActivityStarted."""
    started = data.get("started")
    if type in _ACTIVITY_OUTCOMES and started:
        yield EventType.ACTIVITY_STARTED, {"activity_id": data["activity_id"], **started}
        data = {k: v for k, v in data.items() if k != "started"}
    yield type, data


def _apply_commands(
    run: WorkflowRun, events: list[Event], now: datetime, *, claim_lone: bool, batch: Batch
) -> list[ActivityTask]:
    """Turn new command events into rows: activity tasks, timers, signals, child runs.

    With ``claim_lone``, a lone new activity on the default queue is inserted
    already claimed (attempt 1 started), for this worker to run at once. The new
    activity tasks are queued in ``batch``: their ids are set once it has run.
    Returns the new tasks to run: those cancelled in this same task are stored cancelled.
    """
    new_tasks: list[ActivityTask] = []
    for event in events:
        data = event.data
        match event.type:
            case EventType.ACTIVITY_SCHEDULED:
                options = ActivityOptions.from_json(data["options"])
                new_tasks.append(
                    ActivityTask(
                        run=run,
                        activity_id=data["activity_id"],
                        name=data["name"],
                        args=data["args"],
                        options=data["options"],
                        queue=options.queue or run.queue,
                        scheduled_at=now,
                        due_at=now,
                        dispatched_at=now,
                        expires_at=(
                            now + timedelta(seconds=options.schedule_to_close_timeout)
                            if options.schedule_to_close_timeout
                            else None
                        ),
                    )
                )
            case EventType.ACTIVITY_CANCEL_REQUESTED:
                unsent = next((task for task in new_tasks if task.activity_id == data["activity_id"]), None)
                if unsent is not None:  # scheduled by this same task: stored as cancelled, never run
                    unsent.state, unsent.cancel_requested, unsent.closed_at = ActivityTask.State.CANCELLED, True, now
                else:
                    _request_activity_cancel(run, data["activity_id"], now)
            case EventType.TIMER_STARTED:
                timers.started(run, data["timer_id"], datetime.fromisoformat(data["fire_at"]), now)
            case EventType.TIMER_CANCELLED:
                Timer.objects.filter(run=run, timer_id=data["timer_id"]).delete()
            case EventType.SIGNAL_EXTERNAL_SENT:
                target = storage.open_run(data["workflow_id"])
                if target is None:
                    log.warning("signal %r to unknown or closed workflow %r dropped", data["name"], data["workflow_id"])
                else:
                    storage.add_fact(
                        target, EventType.SIGNAL_RECEIVED, {"name": data["name"], "payload": data.get("payload")}
                    )
            case EventType.CHILD_WORKFLOW_STARTED:
                _start_child(run, data)
            case EventType.UPDATE_ACCEPTED:
                UpdateRequest.objects.filter(run=run, update_id=data["update_id"]).update(
                    state=UpdateRequest.State.ACCEPTED
                )
            case EventType.UPDATE_COMPLETED:
                failed = "error" in data
                UpdateRequest.objects.filter(run=run, update_id=data["update_id"]).update(
                    state=UpdateRequest.State.FAILED if failed else UpdateRequest.State.COMPLETED,
                    result=None if failed else data.get("result"),
                    error=data.get("error"),
                    closed_at=now,
                )
    to_run = [task for task in new_tasks if task.state == ActivityTask.State.SCHEDULED]
    if claim_lone and len(to_run) == 1 and not to_run[0].queue:
        task = to_run[0]
        task.state, task.started_at = ActivityTask.State.STARTED, now
        task.deadline = activities.attempt_deadline(ActivityOptions.from_json(task.options), now)
    storage.activity_tasks.insert(new_tasks, batch=batch)
    return to_run


def _request_activity_cancel(run: WorkflowRun, activity_id: int, now: datetime) -> None:
    tasks = ActivityTask.objects.filter(run=run, activity_id=activity_id)
    tasks.filter(state=ActivityTask.State.SCHEDULED).update(
        state=ActivityTask.State.CANCELLED, cancel_requested=True, closed_at=now
    )
    tasks.filter(state=ActivityTask.State.STARTED).update(cancel_requested=True)


def _start_child(run: WorkflowRun, data: dict[str, Any]) -> None:
    if storage.open_run(data["workflow_id"]) is not None:
        storage.add_fact(
            run,
            EventType.CHILD_WORKFLOW_FAILED,
            {
                "child_id": data["child_id"],
                "workflow_id": data["workflow_id"],
                "status": "failed",
                "type": "WorkflowAlreadyExists",
                "message": f"workflow {data['workflow_id']!r} already has an open run",
            },
        )
        return
    storage.create_run(
        data["name"],
        data["args"],
        workflow_id=data["workflow_id"],
        queue=run.queue or None,
        parent=run,
        parent_child_id=data["child_id"],
        parent_close_policy=data.get("parent_close_policy", "terminate"),
    )


def _hold(run_id: Any, exc: Exception) -> None:
    """Record why the task failed and when to try again; the run itself is not failed."""
    if isinstance(exc, (NonDeterminismError, UnknownWorkflowError)):
        retry_in = df_settings.STUCK_RETRY_INTERVAL
        error = f"{type(exc).__name__}: {exc}"
        log.error("workflow task for run %s held: %s", run_id, error)
    else:
        retry_in = min(5.0, df_settings.STUCK_RETRY_INTERVAL)
        error = "".join(traceback.format_exception(exc))
        log.exception("workflow task for run %s failed; retrying in %ss", run_id, retry_in)
    try:
        WorkflowRun.objects.filter(pk=run_id, status__in=(Status.PENDING, Status.RUNNING)).update(
            task_error=error[:10000], wake_at=storage.now() + timedelta(seconds=retry_in), rung_at=None
        )
    except Exception:
        log.exception("could not record the failure of run %s; housekeeping will retry it", run_id)
