"""The entity pattern at 5,000+ events: a cold replay on a fresh worker, then continue-as-new when suggested.

An entity workflow (tests/samples/entity.py) takes 5,100 signals on one worker; that worker is
SIGKILLed and a newly started one, whose cache is empty, replays the whole history to take the next
signals, crosses the continue-as-new suggestion and hands its state (and the signals it did not get
to) to the next run. Nothing is lost, nothing is held.
"""

from __future__ import annotations

import signal

import pytest
from django.db import OperationalError, transaction

import durableflows as df
from durableflows.models import WorkflowRun
from tests.helpers import wait_until
from tests.samples.entity import Account, AccountEntity

pytestmark = pytest.mark.django_db(transaction=True)

FIRST_SIGNALS = 5_100
LATER_SIGNALS = 300
#: Past the history the fresh worker replays (5,101 events), before the last signal.
SUGGEST_AFTER = 5_300
BATCH = 500
TIMEOUT = 120
#: MariaDB/MySQL's error for a transaction rolled back to break a deadlock, which the client retries.
MYSQL_DEADLOCK = 1213


def send(workflow_id: str, amounts: range) -> None:
    """Signal ``add`` once per amount, ``BATCH`` signals per transaction."""
    handle = df.get_handle(workflow_id)
    chunks = [amounts[i : i + BATCH] for i in range(0, len(amounts), BATCH)]
    for chunk in chunks:
        for attempt in range(1, 6):
            try:
                with transaction.atomic():
                    for amount in chunk:
                        handle.signal("add", amount)
                break
            except OperationalError as exc:  # InnoDB picked this transaction as a deadlock's victim: retry it
                if attempt == 5 or getattr(exc.__cause__, "args", (None,))[0] != MYSQL_DEADLOCK:
                    raise


def history_length(workflow_id: str) -> int:
    return df.get_handle(workflow_id).describe()["history_length"]


@pytest.mark.timeout(240)
def test_an_entity_replays_5000_events_cold_on_a_fresh_worker_and_continues_as_new(workers):
    workers.env["DURABLEFLOWS_SUGGEST_CONTINUE_AS_NEW_AFTER"] = str(SUGGEST_AFTER)
    first = workers.start(concurrency=2)
    handle = df.start(AccountEntity, Account(), id="entity-1")

    send("entity-1", range(1, FIRST_SIGNALS + 1))
    wait_until(
        lambda: history_length("entity-1") == FIRST_SIGNALS + 1, timeout=TIMEOUT, message="the first worker's signals"
    )
    assert handle.status == df.Status.RUNNING

    first.kill(signal.SIGKILL)
    fresh = workers.start(concurrency=2)  # a new process: nothing cached, the run replays from its history
    send("entity-1", range(FIRST_SIGNALS + 1, FIRST_SIGNALS + LATER_SIGNALS + 1))
    wait_until(
        lambda: handle.status == df.Status.CONTINUED_AS_NEW, timeout=TIMEOUT, message="continue-as-new when suggested"
    )

    latest = df.get_handle("entity-1")
    latest.signal("close")
    result = handle.result(timeout=TIMEOUT)  # follows the chain to the run that closed
    total = sum(range(1, FIRST_SIGNALS + LATER_SIGNALS + 1))
    assert result == Account(total=total, signals=FIRST_SIGNALS + LATER_SIGNALS, runs=2)

    runs = list(WorkflowRun.objects.filter(workflow_id="entity-1").order_by("created_at"))
    assert [run.status for run in runs] == ["continued_as_new", "completed"]
    assert [run.task_error for run in runs] == ["", ""]  # no NonDeterminismError held either run
    assert SUGGEST_AFTER < runs[0].history_length <= SUGGEST_AFTER + 2  # continued as soon as it was suggested
    assert "NonDeterminismError" not in fresh.log()
