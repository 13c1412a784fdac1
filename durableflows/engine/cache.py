"""Suspended executions kept per worker process, so a warm worker applies only new events."""

from __future__ import annotations

import collections
import threading
from typing import Any

from django.db import transaction

from ..runtime import WorkflowExecution


class ExecutionCache:
    """An LRU map of run id -> execution, valid only while its length matches the stored history."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: collections.OrderedDict[Any, WorkflowExecution] = collections.OrderedDict()
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
            execution = self._entries.pop(run_id, None)
        if execution is None:
            return None
        if execution.last_sequence == history_length and not execution.is_closed and not execution.is_discarded:
            return execution
        execution.discard()  # another worker moved the run on; this copy is stale
        return None

    def __contains__(self, run_id: Any) -> bool:
        return run_id in self._entries

    def put(self, run_id: Any, execution: WorkflowExecution) -> None:
        if self.size <= 0 or execution.is_closed:
            execution.discard()
            return
        with self._lock:
            self._entries[run_id] = execution
            self._entries.move_to_end(run_id)
            evicted = [self._entries.popitem(last=False)[1] for _ in range(len(self._entries) - self.size)]
        for old in evicted:
            old.discard()

    def discard(self, run_id: Any) -> None:
        with self._lock:
            execution = self._entries.pop(run_id, None)
        if execution is not None:
            execution.discard()

    def clear(self) -> None:
        with self._lock:
            executions = list(self._entries.values())
            self._entries.clear()
        for execution in executions:
            execution.discard()

    def __len__(self) -> int:
        return len(self._entries)
