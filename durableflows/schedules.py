"""``df.schedule``: durable cron schedules that start workflow runs, and handles to operate them.

A schedule is a :class:`~durableflows.models.Schedule` row; the housekeeping in
every worker starts its due occurrences (``durableflows.engine.scheduler``).
The run of an occurrence is the workflow id ``"<schedule id>@<fire time in UTC>"``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async

from . import registry, serialization, storage
from .arguments import check_arguments
from .client import WorkflowHandle
from .conf import df_settings
from .cron import validate_cron, validate_schedule_id, validate_timezone
from .engine import scheduler
from .errors import ScheduleNotFound, WorkflowAlreadyExists
from .models import Schedule, WorkflowRun
from .transactions import write_transaction

OVERLAP_POLICIES = tuple(Schedule.Overlap.values)


def schedule(
    workflow: str | Callable[..., Any],
    *args: Any,
    id: str,
    cron: str,
    timezone: str = "UTC",
    overlap: str = "skip",
    paused: bool | None = None,
    queue: str | None = None,
    now: datetime | None = None,
) -> ScheduleHandle:
    """Create or update (by ``id``) the schedule that starts ``workflow(*args)`` at each ``cron`` time.

    ``cron`` is a 5-field expression or a macro such as ``@daily``, read as
    wall-clock time in ``timezone`` (an IANA name). ``overlap`` says what an
    occurrence does while the previous run is still open: ``"skip"`` it,
    ``"buffer_one"`` (start it once that run closes; at most one waits) or
    ``"allow_all"``. ``paused=None`` keeps the current state of an existing
    schedule (new ones start active), so re-declaring a schedule at deploy time
    does not undo a pause made in the admin. ``now`` is the time the next fire
    time is computed from (default: the current time).
    """
    definition = registry.get_workflow(workflow)
    what = f"arguments of scheduled workflow {definition.name!r}"
    encoded = serialization.check(list(args), what=what, limit=df_settings.MAX_PAYLOAD_BYTES)
    check_arguments(definition.fn, args, what=what)
    validate_schedule_id(id)
    cron = validate_cron(cron)
    validate_timezone(timezone)
    if overlap not in OVERLAP_POLICIES:
        raise ValueError(f"overlap must be one of {', '.join(OVERLAP_POLICIES)}, not {overlap!r}")
    if queue is not None and not isinstance(queue, str):
        raise TypeError("queue must be a string")
    now = now or storage.now()
    with write_transaction():
        row, created = Schedule.objects.select_for_update().get_or_create(
            schedule_id=id, defaults={"cron": cron, "timezone": timezone, "created_at": now}
        )
        timing_changed = created or (row.cron, row.timezone) != (cron, timezone)
        row.workflow_name, row.args, row.cron, row.timezone = definition.name, encoded, cron, timezone
        row.overlap, row.queue = overlap, queue or ""
        if paused is not None:
            row.paused = paused
        if not row.paused and (timing_changed or row.next_fire_at is None):
            row.reschedule(now)
        row.save()
    return ScheduleHandle(id)


async def aschedule(workflow: str | Callable[..., Any], *args: Any, **options: Any) -> ScheduleHandle:
    """``schedule`` for async code: the same arguments, awaited."""
    return await sync_to_async(schedule)(workflow, *args, **options)


def get_schedule(schedule_id: str) -> ScheduleHandle:
    """A handle on an existing schedule; ``ScheduleNotFound`` if there is none."""
    handle = ScheduleHandle(schedule_id)
    handle._row()
    return handle


async def aget_schedule(schedule_id: str) -> ScheduleHandle:
    """``get_schedule`` for async code."""
    return await sync_to_async(get_schedule)(schedule_id)


class ScheduleHandle:
    """Operate one schedule by id. Every read goes to the database."""

    def __init__(self, schedule_id: str) -> None:
        self.schedule_id = schedule_id

    def __repr__(self) -> str:
        return f"<ScheduleHandle {self.schedule_id!r}>"

    def pause(self) -> None:
        """Stop starting runs (a buffered start is dropped); runs already started carry on."""
        with write_transaction():
            row = self._row(lock=True)
            row.paused = True
            row.save()  # which also clears next_fire_at and any buffered start

    def resume(self, now: datetime | None = None) -> None:
        """Start runs again from the first occurrence after ``now``; occurrences missed while paused are skipped."""
        with write_transaction():
            row = self._row(lock=True)
            if row.paused:
                row.paused = False
                row.reschedule(now or storage.now())
                row.save()

    def trigger(self, now: datetime | None = None) -> WorkflowHandle:
        """Start one run at once, whatever the overlap policy, pause or cron say; returns its handle."""
        now = now or storage.now()
        workflow_id = scheduler.manual_workflow_id(self.schedule_id, now)
        with write_transaction():
            row = self._row(lock=True)
            if WorkflowRun.objects.filter(workflow_id=workflow_id).exists():
                raise WorkflowAlreadyExists(workflow_id)
            run = scheduler.create_run(row, workflow_id, now)
            row.save()
        return WorkflowHandle(workflow_id, run.run_id)

    def delete(self) -> None:
        """Remove the schedule; runs it started carry on."""
        deleted, _ = Schedule.objects.filter(schedule_id=self.schedule_id).delete()
        if not deleted:
            raise ScheduleNotFound(f"no schedule {self.schedule_id!r}")

    def describe(self) -> dict[str, Any]:
        """The schedule's settings and state, and its most recent runs (newest first)."""
        row = self._row()
        return {
            "schedule_id": row.schedule_id,
            "workflow_name": row.workflow_name,
            "args": serialization.decode(row.args),
            "cron": row.cron,
            "timezone": row.timezone,
            "overlap": row.overlap,
            "queue": row.queue or None,
            "paused": row.paused,
            "next_fire_at": row.next_fire_at,
            "buffered_fire_at": row.buffered_fire_at,
            "last_fired_at": row.last_fired_at,
            "last_workflow_id": row.last_workflow_id or None,
            "last_error": row.last_error or None,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "recent_runs": [
                {"workflow_id": run.workflow_id, "run_id": str(run.run_id), "status": run.status}
                for run in scheduler.runs_of(row.schedule_id)[:10]
            ],
        }

    def runs(self, limit: int = 20) -> list[WorkflowHandle]:
        """Handles on the runs this schedule started, newest first."""
        return [WorkflowHandle(run.workflow_id, run.run_id) for run in scheduler.runs_of(self.schedule_id)[:limit]]

    async def apause(self) -> None:
        await sync_to_async(self.pause)()

    async def aresume(self, now: datetime | None = None) -> None:
        await sync_to_async(self.resume)(now)

    async def atrigger(self, now: datetime | None = None) -> WorkflowHandle:
        return await sync_to_async(self.trigger)(now)

    async def adelete(self) -> None:
        await sync_to_async(self.delete)()

    async def adescribe(self) -> dict[str, Any]:
        return await sync_to_async(self.describe)()

    def _row(self, *, lock: bool = False) -> Schedule:
        queryset = Schedule.objects.select_for_update() if lock else Schedule.objects
        row = queryset.filter(schedule_id=self.schedule_id).first()
        if row is None:
            raise ScheduleNotFound(f"no schedule {self.schedule_id!r}")
        return row
