"""One workflow task: lock the run, bring its execution up to date, apply new facts, persist.

Everything a task decides is written in one transaction; the Celery messages
it implies are sent after commit. A task that finds nothing new does nothing,
so duplicate doorbells are harmless.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from .. import registry, storage
from ..conf import df_settings
from ..errors import NonDeterminismError, UnknownWorkflowError
from ..models import ActivityTask, InboxItem, Timer, WorkflowRun
from ..options import ActivityOptions
from ..runtime import Event, EventType, WorkflowExecution
from ..status import Status
from . import closing, doorbell
from .cache import ExecutionCache

log = logging.getLogger("durableflows.engine")

cache = ExecutionCache(df_settings.CACHE_SIZE)

_ACTIVITY_OUTCOMES = (EventType.ACTIVITY_COMPLETED, EventType.ACTIVITY_FAILED, EventType.ACTIVITY_TIMED_OUT)


@dataclasses.dataclass
class TaskResult:
    """What a workflow task did, and an activity the caller may run in place of its doorbell."""

    outcome: str
    eager_activity: tuple[int, int] | None = None


def process_workflow_task(run_id: Any, *, eager: bool = False) -> TaskResult:
    """Run one workflow task for ``run_id``; with ``eager``, a lone new activity is handed back to run here."""
    working: list[WorkflowExecution] = []
    try:
        with transaction.atomic():
            return _process(run_id, eager=eager and df_settings.EAGER_ACTIVITIES, working=working)
    except Exception as exc:
        for execution in working:  # its state is ahead of the rolled-back history
            execution.discard()
        _hold(run_id, exc)
        return TaskResult("held")


def _process(run_id: Any, *, eager: bool, working: list[WorkflowExecution]) -> TaskResult:
    run = WorkflowRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None:
        return TaskResult("missing")
    if not run.is_open:
        InboxItem.objects.filter(run=run).delete()
        return TaskResult("closed")
    now = storage.now()
    if run.start_at > now:
        return TaskResult("not due")
    items = list(InboxItem.objects.filter(run=run).order_by("id"))
    starting = run.status == Status.PENDING
    if not items and not starting:
        if run.wake_at is not None:
            WorkflowRun.objects.filter(pk=run.pk).update(wake_at=None)
        return TaskResult("idle")

    terminate = next((item for item in items if item.type == EventType.WORKFLOW_TERMINATED), None)
    if terminate is not None:
        closing.terminate_run(run, terminate.data.get("reason", ""), now)
        return TaskResult("terminated")

    execution, new_events = _bring_up_to_date(run, starting, working)
    for item in items:
        if execution.is_closed:
            break  # facts that arrive after the run's end are dropped with the inbox
        for fact_type, data in _facts(item):
            new_events += execution.apply(fact_type, data, now)

    storage.append_events(run, new_events)
    InboxItem.objects.filter(pk__in=[item.pk for item in items]).delete()
    scheduled = _apply_commands(run, new_events, now)

    run.history_length = execution.last_sequence
    run.vars = execution.vars
    run.wake_at = None
    run.task_error = ""
    if starting:
        run.status = Status.RUNNING
        run.started_at = now
    if execution.closed_by is not None:
        closing.close_run(run, execution.closed_by, now)
    run.save()

    if execution.is_closed:
        scheduled = []  # closing cancelled them
    eager_activity = None
    if eager and len(scheduled) == 1 and not scheduled[0].queue and not execution.is_closed:
        eager_activity = (scheduled[0].pk, 1)
    for task in scheduled:
        if (task.pk, 1) != eager_activity:
            doorbell.ring_activity(task.pk, 1, queue=task.queue or None)
    transaction.on_commit(lambda: cache.put(run.pk, execution))
    return TaskResult("closed" if execution.is_closed else "advanced", eager_activity)


def _bring_up_to_date(
    run: WorkflowRun, starting: bool, working: list[WorkflowExecution]
) -> tuple[WorkflowExecution, list[Event]]:
    """The run's execution at its stored history: from the cache, or replayed; a new run is started."""
    execution = cache.take(run.pk, run.history_length)
    if execution is not None:
        working.append(execution)
        return execution, []
    definition = registry.get_workflow(run.workflow_name)
    execution = WorkflowExecution(
        definition.fn, suggest_continue_as_new_after=df_settings.SUGGEST_CONTINUE_AS_NEW_AFTER
    )
    working.append(execution)
    history = storage.load_history(run.pk)
    if starting:
        started = history[0]  # stored by the client; applying it runs the code's first steps
        return execution, execution.apply(started.type, started.data, started.timestamp)[1:]
    execution.replay(history)
    return execution, []


def _facts(item: InboxItem) -> Iterator[tuple[EventType, dict[str, Any]]]:
    """The history facts an inbox item stands for: an activity outcome is preceded by its ActivityStarted."""
    data = dict(item.data)
    started = data.pop("started", None)
    if item.type in _ACTIVITY_OUTCOMES and started:
        yield EventType.ACTIVITY_STARTED, {"activity_id": data["activity_id"], **started}
    yield EventType(item.type), data


def _apply_commands(run: WorkflowRun, events: list[Event], now: datetime) -> list[ActivityTask]:
    """Turn new command events into rows: activity tasks, timers, signals, child runs."""
    activities: list[ActivityTask] = []
    for event in events:
        data = event.data
        match event.type:
            case EventType.ACTIVITY_SCHEDULED:
                options = ActivityOptions.from_json(data["options"])
                activities.append(
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
                _request_activity_cancel(run, data["activity_id"], now)
            case EventType.TIMER_STARTED:
                Timer.objects.create(
                    run=run, timer_id=data["timer_id"], fire_at=datetime.fromisoformat(data["fire_at"])
                )
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
    created = ActivityTask.objects.bulk_create(activities)
    if any(task.pk is None for task in created):  # backends that cannot return ids from bulk inserts
        created = list(ActivityTask.objects.filter(run=run, activity_id__in=[t.activity_id for t in activities]))
    return created


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
            task_error=error[:10000], wake_at=storage.now() + timedelta(seconds=retry_in)
        )
    except Exception:
        log.exception("could not record the failure of run %s; housekeeping will retry it", run_id)
