"""Storage: runs, their histories, pending facts, activity tasks and timers.

The database is the truth. Every fact is a row written in a transaction; a
Celery message only ever says "look at run X" or "run activity task Y".
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .cron import cron_validator, next_fire_time, schedule_id_validator, timezone_validator
from .runtime.events import EventType
from .status import OPEN_STATUSES, Status

EVENT_TYPE_CHOICES = [(t.value, t.value) for t in EventType]


class WorkflowRun(models.Model):
    """One run of a workflow id. Continue-as-new closes a run and opens the next under the same id."""

    run_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow_id = models.CharField(max_length=255)
    workflow_name = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices(), default=Status.PENDING)
    args = models.JSONField(default=list, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True, help_text="type, message and traceback of a failure")
    vars = models.JSONField(default=dict, blank=True, help_text="values recorded with df.set_var")
    queue = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    start_at = models.DateTimeField(default=timezone.now, help_text="not started before this time")
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    history_length = models.PositiveIntegerField(default=0)
    wake_at = models.DateTimeField(
        null=True, blank=True, help_text="when housekeeping rings for this run if nothing else has"
    )
    rung_at = models.DateTimeField(
        null=True, blank=True, help_text="when the doorbell no workflow task has answered yet was sent"
    )
    task_error = models.TextField(blank=True, help_text="why the last workflow task could not complete")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    parent_child_id = models.PositiveIntegerField(null=True, blank=True)
    parent_close_policy = models.CharField(max_length=20, blank=True)
    continued_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="continued_as"
    )
    subject_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    subject_id = models.CharField(max_length=255, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")

    #: Whether facts wait in its inbox: set only on rows a workflow task reads (``exists=`` of ``sql.Table.get``).
    has_inbox: bool

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow_id"], condition=Q(status__in=OPEN_STATUSES), name="df_one_open_run_per_workflow_id"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "run_id"], name="df_run_created"),  # the lists' keyset order
            models.Index(fields=["workflow_id", "-created_at"], name="df_run_workflow_id"),
            models.Index(fields=["workflow_name", "-created_at"], name="df_run_workflow_name"),
            models.Index(fields=["status", "-created_at"], name="df_run_status"),
            models.Index(fields=["wake_at"], name="df_run_wake_at", condition=Q(wake_at__isnull=False)),
            models.Index(fields=["rung_at"], name="df_run_rung_at", condition=Q(rung_at__isnull=False)),
            models.Index(fields=["closed_at"], name="df_run_closed_at", condition=Q(closed_at__isnull=False)),
            models.Index(fields=["subject_type", "subject_id"], name="df_run_subject"),
            # the changelist's other orderings (Django adds the primary key to every one) and its "stuck" filter
            models.Index(fields=["started_at", "run_id"], name="df_run_started"),
            # closed, newest first: the open runs (no close time) come first, in the lists' order
            models.Index(fields=["-closed_at", "-created_at", "run_id"], name="df_run_closed"),
            models.Index(fields=["-created_at", "run_id"], name="df_run_stuck", condition=~Q(task_error="")),
            # a run's children: once SQLite's ANALYZE has seen that most runs have no parent, it scans the
            # table rather than use the plain foreign-key index; this one holds only runs that have one
            models.Index(fields=["parent"], name="df_run_parent", condition=Q(parent__isnull=False)),
        ]
        permissions = [
            ("start_workflow", "Can start workflows"),
            ("signal_workflow", "Can signal workflows"),
            ("update_workflow", "Can send updates to workflows"),
            ("query_workflow", "Can query workflows"),
            ("cancel_workflow", "Can cancel workflows"),
            ("terminate_workflow", "Can terminate workflows"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} ({self.workflow_name}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class HistoryEvent(models.Model):
    """One entry of a run's history; append-only."""

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    type = models.CharField(max_length=40, choices=EVENT_TYPE_CHOICES)
    timestamp = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [models.UniqueConstraint(fields=["run", "sequence"], name="df_event_run_sequence")]

    def __str__(self) -> str:
        return f"{self.sequence} {self.type}"


class InboxItem(models.Model):
    """A fact that arrived for a run and waits for the next workflow task to enter its history."""

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="inbox")
    type = models.CharField(max_length=40, choices=EVENT_TYPE_CHOICES)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]


class UpdateRequest(models.Model):
    """An update sent to a run, and its outcome once the workflow decided it.

    The request waits in the run's inbox as an ``UpdateAccepted`` fact; the workflow task runs the
    validator before recording it and, on a rejection, writes the outcome here instead of the history.
    The caller polls this row. ``(run, update_id)`` is unique, so a retried call finds the first one.
    """

    class State(models.TextChoices):
        REQUESTED = "requested"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        COMPLETED = "completed"
        FAILED = "failed"

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="updates")
    update_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    args = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True, help_text="type and message of a rejection or failure")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "created_at"]
        constraints = [models.UniqueConstraint(fields=["run", "update_id"], name="df_update_run_id")]
        indexes = [models.Index(fields=["update_id"], name="df_update_id")]

    def __str__(self) -> str:
        return f"{self.name} {self.update_id} ({self.state})"

    @property
    def is_decided(self) -> bool:
        return self.state in (self.State.REJECTED, self.State.COMPLETED, self.State.FAILED)


class ActivityTask(models.Model):
    """The state of one scheduled activity across its attempts."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        STARTED = "started"
        COMPLETED = "completed"
        FAILED = "failed"
        TIMED_OUT = "timed_out"
        CANCELLED = "cancelled"

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="activities")
    activity_id = models.PositiveIntegerField(help_text="the command id within the run")
    name = models.CharField(max_length=255)
    args = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED)
    attempt = models.PositiveIntegerField(default=1)
    scheduled_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, help_text="the current attempt may start from here")
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="when its doorbell was last sent")
    started_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True, help_text="the started attempt times out here")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="schedule-to-close: all attempts end here")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    heartbeat_details = models.JSONField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    last_error = models.JSONField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "activity_id"]
        constraints = [models.UniqueConstraint(fields=["run", "activity_id"], name="df_activity_run_id")]
        indexes = [
            models.Index(fields=["state", "due_at"], name="df_activity_due"),
            models.Index(fields=["state", "deadline"], name="df_activity_deadline"),
            models.Index(fields=["expires_at"], name="df_activity_expires", condition=Q(expires_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.activity_id} attempt {self.attempt} ({self.state})"


class Timer(models.Model):
    """A pending durable timer; fired (deleted, with a TimerFired fact) by housekeeping when due."""

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="timers")
    timer_id = models.PositiveIntegerField()
    fire_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "timer_id"], name="df_timer_run_id")]


class QueueProbe(models.Model):
    """A marker message sent down a Celery queue behind its doorbells.

    Queues are first in, first out: once a worker has taken the probe, every doorbell sent to that
    queue before it has left the queue too. Housekeeping rings again only doorbells a probe has passed.
    """

    queue = models.CharField(max_length=200, blank=True, help_text="as named on runs and activities; blank: default")
    sent_at = models.DateTimeField()
    taken_at = models.DateTimeField(null=True, blank=True, help_text="when a worker ran it")

    class Meta:
        indexes = [models.Index(fields=["queue", "sent_at"], name="df_probe_queue_sent")]

    def __str__(self) -> str:
        return f"probe of {self.queue or 'the default queue'} sent {self.sent_at:%H:%M:%S}"


_now = timezone.now  # the Schedule class body below has a field named "timezone"


class Schedule(models.Model):
    """A durable cron schedule that starts runs of one workflow; housekeeping fires it (``df.schedule``).

    The run of each occurrence gets the workflow id ``"<schedule_id>@<fire time in UTC>"``,
    so an occurrence can only ever start once, and a schedule's runs are found by that prefix.
    """

    class Overlap(models.TextChoices):
        SKIP = "skip", "Skip while the previous run is open"
        BUFFER_ONE = "buffer_one", "Start one more once the previous run closes"
        ALLOW_ALL = "allow_all", "Always start"

    schedule_id = models.CharField(max_length=200, unique=True, validators=[schedule_id_validator])
    workflow_name = models.CharField(max_length=255)
    args = models.JSONField(default=list, blank=True, help_text="the encoded arguments of each run")
    cron = models.CharField(max_length=200, validators=[cron_validator], help_text="e.g. '0 9 * * 1-5' or '@daily'")
    timezone = models.CharField(max_length=64, default="UTC", validators=[timezone_validator])
    overlap = models.CharField(max_length=20, choices=Overlap.choices, default=Overlap.SKIP)
    queue = models.CharField(max_length=200, blank=True)
    paused = models.BooleanField(default=False)
    next_fire_at = models.DateTimeField(null=True, blank=True, help_text="the next occurrence; none while paused")
    buffered_fire_at = models.DateTimeField(
        null=True, blank=True, help_text="an occurrence held back by overlap='buffer_one' until the last run closes"
    )
    last_fired_at = models.DateTimeField(null=True, blank=True, help_text="the occurrence of the last started run")
    last_workflow_id = models.CharField(max_length=255, blank=True, help_text="the workflow id of the last started run")
    last_error = models.TextField(blank=True, help_text="why the last occurrence could not start")
    created_at = models.DateTimeField(default=_now)
    updated_at = models.DateTimeField(auto_now=True)

    #: ``(cron, timezone)`` as loaded or last saved (``None`` where deferred): ``save()`` recomputes on a change.
    _loaded_timing: tuple[str | None, str | None]

    class Meta:
        ordering = ["schedule_id"]
        indexes = [models.Index(fields=["paused", "next_fire_at"], name="df_schedule_due")]
        permissions = [("trigger_schedule", "Can trigger schedules")]

    def __str__(self) -> str:
        return f"{self.schedule_id} ({self.cron} {self.timezone}, {self.workflow_name})"

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any) -> Schedule:
        instance = super().from_db(db, field_names, values, **kwargs)  # Django 6.1 adds fetch_mode
        instance._loaded_timing = (instance.__dict__.get("cron"), instance.__dict__.get("timezone"))
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep the state consistent with the settings, also after edits in the admin.

        ``next_fire_at`` is none while paused and recomputed when the timing changed;
        a buffered start exists only for an active ``buffer_one`` schedule.
        """
        loaded = getattr(self, "_loaded_timing", None)
        if self.paused or self.overlap != self.Overlap.BUFFER_ONE:
            self.buffered_fire_at = None
        if self.paused:
            self.next_fire_at = None
        elif self.next_fire_at is None or (loaded is not None and loaded != (self.cron, self.timezone)):
            from .storage import now  # storage imports this module

            self.reschedule(now())
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "next_fire_at", "updated_at"}
        super().save(*args, **kwargs)
        self._loaded_timing = (self.cron, self.timezone)

    def reschedule(self, now: datetime) -> None:
        """Set ``next_fire_at`` to the first occurrence after ``now`` (not saved)."""
        self.next_fire_at = next_fire_time(self.cron, self.timezone, now)
        self._loaded_timing = (self.cron, self.timezone)
