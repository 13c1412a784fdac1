"""Probes down each queue, and what housekeeping does when the broker lost every message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durableflows import storage
from durableflows.conf import df_settings
from durableflows.engine import broker, doorbell, housekeeping, probes, stamps
from durableflows.models import ActivityTask, InboxItem, QueueProbe, WorkflowRun
from durableflows.runtime import EventType
from durableflows.tasks import queue_probe

pytestmark = pytest.mark.django_db

DEFAULT = "celery"  # Celery's default queue, as this project leaves it


@pytest.fixture
def sent(monkeypatch):
    """The messages sent once a transaction committed: (task name, first argument, queue)."""
    messages: list[tuple[str, object, str | None]] = []
    monkeypatch.setattr(
        doorbell, "send", lambda name, args, **options: messages.append((name, args[0], options.get("queue")))
    )
    return messages


def a_run(workflow_id: str, **fields) -> WorkflowRun:
    run = storage.create_run("engine.approval", ["box"], workflow_id=workflow_id)
    WorkflowRun.objects.filter(pk=run.pk).update(**{"status": "running", "wake_at": None, "rung_at": None, **fields})
    return WorkflowRun.objects.get(pk=run.pk)


def probe_sweep(now, capture) -> int:
    with capture(execute=True):
        return probes.send_probes(now)


def test_queues_with_doorbells_in_flight_are_probed_every_fifth_of_the_timeout(
    sent, django_capture_on_commit_callbacks
):
    now = storage.now()
    interval = timedelta(seconds=df_settings.REDELIVERY_TIMEOUT / 5)
    a_run("young", rung_at=now)  # answered within the interval, most likely: no probe needed yet
    assert probe_sweep(now, django_capture_on_commit_callbacks) == 0
    a_run("default", rung_at=now - 2 * interval)
    a_run("slow", rung_at=now - 2 * interval, queue="slow")
    assert probe_sweep(now, django_capture_on_commit_callbacks) == 2
    assert sorted((name, queue) for name, _, queue in sent) == [
        (doorbell.PROBE_TASK, DEFAULT),  # where a doorbell without a queue goes: Celery's default queue here
        (doorbell.PROBE_TASK, "slow"),
    ]
    assert probe_sweep(now + interval / 2, django_capture_on_commit_callbacks) == 0
    assert probe_sweep(now + interval * 1.5, django_capture_on_commit_callbacks) == 2  # the first two are still queued


def test_facts_and_dispatched_activities_are_in_flight_too(sent, django_capture_on_commit_callbacks):
    now = storage.now()
    old = now - timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)
    run = a_run("facts", queue="signals")
    InboxItem.objects.create(run=run, type=EventType.SIGNAL_RECEIVED, data={"name": "x"}, created_at=old)
    ActivityTask.objects.create(run=run, activity_id=1, name="engine.step", queue="gpu", due_at=old, dispatched_at=old)
    probe_sweep(now, django_capture_on_commit_callbacks)
    assert sorted(queue for _, _, queue in sent) == ["gpu", "signals"]


def test_a_queue_nobody_takes_from_gets_a_bounded_number_of_probes(sent, django_capture_on_commit_callbacks):
    now = storage.now()
    a_run("stranded", rung_at=now - timedelta(hours=1), queue="nobody")
    step = timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)
    for i in range(probes.MAX_UNTAKEN + 10):
        probe_sweep(now + i * step, django_capture_on_commit_callbacks)
    assert QueueProbe.objects.filter(queue="nobody").count() == probes.MAX_UNTAKEN


def test_a_taken_probe_marks_everything_sent_before_it_as_delivered(sent, django_capture_on_commit_callbacks):
    now = storage.now()
    a_run("old", rung_at=now - timedelta(hours=1))
    probe_sweep(now, django_capture_on_commit_callbacks)
    ((_, probe_pk, _),) = sent
    queue_probe(probe_pk)  # what the worker that takes it from the queue runs
    taken = QueueProbe.objects.get(pk=probe_pk).taken_at
    assert taken is not None
    assert probes.delivered_before(taken) == {}  # too recently: the doorbells may still be starting
    later = taken + timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)
    assert probes.delivered_before(later) == {DEFAULT: now - stamps.SLACK}  # a doorbell's time may precede its publish


def test_probes_follow_the_projects_task_routes_as_the_doorbells_do(
    sent, monkeypatch, django_capture_on_commit_callbacks
):
    from celery import current_app
    from celery.app.routes import prepare

    # the project's CELERY_TASK_ROUTES, as Celery holds them once read
    monkeypatch.setattr(current_app.amqp, "_rtable", prepare({doorbell.ACTIVITY_TASK: {"queue": "activities"}}))
    now = storage.now()
    old = now - timedelta(hours=1)
    run = a_run("routed", rung_at=old)  # its doorbell went to the default queue
    ActivityTask.objects.create(run=run, activity_id=1, name="engine.step", due_at=old, dispatched_at=old)
    probe_sweep(now, django_capture_on_commit_callbacks)
    assert sorted(queue for _, _, queue in sent) == ["activities", DEFAULT]
    activities_probe = next(pk for _, pk, queue in sent if queue == "activities")
    queue_probe(activities_probe)  # taken from "activities" only: the default queue may still hold the run's
    later = QueueProbe.objects.get(pk=activities_probe).taken_at + timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)
    with django_capture_on_commit_callbacks(execute=True):
        assert housekeeping.dispatch_due_activities(later) == 1  # lost: a probe sent after it left its queue
        assert housekeeping.ring_runs_needing_a_task(later) == 0  # perhaps still queued: not rung twice


def test_probes_passed_by_a_newer_taken_one_are_dropped(sent, django_capture_on_commit_callbacks):
    now = storage.now()
    old = now - timedelta(seconds=10 * df_settings.REDELIVERY_TIMEOUT)
    lost = QueueProbe.objects.create(queue="", sent_at=old)  # its worker died with it
    newer = QueueProbe.objects.create(queue="", sent_at=old + timedelta(seconds=5), taken_at=old + timedelta(seconds=6))
    probe_sweep(now, django_capture_on_commit_callbacks)
    assert list(QueueProbe.objects.values_list("pk", flat=True)) == [newer.pk]
    assert lost.pk != newer.pk


def test_a_broker_that_lost_its_messages_gets_everything_in_flight_rung_at_once(
    sent, monkeypatch, django_capture_on_commit_callbacks
):
    """A Redis restart without persistence: one sweep rings every run, fact and attempt in flight, once."""
    now = storage.now()
    in_flight = [a_run(f"rung-{i}", rung_at=now - timedelta(seconds=0.5)) for i in range(3)]
    with_fact = a_run("fact")
    InboxItem.objects.create(run=with_fact, type=EventType.SIGNAL_RECEIVED, data={"name": "x"}, created_at=now)
    attempt = ActivityTask.objects.create(
        run=a_run("act"), activity_id=1, name="engine.step", due_at=now, dispatched_at=now
    )
    a_run("sleeping")
    QueueProbe.objects.create(queue="", sent_at=now)  # lost with the rest
    losses = iter([True, False])
    monkeypatch.setattr(broker, "lost_its_messages", lambda: next(losses))
    with django_capture_on_commit_callbacks(execute=True):
        counts = housekeeping.sweep(now)
    assert counts["rings_restored"] == 5
    rang = {first for name, first, _ in sent if name != doorbell.PROBE_TASK}
    assert rang == {str(run.pk) for run in [*in_flight, with_fact]} | {attempt.pk}
    assert not QueueProbe.objects.filter(sent_at=now, taken_at=None).exists()
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        counts = housekeeping.sweep(now + timedelta(seconds=1))
    assert counts["rings_restored"] == counts["runs_rung"] == counts["activities_dispatched"] == 0


def test_the_broker_epoch_key_tells_one_caller_per_loss(redis_url, monkeypatch):
    """Against a real Redis: the first look after the key vanished answers True, every other False."""
    import redis
    from kombu import Connection

    monkeypatch.setattr(broker, "_connection", Connection(redis_url))
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(broker.KEY)
        assert broker.lost_its_messages() is True
        assert broker.lost_its_messages() is False
        assert broker.lost_its_messages() is False
        client.delete(broker.KEY)  # what a restart without persistence, or FLUSHDB, does
        assert broker.lost_its_messages() is True
        assert broker.lost_its_messages() is False
    finally:
        broker.forget_connection()
        client.close()


def test_the_broker_check_answers_false_when_the_broker_is_unreachable(monkeypatch):
    from kombu import Connection

    monkeypatch.setattr(broker, "_connection", Connection("redis://127.0.0.1:1/0", connect_timeout=0.2))
    assert broker.lost_its_messages() is False
    assert broker._connection is None  # a fresh connection next time
