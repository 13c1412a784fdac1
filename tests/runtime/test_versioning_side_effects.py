"""``df.patched``, ``df.side_effect``, deterministic ``now``/``uuid4``/``random``, ``info``, replay-safe logging."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest

import durableflows as df
from durableflows.runtime import EventType

from .harness import T0, Driver, replay, through_json, types


@df.activity(name="tests.ver.old_step")
def old_step() -> str:
    raise AssertionError("not called")


@df.activity(name="tests.ver.new_step")
def new_step() -> str:
    raise AssertionError("not called")


@df.activity(name="tests.ver.final")
def final() -> str:
    raise AssertionError("not called")


@df.workflow
async def v1() -> str:
    await df.execute_activity(old_step)
    return await df.execute_activity(final)


@df.workflow
async def v2() -> str:
    if df.patched("use-new-step"):
        await df.execute_activity(new_step)
    else:
        await df.execute_activity(old_step)
    return await df.execute_activity(final)


@df.workflow
async def v3() -> str:  # every old run has finished: the patch check is removed
    await df.execute_activity(new_step)
    return await df.execute_activity(final)


@df.workflow
async def v2_with_removed_earlier_patch() -> str:
    if df.patched("use-new-step"):
        await df.execute_activity(new_step)
    else:
        await df.execute_activity(old_step)
    return await df.execute_activity(final)


@df.workflow
async def two_patches() -> str:
    df.patched("retired-patch")
    return await v2_with_removed_earlier_patch()


def _finish(run: Driver) -> None:
    while run.closed_by is None:
        run.complete(run.only_activity(), "done")


def test_patched_is_true_on_new_runs_and_records_a_marker():
    run = Driver(v2)
    assert types(run.new[1:]) == [EventType.PATCH_MARKER, EventType.ACTIVITY_SCHEDULED]
    assert run.new[1].data == {"patch_id": "use-new-step"}
    assert run.scheduled(run.only_activity())["name"] == "tests.ver.new_step"
    _finish(run)
    assert replay(v2, run.history).patches == {"use-new-step": True}


def test_patched_is_false_when_replaying_a_history_from_before_the_patch():
    old = Driver(v1)
    old.complete(old.only_activity(), "old")  # the run is half way when v2 is deployed
    resumed = replay(v2, old.history)
    assert resumed.patches == {"use-new-step": False}
    commands = resumed.apply(EventType.ACTIVITY_COMPLETED, {"activity_id": 2, "result": "x"}, old.clock)
    assert types(commands) == [EventType.ACTIVITY_COMPLETED, EventType.WORKFLOW_COMPLETED]
    assert not any(e.type is EventType.PATCH_MARKER for e in resumed.history)


def test_patched_is_true_for_an_old_run_that_reaches_the_patch_after_the_deploy():
    @df.workflow(name="tests.ver.wait_v1")
    async def wait_v1() -> str:
        await df.wait_signal("go")
        return "old"

    @df.workflow(name="tests.ver.wait_v2")
    async def wait_v2() -> str:
        await df.wait_signal("go")
        return "new" if df.patched("p") else "old"

    old = Driver(wait_v1)
    resumed = replay(wait_v2, old.history)
    commands = resumed.apply(EventType.SIGNAL_RECEIVED, {"name": "go", "payload": None}, old.clock)
    assert commands[-1].data == {"result": "new"}, "the old run had not passed the patch point yet"


def test_the_marker_is_skipped_once_the_patch_check_is_removed():
    run = Driver(v2)
    _finish(run)
    replayed = replay(v3, through_json(run.history))
    assert replayed.closed_by == run.closed_by


def test_a_removed_patch_check_does_not_hide_the_next_patch():
    run = Driver(two_patches)
    assert types(run.new[1:3]) == [EventType.PATCH_MARKER, EventType.PATCH_MARKER]
    _finish(run)
    replayed = replay(v2_with_removed_earlier_patch, run.history)
    assert replayed.patches == {"use-new-step": True}
    assert replayed.closed_by == run.closed_by


def test_patched_is_answered_once_per_run():
    @df.workflow(name="tests.ver.twice")
    async def twice() -> list:
        return [df.patched("p"), df.patched("p")]

    run = Driver(twice)
    assert run.result == [True, True]
    assert len(run.events(EventType.PATCH_MARKER)) == 1


def test_v1_code_cannot_replay_a_v2_history():
    run = Driver(v2)
    _finish(run)
    with pytest.raises(df.NonDeterminismError):
        replay(v1, run.history)


@df.workflow
async def effects() -> dict:
    token = await df.side_effect(lambda: str(uuid.uuid4()))  # truly random: recorded once
    when = await df.side_effect(lambda: T0 + timedelta(days=1))
    return {"token": token, "when": when}


def test_side_effect_runs_once_and_replays_the_recorded_value():
    run = Driver(effects)
    assert types(run.new[1:]) == [
        EventType.SIDE_EFFECT_RECORDED,
        EventType.SIDE_EFFECT_RECORDED,
        EventType.WORKFLOW_COMPLETED,
    ]
    token = run.result["token"]
    assert run.result["when"] == T0 + timedelta(days=1), "rich values are decoded"
    calls = []

    @df.workflow(name="tests.ver.effects_again")
    async def effects_again() -> dict:
        token = await df.side_effect(lambda: calls.append(1) or "different")
        when = await df.side_effect(lambda: calls.append(1))
        return {"token": token, "when": when}

    replayed = replay(effects_again, run.history)
    assert calls == [], "side effects are not run again on replay"
    assert replayed.closed_by.data["result"]["token"] == token


def test_side_effect_refuses_async_functions_and_bad_values():
    async def coro():
        return 1

    @df.workflow(name="tests.ver.bad_effects")
    async def bad_effects() -> list:
        errors = []
        for fn in (coro, lambda: b"bytes"):
            try:
                await df.side_effect(fn)
            except TypeError as exc:
                errors.append(type(exc).__name__)
        return errors

    run = Driver(bad_effects)
    assert run.result == ["TypeError", "SerializationError"]
    assert run.events(EventType.SIDE_EFFECT_RECORDED) == []


@df.workflow
async def randomness() -> dict:
    first = {"now": df.now(), "uuid": df.uuid4(), "random": df.random().random(), "int": df.random().randint(1, 10**9)}
    await df.sleep(60)
    return {"first": first, "later_now": df.now(), "uuid2": df.uuid4()}


def test_now_uuid4_and_random_are_deterministic_across_replay():
    run = Driver(randomness, run_id="run-abc")
    run.fire(run.only_timer())
    result = run.result
    assert result["first"]["now"] == T0
    assert result["later_now"] == T0 + timedelta(seconds=60)
    assert result["first"]["now"].tzinfo is not None
    assert isinstance(result["first"]["uuid"], uuid.UUID) and result["first"]["uuid"].version == 4
    assert result["uuid2"] != result["first"]["uuid"]
    replayed = replay(randomness, through_json(run.history))
    assert replayed.closed_by.data == run.closed_by.data


def test_random_is_seeded_per_run():
    one = Driver(randomness, run_id="run-1")
    two = Driver(randomness, run_id="run-2")
    again = Driver(randomness, run_id="run-1")
    for run in (one, two, again):
        run.fire(run.only_timer())
    assert one.result["first"]["uuid"] != two.result["first"]["uuid"]
    assert one.result == again.result


def test_info_describes_the_run():
    @df.workflow(name="tests.ver.who")
    async def who() -> dict:
        i = df.info()
        return {
            "workflow_id": i.workflow_id,
            "run_id": i.run_id,
            "name": i.workflow_name,
            "parent": i.parent_workflow_id,
            "continued_from": i.continued_from_run_id,
            "start": i.start_time,
            "length": i.history_length,
            "suggested": i.continue_as_new_suggested,
        }

    run = Driver(
        who,
        workflow_id="order-1",
        run_id="r2",
        workflow_name="tests.ver.who",
        extra={"parent_workflow_id": "parent-1", "continued_from_run_id": "r1"},
    )
    assert run.result == {
        "workflow_id": "order-1",
        "run_id": "r2",
        "name": "tests.ver.who",
        "parent": "parent-1",
        "continued_from": "r1",
        "start": T0,
        "length": 1,
        "suggested": False,
    }


@pytest.mark.parametrize(
    "call", [df.now, df.uuid4, df.random, df.info, lambda: df.patched("x"), lambda: df.set_var("a", 1)]
)
def test_workflow_calls_outside_a_workflow_raise_runtime_error(call):
    with pytest.raises(RuntimeError, match="only be called from workflow code"):
        call()


def test_logger_is_silent_while_replaying(caplog):
    @df.workflow(name="tests.ver.logs")
    async def logs() -> None:
        df.logger.info("step %s", "one")
        await df.sleep(1)
        df.logger.info("step %s", "two")

    caplog.set_level(logging.INFO, logger="durableflows.workflow")
    run = Driver(logs, workflow_id="wf-log")
    assert [r.getMessage() for r in caplog.records] == ["step one"]
    assert caplog.records[0].workflow_id == "wf-log"
    run.fire(run.only_timer())
    assert [r.getMessage() for r in caplog.records] == ["step one", "step two"]
    caplog.clear()
    replay(logs, run.history)
    assert caplog.records == []


def test_a_failing_side_effect_is_recorded_and_raises_the_same_error_on_replay():
    def unreachable():
        raise ConnectionError("lookup service down")

    @df.workflow(name="tests.ver.failing_effect")
    async def failing_effect() -> dict:
        try:
            await df.side_effect(unreachable)
        except df.SideEffectError as exc:
            return {"type": exc.type, "message": exc.message}
        return {}

    run = Driver(failing_effect)
    expected = {"type": "ConnectionError", "message": "lookup service down"}
    assert run.result == expected
    assert run.events(EventType.SIDE_EFFECT_RECORDED) == [{"error": expected}]
    replayed = replay(failing_effect, run.history)  # raises NonDeterminismError if the error were not recorded
    assert replayed.closed_by.data["result"] == expected
