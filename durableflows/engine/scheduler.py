"""The housekeeping step that starts due schedules, and the one way a schedule starts a run.

Each schedule row is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and its
run is created in the same transaction under a workflow id derived from the
schedule id and the occurrence's fire time. A second worker either skips the
locked row or finds ``next_fire_at`` already advanced, and a run that exists
under that id is never started again: each occurrence starts at most once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import cast

from django.db.models import Exists, OuterRef

from .. import registry, storage
from ..cron import latest_occurrence, next_fire_time
from ..models import Schedule, WorkflowRun
from ..status import OPEN_STATUSES
from ..transactions import write_transaction

log = logging.getLogger("durableflows.schedules")
Overlap = Schedule.Overlap


def occurrence_workflow_id(schedule_id: str, fire_time: datetime) -> str:
    """The workflow id of the run a schedule starts for the occurrence at ``fire_time``."""
    return f"{schedule_id}@{fire_time.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def manual_workflow_id(schedule_id: str, at: datetime) -> str:
    """The workflow id of a run started by "trigger now" at ``at``."""
    return f"{schedule_id}@{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}-manual"


def start_due_schedules(now: datetime) -> int:
    """Start buffered occurrences whose previous run closed, then fire due schedules; returns runs started."""
    started = 0
    open_runs = WorkflowRun.objects.filter(status__in=OPEN_STATUSES)
    previous_open = Exists(open_runs.filter(workflow_id=OuterRef("last_workflow_id")))
    with write_transaction():
        buffered = Schedule.objects.filter(paused=False, overlap=Overlap.BUFFER_ONE, buffered_fire_at__isnull=False)
        buffered = buffered.exclude(previous_open)
        for row in storage.claim_batch(buffered.order_by("buffered_fire_at")):
            fire_time, row.buffered_fire_at = row.buffered_fire_at, None
            started += start_run(row, occurrence_workflow_id(row.schedule_id, fire_time), fire_time) is not None
            row.save()
    with write_transaction():
        due = Schedule.objects.filter(paused=False, next_fire_at__lte=now).order_by("next_fire_at")
        for row in storage.claim_batch(due):
            started += fire(row, now)
    return started


def fire(row: Schedule, now: datetime) -> bool:
    """Handle the due schedule ``row`` (locked): the latest missed occurrence, per the overlap policy.

    Occurrences missed before the latest one (workers were down) are skipped.
    ``next_fire_at`` moves to the first occurrence after ``now``. True if a run started.
    """
    due = cast(datetime, row.next_fire_at)  # set: only due rows are fired
    try:
        fire_time = latest_occurrence(row.cron, row.timezone, due, now) or due
        row.next_fire_at = next_fire_time(row.cron, row.timezone, now)
    except Exception as exc:  # noqa: BLE001 - timing stored around the validators: pause it, keep the others going
        log.error("schedule %r paused: its timing is unusable: %s", row.schedule_id, exc)
        row.paused, row.last_error = True, f"paused: {type(exc).__name__}: {exc}"
        row.save()
        return False
    started = False
    if not _previous_run_open(row) or row.overlap == Overlap.ALLOW_ALL:
        started = start_run(row, occurrence_workflow_id(row.schedule_id, fire_time), fire_time) is not None
    elif row.overlap == Overlap.BUFFER_ONE:
        row.buffered_fire_at = row.buffered_fire_at or fire_time  # one start waits; later ones are dropped
    else:
        log.info("schedule %r skipped %s: run %r is still open", row.schedule_id, fire_time, row.last_workflow_id)
    row.save()
    return started


def start_run(row: Schedule, workflow_id: str, fire_time: datetime) -> WorkflowRun | None:
    """Start the schedule's workflow as ``workflow_id`` unless a run of that id ever existed; caller saves ``row``.

    A failure to start (e.g. the workflow is no longer registered) is recorded
    in ``row.last_error`` rather than raised, so one bad schedule never blocks the others.
    """
    if WorkflowRun.objects.filter(workflow_id=workflow_id).exists():
        return None  # this occurrence already started
    try:
        with write_transaction():
            return create_run(row, workflow_id, fire_time)
    except Exception as exc:  # noqa: BLE001 - recorded on the schedule, see above
        log.error("schedule %r could not start %r: %s", row.schedule_id, workflow_id, exc)
        row.last_error = f"{fire_time.isoformat()}: {type(exc).__name__}: {exc}"
        return None


def create_run(row: Schedule, workflow_id: str, fire_time: datetime) -> WorkflowRun:
    """Create the run and note it on ``row`` (not saved); raises ``UnknownWorkflowError`` for unknown workflows."""
    registry.get_workflow(row.workflow_name)
    run = storage.create_run(row.workflow_name, row.args, workflow_id=workflow_id, queue=row.queue or None)
    row.last_workflow_id = workflow_id
    row.last_fired_at = fire_time
    row.last_error = ""
    return run


def _previous_run_open(row: Schedule) -> bool:
    if not row.last_workflow_id:
        return False
    return WorkflowRun.objects.filter(workflow_id=row.last_workflow_id, status__in=OPEN_STATUSES).exists()


def runs_of(schedule_id: str):
    """The runs a schedule started (by their workflow id prefix), newest first."""
    return WorkflowRun.objects.filter(workflow_id__startswith=f"{schedule_id}@").order_by("-created_at")
