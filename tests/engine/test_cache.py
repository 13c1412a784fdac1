"""The execution cache: bounded by count and by history events, least recently used out first."""

from datetime import UTC, datetime

import durableflows as df
from durableflows.engine.cache import ExecutionCache
from durableflows.runtime import EventType, WorkflowExecution

NOW = datetime(2026, 11, 30, tzinfo=UTC)


async def counter() -> None:
    total = 0
    while True:
        total += await df.wait_signal("add")


def _execution(events: int) -> WorkflowExecution:
    """A live execution whose history is ``events`` long (its start, then signals)."""
    execution = WorkflowExecution(counter)
    execution.apply(EventType.WORKFLOW_STARTED, {"workflow_id": "w", "run_id": "r", "workflow_name": "c"}, NOW)
    while execution.last_sequence < events:
        execution.apply(EventType.SIGNAL_RECEIVED, {"name": "add", "payload": 1}, NOW)
    return execution


def test_over_the_event_budget_the_least_recently_used_executions_go_first():
    cache = ExecutionCache(size=100, max_events=100)
    first, second, third = _execution(40), _execution(40), _execution(40)
    cache.put("first", first)
    cache.put("second", second)
    assert cache.take("first", 40) is first  # used: now the most recent
    cache.put("first", first)
    cache.put("third", third)  # 120 events: over the budget by one execution
    assert "second" not in cache and second.is_discarded
    assert "first" in cache and "third" in cache and cache.events == 80
    assert not first.is_discarded and not third.is_discarded


def test_an_execution_longer_than_the_whole_budget_is_not_kept():
    cache = ExecutionCache(size=100, max_events=50)
    small, huge = _execution(10), _execution(51)
    cache.put("small", small)
    cache.put("huge", huge)
    assert "huge" not in cache and huge.is_discarded
    assert "small" in cache and cache.events == 10  # nothing else was evicted for it


def test_a_run_put_again_counts_once_at_its_new_length():
    cache = ExecutionCache(size=100, max_events=100)
    execution = _execution(30)
    cache.put("run", execution)
    taken = cache.take("run", 30)
    assert taken is execution and cache.events == 0
    taken.apply(EventType.SIGNAL_RECEIVED, {"name": "add", "payload": 1}, NOW)
    cache.put("run", taken)
    assert cache.events == 31 and len(cache) == 1


def test_a_stale_copy_put_over_a_newer_one_replaces_it_and_the_old_one_is_discarded():
    cache = ExecutionCache(size=100, max_events=100)
    old, new = _execution(5), _execution(6)
    cache.put("run", old)
    cache.put("run", new)
    assert old.is_discarded and cache.events == 6 and cache.take("run", 6) is new


def test_the_count_bound_still_holds():
    cache = ExecutionCache(size=2, max_events=None)
    executions = [_execution(3) for _ in range(3)]
    for index, execution in enumerate(executions):
        cache.put(index, execution)
    assert 0 not in cache and executions[0].is_discarded and len(cache) == 2


def test_kept_executions_hold_no_history_but_carry_on_from_their_length():
    cache = ExecutionCache(size=10, max_events=1000)
    execution = _execution(20)
    cache.put("run", execution)
    assert execution.history == [] and execution.last_sequence == 20
    taken = cache.take("run", 20)
    assert taken is not None
    new = taken.apply(EventType.SIGNAL_RECEIVED, {"name": "add", "payload": 1}, NOW)
    assert [event.sequence for event in new] == [21]


def test_read_uses_an_execution_at_the_given_length_and_leaves_it_in_place():
    cache = ExecutionCache(size=10, max_events=1000)
    execution = _execution(8)
    cache.put("run", execution)
    assert cache.read("run", 7, lambda held: held.last_sequence) == (False, None)  # the run moved on
    assert cache.read("run", 8, lambda held: held.last_sequence) == (True, 8)
    assert "run" in cache and cache.take("run", 8) is execution


def test_an_execution_stopped_partway_through_its_history_is_not_kept():
    cache = ExecutionCache(size=10, max_events=1000)
    complete = _execution(5)
    partway = WorkflowExecution(counter)
    partway.history = list(complete.history)  # replay() set up, never finished
    cache.put("run", partway)
    assert "run" not in cache and partway.is_discarded
