"""Durable timers with time skipping, signals, queries and variables."""

import time

import pytest

import durableflows as df
from durableflows.models import Timer

from .workflows import approval, collect, sleeper


def test_a_thirty_day_sleep_returns_at_once_while_workflow_time_advances(durableflows_env):
    began = time.monotonic()
    handle = durableflows_env.start(sleeper, 30)
    assert handle.result() == pytest.approx(30 * 86400, abs=1)
    assert time.monotonic() - began < 1
    timer_events = [e for e in handle.history() if e.type.value.startswith("Timer")]
    assert [e.type.value for e in timer_events] == ["TimerStarted", "TimerFired"]
    assert not Timer.objects.exists()


def test_signal_before_the_timeout_wins_and_cancels_its_timer(durableflows_env):
    handle = durableflows_env.start(approval)
    durableflows_env.run_until_idle()
    assert handle.vars() == {"stage": "waiting"}
    assert handle.query("stage") == "waiting for approval"
    assert Timer.objects.count() == 1
    handle.signal("approve", {"by": "alice"})
    assert handle.result() == {"by": "alice"}
    assert handle.vars() == {"stage": "decided"}
    assert "TimerCancelled" in [e.type.value for e in handle.history()]
    assert not Timer.objects.exists()


def test_wait_signal_times_out_with_builtin_timeout_error(durableflows_env):
    handle = durableflows_env.start(approval)
    assert handle.result() == "expired"


def test_signals_are_buffered_in_arrival_order(durableflows_env):
    handle = durableflows_env.start(collect, 3)
    for item in ("a", "b", "c"):
        handle.signal("item", item)  # all before the first workflow task runs
    assert handle.result() == ["a", "b", "c"]


def test_signal_query_and_cancel_on_unknown_or_closed_workflows(durableflows_env):
    with pytest.raises(df.WorkflowNotFound):
        df.get_handle("nobody").signal("x")
    handle = durableflows_env.start(collect, 0)
    handle.result()
    with pytest.raises(df.WorkflowNotFound, match="no open run"):
        handle.signal("item", 1)
    with pytest.raises(df.WorkflowNotFound):
        handle.cancel()
    with pytest.raises(df.QueryNotFound):
        handle.query("nothing")


def test_unserializable_signal_payload_is_refused(durableflows_env):
    handle = durableflows_env.start(collect, 1)
    with pytest.raises(df.SerializationError):
        handle.signal("item", object())
    handle.signal("item", "ok")
    assert handle.result() == ["ok"]


def test_a_query_sees_signals_accepted_but_not_yet_processed(durableflows_env):
    from durableflows.models import InboxItem

    from .workflows import tally

    handle = durableflows_env.start(tally)
    durableflows_env.run_until_idle()
    handle.signal("add", 5)
    handle.signal("add", 2)
    recorded = len(handle.history())
    assert handle.query("total") == 7  # no worker has processed the signals yet
    assert len(handle.history()) == recorded and InboxItem.objects.count() == 2  # the query recorded nothing
    handle.signal("close")
    assert handle.result() == 7
