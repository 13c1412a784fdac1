"""Completing activities from outside their worker: ``df.get_activity_handle(task_token)`` and ``df.ActivityHandle``.

An activity that raises ``df.CompleteAsync`` hands ``df.activity_info().task_token`` to whatever will
finish the work (a webhook view, another service, a shell); that code completes, fails or heartbeats
the attempt through the handle, in any process that can reach the database.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from . import task_tokens
from .engine import async_completion


def get_activity_handle(task_token: str) -> ActivityHandle:
    """The handle of the attempt ``task_token`` names; ``df.ActivityNotFound`` if the token is not a valid one.

    Only the token's signature is checked here (no query): whether the attempt is still open is
    decided by each call on the handle.
    """
    task_tokens.parse(task_token)
    return ActivityHandle(task_token)


class ActivityHandle:
    """Complete, fail or heartbeat one activity attempt that raised ``df.CompleteAsync``.

    Each call settles the attempt only while it is the started one: afterwards (completed, failed,
    timed out, cancelled or retried) calls raise ``df.ActivityAttemptClosed`` and record nothing.
    Called inside ``transaction.atomic()``, the call commits or rolls back with the caller's transaction.
    """

    def __init__(self, task_token: str) -> None:
        self.task_token = task_token

    def __repr__(self) -> str:
        return f"<ActivityHandle {self.task_token!r}>"

    def complete(self, result: Any = None) -> None:
        """Complete the activity with ``result``, decoded in the workflow by the activity's return type hint."""
        async_completion.complete(self.task_token, result)

    def fail(self, message: str, type: str | None = None, *, non_retryable: bool = False) -> None:
        """Fail the attempt with an error of ``type`` (default ``"Exception"``) and ``message``.

        The activity's retry policy applies as if the activity had raised it (``non_retryable_errors``
        matches ``type``); ``non_retryable=True`` fails the activity at once, like ``df.NonRetryableError``.
        """
        async_completion.fail(self.task_token, message, type, non_retryable=non_retryable)

    def heartbeat(self, details: Any = None) -> None:
        """Record liveness (moving the heartbeat deadline) and progress ``details``.

        Raises ``df.ActivityCancelled``, recording nothing, once the workflow asked to cancel the
        activity, as ``df.heartbeat()`` does: report the end with ``fail()``.
        """
        async_completion.heartbeat(self.task_token, details)

    # -- async twins ---------------------------------------------------------------------
    async def acomplete(self, result: Any = None) -> None:
        await sync_to_async(self.complete)(result)

    async def afail(self, message: str, type: str | None = None, *, non_retryable: bool = False) -> None:
        await sync_to_async(self.fail)(message, type, non_retryable=non_retryable)

    async def aheartbeat(self, details: Any = None) -> None:
        await sync_to_async(self.heartbeat)(details)
