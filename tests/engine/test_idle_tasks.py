"""A workflow task with nothing to do reads no history, even in a process that has not cached the run.

Duplicate or stale doorbells are normal (redelivery, several worker processes); each used to read
the run's whole history in the round trip that locks the run, only to find the run closed or
nothing new, which made every stale message cost as much as a replay.
"""

from __future__ import annotations

import pytest

from durableflows import storage
from durableflows.engine.workflow_tasks import cache, process_workflow_task

from .workflows import approval

pytestmark = pytest.mark.django_db


@pytest.fixture
def history_rows_read(monkeypatch):
    """How many history rows the engine read."""
    count = [0]
    read_rows = storage.history._read_rows

    def counting(names, rows, row):
        count[0] += len(rows)
        return read_rows(names, rows, row)

    monkeypatch.setattr(storage.history, "_read_rows", counting)
    return count


def test_idle_and_closed_tasks_read_no_history_without_a_cached_run(history_rows_read, durableflows_env):
    handle = durableflows_env.start(approval)
    durableflows_env.run_until_idle()  # waits for its "approve" signal
    cache.clear()
    history_rows_read[0] = 0
    assert process_workflow_task(handle.run_id).outcome == "idle"
    assert history_rows_read[0] == 0
    handle.terminate(reason="done")
    process_workflow_task(handle.run_id)  # the termination, if it waited for a task
    cache.clear()
    history_rows_read[0] = 0
    assert process_workflow_task(handle.run_id).outcome == "closed"  # a stale doorbell
    assert history_rows_read[0] == 0


def test_a_task_with_facts_still_replays_the_history(history_rows_read, durableflows_env):
    handle = durableflows_env.start(approval)
    durableflows_env.run_until_idle()
    cache.clear()
    history_rows_read[0] = 0
    handle.signal("approve", {"by": "ada"})
    assert process_workflow_task(handle.run_id).outcome in ("advanced", "closed")
    assert history_rows_read[0] >= 2
