"""Suspended executions kept per worker process, so a warm worker applies only new events."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction

from ..conf import df_settings
from ..runtime import WorkflowExecution

T = TypeVar("T")


class ExecutionCache:
    """An LRU map of run id -> execution, valid only while its length matches the stored history.

    Bounded twice: at most ``size`` executions, and at most ``max_events`` history events across
    them (an execution's state grows with what it has been through, as its replay cost does). The
    least recently used go first; an execution longer than ``max_events`` on its own is not kept.
    Kept executions hold no history (``forget_history``): a warm task never reads it again.
    """

    def __init__(self, size: int, max_events: int | None = None) -> None:
        self.size = size
        self.max_events = max_events
        #: run id -> (execution, its history length when it was put: what it counts for against ``max_events``)
        self._entries: collections.OrderedDict[Any, tuple[WorkflowExecution, int]] = collections.OrderedDict()
        self._events = 0  # the history length of the executions held
        self._lock = threading.Lock()
        #: Keep executions as soon as their task's work is written, without waiting for the commit:
        #: for ``durableflows.testing``, whose tasks run inside a test's transaction that never commits.
        self.keep_before_commit = False

    def put_after_commit(self, run_id: Any, execution: WorkflowExecution) -> None:
        """Keep ``execution`` once the current transaction commits (its rolled-back state must not be kept)."""
        if self.keep_before_commit:
            self.put(run_id, execution)
        else:
            transaction.on_commit(lambda: self.put(run_id, execution))

    def take(self, run_id: Any, history_length: int) -> WorkflowExecution | None:
        """Remove and return the execution of ``run_id`` if it is exactly at ``history_length``."""
        with self._lock:
            execution = self._pop(run_id)
        if execution is None:
            return None
        if execution.last_sequence == history_length and not execution.is_closed and not execution.is_discarded:
            return execution
        execution.discard()  # another worker moved the run on; this copy is stale
        return None

    def read(self, run_id: Any, history_length: int, reader: Callable[[WorkflowExecution], T]) -> tuple[bool, T | None]:
        """``(True, reader(execution))`` if the run's execution is held at ``history_length``, else ``(False, None)``.

        The execution stays in place; ``reader`` runs under the cache's lock, so that no task takes it meanwhile.
        """
        with self._lock:
            entry = self._entries.get(run_id)
            if entry is None or entry[0].last_sequence != history_length or entry[0].is_discarded:
                return False, None
            self._entries.move_to_end(run_id)
            return True, reader(entry[0])

    def __contains__(self, run_id: Any) -> bool:
        return run_id in self._entries

    def put(self, run_id: Any, execution: WorkflowExecution) -> None:
        if self.size <= 0 or execution.is_closed or not self._fits(execution.last_sequence):
            self.discard(run_id)
            execution.discard()
            return
        try:
            execution.forget_history()
        except RuntimeError:  # stopped partway through a replay (it diverged): no state to keep
            self.discard(run_id)
            execution.discard()
            return
        with self._lock:
            replaced = self._pop(run_id)
            self._entries[run_id] = (execution, execution.last_sequence)
            self._events += execution.last_sequence
            evicted = [replaced] if replaced is not None and replaced is not execution else []
            while len(self._entries) > self.size or not self._fits(self._events):
                _, (oldest, events) = self._entries.popitem(last=False)
                self._events -= events
                evicted.append(oldest)
        for old in evicted:
            old.discard()

    def discard(self, run_id: Any) -> None:
        with self._lock:
            execution = self._pop(run_id)
        if execution is not None:
            execution.discard()

    def clear(self) -> None:
        with self._lock:
            executions = [execution for execution, _ in self._entries.values()]
            self._entries.clear()
            self._events = 0
        for execution in executions:
            execution.discard()

    @property
    def events(self) -> int:
        """The history events of the executions held: what ``max_events`` bounds."""
        return self._events

    def __len__(self) -> int:
        return len(self._entries)

    def _fits(self, events: int) -> bool:
        return self.max_events is None or events <= self.max_events

    def _pop(self, run_id: Any) -> WorkflowExecution | None:
        """Remove an entry (the lock held) and its events from the total."""
        entry = self._entries.pop(run_id, None)
        if entry is None:
            return None
        self._events -= entry[1]
        return entry[0]


#: This process's executions: workflow tasks advance them, queries read them.
cache = ExecutionCache(df_settings.CACHE_SIZE, df_settings.CACHE_MAX_EVENTS)
