"""Durable time: ``df.sleep``, timeouts, ``df.wait_condition`` and asyncio's own timers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

import durableflows as df
from durableflows.runtime import EventType

from .harness import T0, Driver, types


@df.activity
def step(name: str) -> str:
    raise AssertionError("not called")


@df.workflow
async def nap(seconds: float) -> float:
    before = df.now()
    await df.sleep(seconds)
    return (df.now() - before).total_seconds()


@df.workflow
async def nap_timedelta() -> None:
    await df.sleep(timedelta(days=30))


@df.workflow
async def wait_for_flag() -> dict:
    state = {"flag": False, "checks": 0}

    def handler(payload):
        state["flag"] = payload

    df.set_signal_handler("flag", handler)
    try:
        await df.wait_condition(lambda: state["flag"], timeout=timedelta(hours=1))
    except TimeoutError:
        return {"outcome": "timeout"}
    return {"outcome": "flag", "at": df.now()}


@df.workflow
async def wait_forever() -> str:
    box = {}
    df.set_signal_handler("set", lambda payload: box.update(value=payload))
    await df.wait_condition(lambda: "value" in box)
    return box["value"]


@df.workflow
async def bad_predicate() -> str:
    box = {}
    df.set_signal_handler("go", lambda payload: box.update(go=payload))
    try:
        await df.wait_condition(lambda: 1 / box["go"] if "go" in box else False)
    except ZeroDivisionError:
        return "predicate error reached the waiter"
    return "no error"


@df.workflow
async def raw_asyncio_timeout() -> str:
    try:
        await asyncio.wait_for(df.execute_activity(step, "slow"), timeout=60)
    except TimeoutError:
        return "timed out"
    return "in time"


def test_sleep_starts_a_durable_timer_with_duration_and_due_time():
    run = Driver(nap, 90)
    assert types(run.new) == [EventType.WORKFLOW_STARTED, EventType.TIMER_STARTED]
    timer = run.new[1].data
    assert timer["duration"] == 90
    assert datetime.fromisoformat(timer["fire_at"]) == T0 + timedelta(seconds=90)


def test_fractional_durations_are_recorded_exactly():
    run = Driver(nap, 0.1)
    assert run.new[1].data["duration"] == 0.1


def test_sleep_accepts_a_timedelta():
    run = Driver(nap_timedelta)
    assert run.new[1].data["duration"] == 30 * 24 * 3600


def test_timer_firing_resumes_the_workflow_at_the_timer_time():
    run = Driver(nap, 90)
    assert types(run.fire(run.only_timer())) == [EventType.WORKFLOW_COMPLETED]
    assert run.result == 90, "df.now() moved with the timer"


def test_nothing_happens_before_the_timer_fires():
    run = Driver(nap, 90)
    assert run.signal("unrelated") == []
    assert run.closed_by is None
    assert run.pending_timers() == [run.only_timer()]


def test_zero_sleep_needs_no_timer():
    run = Driver(nap, 0)
    assert types(run.new[1:]) == [EventType.WORKFLOW_COMPLETED]


@pytest.mark.parametrize("bad, error", [(-1, ValueError), ("10", TypeError), (True, TypeError)])
def test_bad_sleep_durations_are_refused(bad, error):
    @df.workflow(name=f"tests.runtime.bad_sleep.{error.__name__}.{bad!r}")
    async def bad_sleep() -> None:
        await df.sleep(bad)

    run = Driver(bad_sleep)
    assert run.closed_by.data["type"] == error.__name__


def test_stray_timer_fired_fact_is_ignored():
    run = Driver(nap, 90)
    assert run.apply(EventType.TIMER_FIRED, {"timer_id": 12345}) == []
    assert run.closed_by is None


def test_wait_condition_wakes_when_the_predicate_turns_true_and_cancels_its_timer():
    run = Driver(wait_for_flag)
    timer_id = run.only_timer()
    assert run.signal("flag", False) == [], "re-checked after the event, still false"
    commands = run.signal("flag", True)
    assert types(commands) == [EventType.TIMER_CANCELLED, EventType.WORKFLOW_COMPLETED]
    assert commands[0].data == {"timer_id": timer_id}
    assert run.result["outcome"] == "flag"
    assert run.result["at"] == run.clock, "df.now() is the time of the signal that woke it"


def test_wait_condition_times_out_with_builtin_timeout_error():
    run = Driver(wait_for_flag)
    commands = run.fire(run.only_timer())
    assert types(commands) == [EventType.WORKFLOW_COMPLETED]
    assert run.result == {"outcome": "timeout"}


def test_wait_condition_without_timeout_starts_no_timer():
    run = Driver(wait_forever)
    assert run.pending_timers() == []
    run.signal("set", "v")
    assert run.result == "v"


def test_wait_condition_already_true_returns_at_once():
    @df.workflow(name="tests.runtime.condition_true")
    async def already_true() -> str:
        await df.wait_condition(lambda: True, timeout=10)
        return "done"

    run = Driver(already_true)
    assert types(run.new[1:]) == [EventType.WORKFLOW_COMPLETED], "no timer for a condition that holds"


def test_an_error_in_the_predicate_reaches_the_waiter():
    run = Driver(bad_predicate)
    run.signal("go", 0)
    assert run.result == "predicate error reached the waiter"


def test_asyncio_wait_for_uses_a_durable_timer_and_cancels_the_activity():
    run = Driver(raw_asyncio_timeout)
    activity_id = run.only_activity()
    commands = run.fire(run.only_timer())
    assert types(commands) == [EventType.ACTIVITY_CANCEL_REQUESTED, EventType.WORKFLOW_COMPLETED]
    assert commands[0].data == {"activity_id": activity_id}
    assert run.result == "timed out"


def test_asyncio_wait_for_in_time_cancels_the_timer():
    run = Driver(raw_asyncio_timeout)
    commands = run.complete(run.only_activity(), "ok")
    assert types(commands) == [EventType.TIMER_CANCELLED, EventType.WORKFLOW_COMPLETED]
    assert run.result == "in time"


def test_replay_of_timer_histories_matches():
    run = Driver(wait_for_flag)
    run.fire(run.only_timer())
    replayed = run.replay()
    assert replayed.closed_by == run.closed_by
