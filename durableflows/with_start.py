"""``df.signal_with_start`` and ``df.update_with_start``: act on the open run of an id, or start one first.

The lookup, the start and the signal or update are one transaction, with the open run locked (or the
unique constraint on open ids backing a racing start), so two callers never start two runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

from . import serialization, storage
from .client import WorkflowHandle, start
from .conf import df_settings
from .errors import WorkflowAlreadyExists
from .models import WorkflowRun
from .options import Duration
from .runtime import EventType
from .transactions import retrying_deadlocks, write_transaction
from .updates import UpdateHandle, send_update

T = TypeVar("T")
#: The options of ``df.start`` that apply here: an open run is always signalled or updated, never replaced.
_START_OPTIONS = ("start_delay", "queue", "subject")


def signal_with_start(
    workflow: str | Callable[..., Awaitable[Any]],
    *args: Any,
    id: str,
    signal: str,
    payload: Any = None,
    **start_options: Any,
) -> WorkflowHandle[Any]:
    """Signal the open run of ``id``, or start one with ``args`` whose first fact is the signal; one transaction.

    ``start_options`` are ``df.start``'s ``start_delay``, ``queue`` and ``subject``, used only when a run starts.
    """
    return signal_or_start(workflow, args, id=id, signal=signal, payload=payload, **start_options)[0]


def signal_or_start(
    workflow: str | Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    *,
    id: str,
    signal: str,
    payload: Any = None,
    **start_options: Any,
) -> tuple[WorkflowHandle[Any], bool]:
    """``signal_with_start``, telling whether the run was started (True) or only signalled."""
    if not serialization.is_storable_text(signal) or not signal:
        raise ValueError("signal names are non-empty strings without NUL characters or lone surrogates")
    encoded = serialization.check(payload, what=f"payload of signal {signal!r}", limit=df_settings.MAX_PAYLOAD_BYTES)

    def deliver(run: WorkflowRun) -> None:
        storage.add_fact(run, EventType.SIGNAL_RECEIVED, {"name": signal, "payload": encoded})

    handle, started, _ = _open_or_start(workflow, args, id, deliver, start_options)
    return handle, started


def update_with_start(
    workflow: str | Callable[..., Awaitable[Any]],
    *args: Any,
    id: str,
    update: str,
    update_args: tuple[Any, ...] | list[Any] = (),
    update_id: str | None = None,
    timeout: Duration | None = None,
    **start_options: Any,
) -> Any:
    """Send an update to the open run of ``id``, or start one that receives it first; returns its result.

    Raises ``df.UpdateRejected`` or ``df.UpdateFailed`` like ``handle.update()``; a rejected update does not
    undo the start.
    """
    return start_update_with_start(
        workflow, *args, id=id, update=update, update_args=update_args, update_id=update_id, **start_options
    ).result(timeout)


def start_update_with_start(
    workflow: str | Callable[..., Awaitable[Any]],
    *args: Any,
    id: str,
    update: str,
    update_args: tuple[Any, ...] | list[Any] = (),
    update_id: str | None = None,
    **start_options: Any,
) -> UpdateHandle[Any]:
    """``update_with_start`` without waiting: the update's handle."""
    if not isinstance(update_args, (list, tuple)):
        raise TypeError("update_args must be a list or tuple of the update's arguments")
    _, _, request = _open_or_start(
        workflow, args, id, lambda run: send_update(run, update, tuple(update_args), update_id), start_options
    )
    return UpdateHandle(id, request.update_id, request.run_id)


async def asignal_with_start(
    workflow: str | Callable[..., Awaitable[Any]], *args: Any, id: str, signal: str, payload: Any = None, **options: Any
) -> WorkflowHandle[Any]:
    """``signal_with_start`` for async code."""
    return await sync_to_async(signal_with_start)(workflow, *args, id=id, signal=signal, payload=payload, **options)


async def aupdate_with_start(
    workflow: str | Callable[..., Awaitable[Any]],
    *args: Any,
    id: str,
    update: str,
    update_args: tuple[Any, ...] | list[Any] = (),
    update_id: str | None = None,
    timeout: Duration | None = None,
    **start_options: Any,
) -> Any:
    """``update_with_start`` for async code; no thread is held while the update runs."""
    handle = await sync_to_async(start_update_with_start)(
        workflow, *args, id=id, update=update, update_args=update_args, update_id=update_id, **start_options
    )
    return await handle.aresult(timeout)


def _open_or_start(
    workflow: str | Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    workflow_id: str,
    deliver: Callable[[WorkflowRun], T],
    options: dict[str, Any],
) -> tuple[WorkflowHandle[Any], bool, T]:
    unknown = sorted(set(options) - set(_START_OPTIONS))
    if unknown:
        raise TypeError(f"unexpected start options {', '.join(unknown)} (accepted: {', '.join(_START_OPTIONS)})")
    if not isinstance(workflow_id, str) or not workflow_id:
        raise ValueError("id is required: it names the run to signal or start")
    def open_or_start() -> tuple[WorkflowHandle[Any], bool, T]:
        with write_transaction():
            run = storage.open_run(workflow_id, lock=True)
            started = run is None
            if run is None:
                try:
                    handle = start(workflow, *args, id=workflow_id, **options)
                except WorkflowAlreadyExists:  # another caller started it between our look and our insert
                    run = storage.open_run(workflow_id, lock=True)
                    if run is None:
                        raise
                    started = False
                else:
                    run = WorkflowRun.objects.get(pk=handle.run_id)
            return WorkflowHandle(workflow_id, run.run_id), started, deliver(run)

    return retrying_deadlocks(open_or_start)  # a deadlock's victim rolled back whole: the start too
