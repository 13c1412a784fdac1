"""Housekeeping rings runs that are due or whose doorbell is lost, and only those.

A doorbell still queued is in flight, however long the queue: it counts as lost only once a
probe sent after it has left its queue ``REDELIVERY_TIMEOUT`` ago (``engine.probes``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F

from durableflows import storage
from durableflows.conf import df_settings
from durableflows.engine import doorbell, housekeeping
from durableflows.models import ActivityTask, InboxItem, QueueProbe, WorkflowRun
from durableflows.runtime import EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def rung(monkeypatch):
    """The run ids (or activity task ids) housekeeping rang for, once its transaction committed."""
    rang: list = []
    monkeypatch.setattr(doorbell, "send", lambda name, args, **options: rang.append(args[0]))
    return rang


def a_run(workflow_id: str, **fields) -> WorkflowRun:
    run = storage.create_run("engine.approval", ["box"], workflow_id=workflow_id)
    WorkflowRun.objects.filter(pk=run.pk).update(**{"status": "running", "wake_at": None, "rung_at": None, **fields})
    return WorkflowRun.objects.get(pk=run.pk)


def probe_taken(sent_at, taken_at, queue: str = "") -> QueueProbe:
    return QueueProbe.objects.create(queue=queue, sent_at=sent_at, taken_at=taken_at)


def sweep(now, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        housekeeping.ring_runs_needing_a_task(now)


def timeout(seconds: float = 1.0) -> timedelta:
    return timedelta(seconds=df_settings.REDELIVERY_TIMEOUT * seconds)


def test_runs_whose_wake_up_passed_are_rung_and_marked_in_flight(rung, django_capture_on_commit_callbacks):
    now = storage.now()
    due = a_run("due", wake_at=now - timedelta(seconds=1))
    a_run("later", wake_at=now + timedelta(seconds=30))
    a_run("sleeping")  # waits for a timer or a signal: nothing to ring
    sweep(now, django_capture_on_commit_callbacks)
    assert rung == [str(due.pk)]
    due.refresh_from_db()
    assert (due.wake_at, due.rung_at) == (None, now)


def test_a_start_is_in_flight_until_its_first_task(durableflows_env):
    run = storage.create_run("engine.approval", ["box"], workflow_id="started")
    assert (run.rung_at, run.wake_at) == (run.created_at, None)


def test_a_backlog_older_than_the_timeout_is_not_rung_again_while_queued(rung, django_capture_on_commit_callbacks):
    """A bulk start whose messages wait in the queue far longer than REDELIVERY_TIMEOUT: no second ring."""
    started = storage.now()
    bulk = [storage.create_run("engine.approval", ["box"], workflow_id=f"bulk-{i}") for i in range(20)]
    probe_taken(started - timeout(3), started - timeout(2))  # taken before the bulk was sent
    QueueProbe.objects.create(queue="", sent_at=started + timedelta(seconds=1))  # behind the bulk, still queued
    for later in (timeout(2), timeout(10), timedelta(hours=1)):
        sweep(started + later, django_capture_on_commit_callbacks)
    assert rung == []
    assert WorkflowRun.objects.filter(pk__in=[r.pk for r in bulk], rung_at=F("created_at")).count() == len(bulk)


def test_runs_a_probe_has_passed_are_rung_once(rung, django_capture_on_commit_callbacks):
    now = storage.now()
    lost = a_run("lost", rung_at=now - timeout(3))
    queued = a_run("queued", rung_at=now - timeout(1) + timedelta(seconds=0.5))  # sent after the probe
    other_queue = a_run("other", rung_at=now - timeout(3), queue="slow")  # no probe of "slow" came back
    probe_taken(now - timeout(2), now - timeout(1.5))
    probe_taken(now - timeout(1) + timedelta(seconds=1), now - timeout(0.5))  # taken too recently to count
    sweep(now, django_capture_on_commit_callbacks)
    assert rung == [str(lost.pk)]
    lost.refresh_from_db()
    assert lost.rung_at == now
    rung.clear()
    sweep(now + timedelta(seconds=1), django_capture_on_commit_callbacks)
    assert rung == []  # rung again: in flight until a later probe passes it
    assert {queued.pk, other_queue.pk} <= set(WorkflowRun.objects.filter(wake_at=None).values_list("pk", flat=True))


def test_runs_whose_facts_a_probe_has_passed_are_rung_once(rung, django_capture_on_commit_callbacks):
    now = storage.now()
    old = now - timeout(3)
    waiting, fresh, closed, rung_run = a_run("waiting"), a_run("fresh"), a_run("closed", status="completed"), None
    rung_run = a_run("rung", rung_at=now)  # its own doorbell is in flight
    for run, created_at in ((waiting, old), (waiting, old), (fresh, now), (closed, old), (rung_run, old)):
        InboxItem.objects.create(run=run, type=EventType.SIGNAL_RECEIVED, data={"name": "x"}, created_at=created_at)
    probe_taken(now - timeout(2), now - timeout(1.5))
    sweep(now, django_capture_on_commit_callbacks)
    assert rung == [str(waiting.pk)]  # once, however many facts wait; not closed, fresh or already rung
    rung.clear()
    sweep(now + timedelta(seconds=1), django_capture_on_commit_callbacks)
    assert rung == []


def test_dispatched_activities_are_sent_again_only_once_a_probe_passed(rung, django_capture_on_commit_callbacks):
    now = storage.now()
    run = a_run("acts")

    def task(activity_id: int, dispatched_at) -> ActivityTask:
        return ActivityTask.objects.create(
            run=run, activity_id=activity_id, name="engine.step", due_at=now - timeout(4), dispatched_at=dispatched_at
        )

    lost, queued, never_sent = task(1, now - timeout(3)), task(2, now - timeout(1)), task(3, None)
    probe_taken(now - timeout(2), now - timeout(1.5))
    with django_capture_on_commit_callbacks(execute=True):
        housekeeping.dispatch_due_activities(now)
    assert sorted(rung) == sorted([lost.pk, never_sent.pk])
    assert queued.pk not in rung
