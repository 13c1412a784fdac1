"""A unit of work the database rolled back to break a deadlock runs again, unless the caller owns the transaction."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from durableflows.transactions import retrying_deadlocks

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
