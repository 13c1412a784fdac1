"""Transactional activities through real workers: each one's write commits exactly once.

Workers are SIGKILLed inside an attempt's transaction and right after its commit, and every
doorbell of an open attempt is delivered twice more; still every workflow completes with one
receipt and one ActivityCompleted per activity.
"""

from __future__ import annotations

from collections import Counter

import pytest

import durableflows as df
from durableflows.engine import doorbell
from durableflows.models import ActivityTask
from tests.helpers import wait_until
from tests.integration_app import transactional as tx
from tests.integration_app.models import Receipt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]  # a worker restart per kill

WORKFLOWS = 3
WORKERS = 2
WHERE = ["", "before_commit", "after_commit"]
OPEN_ATTEMPTS = (ActivityTask.State.SCHEDULED, ActivityTask.State.STARTED)


def deliver_open_attempts_twice() -> None:
    """Ring every open attempt's doorbell twice: duplicates of messages the engine sent or will send."""
    for pk, attempt in ActivityTask.objects.filter(state__in=OPEN_ATTEMPTS).values_list("pk", "attempt"):
        for _ in range(2):
            doorbell.send(doorbell.ACTIVITY_TASK, [pk, attempt])


def test_receipts_commit_exactly_once_through_kills_and_duplicate_deliveries(workers, gate_dir):
    for _ in range(WORKERS):
        workers.start()
    # each workflow's three activities: one runs through, one dies before its commit, one right after it
    plans = [[WHERE[(i + j) % 3] for j in range(3)] for i in range(WORKFLOWS)]
    handles = [df.start(tx.receipts, str(gate_dir), f"tx-{i}", plans[i], id=f"it-tx-{i}") for i in range(WORKFLOWS)]

    def all_closed() -> bool:
        for _ in range(WORKERS - sum(worker.alive for worker in workers.started)):
            workers.start(wait=False)  # a supervisor's restart of a killed worker
        deliver_open_attempts_twice()
        return all(not df.Status(handle.status).is_open for handle in handles)

    wait_until(all_closed, timeout=120, interval=0.2, message=workers.logs)

    for i, handle in enumerate(handles):
        assert handle.result(timeout=0) == [f"tx-{i}-0", f"tx-{i}-1", f"tx-{i}-2"]
        counts = Counter(str(event.type) for event in handle.history())
        assert counts["ActivityScheduled"] == counts["ActivityCompleted"] == 3, counts
        assert counts["WorkflowCompleted"] == 1, counts
    keys = Counter(Receipt.objects.values_list("key", flat=True))
    assert keys == Counter({f"tx-{i}-{j}": 1 for i in range(WORKFLOWS) for j in range(3)})
    kills = Counter(path.name.rsplit(".", 1)[1] for path in gate_dir.glob("*.killed.*"))
    assert kills["before_commit"] and kills["after_commit"], kills  # the kills did land around commits
