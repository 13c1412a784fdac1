"""Workflows through real Celery workers: completion, crashes mid-activity and mid-timer, two workers.

Only the public API is used: ``df.start``, ``handle.result``, ``handle.history``,
``handle.status``, ``df.get_handle``.
"""
from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

import durableflows as df
from tests.helpers import wait_until
from tests.integration_app import workflows as wf

pytestmark = pytest.mark.django_db(transaction=True)

RESULT_TIMEOUT = 60


def event_types(handle) -> list[str]:
    return [str(event.type) for event in handle.history()]


def assert_clean_history(handle, activities: int, timers: int = 0) -> Counter:
    """Exactly one completion, and one ActivityCompleted per scheduled activity (no duplicate facts)."""
    history = handle.history()
    counts = Counter(str(event.type) for event in history)
    sequences = [event.sequence for event in history]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences), sequences
    assert counts["WorkflowStarted"] == 1, counts
    assert counts["WorkflowCompleted"] == 1, counts
    assert counts["ActivityScheduled"] == activities, counts
    assert counts["ActivityCompleted"] == activities, counts
    assert counts["TimerStarted"] == timers, counts
    assert counts["TimerFired"] == timers, counts
    assert str(history[0].type) == "WorkflowStarted"
    assert str(history[-1].type) == "WorkflowCompleted"
    scheduled_ids = [e.data.get("activity_id") for e in history if str(e.type) == "ActivityScheduled"]
    assert len(set(scheduled_ids)) == len(scheduled_ids), scheduled_ids
    return counts


def started_attempts(gates: Path, name: str) -> list[Path]:
    return sorted(gates.glob(f"{name}.started.*"))


def test_three_activities_complete_through_a_worker(workers):
    workers.start()
    handle = df.start(wf.three_steps, "x", id="it-three")

    assert handle.workflow_id == "it-three"
    assert handle.run_id
    assert handle.result(timeout=RESULT_TIMEOUT) == {"a": "x>a", "b": "x>a>b", "c": "x>a>b>c"}
    assert handle.status == df.Status.COMPLETED
    assert_clean_history(handle, activities=3)
    assert df.get_handle("it-three").run_id == handle.run_id


def test_start_by_name(workers):
    workers.start()
    handle = df.start("it.three_steps", 7, id="it-by-name")
    assert handle.result(timeout=RESULT_TIMEOUT)["c"] == "7>a>b>c"


def test_worker_killed_mid_activity_recovers_on_a_new_worker(workers, gate_dir):
    first = workers.start()
    handle = df.start(wf.gated_flow, str(gate_dir), id="it-kill-activity")

    wait_until(lambda: started_attempts(gate_dir, "g"), timeout=30, message="the gated activity to start")
    assert handle.status == df.Status.RUNNING
    first.kill(signal.SIGKILL)
    assert not first.alive
    (gate_dir / "g.open").touch()

    workers.start()
    assert handle.result(timeout=RESULT_TIMEOUT) == ["0>a", "g:passed", "g:passed>c"]
    assert handle.status == df.Status.COMPLETED
    assert_clean_history(handle, activities=3)
    # At-least-once: the attempt the crash interrupted ran again on the new worker.
    assert len(started_attempts(gate_dir, "g")) >= 2, started_attempts(gate_dir, "g")


def test_worker_killed_mid_timer_recovers_on_a_new_worker(workers):
    first = workers.start()
    handle = df.start(wf.sleeper, 2, id="it-kill-timer")

    wait_until(lambda: "TimerStarted" in event_types(handle), timeout=30, message="the workflow to start its timer")
    first.kill(signal.SIGKILL)
    time.sleep(2.5)  # the timer falls due while no worker is alive
    assert handle.status == df.Status.RUNNING

    workers.start()
    assert handle.result(timeout=RESULT_TIMEOUT) == ["0>a", "0>a>b"]
    assert_clean_history(handle, activities=2, timers=1)


def test_timer_is_durable_not_early(workers):
    workers.start()
    started = time.monotonic()
    handle = df.start(wf.sleeper, 1.5, id="it-timer")
    assert handle.result(timeout=RESULT_TIMEOUT) == ["0>a", "0>a>b"]
    assert time.monotonic() - started >= 1.5
    assert_clean_history(handle, activities=2, timers=1)


def test_two_workers_many_workflows(workers):
    workers.start()
    workers.start()
    count = 30
    handles = [df.start(wf.three_steps, i, id=f"it-many-{i}") for i in range(count)]

    for i, handle in enumerate(handles):
        assert handle.result(timeout=RESULT_TIMEOUT) == {"a": f"{i}>a", "b": f"{i}>a>b", "c": f"{i}>a>b>c"}
    for handle in handles:
        assert handle.status == df.Status.COMPLETED
        assert_clean_history(handle, activities=3)


def test_a_timed_out_async_activity_is_cancelled_and_frees_its_worker_slot(workers, gate_dir):
    workers.start(concurrency=1)
    began = time.monotonic()
    hanging = df.start(wf.hanging, str(gate_dir), id="it-hanging")
    assert hanging.result(timeout=RESULT_TIMEOUT) == {"type": "TimeoutError", "attempts": 2}
    after = df.start(wf.three_steps, "x", id="it-after-hanging")  # the only slot is free again
    assert after.result(timeout=RESULT_TIMEOUT)["c"] == "x>a>b>c"
    assert time.monotonic() - began < 30  # not the 2 x 60 s the hung attempts would have slept
    assert sorted(p.name for p in gate_dir.glob("hangs.cancelled.*")) == ["hangs.cancelled.1", "hangs.cancelled.2"]
