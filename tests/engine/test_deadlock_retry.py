"""A unit of work the database rolled back to break a deadlock runs again, unless the caller owns the transaction.

The client's writes that a workflow task's lock can deadlock with (signals, updates, with-start) are such units.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

import durableflows as df
from durableflows import storage
from durableflows.engine import doorbell
from durableflows.models import InboxItem, UpdateRequest, WorkflowRun
from durableflows.transactions import retrying_deadlocks

from .workflows import Item, checkout, collect

pytestmark = pytest.mark.django_db(transaction=True)


class _DriverError(Exception):
    """Stands in for the driver's exception, which Django chains as the ``OperationalError``'s cause."""

    def __init__(self, code: int) -> None:
        super().__init__(code, "Deadlock found when trying to get lock; try restarting transaction")


def _failing(times: int, code: int = 1213):
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("deadlock") from _DriverError(code)
        return "done"

    return work, calls


def test_a_deadlock_victim_is_run_again():
    work, calls = _failing(2)
    assert retrying_deadlocks(work) == "done"
    assert len(calls) == 3


def test_it_gives_up_after_its_attempts():
    work, calls = _failing(5)
    with pytest.raises(OperationalError):
        retrying_deadlocks(work, attempts=3)
    assert len(calls) == 3


def test_other_errors_and_the_callers_transactions_are_not_retried():
    work, calls = _failing(1, code=2006)  # "server has gone away": not a deadlock
    with pytest.raises(OperationalError):
        retrying_deadlocks(work)
    work, calls = _failing(1)
    with transaction.atomic(), pytest.raises(OperationalError):
        retrying_deadlocks(work)
    assert len(calls) == 1


@pytest.fixture
def deadlock_once(monkeypatch):
    """``storage.add_fact`` fails once as InnoDB's deadlock victim would, after the transaction wrote its rows."""
    real, failures = storage.add_fact, []

    def add_fact(*args, **kwargs):
        result = real(*args, **kwargs)
        if not failures:
            failures.append(1)
            raise OperationalError("deadlock") from _DriverError(1213)
        return result

    monkeypatch.setattr(storage, "add_fact", add_fact)
    monkeypatch.setattr(doorbell, "muted", True)
    return failures


def test_a_signal_sent_into_a_deadlock_is_recorded_once(deadlock_once):
    handle = df.start(collect, 1, id="deadlocked-signal")
    handle.signal("item", "a")
    assert deadlock_once == [1]
    assert InboxItem.objects.filter(run_id=handle.run_id, type="SignalReceived").count() == 1


def test_an_update_sent_into_a_deadlock_is_requested_once(deadlock_once):
    handle = df.start(checkout, "cart", id="deadlocked-update")
    handle.start_update("add_item", Item("sku-1", 1))
    assert deadlock_once == [1]
    assert UpdateRequest.objects.filter(run_id=handle.run_id).count() == 1
    assert InboxItem.objects.filter(run_id=handle.run_id, type="UpdateAccepted").count() == 1


def test_a_signal_with_start_into_a_deadlock_starts_one_run_with_one_signal(deadlock_once):
    handle = df.signal_with_start(collect, 1, id="deadlocked-start", signal="item", payload="a")
    assert deadlock_once == [1]
    assert WorkflowRun.objects.filter(workflow_id="deadlocked-start").count() == 1
    assert InboxItem.objects.filter(run_id=handle.run_id, type="SignalReceived").count() == 1
