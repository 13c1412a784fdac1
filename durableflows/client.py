"""Starting and operating workflows: ``df.start``, ``df.get_handle`` and ``WorkflowHandle``.

Everything here writes in the caller's transaction: inside ``transaction.atomic()``
a start, signal or cancel exists only if that transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Generic, TypedDict, TypeVar, Unpack, overload

from asgiref.sync import sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.db import IntegrityError, models, transaction

from . import polling, registry, serialization, storage
from .arguments import check_arguments
from .conf import df_settings
from .engine import closing
from .engine.cache import cache as executions
from .errors import WorkflowAlreadyExists, WorkflowFailed, WorkflowNotFound
from .models import ActivityTask, InboxItem, Timer, WorkflowRun
from .options import Duration, to_seconds
from .runtime import Event, EventType, WorkflowExecution
from .status import Status
from .transactions import batch_is_atomic_alone, retrying_deadlocks, write_transaction
from .updates import UpdateHandle, send_update
from .workflow_classes import handler_return_hint

ID_CONFLICT_POLICIES = ("fail", "use_existing", "terminate_existing")

R = TypeVar("R")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")


class StartOptions(TypedDict, total=False):
    """The keyword options of ``df.start`` (for type checkers: ``**options: Unpack[StartOptions]``)."""

    id: str | None
    id_conflict: str
    start_delay: Duration | None
    queue: str | None
    subject: models.Model | None


# Overloads by arity let type checkers check a start's arguments against the workflow's parameters,
# as Temporal's SDK does; a workflow named by a string, or a workflow class (whose run method no type
# can name), takes anything, and is checked at run time.
@overload
def start(workflow: Callable[[], Awaitable[R]], /, **options: Unpack[StartOptions]) -> WorkflowHandle[R]: ...
@overload
def start(workflow: Callable[[A], Awaitable[R]], a: A, /, **options: Unpack[StartOptions]) -> WorkflowHandle[R]: ...
@overload
def start(
    workflow: Callable[[A, B], Awaitable[R]], a: A, b: B, /, **options: Unpack[StartOptions]
) -> WorkflowHandle[R]: ...
@overload
def start(
    workflow: Callable[[A, B, C], Awaitable[R]], a: A, b: B, c: C, /, **options: Unpack[StartOptions]
) -> WorkflowHandle[R]: ...
@overload
def start(
    workflow: Callable[[A, B, C, D], Awaitable[R]], a: A, b: B, c: C, d: D, /, **options: Unpack[StartOptions]
) -> WorkflowHandle[R]: ...
@overload
def start(
    workflow: Callable[..., Awaitable[R]], a: Any, b: Any, c: Any, d: Any, e: Any, /, *args: Any,
    **options: Unpack[StartOptions],
) -> WorkflowHandle[R]: ...
@overload
def start(workflow: str | type, /, *args: Any, **options: Unpack[StartOptions]) -> WorkflowHandle[Any]: ...
def start(
    workflow: str | type | Callable[..., Awaitable[Any]],
    *args: Any,
    id: str | None = None,
    id_conflict: str = "fail",
    start_delay: Duration | None = None,
    queue: str | None = None,
    subject: models.Model | None = None,
) -> WorkflowHandle[Any]:
    """Start a workflow run and return its handle; raises before storing anything on bad input."""
    definition = registry.get_workflow(workflow)
    what = f"arguments of workflow {definition.name!r}"
    encoded = serialization.check(list(args), what=what, limit=df_settings.MAX_PAYLOAD_BYTES)
    check_arguments(definition.fn, args, what=what)
    if id_conflict not in ID_CONFLICT_POLICIES:
        raise ValueError(f"id_conflict must be one of {', '.join(ID_CONFLICT_POLICIES)}, not {id_conflict!r}")
    if id is not None and (not serialization.is_storable_text(id) or not id or len(id) > 255):
        raise ValueError("id must be a non-empty string of at most 255 characters, without NUL or lone surrogates")
    if queue is not None and not isinstance(queue, str):
        raise TypeError("queue must be a string")
    delay = to_seconds(start_delay, name="start_delay") or 0
    workflow_id = id or str(uuid.uuid4())

    def create() -> WorkflowRun:
        start_at = storage.now() + timedelta(seconds=delay)
        return storage.create_run(definition.name, encoded, workflow_id=workflow_id, start_at=start_at, queue=queue,
                                  subject=subject)  # fmt: skip

    if id is None and batch_is_atomic_alone():
        # a fresh uuid4 conflicts with nothing: the run and its first event go out as one implicit transaction
        return WorkflowHandle(workflow_id, create().run_id)
    with write_transaction():
        existing = storage.open_run(workflow_id, lock=True) if id is not None else None
        if existing is not None:
            if id_conflict == "fail":
                raise WorkflowAlreadyExists(workflow_id, str(existing.run_id))
            if id_conflict == "use_existing":
                return WorkflowHandle(workflow_id, existing.run_id)
            closing.terminate_run(existing, "replaced by a new run (id_conflict='terminate_existing')")
        try:
            # a fresh uuid4 cannot conflict: only a caller's own id needs a savepoint to recover from a race
            with transaction.atomic() if id is not None else contextlib.nullcontext():
                run = create()
        except IntegrityError:  # another caller opened a run with this id between our check and insert
            if id_conflict == "use_existing" and (raced := storage.open_run(workflow_id)) is not None:
                return WorkflowHandle(workflow_id, raced.run_id)
            raise WorkflowAlreadyExists(workflow_id) from None
    return WorkflowHandle(workflow_id, run.run_id)


def get_handle(workflow_id: str, run_id: str | uuid.UUID | None = None) -> WorkflowHandle[Any]:
    """A handle on the latest run of ``workflow_id`` (or on ``run_id``); ``df.WorkflowNotFound`` if none."""
    handle: WorkflowHandle[Any] = WorkflowHandle(workflow_id, run_id)
    handle._run()
    return handle


@overload
async def astart(workflow: Callable[[], Awaitable[R]], /, **options: Unpack[StartOptions]) -> WorkflowHandle[R]: ...
@overload
async def astart(
    workflow: Callable[[A], Awaitable[R]], a: A, /, **options: Unpack[StartOptions]
) -> WorkflowHandle[R]: ...
@overload
async def astart(
    workflow: Callable[[A, B], Awaitable[R]], a: A, b: B, /, **options: Unpack[StartOptions]
) -> WorkflowHandle[R]: ...
@overload
async def astart(
    workflow: Callable[[A, B, C], Awaitable[R]], a: A, b: B, c: C, /, **options: Unpack[StartOptions]
) -> WorkflowHandle[R]: ...
@overload
async def astart(
    workflow: Callable[[A, B, C, D], Awaitable[R]], a: A, b: B, c: C, d: D, /, **options: Unpack[StartOptions]
) -> WorkflowHandle[R]: ...
@overload
async def astart(
    workflow: Callable[..., Awaitable[R]], a: Any, b: Any, c: Any, d: Any, e: Any, /, *args: Any,
    **options: Unpack[StartOptions],
) -> WorkflowHandle[R]: ...
@overload
async def astart(workflow: str | type, /, *args: Any, **options: Unpack[StartOptions]) -> WorkflowHandle[Any]: ...
async def astart(
    workflow: str | type | Callable[..., Awaitable[Any]], *args: Any, **options: Unpack[StartOptions]
) -> WorkflowHandle[Any]:
    """``start`` for async code: the same arguments, awaited."""
    starter: Callable[..., WorkflowHandle[Any]] = start
    return await sync_to_async(starter)(workflow, *args, **options)


async def aget_handle(workflow_id: str, run_id: str | uuid.UUID | None = None) -> WorkflowHandle[Any]:
    """``get_handle`` for async code."""
    return await sync_to_async(get_handle)(workflow_id, run_id)


class WorkflowHandle(Generic[R]):
    """Operate one workflow id (its latest run) or one specific run. Every read goes to the database."""

    def __init__(self, workflow_id: str, run_id: str | uuid.UUID | None = None) -> None:
        self.workflow_id = workflow_id
        self._run_id = _parse_run_id(run_id) if run_id is not None else None
        self._pinned = run_id is not None

    def __repr__(self) -> str:
        return f"<WorkflowHandle {self.workflow_id!r} run={self._run_id}>"

    @property
    def run_id(self) -> str:
        """The run this handle acts on: known from the start or lookup, so reading it never queries."""
        if self._run_id is None:
            self._run()
        return str(self._run_id)

    @property
    def status(self) -> Status:
        """The run's current status, read from the database on every access (``await astatus()`` in async code)."""
        if _in_event_loop() and not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"):
            raise SynchronousOnlyOperation("handle.status reads the database: await handle.astatus() in async code")
        return Status(self._run().status)

    # -- reading ---------------------------------------------------------------------
    def result(self, timeout: Duration | None = None) -> R:
        """Wait for the run to close and return its result; follows continue-as-new.

        Raises ``df.WorkflowFailed`` unless it completed, ``TimeoutError`` after ``timeout``.
        """
        return polling.wait(self._poll_result, timeout, f"workflow {self.workflow_id!r}")

    def _poll_result(self) -> tuple[bool, Any]:
        # a pinned handle's run is read by primary key alone: the cheapest query, made every few ms
        run = storage.runs.get({"run_id": self._run_id}) if self._pinned else None
        if run is None or run.workflow_id != self.workflow_id:
            run = self._run()
        while run.status == Status.CONTINUED_AS_NEW:
            successor = WorkflowRun.objects.filter(continued_from=run).first()
            if successor is None:
                return False, None
            run = successor
        if run.is_open:
            return False, None
        if run.status == Status.COMPLETED:
            definition = registry.workflows().get(run.workflow_name)
            return True, serialization.decode(
                run.result, serialization.return_hint(definition.fn if definition else None)
            )
        error = run.error or {}
        raise WorkflowFailed(run.status, error.get("type", ""), error.get("message", ""), workflow_id=run.workflow_id)

    def history(self) -> list[Event]:
        """The events of this handle's run, in order."""
        return storage.load_history(self._run().run_id)

    def vars(self) -> dict[str, Any]:
        """The run's ``df.set_var`` values, read without replay."""
        return {name: serialization.decode(value) for name, value in (self._run().vars or {}).items()}

    def query(self, name: str, *args: Any) -> Any:
        """Answer a query from the run's current state, as this process holds it or by replaying its history.

        A process that holds the run's execution at its stored length (a worker that ran its last
        task, or one that answered a query before) reads it in place; otherwise the history is
        replayed here, and the execution kept for the next query. Signals the run accepted but no
        worker has processed yet are applied first (in memory only: nothing is recorded), so a query
        sees every signal sent before it.
        """
        encoded = serialization.check(list(args), what=f"arguments of query {name!r}")
        run = self._run()
        pending = list(InboxItem.objects.filter(run=run, type=EventType.SIGNAL_RECEIVED).order_by("id"))
        if not pending and run.status == Status.RUNNING:
            held, result = executions.read(run.pk, run.history_length, lambda held: held.query(name, encoded))
            if held:
                return self._answer(run.workflow_name, name, result)
        definition = registry.get_workflow(run.workflow_name)
        execution = WorkflowExecution(
            definition.fn, suggest_continue_as_new_after=df_settings.SUGGEST_CONTINUE_AS_NEW_AFTER
        )
        history = storage.load_history(run.run_id)
        try:
            if run.status == Status.PENDING:
                execution.apply(history[0].type, history[0].data, history[0].timestamp)
            else:
                execution.replay(history)
            if run.is_open:
                for item in pending:
                    if not execution.is_closed:
                        execution.apply(EventType.SIGNAL_RECEIVED, item.data, item.created_at)
        except BaseException:
            execution.discard()
            raise
        try:
            result = execution.query(name, encoded)
        finally:
            if run.status == Status.RUNNING and not pending:  # exactly the stored history: worth keeping
                executions.put_after_commit(run.pk, execution)
            else:
                execution.discard()
        return self._answer(run.workflow_name, name, result)

    @staticmethod
    def _answer(workflow_name: str, name: str, result: Any) -> Any:
        """The query's answer as the handler's return hint describes it."""
        answer = serialization.check(result, what=f"answer of query {name!r}")
        return serialization.decode(answer, handler_return_hint(workflow_name, "query", name))

    def describe(self) -> dict[str, Any]:
        """Status, timestamps, pending activities and timers, children, and the stuck task error, if any.

        Each list holds at most ``DESCRIBE_LIMIT`` entries (the earliest), and ``*_total`` says how
        many there are: a run that fans out to thousands of children stays cheap to describe.
        """
        run = self._run()
        open_states = (ActivityTask.State.SCHEDULED, ActivityTask.State.STARTED)
        activities, activities_total = _first(
            ActivityTask.objects.filter(run=run, state__in=open_states).order_by("activity_id")
        )
        timers, timers_total = _first(Timer.objects.filter(run=run).order_by("fire_at", "timer_id"))
        children, children_total = _first(WorkflowRun.objects.filter(parent=run).order_by("created_at", "run_id"))
        return {
            "workflow_id": run.workflow_id,
            "run_id": str(run.run_id),
            "workflow_name": run.workflow_name,
            "status": run.status,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "closed_at": run.closed_at,
            "history_length": run.history_length,
            "result": run.result,
            "error": run.error,
            "stuck_error": run.task_error or None,
            "parent_workflow_id": run.parent.workflow_id if run.parent is not None else None,
            "pending_activities": [
                {
                    "activity_id": task.activity_id,
                    "name": task.name,
                    "state": task.state,
                    "attempt": task.attempt,
                    "next_attempt_at": task.due_at if task.state == ActivityTask.State.SCHEDULED else None,
                    "last_error": task.last_error,
                    "last_heartbeat_at": task.heartbeat_at,
                    "heartbeat_details": task.heartbeat_details,
                    "cancel_requested": task.cancel_requested,
                }
                for task in activities
            ],
            "pending_activities_total": activities_total,
            "pending_timers": [{"timer_id": timer.timer_id, "fire_at": timer.fire_at} for timer in timers],
            "pending_timers_total": timers_total,
            "children": [{"workflow_id": c.workflow_id, "run_id": str(c.run_id), "status": c.status} for c in children],
            "children_total": children_total,
        }

    # -- acting ------------------------------------------------------------------------
    def signal(self, name: str, payload: Any = None) -> None:
        """Deliver a signal to the open run; ``df.WorkflowNotFound`` if there is none."""
        if not serialization.is_storable_text(name) or not name:
            raise ValueError("signal names are non-empty strings without NUL characters or lone surrogates")
        encoded = serialization.check(payload, what=f"payload of signal {name!r}", limit=df_settings.MAX_PAYLOAD_BYTES)
        self._add_fact(EventType.SIGNAL_RECEIVED, {"name": name, "payload": encoded})

    def start_update(self, name: str, *args: Any, update_id: str | None = None) -> UpdateHandle[Any]:
        """Send an update and return its ``df.UpdateHandle`` at once, without waiting for the outcome.

        With ``update_id``, a retried call (from any process) gets the first call's update instead of a new one.
        """
        request = retrying_deadlocks(lambda: send_update(self._run(), name, args, update_id))
        return UpdateHandle(self.workflow_id, request.update_id, request.run_id)

    def update(self, name: str, *args: Any, timeout: Duration | None = None, update_id: str | None = None) -> Any:
        """Send an update and wait for its handler's result.

        Raises ``df.UpdateRejected`` if the validator refused it (nothing recorded), ``df.UpdateFailed`` if the
        handler raised. Call it outside ``transaction.atomic()``: the workflow sees the update once it commits.
        """
        return self.start_update(name, *args, update_id=update_id).result(timeout)

    def cancel(self, reason: str | None = None) -> None:
        """Ask the run to cancel: ``asyncio.CancelledError`` is raised in it at its current await."""
        self._add_fact(EventType.CANCEL_REQUESTED, {"reason": reason or ""})

    def terminate(self, reason: str | None = None) -> None:
        """End the run at once, running no more of its code."""
        closing.terminate_run(self._open_run(), reason or "terminated")

    # -- async twins ---------------------------------------------------------------------
    async def aresult(self, timeout: Duration | None = None) -> R:
        return await polling.await_(self._poll_result, timeout, f"workflow {self.workflow_id!r}")

    async def astatus(self) -> Status:
        return await sync_to_async(lambda: self.status)()

    async def asignal(self, name: str, payload: Any = None) -> None:
        await sync_to_async(self.signal)(name, payload)

    async def aquery(self, name: str, *args: Any) -> Any:
        return await sync_to_async(self.query)(name, *args)

    async def astart_update(self, name: str, *args: Any, update_id: str | None = None) -> UpdateHandle[Any]:
        return await sync_to_async(self.start_update)(name, *args, update_id=update_id)

    async def aupdate(
        self, name: str, *args: Any, timeout: Duration | None = None, update_id: str | None = None
    ) -> Any:
        handle = await self.astart_update(name, *args, update_id=update_id)
        return await handle.aresult(timeout)

    async def acancel(self, reason: str | None = None) -> None:
        await sync_to_async(self.cancel)(reason)

    async def aterminate(self, reason: str | None = None) -> None:
        await sync_to_async(self.terminate)(reason)

    async def ahistory(self) -> list[Event]:
        return await sync_to_async(self.history)()

    async def avars(self) -> dict[str, Any]:
        return await sync_to_async(self.vars)()

    async def adescribe(self) -> dict[str, Any]:
        return await sync_to_async(self.describe)()

    # -- internals -----------------------------------------------------------------------
    def _run(self) -> WorkflowRun:
        if not serialization.is_storable_text(self.workflow_id):
            raise WorkflowNotFound(f"no workflow {self.workflow_id!r}")
        qs = WorkflowRun.objects.select_related("parent")
        if self._run_id is not None and self._pinned:
            run = qs.filter(pk=self._run_id).first()
        else:
            run = storage.latest_run(self.workflow_id)
        if run is None or run.workflow_id != self.workflow_id:
            detail = f" run {self._run_id}" if self._pinned else ""
            raise WorkflowNotFound(f"no workflow {self.workflow_id!r}{detail}")
        if not self._pinned:
            self._run_id = run.run_id
        return run

    def _add_fact(self, type: EventType, data: dict[str, Any]) -> None:
        """Queue a fact for the open run, again if the database broke a deadlock with it (``retrying_deadlocks``)."""

        def add() -> None:
            with write_transaction():
                storage.add_fact(self._open_run(), type, data)

        retrying_deadlocks(add)

    def _open_run(self) -> WorkflowRun:
        run = self._run()
        if not run.is_open:
            raise WorkflowNotFound(f"workflow {self.workflow_id!r} has no open run (its last run is {run.status})")
        return run


#: Entries of each list ``describe()`` returns at most.
DESCRIBE_LIMIT = 100
_M = TypeVar("_M", bound=models.Model)


def _first(rows: models.QuerySet[_M]) -> tuple[list[_M], int]:
    """The first ``DESCRIBE_LIMIT`` rows and how many there are in all (counted only when there are more)."""
    first = list(rows[: DESCRIBE_LIMIT + 1])
    if len(first) <= DESCRIBE_LIMIT:
        return first, len(first)
    return first[:DESCRIBE_LIMIT], rows.count()


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _parse_run_id(run_id: str | uuid.UUID) -> uuid.UUID:
    try:
        return run_id if isinstance(run_id, uuid.UUID) else uuid.UUID(str(run_id))
    except ValueError:
        raise WorkflowNotFound(f"{run_id!r} is not a run id") from None
