"""Updates (``df.set_update_handler``), ``df.all_handlers_finished`` and ``df.deprecate_patch``."""

from __future__ import annotations

import dataclasses
import enum

import pytest

import durableflows as df
from durableflows.runtime import EventType

from .harness import Driver, replay, through_json, types


@df.activity(name="tests.upd.step")
def step(label: str) -> str:
    raise AssertionError("not called")


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Line:
    sku: str
    qty: int


@df.workflow(name="tests.upd.cart")
async def cart() -> list:
    lines: list[Line] = []
    seen: list[str] = []

    def check(line: Line) -> None:
        seen.append(type(line).__name__)
        if line.qty <= 0:
            raise ValueError("qty must be positive")

    async def add(line: Line) -> int:
        await df.execute_activity(step, line.sku)
        lines.append(line)
        return len(lines)

    def paint(colour: Colour) -> str:
        return colour.name

    def explode() -> None:
        raise KeyError("nope")

    df.set_update_handler("add", add, validator=check)
    df.set_update_handler("paint", paint)
    df.set_update_handler("explode", explode)
    df.set_query_handler("seen", lambda: list(seen))
    await df.wait_signal("done")
    await df.wait_condition(df.all_handlers_finished)
    return [line.sku for line in lines]


def _completed(run: Driver, update_id: str) -> dict:
    return next(d for d in run.events(EventType.UPDATE_COMPLETED) if d["update_id"] == update_id)


def test_an_accepted_update_runs_its_handler_and_records_its_result():
    run = Driver(cart)
    commands = run.update("u1", "add", Line("apple", 2))
    assert types(commands) == [EventType.ACTIVITY_SCHEDULED]
    commands = run.complete(run.only_activity(), "ok")
    assert types(commands) == [EventType.UPDATE_COMPLETED]
    assert commands[0].data == {"update_id": "u1", "name": "add", "result": 1}


def test_the_validator_sees_arguments_rebuilt_from_type_hints_and_a_rejection_records_nothing():
    run = Driver(cart)
    before = list(run.history)
    with pytest.raises(df.UpdateRejected, match="qty must be positive") as caught:
        run.update("u1", "add", Line("apple", 0))
    assert caught.value.type == "ValueError"
    assert run.history == before
    assert run.execution.query("seen", []) == ["Line"]


def test_an_update_without_a_handler_is_rejected():
    run = Driver(cart)
    with pytest.raises(df.UpdateRejected, match="no update handler 'missing'"):
        run.update("u1", "missing")


def test_arguments_that_do_not_fit_the_handler_are_rejected():
    run = Driver(cart)
    with pytest.raises(df.UpdateRejected, match="missing a required argument"):
        run.update("u1", "paint")
    with pytest.raises(df.UpdateRejected, match="too many"):
        run.update("u2", "paint", "red", "blue")


def test_a_sync_handler_completes_in_the_same_task_with_a_rebuilt_enum():
    run = Driver(cart)
    commands = run.update("u1", "paint", Colour.BLUE)
    assert [c.data.get("result") for c in commands] == ["BLUE"]


def test_a_failing_handler_fails_the_update_not_the_run():
    run = Driver(cart)
    commands = run.update("u1", "explode")
    assert commands[0].data["error"] == {"type": "KeyError", "message": "'nope'"}
    assert run.closed_by is None


def test_validators_may_not_issue_commands():
    @df.workflow(name="tests.upd.sneaky")
    async def sneaky() -> None:
        def validate() -> None:
            df.set_var("x", 1)

        df.set_update_handler("u", lambda: None, validator=validate)
        await df.wait_signal("never")

    run = Driver(sneaky)
    with pytest.raises(df.UpdateRejected, match="only read state"):
        run.update("u1", "u")


def test_the_run_waits_for_running_handlers_with_all_handlers_finished():
    run = Driver(cart)
    run.update("u1", "add", Line("apple", 1))
    assert types(run.signal("done")) == []  # the update's activity is still running
    commands = run.complete(run.only_activity(), "ok")
    assert types(commands) == [EventType.UPDATE_COMPLETED, EventType.WORKFLOW_COMPLETED]
    assert run.result == ["apple"]


def test_updates_replay_without_running_validators_again():
    run = Driver(cart)
    run.update("u1", "add", Line("apple", 1))
    run.update("u2", "paint", Colour.RED)
    run.signal("done")
    run.complete(run.only_activity(), "ok")
    replayed = replay(cart, through_json(run.history))
    assert replayed.closed_by == run.closed_by
    assert replayed.query("seen", []) == []


def test_all_handlers_finished_counts_async_signal_handlers():
    @df.workflow(name="tests.upd.signals")
    async def with_signal_handler() -> int:
        total = []

        async def on_add(amount: int) -> None:
            await df.execute_activity(step, str(amount))
            total.append(amount)

        df.set_signal_handler("add", on_add)
        await df.wait_signal("done")
        finished_at_done = df.all_handlers_finished()
        await df.wait_condition(df.all_handlers_finished)
        return len(total) * 10 + int(finished_at_done)

    run = Driver(with_signal_handler)
    run.signal("add", 5)
    run.signal("done")
    assert run.closed_by is None
    run.complete(run.only_activity(), "ok")
    assert run.result == 10


@df.workflow(name="tests.upd.patched")
async def with_patch() -> str:
    if df.patched("new-greeting"):
        return await df.execute_activity(step, "new")
    return await df.execute_activity(step, "old")


@df.workflow(name="tests.upd.deprecated")
async def with_deprecated_patch() -> str:
    df.deprecate_patch("new-greeting")
    return await df.execute_activity(step, "new")


def test_deprecate_patch_replays_histories_with_the_marker():
    old = Driver(with_patch)
    old.complete(old.only_activity(), "done")
    replayed = replay(with_deprecated_patch, through_json(old.history))
    assert replayed.closed_by == old.closed_by


def test_deprecate_patch_replays_histories_without_the_marker_and_records_none():
    run = Driver(with_deprecated_patch)
    assert not run.events(EventType.PATCH_MARKER)
    run.complete(run.only_activity(), "done")
    assert replay(with_deprecated_patch, run.history).closed_by == run.closed_by


def test_a_deprecated_patch_still_lets_a_later_patch_match_its_marker():
    @df.workflow(name="tests.upd.two")
    async def two() -> str:
        df.patched("first")
        return await with_patch()

    @df.workflow(name="tests.upd.two_deprecated")
    async def two_deprecated() -> str:
        df.deprecate_patch("first")
        return await with_patch()

    run = Driver(two)
    run.complete(run.only_activity(), "done")
    replayed = replay(two_deprecated, run.history)
    assert replayed.patches == {"first": True, "new-greeting": True}
    assert replayed.closed_by == run.closed_by
