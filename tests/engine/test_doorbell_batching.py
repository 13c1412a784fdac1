"""One transaction rings a run's doorbell once, however many facts it writes for that run.

Sending 500 signals in one ``transaction.atomic()`` used to publish 500 messages, each a workflow
task that found nothing new, and that, on a worker without the run cached, read its whole history.
"""

from __future__ import annotations

import pytest
from django.db import transaction

import durableflows as df
from durableflows.engine import doorbell

from .workflows import three_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def rung(monkeypatch):
    """The run ids rung for, as their transactions committed."""
    rang: list[str] = []
    monkeypatch.setattr(doorbell, "send", lambda name, args, **options: rang.append(args[0]))
    return rang


def test_many_facts_for_a_run_in_one_transaction_ring_once(rung, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, second = df.start(three_steps, 1, id="first"), df.start(three_steps, 2, id="second")
    rung.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(50):
            first.signal("note", n)
            second.signal("note", n)
        first.cancel()
    assert sorted(rung) == sorted([first.run_id, second.run_id])  # one ring per run for the whole batch


def test_a_ring_inside_a_rolled_back_savepoint_does_not_stand_for_later_ones(rung, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        handle = df.start(three_steps, 1, id="run")
    rung.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                handle.signal("note", "lost")
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        handle.signal("note", "kept")
    assert rung == [handle.run_id]
