"""A doorbell's recorded time is its commit's, give or take ``stamps.SLACK``, however long the transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from durableflows import storage
from durableflows.engine import doorbell, stamps
from durableflows.models import InboxItem, WorkflowRun
from durableflows.runtime import EventType

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent(monkeypatch):
    messages: list = []
    monkeypatch.setattr(doorbell, "send", lambda name, args, **options: messages.append(args[0]))
    return messages


def test_a_long_bulk_start_is_stamped_with_its_commit_time(sent, monkeypatch):
    """Rows written 10 s before their transaction commits get the commit time before any doorbell leaves."""
    began = timezone.now() - timedelta(seconds=10)
    monkeypatch.setattr(storage, "_clock", lambda: began)
    with transaction.atomic():
        runs = [storage.create_run("engine.approval", ["box"], workflow_id=f"bulk-{i}") for i in range(3)]
        fact = storage.add_fact(runs[0], EventType.SIGNAL_RECEIVED, {"name": "go"})
        committing = timezone.now()
    assert sorted(sent) == sorted(str(run.pk) for run in runs)  # the signal rides on its run's doorbell
    for run in WorkflowRun.objects.all():
        assert run.rung_at >= committing
    assert InboxItem.objects.get(pk=fact.pk).created_at >= committing


def test_a_short_transaction_keeps_its_times(sent):
    with transaction.atomic():
        run = storage.create_run("engine.approval", ["box"], workflow_id="quick")
    assert WorkflowRun.objects.get(pk=run.pk).rung_at == run.created_at
    assert sent == [str(run.pk)]


def test_doorbells_slow_to_send_are_stamped_again_after_the_last(monkeypatch):
    """Sending 3 doorbells takes 3 s here: the rows end with a time after the last one left."""
    clock = [timezone.now()]
    monkeypatch.setattr(stamps.timezone, "now", lambda: clock[0])

    def slow_send(name, args, **options):
        clock[0] += timedelta(seconds=1)

    monkeypatch.setattr(doorbell, "send", slow_send)
    with transaction.atomic():
        for i in range(3):
            storage.create_run("engine.approval", ["box"], workflow_id=f"slow-{i}")
    assert all(run.rung_at >= clock[0] for run in WorkflowRun.objects.all())
