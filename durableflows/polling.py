"""Waiting for the database to say something is done: ``handle.result()`` and ``UpdateHandle.result()``.

``poll()`` returns ``(done, value)`` (or raises the outcome's error). Most things a caller waits for
finish within milliseconds, so the first look comes after 2 ms and the pause grows to 250 ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from .options import Duration, to_seconds

FIRST_PAUSE = 0.002
LONGEST_PAUSE = 0.25


def wait(poll: Callable[[], tuple[bool, Any]], timeout: Duration | None, what: str) -> Any:
    """Poll until done and return the value; ``TimeoutError`` naming ``what`` after ``timeout``."""
    deadline = _deadline(timeout)
    pause = FIRST_PAUSE
    while True:
        done, value = poll()
        if done:
            return value
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not finish within {timeout}")
        time.sleep(pause)
        pause = min(pause * 1.5, LONGEST_PAUSE)


async def await_(poll: Callable[[], tuple[bool, Any]], timeout: Duration | None, what: str) -> Any:
    """``wait`` for async code: each poll runs in a thread, and no thread is held between polls."""
    deadline = _deadline(timeout)
    pause = FIRST_PAUSE
    while True:
        done, value = await sync_to_async(poll)()
        if done:
            return value
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not finish within {timeout}")
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, LONGEST_PAUSE)


def _deadline(timeout: Duration | None) -> float | None:
    seconds = to_seconds(timeout, name="timeout")
    return None if seconds is None else time.monotonic() + seconds
