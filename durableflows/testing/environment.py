"""The in-process workflow environment behind ``durableflows.testing``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .. import registry, storage
from ..client import WorkflowHandle, start
from ..engine import activities, doorbell, housekeeping, scheduler
from ..engine.workflow_tasks import cache, process_workflow_task
from ..models import ActivityTask, InboxItem, Schedule, Timer, WorkflowRun
from ..options import Duration, to_seconds
from ..status import Status
from ..updates import UpdateHandle

_OPEN_ACTIVITY = (ActivityTask.State.SCHEDULED, ActivityTask.State.STARTED)


@dataclasses.dataclass
class ActivityMock:
    """Stands in for an activity: returns ``return_value``, or follows ``side_effect``; records calls.

    ``side_effect`` may be an exception (raised), a callable (called with the
    activity's arguments) or an iterable of values and exceptions (one per call).
    """

    name: str
    return_value: Any = None
    side_effect: Any = None
    calls: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if (
            self.side_effect is not None
            and not callable(self.side_effect)
            and not isinstance(self.side_effect, BaseException)
        ):
            self._sequence: Iterator[Any] | None = iter(self.side_effect)
        else:
            self._sequence = None

    @property
    def call_count(self) -> int:
        return len(self.calls)

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        effect = self.side_effect
        if self._sequence is not None:
            effect = next(self._sequence)
            if isinstance(effect, BaseException) or (isinstance(effect, type) and issubclass(effect, BaseException)):
                raise effect
            return effect
        if isinstance(effect, BaseException) or (isinstance(effect, type) and issubclass(effect, BaseException)):
            raise effect
        if callable(effect):
            return effect(*args)
        return self.return_value


class WorkflowEnvironment:
    """Use as a context manager (or the ``durableflows_env`` pytest fixture); needs database access."""

    def __init__(self, *, start_time: datetime | None = None, max_steps: int = 10_000) -> None:
        self._now = start_time or timezone.now()
        self._max_steps = max_steps
        self._mocks: dict[str, ActivityMock] = {}
        self._saved: tuple[Any, ...] | None = None

    # -- lifecycle -----------------------------------------------------------------
    def __enter__(self) -> WorkflowEnvironment:
        self._saved = (dict(activities.overrides), doorbell.muted, cache.keep_before_commit)
        storage.set_clock(self.now)
        doorbell.muted = True
        cache.clear()
        cache.keep_before_commit = True  # the test's transaction never commits: keep executions at once
        return self

    def __exit__(self, *exc: Any) -> None:
        overrides, muted, keep_before_commit = self._saved or ({}, False, False)
        activities.overrides.clear()
        activities.overrides.update(overrides)
        doorbell.muted = muted
        storage.set_clock(None)
        cache.clear()  # unwinds suspended workflow code inside its loop, not later in the garbage collector
        cache.keep_before_commit = keep_before_commit

    # -- time ----------------------------------------------------------------------
    def now(self) -> datetime:
        """The environment's current time, which the engine and ``df.now()`` see.

        Each reading moves it on by a microsecond, so records stay ordered as they would in real time.
        """
        self._now += timedelta(microseconds=1)
        return self._now

    def sleep(self, duration: Duration) -> None:
        """Move time forward by ``duration``, running everything that falls due on the way."""
        target = self._now + timedelta(seconds=to_seconds(duration, name="duration"))
        self.run_until_idle()
        while (due := self._next_due()) is not None and due <= target:
            self._now = max(self._now, due)
            self.run_until_idle()
        self._now = target
        self.run_until_idle()

    # -- activities ----------------------------------------------------------------
    def mock_activity(
        self, activity: str | Callable[..., Any], *, return_value: Any = None, side_effect: Any = None
    ) -> ActivityMock:
        """Replace an activity for the rest of this environment; returns the mock, which records calls."""
        name = registry.get_activity(activity).name
        mock = ActivityMock(name, return_value=return_value, side_effect=side_effect)
        self._mocks[name] = mock
        activities.overrides[name] = mock
        return mock

    # -- workflows -----------------------------------------------------------------
    def start(self, workflow: str | Callable[..., Any], *args: Any, **options: Any) -> EnvironmentHandle:
        """``df.start`` in this environment; the handle's ``result()`` drives the work."""
        handle = start(workflow, *args, **options)
        return EnvironmentHandle(self, handle.workflow_id, handle.run_id)

    def signal_with_start(self, workflow: str | Callable[..., Any], *args: Any, **options: Any) -> EnvironmentHandle:
        """``df.signal_with_start`` in this environment."""
        from ..with_start import signal_with_start

        handle = signal_with_start(workflow, *args, **options)
        return EnvironmentHandle(self, handle.workflow_id, handle.run_id)

    def update_with_start(
        self, workflow: str | Callable[..., Any], *args: Any, timeout: Duration | None = None, **options: Any
    ) -> Any:
        """``df.update_with_start`` in this environment: runs the work until the update is decided."""
        from ..with_start import start_update_with_start

        update = start_update_with_start(workflow, *args, **options)
        return EnvironmentUpdateHandle(self, update.workflow_id, update.update_id, update.run_id).result(timeout)

    def get_handle(self, workflow_id: str, run_id: str | None = None) -> EnvironmentHandle:
        handle = EnvironmentHandle(self, workflow_id, run_id)
        handle.status  # noqa: B018 - raises WorkflowNotFound early, like df.get_handle
        return handle

    def run_until_idle(self) -> None:
        """Do everything that can be done at the current time, without moving time."""
        for _ in range(self._max_steps):
            if not self._step():
                return
        raise RuntimeError(f"the workflows did not settle within {self._max_steps} steps")

    def run_until(self, done: Callable[[], bool]) -> None:
        """Run work, skipping time whenever nothing else can happen, until ``done()`` is true."""
        for _ in range(self._max_steps):
            if done():
                return
            if self._step():
                continue
            due = self._next_due()
            if due is None:
                raise TimeoutError(
                    "nothing can happen any more: the workflow waits for a signal or condition that never comes"
                )
            self._now = max(self._now, due)
        raise RuntimeError(f"the workflows did not finish within {self._max_steps} steps")

    # -- internals -----------------------------------------------------------------
    def _step(self) -> bool:
        """One pass over all due work at the current time; True if anything happened."""
        now = self._now
        progressed = False
        has_inbox = Exists(InboxItem.objects.filter(run=OuterRef("pk")))
        runs = WorkflowRun.objects.filter(status__in=(Status.PENDING, Status.RUNNING), task_error="").filter(
            Q(status=Status.PENDING, start_at__lte=now) | Q(has_inbox)
        )
        for run_id in list(runs.values_list("run_id", flat=True)):
            process_workflow_task(run_id)
            progressed = True
        due = ActivityTask.objects.filter(state=ActivityTask.State.SCHEDULED, due_at__lte=now, cancel_requested=False)
        for pk, attempt in list(due.values_list("pk", "attempt")):
            activities.execute(pk, attempt, ring_workflow=False)
            progressed = True
        fired = housekeeping.fire_due_timers(now) + housekeeping.time_out_activities(now)
        fired += scheduler.start_due_schedules(now)
        stuck = WorkflowRun.objects.filter(status__in=(Status.PENDING, Status.RUNNING)).exclude(task_error="").first()
        if stuck is not None:
            raise RuntimeError(f"the workflow task of {stuck.workflow_id!r} failed:\n{stuck.task_error}")
        return progressed or bool(fired)

    def _next_due(self) -> datetime | None:
        candidates = [
            Timer.objects.order_by("fire_at").values_list("fire_at", flat=True).first(),
            ActivityTask.objects.filter(state=ActivityTask.State.SCHEDULED, cancel_requested=False)
            .order_by("due_at")
            .values_list("due_at", flat=True)
            .first(),
            _just_after(
                ActivityTask.objects.filter(expires_at__isnull=False, state__in=_OPEN_ACTIVITY)
                .order_by("expires_at")
                .values_list("expires_at", flat=True)
                .first()
            ),
            _just_after(  # an attempt left open by df.CompleteAsync times out here unless completed first
                ActivityTask.objects.filter(state=ActivityTask.State.STARTED, deadline__isnull=False)
                .order_by("deadline")
                .values_list("deadline", flat=True)
                .first()
            ),
            WorkflowRun.objects.filter(status=Status.PENDING)
            .order_by("start_at")
            .values_list("start_at", flat=True)
            .first(),
            Schedule.objects.filter(paused=False, next_fire_at__isnull=False)
            .order_by("next_fire_at")
            .values_list("next_fire_at", flat=True)
            .first(),
        ]
        due = [c for c in candidates if c is not None]
        return min(due) if due else None


def _just_after(moment: datetime | None) -> datetime | None:
    """The first time past ``moment``: housekeeping times out what is strictly past its deadline."""
    return None if moment is None else moment + timedelta(microseconds=1)


class EnvironmentHandle(WorkflowHandle):
    """A ``WorkflowHandle`` whose ``result()`` runs the environment (skipping time) until the run closes."""

    def __init__(self, env: WorkflowEnvironment, workflow_id: str, run_id: str | None = None) -> None:
        super().__init__(workflow_id, run_id)
        self.env = env

    def result(self, timeout: Duration | None = None) -> Any:
        outcome: list[Any] = []

        def closed() -> bool:
            done, value = self._poll_result()
            if done:
                outcome.append(value)
            return done

        self.env.run_until(closed)
        return outcome[0]

    async def aresult(self, timeout: Duration | None = None) -> Any:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.result)(timeout)

    def start_update(self, name: str, *args: Any, update_id: str | None = None) -> EnvironmentUpdateHandle:
        handle = super().start_update(name, *args, update_id=update_id)
        return EnvironmentUpdateHandle(self.env, handle.workflow_id, handle.update_id, handle.run_id)

    def update(self, name: str, *args: Any, timeout: Duration | None = None, update_id: str | None = None) -> Any:
        return self.start_update(name, *args, update_id=update_id).result(timeout)


class EnvironmentUpdateHandle(UpdateHandle):
    """An ``UpdateHandle`` whose ``result()`` runs the environment (skipping time) until the update is decided."""

    def __init__(self, env: WorkflowEnvironment, workflow_id: str, update_id: str, run_id: str) -> None:
        super().__init__(workflow_id, update_id, run_id)
        self.env = env

    def result(self, timeout: Duration | None = None) -> Any:
        outcome: list[Any] = []

        def decided() -> bool:
            done, value = self._poll()
            if done:
                outcome.append(value)
            return done

        self.env.run_until(decided)
        return outcome[0]

    async def aresult(self, timeout: Duration | None = None) -> Any:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.result)(timeout)
