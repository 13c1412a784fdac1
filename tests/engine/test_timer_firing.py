"""Timers fire in set-based batches, exactly once, and short ones get a doorbell due at their fire time."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

import durableflows as df
from durableflows import storage
from durableflows.engine import doorbell, timers
from durableflows.engine.worker import BUSY_PAUSE, OVERSHOOT, Housekeeper, planned_sleep
from durableflows.models import HistoryEvent, InboxItem, Timer, WorkflowRun
from durableflows.runtime import EventType
from durableflows.tasks import timer_task, workflow_tasks

from .driving import drive


@df.workflow(name="engine.nap")
async def nap(seconds: float) -> str:
    await df.sleep(seconds)
    return "rested"


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, list, dict]]:
    """The doorbells sent after commit: (task name, args, options)."""
    messages: list[tuple[str, list, dict]] = []
    monkeypatch.setattr(doorbell, "send", lambda name, args, **options: messages.append((name, args, options)))
    return messages


def a_run(workflow_id: str, queue: str = "") -> WorkflowRun:
    run = storage.create_run("engine.nap", [1.0], workflow_id=workflow_id, queue=queue or None)
    WorkflowRun.objects.filter(pk=run.pk).update(status="running", wake_at=None)
    return run


def add_timers(run: WorkflowRun, count: int, fire_at: datetime) -> None:
    Timer.objects.bulk_create(Timer(run=run, timer_id=i, fire_at=fire_at) for i in range(1, count + 1))


def fired_facts() -> Counter:
    facts = InboxItem.objects.filter(type=EventType.TIMER_FIRED).values_list("run_id", "data")
    return Counter((run_id, data["timer_id"]) for run_id, data in facts)


def rung_runs(sent: list[tuple[str, list, dict]]) -> list[str]:
    """The runs the workflow doorbells named: one per ``workflow_task``, a list per ``workflow_tasks``."""
    runs = []
    for name, args, _ in sent:
        if name == doorbell.WORKFLOW_TASK:
            runs.append(args[0])
        elif name == doorbell.WORKFLOW_TASKS:
            runs += args[0]
    return runs


@pytest.mark.django_db
def test_many_timers_of_one_run_fire_together_and_ring_it_once(sent, django_capture_on_commit_callbacks):
    now = storage.now()
    run, other = a_run("many"), a_run("other")
    add_timers(run, 5, now - timedelta(seconds=1))
    add_timers(other, 1, now)
    Timer.objects.create(run=other, timer_id=9, fire_at=now + timedelta(seconds=1))  # not due yet
    sent.clear()  # the starts' own doorbells
    with django_capture_on_commit_callbacks(execute=True):
        assert timers.fire_due_timers(now) == 6
    assert sorted(rung_runs(sent)) == sorted([str(run.pk), str(other.pk)])
    assert fired_facts() == Counter({**{(run.pk, i): 1 for i in range(1, 6)}, (other.pk, 1): 1})
    assert list(Timer.objects.values_list("timer_id", flat=True)) == [9]


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_however_many_timers_it_fires(django_capture_on_commit_callbacks):
    now = storage.now()

    def statements_to_fire(count: int) -> int:
        for i in range(count):
            add_timers(a_run(f"r{count}-{i}"), 1, now)
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False):
            assert timers.fire_due_timers(now) == count
        return len(queries)

    assert statements_to_fire(300) == statements_to_fire(3)


@pytest.mark.django_db
def test_a_crowd_of_runs_is_rung_with_a_few_messages(sent, django_capture_on_commit_callbacks):
    now = storage.now()
    runs = [a_run(f"crowd-{i}") for i in range(45)]
    for run in runs:
        add_timers(run, 1, now)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert timers.fire_due_timers(now) == 45
    assert sorted(rung_runs(sent)) == sorted(str(run.pk) for run in runs)
    sizes = [len(args[0]) if name == doorbell.WORKFLOW_TASKS else 1 for name, args, _ in sent]
    assert sizes == [doorbell.RUNS_PER_MESSAGE, doorbell.RUNS_PER_MESSAGE, 5]


@pytest.mark.django_db
def test_one_message_advances_each_run_it_names(sent, django_capture_on_commit_callbacks):
    handles = [df.start(nap, 0.001) for _ in range(3)]
    for handle in handles:
        drive(handle.run_id)
    with django_capture_on_commit_callbacks(execute=True):
        timers.fire_due_timers(storage.now() + timedelta(seconds=1))
    messages = [args for name, args, _ in sent if name == doorbell.WORKFLOW_TASKS]
    assert len(messages) == 1
    workflow_tasks(*messages[0])
    assert [handle.result(timeout=0) for handle in handles] == ["rested"] * 3
    workflow_tasks("not a list")  # dropped with a warning, like any doorbell that names no run


@pytest.mark.django_db
def test_a_timer_rings_its_run_on_the_runs_own_queue(sent, django_capture_on_commit_callbacks):
    now = storage.now()
    add_timers(a_run("on-reports", queue="reports"), 1, now)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        timers.fire_due_timers(now)
    assert [(name, options.get("queue")) for name, _, options in sent] == [(doorbell.WORKFLOW_TASK, "reports")]


@pytest.mark.django_db
def test_a_sweep_fires_a_bounded_number_of_batches(monkeypatch, sent, django_capture_on_commit_callbacks):
    monkeypatch.setattr(timers, "BATCH", 3)
    monkeypatch.setattr(timers, "BATCHES_PER_SWEEP", 2)
    now = storage.now()
    add_timers(a_run("lots"), 10, now)
    with django_capture_on_commit_callbacks(execute=True):
        assert timers.fire_due_timers(now) == 6
        assert timers.fire_due_timers(now) == 4
        assert timers.fire_due_timers(now) == 0
    assert sum(fired_facts().values()) == 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_fire_each_timer_exactly_once(sent):
    """Two sweepers on their own connections at once: disjoint claims, never a fact twice."""
    now = storage.now()
    runs = [a_run(f"race-{i}") for i in range(40)]
    for run in runs:
        add_timers(run, 50, now)
    start, counts, errors = threading.Barrier(2), [], []

    def sweeper() -> None:
        try:
            start.wait()
            counts.append(timers.fire_due_timers(now))
        except Exception as exc:  # reported below, with the thread's own connection closed
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(counts) == 2000
    facts = fired_facts()
    assert len(facts) == 2000 and set(facts.values()) == {1}
    assert not Timer.objects.exists()


@pytest.mark.django_db
def test_a_short_timer_gets_a_doorbell_due_at_its_fire_time_and_a_long_one_does_not(
    sent, django_capture_on_commit_callbacks
):
    short = df.start(nap, 0.3)
    long = df.start(nap, 3600)
    with django_capture_on_commit_callbacks(execute=True):
        drive(short.run_id)
        drive(long.run_id)
    timer_bells = [(args, options) for name, args, options in sent if name == doorbell.TIMER_TASK]
    fire_at = Timer.objects.get(run_id=short.run_id).fire_at
    assert timer_bells == [([short.run_id, 1], {"queue": None, "eta": fire_at})]


@pytest.mark.django_db
def test_the_timer_doorbell_fires_its_timer_once_and_advances_the_run(sent, django_capture_on_commit_callbacks):
    handle = df.start(nap, 0.001)
    drive(handle.run_id)
    Timer.objects.filter(run_id=handle.run_id).update(fire_at=storage.now())
    assert timer_task(handle.run_id, 1) == "closed"
    assert handle.result(timeout=0) == "rested"
    assert timer_task(handle.run_id, 1) == "gone"  # delivered twice
    fired = HistoryEvent.objects.filter(run_id=handle.run_id, type=EventType.TIMER_FIRED).count()
    assert fired == 1


@pytest.mark.django_db
def test_a_timer_doorbell_that_comes_early_asks_again_for_the_fire_time(sent, django_capture_on_commit_callbacks):
    handle = df.start(nap, 60, queue="naps")
    drive(handle.run_id)
    fire_at = Timer.objects.get(run_id=handle.run_id).fire_at
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert timer_task(handle.run_id, 1) == "not due"
    assert sent == [(doorbell.TIMER_TASK, [handle.run_id, 1], {"queue": "naps", "eta": fire_at})]
    assert Timer.objects.filter(run_id=handle.run_id).exists()


@pytest.mark.django_db
def test_a_timer_fired_by_a_sweep_is_gone_for_its_doorbell(sent):
    handle = df.start(nap, 0.001)
    drive(handle.run_id)
    assert timers.fire_due_timers(storage.now() + timedelta(seconds=1)) == 1
    assert timer_task(handle.run_id, 1) == "gone"
    assert timer_task("not-a-run", "x") == "gone"
    assert sum(fired_facts().values()) == 1


@pytest.mark.parametrize(
    ("due_in", "until_sweep", "progressed", "expected"),
    [
        (None, 0.7, False, 0.7),  # nothing pending: sleep until the next full sweep
        (0.3, 1.0, False, 0.3 + OVERSHOOT),  # a timer due before it: sleep until just after that
        (5.0, 1.0, False, 1.0),  # due after the next full sweep: the sweep comes first
        (-0.2, 1.0, True, 0.0),  # still due after a pass that fired some: a bounded pass left more
        (-0.2, 1.0, False, BUSY_PAUSE),  # still due but nothing fired: held elsewhere, look again soon
        (None, -0.1, False, 0.0),  # the sweep is overdue
    ],
)
def test_the_housekeeper_sleeps_until_the_next_due_time(due_in, until_sweep, progressed, expected):
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    next_due = None if due_in is None else now + timedelta(seconds=due_in)
    assert planned_sleep(now, next_due, until_sweep, progressed=progressed) == pytest.approx(expected)


@pytest.mark.django_db
def test_a_housekeeper_pass_plans_its_sleep_from_the_next_timer(sent, django_capture_on_commit_callbacks):
    keeper = Housekeeper(interval=30.0)
    run = a_run("keeper")
    Timer.objects.create(run=run, timer_id=1, fire_at=storage.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert 20 < keeper.step() <= 30  # the first pass sweeps; then nothing is pending until the next sweep
    assert not Timer.objects.exists() and sum(fired_facts().values()) == 1

    fire_at = storage.now() + timedelta(seconds=5)
    Timer.objects.create(run=run, timer_id=2, fire_at=fire_at)
    before = storage.now()
    planned = keeper.step()  # between sweeps: only due timers and deadlines
    assert (fire_at - storage.now()).total_seconds() <= planned <= (fire_at - before).total_seconds() + OVERSHOOT
    assert Timer.objects.filter(timer_id=2).exists()
