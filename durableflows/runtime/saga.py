"""``df.Saga``: compensations that undo completed steps when a later one fails."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, cast

from .. import registry
from . import api
from .execution import ContinueAsNew, _RunClosed


class Saga:
    """Collect compensations with ``add()``; on an exception they run newest first, then it re-raises.

    A compensation is an activity (run with ``df.execute_activity``) or a plain
    or async function of the workflow. A failing compensation is logged and the
    others still run.
    """

    def __init__(self) -> None:
        self._compensations: list[tuple[Callable[..., Any] | str, tuple[Any, ...], dict[str, Any]]] = []

    def add(self, compensation: Callable[..., Any] | str, *args: Any, **options: Any) -> None:
        self._compensations.append((compensation, args, options))

    async def compensate(self) -> None:
        """Run the compensations added so far, newest first, once."""
        while self._compensations:
            compensation, args, options = self._compensations.pop()
            try:
                if _is_activity(compensation):
                    await api.execute_activity(compensation, *args, **options)
                else:
                    # a name that is no registered activity fails here, logged like any failed compensation
                    result = cast(Callable[..., Any], compensation)(*args, **options)
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                api.logger.exception("saga compensation %r failed", getattr(compensation, "__qualname__", compensation))

    async def __aenter__(self) -> Saga:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is not None and not _is_control_flow(exc):
            await self.compensate()
        return False


def _is_activity(compensation: Any) -> bool:
    if isinstance(compensation, str):
        return compensation in registry.activities()
    return registry.find_activity(compensation) is not None


def _is_control_flow(exc: BaseException) -> bool:
    return isinstance(exc, (ContinueAsNew, _RunClosed, GeneratorExit))
