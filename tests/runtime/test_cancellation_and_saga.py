"""Cancellation at the current await, cleanup after catching it, and ``df.Saga`` compensations."""

from __future__ import annotations

import asyncio

import durableflows as df
from durableflows.runtime import EventType

from .harness import Driver, types


@df.activity(name="tests.saga.reserve")
def reserve(order_id: int) -> str:
    raise AssertionError("not called")


@df.activity(name="tests.saga.release")
def release(reservation: str) -> None:
    raise AssertionError("not called")


@df.activity(name="tests.saga.charge")
def charge(order_id: int) -> str:
    raise AssertionError("not called")


@df.activity(name="tests.saga.refund")
def refund(charge_id: str) -> None:
    raise AssertionError("not called")


@df.activity(name="tests.saga.ship")
def ship(order_id: int) -> None:
    raise AssertionError("not called")


@df.workflow
async def fulfil(order_id: int) -> str:
    async with df.Saga() as saga:
        reservation = await df.execute_activity(reserve, order_id)
        saga.add(release, reservation)
        charge_id = await df.execute_activity(charge, order_id)
        saga.add(refund, charge_id)
        await df.execute_activity(ship, order_id)
    return "shipped"


@df.workflow
async def fulfil_with_local_compensation(order_id: int) -> list:
    undone = []
    try:
        async with df.Saga() as saga:
            saga.add(undone.append, "sync")

            async def async_undo(value):
                undone.append(value)

            saga.add(async_undo, "async")
            saga.add(lambda: 1 / 0)  # a failing compensation does not stop the others
            await df.execute_activity(charge, order_id)
    except df.ActivityError:
        return undone
    return []


@df.workflow
async def cleanup_after_cancel() -> str:
    try:
        await df.execute_activity(charge, 1)
    except asyncio.CancelledError:
        await df.execute_activity(refund, "cleanup")
        return "cleaned up"
    return "not cancelled"


@df.workflow
async def cancellable_sleep() -> None:
    await df.sleep(3600)


@df.workflow
async def ignores_cancel_then_continues() -> str:
    try:
        await df.wait_signal("never")
    except asyncio.CancelledError:
        pass
    await df.sleep(5)
    return "carried on"


@df.workflow
async def cancel_in_gather() -> None:
    await asyncio.gather(df.execute_activity(charge, 1), df.execute_activity(charge, 2))


def _complete_steps(run: Driver, *names: str) -> None:
    for name in names:
        run.complete(run.only_activity(name), f"{name.rsplit('.', 1)[-1]}-id")


def test_cancel_raises_cancelled_error_at_the_current_await_and_cleanup_may_run():
    run = Driver(cleanup_after_cancel)
    charge_id = run.only_activity()
    commands = run.cancel("customer asked")
    assert types(commands) == [EventType.ACTIVITY_CANCEL_REQUESTED, EventType.ACTIVITY_SCHEDULED]
    assert commands[0].data == {"activity_id": charge_id}
    assert commands[1].data["name"] == "tests.saga.refund"
    assert run.complete(run.only_activity("tests.saga.refund"))[-1].type is EventType.WORKFLOW_COMPLETED
    assert run.result == "cleaned up"


def test_late_result_of_a_cancelled_activity_is_ignored():
    run = Driver(cleanup_after_cancel)
    charge_id = run.only_activity()
    run.cancel()
    assert run.complete(charge_id, "too late") == []
    assert run.closed_by is None


def test_uncaught_cancellation_ends_the_run_cancelled_and_cancels_its_timer():
    run = Driver(cancellable_sleep)
    timer_id = run.only_timer()
    commands = run.cancel()
    assert types(commands) == [EventType.TIMER_CANCELLED, EventType.WORKFLOW_CANCELLED]
    assert commands[0].data == {"timer_id": timer_id}
    assert run.execution.cancel_requested


def test_a_fired_timer_after_cancel_changes_nothing():
    run = Driver(cancellable_sleep)
    timer_id = run.only_timer()
    run.cancel()
    closed = run.closed_by
    assert run.apply(EventType.TIMER_FIRED, {"timer_id": timer_id}) == []
    assert run.closed_by is closed


def test_workflow_may_swallow_cancellation():
    run = Driver(ignores_cancel_then_continues)
    assert types(run.cancel()) == [EventType.TIMER_STARTED]
    run.fire(run.only_timer())
    assert run.result == "carried on"


def test_cancel_during_gather_requests_cancel_of_every_running_activity():
    run = Driver(cancel_in_gather)
    ids = sorted(run.pending_activities())
    commands = run.cancel()
    assert types(commands) == [EventType.ACTIVITY_CANCEL_REQUESTED] * 2 + [EventType.WORKFLOW_CANCELLED]
    assert sorted(c.data["activity_id"] for c in commands[:2]) == ids


def test_cancellation_replays():
    run = Driver(cleanup_after_cancel)
    run.cancel()
    run.complete(run.only_activity("tests.saga.refund"))
    assert run.replay().closed_by == run.closed_by


def test_saga_success_runs_no_compensation():
    run = Driver(fulfil, 7)
    _complete_steps(run, "tests.saga.reserve", "tests.saga.charge", "tests.saga.ship")
    assert run.result == "shipped"
    assert [d["name"] for d in run.events(EventType.ACTIVITY_SCHEDULED)] == [
        "tests.saga.reserve",
        "tests.saga.charge",
        "tests.saga.ship",
    ]


def test_saga_compensates_in_reverse_order_on_failure_then_reraises():
    run = Driver(fulfil, 7)
    _complete_steps(run, "tests.saga.reserve", "tests.saga.charge")
    commands = run.fail(run.only_activity("tests.saga.ship"), type="NoCourier", message="none free")
    assert types(commands) == [EventType.ACTIVITY_SCHEDULED]
    assert commands[0].data["name"] == "tests.saga.refund"
    assert commands[0].data["args"] == ["charge-id"]
    commands = run.complete(run.only_activity("tests.saga.refund"))
    assert commands[0].data["name"] == "tests.saga.release"
    assert commands[0].data["args"] == ["reserve-id"]
    commands = run.complete(run.only_activity("tests.saga.release"))
    assert types(commands) == [EventType.WORKFLOW_FAILED]
    assert "none free" in run.closed_by.data["message"]
    assert run.replay().closed_by == run.closed_by


def test_saga_compensates_only_the_steps_done():
    run = Driver(fulfil, 7)
    _complete_steps(run, "tests.saga.reserve")
    commands = run.fail(run.only_activity("tests.saga.charge"))
    assert [c.data["name"] for c in commands] == ["tests.saga.release"]


def test_a_failing_compensation_does_not_stop_the_others():
    run = Driver(fulfil, 7)
    _complete_steps(run, "tests.saga.reserve", "tests.saga.charge")
    run.fail(run.only_activity("tests.saga.ship"))
    commands = run.fail(run.only_activity("tests.saga.refund"), message="refund failed")
    assert [c.data["name"] for c in commands] == ["tests.saga.release"]
    run.complete(run.only_activity("tests.saga.release"))
    assert run.closed_by.type is EventType.WORKFLOW_FAILED


def test_saga_compensates_on_cancellation_and_the_run_ends_cancelled():
    run = Driver(fulfil, 7)
    _complete_steps(run, "tests.saga.reserve", "tests.saga.charge")
    ship_id = run.only_activity("tests.saga.ship")
    commands = run.cancel()
    assert types(commands) == [EventType.ACTIVITY_CANCEL_REQUESTED, EventType.ACTIVITY_SCHEDULED]
    assert commands[0].data["activity_id"] == ship_id
    assert commands[1].data["name"] == "tests.saga.refund"
    commands = run.complete(run.only_activity("tests.saga.refund"))
    assert commands[0].data["name"] == "tests.saga.release"
    commands = run.complete(run.only_activity("tests.saga.release"))
    assert types(commands) == [EventType.WORKFLOW_CANCELLED]


def test_saga_accepts_plain_and_async_functions_as_compensations():
    run = Driver(fulfil_with_local_compensation, 1)
    run.fail(run.only_activity())
    assert run.result == ["async", "sync"]


def test_saga_does_not_compensate_on_continue_as_new():
    @df.workflow(name="tests.saga.continue")
    async def continue_inside_saga() -> None:
        async with df.Saga() as saga:
            saga.add(release, "r")
            df.continue_as_new(2)

    run = Driver(continue_inside_saga)
    assert types(run.new[1:]) == [EventType.WORKFLOW_CONTINUED_AS_NEW]
    assert run.closed_by.data == {"args": [2]}


def test_saga_compensate_runs_each_compensation_once():
    @df.workflow(name="tests.saga.manual")
    async def manual() -> None:
        saga = df.Saga()
        saga.add(release, "r1")
        await saga.compensate()
        await saga.compensate()

    run = Driver(manual)
    assert types(run.new[1:]) == [EventType.ACTIVITY_SCHEDULED]
    assert types(run.complete(run.only_activity())) == [EventType.WORKFLOW_COMPLETED]
