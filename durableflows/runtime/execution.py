"""One workflow run in memory: replay its history, apply new facts, emit new events.

The same path serves replay and live progress. Facts are applied one at a time
and the code runs until it can go no further after each, so a replay sees
exactly what the first run saw. Each command the code issues is checked on the
spot against the next recorded event (replay) or appended as a new event (live).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import inspect
import itertools
import random
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import serialization
from ..errors import (
    ActivityError,
    ChildWorkflowError,
    DurableFlowsError,
    NonDeterminismError,
    NonRetryableError,
    QueryNotFound,
    UpdateRejected,
)
from .events import COMMAND_KEYS, COMMAND_TYPES, Event, EventType
from .loop import DurableTimerHandle, WorkflowEventLoop

#: Past this many events ``info().continue_as_new_suggested`` turns true.
DEFAULT_SUGGEST_CONTINUE_AS_NEW_AFTER = 4000

# Read once per event replayed: a module global costs a fifth of an attribute of EventType (its metaclass
# defines __getattr__, which takes every class attribute lookup off CPython's fast path).
_PATCH_MARKER = EventType.PATCH_MARKER


@dataclasses.dataclass(frozen=True)
class WorkflowInfo:
    workflow_id: str
    run_id: str
    workflow_name: str
    parent_workflow_id: str | None
    continued_from_run_id: str | None
    start_time: datetime
    history_length: int
    continue_as_new_suggested: bool


class ContinueAsNew(BaseException):
    """Raised by ``df.continue_as_new``; a BaseException so ``except Exception`` lets it through."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__("continue as new")
        self.encoded_args = args


@dataclasses.dataclass(frozen=True)
class UpdateHandler:
    """An update's handler and the optional validator that may reject it before anything is recorded."""

    fn: Callable[..., Any]
    validator: Callable[..., Any] | None = None


class _RunClosed(BaseException):
    """Unwinds code that keeps running after its run has closed."""


class WorkflowExecution:
    """Drives one run's coroutine against its history."""

    def __init__(
        self,
        workflow_fn: Callable[..., Any],
        *,
        suggest_continue_as_new_after: int = DEFAULT_SUGGEST_CONTINUE_AS_NEW_AFTER,
    ) -> None:
        self._fn = workflow_fn
        self._suggest_after = suggest_continue_as_new_after
        # not abstract at run time: the asyncio methods it leaves out raise NotImplementedError
        self.loop = WorkflowEventLoop(self)  # type: ignore[abstract]
        #: The events from the last ``forget_history()`` on (all of them unless it was called).
        self.history: list[Event] = []
        self._forgotten = 0  # events dropped from the front of ``history``
        self._cursor = 0  # the next event of ``history`` to replay or match
        self._started_at = datetime.fromtimestamp(0, UTC)
        self._new: list[Event] | None = None
        self._ids = itertools.count(1)
        self._activities: dict[int, asyncio.Future] = {}
        self._timers: dict[int, DurableTimerHandle] = {}
        self._children: dict[int, asyncio.Future] = {}
        self.signals: collections.defaultdict[str, collections.deque[Any]] = collections.defaultdict(collections.deque)
        self.signal_handlers: dict[str, Callable[[Any], Any]] = {}
        self.query_handlers: dict[str, Callable[..., Any]] = {}
        self.update_handlers: dict[str, UpdateHandler] = {}
        self.running_handlers = 0
        self.conditions: list[tuple[Callable[[], Any], asyncio.Future]] = []
        self.patches: dict[str, bool] = {}
        self.vars: dict[str, Any] = {}
        self.now = datetime.fromtimestamp(0, UTC)
        self.random = random.Random(0)
        self.replaying = False
        self.cancel_requested = False
        self.cancel_reason = ""
        self.closed_by: Event | None = None
        self._start: dict[str, Any] = {}
        self._main: asyncio.Task | None = None
        self._fatal: NonDeterminismError | None = None
        self._querying = False
        self._discarded = False

    # -- driving from the engine -------------------------------------------------
    def replay(self, events: Iterable[Event]) -> None:
        """Rebuild the run's state from its recorded history; raises ``NonDeterminismError``."""
        if self.last_sequence:
            raise RuntimeError("replay() rebuilds a new execution; this one has events already")
        history = self.history = list(events)
        self.replaying = True
        try:
            with self.loop.running():
                while self._cursor < len(history):
                    event = history[self._cursor]
                    if event.type in COMMAND_TYPES:
                        if event.type is _PATCH_MARKER:  # a patch check the code no longer makes
                            self._cursor += 1
                            continue
                        self._diverged(f"history has {_describe(event)} but the workflow code did not issue it")
                    self._cursor += 1
                    self._process(event)
        finally:
            self.replaying = False

    def apply(self, type: EventType, data: dict[str, Any], timestamp: datetime) -> list[Event]:
        """Apply one new fact; returns it as an event followed by the commands it led to."""
        if type.is_command:
            raise ValueError(f"{type} is a command, not a fact")
        event = Event(self.last_sequence + 1, type, timestamp, data)
        self.history.append(event)
        self._cursor = len(self.history)
        self._new = [event]
        try:
            self._process(event)
            return self._new
        finally:
            self._new = None

    def query(self, name: str, args: list[Any]) -> Any:
        """Answer a query from the current state, its (encoded) ``args`` rebuilt from the handler's hints.

        Queries may not issue commands.
        """
        handler = self.query_handlers.get(name)
        if handler is None:
            known = ", ".join(sorted(self.query_handlers)) or "none"
            raise QueryNotFound(f"the workflow has no query handler {name!r} (known: {known})")
        return self._read_only(handler, list(args))

    def validate_update(self, name: str, args: list[Any]) -> None:
        """Check an update against the current state; ``df.UpdateRejected`` if it has no handler or is refused.

        Runs read-only like a query: a validator that raises rejects the update, and nothing is recorded.
        """
        entry = self.update_handlers.get(name)
        if entry is None:
            known = ", ".join(sorted(self.update_handlers)) or "none"
            raise UpdateRejected(f"the workflow has no update handler {name!r} (known: {known})", "UpdateNotFound")
        try:
            decoded, _ = serialization.decode_arguments(entry.fn, list(args))
            inspect.signature(entry.fn).bind(*decoded)
            if entry.validator is not None:
                self._read_only(entry.validator, list(args))
        except Exception as exc:  # noqa: BLE001 - any error of the validator rejects the update
            raise UpdateRejected(str(exc), type(exc).__name__) from exc

    def _read_only(self, fn: Callable[..., Any], args: list[Any]) -> Any:
        # The function runs "inside" the workflow, so df.now(), df.info() and friends work and commands are refused.
        previous = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(self.loop)
        self._querying = True
        try:
            decoded, _ = serialization.decode_arguments(fn, args)
            return fn(*decoded)
        finally:
            self._querying = False
            asyncio.events._set_running_loop(previous)

    def discard(self) -> None:
        """Unwind the suspended workflow code quietly, before this execution is dropped from memory.

        Left to the garbage collector, suspended coroutines would run their
        ``finally`` blocks outside the workflow loop and log errors.
        """
        if self._discarded:
            return
        self._discarded = True
        previous = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(self.loop)
        try:
            for task in self.loop.tasks():
                try:
                    task.get_coro().close()
                except BaseException:  # noqa: BLE001, S110 - whatever the code does while unwinding is moot
                    pass
        finally:
            asyncio.events._set_running_loop(previous)
            self.loop.close()

    @property
    def has_pending_work(self) -> bool:
        """Whether activities, timers or child workflows are still awaited."""
        return bool(self._activities or self._timers or self._children)

    @property
    def is_closed(self) -> bool:
        return self.closed_by is not None

    @property
    def is_discarded(self) -> bool:
        return self._discarded

    @property
    def last_sequence(self) -> int:
        return self._forgotten + len(self.history)

    def forget_history(self) -> None:
        """Drop the events applied so far, keeping their count: a live execution never reads them again.

        A cached execution would otherwise hold its whole history in memory for nothing.
        """
        if self._cursor != len(self.history):
            raise RuntimeError("forget_history() on an execution still replaying its history")
        self._forgotten += len(self.history)
        self.history = []
        self._cursor = 0

    def info(self) -> WorkflowInfo:
        """Who this run is; its length is the history up to the point being run (or replayed), as first seen."""
        start = self._start
        length = self._forgotten + self._cursor  # live, the whole history so far; replaying, up to here
        return WorkflowInfo(
            workflow_id=start["workflow_id"],
            run_id=start["run_id"],
            workflow_name=start["workflow_name"],
            parent_workflow_id=start.get("parent_workflow_id"),
            continued_from_run_id=start.get("continued_from_run_id"),
            start_time=self._started_at,
            history_length=length,
            continue_as_new_suggested=length >= self._suggest_after,
        )

    # -- facts ---------------------------------------------------------------------
    def _process(self, event: Event) -> None:
        if self.closed_by is not None:
            return
        self.now = event.timestamp
        data = event.data
        match event.type:  # the most frequent facts first: each case looked at costs an attribute of EventType
            case EventType.SIGNAL_RECEIVED:
                self._deliver_signal(data["name"], data.get("payload"))
            case EventType.ACTIVITY_STARTED:
                return
            case EventType.ACTIVITY_COMPLETED:
                self._resolve(self._activities, data["activity_id"], result=data.get("result"))
            case EventType.TIMER_FIRED:
                handle = self._timers.pop(data["timer_id"], None)
                if handle is not None:
                    self.loop.fire(handle)
            case EventType.WORKFLOW_STARTED:
                self._started_at = event.timestamp
                self._begin(data)
            case EventType.ACTIVITY_FAILED | EventType.ACTIVITY_TIMED_OUT:
                error: DurableFlowsError = ActivityError(
                    data.get("type", ""), data.get("message", ""), data.get("attempts", 0), data.get("name", "")
                )
                self._resolve(self._activities, data["activity_id"], error=error)
            case EventType.UPDATE_ACCEPTED:
                self._run_update(data["update_id"], data["name"], data.get("args") or [])
            case EventType.CHILD_WORKFLOW_COMPLETED:
                self._resolve(self._children, data["child_id"], result=data.get("result"))
            case EventType.CHILD_WORKFLOW_FAILED:
                error = ChildWorkflowError(
                    data.get("workflow_id", ""),
                    data.get("status", "failed"),
                    data.get("type", ""),
                    data.get("message", ""),
                )
                self._resolve(self._children, data["child_id"], error=error)
            case EventType.CANCEL_REQUESTED:
                self.cancel_requested = True
                self.cancel_reason = data.get("reason") or ""
                if self._main is not None and not self._main.done():
                    self._main.cancel(msg=data.get("reason") or "workflow cancel requested")
            case EventType.WORKFLOW_TERMINATED | EventType.WORKFLOW_TIMED_OUT:
                self.closed_by = event
                return
            case _:
                raise ValueError(f"unknown fact {event.type}")
        self.loop.run_until_quiescent(self._wake_one_condition)
        if self._fatal is not None:
            raise self._fatal

    def _begin(self, data: dict[str, Any]) -> None:
        self._start = data
        self.random = random.Random(data["run_id"])

        async def main() -> Any:
            args, kwargs = serialization.decode_arguments(self._fn, data.get("args", []), data.get("kwargs"))
            return await self._fn(*args, **kwargs)

        self._main = self.loop.create_task(main(), name="workflow-main")
        self._main.add_done_callback(self._on_main_done)

    def _resolve(
        self, table: dict[int, asyncio.Future], key: int, *, result: Any = None, error: BaseException | None = None
    ) -> None:
        future = table.pop(key, None)
        if future is None or future.done():  # cancelled meanwhile: the late outcome is ignored
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def _deliver_signal(self, name: str, payload: Any) -> None:
        """Hand an (encoded) payload to the signal's handler, or buffer it for ``wait_signal``."""
        handler = self.signal_handlers.get(name)
        if handler is None:
            self.signals[name].append(payload)
        else:
            self.call_handler(handler, payload)

    def call_handler(self, handler: Callable[[Any], Any], payload: Any) -> None:
        """Run a signal handler (sync or async) as a task on the payload rebuilt from its type hints.

        An error in the handler, or in rebuilding its argument, fails the run.
        """

        async def run() -> None:
            self.running_handlers += 1
            try:
                args, _ = serialization.decode_arguments(handler, [payload])
                result = handler(*args)
                if asyncio.iscoroutine(result):
                    await result
            finally:
                self.running_handlers -= 1

        self.loop.create_task(run()).add_done_callback(self._on_handler_done)

    def _run_update(self, update_id: str, name: str, args: list[Any]) -> None:
        """Run an accepted update's handler as a task; its outcome is recorded as ``UpdateCompleted``.

        An error in the handler fails the update, not the run.
        """
        entry = self.update_handlers.get(name)

        async def run() -> None:
            self.running_handlers += 1
            try:
                if entry is None:
                    raise LookupError(f"the workflow has no update handler {name!r}")
                decoded, _ = serialization.decode_arguments(entry.fn, list(args))
                result = entry.fn(*decoded)
                if asyncio.iscoroutine(result):
                    result = await result
                outcome: dict[str, Any] = {"result": serialization.check(result, what=f"result of update {name!r}")}
            except (NonDeterminismError, _RunClosed):
                raise
            except (Exception, asyncio.CancelledError) as exc:  # the caller sees the handler's error
                outcome = {"error": {"type": type(exc).__name__, "message": str(exc)}}
            finally:
                self.running_handlers -= 1
            self.record(EventType.UPDATE_COMPLETED, {"update_id": update_id, "name": name, **outcome})

        self.loop.create_task(run()).add_done_callback(self._on_handler_done)

    def _on_handler_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None and self.closed_by is None:
            self._fail(exc)

    def _wake_one_condition(self) -> bool:
        """Resolve the first waiting condition that holds; one at a time, as each may change the next."""
        conditions = self.conditions
        index = 0
        while index < len(conditions):
            predicate, future = conditions[index]
            if future.done():
                del conditions[index]
                continue
            try:
                holds = predicate()
            except Exception as exc:  # noqa: BLE001 - the waiter sees the predicate's error
                conditions.remove((predicate, future))
                future.set_exception(exc)
                return True
            if holds:
                conditions.remove((predicate, future))
                future.set_result(True)
                return True
            index += 1
        return False

    def _on_main_done(self, task: asyncio.Task) -> None:
        if self.closed_by is not None:
            return
        if task.cancelled():
            self._close(EventType.WORKFLOW_CANCELLED, {"reason": self.cancel_reason or "cancelled"})
            return
        exc = task.exception()
        if exc is None:
            try:
                result = serialization.check(task.result(), what="workflow result")
            except Exception as error:  # noqa: BLE001
                self._fail(error)
                return
            self._close(EventType.WORKFLOW_COMPLETED, {"result": result})
        elif isinstance(exc, ContinueAsNew):
            self._close(EventType.WORKFLOW_CONTINUED_AS_NEW, {"args": exc.encoded_args})
        elif isinstance(exc, _RunClosed):
            return
        else:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, NonDeterminismError) or self._fatal is not None:
            return
        self._close(
            EventType.WORKFLOW_FAILED,
            {
                "type": exc.type if isinstance(exc, NonRetryableError) else type(exc).__name__,
                "message": str(exc),
                "traceback": "".join(traceback.format_exception(exc)),
            },
        )

    def _close(self, type: EventType, data: dict[str, Any]) -> None:
        self.closed_by = self.record(type, data)

    # -- commands ------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self._ids)

    def record(self, type: EventType, data: dict[str, Any]) -> Event:
        """The command ``type`` with ``data``: matched against history on replay, appended when live."""
        if self._querying:
            raise RuntimeError(
                "query handlers may only read state; they cannot run activities, timers or other commands"
            )
        if self.closed_by is not None or self._discarded:
            raise _RunClosed()
        history = self.history
        while self._cursor < len(history):
            recorded = history[self._cursor]
            if recorded.type is _PATCH_MARKER and type is not _PATCH_MARKER:
                self._cursor += 1  # a patch check the code no longer makes
                continue
            if not _matches(recorded, type, data):
                self._diverged(
                    f"the workflow code issued {_describe_command(type, data)} where history has {_describe(recorded)}"
                )
            self._cursor += 1
            return recorded
        if self.replaying:
            self._diverged(f"the workflow code issued {_describe_command(type, data)} beyond the end of its history")
        event = Event(self.last_sequence + 1, type, self.now, data)
        self.history.append(event)
        self._cursor = len(self.history)
        if self._new is not None:
            self._new.append(event)
        return event

    def recorded_ahead(self, offset: int = 0) -> Event | None:
        """The next (or ``offset``-th next) recorded event that replay has not reached, if any."""
        index = self._cursor + offset
        return self.history[index] if index < len(self.history) else None

    def skip_recorded(self) -> None:
        self._cursor += 1

    def _diverged(self, message: str) -> None:
        at = self._forgotten + self._cursor + 1
        self._fatal = NonDeterminismError(f"{message} (event {at})")
        raise self._fatal

    def add_activity(self, activity_id: int) -> asyncio.Future:
        future = self.loop.create_future()
        self._activities[activity_id] = future
        return future

    def forget_activity(self, activity_id: int) -> bool:
        return self._activities.pop(activity_id, None) is not None

    def add_child(self, child_id: int) -> asyncio.Future:
        future = self.loop.create_future()
        self._children[child_id] = future
        return future

    # -- TimerHost -------------------------------------------------------------------
    def current_time(self) -> float:
        return self.now.timestamp()

    def start_timer(self, handle: DurableTimerHandle, delay: float) -> None:
        handle.timer_id = self.next_id()
        fire_at = self.now + timedelta(seconds=delay)
        self.record(
            EventType.TIMER_STARTED, {"timer_id": handle.timer_id, "duration": delay, "fire_at": fire_at.isoformat()}
        )
        self._timers[handle.timer_id] = handle

    def cancel_timer(self, handle: DurableTimerHandle) -> None:
        if self._timers.pop(handle.timer_id, None) is not None and self.closed_by is None:
            self.record(EventType.TIMER_CANCELLED, {"timer_id": handle.timer_id})


def _matches(recorded: Event, type: EventType, data: dict[str, Any]) -> bool:
    """Whether a command is the recorded one: the same type, and the same values of its identifying keys."""
    if recorded.type is not type:
        return False
    for key in COMMAND_KEYS.get(type, ()):
        if recorded.data.get(key) != data.get(key):
            return False
    return True


def _describe(event: Event) -> str:
    return _describe_command(event.type, event.data)


def _describe_command(type: EventType, data: dict[str, Any]) -> str:
    keys = COMMAND_KEYS.get(type, ())
    detail = ", ".join(f"{k}={data.get(k)!r}" for k in keys)
    return f"{type.value}({detail})"
