"""Queries read an execution this process holds at the run's stored length, and replay only otherwise."""

import pytest

from durableflows import storage
from durableflows.engine.workflow_tasks import cache

from .workflows import tally


@pytest.fixture
def history_loads(monkeypatch):
    """How many times the client loads a history (each load is a replay)."""
    loads = []
    original = storage.load_history

    def counting(run_id, **kwargs):
        loads.append(run_id)
        return original(run_id, **kwargs)

    monkeypatch.setattr(storage, "load_history", counting)
    return loads


def test_a_process_holding_the_run_answers_without_replaying(durableflows_env, history_loads):
    handle = durableflows_env.start(tally)
    handle.signal("add", 5)
    durableflows_env.run_until_idle()  # this process ran the tasks: it holds the execution
    history_loads.clear()  # (the run's first task loaded its history)
    assert handle.query("total") == 5
    assert history_loads == []


def test_a_replayed_execution_is_kept_for_the_next_query(durableflows_env, history_loads):
    handle = durableflows_env.start(tally)
    handle.signal("add", 3)
    durableflows_env.run_until_idle()
    cache.clear()  # as in a process that never ran the run
    history_loads.clear()
    assert handle.query("total") == 3
    assert handle.query("total") == 3
    assert len(history_loads) == 1
    handle.signal("add", 4)
    durableflows_env.run_until_idle()  # the task advances the kept execution instead of replaying
    assert handle.query("total") == 7 and len(history_loads) == 1


def test_a_held_execution_behind_the_stored_history_is_not_read(durableflows_env, history_loads):
    handle = durableflows_env.start(tally)
    durableflows_env.run_until_idle()
    run_id, length = handle._run_id, len(handle.history())
    behind = cache.take(run_id, length)
    assert behind is not None
    handle.signal("add", 2)
    durableflows_env.run_until_idle()  # another worker, say, moved the run on
    cache.put(run_id, behind)  # this process still holds the old state
    loads = len(history_loads)
    assert handle.query("total") == 2
    assert len(history_loads) == loads + 1  # replayed, not read from the stale copy


def test_pending_signals_are_seen_and_do_not_change_the_held_execution(durableflows_env, history_loads):
    handle = durableflows_env.start(tally)
    durableflows_env.run_until_idle()
    handle.signal("add", 6)  # accepted, not processed yet
    assert handle.query("total") == 6  # replayed with the signal applied in memory
    assert cache.read(handle._run_id, len(handle.history()), lambda held: held.query("total", [])) == (True, 0)
    durableflows_env.run_until_idle()
    assert handle.query("total") == 6
