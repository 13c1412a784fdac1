"""Drive a ``WorkflowExecution`` the way the Django engine does, without Django: one fact at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from durableflows import registry, serialization
from durableflows.runtime import Event, EventType, WorkflowExecution

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
GOLDEN_DIR = Path(__file__).parent / "golden"


class Driver:
    """Starts a run and feeds it facts; each fact moves the clock on by ``step`` (1 s by default)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        workflow_id: str = "wf-1",
        run_id: str = "run-1",
        workflow_name: str = "tests.workflow",
        start: datetime = T0,
        step: timedelta = timedelta(seconds=1),
        extra: dict[str, Any] | None = None,
        suggest_continue_as_new_after: int | None = None,
    ) -> None:
        self.fn = fn
        self.clock = start
        self.step = step
        self.execution = _execution(fn, suggest_continue_as_new_after)
        data = {"workflow_id": workflow_id, "run_id": run_id, "workflow_name": workflow_name}
        data["args"] = serialization.check(list(args))
        data.update(extra or {})
        self.new = self.execution.apply(EventType.WORKFLOW_STARTED, data, start)

    # -- feeding facts -------------------------------------------------------------
    def apply(self, type: EventType, data: dict[str, Any], *, at: datetime | None = None) -> list[Event]:
        """Apply one fact; returns only the commands it led to."""
        self.clock = at if at is not None else self.clock + self.step
        self.new = self.execution.apply(type, data, self.clock)
        assert self.new[0].type is type
        return self.new[1:]

    def complete(self, activity_id: int, result: Any = None) -> list[Event]:
        return self.apply(
            EventType.ACTIVITY_COMPLETED, {"activity_id": activity_id, "result": serialization.check(result)}
        )

    def fail(self, activity_id: int, type: str = "ValueError", message: str = "boom", attempts: int = 1) -> list[Event]:
        name = self.scheduled(activity_id)["name"]
        data = {"activity_id": activity_id, "type": type, "message": message, "attempts": attempts, "name": name}
        return self.apply(EventType.ACTIVITY_FAILED, data)

    def fire(self, timer_id: int) -> list[Event]:
        """Fire a timer at its due time (or now, if the clock is already past it)."""
        due = datetime.fromisoformat(self.started_timer(timer_id)["fire_at"])
        return self.apply(EventType.TIMER_FIRED, {"timer_id": timer_id}, at=max(due, self.clock))

    def signal(self, name: str, payload: Any = None) -> list[Event]:
        return self.apply(EventType.SIGNAL_RECEIVED, {"name": name, "payload": serialization.check(payload)})

    def update(self, update_id: str, name: str, *args: Any) -> list[Event]:
        """Validate an update as a workflow task does, then apply it; ``df.UpdateRejected`` records nothing."""
        encoded = serialization.check(list(args))
        self.execution.validate_update(name, encoded)
        return self.apply(EventType.UPDATE_ACCEPTED, {"update_id": update_id, "name": name, "args": encoded})

    def cancel(self, reason: str = "asked") -> list[Event]:
        return self.apply(EventType.CANCEL_REQUESTED, {"reason": reason})

    # -- reading the history -------------------------------------------------------------
    @property
    def history(self) -> list[Event]:
        return self.execution.history

    def events(self, type: EventType) -> list[dict[str, Any]]:
        return [e.data for e in self.history if e.type is type]

    def scheduled(self, activity_id: int) -> dict[str, Any]:
        return next(d for d in self.events(EventType.ACTIVITY_SCHEDULED) if d["activity_id"] == activity_id)

    def started_timer(self, timer_id: int) -> dict[str, Any]:
        return next(d for d in self.events(EventType.TIMER_STARTED) if d["timer_id"] == timer_id)

    def pending_activities(self) -> dict[int, str]:
        """``{activity_id: name}`` of activities scheduled and neither finished nor cancelled."""
        finished = {EventType.ACTIVITY_COMPLETED, EventType.ACTIVITY_FAILED, EventType.ACTIVITY_TIMED_OUT}
        finished |= {EventType.ACTIVITY_CANCEL_REQUESTED}
        done = {e.data["activity_id"] for e in self.history if e.type in finished}
        return {
            d["activity_id"]: d["name"]
            for d in self.events(EventType.ACTIVITY_SCHEDULED)
            if d["activity_id"] not in done
        }

    def pending_timers(self) -> list[int]:
        done = {
            e.data["timer_id"] for e in self.history if e.type in (EventType.TIMER_FIRED, EventType.TIMER_CANCELLED)
        }
        return [d["timer_id"] for d in self.events(EventType.TIMER_STARTED) if d["timer_id"] not in done]

    def only_activity(self, name: str | None = None) -> int:
        """The id of the one pending activity (of that name)."""
        ids = [i for i, n in self.pending_activities().items() if name is None or n == name]
        assert len(ids) == 1, f"expected one pending activity {name or ''}, found {self.pending_activities()}"
        return ids[0]

    def only_timer(self) -> int:
        timers = self.pending_timers()
        assert len(timers) == 1, f"expected one pending timer, found {timers}"
        return timers[0]

    @property
    def closed_by(self) -> Event | None:
        return self.execution.closed_by

    @property
    def result(self) -> Any:
        """The decoded result of a completed run (fails the test if the run did not complete)."""
        closed = self.closed_by
        assert closed is not None and closed.type is EventType.WORKFLOW_COMPLETED, f"run not completed: {closed}"
        return serialization.decode(closed.data["result"])

    def replay(self, fn: Callable[..., Any] | None = None) -> WorkflowExecution:
        """A fresh execution rebuilt from this history (by ``fn``, or the same workflow)."""
        return replay(fn or self.fn, self.history)


def replay(
    fn: Callable[..., Any], history: list[Event], *, suggest_continue_as_new_after: int | None = None
) -> WorkflowExecution:
    execution = _execution(fn, suggest_continue_as_new_after)
    execution.replay(history)
    return execution


def _execution(fn: Callable[..., Any], suggest_continue_as_new_after: int | None) -> WorkflowExecution:
    if isinstance(fn, type):  # a workflow class runs through the function its registration built
        fn = registry.get_workflow(fn).fn
    if suggest_continue_as_new_after is None:
        return WorkflowExecution(fn)
    return WorkflowExecution(fn, suggest_continue_as_new_after=suggest_continue_as_new_after)


def types(events: list[Event]) -> list[EventType]:
    return [e.type for e in events]


def through_json(history: list[Event]) -> list[Event]:
    """The history as the database would give it back: serialized to JSON text and parsed."""
    return [Event.from_json(item) for item in json.loads(json.dumps([e.to_json() for e in history]))]


def load_golden(name: str) -> list[Event]:
    return [Event.from_json(item) for item in json.loads((GOLDEN_DIR / f"{name}.json").read_text())]


def golden_json(history: list[Event]) -> list[dict[str, Any]]:
    """The events as stored in golden files: tracebacks (paths, line numbers) are elided."""
    items = [e.to_json() for e in history]
    for item in items:
        if "traceback" in item["data"]:
            item["data"] = {**item["data"], "traceback": "<elided>"}
    return items


def dump_golden(name: str, history: list[Event]) -> None:
    text = json.dumps(golden_json(history), indent=1, sort_keys=True)
    (GOLDEN_DIR / f"{name}.json").write_text(text + "\n")
