"""The calls workflow code makes: ``df.execute_activity``, ``df.sleep``, ``df.wait_signal`` and friends.

Each finds the running workflow through the deterministic event loop it runs
on; called anywhere else they raise a clear ``RuntimeError``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random as _random
import uuid as _uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, cast

from .. import registry, serialization
from ..errors import SideEffectError
from ..options import Duration, to_seconds
from .events import EventType
from .execution import ContinueAsNew, UpdateHandler, WorkflowExecution, WorkflowInfo
from .loop import WorkflowEventLoop

PARENT_CLOSE_POLICIES = ("terminate", "request_cancel", "abandon")

_running_loop = asyncio.events._get_running_loop  # None outside a running loop, where get_running_loop() raises
# Module globals for the event types of the calls made once per step: see execution._PATCH_MARKER.
_ACTIVITY_SCHEDULED = EventType.ACTIVITY_SCHEDULED
_VAR_SET = EventType.VAR_SET


def _current(fn: str) -> WorkflowExecution:
    loop = _running_loop()
    if type(loop) is not WorkflowEventLoop:
        raise RuntimeError(f"df.{fn}() can only be called from workflow code")
    return loop._host  # type: ignore[return-value]  # the loop's host is always its WorkflowExecution


def current_execution() -> WorkflowExecution | None:
    """The execution whose code is running in this thread, if any."""
    loop = _running_loop()
    return cast(WorkflowExecution, loop._host) if isinstance(loop, WorkflowEventLoop) else None


def in_workflow() -> bool:
    return current_execution() is not None


# -- activities ----------------------------------------------------------------------
async def execute_activity(activity: str | Callable[..., Any], *args: Any, **options: Any) -> Any:
    """Run an activity and return its result; raises ``df.ActivityError`` when it fails for good."""
    execution = _current("execute_activity")
    definition = registry.get_activity(activity)
    opts = definition.options.merged(**options) if options else definition.options
    registry.refuse_async_transactional(definition.fn, opts)
    what = f"arguments of activity {definition.name!r}"
    encoded = serialization.encode(list(args), what=what)
    ahead = execution.recorded_ahead()  # replaying: arguments equal to the recorded ones passed when recorded
    if ahead is None or ahead.type is not _ACTIVITY_SCHEDULED or ahead.data.get("args") != encoded:
        serialization.check_size(encoded, what=what)
    activity_id = execution.next_id()
    execution.record(
        EventType.ACTIVITY_SCHEDULED,
        {"activity_id": activity_id, "name": definition.name, "args": encoded, "options": opts.to_json()},
    )
    future = execution.add_activity(activity_id)
    try:
        result = await future
    except asyncio.CancelledError:
        if execution.forget_activity(activity_id):
            execution.record(EventType.ACTIVITY_CANCEL_REQUESTED, {"activity_id": activity_id})
        raise
    return serialization.decode(result, serialization.return_hint(definition.fn))


# -- time -----------------------------------------------------------------------------
async def sleep(duration: Duration) -> None:
    """A durable timer: no worker is held while it waits."""
    seconds = to_seconds(duration, name="sleep duration")
    _current("sleep")
    await asyncio.sleep(seconds)


def now() -> datetime:
    """The workflow's current time (an aware UTC datetime), the same on every replay."""
    return _current("now").now


def uuid4() -> _uuid.UUID:
    """A random UUID that replays identically."""
    return _uuid.UUID(int=_seeded("uuid4").getrandbits(128), version=4)


def random() -> _random.Random:
    """The run's seeded ``random.Random``."""
    return _seeded("random")


def _seeded(fn: str) -> _random.Random:
    execution = _current(fn)
    if execution._querying:  # drawing would move the seeded sequence and break the next replay
        raise RuntimeError(f"query handlers may only read state; df.{fn}() is not available to them")
    return execution.random


# -- signals, conditions, queries, variables ---------------------------------------------
async def wait_condition(predicate: Callable[[], Any], timeout: Duration | None = None) -> None:
    """Wait until ``predicate()`` is true, re-checked after every event; ``TimeoutError`` on timeout."""
    execution = _current("wait_condition")
    if not predicate():
        await _condition(execution, predicate, timeout)


def _condition(execution: WorkflowExecution, predicate: Callable[[], Any], timeout: Duration | None) -> Awaitable[Any]:
    """What to await until ``predicate()`` holds: a future the execution resolves (see ``_wake_one_condition``).

    A plain function, not a coroutine: awaiting the future itself spares a coroutine per wait.
    """
    seconds = None if timeout is None else to_seconds(timeout, name="timeout")
    future = execution.loop.create_future()
    execution.conditions.append((predicate, future))
    return future if seconds is None else asyncio.wait_for(future, seconds)


async def wait_signal(name: str, timeout: Duration | None = None) -> Any:
    """The next buffered signal called ``name`` (in arrival order); ``TimeoutError`` on timeout."""
    execution = _current("wait_signal")
    buffer = execution.signals[name]
    if not buffer:
        await _condition(execution, buffer.__len__, timeout)
    return serialization.decode(buffer.popleft())


def set_signal_handler(name: str, handler: Callable[[Any], Any] | None) -> None:
    """Route signals called ``name`` to ``handler(payload)``; already-buffered ones go to it now."""
    execution = _current("set_signal_handler")
    if handler is None:
        execution.signal_handlers.pop(name, None)
        return
    execution.signal_handlers[name] = handler
    buffered = execution.signals.pop(name, None) or ()
    for payload in buffered:
        execution.call_handler(handler, payload)


def set_query_handler(name: str, handler: Callable[..., Any] | None) -> None:
    """``handle.query(name, *args)`` returns ``handler(*args)``; handlers must only read state."""
    execution = _current("set_query_handler")
    if handler is None:
        execution.query_handlers.pop(name, None)
    elif inspect.iscoroutinefunction(handler):
        raise TypeError("query handlers must be plain functions, not async")
    else:
        execution.query_handlers[name] = handler


def set_update_handler(
    name: str, handler: Callable[..., Any] | None, validator: Callable[..., Any] | None = None
) -> None:
    """``handle.update(name, *args)`` runs ``handler(*args)`` here and returns its result to the caller.

    ``validator(*args)`` runs first, against the current state, and may only read it: if it raises,
    the update is rejected (``df.UpdateRejected`` to the caller) and nothing is recorded.
    """
    execution = _current("set_update_handler")
    if handler is None:
        execution.update_handlers.pop(name, None)
        return
    if validator is not None and inspect.iscoroutinefunction(validator):
        raise TypeError("update validators must be plain functions, not async")
    execution.update_handlers[name] = UpdateHandler(handler, validator)


def all_handlers_finished() -> bool:
    """True when no signal or update handler is still running: wait for it before returning or continuing as new."""
    return _current("all_handlers_finished").running_handlers == 0


def set_var(name: str, value: Any) -> None:
    """Record a named variable, readable without replay through ``handle.vars()``."""
    execution = _current("set_var")
    if not isinstance(name, str) or not name:
        raise TypeError("variable names are non-empty strings")
    what = f"variable {name!r}"
    encoded = serialization.encode(value, what=what)
    ahead = execution.recorded_ahead()
    if ahead is None or ahead.type is not _VAR_SET or ahead.data.get("value") != encoded:
        serialization.check_size(encoded, what=what)  # a value replayed as recorded passed when it was recorded
    execution.record(_VAR_SET, {"name": name, "value": encoded})
    execution.vars[name] = encoded


# -- recording the outside world ------------------------------------------------------
async def side_effect(fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` once and record its result; replays return the recorded value."""
    execution = _current("side_effect")
    if inspect.iscoroutinefunction(fn):
        raise TypeError("side_effect takes a plain function; run async work as an activity")
    if execution.replaying:
        data = execution.record(EventType.SIDE_EFFECT_RECORDED, {}).data
    else:
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - recorded, so replay raises the same error
            data = {"error": {"type": type(exc).__name__, "message": str(exc)}}
        else:
            data = {"value": serialization.check(value, what="side effect result")}
        execution.record(EventType.SIDE_EFFECT_RECORDED, data)
    if "error" in data:
        raise SideEffectError(data["error"]["type"], data["error"]["message"])
    return serialization.decode(data.get("value"))


def patched(patch_id: str) -> bool:
    """True on new runs and on runs that passed here with the patch; False replaying older histories."""
    execution = _current("patched")
    if patch_id in execution.patches:
        return execution.patches[patch_id]
    if execution.replaying:
        # Look through the markers recorded here: those of patches the code no longer checks are passed over.
        skip, present = 0, False
        while (ahead := execution.recorded_ahead(skip)) is not None and ahead.type is EventType.PATCH_MARKER:
            skip += 1
            if ahead.data.get("patch_id") == patch_id:
                present = True
                break
        if present:
            for _ in range(skip):
                execution.skip_recorded()
    else:
        execution.record(EventType.PATCH_MARKER, {"patch_id": patch_id})
        present = True
    execution.patches[patch_id] = present
    return present


def deprecate_patch(patch_id: str) -> None:
    """Mark a patch whose old branch is gone: histories recorded with or without its marker both replay."""
    execution = _current("deprecate_patch")
    execution.patches[patch_id] = True
    if execution.replaying:  # pass over the marker, if this history has it here, as patched() would
        skip = 0
        while (ahead := execution.recorded_ahead(skip)) is not None and ahead.type is EventType.PATCH_MARKER:
            skip += 1
            if ahead.data.get("patch_id") == patch_id:
                for _ in range(skip):
                    execution.skip_recorded()
                break


def info() -> WorkflowInfo:
    """Who this run is: ids, name, parent, the run it continued from."""
    return _current("info").info()


def continue_as_new(*args: Any) -> None:
    """End this run and start a fresh one of the same workflow id with ``args``; never returns."""
    _current("continue_as_new")
    raise ContinueAsNew(serialization.check(list(args), what="continue_as_new arguments"))


# -- other workflows -------------------------------------------------------------------
async def signal_workflow(workflow_id: str, name: str, payload: Any = None) -> None:
    """Send a signal to another workflow by id."""
    execution = _current("signal_workflow")
    encoded = serialization.check(payload, what=f"payload of signal {name!r}")
    execution.record(EventType.SIGNAL_EXTERNAL_SENT, {"workflow_id": workflow_id, "name": name, "payload": encoded})


class ChildWorkflowHandle:
    """A started child workflow: await its ``result()`` or ``signal()`` it."""

    def __init__(self, workflow_id: str, future: asyncio.Future, return_hint: Any) -> None:
        self.workflow_id = workflow_id
        self._future = future
        self._hint = return_hint

    async def result(self) -> Any:
        return serialization.decode(await asyncio.shield(self._future), self._hint)

    async def signal(self, name: str, payload: Any = None) -> None:
        await signal_workflow(self.workflow_id, name, payload)


async def start_child_workflow(
    workflow: str | Callable[..., Any], *args: Any, id: str | None = None, parent_close_policy: str = "terminate"
) -> ChildWorkflowHandle:
    """Start a child workflow; returns its handle without waiting for it."""
    execution = _current("start_child_workflow")
    definition = registry.get_workflow(workflow)
    if parent_close_policy not in PARENT_CLOSE_POLICIES:
        raise ValueError(f"parent_close_policy must be one of {', '.join(PARENT_CLOSE_POLICIES)}")
    encoded = serialization.check(list(args), what=f"arguments of child workflow {definition.name!r}")
    child_id = execution.next_id()
    workflow_id = id or f"{execution.info().workflow_id}/{child_id}"
    execution.record(
        EventType.CHILD_WORKFLOW_STARTED,
        {
            "child_id": child_id,
            "name": definition.name,
            "workflow_id": workflow_id,
            "args": encoded,
            "parent_close_policy": parent_close_policy,
        },
    )
    return ChildWorkflowHandle(workflow_id, execution.add_child(child_id), serialization.return_hint(definition.fn))


async def execute_child_workflow(
    workflow: str | Callable[..., Any], *args: Any, id: str | None = None, parent_close_policy: str = "terminate"
) -> Any:
    """Run a child workflow and return its result; raises ``df.ChildWorkflowError`` if it does not complete."""
    handle = await start_child_workflow(workflow, *args, id=id, parent_close_policy=parent_close_policy)
    return await handle.result()


# -- logging ---------------------------------------------------------------------------
class _ReplaySafeLogger(logging.LoggerAdapter):
    """Silent while a workflow replays, so each line is logged once per run."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        execution = current_execution()
        if execution is not None and execution.replaying:
            return False
        return self.logger.isEnabledFor(level)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        execution = current_execution()
        if execution is not None and execution._start:
            extra = kwargs.setdefault("extra", {})
            extra.setdefault("workflow_id", execution._start.get("workflow_id"))
            extra.setdefault("run_id", execution._start.get("run_id"))
        return msg, kwargs


logger = _ReplaySafeLogger(logging.getLogger("durableflows.workflow"), {})
"""The ``durableflows.workflow`` logger for workflow code: silent while replaying, tagged with the run's ids."""
