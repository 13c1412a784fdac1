"""A schedule with three workers sweeping at once starts exactly one run per occurrence.

Waiting for a real occurrence would make this test slow, so one is made due now by
moving the schedule's next fire time; the three workers' housekeeping then race for
it, as they would when it came. The cron is yearly so that no real occurrence comes
while the test runs (with `* * * * *` the next minute could start a second run).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

import durableflows as df
from durableflows.models import Schedule, WorkflowRun
from tests.helpers import wait_until
from tests.integration_app import workflows as wf

pytestmark = pytest.mark.django_db(transaction=True)


def test_three_workers_start_a_due_occurrence_once(workers):
    for _ in range(3):
        workers.start(concurrency=1)
    df.schedule(wf.three_steps, "tick", id="yearly", cron="0 0 1 1 *")
    Schedule.objects.filter(schedule_id="yearly").update(next_fire_at=timezone.now() - timedelta(seconds=1))
    runs = WorkflowRun.objects.filter(workflow_id__startswith="yearly@")
    wait_until(lambda: runs.filter(status="completed").exists(), timeout=30, message="the occurrence's run completed")
    schedule = Schedule.objects.get(schedule_id="yearly")
    # once the occurrence started, the schedule points at the next one: no sweep can start it again
    assert schedule.next_fire_at > timezone.now()
    assert runs.count() == 1
    assert schedule.last_workflow_id == runs.get().workflow_id and schedule.last_error == ""
    assert df.get_handle(schedule.last_workflow_id).result(timeout=10)["c"] == "tick>a>b>c"
