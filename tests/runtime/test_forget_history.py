"""An execution that forgets the history it has applied carries on exactly as one that keeps it."""

from datetime import UTC, datetime, timedelta

import pytest

import durableflows as df
from durableflows.runtime import EventType, WorkflowExecution

START = datetime(2026, 11, 30, tzinfo=UTC)


async def echo_lengths() -> None:
    while True:
        await df.wait_signal("go")
        df.set_var("seen", [df.info().history_length, df.info().start_time.isoformat()])


def _drive(forget: bool) -> tuple[list, WorkflowExecution]:
    execution = WorkflowExecution(echo_lengths)
    events = execution.apply(
        EventType.WORKFLOW_STARTED, {"workflow_id": "w", "run_id": "r", "workflow_name": "e"}, START
    )
    for n in range(1, 4):
        if forget:
            execution.forget_history()
        events += execution.apply(EventType.SIGNAL_RECEIVED, {"name": "go"}, START + timedelta(seconds=n))
    return [(e.sequence, e.type, e.data) for e in events], execution


def test_new_events_are_numbered_and_seen_the_same_after_forgetting():
    kept, full = _drive(forget=False)
    forgotten, trimmed = _drive(forget=True)
    assert forgotten == kept
    assert trimmed.last_sequence == full.last_sequence == 7
    assert trimmed.vars == full.vars and len(trimmed.history) == 2


def test_an_execution_still_replaying_cannot_forget_and_a_used_one_cannot_replay():
    _, execution = _drive(forget=False)
    replaying = WorkflowExecution(echo_lengths)
    replaying.history = list(execution.history)  # as replay() sets it up, before it has run
    with pytest.raises(RuntimeError):
        replaying.forget_history()
    with pytest.raises(RuntimeError):
        execution.replay(execution.history)
