"""A deterministic asyncio event loop for workflow code.

Nothing here waits on the clock or on I/O: the loop only runs callbacks that
are ready, and its time is the workflow's time, taken from the history. A
``call_later`` becomes a durable timer, so ``asyncio.sleep`` and
``asyncio.wait_for`` work inside workflows. Futures and tasks hash by creation
order, so sets of them (as in ``asyncio.wait``) iterate the same way on replay.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import weakref
from collections.abc import Callable, Iterator
from contextvars import Context
from typing import Any, NoReturn, Protocol, TypeVarTuple

log = logging.getLogger("durableflows.workflow")

_Ts = TypeVarTuple("_Ts")


class TimerHost(Protocol):
    """What the loop needs from the execution that owns it."""

    def current_time(self) -> float: ...

    def start_timer(self, handle: DurableTimerHandle, delay: float) -> None: ...

    def cancel_timer(self, handle: DurableTimerHandle) -> None: ...


class _WorkflowFuture(asyncio.Future):
    _df_hash = 0

    def __hash__(self) -> int:
        return self._df_hash


class _WorkflowTask(asyncio.Task):
    _df_hash = 0
    _log_destroy_pending: bool  # asyncio's own flag: warn when a pending task is garbage-collected

    def __hash__(self) -> int:
        return self._df_hash


class DurableTimerHandle(asyncio.TimerHandle):
    """A ``call_later`` handle backed by a durable timer of the workflow."""

    timer_id: int = 0


class WorkflowEventLoop(asyncio.AbstractEventLoop):
    def __init__(self, host: TimerHost) -> None:
        self._host = host
        self._ready: collections.deque[asyncio.Handle] = collections.deque()
        self._hashes = itertools.count(1)
        self._running = False
        self._closed = False
        self._tasks: weakref.WeakSet[asyncio.Task] = weakref.WeakSet()

    # -- driving ---------------------------------------------------------------
    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Make this the thread's running loop, which asyncio and the ``df`` calls look for, within the block.

        Replay runs its whole history inside one block: setting the running loop costs a system call.
        """
        if self._running:
            yield
            return
        previous = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(self)
        self._running = True
        try:
            yield
        finally:
            self._running = False
            asyncio.events._set_running_loop(previous)

    def run_until_quiescent(self, on_idle: Callable[[], bool]) -> None:
        """Run ready callbacks until none are left and ``on_idle()`` wakes nothing more."""
        if self._running:  # within running(), as for a whole replay
            self._run_ready(on_idle)
            return
        with self.running():
            self._run_ready(on_idle)

    def _run_ready(self, on_idle: Callable[[], bool]) -> None:
        ready = self._ready
        while True:
            while ready:
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()
            if not on_idle():
                return

    def fire(self, handle: DurableTimerHandle) -> None:
        """A durable timer fired: its callback becomes ready."""
        if not handle.cancelled():
            self._ready.append(handle)

    # -- the asyncio API used by tasks, futures, sleep, wait_for, gather ---------
    def time(self) -> float:
        return self._host.current_time()

    def call_soon(
        self, callback: Callable[[*_Ts], object], *args: *_Ts, context: Context | None = None
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    # A due callback comes back as a plain Handle, not a TimerHandle: asyncio's callers only cancel() either.
    def call_later(  # type: ignore[override]
        self, delay: float, callback: Callable[[*_Ts], object], *args: *_Ts, context: Context | None = None
    ) -> asyncio.Handle:
        # The delay goes to the timer as given: going through call_at would round it (time() is ~1.7e9).
        return self._schedule(self.time() + delay, delay, callback, args, context)

    def call_at(  # type: ignore[override]
        self, when: float, callback: Callable[[*_Ts], object], *args: *_Ts, context: Context | None = None
    ) -> asyncio.Handle:
        return self._schedule(when, when - self.time(), callback, args, context)

    def _schedule(
        self, when: float, delay: float, callback: Callable[..., Any], args: Any, context: Context | None
    ) -> asyncio.Handle:
        if delay <= 0:
            return self.call_soon(callback, *args, context=context)
        handle = DurableTimerHandle(when, callback, args, self, context)
        self._host.start_timer(handle, delay)
        return handle

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        if isinstance(handle, DurableTimerHandle):
            self._host.cancel_timer(handle)

    def create_future(self) -> asyncio.Future:
        future = _WorkflowFuture(loop=self)
        future._df_hash = next(self._hashes)
        return future

    def create_task(self, coro: Any, *, name: str | None = None, context: Context | None = None) -> asyncio.Task:
        task = _WorkflowTask(coro, loop=self, name=name or f"workflow-task-{next(self._hashes)}", context=context)
        task._df_hash = next(self._hashes)
        task._log_destroy_pending = False  # a suspended workflow dropped from memory is normal
        self._tasks.add(task)
        return task

    def tasks(self) -> list[asyncio.Task]:
        """This loop's unfinished tasks (``asyncio.all_tasks`` would scan every loop's, of every cached run)."""
        return [task for task in self._tasks if not task.done()]

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._ready.clear()

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        log.error("unhandled error in workflow code: %s", context.get("message"), exc_info=exc)

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self.call_exception_handler(context)

    def get_exception_handler(self) -> None:
        return None

    async def shutdown_asyncgens(self) -> None:
        return None

    def _forbidden(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("workflow code must be deterministic: threads, executors and I/O belong in activities")

    def run_in_executor(self, executor: Any, func: Callable[[*_Ts], Any], *args: *_Ts) -> NoReturn:
        self._forbidden()

    def call_soon_threadsafe(
        self, callback: Callable[[*_Ts], object], *args: *_Ts, context: Context | None = None
    ) -> NoReturn:
        self._forbidden()

    run_forever = run_until_complete = _forbidden
