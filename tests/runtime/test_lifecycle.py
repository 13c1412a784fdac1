"""How runs end: completion, failure with ``.type``, continue-as-new, termination; and child workflows."""

from __future__ import annotations

import dataclasses
import gc
import sys

import pytest

import durableflows as df
from durableflows.runtime import EventType, WorkflowExecution

from .harness import T0, Driver, replay, types


@dataclasses.dataclass
class Order:
    id: int
    lines: list[str]


class InsufficientStock(Exception):
    pass


@df.workflow(name="tests.life.child")
async def child(order: Order) -> Order:
    return order


@df.workflow
async def echo(order: Order) -> dict:
    assert isinstance(order, Order), "arguments are rebuilt from the parameter hints"
    return {"order": order, "kw": None}


@df.workflow
async def echo_kwargs(a: int, *, b: int = 0) -> list:
    return [a, b]


@df.workflow
async def fails() -> None:
    raise InsufficientStock("only 2 left")


@df.workflow
async def unserializable_result() -> bytes:
    return b"bytes"


@df.workflow
async def counts_down(n: int) -> str:
    if n > 0:
        df.continue_as_new(n - 1)
    return "lift-off"


@df.workflow
async def continue_through_except() -> None:
    try:
        df.continue_as_new("next")
    except Exception:  # noqa: BLE001 - continue_as_new must not be caught by this
        return None


@df.workflow
async def parent() -> dict:
    result = await df.execute_child_workflow(child, Order(1, ["a"]), id="child-1")
    handle = await df.start_child_workflow("tests.life.child", Order(2, []), parent_close_policy="abandon")
    await handle.signal("hello", {"x": 1})
    try:
        await handle.result()
    except df.ChildWorkflowError as exc:
        failure = {"workflow_id": exc.workflow_id, "status": exc.status, "type": exc.type, "message": exc.message}
    return {"first": result, "handle_id": handle.workflow_id, "failure": failure}


def test_workflow_arguments_are_decoded_with_hints_and_result_encoded():
    run = Driver(echo, Order(5, ["x", "y"]))
    assert run.closed_by.data == {"result": {"order": {"id": 5, "lines": ["x", "y"]}, "kw": None}}


def test_keyword_arguments_from_the_started_event():
    run = Driver(echo_kwargs, 1, extra={"kwargs": {"b": 2}})
    assert run.result == [1, 2]


def test_an_exception_fails_the_run_with_its_type_message_and_traceback():
    run = Driver(fails)
    assert types(run.new[1:]) == [EventType.WORKFLOW_FAILED]
    data = run.closed_by.data
    assert data["type"] == "InsufficientStock"
    assert data["message"] == "only 2 left"
    assert "raise InsufficientStock" in data["traceback"]
    assert run.closed_by.type.closes_run
    assert replay(fails, run.history).closed_by == run.closed_by


def test_a_result_that_cannot_be_serialized_fails_the_run():
    run = Driver(unserializable_result)
    assert run.closed_by.data["type"] == "SerializationError"


def test_continue_as_new_closes_the_run_with_the_new_arguments():
    run = Driver(counts_down, 3)
    assert types(run.new[1:]) == [EventType.WORKFLOW_CONTINUED_AS_NEW]
    assert run.closed_by.data == {"args": [2]}
    last = Driver(counts_down, 0, extra={"continued_from_run_id": "run-0"})
    assert last.result == "lift-off"


def test_continue_as_new_is_not_caught_by_except_exception():
    run = Driver(continue_through_except)
    assert run.closed_by.type is EventType.WORKFLOW_CONTINUED_AS_NEW
    assert run.closed_by.data == {"args": ["next"]}


def test_continue_as_new_is_suggested_past_the_configured_history_length():
    @df.workflow(name="tests.life.suggest")
    async def suggest() -> list:
        seen = [df.info().continue_as_new_suggested]
        for _ in range(3):
            await df.wait_signal("tick")
            seen.append(df.info().continue_as_new_suggested)
        return seen

    execution = WorkflowExecution(suggest, suggest_continue_as_new_after=3)
    execution.apply(EventType.WORKFLOW_STARTED, {"workflow_id": "w", "run_id": "r", "workflow_name": "n"}, T0)
    for _ in range(3):
        execution.apply(EventType.SIGNAL_RECEIVED, {"name": "tick", "payload": None}, T0)
    assert execution.closed_by.data == {"result": [False, False, True, True]}


@df.workflow(name="tests.life.entity")
async def entity(total: int) -> None:
    """The standard long-lived entity: loop on signals, continue as new when the history grows long."""
    while not df.info().continue_as_new_suggested:
        total += await df.wait_signal("add")
        df.set_var("total", total)
    df.continue_as_new(total)


def _entity_until_suggested(suggest_after: int) -> Driver:
    run = Driver(entity, 0, suggest_continue_as_new_after=suggest_after)
    while run.closed_by is None:
        run.signal("add", 1)
    return run


@pytest.mark.parametrize("suggest_after", [10, 5000])
def test_info_during_replay_is_what_the_code_saw_when_it_first_ran(suggest_after):
    run = _entity_until_suggested(suggest_after)
    assert run.closed_by.type is EventType.WORKFLOW_CONTINUED_AS_NEW
    assert len(run.history) > suggest_after
    assert run.execution.info().history_length == len(run.history)
    cold = replay(entity, run.history, suggest_continue_as_new_after=suggest_after)
    assert cold.closed_by == run.closed_by
    assert cold.history == run.history


def test_info_during_replay_counts_events_up_to_the_point_replayed():
    @df.workflow(name="tests.life.lengths")
    async def lengths() -> None:
        seen = []
        df.set_query_handler("seen", lambda: seen)
        for _ in range(3):
            seen.append(df.info().history_length)
            df.set_var("length", seen[-1])
            await df.wait_signal("tick")

    run = Driver(lengths)
    for _ in range(2):
        run.signal("tick")
    assert run.execution.query("seen", []) == [1, 3, 5]
    cold = replay(lengths, run.history)  # a cold worker sees what the first run saw at each point
    assert cold.query("seen", []) == [1, 3, 5]
    assert cold.info().history_length == len(run.history) == 6


@pytest.mark.parametrize("fact", [EventType.WORKFLOW_TERMINATED, EventType.WORKFLOW_TIMED_OUT])
def test_terminated_or_timed_out_runs_take_no_more_facts(fact):
    run = Driver(parent)
    assert run.apply(fact, {"reason": "bad data"}) == []
    assert run.closed_by.type is fact
    child_id = run.events(EventType.CHILD_WORKFLOW_STARTED)[0]["child_id"]
    assert run.apply(EventType.CHILD_WORKFLOW_COMPLETED, {"child_id": child_id, "result": {}}) == []
    assert run.closed_by.type is fact


def test_commands_cannot_be_applied_as_facts():
    run = Driver(parent)
    with pytest.raises(ValueError, match="command"):
        run.execution.apply(EventType.ACTIVITY_SCHEDULED, {}, T0)


def test_child_workflows_start_complete_fail_and_are_signalled():
    run = Driver(parent)
    assert types(run.new[1:]) == [EventType.CHILD_WORKFLOW_STARTED]
    started = run.new[1].data
    assert started["name"] == "tests.life.child"
    assert started["workflow_id"] == "child-1"
    assert started["args"] == [{"id": 1, "lines": ["a"]}]
    assert started["parent_close_policy"] == "terminate"

    commands = run.apply(
        EventType.CHILD_WORKFLOW_COMPLETED, {"child_id": started["child_id"], "result": started["args"][0]}
    )
    assert types(commands) == [EventType.CHILD_WORKFLOW_STARTED, EventType.SIGNAL_EXTERNAL_SENT]
    second = commands[0].data
    assert second["workflow_id"] == f"wf-1/{second['child_id']}", "default child ids derive from the parent's"
    assert second["parent_close_policy"] == "abandon"
    assert commands[1].data == {"workflow_id": second["workflow_id"], "name": "hello", "payload": {"x": 1}}

    failure = {"child_id": second["child_id"], "workflow_id": second["workflow_id"], "status": "failed"}
    commands = run.apply(EventType.CHILD_WORKFLOW_FAILED, {**failure, "type": "KeyError", "message": "k"})
    assert types(commands) == [EventType.WORKFLOW_COMPLETED]
    result = run.result
    assert result["first"] == {"id": 1, "lines": ["a"]}
    assert result["failure"] == {
        "workflow_id": second["workflow_id"],
        "status": "failed",
        "type": "KeyError",
        "message": "k",
    }
    assert replay(parent, run.history).closed_by == run.closed_by


def test_child_results_are_rebuilt_from_the_child_return_hint():
    @df.workflow(name="tests.life.typed_parent")
    async def typed_parent() -> bool:
        result = await df.execute_child_workflow(child, Order(1, []))
        return isinstance(result, Order)

    run = Driver(typed_parent)
    child_id = run.new[1].data["child_id"]
    run.apply(EventType.CHILD_WORKFLOW_COMPLETED, {"child_id": child_id, "result": {"id": 1, "lines": []}})
    assert run.result is True


def test_bad_parent_close_policy_is_refused():
    @df.workflow(name="tests.life.bad_policy")
    async def bad_policy() -> None:
        await df.execute_child_workflow(child, Order(1, []), parent_close_policy="ignore")

    run = Driver(bad_policy)
    assert run.closed_by.data["type"] == "ValueError"
    assert run.events(EventType.CHILD_WORKFLOW_STARTED) == []


def test_signal_workflow_records_the_signal():
    @df.workflow(name="tests.life.signaller")
    async def signaller() -> None:
        await df.signal_workflow("other-1", "poke", {"n": 1})

    run = Driver(signaller)
    assert types(run.new[1:]) == [EventType.SIGNAL_EXTERNAL_SENT, EventType.WORKFLOW_COMPLETED]
    assert run.new[1].data == {"workflow_id": "other-1", "name": "poke", "payload": {"n": 1}}


def test_discarding_a_suspended_execution_unwinds_it_quietly(monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    cleanups = []

    @df.workflow(name="tests.lifecycle.discarded")
    async def discarded() -> None:
        async with df.Saga() as saga:
            saga.add(lambda: cleanups.append("compensated"))
            try:
                await df.wait_signal("never")
            finally:
                cleanups.append("finally ran")
                df.set_var("after", 1)  # a command while unwinding is refused, not recorded

    run = Driver(discarded)
    execution = run.execution
    recorded = list(execution.history)
    execution.discard()
    execution.discard()  # idempotent
    del run, execution
    gc.collect()
    assert cleanups == ["finally ran"]  # the saga does not compensate a run that is merely unloaded
    assert unraisable == []
    assert [e.type for e in recorded] == [EventType.WORKFLOW_STARTED]


def test_discarding_one_execution_unwinds_only_its_own_tasks():
    unwound = []

    @df.workflow(name="tests.lifecycle.waiter")
    async def waiter(name: str) -> str:
        try:
            await df.wait_signal("go")
        finally:
            unwound.append(name)
        return name

    first, second = Driver(waiter, "first"), Driver(waiter, "second")
    first.execution.discard()
    assert unwound == ["first"]
    new = second.apply(EventType.SIGNAL_RECEIVED, {"name": "go", "payload": None})
    assert [e.type for e in new] == [EventType.WORKFLOW_COMPLETED]
    assert unwound == ["first", "second"]
