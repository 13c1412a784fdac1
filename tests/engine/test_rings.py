"""Housekeeping rings runs that are due, and only those: sleeping runs cost it nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durableflows import storage
from durableflows.conf import df_settings
from durableflows.engine import doorbell, housekeeping
from durableflows.models import InboxItem, WorkflowRun
from durableflows.runtime import EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def rung(monkeypatch):
    """The run ids housekeeping rang for, once its transaction committed."""
    rang: list[str] = []
    monkeypatch.setattr(doorbell, "send", lambda name, args, **options: rang.append(args[0]))
    return rang


def a_run(workflow_id: str, **fields) -> WorkflowRun:
    run = storage.create_run("engine.approval", ["box"], workflow_id=workflow_id)
    WorkflowRun.objects.filter(pk=run.pk).update(**{"status": "running", "wake_at": None, **fields})
    return WorkflowRun.objects.get(pk=run.pk)


def sweep(now, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        housekeeping.ring_runs_needing_a_task(now)


def test_runs_whose_wake_up_passed_are_rung_and_put_off(rung, django_capture_on_commit_callbacks):
    now = storage.now()
    due = a_run("due", wake_at=now - timedelta(seconds=1))
    a_run("later", wake_at=now + timedelta(seconds=30))
    a_run("sleeping")  # waits for a timer or a signal: nothing to ring
    sweep(now, django_capture_on_commit_callbacks)
    assert rung == [str(due.pk)]
    due.refresh_from_db()
    assert due.wake_at == now + timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)


def test_runs_with_facts_waiting_too_long_are_rung(rung, django_capture_on_commit_callbacks):
    now = storage.now()
    stale = now - timedelta(seconds=df_settings.REDELIVERY_TIMEOUT + 1)
    waiting, fresh, closed = a_run("waiting"), a_run("fresh"), a_run("closed", status="completed")
    for run, created_at in ((waiting, stale), (waiting, stale), (fresh, now), (closed, stale)):
        InboxItem.objects.create(run=run, type=EventType.SIGNAL_RECEIVED, data={"name": "x"}, created_at=created_at)
    sweep(now, django_capture_on_commit_callbacks)
    assert rung == [str(waiting.pk)]  # once, however many facts wait; not a closed run, not a fresh fact
    rung.clear()
    sweep(now, django_capture_on_commit_callbacks)
    assert rung == []  # put off by REDELIVERY_TIMEOUT, like any ring
