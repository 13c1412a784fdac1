"""Running an ``async def`` activity: its own event loop thread, watched by the thread that claimed it.

The claiming thread keeps the attempt's database connection (and, in tests, its
transaction): it serves the coroutine's ``df.heartbeat()`` writes, and cancels the
coroutine once the attempt's start-to-close or heartbeat deadline passes, so a
hung activity gives its worker slot back.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from ..errors import ActivityCancelled

T = TypeVar("T")

#: Seconds a cancelled coroutine may take to unwind before its thread is left behind and the slot given back.
UNWIND_GRACE = 5.0


class AttemptTimedOut(Exception):
    """The attempt passed its deadline and its coroutine was cancelled."""


class Watched(Protocol):
    """What the runner needs from the attempt: its deadline, and a way to run calls on the claiming thread."""

    on_owner_thread: Callable[[Callable[[], Any]], Any]

    def seconds_left(self) -> float: ...

    def timeout_cause(self) -> str: ...


def run(awaitable: Awaitable[T], attempt: Watched) -> T:
    """Run ``awaitable`` to its end on a loop thread of its own; raises ``AttemptTimedOut`` past the deadline."""
    calls = _OwnerThreadCalls()
    attempt.on_owner_thread = calls.call
    loop_thread = _LoopThread(awaitable, on_done=calls.wake)
    loop_thread.start()
    timed_out: str | None = None
    give_up_at = 0.0
    try:
        while not loop_thread.done.is_set():
            if timed_out is None:
                wait = attempt.seconds_left()
                if wait <= 0:
                    timed_out = attempt.timeout_cause()
                    loop_thread.cancel()
                    give_up_at = time.monotonic() + UNWIND_GRACE
                    continue
            else:
                wait = give_up_at - time.monotonic()
                if wait <= 0:
                    break  # the coroutine ignores its cancellation: leave its daemon thread behind
            calls.serve_one(timeout=wait)
    finally:
        calls.close()
    if timed_out is not None:
        raise AttemptTimedOut(timed_out)
    return loop_thread.result()


class _OwnerThreadCalls:
    """Calls from the loop thread, queued for the claiming thread to run and answer."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._open = True

    def call(self, fn: Callable[[], T]) -> T:
        reply: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        with self._lock:
            if not self._open:
                raise ActivityCancelled("the attempt is over: it timed out")
            self._requests.put((fn, reply))
        ok, value = reply.get()
        if ok:
            return value
        raise value

    def wake(self) -> None:
        self._requests.put(None)

    def serve_one(self, timeout: float) -> None:
        try:
            request = self._requests.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return
        if request is not None:
            self._answer(*request)

    def close(self) -> None:
        """Refuse further calls and answer the queued ones with ``ActivityCancelled``."""
        with self._lock:
            self._open = False
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if request is not None:
                request[1].put((False, ActivityCancelled("the attempt is over: it timed out")))

    @staticmethod
    def _answer(fn: Callable[[], Any], reply: queue.SimpleQueue) -> None:
        try:
            reply.put((True, fn()))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller on the loop thread
            reply.put((False, exc))


class _LoopThread(threading.Thread):
    """``asyncio.run`` of one awaitable, in the caller's context (``df.activity_info()`` and friends)."""

    def __init__(self, awaitable: Awaitable[Any], on_done: Callable[[], None]) -> None:
        super().__init__(name="durableflows-async-activity", daemon=True)
        self._awaitable = awaitable
        self._on_done = on_done
        self._context = contextvars.copy_context()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._cancel_asked = False
        self._value: Any = None
        self._error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self._value = self._context.run(asyncio.run, self._main())
        except BaseException as exc:  # noqa: BLE001 - re-raised on the claiming thread
            self._error = exc
        finally:
            self.done.set()
            self._on_done()

    async def _main(self) -> Any:
        with self._lock:
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
            if self._cancel_asked:
                getattr(self._awaitable, "close", lambda: None)()
                raise asyncio.CancelledError()
        return await self._awaitable

    def cancel(self) -> None:
        with self._lock:
            self._cancel_asked = True
            if self._loop is not None and self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)

    def result(self) -> Any:
        if isinstance(self._error, asyncio.CancelledError):
            raise ActivityCancelled("the activity's coroutine was cancelled") from self._error
        if self._error is not None:
            raise self._error
        return self._value
